"""Output frames, footprints and overlaps."""

from __future__ import annotations

import math

import attrs
import numpy as np
import pytest
from astropy.io import fits

from drizrun.core.geometry import (
    FrameParams,
    FrameTooLargeError,
    GeometryError,
    NoOverlapError,
    build_output_frame,
    calc_pixmap,
    check_overlaps,
    chip_footprint,
    overlap,
    read_refimage,
)
from drizrun.core.params import describe_params

from ._helpers import open_wcs, synthetic_chip

SHAPE = (300, 400)


def _shifted(dra: float, ddec: float, seed: int = 1):
    w = synthetic_chip(seed)
    w.wcs.crval = [w.wcs.crval[0] + dra, w.wcs.crval[1] + ddec]
    w.wcs.set()
    return w


def _corners_inside(frame, chips):
    """Every input pixel corner lands inside the frame."""
    ny, nx = frame.shape
    for w, shape in chips:
        pm = calc_pixmap(w, frame.wcs, shape=shape)
        # pixel corners are within half a pixel (times the scale ratio) of the centres
        assert np.nanmin(pm[..., 0]) > -0.5 and np.nanmax(pm[..., 0]) < nx - 0.5
        assert np.nanmin(pm[..., 1]) > -0.5 and np.nanmax(pm[..., 1]) < ny - 0.5


def test_default_frame_covers_every_input_and_keeps_first_chip_orientation():
    chips = [(synthetic_chip(1), SHAPE), (_shifted(0.003, 0.002, 2), SHAPE)]
    frame = build_output_frame(chips)
    _corners_inside(frame, chips)
    # orientation and scale of the first chip's linearised WCS
    cd = chips[0][0].pixel_scale_matrix
    assert frame.orientation == pytest.approx(math.degrees(math.atan2(cd[0, 1], cd[1, 1])), abs=0.5)
    assert frame.pixel_scale == pytest.approx(math.sqrt(abs(np.linalg.det(cd))) * 3600, rel=0.02)
    # tight: a frame two pixels smaller would cut inputs off
    ny, nx = frame.shape
    assert nx < 400 * 1.6 and ny < 300 * 2.2
    assert frame.wcs.pixel_shape == (nx, ny)


def test_north_up_custom_scale_and_size():
    chips = [(synthetic_chip(1), SHAPE)]
    frame = build_output_frame(chips, FrameParams(wcs=True, scale=0.2))
    assert frame.orientation == pytest.approx(0.0, abs=1e-9)
    assert frame.pixel_scale == pytest.approx(0.2)
    _corners_inside(frame, chips)
    fixed = build_output_frame(chips, FrameParams(wcs=True, rot=45.0, outnx=100, outny=80,
                                                  ra=210.25, dec=-33.5, crpix1=10.0, crpix2=20.0))
    assert fixed.shape == (80, 100)
    assert fixed.orientation == pytest.approx(45.0)
    np.testing.assert_allclose(fixed.wcs.wcs.crval, [210.25, -33.5])
    np.testing.assert_allclose(fixed.wcs.wcs.crpix, [10.0, 20.0])


def test_options_need_wcs_true(caplog):
    chips = [(synthetic_chip(1), SHAPE)]
    frame = build_output_frame(chips, FrameParams(rot=45.0))
    assert "ignored" in caplog.text
    assert frame.orientation != pytest.approx(45.0)


def test_guard_against_absurd_frames():
    chips = [(synthetic_chip(1), SHAPE)]
    with pytest.raises(FrameTooLargeError, match=r"100000 x 100000 pixels .* GiB .* max_mpix"):
        build_output_frame(chips, FrameParams(wcs=True, outnx=100000, outny=100000))
    frame = build_output_frame(chips, FrameParams(wcs=True, scale=0.001, max_mpix=2000))
    assert frame.shape[0] * frame.shape[1] > 1e6
    with pytest.raises(FrameTooLargeError):
        build_output_frame(chips, FrameParams(wcs=True, scale=0.001, max_mpix=10))


def test_params_are_stage_parameters():
    names = [p.name for p in describe_params(FrameParams)]
    assert names[:4] == ["wcs", "rot", "scale", "outnx"] and "refimage" in names
    with pytest.raises(ValueError):
        FrameParams(ra=10.0)
    with pytest.raises(ValueError):
        FrameParams(outnx=0)
    assert attrs.evolve(FrameParams(), scale=0.04).scale == 0.04


def test_refimage(tmp_path):
    chips = [(synthetic_chip(1), SHAPE)]
    frame = build_output_frame(chips, FrameParams(wcs=True, rot=10.0))
    hdr = frame.header()
    path = tmp_path / "ref.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros(frame.shape, np.float32), hdr, name="SCI")]).writeto(path)
    for spec in (str(path), f"{path}[1]", f"{path}[sci,1]"):
        ref = read_refimage(spec)
        assert ref.shape == frame.shape
        np.testing.assert_allclose(ref.wcs.wcs.cd, frame.wcs.wcs.cd)
    again = build_output_frame(chips, FrameParams(wcs=True, refimage=str(path)))
    assert again.shape == frame.shape
    with pytest.raises(GeometryError, match="no such file"):
        read_refimage(str(tmp_path / "missing.fits"))


def test_footprint_and_overlap():
    a = [(synthetic_chip(1), SHAPE)]
    b = [(_shifted(20 * 0.1 / 3600 / math.cos(math.radians(33.5)), 0.0, 2), SHAPE)]
    far = [(_shifted(1.0, 0.0, 3), SHAPE)]
    fp = chip_footprint(a[0])
    assert fp.sky.shape[1] == 2 and fp.corners.shape == (4, 2)
    ov = overlap(a, b)
    assert 0.8 < ov.fraction_a < 1.0 and 0.8 < ov.fraction_b < 1.0 and ov.area > 0
    assert not overlap(a, far).overlaps
    check_overlaps([("a", a), ("b", b)])
    with pytest.raises(NoOverlapError, match="far does not overlap"):
        check_overlaps([("a", a), ("b", b), ("far", far)])


def test_real_two_chip_default_frame(shared_hst):
    path = shared_hst / "drizzlepac" / "sample_flc_header.fits"
    chips = [(open_wcs(path, ("SCI", 1)), (2048, 4096)), (open_wcs(path, ("SCI", 2)), (2048, 4096))]
    frame = build_output_frame(chips)
    ny, nx = frame.shape
    assert 4000 < nx < 5000 and 4000 < ny < 5000  # ACS/WFC: about 202" x 202" at 0.05"/px
    assert frame.pixel_scale == pytest.approx(0.05, rel=0.02)
    for w, shape in chips:
        pm = calc_pixmap(w, frame.wcs, shape=shape)
        assert np.nanmin(pm[..., :]) > -0.5
        assert np.nanmax(pm[..., 0]) < nx - 0.5 and np.nanmax(pm[..., 1]) < ny - 0.5
