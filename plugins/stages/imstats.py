"""Clipped image statistics: the engine behind the static mask and the sky.

The statistics of a set of pixel values are computed by iterative clipping:
starting from ``[lower, upper]``, each iteration computes the mean and standard
deviation of the values inside the current range and narrows the range to
``[mean - lsigma*stddev, mean + usigma*stddev]`` (never beyond ``lower``/
``upper``). From the final range come the median, the mean, the standard
deviation and the mode, found as the peak of a histogram with bins
``binwidth * stddev`` wide, refined by a parabola through the peak bin and its
two neighbours (the same definitions as AstroDrizzle's statistics engine; see
reference-pipelines §2.2).
"""

from __future__ import annotations

import math

import attrs
import numpy as np
from numpy.typing import ArrayLike

__all__ = ["ClippedStats", "clipped_stats"]


@attrs.frozen
class ClippedStats:
    """Statistics of the values left after clipping.

    Attributes
    ----------
    npix : int
        Number of values inside the final range.
    mean, median, mode, stddev : float
        Their statistics (NaN when ``npix`` is 0; ``stddev`` 0 for one value).
    lower, upper : float
        The final clipping range.
    """

    npix: int
    mean: float
    median: float
    mode: float
    stddev: float
    lower: float
    upper: float

    def value(self, statistic: str) -> float:
        """Return ``"mean"``, ``"median"`` or ``"mode"``."""
        if statistic not in ("mean", "median", "mode"):
            raise ValueError(f"unknown statistic {statistic!r}; use mean, median or mode")
        return float(getattr(self, statistic))


def clipped_stats(
    values: ArrayLike,
    *,
    nclip: int = 5,
    lsigma: float = 4.0,
    usigma: float = 4.0,
    lower: float | None = None,
    upper: float | None = None,
    binwidth: float = 0.1,
    max_samples: int | None = None,
) -> ClippedStats:
    """Iteratively clipped statistics of pixel values.

    Parameters
    ----------
    values : array_like
        Pixel values of any shape; NaN and infinite values are ignored.
    nclip : int
        Number of clipping iterations (0: no clipping).
    lsigma, usigma : float
        Lower and upper clipping limits in standard deviations.
    lower, upper : float, optional
        Hard limits; values outside are never used.
    binwidth : float
        Histogram bin width for the mode, in units of the standard deviation.
    max_samples : int, optional
        Use at most about this many values, taken at a regular stride through
        the array (deterministic): with a million values the statistics of a
        chip's sky are within a thousandth of a standard deviation of the
        full computation, at a small fraction of the cost. Default: all.

    Returns
    -------
    ClippedStats
    """
    data = np.asarray(values).ravel()
    if max_samples is not None and data.size > max_samples:
        data = data[:: -(-data.size // max_samples)]
    data = data.astype(np.float64)
    data = data[np.isfinite(data)]
    lo = -math.inf if lower is None else float(lower)
    hi = math.inf if upper is None else float(upper)
    inside = data[(data >= lo) & (data <= hi)]
    for _ in range(max(nclip, 0)):
        if inside.size < 2:
            break
        mean = float(inside.mean())
        std = float(inside.std())
        new_lo = max(lo, mean - lsigma * std)
        new_hi = min(hi, mean + usigma * std)
        if new_lo == lo and new_hi == hi:
            break
        lo, hi = new_lo, new_hi
        kept = inside[(inside >= lo) & (inside <= hi)]
        if kept.size == inside.size:
            break
        inside = kept
    if inside.size == 0:
        nan = float("nan")
        return ClippedStats(0, nan, nan, nan, nan, lo, hi)
    mean = float(inside.mean())
    std = float(inside.std())
    return ClippedStats(
        npix=int(inside.size),
        mean=mean,
        median=float(np.median(inside)),
        mode=_histogram_mode(inside, std, binwidth),
        stddev=std,
        lower=lo,
        upper=hi,
    )


def _histogram_mode(values: np.ndarray, std: float, binwidth: float) -> float:
    vmin, vmax = float(values.min()), float(values.max())
    width = binwidth * std
    if width <= 0 or vmax - vmin < 2 * width:
        return float(np.median(values))
    nbins = int(min(math.ceil((vmax - vmin) / width), 1_000_000))
    counts, edges = np.histogram(values, bins=nbins, range=(vmin, vmin + nbins * width))
    peak = int(np.argmax(counts))
    centre = 0.5 * (edges[peak] + edges[peak + 1])
    if 0 < peak < nbins - 1:
        left, mid, right = (float(c) for c in counts[peak - 1 : peak + 2])
        curvature = left - 2 * mid + right
        if curvature < 0:
            centre += 0.5 * width * (left - right) / curvature
    return centre
