"""Expanding INPUT arguments: files, globs, @lists, association tables, and their errors."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from drizrun.core.errors import InputError
from drizrun.core.inputs import expand_inputs


@pytest.fixture
def files(make_exposure, tmp_path):
    return [make_exposure(tmp_path / f"j{i}abc_flt.fits", seed=i) for i in range(3)]


def _write_asn(path, members):
    columns = [
        fits.Column(name="MEMNAME", format="14A", array=np.array([m[0] for m in members])),
        fits.Column(name="MEMTYPE", format="14A", array=np.array([m[1] for m in members])),
        fits.Column(name="MEMPRSNT", format="L", array=np.ones(len(members), bool)),
    ]
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(columns)]).writeto(path)
    return path


def test_plain_files_keep_their_order_and_lose_duplicates(files, tmp_path):
    result = expand_inputs([str(files[2]), str(files[0]), str(files[2])], cwd=tmp_path)
    assert result.files == (files[2], files[0])
    assert result.product is None


def test_globs_are_sorted(files, tmp_path):
    assert expand_inputs(["*_flt.fits"], cwd=tmp_path).files == tuple(files)


def test_listfile_with_comments_relative_names_and_nesting(files, tmp_path):
    sub = tmp_path / "lists"
    sub.mkdir()
    (sub / "inner.lst").write_text(f"../{files[2].name}\n")
    (sub / "outer.lst").write_text(f"# my visit\n../{files[1].name}   extra-column\n\n@inner.lst\n")
    assert expand_inputs(["@lists/outer.lst"], cwd=tmp_path).files == (files[1], files[2])


def test_association_members_prefer_flc_and_name_the_product(files, make_exposure, tmp_path):
    flc = make_exposure(tmp_path / "j1abc_flc.fits")
    asn = _write_asn(tmp_path / "j0xyz_asn.fits", [("J0ABC", "EXP-DTH"), ("J1ABC", "EXP-CRJ"), ("J0XYZ", "PROD-DTH")])
    result = expand_inputs([asn.name], cwd=tmp_path)
    assert result.files == (files[0], flc)
    assert result.product == "j0xyz"


@pytest.mark.parametrize(
    ("setup", "argument", "message"),
    [
        (None, "nothere_flt.fits", "input 'nothere_flt.fits' does not exist"),
        (None, "*.nomatch", r"no file matches '\*.nomatch'"),
        (None, "@missing.lst", "list file .*missing.lst does not exist"),
        ("empty_list", "@empty.lst", "names no inputs"),
        ("text", "notes_flt.fits", "is not a FITS file"),
        ("dir", "adir", "is not a file"),
        ("asn_missing_member", "j9_asn.fits", "lists JMISSING, but neither jmissing_flc.fits nor jmissing_flt.fits"),
        ("asn_no_table", "j8_asn.fits", "association table .* is unreadable"),
    ],
)
def test_bad_inputs_are_one_clear_error(files, tmp_path, setup, argument, message):
    if setup == "empty_list":
        (tmp_path / "empty.lst").write_text("# nothing\n\n")
    elif setup == "text":
        (tmp_path / "notes_flt.fits").write_text("hello")
    elif setup == "dir":
        (tmp_path / "adir").mkdir()
    elif setup == "asn_missing_member":
        _write_asn(tmp_path / "j9_asn.fits", [("JMISSING", "EXP-DTH")])
    elif setup == "asn_no_table":
        fits.PrimaryHDU().writeto(tmp_path / "j8_asn.fits")
    with pytest.raises(InputError, match=message):
        expand_inputs([argument], cwd=tmp_path)


def test_no_inputs_is_an_error(tmp_path):
    with pytest.raises(InputError, match="no input files"):
        expand_inputs([], cwd=tmp_path)
