"""PSF-fit centroids and the expected centroid noise, against stars of known position."""

from __future__ import annotations

import math

import numpy as np
import pytest

from drizrun.core.simulate import psffit, scoring
from drizrun.core.simulate.profiles2d import psf_stamp


def _star(shape, x, y, fwhm):
    image = np.zeros(shape)
    stamp, x0, y0 = psf_stamp(x, y, fwhm, half=12)
    image[y0 : y0 + stamp.shape[0], x0 : x0 + stamp.shape[1]] += stamp
    return image


def _drizzle_shift(image, dx, dy):
    """Square kernel, pixfrac 1, output grid shifted by (dx, dy) in [0, 1): area-weighted resampling."""
    out = (1.0 - dx) * image + dx * np.roll(image, -1, axis=1)
    return (1.0 - dy) * out + dy * np.roll(out, -1, axis=0)


def test_drizzled_psf_holds_the_flux_and_is_wider_than_the_bare_psf():
    psf = psffit.drizzled_psf(fwhm_arcsec=0.1, detector_scale=0.05, output_scale=0.05)
    assert psf.fwhm_px == pytest.approx(2.0)
    gy, gx = np.mgrid[-8:9, -8:9].astype(float)
    total = psf(gx, gy).sum()
    assert 0.97 < total < 1.0  # the halo beyond 8 pixels is missing
    bare = psf_stamp(0.0, 0.0, 2.0, half=8)[0]
    assert psf(np.array([0.0]), np.array([0.0]))[0] < bare.max()  # drop and output pixel spread the core
    finer = psffit.drizzled_psf(fwhm_arcsec=0.1, detector_scale=0.05, output_scale=0.025)
    assert finer.fwhm_px == pytest.approx(4.0)


@pytest.mark.parametrize("shift", [(0.0, 0.0), (0.31, -0.27)])
def test_psf_fit_recovers_a_star_drizzled_from_four_well_dithered_exposures(shift):
    """Noiseless: four exposures at half-pixel dither phases, drizzled and averaged."""
    fwhm, n = 2.0, 41
    psf = psffit.drizzled_psf(fwhm_arcsec=fwhm, detector_scale=1.0, output_scale=1.0)
    rng = np.random.default_rng(4)
    errors = []
    for _ in range(10):
        phase_x, phase_y = rng.uniform(0.0, 1.0, 2)
        offset_x, offset_y = rng.uniform(0.0, 1.0, 2)  # output grid against the first exposure
        stack = np.zeros((n, n))
        true = None
        for ddx, ddy in ((0.0, 0.0), (0.5, 0.5), (0.25, 0.75), (0.75, 0.25)):
            sx, sy = phase_x + ddx + shift[0], phase_y + ddy + shift[1]
            ix, iy = math.floor(sx), math.floor(sy)
            d_x, d_y = (offset_x + ddx - ix) % 1.0, (offset_y + ddy - iy) % 1.0
            out = _drizzle_shift(_star((n, n), 20 + sx - ix, 20 + sy - iy, fwhm), d_x, d_y)
            tx, ty = 20 + sx - ix - d_x, 20 + sy - iy - d_y  # the star on this output grid
            if true is None:
                true = (tx, ty)
            stack += np.roll(out, (round(true[1] - ty), round(true[0] - tx)), axis=(0, 1))
        cx, cy = psffit.psf_centroid(stack / 4.0, true[0] + 0.2, true[1] - 0.15, psf)
        errors.append(math.hypot(cx - true[0], cy - true[1]))
    assert max(errors) < 2e-3


def test_psf_fit_refuses_missing_pixels_and_the_image_edge():
    psf = psffit.drizzled_psf(fwhm_arcsec=2.0, detector_scale=1.0, output_scale=1.0)
    image = _star((40, 40), 20.2, 19.7, 2.0) * 1e4
    assert np.isfinite(psffit.psf_centroid(image, 20.2, 19.7, psf)[0])
    holed = image.copy()
    holed[20, 21] = np.nan
    assert math.isnan(psffit.psf_centroid(holed, 20.2, 19.7, psf)[0])
    assert math.isnan(psffit.psf_centroid(image, 1.0, 19.7, psf)[0])


def test_expected_centroid_noise_bounds_and_predicts_the_fit_scatter():
    """Monte Carlo: stars with Poisson-like noise, fitted; scatter between 1 and 1.3 times the bound."""
    fwhm, exptime, background, read_noise = 2.0, 100.0, 1.0, 3.0
    rate = 300.0
    flux = rate * exptime
    bound = float(
        psffit.expected_centroid_noise(
            rate, fwhm_px=fwhm, exptime=exptime, n_exposures=1, background=background, read_noise=read_noise
        )[0]
    )
    # the single-exposure image is the pixel-integrated PSF itself: no drop, and the pixel box once
    psf = psffit.drizzled_psf(fwhm_arcsec=fwhm, detector_scale=1.0, output_scale=1.0, pixfrac=0.0)
    rng = np.random.default_rng(7)
    dx = []
    for _ in range(200):
        x, y = 20.0 + rng.uniform(-0.5, 0.5), 20.0 + rng.uniform(-0.5, 0.5)
        model = flux * _star((41, 41), x, y, fwhm)
        variance = model + background * exptime + read_noise**2
        image = model + rng.normal(0.0, 1.0, model.shape) * np.sqrt(variance)
        cx, _ = psffit.psf_centroid(image, x, y, psf, radius=6.0)
        dx.append(cx - x)
    scatter = float(np.std(dx))
    assert bound < scatter < 1.3 * bound
    # more exposures: the bound falls as 1/sqrt(n)
    four = psffit.expected_centroid_noise(
        rate, fwhm_px=fwhm, exptime=exptime, n_exposures=4, background=background, read_noise=read_noise
    )[0]
    assert four == pytest.approx(bound / 2.0, rel=1e-9)


def test_expected_centroid_noise_follows_the_photon_regimes():
    kwargs = dict(fwhm_px=2.0, exptime=100.0, n_exposures=1, background=5.0, read_noise=3.0)
    faint, faint2 = psffit.expected_centroid_noise([1.0, 2.0], **kwargs)
    assert faint / faint2 == pytest.approx(2.0, rel=0.02)  # background-limited: 1/F
    bright, bright4 = psffit.expected_centroid_noise([1e6, 4e6], **kwargs)
    assert bright / bright4 == pytest.approx(2.0, rel=0.02)  # photon-limited: 1/sqrt(F)
    assert math.isinf(psffit.expected_centroid_noise([10.0], **{**kwargs, "n_exposures": 0})[0])


def test_astrometry_with_psf_fits_selects_by_expected_noise_and_measures_a_shift():
    rng = np.random.default_rng(8)
    shape, fwhm = (200, 200), 2.0
    gy, gx = np.mgrid[20:181:32, 20:181:32]
    x = gx.ravel() + rng.uniform(-0.5, 0.5, gx.size)
    y = gy.ravel() + rng.uniform(-0.5, 0.5, gy.size)
    image = np.zeros(shape)
    for xi, yi in zip(x, y, strict=True):
        image += 2e5 * _star(shape, xi + 0.05, yi - 0.03, fwhm)
    image += rng.normal(0.0, 1.0, shape)
    psf = psffit.drizzled_psf(fwhm_arcsec=fwhm, detector_scale=1.0, output_scale=1.0, pixfrac=0.0)
    noise = np.where(np.arange(x.size) % 2 == 0, 0.001, 0.02)  # half the stars too noisy to use
    score = scoring.score_astrometry(image, x, y, np.full(x.size, 2e5), fwhm_px=fwhm, psf=psf,
                                     expected_noise=noise, max_noise=0.005)
    assert score.n_stars == int((noise <= 0.005).sum())
    assert score.median_dx == pytest.approx(0.05, abs=2e-3)
    assert score.median_dy == pytest.approx(-0.03, abs=2e-3)
    assert score.median_uncertainty < 2e-3
