"""The simulator: files, headers, truth, detector effects."""

from __future__ import annotations

import math

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

import drizrun
from drizrun.core.errors import UsageError
from drizrun.core.exposure import check_input_set, read_exposure
from drizrun.core.inputs import expand_inputs
from drizrun.core.simulate import PROFILES
from drizrun.core.simulate.cosmics import CosmicRayModel, add_cosmic_rays
from drizrun.core.simulate.dither import dither_offsets

PRIMARY_KEYWORDS = (
    "TELESCOP",
    "INSTRUME",
    "DETECTOR",
    "EXPTIME",
    "EXPSTART",
    "EXPEND",
    "ROOTNAME",
    "CCDAMP",
    "ATODGNA",
    "ATODGNB",
    "ATODGNC",
    "ATODGND",
    "READNSEA",
    "READNSEB",
    "READNSEC",
    "READNSED",
    "ASN_ID",
    "ASN_TAB",
    "DATE-OBS",
    "TIME-OBS",
    "NEXTEND",
)
EXTENSION_KEYWORDS = (
    "EXPNAME",
    "CCDCHIP",
    "CTYPE1",
    "CTYPE2",
    "CRPIX1",
    "CRVAL1",
    "CD1_1",
    "CD2_2",
    "A_ORDER",
    "B_ORDER",
    "LTV1",
    "LTV2",
    "IDCSCALE",
    "ORIENTAT",
)


@pytest.fixture(scope="module")
def session():
    return drizrun.Session.create(autoload=False)


def test_files_and_association(uvis_visit):
    visit = uvis_visit
    assert [p.name for p in visit.exposures] == [f"idrz01{i:02d}q_flt.fits" for i in range(1, 5)]
    assert visit.association.name == "idrz01010_asn.fits"
    inputs = expand_inputs([str(visit.association)])
    assert inputs.files == tuple(p.resolve() for p in visit.exposures)
    assert inputs.product == visit.product == "idrz01010"
    assert all(p.is_file() for p in (visit.catalogue, visit.positions, *visit.cr_masks))


def test_headers_carry_what_astrodrizzle_reads(uvis_visit):
    with fits.open(uvis_visit.exposures[0]) as hdul:
        primary = hdul[0].header
        assert all(key in primary for key in PRIMARY_KEYWORDS), [k for k in PRIMARY_KEYWORDS if k not in primary]
        assert (primary["INSTRUME"], primary["DETECTOR"], primary["FILTER"]) == ("WFC3", "UVIS", "F606W")
        assert primary["EXPEND"] == pytest.approx(primary["EXPSTART"] + primary["EXPTIME"] / 86400)
        assert primary["NEXTEND"] == 6 == len(hdul) - 1
        assert [(h.name, h.ver) for h in hdul[1:]] == [(n, v) for v in (1, 2) for n in ("SCI", "ERR", "DQ")]
        for hdu in hdul[1:]:
            assert all(key in hdu.header for key in EXTENSION_KEYWORDS), hdu.name
            assert hdu.header["EXPNAME"] == "idrz0101q"
        assert [hdul["SCI", v].header["CCDCHIP"] for v in (1, 2)] == [2, 1]
        for ver in (1, 2):
            sci = hdul["SCI", ver].header
            assert sci["BUNIT"] == hdul["ERR", ver].header["BUNIT"] == "ELECTRONS"
            assert sci["NGOODPIX"] == int(np.count_nonzero(hdul["DQ", ver].data == 0))
            assert sci["MEANDARK"] > 0
            assert hdul["DQ", ver].data.dtype.kind == "i"


def test_wcs_with_sip_is_accepted_by_astropy_and_inverts(uvis_visit):
    with fits.open(uvis_visit.exposures[1]) as hdul:
        for ver in (1, 2):
            wcs = WCS(hdul["SCI", ver].header, fobj=hdul)
            assert wcs.sip is not None and wcs.sip.a_order == 3
            pixels = np.array([[0.0, 0.0], [511.0, 255.0], [100.5, 60.25]])
            back = wcs.all_world2pix(wcs.all_pix2world(pixels, 0), 0)
            assert np.abs(back - pixels).max() < 1e-6
            scale = np.sqrt(abs(np.linalg.det(wcs.pixel_scale_matrix))) * 3600
            assert scale == pytest.approx(0.0396, rel=0.02)


def test_chips_sit_side_by_side_across_the_gap(uvis_visit):
    with fits.open(uvis_visit.exposures[0]) as hdul:
        wcs1, wcs2 = (WCS(hdul["SCI", v].header) for v in (1, 2))
    top_of_chip1 = wcs1.all_pix2world([[256.0, 255.0]], 0)[0]
    bottom_of_chip2 = wcs2.all_pix2world([[256.0, 0.0]], 0)[0]
    gap = (
        math.hypot(
            (top_of_chip1[0] - bottom_of_chip2[0]) * math.cos(math.radians(top_of_chip1[1])),
            top_of_chip1[1] - bottom_of_chip2[1],
        )
        * 3600
    )
    assert 0.5 < gap < 3.0  # the real UVIS gap is about 1.2 arcsec (31 rows)


def test_dithers_move_the_pointing_by_the_pattern(uvis_visit):
    offsets = dither_offsets("box", 4, min(2.4 / 0.0396, 512 / 5))
    centres = []
    for path in uvis_visit.exposures:
        with fits.open(path) as hdul:
            centres.append(WCS(hdul["SCI", 1].header).all_pix2world([[256.0, 128.0]], 0)[0])
    reference = WCS(fits.getheader(uvis_visit.exposures[0], ("SCI", 1)))
    for centre, (dx, dy) in zip(centres, offsets, strict=True):
        x, y = reference.all_world2pix([centre], 0)[0]
        # the pointing moves by the pattern on the sky; distortion changes its length in pixels by ~1%
        assert math.hypot(x - 256.0, y - 128.0) == pytest.approx(math.hypot(dx, dy), rel=0.03, abs=0.3)
    assert len({(round(c[0], 7), round(c[1], 7)) for c in centres}) == 4


def test_reader_and_instrument_accept_the_visit(uvis_visit, session):
    exposures = []
    for path in uvis_visit.exposures:
        instrument = session.identify_instrument(fits.getheader(path), str(path))
        exposures.append(read_exposure(path, instrument))
    check_input_set(exposures)
    assert {e.instrument for e in exposures} == {"WFC3/UVIS"}
    assert exposures[0].chips[0].read_noise == pytest.approx(PROFILES["WFC3/UVIS"].mean_read_noise)


def test_cosmic_ray_masks_match_the_injected_pixels(uvis_visit, uvis_visit_without_cosmic_rays):
    for with_cr, without, truth in zip(
        uvis_visit.exposures, uvis_visit_without_cosmic_rays.exposures, uvis_visit.cr_masks, strict=True
    ):
        with fits.open(with_cr) as a, fits.open(without) as b, fits.open(truth) as t:
            for ver in (1, 2):
                difference = a["SCI", ver].data.astype(float) - b["SCI", ver].data.astype(float)
                mask = t["CRMASK", ver].data.astype(bool)
                charge = t["CRCHARGE", ver].data
                touched = (a["DQ", ver].data & (4 | 256)) != 0  # bad columns and saturation rewrite pixels
                assert mask.sum() > 50
                assert np.array_equal(difference[~touched] != 0, mask[~touched])
                np.testing.assert_allclose(difference[~touched & mask], charge[~touched & mask], rtol=1e-4, atol=0.05)


def test_cosmic_ray_shapes_include_tracks_and_worms(uvis_visit):
    from scipy import ndimage

    with fits.open(uvis_visit.cr_masks[0]) as hdul:
        charge = hdul["CRCHARGE", 1].data
    core = charge > 300  # the path, without the diffusion halo
    labels, n = ndimage.label(core, structure=np.ones((3, 3)))
    sizes = ndimage.sum(core, labels, range(1, n + 1))
    extents = [max(s.stop - s.start for s in sl) for sl in ndimage.find_objects(labels)]
    assert n > 20
    assert (sizes <= 2).sum() > 0.1 * n  # compact hits
    assert max(extents) >= 4  # tracks and worms


def test_cosmic_ray_rate_scales_with_exposure_time():
    model = CosmicRayModel(rate=1.5, pixel_size_um=15.0)
    counts = {}
    for exptime in (100.0, 1000.0):
        image = np.zeros((256, 512))
        _, counts[exptime] = add_cosmic_rays(image, model, exptime, np.random.default_rng(1))
    expected = model.expected_events((256, 512), 1000.0)
    assert expected == pytest.approx(1.5 * 256 * 512 * (15e-4) ** 2 * 1000)
    assert abs(counts[1000.0] - expected) < 5 * math.sqrt(expected)
    assert abs(counts[100.0] - expected / 10) < 5 * math.sqrt(expected / 10)


def test_star_and_galaxy_fluxes_add_up_to_the_truth(tmp_path):
    visit = drizrun.simulate("WFC3/UVIS", 1, tmp_path, seed=11, chip_shape=(256, 512), cosmic_rays=False, defects=False)
    positions = Table.read(visit.positions, format="ascii.ecsv")
    catalogue = Table.read(visit.catalogue, format="ascii.ecsv")
    sky = catalogue.meta["sky_rate"] * catalogue.meta["exptime"]
    with fits.open(visit.exposures[0]) as hdul:
        for ver in (1, 2):
            sci = hdul["SCI", ver].data.astype(float)
            err = hdul["ERR", ver].data.astype(float)
            injected = positions["electrons"][positions["chip"] == ver].sum()
            measured = sci.sum() - sky * sci.size
            assert injected > 1e3
            assert abs(measured - injected) < 5 * math.sqrt((err**2).sum()) + 0.002 * injected


def test_positions_are_the_true_positions_through_the_wcs(uvis_visit):
    positions = Table.read(uvis_visit.positions, format="ascii.ecsv")
    catalogue = Table.read(uvis_visit.catalogue, format="ascii.ecsv")
    assert set(catalogue["kind"]) == {"star", "galaxy"}
    assert np.all(catalogue["rate"] > 0)
    rows = positions[(positions["exposure"] == "idrz0102q") & (positions["chip"] == 2)]
    wcs = WCS(fits.getheader(uvis_visit.exposures[1], ("SCI", 2)))
    source = catalogue[rows["id"] - 1]
    x, y = wcs.all_world2pix(source["ra"], source["dec"], 1)
    np.testing.assert_allclose(x, rows["x"], atol=1e-4)
    np.testing.assert_allclose(y, rows["y"], atol=1e-4)


def test_stars_have_the_detector_psf(tmp_path):
    from drizrun.core.simulate.profiles2d import psf_stamp

    stamp, _, _ = psf_stamp(10.0, 10.0, 2.0, half=10, oversample=9)
    assert stamp.sum() == pytest.approx(1.0)
    profile = stamp[10]  # the row through the centre
    above_half = (profile >= profile.max() / 2).sum()
    assert above_half in (1, 2, 3)  # a 2-pixel FWHM sampled on pixels
    assert stamp[10, 10] == stamp.max()


def test_dq_flags_hot_pixels_bad_columns_and_saturation(uvis_visit):
    flagged = {4: 0, 16: 0, 256: 0}
    columns = 0
    for path in uvis_visit.exposures:
        with fits.open(path) as hdul:
            for ver in (1, 2):
                dq = hdul["DQ", ver].data
                for bit in flagged:
                    flagged[bit] += int(((dq & bit) != 0).sum())
                bad = (dq & 4) != 0
                columns += int((bad.sum(axis=0) > 10).sum())
    assert flagged[16] > 0.002 * 4 * 2 * 256 * 512
    assert columns >= 8  # bad column segments, at least one per chip
    assert flagged[256] > 0  # the brightest stars saturate


def test_same_seed_same_data_other_seed_other_data(tmp_path):
    a = drizrun.simulate("ACS/HRC", 1, tmp_path / "a", seed=3, chip_shape=(64, 64))
    b = drizrun.simulate("ACS/HRC", 1, tmp_path / "b", seed=3, chip_shape=(64, 64))
    c = drizrun.simulate("ACS/HRC", 1, tmp_path / "c", seed=4, chip_shape=(64, 64))
    data = [fits.getdata(v.exposures[0], ("SCI", 1)) for v in (a, b, c)]
    assert np.array_equal(data[0], data[1])
    assert not np.array_equal(data[0], data[2])


@pytest.mark.parametrize("name", list(PROFILES))
def test_every_detector_simulates_and_reads_back(tmp_path, session, name):
    visit = drizrun.simulate(name, 2, tmp_path, seed=1, chip_shape=(64, 96), kind="flc")
    instrument = session.instruments[name]
    exposures = [
        read_exposure(path, session.identify_instrument(fits.getheader(path), str(path))) for path in visit.exposures
    ]
    assert all(e.instrument == name and e.kind == "flc" for e in exposures)
    assert len(exposures[0].chips) == len(instrument.chips)
    assert exposures[0].chips[0].units.bunit == instrument.native_bunit
    assert exposures[0].chips[0].shape == (64, 96)
    check_input_set(exposures)


def test_full_size_gives_real_detector_sizes(tmp_path):
    visit = drizrun.simulate("WFC3/IR", 1, tmp_path, seed=2, full_size=True, star_density=20, galaxy_density=10)
    with fits.open(visit.exposures[0]) as hdul:
        assert hdul["SCI", 1].data.shape == (1014, 1014)
        assert hdul[0].header["SUBARRAY"] is False
        assert hdul["SCI", 1].header["CRPIX1"] == 507.0
        assert hdul["SCI", 1].header["BUNIT"] == "ELECTRONS/S"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_exposures": 0}, "at least one exposure"),
        ({"instrument": "NICMOS/NIC1"}, "cannot simulate instrument 'NICMOS/NIC1'"),
        ({"exptime": -1.0}, "exptime must be positive"),
        ({"chip_shape": (8, 8)}, "at least 16x16"),
        ({"kind": "raw"}, "kind must be 'flt' or 'flc'"),
        ({"dither": "spiral"}, "simulate: 'spiral' is not a valid DitherPattern"),
        ({"colour": "red"}, "simulate: .*colour"),
    ],
)
def test_bad_simulation_options_are_usage_errors(tmp_path, options, message):
    options = {"instrument": "WFC3/UVIS", "n_exposures": 1, **options}
    with pytest.raises(UsageError, match=message):
        drizrun.simulate(out=tmp_path, **options)


def test_cosmic_ray_pixel_fraction_is_realistic(uvis_visit):
    """ACS/WFC3 handbooks: 1.5-3% of CCD pixels are hit in 1000 s, so roughly 0.6-1.2% in 400 s."""
    fractions = []
    for path in uvis_visit.cr_masks:
        with fits.open(path) as hdul:
            fractions += [float((hdul["CRCHARGE", ver].data > 15).mean()) for ver in (1, 2)]
    assert 0.004 < np.mean(fractions) < 0.02
