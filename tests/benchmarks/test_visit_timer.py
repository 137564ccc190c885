"""The visit benchmark's reading of GNU time's figures (peak memory, CPU time)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def visit():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location("visit_benchmark", BENCHMARKS / "visit.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_peak_and_cpu_times(visit, tmp_path):
    path = tmp_path / "timer.txt"
    path.write_text("Command exited with non-zero status 1\n1048576 12.50 3.25\n")
    assert visit.timer_figures(path) == {"peak_mb": 1024.0, "user_s": 12.5, "system_s": 3.25}


def test_files_of_earlier_runs_hold_only_the_peak(visit, tmp_path):
    path = tmp_path / "timer.txt"
    path.write_text("2048\n")
    assert visit.timer_figures(path) == {"peak_mb": 2.0}


@pytest.mark.parametrize("text", [None, "", "not a number\n"])
def test_missing_or_unreadable_file_gives_nothing(visit, tmp_path, text):
    path = tmp_path / "timer.txt"
    if text is not None:
        path.write_text(text)
    assert visit.timer_figures(path) == {}
