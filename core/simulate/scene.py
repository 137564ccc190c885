"""The simulated sky: a catalogue of stars and galaxies, and its rendering into chips.

Fluxes are count rates in electrons per second, so every exposure of a visit
sees the same sky. Brightnesses follow a rising number count (dN/dm ∝
10^(0.25 m)) over a range chosen so the brightest stars just saturate and the
faintest are near the detection limit; one star in forty (at least one) is
drawn from the brightest magnitude, so every visit has saturated stars.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from .distortion import tangent_point
from .profiles2d import psf_stamp, sersic_stamp

__all__ = ["Injection", "SourceCatalogue", "make_catalogue", "pixel_area_ratio", "render_sources"]

_COUNT_SLOPE = 0.25


@attrs.frozen(eq=False)
class SourceCatalogue:
    """True sources of a simulated visit (arrays of equal length).

    Attributes
    ----------
    kind : numpy.ndarray of str
        ``"star"`` or ``"galaxy"``.
    ra, dec : numpy.ndarray
        True positions in degrees.
    rate : numpy.ndarray
        Total count rate in electrons per second.
    r_eff : numpy.ndarray
        Galaxy half-light radius along the major axis, arcsec (NaN for stars).
    sersic_n : numpy.ndarray
        Galaxy Sersic index (NaN for stars).
    axis_ratio : numpy.ndarray
        Galaxy minor/major axis ratio (NaN for stars).
    pa : numpy.ndarray
        Galaxy major-axis position angle, degrees east of north (NaN for stars).
    """

    kind: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    rate: np.ndarray
    r_eff: np.ndarray
    sersic_n: np.ndarray
    axis_ratio: np.ndarray
    pa: np.ndarray

    def __len__(self) -> int:
        return len(self.ra)

    def to_table(self) -> Any:
        """The catalogue as an astropy Table with units and descriptions."""
        import astropy.units as u
        from astropy.table import Table

        table = Table()
        table["id"] = np.arange(1, len(self) + 1)
        table["kind"] = self.kind
        table["ra"] = self.ra * u.deg
        table["dec"] = self.dec * u.deg
        table["rate"] = self.rate * u.electron / u.s
        table["r_eff"] = self.r_eff * u.arcsec
        table["sersic_n"] = self.sersic_n
        table["axis_ratio"] = self.axis_ratio
        table["pa"] = self.pa * u.deg
        table["ra"].info.format = ".8f"
        table["dec"].info.format = ".8f"
        table["rate"].description = "total count rate (flux) in the simulated filter"
        table["r_eff"].description = "galaxy half-light radius along the major axis"
        table["pa"].description = "galaxy major axis, east of north"
        return table


def _magnitude_offsets(rng: np.random.Generator, n: int, depth: float) -> np.ndarray:
    """Draw ``n`` magnitudes below the brightest, with dN/dm ∝ 10^(0.25 m), over ``depth`` mag."""
    top = 10.0 ** (_COUNT_SLOPE * depth) - 1.0
    return np.log10(1.0 + rng.uniform(size=n) * top) / _COUNT_SLOPE


def make_catalogue(
    rng: np.random.Generator,
    *,
    centre: tuple[float, float],
    box: tuple[float, float, float, float],
    n_stars: int,
    n_galaxies: int,
    star_rate_max: float,
    galaxy_rate_max: float,
    depth: float,
) -> SourceCatalogue:
    """Draw a random catalogue uniformly over a tangent-plane box.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    centre : tuple of float
        Tangent point (RA, Dec) in degrees.
    box : tuple of float
        ``(xi_min, xi_max, eta_min, eta_max)`` in degrees about ``centre``.
    n_stars, n_galaxies : int
        Numbers of sources.
    star_rate_max, galaxy_rate_max : float
        Brightest count rates in electrons/s.
    depth : float
        Magnitude range below the brightest.

    Returns
    -------
    SourceCatalogue
    """
    n = n_stars + n_galaxies
    xi = rng.uniform(box[0], box[1], size=n)
    eta = rng.uniform(box[2], box[3], size=n)
    positions = [tangent_point(np.array([a, b]), *centre) for a, b in zip(xi, eta, strict=True)]
    ra = np.array([p[0] for p in positions])
    dec = np.array([p[1] for p in positions])
    star_offsets = _magnitude_offsets(rng, n_stars, depth)
    n_bright = min(n_stars, max(1, n_stars // 40))
    star_offsets[:n_bright] = rng.uniform(0.0, 1.0, size=n_bright)
    rate = np.concatenate(
        [
            star_rate_max * 10.0 ** (-0.4 * star_offsets),
            galaxy_rate_max * 10.0 ** (-0.4 * _magnitude_offsets(rng, n_galaxies, depth - 1.0)),
        ]
    )
    nan = np.full(n_stars, np.nan)
    return SourceCatalogue(
        kind=np.array(["star"] * n_stars + ["galaxy"] * n_galaxies),
        ra=ra,
        dec=dec,
        rate=rate,
        r_eff=np.concatenate([nan, np.exp(rng.normal(math.log(0.2), 0.5, size=n_galaxies)).clip(0.05, 1.5)]),
        sersic_n=np.concatenate([nan, rng.uniform(0.6, 4.0, size=n_galaxies)]),
        axis_ratio=np.concatenate([nan, rng.uniform(0.3, 1.0, size=n_galaxies)]),
        pa=np.concatenate([nan, rng.uniform(0.0, 180.0, size=n_galaxies)]),
    )


@attrs.frozen(eq=False)
class Injection:
    """What one chip received from the catalogue.

    Attributes
    ----------
    index : numpy.ndarray of int
        Catalogue rows (0-based) of the sources that fell on the chip.
    x, y : numpy.ndarray
        Their 0-based pixel positions.
    electrons : numpy.ndarray
        Electrons of each source placed inside the chip.
    """

    index: np.ndarray
    x: np.ndarray
    y: np.ndarray
    electrons: np.ndarray


def render_sources(
    image: np.ndarray,
    wcs: Any,
    catalogue: SourceCatalogue,
    *,
    exptime: float,
    psf_fwhm_px: float,
    pixel_scale: float,
) -> Injection:
    """Add the catalogue's sources, in electrons, to one chip's image.

    Parameters
    ----------
    image : numpy.ndarray
        ``(ny, nx)`` float array, modified in place.
    wcs : astropy.wcs.WCS
        The chip's WCS (with its distortion): true positions are mapped
        through it, so distortion shifts sources as it would on the sky.
    catalogue : SourceCatalogue
        The sources.
    exptime : float
        Seconds.
    psf_fwhm_px : float
        PSF FWHM in pixels.
    pixel_scale : float
        Arcsec per pixel, for galaxy sizes.

    Returns
    -------
    Injection
    """
    ny, nx = image.shape
    if len(catalogue) == 0:
        empty = np.zeros(0)
        return Injection(np.zeros(0, dtype=int), empty, empty, empty)
    x, y = wcs.all_world2pix(catalogue.ra, catalogue.dec, 0, quiet=True)
    cd = wcs.pixel_scale_matrix
    margin = 40
    inside = np.flatnonzero((x > -margin) & (x < nx + margin) & (y > -margin) & (y < ny + margin))
    kept, xs, ys, placed = [], [], [], []
    flat_field = pixel_area_ratio(wcs, x[inside], y[inside])
    for k, i in enumerate(inside):
        flux = catalogue.rate[i] * exptime * flat_field[k]
        if catalogue.kind[i] == "star":
            stamp, x0, y0 = psf_stamp(x[i], y[i], psf_fwhm_px)
        else:
            r_eff = catalogue.r_eff[i] / pixel_scale
            pa = math.radians(catalogue.pa[i])
            direction = np.linalg.solve(cd, np.array([math.sin(pa), math.cos(pa)]))
            theta = math.atan2(direction[1], direction[0])
            half = int(min(40, max(6, math.ceil(5.0 * r_eff))))
            stamp, x0, y0 = sersic_stamp(
                x[i],
                y[i],
                r_eff=r_eff,
                n=catalogue.sersic_n[i],
                axis_ratio=catalogue.axis_ratio[i],
                theta=theta,
                half=half,
            )
        electrons = _add_stamp(image, stamp * flux, x0, y0)
        if electrons > 0:
            kept.append(i)
            xs.append(x[i])
            ys.append(y[i])
            placed.append(electrons)
    return Injection(np.array(kept, dtype=int), np.array(xs), np.array(ys), np.array(placed))


def _sky_area(wcs: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Area on the sky (square degrees) of the pixels centred at ``x``, ``y``, from the full WCS."""
    h = 0.5
    ra_x0, dec_x0 = wcs.all_pix2world(x - h, y, 0)
    ra_x1, dec_x1 = wcs.all_pix2world(x + h, y, 0)
    ra_y0, dec_y0 = wcs.all_pix2world(x, y - h, 0)
    ra_y1, dec_y1 = wcs.all_pix2world(x, y + h, 0)
    cos_dec = np.cos(np.radians(dec_x0))
    dra_x = (((ra_x1 - ra_x0) + 180.0) % 360.0 - 180.0) * cos_dec
    dra_y = (((ra_y1 - ra_y0) + 180.0) % 360.0 - 180.0) * cos_dec
    return np.abs(dra_x * (dec_y1 - dec_y0) - dra_y * (dec_x1 - dec_x0))


def pixel_area_ratio(wcs: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Flat-field factor of calibrated HST images: pixel area at the reference pixel over the local one.

    Calibrated FLT/FLC images are flat-fielded to a uniform surface
    brightness, so a source's counts are its true counts times this ratio
    (the inverse of the pixel area map); drizzling multiplies by the local
    area again and restores the true flux.

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        The chip's WCS with its distortion.
    x, y : ndarray
        0-based pixel positions.

    Returns
    -------
    ndarray
    """
    x = np.atleast_1d(np.asarray(x, dtype=float))
    y = np.atleast_1d(np.asarray(y, dtype=float))
    if x.size == 0:
        return np.ones(0)
    ref_x, ref_y = (float(v) - 1.0 for v in wcs.wcs.crpix)
    reference = _sky_area(wcs, np.array([ref_x]), np.array([ref_y]))[0]
    return reference / _sky_area(wcs, x, y)


def _add_stamp(image: np.ndarray, stamp: np.ndarray, x0: int, y0: int) -> float:
    ny, nx = image.shape
    size_y, size_x = stamp.shape
    ix0, iy0 = max(x0, 0), max(y0, 0)
    ix1, iy1 = min(x0 + size_x, nx), min(y0 + size_y, ny)
    if ix0 >= ix1 or iy0 >= iy1:
        return 0.0
    part = stamp[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0]
    image[iy0:iy1, ix0:ix1] += part
    return float(part.sum())
