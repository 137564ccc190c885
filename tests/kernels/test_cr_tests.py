"""Tests of :func:`drizrun.kernels.cr_tests` on both kernel backends.

The oracle is the same threshold arithmetic written with float32 NumPy arrays
(the formulation the kernel replaces in the ``cr`` stage), so the bits must be
equal, not just close.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import drizrun.kernels
from drizrun.kernels import CR_FIRST, CR_LOW, CR_SECOND, CR_SEED

THRESHOLDS = {"offset": 0.13, "snr": (3.5, 3.0), "scale": (1.2, 0.7), "seed": 3.0, "low": 2.0}


@pytest.fixture
def cr_tests(deriv_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., np.ndarray]]:
    """The public :func:`drizrun.kernels.cr_tests`, running on each backend."""
    monkeypatch.setitem(drizrun.kernels._MODULES, "_deriv", deriv_module)
    yield drizrun.kernels.cr_tests


def _oracle(data, model, deriv, noise, *, offset, snr, scale, seed, low) -> np.ndarray:
    d, b, g, s = (np.asarray(a, dtype=np.float32) for a in (data, model, deriv, noise))
    with np.errstate(invalid="ignore", over="ignore"):
        excess = d - (b + np.float32(offset) * s)
        size = np.abs(excess)
        usable = np.isfinite(size) & np.isfinite(g) & np.isfinite(s)
        bits = ((size > scale[0] * g + snr[0] * s) * CR_FIRST + (size > scale[1] * g + snr[1] * s) * CR_SECOND
                + (excess > seed * s) * CR_SEED + (excess > low * s) * CR_LOW)
    return np.where(usable, bits, 0).astype(np.uint8)


def _chip(shape: tuple[int, int], seed: int, *, spoil: bool) -> tuple[np.ndarray, ...]:
    """A chip, its median, derivative and noise, with cosmic rays, and non-finite pixels if `spoil`."""
    rng = np.random.default_rng(seed)
    model = rng.uniform(50, 500, shape).astype(np.float32)
    noise = np.sqrt(model + 25).astype(np.float32)
    data = (model + rng.standard_normal(shape) * noise).astype(np.float32)
    hits = rng.random(shape) < 0.05
    data[hits] += rng.uniform(0, 300, np.count_nonzero(hits)).astype(np.float32)
    deriv = np.abs(rng.standard_normal(shape) * 20).astype(np.float32)
    if spoil:
        for a in (data, model, deriv, noise):
            where = rng.integers(0, a.size, 12)
            a.flat[where[:4]] = np.nan
            a.flat[where[4:8]] = np.inf
            a.flat[where[8:]] = -np.inf
    return data, model, deriv, noise


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (64, 48), (200, 300)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("spoil", [False, True], ids=["finite", "nan-inf"])
def test_bits_equal_the_float32_numpy_tests(cr_tests, shape, spoil):
    images = _chip(shape, sum(shape), spoil=spoil)
    result = cr_tests(*images, **THRESHOLDS)
    assert result.dtype == np.uint8
    assert result.shape == shape
    assert_array_equal(result, _oracle(*images, **THRESHOLDS))


def test_every_combination_of_bits_occurs_and_is_consistent(cr_tests):
    images = _chip((200, 300), 7, spoil=False)
    result = cr_tests(*images, **THRESHOLDS)
    assert set(np.unique(result)) >= {0, CR_LOW, CR_LOW | CR_SEED, 15}
    first, second, seed, low = ((result & bit) != 0 for bit in (CR_FIRST, CR_SECOND, CR_SEED, CR_LOW))
    # the second threshold is the lower one here, and seed is above low
    assert np.any(second & ~first) and not np.any(first & ~second)
    assert np.any(low & ~seed) and not np.any(seed & ~low)


def test_non_finite_pixels_get_no_bits(cr_tests):
    data, model, deriv, noise = _chip((20, 20), 3, spoil=False)
    data[0, 0] = np.inf
    model[1, 1] = np.nan
    deriv[2, 2] = -np.inf
    noise[3, 3] = np.nan
    data[4, 4] = 1e9  # a huge but finite hit is flagged
    result = cr_tests(data, model, deriv, noise, **THRESHOLDS)
    assert result[0, 0] == result[1, 1] == result[2, 2] == result[3, 3] == 0
    assert result[4, 4] == 15


def test_infinite_growth_thresholds_never_set_the_growth_bits(cr_tests):
    images = _chip((50, 40), 5, spoil=False)
    result = cr_tests(*images, **{**THRESHOLDS, "seed": np.inf, "low": np.inf})
    assert not np.any(result & (CR_SEED | CR_LOW))
    assert np.any(result & CR_FIRST)


def test_big_endian_and_strided_inputs_are_converted(cr_tests):
    data, model, deriv, noise = _chip((30, 40), 11, spoil=True)
    expected = _oracle(data, model, deriv, noise, **THRESHOLDS)
    wide = np.zeros((30, 80), dtype=np.float32)
    wide[:, ::2] = deriv
    result = cr_tests(data.astype(">f4"), model.astype(np.float64), wide[:, ::2], noise.astype(">f4"),
                      **THRESHOLDS)
    assert_array_equal(result, expected)


def test_mismatched_shapes_are_a_value_error():
    a = np.ones((4, 5), dtype=np.float32)
    with pytest.raises(ValueError, match="one shape"):
        drizrun.kernels.cr_tests(a, a, a, np.ones((5, 4), dtype=np.float32), **THRESHOLDS)


def test_complex_input_is_a_type_error():
    a = np.ones((4, 5), dtype=np.float32)
    with pytest.raises(TypeError, match="real numeric"):
        drizrun.kernels.cr_tests(a, a.astype(complex), a, a, **THRESHOLDS)
