"""The drizrun command: listings, exit statuses, one-line errors, plugin options."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

import drizrun
from drizrun.core.cli import main


@pytest.fixture
def inputs(make_exposure, tmp_path):
    return [str(make_exposure(tmp_path / f"e{i}_flt.fits", seed=i)) for i in range(2)]


def _run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _error_lines(err):
    return [line for line in err.splitlines() if line.startswith("drizrun: error:")]


def test_version_reports_the_kernel_backend(capsys):
    status, out, _ = _run(capsys, "--version")
    assert status == 0
    assert out.startswith(f"drizrun {drizrun.__version__} (kernels: {drizrun.kernels.BACKEND}, ")
    assert ("(kernels: pythran, compiled)" in out) == (drizrun.kernels.BACKEND == "pythran")


def test_list_plugins_shows_builtins_with_distribution(capsys):
    status, out, _ = _run(capsys, "--list-plugins")
    assert status == 0
    rows = {line.split()[0]: line.split()[1:3] for line in out.splitlines()[2:]}
    assert rows["kernels"] == ["drizrun", drizrun.__version__]
    assert "generic-instrument" in rows


def test_list_stages_shows_requires_uses_provides_and_plugin(capsys):
    status, out, _ = _run(capsys, "-p", "fake_plugins.chain", "--list-stages")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["STAGE", "REQUIRES", "USES", "PROVIDES", "PLUGIN", "DESCRIPTION"]
    rows = [line.split()[:5] for line in lines[2:] if "fake_plugins.chain" in line]
    assert rows == [
        ["static", "-", "-", "static_mask", "fake_plugins.chain"],
        ["sky", "-", "-", "sky", "fake_plugins.chain"],
        ["sep", "-", "static_mask,sky", "single", "fake_plugins.chain"],
        ["median", "single", "-", "median", "fake_plugins.chain"],
        ["blot", "median", "-", "blotted", "fake_plugins.chain"],
        ["cr", "blotted", "-", "crmask", "fake_plugins.chain"],
        ["final", "-", "crmask,static_mask", "drz", "fake_plugins.chain"],
    ]


def test_list_stages_names_canonical_stages_that_are_not_installed(capsys):
    status, out, _ = _run(capsys, "-p", "no:sky", "-p", "no:cr", "--list-stages")
    assert status == 0
    assert out.splitlines()[-1] == "not installed: sky, cr"
    status, out, _ = _run(capsys, "--list-stages")
    assert status == 0 and "not installed" not in out
    for name in drizrun.CANONICAL_STAGES:
        assert name in out


def test_list_kernels_and_instruments(capsys):
    status, out, _ = _run(capsys, "--list-kernels")
    assert status == 0 and "abs_deriv" in out and drizrun.kernels.BACKEND in out
    status, out, _ = _run(capsys, "--list-instruments")
    assert status == 0 and "generic" in out


def test_run_prints_a_summary_and_exits_zero(capsys, inputs, tmp_path):
    status, out, err = _run(
        capsys, "-p", "fake_plugins.chain", "--stages", "cr", "--output", str(tmp_path / "o" / "visit"), *inputs
    )
    assert status == 0, err
    assert "4 stage(s)" in out
    assert "turning on stage 'sep': 'median' requires 'single'" in err


def test_show_config_prints_values_and_sources(capsys, inputs, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[final]\nkernel = "point"\n')
    status, out, _ = _run(
        capsys, "-p", "fake_plugins.chain", "--show-config", "-c", str(config), "--set", "final.pixfrac=0.5", *inputs
    )
    assert status == 0
    lines = out.splitlines()
    assert lines.index("[static]") < lines.index("[sep]") < lines.index("[final]")
    values = {line.split("#")[0].strip(): line.split("#")[1].strip() for line in lines if " = " in line}
    assert values['kernel = "point"'] == str(config)
    assert values["pixfrac = 0.5"] == "--set"
    assert values["grow = 1"] == "default"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--stages", "medain", "INPUTS"], r"unknown stage 'medain' \(did you mean 'median'\?\)"),
        (["--set", "final.pixfrc=1", "INPUTS"], r"unknown key final.pixfrc \(did you mean 'pixfrac'\?\)"),
        (["--set", "final.pixfrac=2", "INPUTS"], r"final.pixfrac = 2: must be in"),
        (["--set", "pixfrac", "INPUTS"], "expected STAGE.KEY=VALUE"),
        (["--stages", ",", "INPUTS"], "--stages needs at least one stage name"),
        (["-c", "missing.toml", "INPUTS"], "config file missing.toml does not exist"),
        (["--no-such-option"], "unrecognized arguments: --no-such-option"),
        (["-n", "x", "INPUTS"], "argument -n/--num-cores: invalid int value"),
        (["-n", "0", "INPUTS"], "--num-cores must be at least 1"),
        (["nothere_flt.fits"], "input 'nothere_flt.fits' does not exist"),
        ([], "no INPUT given"),
        (["-p", "no_such_plugin_module", "--list-plugins"], "cannot import plugin 'no_such_plugin_module'"),
        (["-p", "fake_plugins.misspelt", "--list-plugins"], "unknown hook 'drizrun_regster_stages'"),
    ],
)
def test_usage_and_configuration_errors_exit_2_with_one_line(capsys, inputs, monkeypatch, tmp_path, argv, message):
    monkeypatch.chdir(tmp_path)
    argv = [a for item in argv for a in (inputs if item == "INPUTS" else [item])]
    if "--list-plugins" not in argv:
        argv = ["-p", "fake_plugins.chain", *argv]
    status, _, err = _run(capsys, *argv)
    assert status == 2
    lines = _error_lines(err)
    assert len(lines) == 1, err
    import re

    assert re.search(message, lines[0]), lines[0]
    assert "Traceback" not in err


def test_processing_error_exits_1_with_one_line_and_traceback_only_with_verbose(capsys, inputs, tmp_path):
    argv = [
        "-p",
        "fake_plugins.chain",
        "-p",
        "fake_plugins.failing",
        "--stages",
        "sep",
        "--output",
        str(tmp_path / "v"),
        *inputs,
    ]
    status, _, err = _run(capsys, *argv)
    assert status == 1
    assert _error_lines(err) == ["drizrun: error: stage 'sep' failed: OSError: simulated failure"]
    assert "Traceback" not in err
    status, _, err = _run(capsys, "-v", *argv)
    assert status == 1 and "Traceback" in err


def test_plugin_can_add_a_command_line_option(capsys, inputs, tmp_path):
    status, out, err = _run(
        capsys,
        "-p",
        "fake_plugins.chain",
        "-p",
        "fake_plugins.option",
        "--option-greeting",
        "hello",
        "--stages",
        "sep",
        "--output",
        str(tmp_path / "v"),
        *inputs,
    )
    assert status == 0, err
    from fake_plugins import option

    assert option.SEEN == ["hello"]


def test_blocking_a_builtin_from_the_command_line(capsys):
    status, out, _ = _run(capsys, "-p", "no:kernels", "--list-plugins")
    assert status == 0
    assert "kernels" not in [line.split()[0] for line in out.splitlines()[2:]]


def test_quiet_run_prints_nothing_on_stdout(capsys, inputs, tmp_path):
    status, out, err = _run(
        capsys, "-q", "-p", "fake_plugins.chain", "--stages", "sep", "--output", str(tmp_path / "v"), *inputs
    )
    assert status == 0 and out == "" and "INFO" not in err


def test_installed_console_script_runs():
    script = shutil.which("drizrun", path=os.path.dirname(sys.executable)) or shutil.which("drizrun")
    if script is None:
        pytest.skip("the drizrun console script is not on PATH")
    done = subprocess.run([script, "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.startswith("drizrun ")
    done = subprocess.run([script, "--stages", "sep"], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1].startswith("drizrun: error:")
