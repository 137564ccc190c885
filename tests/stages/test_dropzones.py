"""Drop zones: the output pixels a chip can touch, and chips drizzled side by side."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from astropy.io import fits

import drizrun
from drizrun import kernels
from drizrun.core.simulate import simulate
from drizrun.plugins.kernels import DROP_HALFWIDTHS
from drizrun.plugins.stages.dropzones import (
    BLOCK,
    DropZone,
    disjoint_waves,
    drop_zone,
    output_step,
    sample_grid,
)

FRAME = (150, 170)


def distorted_pixmap(shape, *, scale, angle_deg, shift, wobble=0.03, grid=(0.0, 0.0, 1.0, 1.0), full=None):
    """A rotated, scaled, shifted grid with a smooth quadratic distortion.

    `grid` samples the map of a frame of shape `full` (default `shape`) as
    :func:`sample_grid` describes.
    """
    ny, nx = full or shape
    y, x = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    x, y = grid[0] + x * grid[2], grid[1] + y * grid[3]
    u, v = x - nx / 2, y - ny / 2
    u, v = u + wobble * u * v / nx, v + wobble * u * u / ny
    a = np.deg2rad(angle_deg)
    ox = scale * (np.cos(a) * u - np.sin(a) * v) + shift[0]
    oy = scale * (np.sin(a) * u + np.cos(a) * v) + shift[1]
    return np.dstack([ox, oy])


def zone_pixels(zone: DropZone, shape) -> np.ndarray:
    """The zone as a pixel mask of the frame."""
    full = np.repeat(np.repeat(zone.blocks, BLOCK, axis=0), BLOCK, axis=1)
    return full[: shape[0], : shape[1]]


@pytest.mark.parametrize("spacing", [1, 4, 7, 12])
@pytest.mark.parametrize("kernel", sorted(DROP_HALFWIDTHS))
@pytest.mark.parametrize("pixfrac", [1.0, 0.5])
@pytest.mark.parametrize(("scale", "angle", "shift"), [
    (1.0, 0.0, (80.0, 70.0)),     # aligned, inside
    (1.3, 33.0, (60.0, 75.0)),    # output pixels smaller than input ones, rotated
    (0.6, -75.0, (150.0, 10.0)),  # larger output pixels, hanging off two edges
])
def test_zone_holds_every_pixel_the_kernel_touches(kernel, pixfrac, scale, angle, shift, spacing):
    rng = np.random.default_rng(3)
    shape = (60, 90)
    pixmap = distorted_pixmap(shape, scale=scale, angle_deg=angle, shift=shift)
    pixmap[rng.random(shape) < 0.02] = np.nan  # unmapped pixels are skipped
    data = rng.random(shape).astype(np.float32) + 1.0
    img = np.zeros(FRAME, np.float32)
    wht = np.zeros(FRAME, np.float32)
    ratio = 1.0 / scale
    kernels.drizzle(data, pixmap, img, wht, kernel=kernel, pixfrac=pixfrac, pixel_scale_ratio=ratio)
    touched = wht > 0
    assert touched.any()
    if spacing == 1:
        zone = drop_zone(pixmap, FRAME, drop_halfwidth=DROP_HALFWIDTHS[kernel], pixfrac=pixfrac,
                         pixel_scale_ratio=ratio)
    else:  # from a sparse sample of the same map, as the final stage plans it
        sample_shape, grid = sample_grid(shape, spacing)
        samples = distorted_pixmap(sample_shape, scale=scale, angle_deg=angle, shift=shift, grid=grid, full=shape)
        zone = drop_zone(samples, FRAME, drop_halfwidth=DROP_HALFWIDTHS[kernel], pixfrac=pixfrac,
                         pixel_scale_ratio=ratio, spacing=(grid[2], grid[3]))
    inside = zone_pixels(zone, FRAME)
    assert not (touched & ~inside).any(), "a touched pixel lies outside the zone"
    # and the bound is not the whole frame: it stays within a few blocks of the touched pixels
    rows, cols = np.nonzero(touched)
    margin = (2 if spacing == 1 else 2 + int(np.ceil(0.75 * spacing * max(scale, 1.0) / BLOCK))) * BLOCK
    near = np.zeros(FRAME, bool)
    near[max(rows.min() - margin, 0):rows.max() + margin + 1,
         max(cols.min() - margin, 0):cols.max() + margin + 1] = True
    assert not (inside & ~near).any()


def test_chips_on_either_side_of_a_gap_do_not_meet_and_overlapping_ones_do():
    shape = (40, 80)
    left = distorted_pixmap(shape, scale=1.0, angle_deg=10.0, shift=(60.0, 40.0))
    right = left.copy()
    right[..., 1] += 40 + 20  # the next chip, 20 pixels of gap between the two
    overlapping = left.copy()
    overlapping[..., 0] += 30.0
    zones = [drop_zone(p, FRAME, drop_halfwidth=0.5, pixfrac=1.0, pixel_scale_ratio=1.0)
             for p in (left, right, overlapping)]
    assert not zones[0].meets(zones[1])
    assert zones[0].meets(zones[2]) and zones[2].meets(zones[0])


def test_sample_grid_spans_the_frame_with_the_edge_pixels():
    (ny, nx), (x0, y0, sx, sy) = sample_grid((2048, 4096), 4)
    assert (x0, y0) == (0.0, 0.0)
    assert x0 + (nx - 1) * sx == 4095 and y0 + (ny - 1) * sy == 2047
    assert sx <= 4 and sy <= 4 and nx == 1025 and ny == 513
    assert sample_grid((1, 5), 4) == ((1, 2), (0.0, 0.0, 4.0, 1.0))
    assert sample_grid((3, 3), 4) == ((2, 2), (0.0, 0.0, 2.0, 2.0))
    with pytest.raises(ValueError, match="at least 1"):
        sample_grid((10, 10), 0)


def test_a_sparse_map_with_an_unmapped_point_gives_no_zone():
    samples = distorted_pixmap((5, 5), scale=1.0, angle_deg=0.0, shift=(50.0, 50.0))
    samples[2, 3] = np.nan
    assert drop_zone(samples, FRAME, drop_halfwidth=0.5, pixfrac=1.0, pixel_scale_ratio=1.0,
                     spacing=(4.0, 4.0)) is None


def test_output_step_is_the_largest_neighbour_distance():
    pixmap = distorted_pixmap((30, 50), scale=1.7, angle_deg=20.0, shift=(0.0, 0.0), wobble=0.0)
    assert output_step(pixmap) == pytest.approx(1.7)
    assert np.isnan(output_step(np.full((4, 4, 2), np.nan)))


def test_waves_are_runs_of_consecutive_chips_with_disjoint_zones():
    def zone(cells):
        blocks = np.zeros((4, 4), bool)
        for cell in cells:
            blocks[cell] = True
        return DropZone(blocks)

    a, b, c, d, e = zone([(0, 0)]), zone([(3, 3)]), zone([(3, 3), (2, 2)]), zone([(1, 1)]), zone([(0, 3)])
    items = [("a", a), ("b", b), ("c", c), ("n", None), ("d", d), ("e", e), ("f", a)]
    waves = list(disjoint_waves(items, zone=lambda item: item[1], size=2))
    assert [[name for name, _ in w] for w in waves] == [["a", "b"], ["c"], ["n"], ["d", "e"], ["f"]]
    wide = list(disjoint_waves(items, zone=lambda item: item[1], size=3))
    assert [[name for name, _ in w] for w in wide] == [["a", "b"], ["c"], ["n"], ["d", "e", "f"]]
    one = list(disjoint_waves(items, zone=lambda item: item[1], size=1))
    assert [len(w) for w in one] == [1] * len(items)


def test_final_adds_the_chips_of_an_exposure_side_by_side_with_the_same_result(tmp_path, caplog):
    visit = simulate("ACS/WFC", 2, tmp_path / "v", seed=5, chip_shape=(64, 128))
    products = {}
    for cores in (1, 2):
        with caplog.at_level(logging.INFO, logger="drizrun"):
            caplog.clear()
            drizrun.run([visit.association], output=tmp_path / f"c{cores}" / "x", num_cores=cores,
                        stages=["final"])
        with fits.open(tmp_path / f"c{cores}" / "x_drz.fits") as hdul:
            products[cores] = [np.array(hdul[name].data) for name in ("SCI", "WHT", "CTX", "ERR")]
        if cores == 2:
            assert "4 chip(s) drizzled in 2 round(s)" in caplog.text
    for one, two in zip(products[1], products[2], strict=True):
        np.testing.assert_array_equal(one, two)
