"""``drizrun --simulate`` and ``drizrun --demo``."""

from __future__ import annotations

import re
import time

import pytest
from astropy.io import fits

import drizrun
from drizrun.core.cli import main


def test_simulate_writes_a_visit(tmp_path, capsys):
    status = main(["-q", "--simulate", "wfc3/ir", "--nexp", "2", "--out", str(tmp_path / "ir"), "--seed", "4"])
    assert status == 0
    files = sorted(p.name for p in (tmp_path / "ir").glob("*.fits"))
    assert files == ["idrz01010_asn.fits", "idrz0101q_flt.fits", "idrz0102q_flt.fits"]
    assert fits.getval(tmp_path / "ir" / "idrz0101q_flt.fits", "DETECTOR") == "IR"
    assert (tmp_path / "ir" / "truth" / "idrz01010_sources.ecsv").is_file()


def test_simulate_lists_what_it_wrote(tmp_path, capsys):
    assert main(["--simulate", "ACS/SBC", "--nexp", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "simulated 1 ACS/SBC exposure(s)" in out and "jdrz0101q_flt.fits" in out and "_asn.fits" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--simulate", "WFPC2"], "cannot simulate instrument 'WFPC2'"),
        (["--simulate", "ACS/WFC", "--nexp", "0"], "at least one exposure"),
        (["--simulate", "ACS/WFC", "a_flt.fits"], "--simulate and --demo take no INPUT"),
        (["--simulate", "ACS/WFC", "--demo"], "not both"),
    ],
)
def test_simulate_usage_errors_are_one_line_with_status_2(tmp_path, capsys, argv, message):
    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("drizrun: error: ") and message in err and "\n" not in err


def test_demo_runs_in_well_under_a_minute_and_reports_every_stage(tmp_path, capsys):
    started = time.perf_counter()
    assert main(["-q", "--demo", str(tmp_path / "demo")]) == 0
    assert time.perf_counter() - started < 60
    out = capsys.readouterr().out
    assert "4 simulated WFC3/UVIS exposures" in out
    assert "idrz0101q_flt.fits  F606W  400 s  chips 512x256+512x256" in out
    assert "not installed" not in out
    for stage in drizrun.CANONICAL_STAGES:
        assert re.search(rf"^{stage} +ok ", out, re.MULTILINE), stage
    assert "cosmic rays: " in out
    assert (tmp_path / "demo" / "idrz01010_drz.fits").is_file()
    assert len(out.splitlines()) < 25
    assert len(list((tmp_path / "demo").glob("*_flt.fits"))) == 4
