"""Cosmic-ray detection on simulated chips with known cosmic rays."""

from __future__ import annotations

import numpy as np
import pytest

from drizrun.kernels import abs_deriv
from drizrun.plugins.stages.crdetect import cosmic_ray_mask, grow_mask, median_offset, poisson_noise


def _chip(seed=0, shape=(120, 100), sky=80.0, rn=4.0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    truth = np.full(shape, sky)
    for y0, x0, flux in [(30, 40, 2e5), (80, 20, 5e4), (60, 75, 1e6)]:  # stars, sigma 1.5 px
        truth += flux / (2 * np.pi * 1.5**2) * np.exp(-((yy - y0) ** 2 + (xx - x0) ** 2) / (2 * 1.5**2))
    data = rng.poisson(truth).astype(np.float64) + rng.normal(0, rn, shape)
    return truth, data, rng


def _inject(data, rng, count=40):
    """Cosmic rays of 1-3 pixels with amplitudes 200-5000 e-; returns the mask of hit pixels."""
    hit = np.zeros(data.shape, bool)
    for _ in range(count):
        y, x = rng.integers(2, data.shape[0] - 2), rng.integers(2, data.shape[1] - 2)
        length = rng.integers(1, 4)
        hit[y, x : x + length] = True
    data[hit] += rng.uniform(200, 5000, hit.sum())
    return hit


def _mask(data, truth, **kwargs):
    noise = poisson_noise(truth, gain=1.0, read_noise=4.0)
    return cosmic_ray_mask(data, truth, abs_deriv(truth), noise, **kwargs)


def test_every_injected_cosmic_ray_is_found_and_false_flags_are_rare():
    truth, data, rng = _chip(seed=3)
    hit = _inject(data, rng)
    mask = _mask(data, truth)
    assert mask[hit].all()
    false = mask & ~hit
    assert false.sum() <= 0.001 * mask.size


def test_no_false_flags_on_star_cores_without_cosmic_rays():
    truth, data, _ = _chip(seed=4)
    mask = _mask(data, truth)
    assert not mask[25:36, 35:46].any() and not mask[55:66, 70:81].any()


def test_cosmic_rays_on_the_chip_edge_are_found():
    truth, data, _ = _chip(seed=5)
    edges = [(0, 50), (119, 10), (70, 0), (40, 99), (0, 0)]
    for y, x in edges:
        data[y, x] += 3000.0
    mask = _mask(data, truth)
    assert all(mask[y, x] for y, x in edges)


def test_grow_box_and_cte_trail():
    truth = np.full((30, 30), 100.0)
    data = truth.copy()
    data[15, 15] += 5000.0
    plain = _mask(data, truth)
    assert plain.sum() == 1
    grown = _mask(data, truth, grow=3)
    assert grown.sum() == 9 and grown[14:17, 14:17].all()
    up = _mask(data, truth, ctegrow=4, cte_direction=+1)
    assert np.argwhere(up).tolist() == [[y, 15] for y in range(11, 16)]
    down = _mask(data, truth, ctegrow=4, cte_direction=-1)
    assert np.argwhere(down).tolist() == [[y, 15] for y in range(15, 20)]


def test_pixels_without_a_median_are_never_flagged():
    truth = np.full((10, 10), 100.0)
    truth[5, 5] = np.nan
    data = np.full((10, 10), 100.0)
    data[5, 5] = 1e6
    assert not _mask(data, truth).any()


def test_error_array_noise_model_scales_the_threshold():
    truth = np.full((20, 20), 100.0)
    data = truth.copy()
    data[10, 10] += 100.0
    deriv = abs_deriv(truth)
    assert cosmic_ray_mask(data, truth, deriv, np.full_like(truth, 10.0))[10, 10]  # 10 sigma
    assert not cosmic_ray_mask(data, truth, deriv, np.full_like(truth, 40.0))[10, 10]  # 2.5 sigma


def test_shape_mismatch_is_a_value_error():
    with pytest.raises(ValueError, match="one shape"):
        cosmic_ray_mask(np.zeros((3, 3)), np.zeros((3, 4)), np.zeros((3, 3)), np.zeros((3, 3)))


def test_flagged_pixels_without_support_do_not_confirm_their_neighbours():
    rng = np.random.default_rng(8)
    truth = np.full((40, 40), 100.0)
    data = truth + rng.normal(0.0, 1.0, truth.shape)
    data[20, 20] += 5000.0  # a hot pixel's excess
    around = [(19, 20), (21, 20), (20, 19), (20, 21)]
    for y, x in around:
        data[y, x] = 100.0 + 3.2 * np.sqrt(100.0 + 16.0)  # between the second and the first threshold
    support = np.ones(truth.shape, bool)
    assert all(_mask(data, truth)[y, x] for y, x in around)
    support[20, 20] = False
    mask = _mask(data, truth, support=support)
    assert mask[20, 20]  # still flagged itself
    assert not any(mask[y, x] for y, x in around)


def test_edge_neighbours_of_a_bright_hit_grow_with_the_lower_threshold():
    rng = np.random.default_rng(9)
    truth = np.full((60, 60), 100.0)
    sigma = np.sqrt(100.0 + 16.0)
    data = truth + rng.normal(0.0, 0.3 * sigma, truth.shape)
    data[30, 30] += 200.0 * sigma
    data[30, 31] = 100.0 + 2.8 * sigma  # shared charge below the second threshold (3 sigma)
    data[31, 31] = 100.0 + 2.8 * sigma  # diagonal: not an edge neighbour
    data[10, 10] = 100.0 + 10.0 * sigma  # a fainter hit: not bright enough to seed the growth
    data[10, 11] = 100.0 + 2.8 * sigma
    plain = _mask(data, truth)
    assert not plain[30, 31]
    grown = _mask(data, truth, neighbour_snr=(20.0, 2.5))
    assert grown[30, 31] and not grown[31, 31]
    assert grown[10, 10] and not grown[10, 11]
    assert (grown & ~plain).sum() == 1


def test_grow_mask_leaves_its_input_alone():
    mask = np.zeros((9, 9), bool)
    mask[4, 4] = True
    grown = grow_mask(mask, grow=3)
    assert grown.sum() == 9 and mask.sum() == 1


def test_median_offset_measures_a_biased_median_in_units_of_the_noise():
    rng = np.random.default_rng(10)
    truth = np.full((600, 600), 400.0)
    sigma = poisson_noise(truth, gain=1.0, read_noise=4.0)
    data = truth + rng.normal(0.0, 1.0, truth.shape) * sigma
    data[rng.uniform(size=truth.shape) < 0.01] += 5000.0  # cosmic rays do not move it
    blotted = truth - 0.15 * sigma  # a median biased low
    blotted[:10] = np.nan
    assert median_offset(data, blotted, sigma) == pytest.approx(0.15, abs=0.03)
    assert median_offset(data, truth, sigma) == pytest.approx(0.0, abs=0.03)
    assert median_offset(data, np.full_like(truth, np.nan), sigma) == 0.0


def test_default_growth_recovers_shared_charge_that_noise_pushes_below_the_second_threshold():
    from drizrun.plugins.stages.cr import CrParams

    rng = np.random.default_rng(12)
    shape = (240, 240)
    sky, rn = 100.0, 4.0
    sigma = np.sqrt(sky + rn**2)
    truth = np.full(shape, sky)
    blotted = truth + rng.normal(0.0, 0.6 * sigma, shape)  # a median of a few noisy exposures
    data = truth + rng.normal(0.0, sigma, shape)
    ys, xs = np.mgrid[4 : shape[0] - 4 : 8, 4 : shape[1] - 4 : 8]
    ys, xs = ys.ravel(), xs.ravel()
    data[ys, xs] += 200.0 * sigma  # bright hits
    data[ys, xs + 1] += 3.5 * sigma  # the charge they share with one edge neighbour
    noise = poisson_noise(blotted, gain=1.0, read_noise=rn)

    def recovered(neighbour_snr):
        mask = cosmic_ray_mask(data, blotted, abs_deriv(blotted), noise, neighbour_snr=neighbour_snr)
        assert mask[ys, xs].all()
        return mask[ys, xs + 1].mean(), mask[ys, xs - 1].mean()

    shared, clean = recovered(CrParams().neighbour_snr)
    assert shared > 0.93
    assert clean < 0.25  # the clean neighbour on the other side: noise above the low threshold
    assert recovered(None)[0] < 0.8
    assert recovered((20.0, 2.5))[0] < shared - 0.08


def test_offset_compares_with_the_median_plus_offset_times_the_noise():
    truth, data, rng = _chip(seed=12)
    _inject(data, rng)
    noise = poisson_noise(truth, gain=1.0, read_noise=4.0)
    offset = np.float32(0.4)
    shifted = (truth.astype(np.float32) + offset * noise).astype(np.float32)
    with_offset = cosmic_ray_mask(data, truth, abs_deriv(truth), noise, offset=offset, neighbour_snr=(20.0, 2.5))
    explicit = cosmic_ray_mask(data, shifted, abs_deriv(truth), noise, neighbour_snr=(20.0, 2.5))
    np.testing.assert_array_equal(with_offset, explicit)
    plain = cosmic_ray_mask(data, truth, abs_deriv(truth), noise, neighbour_snr=(20.0, 2.5))
    lowered = cosmic_ray_mask(data, truth, abs_deriv(truth), noise, offset=-1.5, neighbour_snr=(20.0, 2.5))
    assert lowered.sum() > plain.sum()  # a median 1.5 sigma lower lets noise through


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (6, 1), (2, 2), (31, 17)])
def test_box_dilation_is_a_3x3_maximum_filter(shape):
    from scipy import ndimage

    from drizrun.plugins.stages.crdetect import box_dilation

    mask = np.random.default_rng(sum(shape)).random(shape) < 0.1
    mask.flat[0] = mask.flat[-1] = True  # corners reach outside the image
    expected = ndimage.maximum_filter(mask, size=3, mode="constant", cval=False)
    np.testing.assert_array_equal(box_dilation(mask), expected)
    assert mask.sum() < box_dilation(mask).sum() or mask.all()


@pytest.mark.parametrize("gain", [1.0, 2.3])
def test_poisson_noise_is_the_float32_formula(gain):
    blotted = np.random.default_rng(4).normal(100.0, 80.0, (50, 40)).astype(">f4")
    b = blotted.astype(np.float32)
    expected = (np.sqrt(gain * np.abs(b) + 4.5**2) / gain).astype(np.float32)
    result = poisson_noise(blotted, gain=gain, read_noise=4.5)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, expected)
    np.testing.assert_array_equal(blotted, b)  # input untouched
    out = np.empty(b.shape, dtype=np.float32)
    assert poisson_noise(blotted, gain=gain, read_noise=4.5, out=out) is out
    np.testing.assert_array_equal(out, expected)
