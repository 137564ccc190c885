"""Cosmic rays found in one image alone, by their sharpness (a Laplacian edge test).

Where a chip pixel is covered by fewer than two other exposures the median
cannot tell a cosmic ray from the sky (with no other exposure the median *is*
the chip; with one, it is the mean of the hit and the clean value). There a
cosmic ray can still be told from the sky and from astronomical sources by its
shape: it is sharper than the point-spread function. The test follows the
idea of L.A.Cosmic (van Dokkum 2001, PASP 113, 1420): a positive Laplacian
that is large against the noise, on a pixel whose neighbourhood has no fine
structure of its own. The formulas below are drizrun's, in electrons.

With ``v`` a pixel's value and ``u, d, l, r`` its four edge neighbours, the
four *corner Laplacians* of the pixel are ``2v - u - l``, ``2v - u - r``,
``2v - d - l`` and ``2v - d - r`` (the Laplacian of the image subsampled two
times, evaluated on the pixel's four sub-pixels). The *sharpness* ``L`` is
half the mean of their positive parts, so a lone spike of amplitude ``A`` on a
flat background has ``L = A``. Below, ``median₃`` and ``median₇`` are the
3 x 3 and 7 x 7 medians, and ``level₅`` a local level: the median over 5
pixels along each row, then along each column (close to the 5 x 5 median and
several times faster). A pixel is a candidate when:

* ``L / σ − level₅(L / σ) > snr``: the sharpness, in units of the noise
  ``σ`` of the pixel's surroundings (the Poisson model on ``level₅(D)``,
  with the read noise), stands out against the local level of the
  sharpness image (which removes the positive Laplacian of smooth extended
  sources);
* ``L > contrast · F``, with the fine structure ``F = median₃(D) −
  median₇(median₃(D))``: a 3 x 3 median removes a cosmic ray but keeps the
  core of a star, so stars have ``F`` comparable to ``L``, cosmic rays much
  smaller. ``F`` is computed only at the pixels that pass the first
  condition (few; the 7 x 7 median is the costliest filter of the test).

Every edge neighbour of a flagged pixel that rises above its surroundings
(``D − level₅(D) > grow_snr · σ``) is added, ``grow_steps`` times (once by
default): the charge a cosmic ray shares with the pixels beside it, and
pixels between two brighter ones along a track. Only the sharpness test
starts a growth, so it does not wander into stars.

Pixels marked in ``ignore`` (known defects: their DQ flags explain an excess
such as a hot pixel's) are never flagged, and their eight neighbours are not
candidates (the charge a saturated pixel bleeds along its column ends in a
sharp pixel next to it); they can still be reached by the growth. Those
below the local level of their surroundings (dead pixels) and non-finite
pixels are replaced by it before the test, so that they do not make their
neighbours look sharp.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

from .crdetect import box_dilation, edge_dilation

__all__ = ["fine_structure_at", "sharpness", "single_image_mask", "single_image_mask_where"]

#: Pixels beyond a tile that its test depends on (level of the sharpness of the level, 3 x 3 then 7 x 7 medians).
_MARGIN = 8


def sharpness(image: ArrayLike) -> NDArray[np.float32]:
    """Half the mean positive corner Laplacian of every pixel (``A`` for a lone spike of amplitude ``A``).

    Parameters
    ----------
    image : array_like, (ny, nx)
        Finite values; the border is extended by repeating the edge pixels.

    Returns
    -------
    ndarray of float32
    """
    v = np.asarray(image, dtype=np.float32)
    padded = np.pad(v, 1, mode="edge")
    up, down = padded[:-2, 1:-1], padded[2:, 1:-1]
    left, right = padded[1:-1, :-2], padded[1:-1, 2:]
    total = np.zeros_like(v)
    for a in (up, down):
        for b in (left, right):
            total += np.maximum(2.0 * v - a - b, 0.0)
    return total / np.float32(8.0)


def single_image_mask(
    data: ArrayLike,
    *,
    read_noise: float,
    snr: float = 5.0,
    contrast: float = 4.0,
    grow_snr: float = 2.0,
    grow_steps: int = 1,
    ignore: ArrayLike | None = None,
) -> NDArray[np.bool_]:
    """Return the cosmic rays of one image found from the image alone (``True`` = cosmic ray).

    Parameters
    ----------
    data : array_like, (ny, nx)
        The image in electrons, sky included. Non-finite pixels are never
        flagged.
    read_noise : float
        Read noise in electrons.
    snr : float
        Sharpness threshold in units of the noise (see the module docstring).
    contrast : float
        Least ratio of the sharpness to the fine structure of the
        neighbourhood; stars and other sources of the image's own resolution
        stay below it.
    grow_snr : float
        Excess over the local level, in units of the noise, above which an
        edge neighbour of a flagged pixel is flagged too.
    grow_steps : int
        How many times the flags grow to such neighbours (0: never).
    ignore : array_like of bool, optional
        Known defects: never flagged, their eight neighbours are not
        candidates, and those below their surroundings are filled in before
        the test.

    Returns
    -------
    ndarray of bool
    """
    d = np.array(data, dtype=np.float32)
    if d.ndim != 2:
        raise ValueError(f"data must be 2-D, got shape {d.shape}")
    bad = ~np.isfinite(d)
    beside_defect = np.zeros(d.shape, dtype=bool)
    if ignore is not None:
        skip = np.asarray(ignore, dtype=bool)
        if skip.shape != d.shape:
            raise ValueError(f"ignore has shape {skip.shape}, data {d.shape}")
        bad |= skip
        beside_defect = box_dilation(skip)
    level = np.float32(np.median(d[~bad])) if (~bad).any() else np.float32(0.0)
    smooth = _local_median(np.where(bad, level, d), 5)
    if bad.any():
        # dead and non-finite pixels would make their neighbours look sharp: fill them in;
        # pixels above their surroundings (hot, saturated) keep their values
        d = np.where(~np.isfinite(d) | (bad & (d < smooth)), smooth, d)
    noise = np.sqrt(np.abs(smooth) + np.float32(read_noise) ** 2).astype(np.float32)
    lap = sharpness(d)
    significance = lap / noise
    significance -= _local_median(significance, 5)
    mask = (significance > snr) & ~bad & ~beside_defect
    ys, xs = np.nonzero(mask)
    if ys.size:
        # the fine structure only where the sharpness passes: few pixels, and its 7 x 7 median is costly
        fine = np.maximum(fine_structure_at(d, ys, xs), np.float32(0.01) * noise[ys, xs])
        mask[ys, xs] = lap[ys, xs] > contrast * fine
    excess = d - smooth
    above = (excess > grow_snr * noise) & ~bad
    for _ in range(grow_steps):
        grown = edge_dilation(mask) & above
        if not (grown & ~mask).any():
            break
        mask |= grown
    return mask


def fine_structure_at(image: ArrayLike, ys: ArrayLike, xs: ArrayLike) -> NDArray[np.float32]:
    """The fine structure ``median₃(D) − median₇(median₃(D))`` at some pixels only.

    Equal to filtering the whole image (borders extended by repeating the edge
    pixels) and reading the result at ``(ys, xs)``, at a cost proportional to
    the number of pixels asked for.

    Parameters
    ----------
    image : array_like, (ny, nx)
        The image ``D``.
    ys, xs : array_like of int, (k,)
        Row and column of each pixel.

    Returns
    -------
    ndarray of float32, (k,)
    """
    d = np.asarray(image, dtype=np.float32)
    ny, nx = d.shape
    y = np.asarray(ys, dtype=np.intp)[:, None, None, None, None]
    x = np.asarray(xs, dtype=np.intp)[:, None, None, None, None]
    wide = np.arange(-3, 4)[:, None, None, None]  # the 7 x 7 window
    near = np.arange(-1, 2)[:, None]  # the 3 x 3 window around each of its pixels
    rows = np.clip(np.clip(y + wide, 0, ny - 1) + near, 0, ny - 1)
    cols = np.clip(np.clip(x + wide.reshape(1, 7, 1, 1), 0, nx - 1) + near.reshape(1, 3), 0, nx - 1)
    values = d[rows, cols].reshape(len(np.atleast_1d(ys)), 7, 7, 9)
    small = np.median(values, axis=-1)
    return (small[:, 3, 3] - np.median(small.reshape(-1, 49), axis=-1)).astype(np.float32)


def _local_median(image: np.ndarray, size: int) -> np.ndarray:
    """Median over ``size`` pixels along each row, then along each column (a fast local level)."""
    rows = ndimage.median_filter(image, size=(1, size), mode="nearest")
    return ndimage.median_filter(rows, size=(size, 1), mode="nearest")


def single_image_mask_where(
    data: ArrayLike,
    region: ArrayLike,
    *,
    read_noise: float,
    tile: int = 64,
    **options: Any,
) -> NDArray[np.bool_]:
    """:func:`single_image_mask` evaluated only where ``region`` is true.

    The image is tested in tiles of ``tile`` x ``tile`` pixels (with a margin
    wide enough for every filter of the test) that contain part of the
    region, so a thin region costs little.

    Parameters
    ----------
    data : array_like, (ny, nx)
        The image in electrons, sky included.
    region : array_like of bool, (ny, nx)
        Where to test.
    read_noise : float
        Read noise in electrons.
    tile : int
        Tile size in pixels.
    **options
        The other keywords of :func:`single_image_mask` (``ignore`` is an
        image of the same shape as ``data``).

    Returns
    -------
    ndarray of bool
        Flags inside ``region`` only.
    """
    d = np.asarray(data)
    where = np.asarray(region, dtype=bool)
    if where.shape != d.shape or d.ndim != 2:
        raise ValueError(f"data and region must be 2-D of one shape, got {d.shape} and {where.shape}")
    ignore = options.pop("ignore", None)
    ignore = None if ignore is None else np.asarray(ignore, dtype=bool)
    mask = np.zeros(d.shape, dtype=bool)
    ny, nx = d.shape
    margin = _MARGIN + 2 * options.get("grow_steps", 1)
    for y0 in range(0, ny, tile):
        for x0 in range(0, nx, tile):
            inner = np.s_[y0 : y0 + tile, x0 : x0 + tile]
            if not where[inner].any():
                continue
            ya, yb = max(y0 - margin, 0), min(y0 + tile + margin, ny)
            xa, xb = max(x0 - margin, 0), min(x0 + tile + margin, nx)
            outer = np.s_[ya:yb, xa:xb]
            found = single_image_mask(d[outer], read_noise=read_noise,
                                      ignore=None if ignore is None else ignore[outer], **options)
            mask[inner] |= found[y0 - ya : y0 - ya + min(tile, ny - y0), x0 - xa : x0 - xa + min(tile, nx - x0)]
    return mask & where
