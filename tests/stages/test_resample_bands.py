"""sep, final and blot work on a chip band after band with only a band's pixel map: the same outputs."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from drizrun.core.geometry import build_output_frame
from drizrun.core.session import Session
from drizrun.plugins.stages import resample
from drizrun.plugins.stages.blot import blot_in_bands
from drizrun.plugins.stages.buffers import BufferPool
from drizrun.plugins.stages.resample import BAND_ROWS, DrizzleOutputs, chip_pixmap, drizzle_chip


@pytest.fixture(scope="module")
def acs_chip(shared_hst):
    """The lower-left 700 x 600 pixels of a real ACS/WFC chip (SIP, D2IM and NPOL distortion)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(shared_hst / "drizzlepac" / "sample_flc_header.fits") as hdul:
            wcs = WCS(hdul["SCI", 1].header, fobj=hdul)
    assert wcs.sip is not None and wcs.det2im1 is not None and wcs.cpdis1 is not None
    chip = SimpleNamespace(wcs=wcs, shape=(2 * BAND_ROWS + 188, 600))
    return chip, build_output_frame([chip])


@pytest.fixture(scope="module")
def ctx():
    return SimpleNamespace(kernels=Session.create().kernels)


@pytest.mark.parametrize(("kernel", "pixfrac"), [("square", 1.0), ("square", 0.8), ("turbo", 0.9), ("point", 1.0)])
def test_banded_drizzle_equals_the_whole_map(acs_chip, ctx, kernel, pixfrac):
    chip, frame = acs_chip
    rng = np.random.default_rng(1)
    data = rng.normal(5.0, 2.0, chip.shape).astype(np.float32)
    weights = rng.uniform(0.5, 1.0, chip.shape).astype(np.float32)
    variance = rng.uniform(0.1, 1.0, chip.shape).astype(np.float32)

    def run(**how):
        outputs = DrizzleOutputs.zeros(frame.shape, n_context=2, variance=True)
        missed = drizzle_chip(ctx, chip, frame, data, weights, outputs, kernel=kernel, pixfrac=pixfrac,
                              context_id=1, variance=variance, **how)
        return outputs, missed

    assert ctx.kernels.get("drizzle", kernel).row_bands
    pool = BufferPool()
    banded, missed_banded = run(buffers=pool)
    whole, missed_whole = run(pixmap=chip_pixmap(chip, frame))
    assert missed_banded == missed_whole
    for name in ("sci", "wht", "ctx", "var"):
        np.testing.assert_array_equal(getattr(banded, name), getattr(whole, name), err_msg=name)
    assert whole.wht.sum() == pytest.approx(weights.sum(), rel=1e-3)  # all of the chip landed
    # only a band's map was borrowed, never the chip's
    assert pool.allocated == 1
    assert [a.shape for a in pool._free] == [(BAND_ROWS + 2, chip.shape[1], 2)]


def test_kernels_without_row_bands_get_the_whole_map(acs_chip, ctx, monkeypatch):
    chip, frame = acs_chip
    seen = []
    spec = ctx.kernels.get("drizzle", "gaussian")
    assert not spec.row_bands

    def record(data, pixmap, *args, **kwargs):
        seen.append((pixmap.shape, kwargs.get("rows")))
        return 0

    monkeypatch.setattr(resample, "drizzle_kernel", lambda ctx, name: SimpleNamespace(
        function=record, row_bands=False))
    ones = np.ones(chip.shape, np.float32)
    drizzle_chip(ctx, chip, frame, ones, ones, DrizzleOutputs.zeros(frame.shape), kernel="gaussian",
                 pixfrac=1.0, buffers=BufferPool())
    assert seen == [((*chip.shape, 2), None)]


@pytest.mark.parametrize("interp", ["poly5", "linear", "lanczos3"])
def test_blot_in_bands_equals_the_whole_map(acs_chip, ctx, interp):
    chip, frame = acs_chip
    rng = np.random.default_rng(2)
    image = rng.normal(3.0, 1.0, frame.shape).astype(np.float32)
    function = ctx.kernels.get("blot", interp).function
    pool = BufferPool()
    banded = blot_in_bands(function, image, chip, frame, iscale=0.8, buffers=pool)
    whole = function(image, chip_pixmap(chip, frame), iscale=0.8, fillval=np.nan)
    assert banded.dtype == whole.dtype and banded.shape == tuple(chip.shape)
    np.testing.assert_array_equal(banded, whole)
    assert np.isfinite(whole).mean() > 0.99
    assert [a.shape for a in pool._free] == [(BAND_ROWS, chip.shape[1], 2)]
