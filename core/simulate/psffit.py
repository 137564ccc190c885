"""Star positions on a drizzled image by fitting the simulator's PSF, and how precise they can be.

The simulator spreads a star with :func:`~drizrun.core.simulate.profiles2d.psf_stamp`
(a Moffat core with a wide Gaussian halo, integrated over detector pixels).
Drizzling then spreads every detector pixel over a drop (the pixel shrunk by
``pixfrac``) and averages over output pixels, so on average over pixel phases a
star on the drizzled image is::

    PSF ⊗ box(detector pixel) ⊗ box(pixfrac × detector pixel) ⊗ box(output pixel)

sampled at the output pixel centres (:class:`DrizzledPSF`). Fitting that model's
position and flux to the pixels around a star (:func:`psf_centroid`) uses every
pixel with its due weight, and is more precise than a windowed moment; the
model is symmetric, so its misfit (the real drizzled star depends on the pixel
phases of the exposures and on the rotation between detector and output
pixels) does not shift the fitted position on average.

:func:`expected_centroid_noise` is the Cramér-Rao bound of a star's position
from its exposures (Poisson noise of star, sky and dark, and read noise): no
estimator can do better, so it says which stars are bright enough for a
centroid to test a given astrometric accuracy.
"""

from __future__ import annotations

import math

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray

from .profiles2d import HALO_FRACTION, HALO_WIDTH, MOFFAT_BETA, moffat_alpha, psf_stamp

__all__ = ["DrizzledPSF", "drizzled_psf", "expected_centroid_noise", "psf_centroid"]


@attrs.frozen(eq=False)
class DrizzledPSF:
    """The simulator's PSF as it appears on a drizzled image, on a fine grid.

    Attributes
    ----------
    grid : numpy.ndarray
        Fraction of a star's flux that falls in an output pixel centred at each
        grid point (square, odd size, centred on the star).
    step : float
        Grid spacing in output pixels.
    fwhm_px : float
        Core FWHM in output pixels.
    """

    grid: NDArray[np.float64]
    step: float
    fwhm_px: float

    @property
    def half_width(self) -> float:
        """Output pixels from the centre to the edge of the grid."""
        return (self.grid.shape[0] // 2) * self.step

    def __call__(self, dx: ArrayLike, dy: ArrayLike) -> NDArray[np.float64]:
        """Flux fraction in output pixels centred at offsets ``(dx, dy)`` (output pixels) from the star."""
        from scipy import ndimage

        centre = self.grid.shape[0] // 2
        rows = np.asarray(dy, dtype=float) / self.step + centre
        cols = np.asarray(dx, dtype=float) / self.step + centre
        return ndimage.map_coordinates(self.grid, [rows, cols], order=3, mode="constant", cval=0.0)


def drizzled_psf(
    *,
    fwhm_arcsec: float,
    detector_scale: float,
    output_scale: float,
    pixfrac: float = 1.0,
    oversample: int = 11,
    half_width: float = 8.0,
) -> DrizzledPSF:
    """The simulator's PSF convolved with the detector pixel, the drop and the output pixel.

    Parameters
    ----------
    fwhm_arcsec : float
        PSF core FWHM in arcsec (``DetectorProfile.psf_fwhm``).
    detector_scale, output_scale : float
        Detector and output pixel sizes in arcsec.
    pixfrac : float
        Drizzle drop size in detector pixels.
    oversample : int
        Grid points per detector pixel along each axis.
    half_width : float
        Half-size of the grid in output pixels.

    Returns
    -------
    DrizzledPSF
        Normalised so that the fractions sum to one over all output pixels
        (the halo beyond ``half_width`` aside).
    """
    from scipy import ndimage

    fwhm_det = fwhm_arcsec / detector_scale
    out_px = output_scale / detector_scale
    step = 1.0 / oversample  # detector pixels
    n_half = int(math.ceil((half_width * out_px + 2.0 + pixfrac + out_px) / step))
    axis = np.arange(-n_half, n_half + 1) * step
    r2 = axis[np.newaxis, :] ** 2 + axis[:, np.newaxis] ** 2
    alpha = moffat_alpha(fwhm_det)
    core = (MOFFAT_BETA - 1.0) / (math.pi * alpha**2) * (1.0 + r2 / alpha**2) ** (-MOFFAT_BETA)
    sigma = HALO_WIDTH * fwhm_det / 2.3548
    halo = np.exp(-0.5 * r2 / sigma**2) / (2.0 * math.pi * sigma**2)
    density = (1.0 - HALO_FRACTION) * core + HALO_FRACTION * halo  # per detector pixel²
    for width in (1.0, pixfrac, out_px):
        n = int(round(width * oversample))
        if n > 1:
            n += 1 - n % 2  # odd, so the box stays centred
            density = ndimage.uniform_filter(density, size=n, mode="constant")
    # average density over an output pixel times its area: the flux fraction in that pixel
    return DrizzledPSF(grid=density * out_px**2, step=step / out_px, fwhm_px=fwhm_det / out_px)


def psf_centroid(
    image: ArrayLike,
    x: float,
    y: float,
    psf: DrizzledPSF,
    *,
    background: float = 0.0,
    radius: float | None = None,
) -> tuple[float, float]:
    """Position of a star by a least-squares fit of ``psf`` (position and flux free).

    The pixels whose centres lie within ``radius`` (default 2 FWHM) of the
    starting point ``(x, y)`` are fitted with ``flux * psf(x_i - cx, y_i - cy) +
    background``, all pixels weighted alike (sky-limited pixels have the same
    noise; equal weights keep the fit unbiased whatever the star's brightness).

    Parameters
    ----------
    image : array_like
        Drizzled image; NaN marks missing data.
    x, y : float
        Starting position, 0-based pixels.
    psf : DrizzledPSF
        Model of a star on this image.
    background : float
        Local background per pixel, subtracted (not fitted).
    radius : float, optional
        Fit radius in pixels.

    Returns
    -------
    tuple of float
        ``(x, y)``; NaN when a pixel within the radius is missing, the fit does
        not converge, or it moves by more than one FWHM.
    """
    from scipy import optimize

    data = np.asarray(image, dtype=np.float64)
    radius = 2.0 * psf.fwhm_px if radius is None else radius
    half = int(math.ceil(radius)) + 1
    ix, iy = int(math.floor(x + 0.5)), int(math.floor(y + 0.5))
    ny, nx = data.shape
    if ix - half < 0 or iy - half < 0 or ix + half >= nx or iy + half >= ny:
        return math.nan, math.nan
    gy, gx = np.mgrid[iy - half : iy + half + 1, ix - half : ix + half + 1].astype(np.float64)
    used = (gx - x) ** 2 + (gy - y) ** 2 <= radius**2
    values = data[iy - half : iy + half + 1, ix - half : ix + half + 1][used] - background
    if not np.all(np.isfinite(values)):
        return math.nan, math.nan
    px, py = gx[used], gy[used]
    shape0 = psf(px - x, py - y)
    flux0 = float((shape0 * values).sum() / max((shape0**2).sum(), 1e-300))
    if not flux0 > 0:
        return math.nan, math.nan

    def residuals(p: NDArray[np.float64]) -> NDArray[np.float64]:
        return p[2] * psf(px - p[0], py - p[1]) - values

    fit = optimize.least_squares(residuals, np.array([x, y, flux0]), x_scale=np.array([0.1, 0.1, flux0]),
                                 method="lm", xtol=1e-10)
    cx, cy, flux = (float(v) for v in fit.x)
    if not (fit.success and flux > 0 and math.hypot(cx - x, cy - y) <= psf.fwhm_px):
        return math.nan, math.nan
    return cx, cy


def expected_centroid_noise(
    rate: ArrayLike,
    *,
    fwhm_px: float,
    exptime: float,
    n_exposures: ArrayLike,
    background: float,
    read_noise: float,
) -> NDArray[np.float64]:
    """Cramér-Rao bound of a star's position along one axis, in detector pixels.

    For one exposure the Fisher information on ``x`` is
    ``Σ (F t ∂p_i/∂x)² / (F t p_i + b t + RN²)`` over the detector pixels,
    ``p`` the simulator's pixel-integrated PSF (:func:`psf_stamp`), averaged
    over pixel phases; exposures add their information. Drizzling cannot add
    information, so a real centroid on the drizzled image scatters at least
    this much (somewhat more: the drizzle smooths the star).

    Parameters
    ----------
    rate : array_like
        Star count rates, electrons/s.
    fwhm_px : float
        PSF FWHM in detector pixels.
    exptime : float
        Seconds per exposure.
    n_exposures : array_like
        Exposures that saw each star (broadcast against ``rate``).
    background : float
        Sky plus dark current, electrons/s per pixel.
    read_noise : float
        Electrons per pixel.

    Returns
    -------
    numpy.ndarray
        One value per star (inf where ``n_exposures`` is 0).
    """
    rates = np.atleast_1d(np.asarray(rate, dtype=float))
    n_exp = np.broadcast_to(np.asarray(n_exposures, dtype=float), rates.shape)
    step = 1e-3
    phases = (0.0, 0.2, 0.4)  # away from 0.5, where the stamp would move by a pixel
    pairs = []
    for phase in phases:
        plus = psf_stamp(phase + step, phase, fwhm_px, half=12)[0]
        minus = psf_stamp(phase - step, phase, fwhm_px, half=12)[0]
        centre = psf_stamp(phase, phase, fwhm_px, half=12)[0]
        pairs.append((centre.ravel(), ((plus - minus) / (2.0 * step)).ravel()))
    noise_floor = background * exptime + read_noise**2
    info = np.zeros(rates.shape)
    for k, flux in enumerate(rates * exptime):
        total = 0.0
        for p, dp in pairs:
            total += float(((flux * dp) ** 2 / (flux * np.clip(p, 0.0, None) + noise_floor)).sum())
        info[k] = total / len(pairs)
    with np.errstate(divide="ignore"):
        return np.where(n_exp * info > 0, 1.0 / np.sqrt(n_exp * info), np.inf)
