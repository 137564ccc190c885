"""The call timer of benchmarks/calltimes.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def calltimes():
    spec = importlib.util.spec_from_file_location("calltimes", BENCHMARKS / "calltimes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_calls_are_counted_and_their_results_and_errors_pass_through(calltimes):
    def work(n):
        if n < 0:
            raise ValueError("negative")
        return sum(range(n))

    timed = calltimes.timed("work", work)
    assert timed(1000) == sum(range(1000))
    with pytest.raises(ValueError, match="negative"):
        timed(-1)
    calls, wall, user, system, faults = calltimes.TOTALS["work"]
    assert calls == 2 and wall >= 0 and user >= 0 and system >= 0 and faults >= 0
    lines = calltimes.report().splitlines()
    assert lines[0].split()[:2] == ["call", "n"]
    assert lines[-1].split()[:2] == ["work", "2"]
