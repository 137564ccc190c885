"""Drizzling an image band after band (``rows=``) gives the outputs of one call, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from drizrun.kernels import DRIZZLE_KERNELS, ROW_BAND_KERNELS, band_pixmap_rows

NY, NX = 37, 29
MY, MX = 48, 44


def _inputs(make_pixmap, seed=3):
    rng = np.random.default_rng(seed)
    data = rng.normal(10.0, 3.0, (NY, NX)).astype(np.float32)
    weights = rng.uniform(0.5, 2.0, (NY, NX)).astype(np.float32)
    weights[rng.random((NY, NX)) < 0.05] = 0.0
    var = rng.uniform(0.1, 1.0, (NY, NX)).astype(np.float32)
    dq = rng.integers(0, 4, (NY, NX)).astype(np.uint32)
    # rotated, scaled by 0.8 and distorted: drops straddle many output pixels
    pixmap = make_pixmap(NY, NX, seed=seed, shift=(8.0, 4.0), rotation=0.35, scale=0.8, distortion=4e-3)
    return data, weights, var, dq, pixmap


def _outputs():
    return dict(
        out_img=np.zeros((MY, MX), np.float32),
        out_wht=np.zeros((MY, MX), np.float32),
        out_ctx=np.zeros((1, MY, MX), np.int32),
        out_var=np.zeros((MY, MX), np.float32),
        out_dq=np.zeros((MY, MX), np.uint32),
    )


def _band_edges(sizes):
    edges, first = [], 0
    for size in sizes:
        edges.append((first, min(first + size, NY)))
        first = edges[-1][1]
        if first == NY:
            break
    assert first == NY
    return edges


@pytest.mark.parametrize("kernel", sorted(ROW_BAND_KERNELS))
@pytest.mark.parametrize("pixfrac", [1.0, 0.7])
@pytest.mark.parametrize("sizes", [[1] * NY, [5] * 8, [16, 1, 2, 18], [NY - 1, 1], [NY]])
def test_bands_with_their_own_map_rows_equal_one_call(make_pixmap, kernels_on, kernel, pixfrac, sizes):
    data, weights, var, dq, pixmap = _inputs(make_pixmap)
    common = dict(weights=weights, var=var, dq=dq, kernel=kernel, pixfrac=pixfrac, context_id=3,
                  pixel_scale_ratio=1.25, iscale=1.5625)
    whole = _outputs()
    missed_whole = kernels_on.drizzle(data, pixmap, **whole, **common)

    banded = _outputs()
    missed = 0
    for rows in _band_edges(sizes):
        m0, m1 = band_pixmap_rows(rows, NY)
        band_map = pixmap[m0:m1].copy()  # only the band's map exists
        missed += kernels_on.drizzle(data, band_map, **banded, **common, rows=rows)
    assert missed == missed_whole
    for name in whole:
        np.testing.assert_array_equal(banded[name], whole[name], err_msg=name)
    assert whole["out_wht"].sum() > 0.5 * weights.sum()


@pytest.mark.parametrize("kernel", sorted(ROW_BAND_KERNELS))
def test_bands_with_the_whole_map_equal_one_call(make_pixmap, kernels_on, kernel):
    data, weights, _, _, pixmap = _inputs(make_pixmap, seed=5)
    whole = _outputs()
    kernels_on.drizzle(data, pixmap, whole["out_img"], whole["out_wht"], weights=weights, kernel=kernel)
    banded = _outputs()
    for rows in _band_edges([10, 10, 10, 10]):
        kernels_on.drizzle(data, pixmap, banded["out_img"], banded["out_wht"], weights=weights, kernel=kernel,
                           rows=rows)
    np.testing.assert_array_equal(banded["out_img"], whole["out_img"])
    np.testing.assert_array_equal(banded["out_wht"], whole["out_wht"])


@pytest.mark.parametrize("kernel", sorted(ROW_BAND_KERNELS))
def test_a_band_drizzles_only_its_rows(make_pixmap, kernels_on, kernel):
    data, weights, _, _, pixmap = _inputs(make_pixmap)
    out, wht = np.zeros((MY, MX), np.float32), np.zeros((MY, MX), np.float32)
    kernels_on.drizzle(data, pixmap[9:21], out, wht, weights=weights, kernel=kernel, rows=(10, 20))
    # the same as the whole image with every pixel outside the band weighted 0
    only = np.zeros_like(weights)
    only[10:20] = weights[10:20]
    ref, ref_wht = np.zeros((MY, MX), np.float32), np.zeros((MY, MX), np.float32)
    kernels_on.drizzle(data, pixmap, ref, ref_wht, weights=only, kernel=kernel)
    assert ref_wht.sum() > 0.9 * only.sum()
    np.testing.assert_array_equal(wht, ref_wht)
    np.testing.assert_array_equal(out, ref)


def test_band_pixmap_rows_adds_one_row_each_side_within_the_image():
    assert band_pixmap_rows((0, 10), 37) == (0, 11)
    assert band_pixmap_rows((10, 20), 37) == (9, 21)
    assert band_pixmap_rows((30, 37), 37) == (29, 37)
    assert band_pixmap_rows((0, 37), 37) == (0, 37)


def test_bad_rows_and_band_maps_are_refused_with_the_expected_shape(make_pixmap, kernels_on):
    data, _, _, _, pixmap = _inputs(make_pixmap)
    out, wht = np.zeros((MY, MX), np.float32), np.zeros((MY, MX), np.float32)
    with pytest.raises(ValueError, match=r"map rows 9 to 20, shape \(12, 29, 2\)"):
        kernels_on.drizzle(data, pixmap[10:20], out, wht, rows=(10, 20))
    for rows in [(5, 3), (-1, 4), (0, NY + 1), (1.5, 4), "ab"]:
        with pytest.raises(ValueError, match="rows must"):
            kernels_on.drizzle(data, pixmap, out, wht, rows=rows)
    assert not wht.any()


@pytest.mark.parametrize("kernel", sorted(set(DRIZZLE_KERNELS) - ROW_BAND_KERNELS))
def test_kernels_that_sum_per_call_refuse_rows(make_pixmap, kernels_on, kernel):
    data, _, _, _, pixmap = _inputs(make_pixmap)
    out, wht = np.zeros((MY, MX), np.float32), np.zeros((MY, MX), np.float32)
    with pytest.raises(ValueError, match="rows= is supported by"):
        kernels_on.drizzle(data, pixmap, out, wht, kernel=kernel, rows=(0, 5))


def test_an_empty_band_changes_nothing(make_pixmap, kernels_on):
    data, _, _, _, pixmap = _inputs(make_pixmap)
    out, wht = np.zeros((MY, MX), np.float32), np.zeros((MY, MX), np.float32)
    assert kernels_on.drizzle(data, pixmap, out, wht, rows=(7, 7)) == 0
    assert not wht.any()
