"""Median combination: every method against a brute-force oracle, sectioning, minmed on known cosmic rays."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from drizrun.plugins.stages.combine import combine_images


def _oracle(stack, masked, method, nlow, nhigh):
    """Per-pixel reference with plain Python lists."""
    n, ny, nx = stack.shape
    out = np.full((ny, nx), np.nan)
    for y, x in itertools.product(range(ny), range(nx)):
        values = sorted(float(stack[i, y, x]) for i in range(n) if not masked[i, y, x])
        if len(values) > nlow + nhigh:
            values = values[nlow : len(values) - nhigh]
        if not values:
            if method.startswith("i"):
                out[y, x] = stack[-1, y, x]
            continue
        if method.endswith("median"):
            out[y, x] = float(np.median(values))
        elif method == "mean":
            out[y, x] = sum(values) / len(values)
        else:
            out[y, x] = sum(values)
    return out


@pytest.mark.parametrize("method", ["median", "imedian", "mean", "sum"])
@pytest.mark.parametrize(("nlow", "nhigh"), [(0, 0), (0, 1), (1, 1), (2, 0)])
def test_methods_match_the_oracle_with_masks_and_rejection(method, nlow, nhigh):
    rng = np.random.default_rng(nlow * 10 + nhigh)
    n, shape = 5, (9, 7)
    stack = rng.normal(10, 3, (n, *shape)).astype(np.float32)
    weights = np.full((n, *shape), 100.0, np.float32)
    weights[rng.random((n, *shape)) < 0.3] = 0.0  # masked by maskpt
    weights[:, 0, 0] = 0.0  # everything masked here
    stack[1, 4, 4] = np.nan
    masked = (weights < 30.0) | ~np.isfinite(stack)
    result = combine_images(list(stack), list(weights), method=method, nlow=nlow, nhigh=nhigh, maskpt=0.3)
    expected = _oracle(stack, masked, method, nlow, nhigh)
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-5, equal_nan=True)
    if not method.startswith("i"):
        assert np.isnan(result[0, 0])


def test_thresholds_mask_values():
    stack = np.array([[[1.0]], [[5.0]], [[100.0]]], np.float32)
    weights = np.ones_like(stack)
    assert combine_images(list(stack), list(weights), method="mean", hthresh=50.0)[0, 0] == 3.0
    assert combine_images(list(stack), list(weights), method="mean", lthresh=2.0)[0, 0] == 52.5


@pytest.mark.parametrize("method", ["median", "minmed", "iminmed", "mean"])
def test_result_does_not_depend_on_the_section_size(method):
    rng = np.random.default_rng(7)
    n, shape = 4, (301, 64)
    stack = rng.normal(100, 10, (n, *shape)).astype(np.float32)
    stack[2, ::17, ::5] += 3000.0  # cosmic rays in one image
    weights = np.full((n, *shape), 500.0, np.float32)
    kwargs = dict(method=method, sky=[80.0] * n, exptime=[500.0] * n, read_noise=[4.0] * n, grow=2)
    whole = combine_images(list(stack), list(weights), buffer_mib=64, **kwargs)
    sectioned = combine_images(list(stack), list(weights), buffer_mib=0.001, **kwargs)  # one row at a time
    np.testing.assert_array_equal(whole, sectioned)


def _visit(nimages, seed, cr_image=0):
    """Sky-only single-drizzled images in e-/s with one cosmic ray block in one image."""
    rng = np.random.default_rng(seed)
    exptime, sky_rate, rn = 400.0, 0.2, 4.0
    truth = np.full((40, 40), sky_rate)
    truth[20:23, 20:23] += 5.0  # a faint source present in every image
    images = []
    for _ in range(nimages):
        electrons = rng.poisson(truth * exptime) + rng.normal(0, rn, truth.shape)
        images.append((electrons / exptime).astype(np.float32))
    images[cr_image][10, 10:13] += 50.0  # 20000 e-: a cosmic ray
    weights = [np.full(truth.shape, exptime, np.float32)] * nimages
    return (
        images,
        weights,
        truth,
        dict(sky=[sky_rate * exptime] * nimages, exptime=[exptime] * nimages, read_noise=[rn] * nimages),
    )


def test_minmed_removes_a_cosmic_ray_that_the_mean_of_two_keeps():
    images, weights, truth, noise = _visit(2, seed=11)
    mean = combine_images(images, weights, method="mean")
    minmed = combine_images(images, weights, method="minmed", **noise)
    assert mean[10, 11] > 20  # half the cosmic ray survives a mean of two
    assert abs(minmed[10, 11] - truth[10, 11]) < 0.1
    assert np.allclose(minmed[20:23, 20:23], truth[20:23, 20:23], atol=0.5)  # the source is kept
    assert np.abs(minmed - truth)[30:, 30:].max() < 0.2  # sky untouched by the minimum far away


def test_minmed_with_three_images_rejects_the_highest():
    images, weights, truth, noise = _visit(3, seed=12, cr_image=1)
    minmed = combine_images(images, weights, method="minmed", **noise)
    assert abs(minmed[10, 11] - truth[10, 11]) < 0.1


def test_i_variants_keep_the_last_value_where_everything_is_masked():
    images = [np.full((3, 3), v, np.float32) for v in (1.0, 2.0, 3.0)]
    weights = [np.ones((3, 3), np.float32) for _ in images]
    for w in weights:
        w[1, 1] = 0.0
    assert np.isnan(combine_images(images, weights, method="median")[1, 1])
    assert combine_images(images, weights, method="imedian")[1, 1] == 3.0
    assert combine_images(images, weights, method="iminmed")[1, 1] == 3.0
    assert combine_images(images, weights, method="imedian")[0, 0] == 2.0


def test_bad_arguments_are_value_errors():
    image = np.zeros((2, 2), np.float32)
    with pytest.raises(ValueError, match="unknown combine type 'mode'"):
        combine_images([image], [image], method="mode")
    with pytest.raises(ValueError, match="same|shape"):
        combine_images([image, np.zeros((3, 2))], [image, image])
    with pytest.raises(ValueError, match="as many weight images"):
        combine_images([image, image], [image])
