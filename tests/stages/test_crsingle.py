"""The single-image cosmic-ray test on simulated chips with known stars and cosmic rays."""

from __future__ import annotations

import numpy as np
import pytest

from drizrun.plugins.stages.crsingle import sharpness, single_image_mask, single_image_mask_where

SKY, READ_NOISE = 60.0, 4.0
SIGMA = float(np.sqrt(SKY + READ_NOISE**2))


def _pixel_gaussian(shape, y0, x0, flux, fwhm):
    """A star integrated over pixels (undersampled like HST's CCDs for fwhm ~ 2)."""
    from scipy.special import erf

    s = fwhm / 2.3548 * np.sqrt(2.0)
    y = np.arange(shape[0])
    x = np.arange(shape[1])
    fy = 0.5 * (erf((y + 0.5 - y0) / s) - erf((y - 0.5 - y0) / s))
    fx = 0.5 * (erf((x + 0.5 - x0) / s) - erf((x - 0.5 - x0) / s))
    return flux * np.outer(fy, fx)


def _scene(seed, shape=(200, 220), n_stars=40, n_rays=60, fwhm=1.9):
    """Sky, stars (1e3-3e5 e-) and cosmic rays (spots and short tracks, shared charge to edge neighbours)."""
    rng = np.random.default_rng(seed)
    truth = np.full(shape, SKY)
    stars = []
    for _ in range(n_stars):
        y0, x0 = rng.uniform(5, shape[0] - 5), rng.uniform(5, shape[1] - 5)
        truth += _pixel_gaussian(shape, y0, x0, 10 ** rng.uniform(3, 5.5), fwhm)
        stars.append((y0, x0))
    charge = np.zeros(shape)
    for _ in range(n_rays):
        y, x = int(rng.integers(3, shape[0] - 3)), int(rng.integers(3, shape[1] - 3))
        length = int(rng.integers(1, 6))
        dy, dx = (0, 1) if rng.uniform() < 0.5 else (1, 0)
        for k in range(length):
            value = 900.0 * np.exp(rng.normal(0.0, 0.5))
            yy, xx = min(y + k * dy, shape[0] - 1), min(x + k * dx, shape[1] - 1)
            charge[yy, xx] += 0.92 * value
            for ny, nx in ((yy + 1, xx), (yy - 1, xx), (yy, xx + 1), (yy, xx - 1)):
                if 0 <= ny < shape[0] and 0 <= nx < shape[1]:
                    charge[ny, nx] += 0.02 * value
    data = rng.poisson(truth).astype(np.float64) + rng.normal(0.0, READ_NOISE, shape) + charge
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    cores = np.zeros(shape, bool)
    near = np.zeros(shape, bool)
    for y0, x0 in stars:
        distance2 = (yy - y0) ** 2 + (xx - x0) ** 2
        cores |= distance2 <= 3.0**2
        near |= distance2 <= 6.0**2
    return data, charge, cores, near


def test_sharpness_of_a_lone_spike_is_its_amplitude():
    image = np.full((9, 9), 50.0)
    image[4, 4] += 300.0
    lap = sharpness(image)
    assert lap[4, 4] == pytest.approx(300.0)
    assert lap[0, 0] == 0.0 and lap[4, 3] == 0.0  # the neighbours of a spike are never sharp


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cosmic_rays_found_and_stars_left_alone(seed):
    data, charge, cores, near = _scene(seed)
    mask = single_image_mask(data, read_noise=READ_NOISE)
    detectable = charge > 5 * SIGMA
    assert detectable.sum() > 100
    assert (mask & detectable).sum() / detectable.sum() > 0.9
    # away from stars (on a star's wing a cosmic ray can be as blunt as the star)
    assert (mask & detectable & ~near).sum() / (detectable & ~near).sum() > 0.97
    false = mask & (charge <= 0)
    assert (false & cores).sum() <= 2  # star cores (within 3 px of a star) stay clean
    assert (false & ~cores).sum() <= 0.0005 * (~cores).sum()


def test_without_cosmic_rays_nothing_is_flagged():
    data, charge, _, _ = _scene(7, n_rays=0)
    assert charge.sum() == 0
    assert single_image_mask(data, read_noise=READ_NOISE).sum() <= 2


def test_ignored_pixels_are_never_flagged_and_dead_ones_do_not_make_neighbours_sharp():
    rng = np.random.default_rng(3)
    data = rng.normal(SKY, SIGMA, (60, 60))
    data[30, 30] += 3000.0  # hot pixel, flagged in DQ
    data[10:50, 12] = -400.0  # dead column, flagged in DQ
    ignore = np.zeros(data.shape, bool)
    ignore[30, 30] = True
    ignore[10:50, 12] = True
    mask = single_image_mask(data, read_noise=READ_NOISE, ignore=ignore)
    assert not mask.any()
    plain = single_image_mask(data, read_noise=READ_NOISE)
    assert plain[30, 30]  # the same hot pixel is found when not flagged


def test_input_is_not_modified_and_non_finite_pixels_are_skipped():
    data, _, _, _ = _scene(4, shape=(80, 90), n_stars=5, n_rays=10)
    data[40, 40] = np.nan
    before = data.copy()
    mask = single_image_mask(data, read_noise=READ_NOISE)
    np.testing.assert_array_equal(data, before)
    assert not mask[40, 40]


def test_tiles_give_the_same_flags_as_the_whole_image_inside_the_region():
    data, _, _, _ = _scene(5, shape=(300, 280))
    region = np.zeros(data.shape, bool)
    region[:, :40] = True  # a dither edge
    region[140:170, :] = True  # a chip gap
    whole = single_image_mask(data, read_noise=READ_NOISE)
    tiled = single_image_mask_where(data, region, read_noise=READ_NOISE, tile=64)
    np.testing.assert_array_equal(tiled, whole & region)
    assert tiled.any() and not tiled[~region].any()


def test_the_sharp_end_of_a_saturation_bleed_is_not_a_cosmic_ray():
    rng = np.random.default_rng(6)
    data = rng.normal(SKY, SIGMA, (80, 80)) + _pixel_gaussian((80, 80), 40.2, 40.1, 4e6, 1.9)
    full_well = 60000.0
    saturated = data >= full_well
    data[saturated] = full_well
    rows = np.flatnonzero(saturated[:, 40])
    data[rows.min() - 1, 40] = 0.7 * full_well  # charge bled past the saturated pixels
    data[rows.max() + 1, 40] = 0.6 * full_well
    data[10, 10] += 3000.0  # and a cosmic ray far from it
    mask = single_image_mask(data, read_noise=READ_NOISE, ignore=saturated)
    assert not mask[rows.min() - 1, 40] and not mask[rows.max() + 1, 40]
    assert mask[10, 10]
    assert not mask[25:56, 25:56].any()


def test_fine_structure_at_some_pixels_equals_filtering_the_whole_image():
    from scipy import ndimage

    from drizrun.plugins.stages.crsingle import fine_structure_at

    rng = np.random.default_rng(21)
    image = rng.normal(100.0, 10.0, (37, 45)).astype(np.float32)
    image[5, 7] += 500.0
    small = ndimage.median_filter(image, size=3, mode="nearest")
    expected = small - ndimage.median_filter(small, size=7, mode="nearest")
    ys, xs = np.nonzero(np.ones(image.shape, bool))  # borders and corners included
    np.testing.assert_array_equal(fine_structure_at(image, ys, xs), expected[ys, xs])
    assert fine_structure_at(image, np.array([], int), np.array([], int)).shape == (0,)
