"""Cosmic-ray charge inside photometry apertures, against charge placed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from drizrun.core.simulate.aperture_cr import aperture_cosmic_ray_fraction


def test_charge_within_the_radius_counts_averaged_over_the_exposures():
    a = np.zeros((50, 50))
    a[20, 23] = 300.0  # 3 pixels from star 0: inside a radius of 4
    a[20, 26] = 1000.0  # 6 pixels away: outside
    b = np.zeros((50, 50))
    b[31, 30] = 100.0  # on star 1 in the second exposure
    charge = {("e1", 1): a, ("e2", 1): b}
    keys = [("e1", 1), ("e2", 1), ("e1", 1), ("e2", 1), ("e1", 2)]
    star = [0, 0, 1, 1, 2]
    x = [20.0, 20.0, 30.0, 30.0, 10.0]
    y = [20.0, 20.0, 30.0, 31.0, 10.0]
    exposure = ["e1", "e2", "e1", "e2", "e1"]
    rate = np.array([10.0, 5.0, 1.0, 3.0])
    fraction = aperture_cosmic_ray_fraction(
        charge, keys, star, x, y, exposure=exposure, rate=rate, exptime=100.0, radius=4.0
    )
    # star 0: 300 e in one of two exposures -> 300 / 100 s / 2 = 1.5 e/s of 10
    assert fraction[0] == pytest.approx(0.15)
    # star 1: 100 e on its position in e2 -> 0.5 e/s of 5
    assert fraction[1] == pytest.approx(0.1)
    # star 2 sits on a chip without a charge map: nothing counted; star 3 was never seen
    assert fraction[2] == 0.0
    assert math.isnan(fraction[3])


def test_two_chips_of_one_exposure_count_as_one_exposure():
    chip1, chip2 = np.zeros((20, 20)), np.zeros((20, 20))
    chip1[5, 5] = 50.0
    chip2[5, 5] = 50.0
    fraction = aperture_cosmic_ray_fraction(
        {("e1", 1): chip1, ("e1", 2): chip2},
        [("e1", 1), ("e1", 2)],
        [0, 0],
        [5.0, 5.0],
        [5.0, 5.0],
        exposure=["e1", "e1"],
        rate=[1.0],
        exptime=100.0,
        radius=2.0,
    )
    assert fraction[0] == pytest.approx(1.0)  # 100 e over 100 s, one exposure
