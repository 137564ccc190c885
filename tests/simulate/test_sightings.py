"""The pixels a tool's final drizzle used, and the local map from a chip onto a product."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from drizrun.core.simulate.sightings import StarSightings, drizrun_final_settings, read_chip_wcs, usable_pixels


def _flt(path, root, dq_by_chip):
    primary = fits.PrimaryHDU()
    primary.header["ROOTNAME"] = root
    hdus = [primary]
    for chip, dq in dq_by_chip.items():
        hdus.append(fits.ImageHDU(np.zeros(dq.shape, dtype=np.float32), name="SCI", ver=chip))
        hdus.append(fits.ImageHDU(dq.astype(np.uint16), name="DQ", ver=chip))
    fits.HDUList(hdus).writeto(path)
    return path


def _config_header(bits, use_static=True):
    header = fits.Header()
    for line in ("[sep]", "bits = 80", "[final]", f"bits = {bits}", f"use_static = {str(use_static).lower()}",
                 'fillval = ""  # unset'):
        header.add_history(f"drizrun config: {line}")
    return header


def test_final_settings_come_from_the_recorded_configuration():
    assert drizrun_final_settings(_config_header(336)) == (336, True)
    assert drizrun_final_settings(_config_header(0, use_static=False)) == (0, False)
    assert drizrun_final_settings(fits.Header()) is None


def test_usable_pixels_of_drizrun_combine_flags_bits_cosmic_rays_and_static_mask(tmp_path):
    dq = np.zeros((6, 8), dtype=np.uint16)
    dq[1, 1] = 16  # good with bits 336
    dq[2, 2] = 4  # bad
    exposure = _flt(tmp_path / "abcd01abq_flt.fits", "ABCD01ABQ", {1: dq})
    work = tmp_path / "work"
    work.mkdir()
    crmask = np.ones((6, 8), dtype=np.uint8)
    crmask[3, 3] = 0
    fits.PrimaryHDU(crmask).writeto(work / "abcd01abq_sci1_crmask.fits")
    static = np.ones((6, 8), dtype=np.uint8)
    static[4, 4] = 0
    hdu = fits.ImageHDU(static, name="WFC3-UVIS_6x8_1")
    hdu.header["DRZKEY"] = "WFC3-UVIS_6x8_1"
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(work / "prod_staticMask.fits")
    usable = usable_pixels(work, "prod", [exposure], _config_header(336))[("abcd01abq", 1)]
    assert set(zip(*np.nonzero(~usable), strict=True)) == {(2, 2), (3, 3), (4, 4)}
    without_static = usable_pixels(work, "prod", [exposure], _config_header(0, use_static=False))
    assert set(zip(*np.nonzero(~without_static[("abcd01abq", 1)]), strict=True)) == {(1, 1), (2, 2), (3, 3)}


def test_a_recorded_final_mask_is_taken_as_it_is(tmp_path):
    dq = np.zeros((6, 8), dtype=np.uint16)
    dq[2, 2] = 4
    exposure = _flt(tmp_path / "abcd01abq_flt.fits", "ABCD01ABQ", {1: dq, 2: dq})
    work = tmp_path / "work"
    work.mkdir()
    final = np.full((6, 8), 500.0, dtype=np.float32)
    final[5, 0] = 0.0
    fits.PrimaryHDU(final).writeto(work / "abcd01abq_sci2_final_mask.fits")
    usable = usable_pixels(work, "prod", [exposure], fits.Header())
    assert set(zip(*np.nonzero(~usable[("abcd01abq", 2)]), strict=True)) == {(5, 0)}
    assert set(zip(*np.nonzero(~usable[("abcd01abq", 1)]), strict=True)) == {(2, 2)}  # no mask: every flag out


def test_map_from_a_chip_onto_a_rotated_product(tmp_path):
    chip = WCS(naxis=2)
    chip.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    chip.wcs.crval = [150.0, 2.0]
    chip.wcs.crpix = [4.0, 3.0]
    chip.wcs.cd = np.array([[-1.0, 0.0], [0.0, 1.0]]) * 0.04 / 3600
    product = chip.deepcopy()
    angle = np.radians(30.0)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    product.wcs.cd = (np.array([[-1.0, 0.0], [0.0, 1.0]]) * 0.05 / 3600) @ rotation
    primary = fits.PrimaryHDU()
    primary.header["ROOTNAME"] = "ABCD01ABQ"
    sci = fits.ImageHDU(np.zeros((6, 8), dtype=np.float32), header=chip.to_header(), name="SCI", ver=1)
    path = tmp_path / "abcd01abq_flt.fits"
    fits.HDUList([primary, sci]).writeto(path)
    usable = {("abcd01abq", 1): np.ones((6, 8), dtype=bool)}
    sightings = StarSightings([("abcd01abq", 1), ("other0001", 1)], np.array([0, 0]), np.array([3.2, 1.0]),
                              np.array([2.5, 1.0]), chip_wcs=read_chip_wcs([path]), product_wcs=product, usable=usable,
                              weights={"abcd01abq": 500.0})
    found = sightings.for_star(0)
    assert len(found) == 1  # the chip without a known mask is left out
    expected = 0.8 * np.linalg.inv(rotation)
    np.testing.assert_allclose(found[0].to_output, expected, atol=1e-6)
    assert found[0].weight == 500.0 and (found[0].x, found[0].y) == (3.2, 2.5)
    assert sightings.for_star(1) == []


@pytest.mark.parametrize("history", [["drizrun config: [final", "drizrun config: bits = 1"], ["no config at all"]])
def test_unreadable_configuration_is_none(history):
    header = fits.Header()
    for line in history:
        header.add_history(line)
    assert drizrun_final_settings(header) is None
