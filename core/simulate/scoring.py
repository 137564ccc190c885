"""Scoring drizzle products of a simulated visit against the simulator's truth.

Four measurements, each a pure function on arrays (with small readers for the
files a run writes), used by the tests and by ``benchmarks/visit.py``:

* :func:`score_cosmic_rays`: cosmic-ray masks against the injected charge
  (completeness above a significance threshold, false flags in star cores and
  elsewhere);
* :func:`score_photometry`: aperture photometry of isolated stars on a
  drizzled image against the true count rates, with an aperture correction
  derived from the simulator's own PSF (:func:`encircled_energy`), and
  two products' photometry star by star (:func:`compare_photometry`);
* :func:`score_astrometry`: centroids (PSF fits or windowed moments) of
  bright isolated stars against their true positions;
* :func:`compare_drizzled`: agreement of two drizzled images in units of
  their noise.

:func:`flt_area_ratio` gives the factor between the simulator's true fluxes
and what a correct drizzle of its files yields (the simulator does not apply
the pixel area map that calibrated HST images carry).

Conventions, those of AstroDrizzle and drizrun alike: a drizzled SCI image is
a count rate per output pixel (electrons/s) with NaN where no input
contributed; WHT is the accumulated weight (0 where no data); a cosmic-ray
mask ``<root>_sci<N>_crmask.fits`` is uint8 with 1 = good and 0 = cosmic ray.
Pixel coordinates are 0-based, ``(x, y)`` = (column, row), the centre of
pixel ``image[j, i]`` being ``(i, j)``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray

from .profiles2d import HALO_FRACTION, HALO_WIDTH, MOFFAT_BETA, moffat_alpha, psf_stamp
from .psffit import DrizzledPSF

__all__ = [
    "DETECTABLE_SIGMA",
    "MAD_TO_SIGMA",
    "MEDIAN_EFFICIENCY",
    "AstrometryScore",
    "CosmicRayScore",
    "DrizzledImage",
    "PhotometryComparison",
    "PhotometryScore",
    "StarList",
    "Agreement",
    "annulus_background",
    "aperture_sum",
    "compare_drizzled",
    "compare_photometry",
    "cosmic_ray_sigma",
    "drizzled_noise",
    "encircled_energy",
    "expected_aperture_fraction",
    "find_drizzled",
    "flt_area_ratio",
    "isolated",
    "read_cosmic_ray_truth",
    "read_crmasks",
    "read_final_masks",
    "read_drizzled",
    "read_star_list",
    "robust_scatter",
    "score_astrometry",
    "score_cosmic_rays",
    "score_photometry",
    "star_core_mask",
    "windowed_centroid",
]

#: A cosmic-ray pixel counts as detectable when its charge exceeds this many
#: times the noise of a source-free pixel (:func:`cosmic_ray_sigma`).
DETECTABLE_SIGMA = 5.0

#: Factor turning a median absolute deviation into a Gaussian standard deviation.
MAD_TO_SIGMA = 1.4826

#: Standard error of the median of n Gaussian values over σ / sqrt(n): sqrt(π / 2).
MEDIAN_EFFICIENCY = math.sqrt(math.pi / 2.0)


def robust_scatter(values: ArrayLike) -> float:
    """``1.4826 * median(|v - median(v)|)`` over the finite values (NaN when there are none)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan
    return float(MAD_TO_SIGMA * np.median(np.abs(v - np.median(v))))


def _median(values: ArrayLike) -> float:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else math.nan


# =====================================================================================
# cosmic rays
# =====================================================================================


@attrs.frozen
class CosmicRayScore:
    """Cosmic-ray masks compared with the injected charge, summed over chips.

    Attributes
    ----------
    chips : int
        Chips scored (those with both a mask and a truth of the same shape).
    threshold_sigma : float
        Significance above which a cosmic-ray pixel is detectable.
    hit : int
        Pixels that received any cosmic-ray charge.
    detectable : int
        Pixels whose charge exceeds ``threshold_sigma`` times the chip's noise.
    recovered : int
        Detectable pixels that are flagged.
    flagged : int
        Pixels flagged by the masks.
    flagged_faint : int
        Flagged pixels with some cosmic-ray charge, below the threshold
        (correct flags, not counted in the completeness).
    false_core : int
        Flagged pixels without cosmic-ray charge inside star cores.
    false_elsewhere : int
        Flagged pixels without cosmic-ray charge outside star cores.
    core_pixels : int
        Pixels without cosmic-ray charge inside star cores.
    clean_pixels : int
        Pixels without cosmic-ray charge outside star cores.
    """

    chips: int
    threshold_sigma: float
    hit: int
    detectable: int
    recovered: int
    flagged: int
    flagged_faint: int
    false_core: int
    false_elsewhere: int
    core_pixels: int
    clean_pixels: int

    @property
    def completeness(self) -> float:
        """Fraction of detectable cosmic-ray pixels flagged (NaN when none is detectable)."""
        return self.recovered / self.detectable if self.detectable else math.nan

    @property
    def false_core_rate(self) -> float:
        """Fraction of star-core pixels (without cosmic rays) falsely flagged."""
        return self.false_core / self.core_pixels if self.core_pixels else math.nan

    @property
    def false_elsewhere_rate(self) -> float:
        """Fraction of pixels outside star cores (without cosmic rays) falsely flagged."""
        return self.false_elsewhere / self.clean_pixels if self.clean_pixels else math.nan


def cosmic_ray_sigma(*, sky_rate: float, dark_rate: float, exptime: float, read_noise: float) -> float:
    """Noise in electrons of a source-free pixel of a calibrated exposure.

    ``σ = sqrt((sky_rate + dark_rate) * exptime + read_noise²)``: Poisson noise
    of the sky and of the dark current (subtracted in calibration, its noise
    stays) and the read noise, the noise a cosmic ray on empty sky competes
    with. Sources and hot pixels add noise locally and are not included, so the
    threshold is the same on every pixel of a chip.

    Parameters
    ----------
    sky_rate, dark_rate : float
        Electrons per second per pixel.
    exptime : float
        Seconds.
    read_noise : float
        Electrons.

    Returns
    -------
    float
    """
    return math.sqrt(max((sky_rate + dark_rate) * exptime, 0.0) + read_noise**2)


def score_cosmic_rays(
    flagged: Mapping[Any, ArrayLike],
    charge: Mapping[Any, ArrayLike],
    *,
    sigma: float | Mapping[Any, float],
    cores: Mapping[Any, ArrayLike] | None = None,
    threshold_sigma: float = DETECTABLE_SIGMA,
) -> CosmicRayScore:
    """Score cosmic-ray masks against the injected charge.

    A pixel is a *detectable* cosmic-ray pixel when it received more than
    ``threshold_sigma * sigma`` electrons of cosmic-ray charge; completeness is
    the fraction of those that are flagged. A flagged pixel that received no
    charge at all is a false flag, counted inside star cores (``cores``) and
    elsewhere separately; flagged pixels with charge below the threshold
    (the faint edges of events, where charge diffused) are correct flags and
    are counted apart.

    Parameters
    ----------
    flagged : mapping
        Per chip key, boolean masks, True where the pipeline flagged a cosmic
        ray (the inverse of a ``crmask`` file's values).
    charge : mapping
        Per chip key, the electrons each pixel received from cosmic rays.
    sigma : float or mapping
        Noise of a source-free pixel in electrons (:func:`cosmic_ray_sigma`),
        one value or one per chip key.
    cores : mapping, optional
        Per chip key, boolean star-core masks (:func:`star_core_mask`); without
        them every false flag counts as elsewhere.
    threshold_sigma : float
        Detection threshold in units of ``sigma``.

    Returns
    -------
    CosmicRayScore
        Chips present in ``flagged`` but not in ``charge`` (or of a different
        shape) are skipped; ``chips`` says how many were scored.
    """
    totals = dict.fromkeys(
        (
            "hit",
            "detectable",
            "recovered",
            "flagged",
            "flagged_faint",
            "false_core",
            "false_elsewhere",
            "core_pixels",
            "clean_pixels",
        ),
        0,
    )
    chips = 0
    for key, mask in flagged.items():
        if key not in charge:
            continue
        flags = np.asarray(mask).astype(bool)
        deposit = np.asarray(charge[key], dtype=float)
        if flags.shape != deposit.shape:
            continue
        chips += 1
        level = threshold_sigma * float(sigma[key] if isinstance(sigma, Mapping) else sigma)
        core = (
            np.asarray(cores[key]).astype(bool) if cores is not None and key in cores else np.zeros(flags.shape, bool)
        )
        hit = deposit > 0
        detectable = deposit > level
        clean = ~hit
        totals["hit"] += int(hit.sum())
        totals["detectable"] += int(detectable.sum())
        totals["recovered"] += int((flags & detectable).sum())
        totals["flagged"] += int(flags.sum())
        totals["flagged_faint"] += int((flags & hit & ~detectable).sum())
        totals["false_core"] += int((flags & clean & core).sum())
        totals["false_elsewhere"] += int((flags & clean & ~core).sum())
        totals["core_pixels"] += int((clean & core).sum())
        totals["clean_pixels"] += int((clean & ~core).sum())
    return CosmicRayScore(chips=chips, threshold_sigma=threshold_sigma, **totals)


def star_core_mask(
    shape: tuple[int, int],
    x: ArrayLike,
    y: ArrayLike,
    electrons: ArrayLike,
    *,
    fwhm_px: float,
    level: float,
    radius: float = 1.5,
) -> NDArray[np.bool_]:
    """Pixels of a chip inside star cores.

    A pixel is in a star core when it lies within ``radius`` pixels of a true
    star position, or when the light of one star alone puts more than
    ``level`` electrons in it (the star is rendered with the simulator's PSF,
    :func:`~drizrun.core.simulate.profiles2d.psf_stamp`). The first criterion
    catches the centres of faint stars, the second the extended cores of bright
    ones, where an undersampled PSF is what cosmic-ray detection most easily
    mistakes for a cosmic ray.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)`` of the chip.
    x, y : array_like
        0-based pixel positions of the stars on the chip.
    electrons : array_like
        Total electrons of each star in the exposure.
    fwhm_px : float
        PSF FWHM in pixels.
    level : float
        Electrons per pixel above which star light makes a core (for instance
        ``DETECTABLE_SIGMA`` times :func:`cosmic_ray_sigma`).
    radius : float
        Pixels around every star position that are always core.

    Returns
    -------
    numpy.ndarray of bool
    """
    ny, nx = shape
    core = np.zeros(shape, dtype=bool)
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    flux = np.asarray(electrons, dtype=float)
    peak_fraction = float(psf_stamp(0.0, 0.0, fwhm_px, oversample=1)[0].max())
    r_int = int(math.ceil(radius))
    for xi, yi, fi in zip(xs, ys, flux, strict=True):
        if not (-40 < xi < nx + 40 and -40 < yi < ny + 40):
            continue
        if fi * peak_fraction > level:
            stamp, x0, y0 = psf_stamp(xi, yi, fwhm_px, oversample=1)
            _or_stamp(core, stamp * fi > level, x0, y0)
        ix, iy = int(math.floor(xi + 0.5)), int(math.floor(yi + 0.5))
        gy, gx = np.mgrid[iy - r_int : iy + r_int + 1, ix - r_int : ix + r_int + 1]
        inside = (gx - xi) ** 2 + (gy - yi) ** 2 <= radius**2
        _or_stamp(core, inside, ix - r_int, iy - r_int)
    return core


def _or_stamp(mask: NDArray[np.bool_], stamp: NDArray[np.bool_], x0: int, y0: int) -> None:
    ny, nx = mask.shape
    sy, sx = stamp.shape
    ix0, iy0 = max(x0, 0), max(y0, 0)
    ix1, iy1 = min(x0 + sx, nx), min(y0 + sy, ny)
    if ix0 < ix1 and iy0 < iy1:
        mask[iy0:iy1, ix0:ix1] |= stamp[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0]


def read_cosmic_ray_truth(paths: Iterable[str | os.PathLike[str]]) -> dict[tuple[str, int], NDArray[np.float64]]:
    """Read the simulator's ``truth/<root>_crtruth.fits`` files.

    Returns
    -------
    dict
        ``(rootname, chip) -> CRCHARGE`` (electrons per pixel), root names in
        lower case, ``chip`` the EXTVER of the SCI extension.
    """
    from astropy.io import fits

    truth: dict[tuple[str, int], NDArray[np.float64]] = {}
    for path in paths:
        with fits.open(path) as hdul:
            root = str(hdul[0].header["ROOTNAME"]).lower()
            for hdu in hdul[1:]:
                if hdu.name == "CRCHARGE":
                    truth[(root, int(hdu.ver))] = np.asarray(hdu.data, dtype=np.float64)
    return truth


def _chip_file_pattern(kind: str) -> re.Pattern[str]:
    """``<root>[_flt|_flc]_sci<N>_<kind>.fits``, the names AstroDrizzle and drizrun give per-chip files."""
    return re.compile(rf"^(?P<root>[a-z0-9]{{9}})(?:_fl[tc])?_sci(?P<chip>\d+)_{kind}\.fits$", re.IGNORECASE)


_CRMASK = _chip_file_pattern("crmask")
_FINAL_MASK = _chip_file_pattern("final_mask")


def _read_zero_flags(directory: str | os.PathLike[str], pattern: re.Pattern[str]) -> dict[tuple[str, int], Any]:
    """``(rootname, chip) -> data == 0`` of the first HDU holding data, for each file of ``directory`` matching."""
    from astropy.io import fits

    masks: dict[tuple[str, int], NDArray[np.bool_]] = {}
    for path in sorted(Path(directory).iterdir()):
        match = pattern.match(path.name)
        if match is None:
            continue
        with fits.open(path) as hdul:
            data = next((hdu.data for hdu in hdul if hdu.data is not None), None)
        if data is not None:
            masks[(match["root"].lower(), int(match["chip"]))] = np.asarray(data) == 0
    return masks


def read_crmasks(directory: str | os.PathLike[str]) -> dict[tuple[str, int], NDArray[np.bool_]]:
    """Read the cosmic-ray masks a run wrote into ``directory``.

    Files are ``<root>_sci<N>_crmask.fits`` (AstroDrizzle's and drizrun's
    names) with 1 = good and 0 = cosmic ray in the first HDU holding data.

    Returns
    -------
    dict
        ``(rootname, chip) -> flagged`` with True where a cosmic ray was flagged.
    """
    return _read_zero_flags(directory, _CRMASK)


def read_final_masks(directory: str | os.PathLike[str]) -> dict[tuple[str, int], NDArray[np.bool_]]:
    """Read the masks of AstroDrizzle's final drizzle in ``directory``.

    Files are ``<root>_sci<N>_final_mask.fits`` (named by the product's
    ``D###MASK`` keywords): the weight the final drizzle gave each pixel, 0
    where the pixel was left out (DQ flags, static mask, cosmic rays).

    Returns
    -------
    dict
        ``(rootname, chip) -> left out`` with True where the pixel was left out.
    """
    return _read_zero_flags(directory, _FINAL_MASK)


# =====================================================================================
# stars: truth, isolation, apertures
# =====================================================================================


@attrs.frozen(eq=False)
class StarList:
    """True stars, with what is needed to judge their isolation.

    Attributes
    ----------
    ra, dec : numpy.ndarray
        True star positions in degrees.
    rate : numpy.ndarray
        True total count rates in electrons/s.
    others_ra, others_dec : numpy.ndarray
        Positions of every catalogue source (stars and galaxies, the stars
        themselves included).
    others_extent : numpy.ndarray
        Extent of each of those sources in arcsec beyond which its light is
        negligible (0 for stars; five half-light radii for galaxies).
    others_rate : numpy.ndarray
        Total count rate of each of those sources, electrons/s.
    """

    ra: NDArray[np.float64]
    dec: NDArray[np.float64]
    rate: NDArray[np.float64]
    others_ra: NDArray[np.float64]
    others_dec: NDArray[np.float64]
    others_extent: NDArray[np.float64]
    others_rate: NDArray[np.float64]


def read_star_list(catalogue: str | os.PathLike[str] | Any) -> StarList:
    """Stars of the simulator's source catalogue (``truth/<product>_sources.ecsv``).

    The catalogue's ``rate`` is the total count rate of each source in
    electrons/s: the simulator multiplies it by the exposure time and spreads
    it with a PSF normalised to one over its stamp, so it is the flux a perfect
    drizzled image in electrons/s holds, summed over all pixels.

    Parameters
    ----------
    catalogue : path or astropy Table
        The ECSV file or the table read from it.

    Returns
    -------
    StarList
    """
    from astropy.table import Table

    table = catalogue if not isinstance(catalogue, str | os.PathLike) else Table.read(catalogue, format="ascii.ecsv")
    kind = np.asarray(table["kind"]).astype(str)
    stars = kind == "star"
    ra = np.asarray(table["ra"], dtype=float)
    dec = np.asarray(table["dec"], dtype=float)
    r_eff = np.asarray(table["r_eff"], dtype=float)
    extent = np.where(stars, 0.0, 5.0 * np.nan_to_num(r_eff, nan=0.0))
    rate = np.asarray(table["rate"], dtype=float)
    return StarList(
        ra=ra[stars],
        dec=dec[stars],
        rate=rate[stars],
        others_ra=ra,
        others_dec=dec,
        others_extent=extent,
        others_rate=rate,
    )


def isolated(
    x: ArrayLike,
    y: ArrayLike,
    others_x: ArrayLike,
    others_y: ArrayLike,
    *,
    radius: float,
    others_extent: ArrayLike | float = 0.0,
    rate: ArrayLike | None = None,
    others_rate: ArrayLike | None = None,
    contrast: float = 0.0,
) -> NDArray[np.bool_]:
    """Which stars have no other source within ``radius`` (+ the source's extent) pixels.

    A source closer than ``1e-6`` pixels is taken to be the star itself. With
    ``rate``, ``others_rate`` and a ``contrast`` above 0, only sources at least
    ``contrast`` times as bright as the star count as neighbours: a source of
    1e-3 of a star's flux changes its aperture photometry by at most about
    1e-3 wherever it lies, and faint sources are by far the most numerous.

    Parameters
    ----------
    x, y : array_like
        Positions of the stars tested.
    others_x, others_y : array_like
        Positions of every source (may include the stars tested).
    radius : float
        Isolation radius in pixels, typically the outer radius of the
        background annulus plus a PSF width.
    others_extent : array_like or float
        Per source, pixels added to ``radius`` (the size of a galaxy).
    rate, others_rate : array_like, optional
        Total count rates of the stars tested and of every source.
    contrast : float
        Faintest neighbour that counts, as a fraction of the star's rate.

    Returns
    -------
    numpy.ndarray of bool
    """
    from scipy.spatial import cKDTree

    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ox, oy = np.asarray(others_x, dtype=float), np.asarray(others_y, dtype=float)
    extent = np.broadcast_to(np.asarray(others_extent, dtype=float), ox.shape)
    result = np.ones(xs.shape, dtype=bool)
    if ox.size == 0 or xs.size == 0:
        return result
    weigh = contrast > 0 and rate is not None and others_rate is not None
    if weigh:
        own = np.broadcast_to(np.asarray(rate, dtype=float), xs.shape)
        theirs = np.broadcast_to(np.asarray(others_rate, dtype=float), ox.shape)
    tree = cKDTree(np.column_stack([ox, oy]))
    reach = radius + float(extent.max())
    for i, neighbours in enumerate(tree.query_ball_point(np.column_stack([xs, ys]), reach)):
        for j in neighbours:
            if weigh and not theirs[j] >= contrast * own[i]:
                continue
            d = math.hypot(ox[j] - xs[i], oy[j] - ys[i])
            if d > 1e-6 and d < radius + extent[j]:
                result[i] = False
                break
    return result


def _pixel_fractions(x: float, y: float, radius: float, subsample: int) -> tuple[NDArray[np.float64], int, int]:
    """Fraction of each pixel of a stamp around ``(x, y)`` inside a circle (by sub-pixel sampling)."""
    half = int(math.ceil(radius)) + 1
    ix0, iy0 = int(math.floor(x + 0.5)) - half, int(math.floor(y + 0.5)) - half
    size = 2 * half + 1
    sub = (np.arange(size * subsample) + 0.5) / subsample - 0.5
    dx = (ix0 + sub - x)[np.newaxis, :]
    dy = (iy0 + sub - y)[:, np.newaxis]
    inside = (dx**2 + dy**2 <= radius**2).astype(np.float64)
    fractions = inside.reshape(size, subsample, size, subsample).mean(axis=(1, 3))
    return fractions, ix0, iy0


def _cutout(image: NDArray[Any], ix0: int, iy0: int, size: int) -> NDArray[np.float64]:
    """``image[iy0:iy0+size, ix0:ix0+size]`` with NaN outside the image."""
    ny, nx = image.shape
    out = np.full((size, size), np.nan)
    sx0, sy0 = max(ix0, 0), max(iy0, 0)
    sx1, sy1 = min(ix0 + size, nx), min(iy0 + size, ny)
    if sx0 < sx1 and sy0 < sy1:
        out[sy0 - iy0 : sy1 - iy0, sx0 - ix0 : sx1 - ix0] = image[sy0:sy1, sx0:sx1]
    return out


def aperture_sum(
    image: ArrayLike, x: ArrayLike, y: ArrayLike, radius: float, *, subsample: int = 7
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Sum of an image over circular apertures, with exact-ish partial pixels.

    Each pixel counts with the fraction of its area inside the circle,
    estimated on a ``subsample`` x ``subsample`` grid of sub-pixels.

    Parameters
    ----------
    image : array_like
        2-D image; NaN marks missing data.
    x, y : array_like
        0-based aperture centres.
    radius : float
        Aperture radius in pixels.
    subsample : int
        Sub-pixels per pixel along each axis.

    Returns
    -------
    tuple
        ``(sums, areas, complete)``: the sums, the aperture areas in pixels
        (sum of the fractions) and whether every pixel touched was finite and
        inside the image (sums are NaN where not).
    """
    data = np.asarray(image, dtype=np.float64)
    xs, ys = np.atleast_1d(np.asarray(x, dtype=float)), np.atleast_1d(np.asarray(y, dtype=float))
    sums = np.full(xs.shape, np.nan)
    areas = np.zeros(xs.shape)
    complete = np.zeros(xs.shape, dtype=bool)
    for k, (xi, yi) in enumerate(zip(xs, ys, strict=True)):
        fractions, ix0, iy0 = _pixel_fractions(xi, yi, radius, subsample)
        cut = _cutout(data, ix0, iy0, fractions.shape[0])
        used = fractions > 0
        areas[k] = float(fractions.sum())
        if np.all(np.isfinite(cut[used])):
            complete[k] = True
            sums[k] = float((cut[used] * fractions[used]).sum())
    return sums, areas, complete


def annulus_background(
    image: ArrayLike, x: ArrayLike, y: ArrayLike, r_in: float, r_out: float, *, clip: float = 3.0
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Local background per pixel from an annulus: iteratively 3-sigma-clipped mean.

    Pixels whose centre lies between ``r_in`` and ``r_out`` are used; NaN
    pixels are ignored. Clipping (median and 1.4826 MAD, five iterations)
    removes faint sources and cosmic-ray residuals; the mean of what remains is
    the background, an unbiased estimate for sky noise that is symmetric.

    Returns
    -------
    tuple
        ``(background, sigma, npix)`` per centre: the background per pixel, the
        robust standard deviation of one pixel and the number of pixels kept
        (background NaN when fewer than 10 remain).
    """
    data = np.asarray(image, dtype=np.float64)
    xs, ys = np.atleast_1d(np.asarray(x, dtype=float)), np.atleast_1d(np.asarray(y, dtype=float))
    background = np.full(xs.shape, np.nan)
    sigma = np.full(xs.shape, np.nan)
    npix = np.zeros(xs.shape, dtype=np.int64)
    half = int(math.ceil(r_out)) + 1
    size = 2 * half + 1
    for k, (xi, yi) in enumerate(zip(xs, ys, strict=True)):
        ix0, iy0 = int(math.floor(xi + 0.5)) - half, int(math.floor(yi + 0.5)) - half
        cut = _cutout(data, ix0, iy0, size)
        gy, gx = np.mgrid[iy0 : iy0 + size, ix0 : ix0 + size]
        r2 = (gx - xi) ** 2 + (gy - yi) ** 2
        values = cut[(r2 >= r_in**2) & (r2 <= r_out**2) & np.isfinite(cut)]
        for _ in range(5):
            if values.size < 10:
                break
            centre = np.median(values)
            spread = MAD_TO_SIGMA * np.median(np.abs(values - centre))
            if spread <= 0:
                break
            kept = values[np.abs(values - centre) <= clip * spread]
            if kept.size == values.size:
                break
            values = kept
        npix[k] = values.size
        if values.size >= 10:
            background[k] = float(values.mean())
            sigma[k] = float(MAD_TO_SIGMA * np.median(np.abs(values - np.median(values))))
    return background, sigma, npix


# =====================================================================================
# aperture correction from the simulator's PSF
# =====================================================================================


def encircled_energy(
    radii_arcsec: ArrayLike,
    *,
    fwhm_arcsec: float,
    detector_scale: float,
    pixfrac: float = 1.0,
    output_scale: float | None = None,
    oversample: int = 11,
) -> NDArray[np.float64]:
    """Fraction of a star's flux within circles on a drizzled image, from the simulator's PSF.

    The simulator spreads a star with a Moffat core (beta 2.5) plus an 8% Gaussian
    halo three times wider (:mod:`~drizrun.core.simulate.profiles2d`),
    integrated over its detector pixels and normalised to one over the stamp.
    Drizzling then spreads each input pixel's value over a *drop*, the pixel
    shrunk by ``pixfrac``, and sums over output pixels; aperture photometry with
    partial pixels finally integrates the output-pixel-averaged image. On
    average over pixel phases the light in a circle on the drizzled image is
    therefore the integral over the circle of::

        PSF ⊗ box(detector pixel) ⊗ box(pixfrac × detector pixel) ⊗ box(output pixel)

    This function computes that integral numerically on a grid ``oversample``
    times finer than the detector pixel, with the boxes aligned to the grid
    (a rotation between detector and output pixels changes the result by much
    less than the boxes themselves, which only matter at the 1% level), and
    normalises the PSF to one over the simulator's stamp (±12 FWHM), so the
    result is the fraction of the catalogue flux.

    Parameters
    ----------
    radii_arcsec : array_like
        Circle radii in arcsec.
    fwhm_arcsec : float
        PSF core FWHM in arcsec (``DetectorProfile.psf_fwhm``).
    detector_scale : float
        Detector pixel size in arcsec.
    pixfrac : float
        Drizzle drop size as a fraction of the input pixel (0 for a point
        kernel or for an image that was not drizzled).
    output_scale : float, optional
        Output pixel size in arcsec (default ``detector_scale``); 0 leaves out
        the output-pixel box.
    oversample : int
        Grid points per detector pixel along each axis (odd keeps boxes centred).

    Returns
    -------
    numpy.ndarray
        Same shape as ``radii_arcsec``.
    """
    from scipy import ndimage

    radii = np.asarray(radii_arcsec, dtype=float)
    fwhm_px = fwhm_arcsec / detector_scale
    stamp_half = max(4, int(math.ceil(4.0 * HALO_WIDTH * fwhm_px))) + 0.5
    out_px = (detector_scale if output_scale is None else output_scale) / detector_scale
    r_max = float(radii.max(initial=0.0)) / detector_scale
    extent = max(stamp_half, r_max) + 1.0 + pixfrac + out_px
    step = 1.0 / oversample
    n_half = int(math.ceil(extent / step))
    axis = np.arange(-n_half, n_half + 1) * step
    dx, dy = axis[np.newaxis, :], axis[:, np.newaxis]
    r2 = dx**2 + dy**2
    alpha = moffat_alpha(fwhm_px)
    core = (MOFFAT_BETA - 1.0) / (math.pi * alpha**2) * (1.0 + r2 / alpha**2) ** (-MOFFAT_BETA)
    sigma = HALO_WIDTH * fwhm_px / 2.3548
    halo = np.exp(-0.5 * r2 / sigma**2) / (2.0 * math.pi * sigma**2)
    psf = (1.0 - HALO_FRACTION) * core + HALO_FRACTION * halo
    in_stamp = (np.abs(dx) <= stamp_half) & (np.abs(dy) <= stamp_half)
    psf = psf * in_stamp / float((psf * in_stamp).sum())
    for width in (1.0, pixfrac, out_px):
        n = int(round(width * oversample))
        if n > 1:
            n += 1 - n % 2  # odd, so the box stays centred
            psf = ndimage.uniform_filter(psf, size=n, mode="constant")
    order = np.argsort(r2, axis=None)
    cumulative = np.cumsum(psf.ravel()[order])
    sorted_r2 = r2.ravel()[order]
    r_px2 = (radii / detector_scale) ** 2
    index = np.searchsorted(sorted_r2, r_px2, side="right")
    return np.where(index > 0, cumulative[np.maximum(index - 1, 0)], 0.0)


def expected_aperture_fraction(
    r_ap: float,
    r_in: float,
    r_out: float,
    *,
    pixel_scale: float,
    fwhm_arcsec: float,
    detector_scale: float,
    pixfrac: float = 1.0,
) -> float:
    """Fraction of a star's catalogue flux that annulus-corrected aperture photometry measures.

    ``EE(r_ap) - A_ap / A_ann * (EE(r_out) - EE(r_in))``: the light in the
    aperture minus the star's own wings that the background annulus takes for
    sky (for a mean background). Radii in pixels of the image; ``pixel_scale``
    its pixel size in arcsec; the other parameters as for
    :func:`encircled_energy` (with ``output_scale = pixel_scale``).
    """
    ee = encircled_energy(
        np.array([r_ap, r_in, r_out]) * pixel_scale,
        fwhm_arcsec=fwhm_arcsec,
        detector_scale=detector_scale,
        pixfrac=pixfrac,
        output_scale=pixel_scale,
    )
    area_ratio = r_ap**2 / (r_out**2 - r_in**2)
    return float(ee[0] - area_ratio * (ee[2] - ee[1]))


def flt_area_ratio(
    exposures: Iterable[str | os.PathLike[str]], ra: ArrayLike, dec: ArrayLike, *, step: float = 0.5
) -> NDArray[np.float64]:
    """Mean ratio of the local input pixel area to the nominal one at sky positions.

    Drizzling scales each input by ``(s_out / s_in)²`` with ``s_in`` the
    chip's nominal scale (IDCSCALE, AstroDrizzle's and drizrun's convention), and
    otherwise redistributes each input pixel's value over the sky it covers.
    The total of a point source on the drizzled image is thus its total on the
    input times ``A_local / s_in²``, the local area of an input pixel over the
    nominal one. Calibrated HST images are flat-fielded for surface
    brightness, so a star's total on them is its true flux divided by that same
    ratio (the pixel area map) and drizzling restores the true flux. The
    simulator instead puts a star's full flux into the chip, so drizzled
    simulated stars come out brighter by that ratio, averaged over the
    exposures that saw them: multiplying the true rates by this function's
    result gives the flux a correct drizzle of the simulated files yields.

    Parameters
    ----------
    exposures : iterable of path
        FLT/FLC files (SCI extensions with their WCS and IDCSCALE).
    ra, dec : array_like
        Sky positions in degrees.
    step : float
        Half-width in pixels of the finite differences giving the local
        Jacobian of the WCS.

    Returns
    -------
    numpy.ndarray
        Mean ratio over the chips where each position falls (NaN if none).
    """
    import warnings

    from astropy.io import fits
    from astropy.wcs import WCS

    ras, decs = np.atleast_1d(np.asarray(ra, dtype=float)), np.atleast_1d(np.asarray(dec, dtype=float))
    total = np.zeros(ras.shape)
    count = np.zeros(ras.shape)
    for path in exposures:
        with fits.open(path) as hdul, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for hdu in hdul:
                if hdu.name != "SCI" or hdu.data is None:
                    continue
                wcs = WCS(hdu.header, fobj=hdul)
                ny, nx = hdu.data.shape
                x, y = wcs.all_world2pix(ras, decs, 0, quiet=True)
                inside = (x > -0.5) & (x < nx - 0.5) & (y > -0.5) & (y < ny - 0.5)
                if not inside.any():
                    continue
                area = _pixel_area(wcs, x[inside], y[inside], step)
                nominal = hdu.header.get("IDCSCALE") or float(
                    np.sqrt(abs(np.linalg.det(wcs.celestial.pixel_scale_matrix))) * 3600.0
                )
                total[inside] += area / float(nominal) ** 2
                count[inside] += 1
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _pixel_area(wcs: Any, x: NDArray[np.float64], y: NDArray[np.float64], step: float) -> NDArray[np.float64]:
    """Area in arcsec² of a pixel at ``(x, y)`` from the Jacobian of ``all_pix2world``."""

    def world(px: NDArray[np.float64], py: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        r, d = wcs.all_pix2world(px, py, 0)
        return np.asarray(r), np.asarray(d)

    ra0, dec0 = world(x, y)
    cos_dec = np.cos(np.radians(dec0))
    rxp, dxp = world(x + step, y)
    rxm, dxm = world(x - step, y)
    ryp, dyp = world(x, y + step)
    rym, dym = world(x, y - step)
    j11 = (rxp - rxm) * cos_dec / (2 * step)
    j21 = (dxp - dxm) / (2 * step)
    j12 = (ryp - rym) * cos_dec / (2 * step)
    j22 = (dyp - dym) / (2 * step)
    return np.abs(j11 * j22 - j12 * j21) * 3600.0**2


# =====================================================================================
# photometry and astrometry
# =====================================================================================


@attrs.frozen(eq=False)
class PhotometryScore:
    """Aperture photometry of isolated stars compared with their true count rates.

    Attributes
    ----------
    n_stars : int
        Stars measured.
    median_error : float
        Median of ``measured / true - 1``.
    scatter : float
        1.4826 MAD of ``measured / true - 1``.
    aperture_fraction : float
        Fraction of the true flux the photometry is expected to measure (the
        measured fluxes are divided by it).
    radius, r_in, r_out : float
        Aperture and background annulus radii in pixels.
    true_rate, measured_rate, x, y : numpy.ndarray
        Per star: true and aperture-corrected measured count rates, positions.
    ids : numpy.ndarray
        Per star, the identifier given to :func:`score_photometry` (by
        default the star's index in the arrays it was given).
    """

    n_stars: int
    median_error: float
    scatter: float
    aperture_fraction: float
    radius: float
    r_in: float
    r_out: float
    true_rate: NDArray[np.float64]
    measured_rate: NDArray[np.float64]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    ids: NDArray[np.int64]

    @property
    def errors(self) -> NDArray[np.float64]:
        """``measured / true - 1`` per star."""
        return self.measured_rate / self.true_rate - 1.0

    @property
    def median_uncertainty(self) -> float:
        """Standard error of :attr:`median_error` (``1.2533 scatter / sqrt(n)``, Gaussian errors)."""
        return _median_standard_error(self.scatter, self.n_stars)


def _median_standard_error(scatter: float, n: int) -> float:
    return MEDIAN_EFFICIENCY * scatter / math.sqrt(n) if n > 0 else math.nan


@attrs.frozen
class PhotometryComparison:
    """Two photometry scores of the same stars compared star by star.

    Attributes
    ----------
    n_stars : int
        Stars measured in both.
    median : float
        Median of ``measured_a / measured_b - 1``.
    scatter : float
        1.4826 MAD of ``measured_a / measured_b - 1``.
    """

    n_stars: int
    median: float
    scatter: float


def compare_photometry(a: PhotometryScore, b: PhotometryScore) -> PhotometryComparison:
    """Photometry of two products on the stars both measured (matched by ``ids``).

    Both products hold the same exposures, so their star-by-star ratio cancels
    most of the noise the stars share (sky, read and photon noise of the
    exposures, cosmic-ray charge neither flagged): what is left is what the
    tools do differently (masks, weights, kernels, output grid).

    Parameters
    ----------
    a, b : PhotometryScore
        Scores whose ``ids`` name the same stars.

    Returns
    -------
    PhotometryComparison
    """
    common, ia, ib = np.intersect1d(a.ids, b.ids, return_indices=True)
    ratio = a.measured_rate[ia] / b.measured_rate[ib] - 1.0
    return PhotometryComparison(n_stars=int(common.size), median=_median(ratio), scatter=robust_scatter(ratio))


@attrs.frozen(eq=False)
class AstrometryScore:
    """Centroids of bright isolated stars compared with their true positions.

    Attributes
    ----------
    n_stars : int
        Stars measured.
    median_dx, median_dy : float
        Median offsets (measured - true) in pixels along x and y.
    median_offset : float
        Median length of the offset vectors, pixels.
    scatter : float
        1.4826 MAD of the offsets along x and y pooled, pixels.
    dx, dy : numpy.ndarray
        Per star offsets.
    """

    n_stars: int
    median_dx: float
    median_dy: float
    median_offset: float
    scatter: float
    dx: NDArray[np.float64]
    dy: NDArray[np.float64]

    @property
    def median_uncertainty(self) -> float:
        """Standard error of :attr:`median_dx` and :attr:`median_dy` (``1.2533 scatter / sqrt(n)``)."""
        return _median_standard_error(self.scatter, self.n_stars)


def _with_data(sci: ArrayLike, wht: ArrayLike | None) -> NDArray[np.float64]:
    data = np.array(sci, dtype=np.float64)
    if wht is not None:
        data[~(np.asarray(wht) > 0)] = np.nan
    return data


def _select_stars(
    data: NDArray[np.float64],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    rate: NDArray[np.float64],
    *,
    others_x: NDArray[np.float64] | None,
    others_y: NDArray[np.float64] | None,
    others_extent: ArrayLike | float,
    isolation: float,
    max_rate: float | None,
    others_rate: ArrayLike | None = None,
    contrast: float = 0.0,
) -> NDArray[np.bool_]:
    ny, nx = data.shape
    keep = (x > -0.5) & (x < nx - 0.5) & (y > -0.5) & (y < ny - 0.5) & np.isfinite(rate) & (rate > 0)
    if max_rate is not None:
        keep &= rate <= max_rate
    if others_x is not None and others_y is not None:
        keep &= isolated(x, y, others_x, others_y, radius=isolation, others_extent=others_extent, rate=rate,
                         others_rate=others_rate, contrast=contrast)
    return keep


def score_photometry(
    sci: ArrayLike,
    x: ArrayLike,
    y: ArrayLike,
    true_rate: ArrayLike,
    *,
    radius: float,
    r_in: float,
    r_out: float,
    aperture_fraction: float,
    wht: ArrayLike | None = None,
    others_x: ArrayLike | None = None,
    others_y: ArrayLike | None = None,
    others_extent: ArrayLike | float = 0.0,
    isolation: float | None = None,
    max_rate: float | None = None,
    others_rate: ArrayLike | None = None,
    contrast: float = 0.0,
    min_snr: float = 0.0,
    exptime: float | None = None,
    ids: ArrayLike | None = None,
) -> PhotometryScore:
    """Aperture photometry of isolated stars against their true count rates.

    For each star: the sum over a circle of ``radius`` pixels (partial pixels
    by area, :func:`aperture_sum`) minus the aperture area times the local
    background (:func:`annulus_background`), divided by
    ``aperture_fraction``, compared with the true rate in the same units
    (electrons/s for a drizzled image and the simulator's catalogue). A star is
    used when it is on the image, its aperture holds data everywhere, no other
    source lies within ``isolation`` pixels (plus a galaxy's extent), it is
    not brighter than ``max_rate`` (saturation) and its expected signal-to-noise
    ratio ``F / sqrt(A σ² + F / exptime)`` reaches ``min_snr`` (``F`` the true
    rate times ``aperture_fraction``, ``A`` the aperture area, ``σ`` the
    annulus pixel noise; the Poisson term only when ``exptime`` is given).

    Parameters
    ----------
    sci : array_like
        Drizzled image (electrons/s per pixel); NaN where no data.
    x, y : array_like
        True 0-based positions of the stars on the image.
    true_rate : array_like
        True total count rates.
    radius, r_in, r_out : float
        Aperture and background annulus radii in pixels.
    aperture_fraction : float
        Expected measured fraction of the true flux
        (:func:`expected_aperture_fraction`).
    wht : array_like, optional
        Weight image; pixels with weight <= 0 count as missing.
    others_x, others_y : array_like, optional
        Positions of every catalogue source for the isolation test (default:
        no isolation test).
    others_extent : array_like or float
        Extent of each of those sources in pixels.
    isolation : float, optional
        Isolation radius in pixels (default ``r_out + 2``).
    others_rate : array_like, optional
        Total count rate of each of those sources.
    contrast : float
        With ``others_rate``, sources fainter than this fraction of a star's
        rate do not count against its isolation (:func:`isolated`).
    max_rate : float, optional
        Brightest true rate used.
    min_snr : float
        Faintest expected signal-to-noise ratio used.
    exptime : float, optional
        Exposure time of the image for the Poisson term of the selection.
    ids : array_like of int, optional
        Identifier of each star (default: its index), kept for the stars used
        so that two scores can be compared star by star
        (:func:`compare_photometry`).

    Returns
    -------
    PhotometryScore
    """
    data = _with_data(sci, wht)
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    rates = np.asarray(true_rate, dtype=float)
    names = np.arange(xs.size, dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
    keep = _select_stars(
        data,
        xs,
        ys,
        rates,
        others_x=None if others_x is None else np.asarray(others_x, dtype=float),
        others_y=None if others_y is None else np.asarray(others_y, dtype=float),
        others_extent=others_extent,
        isolation=r_out + 2.0 if isolation is None else isolation,
        max_rate=max_rate,
        others_rate=others_rate,
        contrast=contrast,
    )
    xs, ys, rates, names = xs[keep], ys[keep], rates[keep], names[keep]
    sums, areas, complete = aperture_sum(data, xs, ys, radius)
    background, sigma, _ = annulus_background(data, xs, ys, r_in, r_out)
    measured = (sums - areas * background) / aperture_fraction
    expected = rates * aperture_fraction
    poisson = expected / exptime if exptime else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = expected / np.sqrt(areas * sigma**2 + poisson)
    good = complete & np.isfinite(measured) & (snr >= min_snr)
    errors = measured[good] / rates[good] - 1.0
    return PhotometryScore(
        n_stars=int(good.sum()),
        median_error=_median(errors),
        scatter=robust_scatter(errors),
        aperture_fraction=aperture_fraction,
        radius=radius,
        r_in=r_in,
        r_out=r_out,
        true_rate=rates[good],
        measured_rate=measured[good],
        x=xs[good],
        y=ys[good],
        ids=names[good],
    )


def windowed_centroid(
    image: ArrayLike,
    x: float,
    y: float,
    *,
    sigma: float,
    background: float = 0.0,
    iterations: int = 30,
    tolerance: float = 1e-5,
) -> tuple[float, float]:
    """Gaussian-windowed centroid (SExtractor's XWIN_IMAGE) starting from ``(x, y)``.

    Iterates ``x ← x + 2 Σ w I (x_i - x) / Σ w I`` with
    ``w = exp(-r² / 2σ²)`` over pixels within ``4σ``, ``I`` the image minus
    ``background``. The fixed point is where the windowed first moment
    vanishes: the centre of any symmetric profile, without the bias of a plain
    first moment towards neighbours or noise far from the centre.

    Returns
    -------
    tuple of float
        ``(x, y)``; NaN when a pixel of the window is missing or the windowed
        flux is not positive.
    """
    data = np.asarray(image, dtype=np.float64)
    half = int(math.ceil(4.0 * sigma)) + 1
    size = 2 * half + 1
    cx, cy = float(x), float(y)
    for _ in range(iterations):
        ix0, iy0 = int(math.floor(cx + 0.5)) - half, int(math.floor(cy + 0.5)) - half
        cut = _cutout(data, ix0, iy0, size) - background
        gy, gx = np.mgrid[iy0 : iy0 + size, ix0 : ix0 + size]
        ddx, ddy = gx - cx, gy - cy
        r2 = ddx**2 + ddy**2
        window = np.where(r2 <= (4.0 * sigma) ** 2, np.exp(-0.5 * r2 / sigma**2), 0.0)
        used = window > 0
        if not np.all(np.isfinite(cut[used])):
            return math.nan, math.nan
        weighted = np.where(used, window * np.where(used, cut, 0.0), 0.0)
        norm = float(weighted.sum())
        if norm <= 0:
            return math.nan, math.nan
        step_x = 2.0 * float((weighted * ddx).sum()) / norm
        step_y = 2.0 * float((weighted * ddy).sum()) / norm
        if not (abs(step_x) <= half and abs(step_y) <= half):
            return math.nan, math.nan
        cx, cy = cx + step_x, cy + step_y
        if step_x**2 + step_y**2 < tolerance**2:
            break
    return cx, cy


def score_astrometry(
    sci: ArrayLike,
    x: ArrayLike,
    y: ArrayLike,
    true_rate: ArrayLike,
    *,
    fwhm_px: float,
    wht: ArrayLike | None = None,
    others_x: ArrayLike | None = None,
    others_y: ArrayLike | None = None,
    others_extent: ArrayLike | float = 0.0,
    isolation: float | None = None,
    max_rate: float | None = None,
    others_rate: ArrayLike | None = None,
    contrast: float = 0.0,
    min_snr: float = 100.0,
    expected_noise: ArrayLike | None = None,
    max_noise: float | None = None,
    psf: DrizzledPSF | None = None,
    r_in: float | None = None,
    r_out: float | None = None,
    centroid: Callable[[int, float, float, float], tuple[float, float]] | None = None,
) -> AstrometryScore:
    """Centroids of bright isolated stars against their true positions.

    Stars are selected as in :func:`score_photometry` (on the image, isolated,
    not saturated) and by brightness: with ``expected_noise`` (the precision a
    centroid can reach, per star, in pixels:
    :func:`~drizrun.core.simulate.psffit.expected_centroid_noise`) a star is
    used when it is at most ``max_noise``; otherwise by an expected peak
    signal-to-noise ratio, the true rate in a circle of radius FWHM (half the
    light, roughly) over the noise of that circle, ``0.5 F / (sqrt(π) FWHM σ)``,
    of at least ``min_snr``. The local background of an annulus (default
    4-7 FWHM) is subtracted and the position measured from the true one: by
    ``centroid`` when given, else by a fit of ``psf``
    (:func:`~drizrun.core.simulate.psffit.psf_centroid`) when given, else by a
    windowed centroid (:func:`windowed_centroid`, window σ = FWHM / 2.3548).

    Parameters
    ----------
    sci : array_like
        Drizzled image.
    x, y : array_like
        True 0-based positions on the image (from the catalogue through the
        image's WCS).
    true_rate : array_like
        True count rates.
    fwhm_px : float
        PSF FWHM in pixels of the image.
    wht, others_x, others_y, others_extent, isolation, max_rate, others_rate, contrast
        As for :func:`score_photometry`.
    min_snr : float
        Faintest expected signal-to-noise ratio used (without ``expected_noise``).
    expected_noise : array_like, optional
        Per star, the expected centroid error along one axis in pixels.
    max_noise : float, optional
        Largest ``expected_noise`` used (default 0.005 pixel).
    psf : DrizzledPSF, optional
        Model of a star on the image, for a PSF-fit centroid.
    r_in, r_out : float, optional
        Background annulus radii in pixels.
    centroid : callable, optional
        ``centroid(k, x, y, background)`` measures star ``k`` (an index into
        ``x``, ``y`` and ``true_rate``) starting from its true position, with
        the local background per pixel; returns ``(x, y)``, NaN when it cannot.

    Returns
    -------
    AstrometryScore
    """
    from .psffit import psf_centroid

    data = _with_data(sci, wht)
    r_in = 4.0 * fwhm_px if r_in is None else r_in
    r_out = 7.0 * fwhm_px if r_out is None else r_out
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    rates = np.asarray(true_rate, dtype=float)
    keep = _select_stars(
        data,
        xs,
        ys,
        rates,
        others_x=None if others_x is None else np.asarray(others_x, dtype=float),
        others_y=None if others_y is None else np.asarray(others_y, dtype=float),
        others_extent=others_extent,
        isolation=r_out + 2.0 if isolation is None else isolation,
        max_rate=max_rate,
        others_rate=others_rate,
        contrast=contrast,
    )
    if expected_noise is not None:
        noise = np.broadcast_to(np.asarray(expected_noise, dtype=float), xs.shape)
        keep &= noise <= (0.005 if max_noise is None else max_noise)
    index = np.flatnonzero(keep)
    xs, ys, rates = xs[keep], ys[keep], rates[keep]
    background, sigma, _ = annulus_background(data, xs, ys, r_in, r_out)
    if expected_noise is None:
        with np.errstate(divide="ignore", invalid="ignore"):
            bright = 0.5 * rates / (math.sqrt(math.pi) * fwhm_px * sigma) >= min_snr
    else:
        bright = np.ones(xs.shape, dtype=bool)
    dx, dy = [], []
    for k, xi, yi, bi, ok in zip(index, xs, ys, background, bright, strict=True):
        if not (np.isfinite(bi) and ok):
            continue
        if centroid is not None:
            cx, cy = centroid(int(k), float(xi), float(yi), float(bi))
        elif psf is not None:
            cx, cy = psf_centroid(data, xi, yi, psf, background=bi)
        else:
            cx, cy = windowed_centroid(data, xi, yi, sigma=fwhm_px / 2.3548, background=bi)
        if np.isfinite(cx):
            dx.append(cx - xi)
            dy.append(cy - yi)
    ddx, ddy = np.array(dx), np.array(dy)
    return AstrometryScore(
        n_stars=int(ddx.size),
        median_dx=_median(ddx),
        median_dy=_median(ddy),
        median_offset=_median(np.hypot(ddx, ddy)),
        scatter=robust_scatter(np.concatenate([ddx - _median(ddx), ddy - _median(ddy)])) if ddx.size else math.nan,
        dx=ddx,
        dy=ddy,
    )


# =====================================================================================
# drizzled products
# =====================================================================================


@attrs.frozen(eq=False)
class DrizzledImage:
    """A drizzled product read back.

    Attributes
    ----------
    sci : numpy.ndarray
        Science image (NaN where no data, whatever the file held there).
    wht : numpy.ndarray or None
        Weight image.
    wcs : astropy.wcs.WCS
        Celestial WCS of SCI.
    header : astropy.io.fits.Header
        Header of the SCI image.
    path : Path
        File the SCI image came from.
    """

    sci: NDArray[np.float64]
    wht: NDArray[np.float64] | None
    wcs: Any
    header: Any
    path: Path

    @property
    def pixel_scale(self) -> float:
        """Pixel size in arcsec at the reference pixel."""
        return float(np.sqrt(abs(np.linalg.det(self.wcs.pixel_scale_matrix))) * 3600.0)

    @property
    def exptime(self) -> float | None:
        """EXPTIME of the SCI header, if any."""
        value = self.header.get("EXPTIME")
        return float(value) if value is not None else None

    def pixel(self, ra: ArrayLike, dec: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """0-based pixel positions of sky positions (degrees)."""
        x, y = self.wcs.all_world2pix(np.asarray(ra, dtype=float), np.asarray(dec, dtype=float), 0, quiet=True)
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def find_drizzled(directory: str | os.PathLike[str], root: str) -> Path | None:
    """The drizzled product of ``root`` in ``directory``.

    Looks for ``<root>_drz.fits`` and ``<root>_drc.fits`` (SCI, WHT, CTX
    extensions), then ``<root>_drz_sci.fits`` and ``<root>_drc_sci.fits``
    (AstroDrizzle with ``build=False``, its default: one file per array).
    """
    base = Path(directory)
    for name in (f"{root}_drz.fits", f"{root}_drc.fits", f"{root}_drz_sci.fits", f"{root}_drc_sci.fits"):
        if (base / name).is_file():
            return base / name
    return None


def read_drizzled(path: str | os.PathLike[str]) -> DrizzledImage:
    """Read a drizzled product: SCI, WHT and the WCS of SCI.

    Accepts a multi-extension file (SCI and WHT extensions) or AstroDrizzle's
    separate ``*_sci.fits`` (data in the primary HDU) with its ``*_wht.fits``
    beside it. Pixels where WHT is 0 are set to NaN in SCI, so products that
    fill empty pixels with a value compare like products that leave NaN.
    """
    import warnings

    from astropy.io import fits
    from astropy.wcs import WCS, FITSFixedWarning

    path = Path(path)
    with fits.open(path) as hdul:
        names = [hdu.name for hdu in hdul]
        if "SCI" in names:
            sci_hdu = hdul["SCI"]
            sci = np.array(sci_hdu.data, dtype=np.float64)
            header = sci_hdu.header.copy()
            for key in ("EXPTIME", "TEXPTIME", "BUNIT"):
                if key not in header and key in hdul[0].header:
                    header[key] = hdul[0].header[key]  # keywords of the primary header that SCI inherits
            wht = np.array(hdul["WHT"].data, dtype=np.float64) if "WHT" in names else None
        else:
            sci = np.array(hdul[0].data, dtype=np.float64)
            header = hdul[0].header.copy()
            wht = None
    if wht is None and path.name.endswith("_sci.fits"):
        wht_path = path.with_name(path.name[: -len("_sci.fits")] + "_wht.fits")
        if wht_path.is_file():
            wht = np.array(fits.getdata(wht_path), dtype=np.float64)
    if wht is not None:
        sci[~(wht > 0)] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        wcs = WCS(header).celestial
    return DrizzledImage(sci=sci, wht=wht, wcs=wcs, header=header, path=path)


def drizzled_noise(
    sci: ArrayLike, wht: ArrayLike, *, exposure_weights: bool = True, source_noise: bool = True
) -> NDArray[np.float64]:
    """Noise of each pixel of a drizzled image, in its units, from its own sky and weights.

    ``σ² = σ_ref² · W_ref / W + max(sci, 0) / W``:

    * the first term is the background noise. ``W_ref`` is the median weight
      over pixels with data and ``σ_ref`` the robust standard deviation
      (1.4826 MAD, after 3-sigma clipping of sources) of SCI over the pixels
      whose weight is within 5% of ``W_ref``. Measuring it on the image
      includes everything that sets the sky noise (sky, dark, read noise and
      the smoothing by drizzling, which makes neighbouring pixels correlated
      and the single-pixel noise smaller than propagated errors say); scaling
      by ``1/W`` holds for exposure-time and inverse-variance weights alike;
    * the second term is the Poisson noise of the sources for exposure-time
      weights (``W`` in seconds, ``sci`` in electrons/s:
      ``sci · W`` electrons, variance ``sci / W`` in (electrons/s)²). It is
      left out when ``exposure_weights`` or ``source_noise`` is false.

    Parameters
    ----------
    sci, wht : array_like
        The drizzled image and its weights.
    exposure_weights : bool
        Whether WHT is an exposure time (AstroDrizzle's ``final_wht_type = EXP``,
        its default) rather than an inverse variance.
    source_noise : bool
        Whether to add the sources' Poisson noise.

    Returns
    -------
    numpy.ndarray
        NaN where there is no data.
    """
    data = np.asarray(sci, dtype=np.float64)
    weight = np.asarray(wht, dtype=np.float64)
    good = np.isfinite(data) & (weight > 0)
    if not good.any():
        return np.full(data.shape, np.nan)
    w_ref = float(np.median(weight[good]))
    near = good & (np.abs(weight - w_ref) <= 0.05 * w_ref)
    values = data[near] if near.sum() >= 100 else data[good]
    for _ in range(5):
        centre = np.median(values)
        spread = MAD_TO_SIGMA * np.median(np.abs(values - centre))
        kept = values[np.abs(values - centre) <= 3.0 * spread]
        if kept.size == values.size or kept.size < 100:
            break
        values = kept
    sigma_ref = robust_scatter(values)
    variance = np.full(data.shape, np.nan)
    variance[good] = sigma_ref**2 * w_ref / weight[good]
    if exposure_weights and source_noise:
        variance[good] += np.clip(data[good], 0.0, None) / weight[good]
    return np.sqrt(variance)


@attrs.frozen
class Agreement:
    """Two drizzled images compared pixel by pixel in units of their noise.

    Attributes
    ----------
    n_pixels : int
        Pixels where both have data.
    median : float
        Median of ``(a - b) / σ``.
    scatter : float
        1.4826 MAD of ``(a - b) / σ``.
    max_abs : float
        Largest ``|a - b| / σ``.
    overlap : float
        Pixels where both have data over pixels where either has.
    resampled : bool
        Whether ``b`` was interpolated onto the grid of ``a``.
    """

    n_pixels: int
    median: float
    scatter: float
    max_abs: float
    overlap: float
    resampled: bool


def _same_grid(a: DrizzledImage, b: DrizzledImage, tolerance: float) -> bool:
    if a.sci.shape != b.sci.shape:
        return False
    ny, nx = a.sci.shape
    px = np.array([0.0, nx - 1.0, 0.0, nx - 1.0, (nx - 1) / 2.0])
    py = np.array([0.0, 0.0, ny - 1.0, ny - 1.0, (ny - 1) / 2.0])
    ra, dec = a.wcs.all_pix2world(px, py, 0)
    bx, by = b.wcs.all_world2pix(ra, dec, 0)
    return bool(np.all(np.hypot(bx - px, by - py) < tolerance))


def _resample(b: DrizzledImage, a: DrizzledImage, values: NDArray[np.float64], rows: int = 256) -> NDArray[np.float64]:
    """``values`` (on the grid of ``b``) interpolated bilinearly at the pixels of ``a``; NaN outside."""
    from scipy import ndimage

    ny, nx = a.sci.shape
    out = np.full((ny, nx), np.nan)
    finite = np.isfinite(values)
    filled = np.where(finite, values, 0.0)
    for start in range(0, ny, rows):
        gy, gx = np.mgrid[start : min(start + rows, ny), 0:nx].astype(np.float64)
        ra, dec = a.wcs.all_pix2world(gx, gy, 0)
        bx, by = b.wcs.all_world2pix(ra, dec, 0)
        coords = np.array([by, bx])
        chunk = ndimage.map_coordinates(filled, coords, order=1, mode="constant", cval=np.nan)
        # a value is usable only when all four neighbours have data
        support = ndimage.map_coordinates(finite.astype(np.float64), coords, order=1, mode="constant", cval=0.0)
        chunk[support < 1.0 - 1e-9] = np.nan
        out[start : start + chunk.shape[0]] = chunk
    return out


def compare_drizzled(
    a: DrizzledImage,
    b: DrizzledImage,
    *,
    noise: ArrayLike | None = None,
    exposure_weights: bool = True,
    tolerance: float = 0.01,
) -> Agreement:
    """Agreement of two drizzled images of the same data, in units of the noise.

    When both share a pixel grid (same shape and WCS within ``tolerance``
    pixels at the corners and centre) they are compared pixel by pixel.
    Otherwise ``b`` (and its weights) is interpolated bilinearly onto the grid
    of ``a`` through both WCSs (``scipy.ndimage.map_coordinates``, only where
    the four neighbouring pixels have data): interpolation smooths the noise
    of ``b`` and blurs its undersampled stars, so the scatter then measures
    the resampling as well and the comparison is flagged ``resampled``.

    The noise is the mean of both images' variances (:func:`drizzled_noise`),
    computed on the grid of ``a``: both images come from the same exposures,
    so ``(a - b) / σ`` says how large their difference is compared with the
    noise of either, and is close to 0 with a small scatter when they agree.

    Parameters
    ----------
    a, b : DrizzledImage
        The products (``b`` is the reference).
    noise : array_like, optional
        Noise on the grid of ``a`` to use instead.
    exposure_weights : bool
        Whether the WHT arrays are exposure times (see :func:`drizzled_noise`).
    tolerance : float
        Pixels within which two grids count as the same.

    Returns
    -------
    Agreement
    """
    if a.wht is None or b.wht is None:
        if noise is None:
            raise ValueError("compare_drizzled needs WHT arrays or an explicit noise")
    resampled = not _same_grid(a, b, tolerance)
    if resampled:
        b_sci = _resample(b, a, b.sci)
        b_wht = None if b.wht is None else _resample(b, a, np.where(b.wht > 0, b.wht, np.nan))
    else:
        b_sci, b_wht = b.sci, b.wht
    if noise is None:
        assert a.wht is not None and b_wht is not None
        var_a = drizzled_noise(a.sci, a.wht, exposure_weights=exposure_weights) ** 2
        var_b = drizzled_noise(b_sci, np.nan_to_num(b_wht, nan=0.0), exposure_weights=exposure_weights) ** 2
        sigma = np.sqrt(0.5 * (var_a + var_b))
    else:
        sigma = np.asarray(noise, dtype=np.float64)
    has_a, has_b = np.isfinite(a.sci), np.isfinite(b_sci)
    both = has_a & has_b & np.isfinite(sigma) & (sigma > 0)
    either = has_a | has_b
    ratio = (a.sci[both] - b_sci[both]) / sigma[both]
    return Agreement(
        n_pixels=int(both.sum()),
        median=_median(ratio),
        scatter=robust_scatter(ratio),
        max_abs=float(np.max(np.abs(ratio))) if ratio.size else math.nan,
        overlap=float(both.sum() / either.sum()) if either.any() else math.nan,
        resampled=resampled,
    )
