"""Clipped statistics and the static mask, against known truth."""

from __future__ import annotations

import numpy as np
import pytest

from drizrun.plugins.stages.imstats import clipped_stats
from drizrun.plugins.stages.staticmask import chip_static_mask


def test_clipping_recovers_a_gaussian_under_outliers():
    rng = np.random.default_rng(1)
    values = rng.normal(80.0, 6.0, 200_000)
    values[:2000] = rng.uniform(500, 5000, 2000)  # 1 % cosmic rays / stars
    values[2000:2100] = np.nan
    stats = clipped_stats(values, nclip=5, lsigma=4, usigma=4)
    assert stats.mean == pytest.approx(80.0, abs=0.1)
    assert stats.median == pytest.approx(80.0, abs=0.1)
    assert stats.mode == pytest.approx(80.0, abs=0.5)
    assert stats.stddev == pytest.approx(6.0, rel=0.03)
    assert stats.npix < 198_000


def test_mode_follows_the_peak_of_a_skewed_distribution():
    rng = np.random.default_rng(2)
    values = np.concatenate([rng.normal(50.0, 2.0, 50_000), rng.exponential(40.0, 20_000) + 50.0])
    stats = clipped_stats(values, nclip=0)
    assert stats.mode == pytest.approx(50.0, abs=1.0)
    assert stats.mean > stats.median > stats.mode


def test_hard_limits_and_empty_input():
    stats = clipped_stats(np.arange(100.0), nclip=0, lower=10, upper=19)
    assert (stats.npix, stats.mean, stats.median) == (10, 14.5, 14.5)
    empty = clipped_stats(np.array([np.nan, np.inf]))
    assert empty.npix == 0 and np.isnan(empty.mean)
    assert clipped_stats(np.array([3.0])).mode == 3.0
    with pytest.raises(ValueError, match="unknown statistic"):
        empty.value("midpt")


def test_static_mask_flags_strongly_negative_pixels_only():
    rng = np.random.default_rng(3)
    sci = rng.normal(100.0, 5.0, (200, 300)).astype(">f4")
    bad = [(10, 10), (150, 7), (0, 299)]
    for y, x in bad:
        sci[y, x] = 20.0  # 16 sigma below the sky
    sci[50, 50] = 5000.0  # hot pixel or star: not a static-mask matter
    sci[60, 60] = np.nan
    good = chip_static_mask(sci, static_sig=4.0)
    flagged = {tuple(int(v) for v in p) for p in np.argwhere(~good)}
    assert set(bad) | {(60, 60)} <= flagged
    assert len(flagged) <= len(bad) + 1 + 5  # a 4-sigma cut flags ~2e-5 of pure noise
    assert good[50, 50]


def test_static_mask_of_a_flat_chip_flags_nothing_but_nans():
    sci = np.full((20, 20), 7.0, np.float32)
    sci[3, 3] = np.nan
    assert np.array_equal(chip_static_mask(sci, static_sig=4.0), np.isfinite(sci))
