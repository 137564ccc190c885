"""The call timer of benchmarks/calltimes.py."""

from __future__ import annotations

import pytest


@pytest.fixture
def calltimes(load_benchmark):
    return load_benchmark("calltimes")


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
