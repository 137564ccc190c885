"""Bad input is answered with one line naming file, extension and problem; inputs are never modified."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

import drizrun
from drizrun.core.errors import InputError, UsageError
from drizrun.core.exposure import check_input_set, read_exposure
from drizrun.core.testing import write_exposure


@pytest.fixture(scope="module")
def uvis() -> object:
    return drizrun.Session.create(autoload=False).instruments["WFC3/UVIS"]


def _good(path: Path) -> Path:
    return write_exposure(
        path, shape=(40, 30), nchips=2, instrument="WFC3", detector="UVIS", header={"FILTER": "F606W"}
    )


def _edit(path: Path, change: Callable[[fits.HDUList], None]) -> Path:
    with fits.open(path) as hdul:
        hdul = fits.HDUList([hdu.copy() for hdu in hdul])
    change(hdul)
    hdul.writeto(path, overwrite=True)
    return path


def _delete(extname: str, extver: int) -> Callable[[fits.HDUList], None]:
    def change(hdul: fits.HDUList) -> None:
        del hdul[hdul.index_of((extname, extver))]

    return change


def _set(ext: object, **cards: object) -> Callable[[fits.HDUList], None]:
    def change(hdul: fits.HDUList) -> None:
        for key, value in cards.items():
            if value is None:
                del hdul[ext].header[key]
            else:
                hdul[ext].header[key] = value

    return change


def _nan(hdul: fits.HDUList) -> None:
    hdul["SCI", 2].data = np.full_like(hdul["SCI", 2].data, np.nan)


CASES = [
    ("missing EXPTIME", _set(0, EXPTIME=None), r"\[0\]: EXPTIME is missing from the primary header"),
    ("zero EXPTIME", _set(0, EXPTIME=0.0), r"\[0\]: EXPTIME = 0.0 \(an exposure needs a positive exposure time\)"),
    ("negative EXPTIME", _set(0, EXPTIME=-5.0), r"\[0\]: EXPTIME = -5.0"),
    ("text EXPTIME", _set(0, EXPTIME="long"), r"\[0\]: EXPTIME = 'long' is not a number"),
    ("missing DQ", _delete("DQ", 2), r"\[DQ,2\]: extension missing"),
    ("unknown BUNIT", _set(("SCI", 1), BUNIT="JY/BEAM"), r"\[SCI,1\]: unknown BUNIT 'JY/BEAM'"),
    ("all NaN", _nan, r"\[SCI,2\]: every science pixel is NaN"),
    ("unreadable WCS", _set(("SCI", 1), CTYPE1="RA---QQQ"), r"\[SCI,1\]: astropy cannot read the WCS"),
    (
        "non-celestial WCS",
        _set(("SCI", 2), CTYPE1="LINEAR", CTYPE2="LINEAR"),
        r"\[SCI,2\]: the WCS is not a 2-D celestial WCS",
    ),
]


@pytest.mark.parametrize(("change", "message"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_one_line_naming_file_and_extension(tmp_path, uvis, change, message):
    path = _edit(_good(tmp_path / "bad_flt.fits"), change)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(InputError, match=message) as info:
        read_exposure(path, uvis)
    text = str(info.value)
    assert text.startswith(str(path)) and "\n" not in text and len(text) < 300
    assert isinstance(info.value, UsageError) and info.value.exit_status == 2
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_missing_sci_extensions(tmp_path, uvis):
    def keep_primary_and_dq(hdul: fits.HDUList) -> None:
        for name in ("SCI", "ERR"):
            for ver in (1, 2):
                del hdul[hdul.index_of((name, ver))]

    path = _edit(_good(tmp_path / "nosci_flt.fits"), keep_primary_and_dq)
    with pytest.raises(InputError, match=r"nosci_flt.fits: no SCI extension"):
        read_exposure(path, uvis)


@pytest.mark.parametrize("cut", [-2000, -9000, 3000, 100], ids=["in DQ data", "in ERR data", "in a header", "primary"])
def test_truncated_files(tmp_path, uvis, cut):
    whole = _good(tmp_path / "whole_flt.fits").read_bytes()
    path = tmp_path / "cut_flt.fits"
    path.write_bytes(whole[:cut])
    with pytest.raises(InputError, match=r"cut_flt.fits(\[[A-Z0-9,]+\])?: (the file is truncated|not a readable FITS)"):
        read_exposure(path, uvis)


def test_truncated_on_a_block_boundary_names_the_extension(tmp_path, uvis):
    whole = _good(tmp_path / "whole_flt.fits").read_bytes()
    path = tmp_path / "cut_flt.fits"
    path.write_bytes(whole[: len(whole) - 2880])
    with pytest.raises(InputError, match=r"cut_flt.fits\[DQ,2\]: the file is truncated"):
        read_exposure(path, uvis)


def test_truncated_gzip_stream(tmp_path, uvis):
    data = gzip.compress(_good(tmp_path / "whole_flt.fits").read_bytes())
    path = tmp_path / "cut_flt.fits.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut_flt.fits.gz: the compressed file is truncated"):
        read_exposure(path, uvis)


def test_corrupt_file(tmp_path, uvis):
    path = tmp_path / "junk_flt.fits"
    path.write_bytes(b"SIMPLE  =                    T" + bytes(range(256)) * 20)
    with pytest.raises(InputError, match=r"junk_flt.fits: (not a readable FITS file|the file is truncated)"):
        read_exposure(path, uvis)


def test_missing_file(tmp_path, uvis):
    with pytest.raises(InputError, match="nothere_flt.fits: no such file"):
        read_exposure(tmp_path / "nothere_flt.fits", uvis)


def test_missing_bunit_takes_the_instruments_native_unit(tmp_path, uvis):
    path = _edit(_good(tmp_path / "nounit_flt.fits"), _set(("SCI", 1), BUNIT=None))
    assert read_exposure(path, uvis).chips[0].units.bunit == "ELECTRONS"
    with pytest.raises(InputError, match=r"\[SCI,1\]: BUNIT is missing"):
        read_exposure(path)  # the generic instrument has no unit to assume


@pytest.mark.parametrize(
    ("bunit", "factor"),
    [("electrons", 1.0), ("ELECTRONS/S", 100.0), ("counts", 1.5), ("COUNTS/S", 150.0), ("e-/s", 100.0)],
)
def test_units_and_conversion_to_electrons(tmp_path, bunit, factor):
    path = _edit(_good(tmp_path / "u_flt.fits"), _set(("SCI", 1), BUNIT=bunit))
    _edit(path, _set(0, ATODGNA=1.5, ATODGNB=1.5, ATODGNC=1.5, ATODGND=1.5))
    chip = read_exposure(path).chips[0]
    assert chip.to_electrons == pytest.approx(factor)


def test_reading_never_modifies_inputs_and_arrays_are_read_only(tmp_path, uvis):
    path = _good(tmp_path / "ok_flt.fits")
    before = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    exposure = read_exposure(path, uvis)
    for chip in exposure.chips:
        for array in (chip.sci(), chip.err(), chip.dq()):
            assert not array.flags.writeable
            with pytest.raises(ValueError):
                array[0, 0] = 1
        chip.computed_sky = 12.5  # sky fields are filled later, in memory only
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns) == before
    with pytest.raises(AttributeError):
        exposure.chips[0].exptime = 1.0  # type: ignore[misc]


def test_exposure_records(tmp_path, uvis):
    exposure = read_exposure(_good(tmp_path / "iabc01xyq_flt.fits"), uvis)
    assert (exposure.rootname, exposure.kind, exposure.instrument, exposure.filters) == (
        "iabc01xyq",
        "flt",
        "WFC3/UVIS",
        ("F606W",),
    )
    assert [c.signature.chip for c in exposure.chips] == [1, 2]
    assert exposure.chips[0].signature.shape == (40, 30)
    assert [c.cte_direction for c in exposure.chips] == [-1, 1]


class _Item:
    def __init__(self, name: str, instrument: str = "WFC3/UVIS", filters: tuple[str, ...] = ("F606W",)) -> None:
        self.path = Path(name)
        self.kind = "flc" if "_flc" in name else "flt" if "_flt" in name else ""
        self.instrument = instrument
        self.filters = filters


def test_input_set_checks():
    check_input_set([_Item("a_flt.fits"), _Item("b_flt.fits")])
    with pytest.raises(InputError, match=r"the inputs mix FLT \(a_flt.fits\), FLC \(b_flc.fits and 1 more\)"):
        check_input_set([_Item("a_flt.fits"), _Item("b_flc.fits"), _Item("c_flc.fits")])
    with pytest.raises(InputError, match=r"mix instruments: WFC3/UVIS \(a_flt.fits\), ACS/WFC \(b_flt.fits\)"):
        check_input_set([_Item("a_flt.fits"), _Item("b_flt.fits", "ACS/WFC")])
    with pytest.raises(InputError, match=r"mix filters: F606W \(a_flt.fits\), F814W \(b_flt.fits\)"):
        check_input_set([_Item("a_flt.fits"), _Item("b_flt.fits", filters=("F814W",))])
    check_input_set([_Item("a_flt.fits"), _Item("b_flt.fits", filters=("F814W",))], allow_mixed_filters=True)
    check_input_set([_Item("a.fits"), _Item("b_flt.fits")])  # names without a kind mix with either


def test_records_hold_no_pixels(tmp_path, uvis):
    """A run over many exposures keeps only metadata: pixels are read on request."""
    import attrs

    from drizrun.core.exposure import Chip, Exposure

    exposure = read_exposure(_good(tmp_path / "m_flt.fits"), uvis)
    for record, cls in [(exposure, Exposure), *((chip, Chip) for chip in exposure.chips)]:
        for field in attrs.fields(cls):
            assert not isinstance(getattr(record, field.name), np.ndarray), field.name
