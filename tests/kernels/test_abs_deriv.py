"""Tests of :func:`drizrun.kernels.abs_deriv` on both kernel backends."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import timeit

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import drizrun.kernels
from drizrun.kernels import native_array

SHAPES = [(1, 1), (1, 2), (1, 9), (2, 1), (9, 1), (2, 2), (2, 3), (3, 2), (3, 3), (5, 7), (17, 31), (64, 48)]


def _random(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * 100).astype(np.float32)


# -- values ----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_oracle_on_random_data(abs_deriv, deriv_oracle, shape, seed):
    image = _random(shape, seed)
    result = abs_deriv(image)
    assert result.dtype == np.float32
    assert result.shape == shape
    assert_array_equal(result, deriv_oracle(image))


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_constant_image_gives_zero_everywhere_including_edges(abs_deriv, shape):
    # Comparing border pixels with zero padding would give 3.5 there.
    assert_array_equal(abs_deriv(np.full(shape, 3.5, np.float32)), np.zeros(shape, np.float32))


def test_single_pixel_image_gives_zero(abs_deriv):
    assert_array_equal(abs_deriv(np.array([[7.0]], np.float32)), [[0.0]])


def test_row_and_column_images(abs_deriv):
    row = np.array([[1.0, 4.0, 2.0, 2.0]], np.float32)
    expected = np.array([[3.0, 3.0, 2.0, 0.0]], np.float32)
    assert_array_equal(abs_deriv(row), expected)
    assert_array_equal(abs_deriv(row.T.copy()), expected.T)


@pytest.mark.parametrize("corner", [(0, 0), (0, -1), (-1, 0), (-1, -1)])
def test_bright_corner_pixel(abs_deriv, corner):
    image = np.full((4, 5), 1.0, np.float32)
    image[corner] = 11.0
    i, j = (c % n for c, n in zip(corner, image.shape))
    expected = np.zeros_like(image)
    expected[i, j] = 10.0  # its two neighbours, not padding (which would give 11)
    expected[i, 1 if j == 0 else j - 1] = 10.0
    expected[1 if i == 0 else i - 1, j] = 10.0
    assert_array_equal(abs_deriv(image), expected)


def test_interior_bright_pixel(abs_deriv):
    image = np.zeros((5, 5), np.float32)
    image[2, 2] = -4.0
    expected = np.zeros_like(image)
    expected[2, 2] = expected[1, 2] = expected[3, 2] = expected[2, 1] = expected[2, 3] = 4.0
    assert_array_equal(abs_deriv(image), expected)


def test_docstring_example(abs_deriv):
    result = abs_deriv(np.array([[0, 0, 0], [0, 4, 0], [0, 0, 1]]))
    assert_array_equal(result, [[0, 4, 0], [4, 4, 4], [0, 4, 1]])


# -- missing data -----------------------------------------------------------------------


def test_nan_pixel_gives_nan_and_is_skipped_by_its_neighbours(abs_deriv, deriv_oracle):
    image = np.array([[1.0, 2.0, 4.0], [0.0, np.nan, 9.0], [5.0, 5.0, 5.0]], np.float32)
    result = abs_deriv(image)
    expected = np.array([[1.0, 2.0, 5.0], [5.0, np.nan, 5.0], [5.0, 0.0, 4.0]], np.float32)
    assert_array_equal(result, expected)
    assert_array_equal(result, deriv_oracle(image))


def test_pixel_whose_neighbours_are_all_nan_gives_zero(abs_deriv):
    image = np.array([[np.nan, 3.0, np.nan], [np.nan, np.nan, np.nan]], np.float32)
    assert_array_equal(abs_deriv(image), [[np.nan, 0.0, np.nan], [np.nan, np.nan, np.nan]])


def test_random_data_with_nan_and_inf(abs_deriv, deriv_oracle):
    image = _random((23, 19), seed=3)
    rng = np.random.default_rng(4)
    flat = image.reshape(-1)
    flat[rng.choice(flat.size, 40, replace=False)] = np.nan
    flat[rng.choice(flat.size, 10, replace=False)] = np.inf
    flat[rng.choice(flat.size, 10, replace=False)] = -np.inf
    with np.errstate(invalid="ignore"):
        assert_array_equal(abs_deriv(image), deriv_oracle(image))


# -- input conversion -------------------------------------------------------------------


def _variants(image: np.ndarray) -> dict[str, np.ndarray]:
    big = image.astype(">f4")
    readonly = image.copy()
    readonly.flags.writeable = False
    return {
        "big-endian": big,
        "big-endian-fortran": np.asfortranarray(big),
        "fortran": np.asfortranarray(image),
        "float64": image.astype(np.float64),
        "big-endian-float64": image.astype(">f8"),
        "float16-exact": image.astype(np.float16),
        "readonly": readonly,
        "list": image.tolist(),
    }


@pytest.mark.parametrize(
    "variant",
    ["big-endian", "big-endian-fortran", "fortran", "float64", "big-endian-float64",
     "float16-exact", "readonly", "list"],
)
def test_layouts_and_dtypes_give_identical_results(abs_deriv, variant):
    # Integer values: exactly representable in every dtype used above.
    image = np.random.default_rng(5).integers(-1000, 1000, (13, 11)).astype(np.float32)
    expected = abs_deriv(image)
    assert_array_equal(abs_deriv(_variants(image)[variant]), expected)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", ">i2", "int32", ">i4", "int64", "uint32", "bool"])
def test_integer_inputs(abs_deriv, dtype):
    image = np.random.default_rng(6).integers(0, 2 if dtype == "bool" else 100, (6, 9)).astype(dtype)
    result = abs_deriv(image)
    assert result.dtype == np.float32
    assert_array_equal(result, abs_deriv(image.astype(np.float32)))


@pytest.mark.parametrize("step", [(1, 2), (2, 1), (3, 2), (-1, 1), (1, -1)])
def test_strided_views(abs_deriv, step):
    base = _random((30, 24), seed=7)
    for source in (base, base.astype(">f4")):
        view = source[:: step[0], :: step[1]]
        assert_array_equal(abs_deriv(view), abs_deriv(np.ascontiguousarray(view, np.float32)))


def test_transposed_view(abs_deriv, deriv_oracle):
    image = _random((8, 13), seed=8)
    assert_array_equal(abs_deriv(image.T), deriv_oracle(image.T))


def test_input_is_not_modified_and_output_is_new(abs_deriv):
    image = _random((6, 6), seed=9)
    before = image.copy()
    result = abs_deriv(image)
    assert_array_equal(image, before)
    assert not np.shares_memory(result, image)
    assert result.flags.c_contiguous and result.flags.writeable


# -- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [np.float32(1.0), np.zeros(5, np.float32), np.zeros((2, 3, 4), np.float32), np.zeros((1, 1, 1), np.float32)],
    ids=["0-D", "1-D", "3-D", "1x1x1"],
)
def test_wrong_dimensionality_raises(abs_deriv, bad):
    with pytest.raises(ValueError, match=r"2-D image of shape \(ny, nx\); got shape"):
        abs_deriv(bad)


@pytest.mark.parametrize("shape", [(0, 0), (0, 5), (5, 0)])
def test_empty_raises(abs_deriv, shape):
    with pytest.raises(ValueError, match=r"non-empty 2-D image of shape \(ny, nx\); got shape " + re.escape(str(shape))):
        abs_deriv(np.zeros(shape, np.float32))


@pytest.mark.parametrize("bad", [np.zeros((3, 3), complex), np.array([["a", "b"]]), np.empty((2, 2), object)])
def test_non_real_dtype_raises(abs_deriv, bad):
    with pytest.raises(TypeError, match="real numeric image"):
        abs_deriv(bad)


# -- the compiled module and the conversion helper ------------------------------------


def test_backends_are_bit_identical(load_kernel_module):
    compiled = load_kernel_module("_deriv", "pythran")
    source = load_kernel_module("_deriv", "python")
    image = _random((37, 41), seed=10)
    image[5, 5] = image[0, 3] = np.nan
    image[7, 0] = np.inf
    assert_array_equal(compiled.abs_deriv(image), source.abs_deriv(image))


@pytest.mark.parametrize("dtype", ["<f4", ">f4", "<f8", ">i2"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_native_normalises_dtype_byte_order_and_layout(dtype, order):
    image = np.asarray(np.arange(12).reshape(3, 4), dtype=dtype, order=order)
    out = native_array(image, np.float32)
    assert out.dtype == np.dtype(np.float32) and out.dtype.isnative
    assert out.flags.c_contiguous and out.flags.aligned
    assert type(out) is np.ndarray
    assert_array_equal(out, np.arange(12).reshape(3, 4))


def test_native_does_not_copy_what_is_already_native():
    image = np.zeros((4, 4), np.float32)
    assert native_array(image, np.float32) is image
    assert native_array(image, ">f4") is image  # the requested byte order is ignored


def test_native_handles_masked_arrays_and_subclasses():
    masked = np.ma.masked_array(np.ones((2, 2), ">f4"), mask=[[0, 1], [0, 0]])
    out = native_array(masked, np.float32)
    assert type(out) is np.ndarray and out.dtype.isnative


# -- backend reporting -----------------------------------------------------------------


def test_backend_reporting_is_consistent():
    backends = drizrun.kernels.available_backends()
    assert backends[-1] == "python"
    assert drizrun.kernels.BACKEND in backends
    assert drizrun.kernels.kernel_backend("_deriv") == drizrun.kernels.BACKEND
    with pytest.raises(KeyError, match="_deriv"):
        drizrun.kernels.kernel_backend("_nope")


def _backend_in_subprocess(tmp_path, value: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DRIZRUN_KERNELS": value}
    code = "import drizrun.kernels as k; print(k.BACKEND, k.kernel_backend('_deriv'))"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )


def test_environment_forces_python_sources(tmp_path):
    proc = _backend_in_subprocess(tmp_path, "python")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["python", "python"]


def test_environment_requires_compiled_kernels(tmp_path):
    proc = _backend_in_subprocess(tmp_path, "pythran")
    if "pythran" in drizrun.kernels.available_backends():
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == ["pythran", "pythran"]
    else:
        assert proc.returncode != 0
        assert "not compiled" in proc.stderr


def test_environment_rejects_unknown_value(tmp_path):
    proc = _backend_in_subprocess(tmp_path, "numba")
    assert proc.returncode != 0
    assert "DRIZRUN_KERNELS='numba'" in proc.stderr


# -- speed -----------------------------------------------------------------------------


def _numpy_abs_deriv(image: np.ndarray) -> np.ndarray:
    out = np.zeros_like(image)
    for axis in (0, 1):
        d = np.abs(np.diff(image, axis=axis))
        lo = (slice(None, -1), slice(None)) if axis == 0 else (slice(None), slice(None, -1))
        hi = (slice(1, None), slice(None)) if axis == 0 else (slice(None), slice(1, None))
        np.maximum(out[lo], d, out=out[lo])
        np.maximum(out[hi], d, out=out[hi])
    return out


@pytest.mark.slow
def test_compiled_kernel_is_much_faster_than_numpy(load_kernel_module):
    compiled = load_kernel_module("_deriv", "pythran")
    image = _random((2048, 2048), seed=11)
    assert_array_equal(compiled.abs_deriv(image), _numpy_abs_deriv(image))
    t_compiled = min(timeit.repeat(lambda: compiled.abs_deriv(image), number=1, repeat=7))
    t_numpy = min(timeit.repeat(lambda: _numpy_abs_deriv(image), number=1, repeat=7))
    assert t_numpy / t_compiled > 3, f"compiled {t_compiled * 1e3:.1f} ms, NumPy {t_numpy * 1e3:.1f} ms"
