"""The drizzle model of a star: exact drop overlaps, and positions against stars drizzled by drizzle 3.0."""

from __future__ import annotations

import math

import numpy as np
import pytest

from drizrun.core.simulate import psffit
from drizrun.core.simulate.drizzle_fit import Sighting, drizzle_model_centroid, overlap_area
from drizrun.core.simulate.profiles2d import psf_stamp

resample = pytest.importorskip("drizzle.resample", reason="drizzle 3.0 (a test dependency) is the reference drizzle")


def _rotation(degrees, scale=1.0):
    t = math.radians(degrees)
    return scale * np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])


def test_overlap_area_of_squares_shifted_and_outside():
    assert overlap_area([0.3, 1.3, 1.3, 0.3], [0.2, 0.2, 1.2, 1.2]) == pytest.approx(0.7 * 0.8)
    assert overlap_area([0.3, 0.3, 1.3, 1.3], [0.2, 1.2, 1.2, 0.2]) == pytest.approx(0.7 * 0.8)  # clockwise
    assert overlap_area([-1.0, 2.0, 2.0, -1.0], [-1.0, -1.0, 2.0, 2.0]) == pytest.approx(1.0)  # covers the square
    assert overlap_area([1.5, 2.5, 2.5, 1.5], [0.0, 0.0, 1.0, 1.0]) == 0.0
    # a diamond inscribed in the square, and the same diamond half outside
    assert overlap_area([0.5, 1.0, 0.5, 0.0], [0.0, 0.5, 1.0, 0.5]) == pytest.approx(0.5)
    assert overlap_area([1.0, 1.5, 1.0, 0.5], [0.0, 0.5, 1.0, 0.5]) == pytest.approx(0.25)


def test_overlaps_of_a_rotated_drop_partition_its_area():
    rng = np.random.default_rng(3)
    for _ in range(20):
        matrix = _rotation(rng.uniform(0, 360), rng.uniform(0.6, 1.6))
        centre = rng.uniform(-0.5, 0.5, 2)
        corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]]) @ matrix.T + centre
        gy, gx = np.mgrid[-3:4, -3:4]
        areas = overlap_area(corners[:, 0] - gx[..., np.newaxis], corners[:, 1] - gy[..., np.newaxis])
        assert areas.sum() == pytest.approx(abs(np.linalg.det(matrix)), rel=1e-12)


def test_overlaps_agree_with_drizzle_3():
    """The weights drizzle 3.0 gives one detector pixel are its drop's overlaps, up to a common scale."""
    rng = np.random.default_rng(8)
    for _ in range(6):
        matrix = _rotation(rng.uniform(0, 90), rng.uniform(0.8, 1.25))
        origin = np.array([7.0, 7.0]) + rng.uniform(-0.5, 0.5, 2)
        iy, ix = np.mgrid[0:5, 0:5].astype(float)
        offsets = np.stack([ix - 2, iy - 2], axis=-1)
        pixmap = offsets @ matrix.T + origin
        weight = np.zeros((5, 5), dtype=np.float32)
        weight[2, 2] = 1.0
        d = resample.Drizzle(kernel="square", out_shape=(15, 15), disable_ctx=True)
        d.add_image(np.ones((5, 5), dtype=np.float32), exptime=1.0, pixmap=pixmap, weight_map=weight, pixfrac=0.8)
        corners = np.array([[-0.4, -0.4], [0.4, -0.4], [0.4, 0.4], [-0.4, 0.4]]) @ matrix.T + origin
        gy, gx = np.mgrid[0:15, 0:15]
        ours = overlap_area(corners[:, 0] - (gx[..., np.newaxis] - 0.5), corners[:, 1] - (gy[..., np.newaxis] - 0.5))
        assert np.count_nonzero(ours) >= 3  # the drop straddles output pixels
        np.testing.assert_allclose(d.out_wht / d.out_wht.sum(), ours / ours.sum(), atol=2e-6)


def _drizzle_star(rng, matrix, *, n_in=41, n_out=41, shift=(0.0, 0.0), masked=None, pixfrac=1.0):
    """A noiseless star drizzled by drizzle 3.0 from four exposures at random phases."""
    d = resample.Drizzle(kernel="square", out_shape=(n_out, n_out), disable_ctx=True)
    x_out, y_out = 20 + rng.uniform(-0.5, 0.5), 20 + rng.uniform(-0.5, 0.5)
    sightings = []
    for exposure in range(4):
        x_in, y_in = 20 + rng.uniform(-0.5, 0.5), 20 + rng.uniform(-0.5, 0.5)
        stamp, x0, y0 = psf_stamp(x_in, y_in, 1.5)
        image = np.zeros((n_in, n_in))
        image[y0 : y0 + stamp.shape[0], x0 : x0 + stamp.shape[1]] = 1000.0 * stamp
        iy, ix = np.mgrid[0:n_in, 0:n_in].astype(float)
        pixmap = np.stack([ix - x_in, iy - y_in], axis=-1) @ matrix.T + (x_out + shift[0], y_out + shift[1])
        usable = np.ones((n_in, n_in), dtype=bool)
        if masked is not None and exposure == 0:
            usable[round(y_in) + masked[1], round(x_in) + masked[0]] = False
        d.add_image(image.astype(np.float32), exptime=1.0, pixmap=pixmap, weight_map=usable.astype(np.float32),
                    pixfrac=pixfrac)
        sightings.append(Sighting(x=x_in, y=y_in, to_output=matrix, usable=usable))
    return d.out_img.astype(float), d.out_wht.astype(float), x_out, y_out, sightings


@pytest.mark.parametrize(("degrees", "scale"), [(0.0, 1.0), (30.0, 1.0), (17.0, 0.9)])
def test_drizzle_model_finds_stars_where_the_phase_averaged_psf_cannot(degrees, scale):
    rng = np.random.default_rng(11)
    matrix = _rotation(degrees, 1.0 / scale)  # output pixels of `scale` detector pixels
    averaged = psffit.drizzled_psf(fwhm_arcsec=1.5, detector_scale=1.0, output_scale=scale)
    model_errors, averaged_errors = [], []
    for _ in range(12):
        sci, wht, x, y, sightings = _drizzle_star(rng, matrix)
        mx, my = drizzle_model_centroid(sci, wht, x, y, sightings, fwhm_detector=1.5, radius=3.0 / scale)
        ax, ay = psffit.psf_centroid(sci, x, y, averaged)
        model_errors.append(math.hypot(mx - x, my - y))
        averaged_errors.append(math.hypot(ax - x, ay - y))
    assert max(model_errors) < 1e-4
    assert np.median(averaged_errors) > 0.004  # the error the model removes


def test_drizzle_model_follows_smaller_drops():
    rng = np.random.default_rng(12)
    for _ in range(6):
        sci, wht, x, y, sightings = _drizzle_star(rng, _rotation(20.0), pixfrac=0.7)
        mx, my = drizzle_model_centroid(sci, wht, x, y, sightings, fwhm_detector=1.5, radius=3.0, pixfrac=0.7)
        assert math.hypot(mx - x, my - y) < 1e-4
        # modelled with the wrong drops, the weights no longer match
        assert math.isnan(drizzle_model_centroid(sci, wht, x, y, sightings, fwhm_detector=1.5, radius=3.0)[0])


def test_drizzle_model_measures_a_misplaced_product():
    rng = np.random.default_rng(5)
    offsets = []
    for _ in range(8):
        sci, wht, x, y, sightings = _drizzle_star(rng, _rotation(25.0), shift=(0.02, -0.01))
        mx, my = drizzle_model_centroid(sci, wht, x, y, sightings, fwhm_detector=1.5, radius=3.0)
        offsets.append((mx - x, my - y))
    np.testing.assert_allclose(np.median(offsets, axis=0), [0.02, -0.01], atol=2e-3)


def test_left_out_pixels_are_modelled_when_known_and_refused_when_not():
    rng = np.random.default_rng(6)
    sci, wht, x, y, sightings = _drizzle_star(rng, _rotation(40.0), masked=(1, 0))
    mx, my = drizzle_model_centroid(sci, wht, x, y, sightings, fwhm_detector=1.5, radius=3.0)
    assert math.hypot(mx - x, my - y) < 1e-4
    unknown = [Sighting(x=s.x, y=s.y, to_output=s.to_output, usable=np.ones_like(s.usable)) for s in sightings]
    assert math.isnan(drizzle_model_centroid(sci, wht, x, y, unknown, fwhm_detector=1.5, radius=3.0)[0])
    # a missing exposure shows in the weights too
    assert math.isnan(drizzle_model_centroid(sci, wht, x, y, sightings[1:], fwhm_detector=1.5, radius=3.0)[0])


def test_drizzle_model_refuses_missing_data_and_edges():
    rng = np.random.default_rng(7)
    sci, wht, x, y, sightings = _drizzle_star(rng, _rotation(10.0))
    holed = sci.copy()
    holed[round(y), round(x)] = np.nan
    assert math.isnan(drizzle_model_centroid(holed, wht, x, y, sightings, fwhm_detector=1.5, radius=3.0)[0])
    assert math.isnan(drizzle_model_centroid(sci, wht, 1.0, y, sightings, fwhm_detector=1.5, radius=3.0)[0])
    assert math.isnan(drizzle_model_centroid(sci, wht, x, y, [], fwhm_detector=1.5, radius=3.0)[0])
