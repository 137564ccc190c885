"""The cr stage on a simulated visit, scored against the injected cosmic rays."""

from __future__ import annotations

import pytest

import drizrun
from drizrun.core.simulate import simulate


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory):
    """Scores of the default cr stage and of the median test alone on one small visit."""
    from drizrun.core.simulate.truth import VisitTruth

    base = tmp_path_factory.mktemp("crvisit")
    visit = simulate("ACS/WFC", 4, base / "v", seed=5, chip_shape=(256, 512))
    truth = VisitTruth(visit)
    scores = {}
    for label, settings in (("default", []), ("median only", ["cr.single_coverage=0", "cr.neighbour_snr=None"])):
        out = base / label.replace(" ", "_")
        drizrun.run([visit.association], output=out / visit.product, stages=["static", "sky", "sep", "median",
                                                                             "blot", "cr"], settings=settings)
        scores[label] = truth.score(out, {})["cr"]
    return scores


def test_dither_edges_and_weak_hits_are_recovered(scored):
    default, median_only = scored["default"], scored["median only"]
    assert default.detectable > 3000
    # on small chips the dither edges, where the median cannot reject anything, hold several per cent
    assert median_only.completeness < 0.96
    assert default.completeness > 0.985
    assert default.recovered - median_only.recovered > 0.03 * default.detectable


def test_false_flags_do_not_grow(scored):
    default, median_only = scored["default"], scored["median only"]
    assert default.false_core <= median_only.false_core + 2
    assert default.false_elsewhere <= median_only.false_elsewhere * 1.02
    assert default.false_core_rate < 0.005 and default.false_elsewhere_rate < 0.005


def test_coverage_mapped_in_bands_gives_the_same_masks(tmp_path, monkeypatch):
    import numpy as np
    from astropy.io import fits

    from drizrun.plugins.stages import cr

    visit = simulate("ACS/WFC", 3, tmp_path / "v", seed=2, chip_shape=(96, 160))
    masks = {}
    for rows in (cr._COVERAGE_ROWS, 7):
        monkeypatch.setattr(cr, "_COVERAGE_ROWS", rows)
        out = tmp_path / f"rows{rows}"
        drizrun.run([visit.association], output=out / visit.product,
                    stages=["static", "sky", "sep", "median", "blot", "cr"])
        files = sorted(out.glob("*_crmask.fits"))
        assert len(files) == 6
        masks[rows] = [fits.getdata(f) for f in files]
    for whole, banded in zip(*masks.values(), strict=True):
        np.testing.assert_array_equal(whole, banded)
    assert sum(int((m == 0).sum()) for m in masks[7]) > 0
