"""Interrupting a run mid-write (SIGINT, SIGTERM) leaves no partial product; a rerun completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drizrun.core.testing import default_sigint

TESTS = Path(__file__).resolve().parents[1]


def _drizrun(args, env_extra):
    env = {**os.environ, "PYTHONPATH": str(TESTS), **env_extra}
    code = "import sys; from drizrun.core.cli import main; sys.exit(main())"
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)


@pytest.mark.parametrize(("sig", "status", "word"), [(signal.SIGTERM, 143, "terminated"),
                                                     (signal.SIGINT, 130, "interrupted")])
def test_signal_mid_write_leaves_nothing_and_rerun_completes(make_exposure, tmp_path, sig, status, word):
    source = make_exposure(tmp_path / "e0_flt.fits")
    before = source.read_bytes()
    out = tmp_path / "out"
    args = ["-p", "fake_plugins.slow", "--stages", "slowwrite", "--output", str(out / "visit"), str(source)]
    proc = _drizrun(args, {"DRIZRUN_TEST_SLOW": "30"})
    deadline = time.monotonic() + 30
    while not list(out.glob(".*.part")) if out.exists() else True:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the slow write never started"
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == status, err
    assert word in err
    assert list(out.iterdir()) == []  # neither the product nor a temporary file
    assert source.read_bytes() == before

    rerun = _drizrun(args, {"DRIZRUN_TEST_SLOW": "0"})
    _, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, err
    assert (out / "visit_slow.dat").stat().st_size == 1_000_000
