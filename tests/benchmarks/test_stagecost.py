"""The per-stage cost report of benchmarks/stagecost.py."""

from __future__ import annotations

import pytest

from drizrun.core.simulate import simulate


@pytest.fixture
def stagecost(load_benchmark):
    return load_benchmark("stagecost")


def test_vmstat_counters_add_up_the_page_zones(stagecost):
    text = "nr_free_pages 5\npgalloc_dma 1\npgalloc_dma32 10\npgalloc_normal 100\nthp_fault_alloc 7\n"
    assert stagecost.vm_counters(text) == (111, 7)
    assert stagecost.vm_counters("") == (0, 0)


def test_every_stage_run_gets_a_row(stagecost, tmp_path, capsys):
    visit = simulate("WFC3/UVIS", 2, tmp_path / "in", seed=3, chip_shape=(64, 128))
    status = stagecost.main([str(visit.association), "--output", str(tmp_path / "out" / "v"), "-q",
                             "--stages", "static,sep", "--set", "sep.kernel=turbo"])
    assert status == 0
    assert [row[0] for row in stagecost.ROWS] == ["static", "sep"]
    for _, wall, user, system, mib, huge, peak in stagecost.ROWS:
        assert wall > 0 and user >= 0 and system >= 0 and mib >= 0 and huge >= 0 and peak > 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-3].split()[:3] == ["stage", "wall", "s"]
    assert lines[-1].split()[0] == "sep"
