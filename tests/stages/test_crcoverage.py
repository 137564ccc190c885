"""Coverage of chip pixels by the other exposures' single drizzles."""

from __future__ import annotations

import numpy as np
import pytest

from drizrun.plugins.stages.combine import weight_thresholds
from drizrun.plugins.stages.crcoverage import FrameCoverage, PackedMask, other_coverage, usable_weight


def _pixmap(shape, dx=0.0, dy=0.0):
    yy, xx = np.mgrid[: shape[0], : shape[1]].astype(float)
    return np.dstack([xx + dx, yy + dy])


def test_usable_weight_follows_the_median_stage_threshold():
    weight = np.zeros((10, 10))
    weight[:, :5] = 100.0
    weight[:, 5] = 20.0  # below 0.3 x mean(100...) of the pixels with weight
    weight[:, 6] = 40.0
    usable = usable_weight(weight, 0.3)
    assert usable[:, :5].all() and not usable[:, 5].any() and usable[:, 6].all() and not usable[:, 7:].any()
    assert not usable_weight(np.zeros((4, 4)), 0.3).any()
    threshold = weight_thresholds([weight], 0.3)[0]
    np.testing.assert_array_equal(usable_weight(weight, 0.3, threshold=threshold), usable)
    assert usable_weight(weight, 0.3, threshold=50.0)[:, 6].sum() == 0  # a given threshold is used as is


def test_other_exposures_are_counted_own_exposure_is_not():
    frame = (20, 30)
    a = np.ones(frame, bool)
    b = np.zeros(frame, bool)
    b[:, 10:] = True
    c = np.zeros(frame, bool)
    c[:, 20:] = True
    own = np.ones(frame, bool)
    own[0, 0] = False  # the own exposure's gaps are not subtracted twice
    counts = FrameCoverage.from_usable(iter([own, a, b, c]))
    assert counts.counts.dtype == np.uint16 and counts.counts.max() == 4
    chip = _pixmap((10, 25), dx=2.0, dy=3.0)  # chip pixel (y, x) lands on frame (y + 3, x + 2)
    cov = other_coverage(chip, counts, PackedMask.pack(own))
    assert cov.dtype == np.int16
    assert (cov[:, :8] == 1).all()  # frame columns 2..9: only a
    assert (cov[:, 8:18] == 2).all()  # frame columns 10..19: a and b
    assert (cov[:, 18:] == 3).all()


def test_pixels_off_the_frame_or_without_position_have_no_coverage():
    own = np.ones((10, 10), bool)
    counts = FrameCoverage.from_usable([own, np.ones((10, 10), bool)])
    pix = _pixmap((6, 6), dx=7.0)  # columns 3.. of the chip fall off the 10-column frame
    pix[0, 0] = np.nan
    cov = other_coverage(pix, counts, PackedMask.pack(own))
    assert (cov[1:, :3] == 1).all() and (cov[:, 3:] == 0).all() and cov[0, 0] == 0
    # an exposure without a single drizzle of its own: every count is another exposure's
    assert (other_coverage(pix, counts, None)[1:, :3] == 2).all()


def test_counts_need_images_of_one_shape():
    with pytest.raises(ValueError, match="no usable"):
        FrameCoverage.from_usable([])
    with pytest.raises(ValueError, match="shapes"):
        FrameCoverage.from_usable([np.ones((3, 3), bool), np.ones((3, 4), bool)])


def test_packed_mask_gives_back_every_pixel():
    rng = np.random.default_rng(5)
    mask = rng.random((37, 53)) < 0.4  # 1961 pixels: not a whole number of bytes
    packed = PackedMask.pack(mask)
    assert packed.bits.nbytes == -(-mask.size // 8)
    np.testing.assert_array_equal(packed.take(np.arange(mask.size)).reshape(mask.shape), mask)
    flat = rng.integers(0, mask.size, size=(9, 11))
    np.testing.assert_array_equal(packed.take(flat), mask.ravel()[flat])


def test_own_exposure_is_taken_off_the_count_under_each_pixel():
    rng = np.random.default_rng(6)
    own = rng.random((40, 50)) < 0.7
    counts = FrameCoverage.from_usable([own, rng.random((40, 50)) < 0.5, np.ones((40, 50), bool)])
    pix = _pixmap((30, 40), dx=4.3, dy=6.6)
    pix[2, 3] = np.nan
    cov = other_coverage(pix, counts, PackedMask.pack(own))
    # the frame pixel under each chip pixel's centre, found directly
    ix, iy = np.floor(pix[..., 0] + 0.5), np.floor(pix[..., 1] + 0.5)
    for y, x in np.ndindex(cov.shape):
        if np.isfinite(ix[y, x]) and 0 <= ix[y, x] < 50 and 0 <= iy[y, x] < 40:
            fx, fy = int(ix[y, x]), int(iy[y, x])
            assert cov[y, x] == int(counts.counts[fy, fx]) - int(own[fy, fx])
        else:
            assert cov[y, x] == 0
    assert cov[2, 3] == 0 and (cov == 1).any() and (cov == 2).any()


def test_own_exposure_must_be_on_the_frame_of_the_counts():
    counts = FrameCoverage.from_usable([np.ones((10, 10), bool)])
    with pytest.raises(ValueError, match="shape"):
        other_coverage(_pixmap((3, 3)), counts, PackedMask.pack(np.ones((10, 11), bool)))
