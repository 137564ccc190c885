"""Cosmic-ray detection by comparing each chip with its blotted median.

All quantities in electrons. With ``D`` the chip's data (sky included), ``B``
the blotted median (sky added back), ``∇B`` its derivative image (maximum
absolute difference to the four neighbours) and ``σ`` the expected noise, a
pixel is a cosmic ray when::

    |D - B| > scale[1]*∇B + snr[1]*σ                     (second threshold)
    and some pixel of its 3x3 neighbourhood has
    |D - B| > scale[0]*∇B + snr[0]*σ                     (first threshold)

(AstroDrizzle's driz_cr test). Pixels marked as not ``support`` (pixels with
DQ flags: a hot pixel's excess is its own) may be flagged themselves but do
not confirm their neighbours through the first threshold.

With ``neighbour_snr = (seed, low)``, the flags then grow once more, with a
lower threshold around the confirmed hits: every edge neighbour of a flagged
supporting pixel with ``D - B > seed*σ`` is flagged when ``D - B > low*σ``.
A cosmic ray shares part of its charge with the pixels that share an edge
with it; next to a bright hit that share can exceed 5σ while staying below
the second threshold (whose derivative term also grows with the noise of the
blotted median itself).

The mask is then grown to a ``grow`` x ``grow``
box around each flagged pixel (AstroDrizzle's ``driz_cr_grow``: 1 means no
growth, 3 one pixel all around), and by ``ctegrow`` pixels along the column on
the side away from the amplifier, where charge lost during read-out trails.
``cte_direction`` +1 means charge moves towards increasing row index during
read-out (so trails extend towards decreasing rows), -1 the opposite, 0 no
charge transfer.

Noise models:

* ``poisson`` (AstroDrizzle's): ``σ = sqrt(g*|B| + RN²)/g`` with the gain ``g``
  (1 for data already in electrons) and read noise ``RN``. AstroDrizzle adds
  the sky to ``B`` a second time here although ``B`` already contains it; drizrun
  counts it once, which makes the test as sensitive as the data allow;
* ``err``: ``σ`` is the chip's ERR array, in electrons.

Pixels where ``B`` or ``D`` is not finite (no median there) are never flagged.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

from drizrun.kernels import CR_FIRST as FIRST
from drizrun.kernels import CR_LOW as LOW
from drizrun.kernels import CR_SECOND as SECOND
from drizrun.kernels import CR_SEED as SEED
from drizrun.kernels import cr_tests

__all__ = [
    "NOISE_MODELS",
    "box_dilation",
    "cosmic_ray_mask",
    "edge_dilation",
    "grow_mask",
    "median_offset",
    "poisson_noise",
]

#: Noise models :func:`cosmic_ray_mask` accepts.
NOISE_MODELS = ("poisson", "err")


def poisson_noise(
    blotted: ArrayLike, *, gain: float, read_noise: float, out: NDArray[np.float32] | None = None
) -> NDArray[np.float32]:
    """Expected noise in electrons of a pixel whose true value is ``blotted``.

    Parameters
    ----------
    blotted : array_like
        Blotted median in electrons, sky included.
    gain : float
        Effective gain (electrons per count of the data as stored; 1 for data
        in electrons).
    read_noise : float
        Read noise in electrons.
    out : ndarray of float32, optional
        Where to put the result (a new array by default).

    Returns
    -------
    ndarray of float32
        ``out`` when given.
    """
    sigma = np.abs(np.asarray(blotted), out=out, dtype=np.float32)
    # in place, with the float32 rounding of sqrt(gain * |b| + RN**2) / gain
    sigma *= np.float32(gain)
    sigma += np.float32(read_noise**2)
    np.sqrt(sigma, out=sigma)
    sigma /= np.float32(gain)
    return sigma


def median_offset(data: ArrayLike, blotted: ArrayLike, noise: ArrayLike, *, step: int = 4) -> float:
    """Typical offset of a chip from its blotted median, in units of the noise.

    A median that rejects the highest value of every pixel (minmed, or
    ``combine_nhigh``) is biased low, by about a tenth of the noise for four
    exposures, so ``D - B`` is biased high and the test more likely to flag
    noise than its thresholds say. The median of ``(D - B) / σ`` over the chip
    measures that bias (and any residual sky mismatch); cosmic rays and
    sources are too few to move it.

    Parameters
    ----------
    data, blotted, noise : array_like, (ny, nx)
        As for :func:`cosmic_ray_mask`.
    step : int
        Every ``step``-th row and column is used (the median of a few hundred
        thousand pixels is exact enough).

    Returns
    -------
    float
        0 when no pixel has a finite ratio.
    """
    d = np.asarray(data)[::step, ::step]
    b = np.asarray(blotted)[::step, ::step]
    sigma = np.asarray(noise)[::step, ::step]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (d - b) / sigma
    ratio = ratio[np.isfinite(ratio)]
    return float(np.median(ratio)) if ratio.size else 0.0


def cosmic_ray_mask(
    data: ArrayLike,
    blotted: ArrayLike,
    deriv: ArrayLike,
    noise: ArrayLike,
    *,
    snr: tuple[float, float] = (3.5, 3.0),
    scale: tuple[float, float] = (1.2, 0.7),
    grow: int = 1,
    ctegrow: int = 0,
    cte_direction: int = 0,
    support: ArrayLike | None = None,
    neighbour_snr: tuple[float, float] | None = None,
    offset: float = 0.0,
) -> NDArray[np.bool_]:
    """Return the cosmic-ray mask of one chip (``True`` = cosmic ray).

    Parameters
    ----------
    data : array_like, (ny, nx)
        The chip's data in electrons, sky included.
    blotted : array_like, (ny, nx)
        The blotted median in electrons, sky included.
    deriv : array_like, (ny, nx)
        Derivative image of ``blotted`` (``drizrun.kernels.abs_deriv``).
    noise : array_like, (ny, nx)
        Expected noise in electrons (:func:`poisson_noise` or the ERR array).
    snr, scale : tuple of float
        The first and second thresholds (see module docstring).
    grow : int
        Size of the square box each flagged pixel is grown to (0 or 1: none).
    ctegrow : int
        Length in pixels of the growth along the column, away from the amplifier.
    cte_direction : int
        +1 or -1: direction of charge transfer along the row index; 0: none.
    support : array_like of bool, optional
        Pixels that may confirm their neighbours (default: all).
    neighbour_snr : tuple of float, optional
        ``(seed, low)`` of the growth to edge neighbours (unset: none).
    offset : float
        The chip is compared with ``blotted + offset * noise`` (the
        correction of :func:`median_offset`; 0: with ``blotted`` itself).

    Returns
    -------
    ndarray of bool

    Notes
    -----
    The per-pixel tests run in one pass of a compiled kernel
    (:func:`drizrun.kernels.cr_tests`), which writes one byte per pixel
    instead of a float array per term of the thresholds.
    """
    seed, low = (np.inf, np.inf) if neighbour_snr is None else neighbour_snr
    # checks that the four images are 2-D of one shape
    tests = cr_tests(data, blotted, deriv, noise, offset=offset, snr=snr, scale=scale, seed=seed, low=low)
    supporting = None
    if support is not None:
        supporting = np.asarray(support, dtype=bool)
        if supporting.shape != tests.shape:
            raise ValueError(f"support has shape {supporting.shape}, data {tests.shape}")
    first = (tests & FIRST) != 0
    confirming = first if supporting is None else first & supporting
    near_first = box_dilation(confirming)
    mask = ((tests & SECOND) != 0) & (near_first | first)
    if neighbour_snr is not None:
        seeds = mask & ((tests & SEED) != 0)
        if supporting is not None:
            seeds &= supporting
        mask |= edge_dilation(seeds) & ((tests & LOW) != 0)
    return grow_mask(mask, grow=grow, ctegrow=ctegrow, cte_direction=cte_direction)


def box_dilation(mask: ArrayLike) -> NDArray[np.bool_]:
    """Flagged pixels and their eight neighbours (a binary dilation by a 3x3 box; outside: unflagged).

    The same as ``scipy.ndimage.maximum_filter(mask, size=3, mode="constant")``
    on booleans, as two passes of shifted ORs.

    Parameters
    ----------
    mask : array_like of bool, (ny, nx)
        Not modified.

    Returns
    -------
    ndarray of bool
    """
    return _spread(_spread(np.asarray(mask, dtype=bool), 0), 1)


def edge_dilation(mask: ArrayLike) -> NDArray[np.bool_]:
    """Flagged pixels and their four edge neighbours (a binary dilation by a cross; outside: unflagged).

    Parameters
    ----------
    mask : array_like of bool, (ny, nx)
        Not modified.

    Returns
    -------
    ndarray of bool
    """
    m = np.asarray(mask, dtype=bool)
    return _spread(m, 0) | _spread(m, 1)


def _spread(m: NDArray[np.bool_], axis: int) -> NDArray[np.bool_]:
    """``m`` ORed with itself shifted by one pixel both ways along ``axis`` (a new array)."""
    out = m.copy()
    a, b = np.moveaxis(out, axis, 0), np.moveaxis(m, axis, 0)
    a[1:] |= b[:-1]
    a[:-1] |= b[1:]
    return out


def grow_mask(mask: ArrayLike, *, grow: int = 1, ctegrow: int = 0, cte_direction: int = 0) -> NDArray[np.bool_]:
    """Grow a cosmic-ray mask to a ``grow`` x ``grow`` box and along the read-out direction.

    Parameters
    ----------
    mask : array_like of bool, (ny, nx)
        Cosmic rays (``True``); not modified.
    grow : int
        Size of the square box each flagged pixel is grown to (0 or 1: none).
    ctegrow : int
        Length in pixels of the growth along the column, away from the amplifier.
    cte_direction : int
        +1 or -1: direction of charge transfer along the row index; 0: none.

    Returns
    -------
    ndarray of bool
    """
    out = np.asarray(mask, dtype=bool)
    if grow > 1:
        out = ndimage.maximum_filter(out, size=grow, mode="constant", cval=False)
    if ctegrow > 0 and cte_direction != 0:
        out = _grow_along_readout(out, ctegrow, cte_direction)
    return out


def _grow_along_readout(mask: np.ndarray, length: int, direction: int) -> np.ndarray:
    """Flag the ``length`` pixels of each column trailing every flagged pixel."""
    footprint = np.zeros((2 * length + 1, 1), dtype=bool)
    # maximum_filter sets row i from rows i + k - length for the True entries k: with
    # k = length .. 2*length, row i is flagged when a flagged pixel lies within `length`
    # rows above it in index, i.e. on the amplifier side when charge moves up (+1).
    footprint[length:] = True
    if direction < 0:
        footprint = footprint[::-1]
    return ndimage.maximum_filter(mask, footprint=footprint, mode="constant", cval=False)
