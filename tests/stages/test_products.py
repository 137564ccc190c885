"""The drz product writer and the drizzling helpers the sep and final stages share."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from drizrun.core.geometry import OutputFrame
from drizrun.plugins.stages.chipdata import dq_good, good_pixels
from drizrun.plugins.stages.products import ChipRecord, product_suffix, write_drizzle_product
from drizrun.plugins.stages.resample import DrizzleOutputs


def _frame(shape=(20, 30)) -> OutputFrame:
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [150.0, 2.0]
    wcs.wcs.crpix = [15.0, 10.0]
    wcs.wcs.cd = [[-1e-5, 0.0], [0.0, 1e-5]]
    wcs.pixel_shape = (shape[1], shape[0])
    return OutputFrame(wcs=wcs, shape=shape)


def _exposure(name: str, kind: str, start: float) -> SimpleNamespace:
    header = fits.Header({"TELESCOP": "HST", "INSTRUME": "WFC3", "TARGNAME": "M31", "EXPTIME": 100.0,
                          "EXPSTART": start, "EXPEND": start + 0.01, "ROOTNAME": name})
    return SimpleNamespace(primary_header=header, exptime=100.0, expstart=start, kind=kind)


def _record(i: int) -> ChipRecord:
    return ChipRecord(data=f"x{i}_flt.fits[SCI,1]", exptime=100.0, kernel="square", pixfrac=0.8, scale=0.04,
                      wtscl="exptime", out_units="cps", fillval=None, in_units="ELECTRONS", sky=12.5,
                      sky_subtracted=12.5)


def test_flc_inputs_make_a_drc_product():
    assert product_suffix([_exposure("a", "flc", 1.0), _exposure("b", "flc", 2.0)]) == "_drc.fits"
    assert product_suffix([_exposure("a", "flt", 1.0)]) == "_drz.fits"


@pytest.mark.parametrize(("n_chips", "ctx_ndim"), [(8, 2), (40, 3)])
def test_context_is_2d_up_to_32_chips_and_3d_beyond(tmp_path, n_chips, ctx_ndim):
    frame = _frame()
    outputs = DrizzleOutputs.zeros(frame.shape, n_context=n_chips, variance=True)
    outputs.ctx[-1, 3, 4] = 1 << ((n_chips - 1) % 32)
    exposures = [_exposure(f"e{i}", "flt", 100.0 + i) for i in range(n_chips)]
    path = write_drizzle_product(
        tmp_path / "t_drz.fits", frame=frame, sci=outputs.sci, wht=outputs.wht, ctx=outputs.ctx,
        err=np.sqrt(outputs.var), bunit="ELECTRONS/S", exposures=exposures,
        chips=[_record(i) for i in range(n_chips)], version="1.2.3", config_text="[final]\nkernel = \"square\"",
    )
    with fits.open(path) as hdul:
        ctx = hdul["CTX"].data
        assert ctx.ndim == ctx_ndim
        assert hdul[0].header["NDRIZIM"] == n_chips
        assert hdul[0].header[f"D{n_chips:03d}PIXF"] == 0.8
        assert hdul[0].header["EXPSTART"] == 100.0
        assert hdul[0].header["EXPEND"] == pytest.approx(100.0 + n_chips - 1 + 0.01)
        assert hdul[0].header["TEXPTIME"] == 100.0 * n_chips
        assert hdul[0].header["TARGNAME"] == "M31"
        assert hdul["SCI"].header["CTYPE1"] == "RA---TAN"
        assert any("kernel" in str(h) for h in hdul[0].header["HISTORY"])
    if ctx_ndim == 3:
        assert ctx.shape == (2, *frame.shape) and ctx[1, 3, 4] == 1 << 7


def test_dq_good_treats_listed_flags_as_good():
    dq = np.array([0, 16, 32, 48, 4096], dtype=np.int16)
    np.testing.assert_array_equal(dq_good(dq, 16), [True, True, False, False, False])
    np.testing.assert_array_equal(dq_good(dq, 0), [True, False, False, False, False])
    assert dq_good(dq, None) is None


def test_good_pixels_combines_every_mask():
    sci = np.array([[1.0, np.nan, 3.0, 4.0]])
    dq = np.array([[0, 0, 8, 0]])
    static = np.array([[1, 1, 1, 0]], dtype=np.uint8)
    cr = np.array([[True, False, False, False]])
    np.testing.assert_array_equal(good_pixels(sci, dq, 0, static=static, extra_bad=cr),
                                  [[False, False, False, False]])
    np.testing.assert_array_equal(good_pixels(sci, dq, 8), [[True, False, True, True]])
