"""A signal during a NEWPATH run: status 130/143, the working directory removed, the trailer says so."""

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

# the real command, with the slow-writing test stage as the only stage
_CODE = """
import functools, sys
from drizrun.core.pipeline import cli, driver
cli.process = functools.partial(driver.process, stages=["slowwrite"])
sys.exit(cli.main())
"""


@pytest.mark.parametrize(("sig", "status", "word"), [(signal.SIGTERM, 143, "Terminated"),
                                                     (signal.SIGINT, 130, "KeyboardInterrupt")])
def test_signal_during_a_newpath_run(make_exposure, tmp_path, sig, status, word):
    source = make_exposure(tmp_path / "e0_flt.fits")
    before = source.read_bytes()
    newpath = tmp_path / "np"
    path = [str(TESTS), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path), "DRIZRUN_TEST_SLOW": "30"}
    proc = subprocess.Popen([sys.executable, "-c", _CODE, "-n", "1", "-p", "fake_plugins.slow", str(source),
                             str(newpath)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)
    deadline = time.monotonic() + 30
    while not list((newpath / "e0").glob(".*.part")) if (newpath / "e0").exists() else True:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the slow write never started"
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == status, err
    assert not (newpath / "e0").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e0.tra", "e0_flt.fits", "np"]
    assert source.read_bytes() == before
    trailer = (tmp_path / "e0.tra").read_text(encoding="utf-8")
    assert f"interrupted ({word})" in trailer
