"""The final stage's units, weights and error propagation on a chip with known values."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

import drizrun
from drizrun.core.testing import write_exposure


@pytest.fixture
def exposure(tmp_path):
    return write_exposure(tmp_path / "tcam0001q_flt.fits", shape=(40, 60), exptime=100.0)


@pytest.mark.parametrize("kernel", ["point", "turbo", "square"])
def test_rate_and_error_of_a_single_chip(exposure, tmp_path, kernel):
    drizrun.run([exposure], output=tmp_path / "one", stages=["final"], settings=[f"final.kernel={kernel}"])
    with fits.open(tmp_path / "one_drz.fits") as hdul:
        sci, wht, err = hdul["SCI"].data, hdul["WHT"].data, hdul["ERR"].data
        covered = wht > 0
        # input: N(100, 5) electrons in 100 s -> 1 e-/s; ERR 5 e- -> 0.05 e-/s
        assert np.nanmean(sci[covered]) == pytest.approx(1.0, abs=0.01)
        interior = covered & (wht >= 0.99 * wht.max())
        # one input pixel per output pixel (point) keeps its error; an average of several shrinks it
        if kernel == "point":
            np.testing.assert_allclose(err[interior], 0.05, rtol=1e-5)
        else:
            assert np.all((err[interior] >= 0.025 * 0.999) & (err[interior] <= 0.05 * 1.0001))
        assert wht.max() == pytest.approx(100.0, rel=1e-5)
        assert hdul[0].header["TEXPTIME"] == 100.0


@pytest.mark.parametrize("pixfrac", [1.0, 0.7])
def test_total_flux_is_conserved_by_the_final_drizzle(exposure, tmp_path, pixfrac):
    """Onto a rotated frame of smaller pixels: rate per output pixel scales by the pixel area, flux is kept."""
    data = fits.getdata(exposure, "SCI").astype(np.float64)
    drizrun.run([exposure], output=tmp_path / "flux", stages=["final"],
                settings=["final.kernel=square", f"final.pixfrac={pixfrac}", "final.wcs=true", "final.rot=33.0",
                          "final.scale=0.031"])
    with fits.open(tmp_path / "flux_drz.fits") as hdul:
        sci = hdul["SCI"].data.astype(np.float64)
        wht = hdul["WHT"].data.astype(np.float64)
    area = (0.031 / 0.05) ** 2
    # each input pixel spreads a total weight of its exposure time: sum(SCI x WHT) counts every electron once
    assert np.nansum(sci * wht) / (100.0 * area) == pytest.approx(data.sum() / 100.0, rel=1e-5)
    # and a uniform 1 e-/s per input pixel becomes `area` e-/s per output pixel
    assert np.median(sci[wht > 0]) == pytest.approx(area * np.median(data) / 100.0, rel=0.01)
