"""Footprints of chips on the sky and the overlap between exposures.

A chip's footprint is the outline of its pixel area (pixel corners, from
``(-0.5, -0.5)`` to ``(nx - 0.5, ny - 0.5)`` in 0-based pixels) mapped to the
sky through its full distortion, sampled along every edge. The overlap of two
exposures is measured on a regular grid of sample pixels of the first one,
mapped into every chip of the second with the exact pixel maps of
:mod:`drizrun.core.geometry.pixmap`: the fraction of samples that land on a
pixel of the second exposure is the fraction of the first one's area it
covers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from .errors import NoOverlapError, UnsupportedWcsError
from .pixmap import astropy_pixmap, model_pixmap
from .wcsmodel import TanModel

__all__ = [
    "ChipGeometry",
    "Footprint",
    "Overlap",
    "as_chip_geometry",
    "check_overlaps",
    "chip_footprint",
    "overlap",
    "sky_unit_vectors",
]


@attrs.frozen(eq=False)
class ChipGeometry:
    """A chip's WCS and shape: what geometry needs of a chip.

    Attributes
    ----------
    wcs : astropy.wcs.WCS
        The chip's WCS with its full distortion.
    shape : tuple of int
        ``(ny, nx)`` of the chip.
    label : str
        Name used in messages (``"j8bt06nyq_flt.fits[SCI,1]"``).
    """

    wcs: Any = attrs.field(repr=False)
    shape: tuple[int, int]
    label: str = ""


def as_chip_geometry(chip: Any, label: str = "") -> ChipGeometry:
    """Accept a :class:`ChipGeometry`, an exposure ``Chip`` or a ``(wcs, shape)`` pair.

    Parameters
    ----------
    chip : ChipGeometry, drizrun Chip, or tuple
        Anything with ``wcs`` and ``shape`` attributes, or ``(wcs, (ny, nx))``.
    label : str
        Name for messages when `chip` carries none.

    Returns
    -------
    ChipGeometry
    """
    if isinstance(chip, ChipGeometry):
        return chip
    if isinstance(chip, tuple) and len(chip) == 2:
        wcs, shape = chip
    else:
        wcs, shape = chip.wcs, chip.shape
        if not label and hasattr(chip, "path"):
            label = f"{getattr(chip.path, 'name', chip.path)}[SCI,{getattr(chip, 'extver', '?')}]"
    ny, nx = (int(n) for n in shape)
    return ChipGeometry(wcs=wcs, shape=(ny, nx), label=label)


def _edge_pixels(shape: tuple[int, int], step: float) -> NDArray[np.float64]:
    """0-based pixel positions along the outer edge of a chip, counter-clockwise."""
    ny, nx = shape
    x0, x1, y0, y1 = -0.5, nx - 0.5, -0.5, ny - 0.5
    nxs = max(1, math.ceil(nx / step))
    nys = max(1, math.ceil(ny / step))
    bottom = np.stack([np.linspace(x0, x1, nxs, endpoint=False), np.full(nxs, y0)], axis=1)
    right = np.stack([np.full(nys, x1), np.linspace(y0, y1, nys, endpoint=False)], axis=1)
    top = np.stack([np.linspace(x1, x0, nxs, endpoint=False), np.full(nxs, y1)], axis=1)
    left = np.stack([np.full(nys, x0), np.linspace(y1, y0, nys, endpoint=False)], axis=1)
    return np.concatenate([bottom, right, top, left])


@attrs.frozen(eq=False)
class Footprint:
    """Outline of one chip on the sky.

    Attributes
    ----------
    label : str
        The chip's name.
    pixels : ndarray of float64, shape (n, 2)
        0-based pixel positions of the outline (counter-clockwise in pixels).
    sky : ndarray of float64, shape (n, 2)
        Their right ascension and declination, degrees.
    """

    label: str
    pixels: NDArray[np.float64] = attrs.field(repr=False)
    sky: NDArray[np.float64] = attrs.field(repr=False)

    @property
    def corners(self) -> NDArray[np.float64]:
        """RA/Dec of the four outer pixel corners, in outline order."""
        px = self.pixels
        lo = px.min(axis=0)
        hi = px.max(axis=0)
        idx = [int(np.argmin(np.hypot(*(px - c).T))) for c in
               ((lo[0], lo[1]), (hi[0], lo[1]), (hi[0], hi[1]), (lo[0], hi[1]))]
        return self.sky[idx]


def chip_footprint(chip: Any, *, step: float = 64.0) -> Footprint:
    """The sky outline of a chip, through its full distortion.

    Parameters
    ----------
    chip : ChipGeometry, Chip or (wcs, shape)
        The chip.
    step : float
        Spacing of the outline samples along each edge, pixels.

    Returns
    -------
    Footprint
    """
    geo = as_chip_geometry(chip)
    px = _edge_pixels(geo.shape, step)
    ra, dec = geo.wcs.all_pix2world(px[:, 0], px[:, 1], 0)
    return Footprint(label=geo.label, pixels=px, sky=np.stack([ra, dec], axis=1))


def sky_unit_vectors(radec: NDArray[np.float64]) -> NDArray[np.float64]:
    """Unit vectors of RA/Dec positions (degrees), shape ``(n, 3)``."""
    a = np.deg2rad(radec[:, 0])
    d = np.deg2rad(radec[:, 1])
    return np.stack([np.cos(d) * np.cos(a), np.cos(d) * np.sin(a), np.sin(d)], axis=1)


def _map_grid(src: ChipGeometry, dst: ChipGeometry, step: int) -> NDArray[np.float64]:
    """Positions in `dst` of a grid of `src` pixels spaced by `step` (0-based)."""
    ny, nx = src.shape
    gy = max(1, math.ceil(ny / step))
    gx = max(1, math.ceil(nx / step))
    # sample the centres of step x step cells
    x0 = (nx - (gx - 1) * step - 1) / 2.0
    y0 = (ny - (gy - 1) * step - 1) / 2.0
    grid = (x0, y0, float(step), float(step))
    try:
        a = TanModel.from_wcs(src.wcs)
        b = TanModel.from_wcs(dst.wcs)
    except UnsupportedWcsError:
        return astropy_pixmap(src.wcs, dst.wcs, (gy, gx), grid=grid)
    return model_pixmap(a, b, (gy, gx), grid=grid)


@attrs.frozen
class Overlap:
    """How much two exposures overlap.

    Attributes
    ----------
    fraction_a : float
        Fraction of the first exposure's pixel area that falls on the second.
    fraction_b : float
        Fraction of the second exposure's pixel area that falls on the first.
    area : float
        Area of the overlap, square arcseconds (estimated from the samples of
        the first exposure and its linear pixel scale).
    """

    fraction_a: float
    fraction_b: float
    area: float

    @property
    def overlaps(self) -> bool:
        """Whether any sample of either exposure falls on the other."""
        return self.fraction_a > 0 or self.fraction_b > 0


def _covered(src_chips: Sequence[ChipGeometry], dst_chips: Sequence[ChipGeometry],
             step: int) -> tuple[int, int, float]:
    """Samples of `src_chips` inside any of `dst_chips`, total samples, covered area (arcsec^2)."""
    inside_total = 0
    total = 0
    area = 0.0
    for s in src_chips:
        hit: NDArray[np.bool_] | None = None
        for d in dst_chips:
            xy = _map_grid(s, d, step)
            ny, nx = d.shape
            with np.errstate(invalid="ignore"):
                inside = ((xy[..., 0] >= -0.5) & (xy[..., 0] < nx - 0.5)
                          & (xy[..., 1] >= -0.5) & (xy[..., 1] < ny - 0.5))
            hit = inside if hit is None else (hit | inside)
        assert hit is not None
        n_in = int(hit.sum())
        inside_total += n_in
        total += hit.size
        scale = _pixel_scale(s)
        area += n_in / hit.size * s.shape[0] * s.shape[1] * scale**2
    return inside_total, total, area


def _pixel_scale(chip: ChipGeometry) -> float:
    m = np.asarray(chip.wcs.pixel_scale_matrix, dtype=np.float64)
    return math.sqrt(abs(float(np.linalg.det(m)))) * 3600.0


def overlap(a: Sequence[Any], b: Sequence[Any], *, step: int = 32) -> Overlap:
    """Overlap of two exposures, each given as its chips.

    Parameters
    ----------
    a, b : sequence of ChipGeometry, Chip or (wcs, shape)
        The chips of each exposure.
    step : int
        Spacing of the sample grid, pixels.

    Returns
    -------
    Overlap
    """
    ca = [as_chip_geometry(c) for c in a]
    cb = [as_chip_geometry(c) for c in b]
    if not ca or not cb:
        return Overlap(0.0, 0.0, 0.0)
    ia, na, area = _covered(ca, cb, step)
    ib, nb, _ = _covered(cb, ca, step)
    return Overlap(fraction_a=ia / na, fraction_b=ib / nb, area=area)


def check_overlaps(exposures: Sequence[tuple[str, Sequence[Any]]], *, step: int = 64) -> None:
    """Refuse a set of exposures in which one overlaps none of the others.

    Parameters
    ----------
    exposures : sequence of (name, chips)
        Every exposure with its chips.
    step : int
        Spacing of the sample grid, pixels.

    Raises
    ------
    NoOverlapError
        Naming the first exposure that overlaps no other one.
    """
    if len(exposures) < 2:
        return
    linked = [False] * len(exposures)
    for i in range(len(exposures)):
        for j in range(i + 1, len(exposures)):
            if linked[i] and linked[j]:
                continue
            if overlap(exposures[i][1], exposures[j][1], step=step).overlaps:
                linked[i] = linked[j] = True
    for (name, _), ok in zip(exposures, linked, strict=True):
        if not ok:
            others = ", ".join(n for n, _ in exposures if n != name)
            raise NoOverlapError(f"{name} does not overlap any other input on the sky ({others}); "
                                 "drizzle it separately or remove it")
