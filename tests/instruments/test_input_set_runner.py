"""prepare/run and the command line refuse input mixtures before any stage runs."""

from __future__ import annotations

import pytest

import drizrun
from drizrun.core.cli import main
from drizrun.core.errors import InputError
from drizrun.core.runner import prepare


@pytest.fixture(scope="module")
def session() -> drizrun.Session:
    return drizrun.Session.create(autoload=False)


def _exposure(make_exposure, path, flt_filter="F606W"):
    return make_exposure(path, instrument="WFC3", detector="UVIS", nchips=2, header={"FILTER": flt_filter})


def test_flt_mixed_with_flc_is_refused(session, make_exposure, tmp_path):
    files = [_exposure(make_exposure, tmp_path / "ia1_flt.fits"), _exposure(make_exposure, tmp_path / "ia2_flc.fits")]
    with pytest.raises(InputError, match=r"the inputs mix FLT \(ia1_flt.fits\), FLC \(ia2_flc.fits\)"):
        prepare(files, session=session)


def test_mixed_filters_are_refused_unless_allowed(session, make_exposure, tmp_path):
    files = [
        _exposure(make_exposure, tmp_path / "ia1_flt.fits"),
        _exposure(make_exposure, tmp_path / "ia2_flt.fits", "F814W"),
    ]
    with pytest.raises(InputError, match=r"mix filters: F606W \(ia1_flt.fits\), F814W \(ia2_flt.fits\)"):
        prepare(files, session=session)
    config = prepare(files, session=session, allow_mixed_filters=True, output=tmp_path / "out")
    assert config.instrument == "WFC3/UVIS" and config.n_inputs == 2


def test_command_line_flag_and_one_line_error(make_exposure, tmp_path, capsys):
    files = [
        str(_exposure(make_exposure, tmp_path / "ia1_flt.fits")),
        str(_exposure(make_exposure, tmp_path / "ia2_flt.fits", "F814W")),
    ]
    assert main(["--show-config", *files]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("drizrun: error: the inputs mix filters") and "\n" not in err
    assert main(["--show-config", "--allow-mixed-filters", *files]) == 0
