"""Pixel maps against astropy's exact path, on self-made and real HST WCSs."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from astropy.wcs import WCS

import drizrun
from drizrun.core.geometry import TanModel, UnsupportedWcsError, calc_pixmap, model_pixmap

from ._helpers import (
    grid_positions,
    open_wcs,
    reference_map,
    rotated_frame,
    stwcs_chip_with_reference_files,
    synthetic_chip,
)

TOL = 1e-6  # pixels

# real headers: (name, path, extension, chip shape (ny, nx)); shapes from the instruments
# (several files carry stub or zero-size arrays)
REAL = [
    ("acs_wfc_flc", "drizzlepac/sample_flc_header.fits", ("SCI", 1), (2048, 4096)),
    ("acs_wfc_flc_chip2", "drizzlepac/sample_flc_header.fits", ("SCI", 2), (2048, 4096)),
    ("acs_wfc_dist_lookup", "astropy_8.0.2_wcs_tests_data/dist_lookup.fits.gz", 1, (2048, 4096)),
    ("wfc3_uvis", "drizzlepac/sample_svm_flc.fits", ("SCI", 1), (2051, 4096)),
    ("wfc3_ir", "drizzlepac/sample_svm_flt.fits", ("SCI", 1), (1014, 1014)),
    ("acs_hrc_sip", "debian_python-drizzle-testdata_1.13.4/input1.fits.gz", ("SCI", 1), (1024, 1024)),
]


def _real_wcs(shared_hst, name):
    if name == "stwcs_j94f05bgq":
        return stwcs_chip_with_reference_files(shared_hst / "stwcs_1.7.7_sdist"), (2048, 4096)
    entry = next(e for e in REAL if e[0] == name)
    return open_wcs(shared_hst / entry[1], entry[2]), entry[3]


ALL_REAL = [e[0] for e in REAL] + ["stwcs_j94f05bgq"]


def _max_err(a, b):
    assert np.array_equal(np.isnan(a), np.isnan(b))
    return float(np.nanmax(np.abs(a - b)))


# ---------------------------------------------------------------- self-made WCSs

@pytest.mark.parametrize("one_row", [True, False])
def test_synthetic_forward_python_backend(python_kernel, one_row):
    chip = synthetic_chip(one_row_d2im=one_row)
    out = rotated_frame(chip, rot=-71.0, scale=0.07)
    src, dst = TanModel.from_wcs(chip), TanModel.from_wcs(out)
    grid = (-0.5, 0.25, 13.0, 11.0)  # includes positions outside the tables' range
    shape = (29, 33)
    mine = model_pixmap(src, dst, shape, grid=grid, module=python_kernel)
    assert _max_err(mine, reference_map(chip, out, *grid_positions(shape, grid))) < TOL


def test_synthetic_blot_python_backend(python_kernel):
    chip = synthetic_chip()
    out = rotated_frame(chip, rot=12.0, scale=0.1, size=800)
    grid = (250.0, 260.0, 9.0, 8.0)
    shape = (30, 35)
    mine = model_pixmap(TanModel.from_wcs(out), TanModel.from_wcs(chip), shape, grid=grid,
                        module=python_kernel)
    assert _max_err(mine, reference_map(out, chip, *grid_positions(shape, grid))) < TOL


def test_synthetic_every_pixel_compiled(compiled_kernel):
    chip = synthetic_chip()
    out = rotated_frame(chip, rot=140.0, scale=0.08)
    mine = calc_pixmap(chip, out, method="kernel")
    assert mine.shape == (300, 400, 2) and mine.dtype == np.float64
    y, x = np.indices((300, 400), dtype=float)
    assert _max_err(mine, reference_map(chip, out, x, y)) < TOL


def test_backends_agree(python_kernel, compiled_kernel):
    chip = synthetic_chip(seed=5)
    out = rotated_frame(chip, rot=5.0)
    src, dst = TanModel.from_wcs(chip), TanModel.from_wcs(out)
    a = model_pixmap(src, dst, (40, 50), module=python_kernel)
    b = model_pixmap(src, dst, (40, 50), module=compiled_kernel)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)


def test_drizzle_convention_identity():
    w = rotated_frame(synthetic_chip(), rot=0.0, size=50)
    pm = calc_pixmap(w, w)
    y, x = np.indices((50, 50), dtype=float)
    # 1e-8: astropy's round trip (the pure-Python build's path) is good to about 1.3e-9
    np.testing.assert_allclose(pm[..., 0], x, atol=1e-8)
    np.testing.assert_allclose(pm[..., 1], y, atol=1e-8)


def test_far_hemisphere_is_nan():
    a = rotated_frame(synthetic_chip(), rot=0.0, size=20)
    b = rotated_frame(synthetic_chip(), rot=0.0, size=20, offset=(180.0, 0.0))
    assert np.isnan(calc_pixmap(a, b, method="kernel")).all()


def test_unsupported_projection_falls_back(caplog):
    chip = WCS(naxis=2)
    chip.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    chip.wcs.crval = [10.0, 20.0]
    chip.wcs.crpix = [5.0, 5.0]
    chip.wcs.cdelt = [-1e-4, 1e-4]
    chip.wcs.set()
    out = rotated_frame(chip, size=30)
    with caplog.at_level(logging.DEBUG, logger="drizrun.geometry"):
        pm = calc_pixmap(chip, out, shape=(10, 12))
    assert "using astropy" in caplog.text
    y, x = np.indices((10, 12), dtype=float)
    assert _max_err(pm, reference_map(chip, out, x, y)) < TOL
    with pytest.raises(UnsupportedWcsError, match="SIN"):
        calc_pixmap(chip, out, shape=(10, 12), method="kernel")


@pytest.mark.parametrize("method", ["auto", "astropy"])
def test_out_buffer_is_filled_and_returned(method):
    chip = synthetic_chip()
    frame = rotated_frame(chip, rot=3.0, size=80)
    fresh = calc_pixmap(chip, frame, shape=(30, 40), method=method)
    buffer = np.full((30, 40, 2), -7.0)
    result = calc_pixmap(chip, frame, shape=(30, 40), method=method, out=buffer)
    assert result is buffer
    np.testing.assert_array_equal(buffer, fresh)


@pytest.mark.parametrize("bad", [
    np.empty((30, 41, 2)),                    # wrong shape
    np.empty((30, 40, 2), dtype=np.float32),  # wrong type
    np.empty((30, 40, 2), dtype=">f8"),       # not native
    np.empty((40, 30, 2)).transpose(1, 0, 2),  # not C-contiguous
])
def test_out_buffer_is_checked(bad):
    chip = synthetic_chip()
    frame = rotated_frame(chip, size=80)
    with pytest.raises(drizrun.DrizrunError, match="out must be"):
        calc_pixmap(chip, frame, shape=(30, 40), out=bad)


def test_shape_is_required():
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.set()
    with pytest.raises(drizrun.DrizrunError, match="shape"):
        calc_pixmap(w, w)


def test_public_api():
    assert drizrun.calc_pixmap is calc_pixmap


# ---------------------------------------------------------------- real HST headers

@pytest.mark.parametrize("name", ALL_REAL)
def test_real_forward_every_pixel(shared_hst, compiled_kernel, name):
    chip, shape = _real_wcs(shared_hst, name)
    out = rotated_frame(chip, rot=33.0)
    mine = calc_pixmap(chip, out, shape=shape, method="kernel")
    y, x = np.indices(shape, dtype=float)
    err = _max_err(mine, reference_map(chip, out, x, y))
    assert err < TOL, f"{name}: {err:.3g} px"


@pytest.mark.parametrize("name", ALL_REAL)
def test_real_forward_python_backend(shared_hst, python_kernel, name):
    chip, shape = _real_wcs(shared_hst, name)
    out = rotated_frame(chip, rot=-24.0)
    grid = (0.0, 0.0, (shape[1] - 1) / 24, (shape[0] - 1) / 18)
    mine = model_pixmap(TanModel.from_wcs(chip), TanModel.from_wcs(out), (19, 25), grid=grid,
                        module=python_kernel)
    assert _max_err(mine, reference_map(chip, out, *grid_positions((19, 25), grid))) < TOL


@pytest.mark.parametrize("name", ALL_REAL)
def test_real_blot(shared_hst, compiled_kernel, name):
    """Combined frame -> distorted chip over a grid covering the chip and a margin around it."""
    chip, shape = _real_wcs(shared_hst, name)
    out = rotated_frame(chip, rot=33.0)
    fwd = calc_pixmap(chip, out, shape=shape, method="kernel")
    lo = np.nanmin(fwd.reshape(-1, 2), axis=0) - 20
    hi = np.nanmax(fwd.reshape(-1, 2), axis=0) + 20
    n = 160
    grid = (float(lo[0]), float(lo[1]), float(hi[0] - lo[0]) / n, float(hi[1] - lo[1]) / n)
    mine = model_pixmap(TanModel.from_wcs(out), TanModel.from_wcs(chip), (n, n), grid=grid)
    ref = reference_map(out, chip, *grid_positions((n, n), grid))
    err = _max_err(mine, ref)
    assert err < TOL, f"{name}: {err:.3g} px"


def test_stwcs_tables_match_astropy_test_file(shared_hst):
    """The tables built from the reference files reproduce the astropy test file's
    lookup tables for the same chip type (a check on how they were attached)."""
    built = stwcs_chip_with_reference_files(shared_hst / "stwcs_1.7.7_sdist")
    assert built.det2im1 is not None and built.cpdis1 is not None and built.cpdis2 is not None
    assert built.det2im1.data.shape == (1, 4096)
    assert built.cpdis1.data.shape == (33, 65)
    assert tuple(built.cpdis1.cdelt) == (64.0, 64.0)


@pytest.mark.parametrize("name", ["acs_wfc_flc", "acs_wfc_dist_lookup"])
def test_runs_and_pixel_by_pixel_paths_agree(shared_hst, compiled_kernel, monkeypatch, name):
    """``forward`` (runs of pixels) and ``forward_pixels`` give the same map, whichever
    the D2IM table spacing would select."""
    from drizrun.core.geometry import pixmap as pixmap_module

    chip, shape = _real_wcs(shared_hst, name)
    src, dst = TanModel.from_wcs(chip), TanModel.from_wcs(rotated_frame(chip, rot=-50.0))
    maps = []
    for min_run in (0.0, 1e9):
        monkeypatch.setattr(pixmap_module, "_MIN_RUN", min_run)
        maps.append(model_pixmap(src, dst, (300, 4096), grid=(0.0, 900.0, 1.0, 1.0)))
    np.testing.assert_allclose(maps[0], maps[1], rtol=0, atol=1e-9)


def test_runs_and_pixel_by_pixel_paths_agree_python_backend(python_kernel, monkeypatch):
    from drizrun.core.geometry import pixmap as pixmap_module

    chip = synthetic_chip(one_row_d2im=False)
    src, dst = TanModel.from_wcs(chip), TanModel.from_wcs(rotated_frame(chip, rot=75.0))
    maps = []
    for min_run in (0.0, 1e9):
        monkeypatch.setattr(pixmap_module, "_MIN_RUN", min_run)
        maps.append(model_pixmap(src, dst, (12, 140), grid=(-20.5, 3.0, 3.0, 27.0), module=python_kernel))
    np.testing.assert_allclose(maps[0], maps[1], rtol=0, atol=1e-9)
