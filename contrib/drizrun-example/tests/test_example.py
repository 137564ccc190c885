"""The example plugin: its kernel, its stage through drizrun.run, and discovery when installed."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import drizrun

pytest.importorskip("drizrun_example", reason="contrib/drizrun-example is not installed")

from drizrun_example.sobel import sobel_deriv  # noqa: E402


def test_sobel_is_zero_on_a_constant_and_one_on_a_unit_ramp():
    assert np.all(sobel_deriv(np.full((5, 6), 7.0)) == 0)
    ramp = np.tile(np.arange(8, dtype=">f4"), (6, 1))  # big-endian, as FITS data are
    result = sobel_deriv(ramp)
    assert np.allclose(result[1:-1, 1:-1], 1.0)
    assert result.dtype == np.float32


def test_sobel_rejects_non_images():
    with pytest.raises(ValueError, match=r"shape \(ny, nx\)"):
        sobel_deriv(np.zeros(5))


def test_plugin_registers_its_kernel_and_stage(make_session):
    session = make_session(plugins=["drizrun_example.plugin"])
    assert session.kernels.get("deriv", "sobel").backend == "numpy"
    assert session.kernels.get("deriv", "abs_deriv").backend in ("pythran", "python")  # built-in untouched
    info = session.stages["chipstats"]
    assert info.provides == ("chip_stats",) and info.plugin == "drizrun_example.plugin"


@pytest.mark.parametrize("kernel", ["abs_deriv", "sobel"])
def test_chipstats_stage_measures_sky_and_noise(make_session, make_exposure, tmp_path, kernel):
    session = make_session(plugins=["drizrun_example.plugin"])
    inputs = [make_exposure(tmp_path / f"e{i}_flt.fits", seed=i, nchips=2) for i in range(2)]
    result = drizrun.run(
        inputs,
        stages=["chipstats"],
        settings=[f"chipstats.deriv_kernel={kernel}"],
        session=session,
        output=tmp_path / "out" / "visit",
    )
    report = tmp_path / "out" / "visit_chipstats.json"
    assert result.products == (report,)
    stats = json.loads(report.read_text())
    assert len(stats) == 4
    for chip in stats:  # make_exposure writes sky 100 with Gaussian noise of sigma 5
        assert abs(chip["sky"] - 100.0) < 0.5
        assert abs(chip["noise"] - 5.0) < 0.3
        assert chip["nan_fraction"] == 0.0 and chip["median_derivative"] > 0


def test_unknown_kernel_is_a_clear_error(make_session, make_exposure, tmp_path):
    session = make_session(plugins=["drizrun_example.plugin"])
    inputs = [make_exposure(tmp_path / "e_flt.fits")]
    with pytest.raises(drizrun.DrizrunError, match="unknown kernel 'deriv/sobl'.*did you mean 'deriv/sobel'"):
        drizrun.run(
            inputs,
            stages=["chipstats"],
            settings=["chipstats.deriv_kernel=sobl"],
            session=session,
            output=tmp_path / "x",
        )


def _installed() -> bool:
    try:
        importlib.metadata.version("drizrun-example")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.skipif(not _installed(), reason="drizrun-example is importable but not installed as a distribution")
def test_installed_example_is_discovered_listed_and_runs_through_the_cli(make_exposure, tmp_path):
    script = shutil.which("drizrun", path=os.path.dirname(sys.executable)) or shutil.which("drizrun")
    assert script, "the drizrun console script is not installed"
    env = {k: v for k, v in os.environ.items() if k != "DRIZRUN_DISABLE_PLUGIN_AUTOLOAD"}
    listed = subprocess.run([script, "--list-plugins"], capture_output=True, text=True, env=env, check=True)
    row = next(line.split() for line in listed.stdout.splitlines() if line.startswith("example "))
    assert row[:3] == ["example", "drizrun-example", importlib.metadata.version("drizrun-example")]

    inputs = [str(make_exposure(tmp_path / f"e{i}_flt.fits", seed=i)) for i in range(2)]
    done = subprocess.run(
        [script, "--stages", "chipstats", "--output", str(tmp_path / "visit"), *inputs],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "visit_chipstats.json").is_file()

    blocked = subprocess.run(
        [script, "-p", "no:example", "--stages", "chipstats", *inputs],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert blocked.returncode == 2 and "unknown stage 'chipstats'" in blocked.stderr
