"""drizzlepac's AstroDrizzle accepts the simulated files (runs only where drizzlepac is installed)."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from astropy.io import fits

import drizrun
from drizrun.core.demo import score_cr_masks
from drizrun.core.simulate import PROFILES


def test_astrodrizzle_accepts_a_simulated_visit(tmp_path, monkeypatch):
    astrodrizzle = pytest.importorskip("drizzlepac.astrodrizzle")
    visit = drizrun.simulate("WFC3/UVIS", 4, tmp_path / "visit", seed=3, chip_shape=(128, 256))
    work = tmp_path / "work"  # AstroDrizzle writes into its inputs: give it copies
    work.mkdir()
    for path in visit.exposures:
        shutil.copy(path, work / path.name)
    monkeypatch.chdir(work)
    astrodrizzle.AstroDrizzle(
        sorted(p.name for p in visit.exposures),
        output="sim",
        updatewcs=False,
        build=False,
        clean=False,
        preserve=False,
        num_cores=1,
        runfile="",
        combine_type="minmed",
        combine_nhigh=1,
        driz_cr_scale="1.5 1.2",
        driz_sep_bits="336",
        final_bits="336",
    )
    science = fits.getdata(work / "sim_drz_sci.fits")
    assert np.isfinite(science).any()
    found = {name: fits.getdata(work / name) == 0 for name in os.listdir(work) if name.endswith("_crmask.fits")}
    assert len(found) == 8
    score = score_cr_masks(found, visit.cr_masks, noise=PROFILES["WFC3/UVIS"].mean_read_noise)
    assert score is not None and score.completeness > 0.4
