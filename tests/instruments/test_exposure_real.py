"""The exposure model on real HST files (skipped without ../shared/data/hst)."""

from __future__ import annotations

import hashlib
import mmap
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

import drizrun
from drizrun.core.errors import InputError
from drizrun.core.exposure import check_input_set, read_exposure
from drizrun.core.inputs import expand_inputs

HRC = "debian_python-drizzle-testdata_1.13.4/j8bt06nyq_flt.fits.gz"
ACS_FLC_HEADERS = "drizzlepac/sample_flc_header.fits"
UVIS_FLC = "drizzlepac/sample_svm_flc.fits"
IR_FLT = "drizzlepac/sample_svm_flt.fits"
GRIZLI = "grizli_wfc3-parse-test"


@pytest.fixture(scope="module")
def session() -> drizrun.Session:
    return drizrun.Session.create(autoload=False)


def _read(session, path: Path, **kwargs):
    instrument = session.identify_instrument(fits.getheader(path, 0), str(path))
    return read_exposure(path, instrument, **kwargs)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_acs_hrc_flt(shared_hst, session):
    path = shared_hst / HRC
    before = _digest(path)
    exposure = _read(session, path)
    assert (exposure.instrument, exposure.rootname, exposure.kind, exposure.filters) == (
        "ACS/HRC",
        "j8bt06nyq",
        "flt",
        ("F606W",),
    )
    assert exposure.exptime == 60.0
    (chip,) = exposure.chips
    assert chip.shape == (1024, 1024)
    assert chip.units.bunit == "ELECTRONS" and chip.to_electrons == 1.0
    assert chip.gain == pytest.approx(2.216, abs=1e-4)  # amplifier C only; A, B, D are zero
    assert chip.read_noise == pytest.approx(4.71)
    assert chip.cte_direction == -1  # CCDAMP = C
    assert chip.signature.label() == "ACS-HRC_1024x1024_1"
    ra, dec = chip.wcs.all_pix2world([[511.0, 511.0]], 0)[0]
    assert (ra, dec) == pytest.approx((6.027148333333, -72.08351111111))
    sci, dq = chip.sci(), chip.dq()
    assert sci.shape == dq.shape == (1024, 1024)
    assert not sci.flags.writeable
    assert np.isfinite(sci).all() and np.median(sci) > 0
    assert _digest(path) == before


def test_acs_wfc_header_set_has_the_full_distortion(shared_hst, session):
    exposure = _read(session, shared_hst / ACS_FLC_HEADERS, check_data=False)
    assert exposure.instrument == "ACS/WFC"
    assert [chip.ccdchip for chip in exposure.chips] == [2, 1]
    assert [chip.cte_direction for chip in exposure.chips] == [-1, 1]
    for chip in exposure.chips:
        wcs = chip.wcs
        assert wcs.sip is not None and wcs.sip.a_order == 5
        assert wcs.cpdis1 is not None and wcs.cpdis2 is not None  # NPOL lookup tables (WCSDVARR)
        assert wcs.det2im1 is not None or wcs.det2im2 is not None  # D2IM lookup tables (D2IMARR)
        pixels = np.array([[100.0, 100.0], [2000.0, 1000.0], [4000.0, 2000.0]])
        full = wcs.all_pix2world(pixels, 0)
        sip_only = wcs.deepcopy()
        sip_only.cpdis1 = sip_only.cpdis2 = sip_only.det2im1 = sip_only.det2im2 = None
        linear = sip_only.all_pix2world(pixels, 0)
        # the lookup tables move positions by a small, non-zero amount (0.001-1 pixel at 0.05")
        shift = np.hypot((full[:, 0] - linear[:, 0]) * np.cos(np.radians(full[:, 1])), full[:, 1] - linear[:, 1])
        shift_px = shift * 3600 / 0.05
        assert np.all(shift_px < 1.0) and np.any(shift_px > 1e-3)


def test_acs_wfc_header_set_without_pixels_is_refused_when_data_are_checked(shared_hst, session):
    with pytest.raises(InputError, match=r"sample_flc_header.fits\[SCI,1\]: the science array has no pixels"):
        _read(session, shared_hst / ACS_FLC_HEADERS)


@pytest.mark.parametrize(
    ("relative", "name", "kind", "nchips", "bunit"),
    [
        (UVIS_FLC, "WFC3/UVIS", "flc", 2, "ELECTRONS"),
        (IR_FLT, "WFC3/IR", "flt", 1, "ELECTRONS/S"),
        ("spherical_geometry_1.4.0_sdist/2chipA.fits.gz", "ACS/WFC", "", 2, "ELECTRONS"),
        ("spherical_geometry_1.4.0_sdist/2chipB.fits.gz", "ACS/WFC", "", 2, "ELECTRONS"),
        ("spherical_geometry_1.4.0_sdist/2chipC.fits.gz", "WFC3/UVIS", "", 2, "ELECTRONS"),
    ],
)
def test_header_sets_with_distortion(shared_hst, session, relative, name, kind, nchips, bunit):
    path = shared_hst / relative
    before = _digest(path)
    exposure = _read(session, path)
    assert (exposure.instrument, exposure.kind, len(exposure.chips)) == (name, kind, nchips)
    for chip in exposure.chips:
        assert chip.units.bunit == bunit
        assert chip.wcs.sip is not None
        assert chip.wcs.has_celestial
        assert chip.dq().shape == chip.shape
    if bunit == "ELECTRONS/S":
        assert exposure.chips[0].to_electrons == pytest.approx(exposure.exptime)
    assert _digest(path) == before


def test_wfc3_uvis_flc_carries_its_lookup_tables(shared_hst, session):
    exposure = _read(session, shared_hst / UVIS_FLC)
    for chip in exposure.chips:
        assert chip.wcs.cpdis1 is not None
        assert chip.wcs.det2im1 is not None or chip.wcs.det2im2 is not None
    assert [chip.gain for chip in exposure.chips] == pytest.approx([1.56, 1.56], abs=0.01)


def test_uncompressed_arrays_are_memory_mapped(shared_hst, session):
    chip = _read(session, shared_hst / UVIS_FLC).chips[0]
    array = chip.sci()
    bases = []
    while array is not None and not isinstance(array, mmap.mmap):
        bases.append(array)
        array = getattr(array, "base", None)
    assert isinstance(array, mmap.mmap)


def test_wfc3_ir_grizli_visit_and_its_filters(shared_hst, session):
    paths = sorted((shared_hst / GRIZLI).glob("ib6o21*_flt.fits.gz"))
    assert len(paths) == 8
    exposures = [_read(session, path) for path in paths]
    assert {e.instrument for e in exposures} == {"WFC3/IR"}
    assert {e.filters for e in exposures} == {("F098M",), ("G102",)}
    assert all(e.chips[0].shape == (1014, 1014) and e.chips[0].units.per_second for e in exposures)
    with pytest.raises(InputError, match=r"the inputs mix filters: .*G102 \(ib6o21qmq_flt.fits.gz and 3 more\)"):
        check_input_set(exposures)
    check_input_set(exposures, allow_mixed_filters=True)
    check_input_set([e for e in exposures if e.filters == ("F098M",)])


def test_grizli_association_members(shared_hst, session, tmp_path):
    """An association table listing the real grizli members (linked beside it) expands to them."""
    members = sorted((shared_hst / GRIZLI).glob("ib6o21*_flt.fits.gz"))
    direct = [p for p in members if fits.getval(p, "FILTER") == "F098M"]
    for path in direct:
        (tmp_path / path.name.removesuffix(".gz")).symlink_to(path)
    names = [fits.getval(p, "ROOTNAME").upper() for p in direct] + ["IB6O21020"]
    types = ["EXP-DTH"] * len(direct) + ["PROD-DTH"]
    table = fits.BinTableHDU.from_columns(
        [fits.Column(name="MEMNAME", format="14A", array=names), fits.Column(name="MEMTYPE", format="14A", array=types)]
    )
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(tmp_path / "ib6o21020_asn.fits")
    inputs = expand_inputs([str(tmp_path / "ib6o21020_asn.fits")])
    assert inputs.product == "ib6o21020"
    exposures = [_read(session, path) for path in inputs.files]
    assert [e.rootname for e in exposures] == [n.lower() for n in names[:-1]]
    check_input_set(exposures)


def test_astropy_lookup_table_file_without_exptime_is_refused(shared_hst, session):
    path = shared_hst / "astropy_8.0.2_wcs_tests_data/dist_lookup.fits.gz"
    with pytest.raises(InputError) as info:
        _read(session, path)
    assert str(info.value) == f"{path}[0]: EXPTIME is missing from the primary header"
