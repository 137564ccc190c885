"""The checks of the drizzle-model astrometry, on a small visit drizzled by drizrun as the benchmark keeps it."""

from __future__ import annotations

import shutil
import sys

import pytest

import drizrun
from drizrun.core.simulate import simulate

from .conftest import BENCHMARKS


@pytest.fixture
def checks_module(load_benchmark):
    sys.path.insert(0, str(BENCHMARKS))  # the script reads kept visits with benchmarks/visit.py
    try:
        yield load_benchmark("astrometry_checks")
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_checks_see_left_out_pixels_and_a_moved_product(checks_module, tmp_path):
    root = tmp_path / "kept" / "wfc3_uvis"
    visit = simulate("WFC3/UVIS", 4, root / "visit", seed=21, chip_shape=(384, 768))
    work = root / "drizrun"
    work.mkdir()
    for path in (*visit.exposures, visit.association):
        shutil.copy(path, work / path.name)
    drizrun.run([work / visit.association.name], output=work / visit.product, num_cores=2)
    results = checks_module.check(tmp_path / "kept", "WFC3/UVIS", shift=0.03, astrometry_noise=0.02)
    assert set(results) == {"drizrun"}
    checks = results["drizrun"]
    assert checks.recorded.n_stars >= 3
    assert checks.recorded.median_offset < 0.02
    # stars where drizrun left pixels out are refused when those pixels are not known
    assert checks.all_used.n_stars < checks.recorded.n_stars
    assert checks.moved.median_dx == pytest.approx(checks.recorded.median_dx - 0.03, abs=0.006)
    text = checks_module.report("WFC3/UVIS", results, 0.03)
    assert "every pixel counted as used" in text and "expected dx -0.0300" in text
