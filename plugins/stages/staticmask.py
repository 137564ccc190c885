"""Static bad-pixel mask: pixels far below the sky in every exposure of a detector.

For each chip the clipped statistics of the whole science array give a mode
and a standard deviation; pixels below ``mode - static_sig * stddev`` are bad.
The masks of every chip with the same signature (instrument, detector, chip,
shape) are combined with a logical AND of the good pixels: a pixel is bad in
the static mask when it is bad in any exposure. This catches over-subtracted
dark and hot pixels, which show up as strongly negative values (reference-
pipelines §2.2).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .imstats import clipped_stats

__all__ = ["chip_static_mask"]


#: Values the chip statistics are computed from (a regular subsample of larger chips).
STAT_SAMPLES = 2**20


def chip_static_mask(sci: ArrayLike, *, static_sig: float, nclip: int = 3) -> NDArray[np.bool_]:
    """Return the good-pixel mask of one chip (``True`` = good).

    Parameters
    ----------
    sci : array_like
        Science array of the chip.
    static_sig : float
        Threshold below the mode, in standard deviations.
    nclip : int
        Clipping iterations (3σ about the mean) for the statistics.

    Returns
    -------
    ndarray of bool
        ``False`` for pixels below ``mode - static_sig * stddev``, and for NaN
        pixels; all ``True`` when the chip has too few valid values to judge.
    """
    data = np.asarray(sci, dtype=np.float32)
    finite = np.isfinite(data)
    stats = clipped_stats(data[finite], nclip=nclip, lsigma=3.0, usigma=3.0, max_samples=STAT_SAMPLES)
    if stats.npix < 2 or not stats.stddev > 0:
        return finite
    threshold = stats.mode - static_sig * stats.stddev
    with np.errstate(invalid="ignore"):
        return finite & (data >= threshold)
