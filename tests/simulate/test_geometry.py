"""Detector geometry: built-in distortion against the real headers, templates, dither patterns."""

from __future__ import annotations

import math

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

import drizrun
from drizrun.core.simulate import PROFILES
from drizrun.core.simulate.builtin_geometry import BUILTIN_GEOMETRY, builtin_geometry
from drizrun.core.simulate.distortion import DetectorGeometry, tangent_offset, tangent_point
from drizrun.core.simulate.dither import dither_offsets

# Largest difference (pixels) between the third-order built-in SIP and the full real SIP over the chip.
TOLERANCE = {"WFC3/UVIS": 1.0, "WFC3/IR": 0.2, "ACS/WFC": 3.0, "ACS/HRC": 0.5}


@pytest.mark.parametrize("name", list(TOLERANCE))
def test_builtin_geometry_matches_the_real_headers(shared_hst, name):
    real = DetectorGeometry.from_header(name, shared_hst / PROFILES[name].template)
    builtin = builtin_geometry(name)
    assert len(real.chips) == len(builtin.chips)
    for mine, theirs in zip(builtin.chips, real.chips, strict=True):
        assert mine.crpix == theirs.crpix
        np.testing.assert_allclose(mine.cd, theirs.cd, rtol=1e-3, atol=1e-10)
        np.testing.assert_allclose(mine.offset, theirs.offset, rtol=1e-3, atol=1e-7)
        ny, nx = mine.full_shape
        x, y = np.meshgrid(np.linspace(1, nx, 9), np.linspace(1, ny, 9))
        f1, g1 = mine.distortion(x, y)
        f2, g2 = theirs.distortion(x, y)
        assert np.hypot(f1 - f2, g1 - g2).max() < TOLERANCE[name]
        assert np.hypot(f2, g2).max() > 5 * TOLERANCE[name] or name == "WFC3/IR"  # the distortion itself is large


def test_real_template_is_used_when_the_data_directory_is_given(shared_hst, tmp_path):
    visit = drizrun.simulate("ACS/WFC", 1, tmp_path, seed=1, chip_shape=(64, 64), data_dir=shared_hst)
    assert visit.geometry_source.endswith("drizzlepac/sample_flc_header.fits")
    header = fits.getheader(visit.exposures[0], ("SCI", 1))
    assert header["A_ORDER"] == 5  # the template's own SIP order
    assert WCS(header).sip.a_order == 5


def test_environment_variable_names_the_data_directory(shared_hst, tmp_path, monkeypatch):
    monkeypatch.setenv("DRIZRUN_HST_DATA", str(shared_hst))
    visit = drizrun.simulate("WFC3/IR", 1, tmp_path, seed=1, chip_shape=(32, 32))
    assert visit.geometry_source.endswith("sample_svm_flt.fits")


def test_builtin_geometry_without_data(tmp_path, monkeypatch):
    monkeypatch.delenv("DRIZRUN_HST_DATA", raising=False)
    visit = drizrun.simulate("WFC3/UVIS", 1, tmp_path, seed=1, chip_shape=(32, 64), data_dir=tmp_path / "none")
    assert visit.geometry_source == "built-in"
    assert fits.getval(visit.exposures[0], "A_ORDER", ("SCI", 2)) == 3


def test_builtin_table_is_compact():
    counts = [len(chip.sip_a) + len(chip.sip_b) for chips in BUILTIN_GEOMETRY.values() for chip in chips]
    assert max(counts) <= 14 and sum(counts) < 120


@pytest.mark.parametrize("pa", [0.0, 47.0, -120.0])
def test_position_angle_sets_orientat(tmp_path, pa):
    visit = drizrun.simulate("ACS/HRC", 1, tmp_path, seed=1, chip_shape=(32, 32), pa=pa)
    header = fits.getheader(visit.exposures[0], ("SCI", 1))
    orientat = math.degrees(math.atan2(header["CD1_2"], header["CD2_2"]))
    assert ((orientat - pa + 180) % 360) - 180 == pytest.approx(0.0, abs=1e-6)
    assert header["ORIENTAT"] == pytest.approx(orientat)


def test_tangent_projection_round_trip():
    for ra0, dec0 in ((10.0, -72.0), (359.99, 0.0), (150.0, 89.0)):
        offset = np.array([0.01, -0.02])
        ra, dec = tangent_point(offset, ra0, dec0)
        np.testing.assert_allclose(tangent_offset(ra, dec, ra0, dec0), offset, atol=1e-12)


def test_dither_patterns():
    box = dither_offsets("box", 4, 60.0)
    assert box[0] == (0.0, 0.0)
    assert {(dx % 1.0, dy % 1.0) for dx, dy in box} == {(0.0, 0.0), (0.5, 0.0), (0.5, 0.5), (0.0, 0.5)}
    assert max(math.hypot(dx, dy) for dx, dy in box) > 60.0
    assert len(set(dither_offsets("box", 9, 60.0))) == 9
    assert dither_offsets("none", 3, 60.0) == [(0.0, 0.0)] * 3
    line = dither_offsets("line", 3, 10.0)
    assert len(set(line)) == 3
    with pytest.raises(ValueError):
        dither_offsets("box", 0, 10.0)
