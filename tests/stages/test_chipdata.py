"""The per-chip arrays the drizzle stages build from an exposure's data."""

from __future__ import annotations

import numpy as np
import pytest

from drizrun.plugins.stages.chipdata import good_pixels, rate_image


@pytest.mark.parametrize("dtype", [">f4", "<f4", ">i2", "<f8"])
def test_rate_image_is_the_float32_formula_and_leaves_the_data_alone(dtype):
    rng = np.random.default_rng(3)
    sci = (rng.normal(200.0, 50.0, (40, 30))).astype(dtype)
    before = sci.copy()
    rate = rate_image(sci, 12.5, 0.37)
    expected = (np.asarray(sci, dtype=np.float32) - np.float32(12.5)) * np.float32(0.37)
    assert rate.dtype == np.float32 and rate.dtype.isnative and rate.flags.c_contiguous
    np.testing.assert_array_equal(rate, expected)
    np.testing.assert_array_equal(sci, before)
    assert not np.shares_memory(rate, sci)


def test_rate_image_of_native_float32_data_is_a_new_array():
    sci = np.arange(12, dtype=np.float32).reshape(3, 4)
    rate = rate_image(sci, 1.0, 2.0)
    np.testing.assert_array_equal(rate, (sci - 1) * 2)
    np.testing.assert_array_equal(sci, np.arange(12, dtype=np.float32).reshape(3, 4))


def test_non_finite_data_stays_non_finite_and_is_not_good():
    sci = np.array([[1.0, np.nan], [np.inf, 4.0]], dtype=">f4")
    rate = rate_image(sci, 0.5, 2.0)
    assert np.isnan(rate[0, 1]) and np.isinf(rate[1, 0]) and rate[0, 0] == 1.0 and rate[1, 1] == 7.0
    good = good_pixels(sci, np.zeros((2, 2), dtype=">i2"), 0)
    np.testing.assert_array_equal(good, [[True, False], [False, True]])


def test_rate_image_into_a_given_array():
    sci = np.arange(20, dtype=">f4").reshape(4, 5)
    out = np.full((4, 5), -1.0, dtype=np.float32)
    assert rate_image(sci, 2.0, 0.5, out=out) is out
    np.testing.assert_array_equal(out, (np.arange(20, dtype=np.float32).reshape(4, 5) - 2) * np.float32(0.5))
    with pytest.raises(ValueError, match="native float32 of shape"):
        rate_image(sci, 2.0, 0.5, out=np.zeros((5, 4), dtype=np.float32))
