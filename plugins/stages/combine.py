"""Combining separately drizzled images into a median, in row sections.

Every method works on a stack of N images (e⁻/s) with their weight images:

* a pixel of image i is *masked* where its weight is below ``maskpt`` times
  the mean of that image's positive weights, where it is not finite, or where
  it falls outside ``[lthresh, hthresh]``;
* ``median``, ``mean`` and ``sum`` combine the unmasked values of each pixel
  after rejecting its ``nlow`` lowest and ``nhigh`` highest ones (a pixel
  with ``nlow + nhigh`` or fewer unmasked values combines all of them rather
  than losing its only measurements);
* ``minmed`` (AstroDrizzle's default for few images) takes the median of the
  unmasked values (after rejecting the highest when three or more remain; the
  mean of two; the value of one), and uses the minimum instead wherever the
  minimum is lower than the median by more than ``nsigma[0]`` times the noise
  expected from the median, the sky and the read noise, in electrons::

      sigma = sqrt(max(0, M*ΣW + Σ W_i*sky_i/t_i + Σ_unmasked RN_i²))
      use the minimum where  m*ΣW < M*ΣW - nsigma*sigma

  with a second pass that uses ``nsigma[1]`` within ``grow`` pixels of a
  pixel that took its minimum (reference-pipelines §2.6);
* the ``i`` variants (``imedian``, ``iminmed``) return the value of the last
  image where every value of a pixel is masked, instead of no data, so
  saturated star cores masked in every image do not become holes.

Where every value of a pixel is masked the result is NaN ("no data"), not 0 as
in AstroDrizzle: a 0 looks like real sky to the blot and cosmic-ray stages and
makes them flag every input pixel there, while NaN makes them skip it.

The images are read a section of rows at a time, so memory stays bounded by
``buffer_mib`` whatever the number of images; with ``grow`` the sections
overlap so the growth sees its neighbours.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

from drizrun.core.parallel import ordered_map

__all__ = ["COMBINE_TYPES", "combine_images", "weight_thresholds"]

#: The combination methods :func:`combine_images` knows.
COMBINE_TYPES = ("median", "imedian", "minmed", "iminmed", "mean", "sum")


def weight_thresholds(weights: Sequence[ArrayLike], maskpt: float) -> list[float]:
    """Return each image's weight threshold: ``maskpt`` times its mean positive weight.

    Parameters
    ----------
    weights : sequence of array_like
        Weight images, read one at a time.
    maskpt : float
        Fraction of the mean weight below which a pixel is masked.

    Returns
    -------
    list of float
    """
    thresholds = []
    for weight in weights:
        values = np.asarray(weight)
        positive = values[values > 1e-8]
        thresholds.append(float(maskpt * positive.mean()) if positive.size else np.inf)
    return thresholds


def combine_images(
    images: Sequence[NDArray[Any]],
    weights: Sequence[NDArray[Any]],
    *,
    method: str = "minmed",
    nlow: int = 0,
    nhigh: int = 0,
    lthresh: float | None = None,
    hthresh: float | None = None,
    maskpt: float = 0.3,
    nsigma: tuple[float, float] = (4.0, 3.0),
    grow: int = 1,
    sky: Sequence[float] | None = None,
    exptime: Sequence[float] | None = None,
    read_noise: Sequence[float] | None = None,
    buffer_mib: float = 64.0,
    num_cores: int = 1,
    thresholds: Sequence[float] | None = None,
) -> NDArray[np.float32]:
    """Combine single-drizzled images pixel by pixel.

    Parameters
    ----------
    images : sequence of ndarray, each (ny, nx)
        Separately drizzled images in e⁻/s (memory-mapped arrays are fine:
        only one row section of each is read at a time).
    weights : sequence of ndarray, each (ny, nx)
        Their weight images (exposure time × good-pixel mask).
    method : str
        One of :data:`COMBINE_TYPES`.
    nlow, nhigh : int
        Lowest and highest unmasked values rejected per pixel (median, mean, sum).
    lthresh, hthresh : float, optional
        Values below/above are masked.
    maskpt : float
        Weight fraction below which a pixel is masked (see module docstring).
    nsigma : tuple of float
        minmed thresholds: first pass, and within ``grow`` of a chosen minimum.
    grow : int
        minmed growth radius in pixels.
    sky : sequence of float, optional
        Sky level of each image in electrons (minmed noise model; default 0).
    exptime : sequence of float, optional
        Exposure time of each image (minmed; default 1).
    read_noise : sequence of float, optional
        Read noise of each image in electrons (minmed; default 0).
    buffer_mib : float
        Memory budget for one row section of the whole stack, in MiB.
    num_cores : int
        Sections combined side by side on this many threads (the result is
        the same whatever the number; memory grows with it).
    thresholds : sequence of float, optional
        :func:`weight_thresholds` of ``weights`` with ``maskpt``, when already
        computed (each takes a pass over a whole weight image).

    Returns
    -------
    ndarray of float32, (ny, nx)
        The combined image; NaN where every value was masked (except for the
        ``i`` variants, see module docstring).

    Raises
    ------
    ValueError
        On an unknown method, mismatched shapes or an empty stack.
    """
    if method not in COMBINE_TYPES:
        raise ValueError(f"unknown combine type {method!r}; use one of {', '.join(COMBINE_TYPES)}")
    n = len(images)
    if n == 0 or len(weights) != n:
        raise ValueError(f"need as many weight images as images, got {n} images and {len(weights)} weights")
    shape = np.shape(images[0])
    for array in (*images, *weights):
        if np.shape(array) != shape or len(shape) != 2:
            raise ValueError(f"every image and weight must have the shape {shape} of the first image")
    sky_e = np.asarray(sky if sky is not None else np.zeros(n), dtype=np.float64)
    times = np.asarray(exptime if exptime is not None else np.ones(n), dtype=np.float64)
    rn = np.asarray(read_noise if read_noise is not None else np.zeros(n), dtype=np.float64)
    if thresholds is None:
        thresholds = weight_thresholds(weights, maskpt)
    elif len(thresholds) != n:
        raise ValueError(f"need one weight threshold per image, got {len(thresholds)} for {n} images")

    ny, nx = shape
    halo = grow if method in ("minmed", "iminmed") else 0
    bytes_per_row = max(1, n * nx * 4 * 6)  # stack, weights, mask, sorted copy and temporaries
    rows = max(1, int(buffer_mib * 2**20 // bytes_per_row) - 2 * halo)
    result = np.empty(shape, dtype=np.float32)
    thresholds_f32 = np.asarray(thresholds, dtype=np.float32)[:, None, None]

    def combine_section(start: int) -> tuple[int, int, np.ndarray]:
        stop = min(ny, start + rows)
        lo, hi = max(0, start - halo), min(ny, stop + halo)
        stack = np.stack([np.asarray(image[lo:hi], dtype=np.float32) for image in images])
        wht = np.stack([np.asarray(weight[lo:hi], dtype=np.float32) for weight in weights])
        masked = ~np.isfinite(stack) | (wht < thresholds_f32)
        with np.errstate(invalid="ignore"):
            if lthresh is not None:
                masked |= stack < lthresh
            if hthresh is not None:
                masked |= stack > hthresh
        if method in ("minmed", "iminmed"):
            section = _minmed(stack, wht, masked, nsigma, grow, sky_e, times, rn)
        else:
            section = _reject_and_combine(stack, masked, method.lstrip("i"), nlow, nhigh)
        if method.startswith("i"):
            everything_masked = masked.all(axis=0)
            section = np.where(everything_masked, stack[-1], section)
        return start, stop, section[start - lo : start - lo + (stop - start)]

    for start, stop, values in ordered_map(combine_section, range(0, ny, rows), num_cores=num_cores):
        result[start:stop] = values
    return result


#: Stacks up to this deep are sorted with a compare-exchange network (fast for few
#: images); deeper ones with ``np.sort``.
NETWORK_MAX_DEPTH = 12


def _sorted_unmasked(stack: np.ndarray, masked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort each pixel's values with masked ones (as NaN) last; return values and counts."""
    values = np.where(masked, np.float32(np.inf), stack)
    depth = values.shape[0]
    if depth <= NETWORK_MAX_DEPTH:
        # odd-even transposition network: depth rounds of element-wise min/max
        low = np.empty_like(values[0])
        for round_ in range(depth):
            for i in range(round_ % 2, depth - 1, 2):
                np.minimum(values[i], values[i + 1], out=low)
                np.maximum(values[i], values[i + 1], out=values[i + 1])
                values[i] = low
    else:
        values.sort(axis=0)
    values[np.isinf(values)] = np.nan  # masked values (every finite value is unmasked)
    return values, (~masked).sum(axis=0)


def _reject_and_combine(stack: np.ndarray, masked: np.ndarray, method: str, nlow: int, nhigh: int) -> np.ndarray:
    ordered, count = _sorted_unmasked(stack, masked)
    keep = count - nlow - nhigh
    first = np.full(count.shape, nlow)
    # never reject every value of a pixel: with too few left, combine all of them
    too_few = (keep <= 0) & (count > 0)
    keep = np.where(too_few, count, keep)
    first = np.where(too_few, 0, first)
    if method == "median":
        return _middle(ordered, first, keep)
    index = np.arange(ordered.shape[0])[:, None, None]
    inside = (index >= first) & (index < first + keep)
    total = np.where(inside, ordered, 0.0).sum(axis=0, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        combined = total / keep if method == "mean" else total
    return np.where(keep > 0, combined, np.nan).astype(np.float32)


def _middle(ordered: np.ndarray, first: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Median of ``ordered[first : first + keep]`` along axis 0, NaN where ``keep <= 0``."""
    top = ordered.shape[0] - 1
    low = np.clip(first + (keep - 1) // 2, 0, top)[None]
    high = np.clip(first + keep // 2, 0, top)[None]
    a = np.take_along_axis(ordered, low, axis=0)[0].astype(np.float64)
    b = np.take_along_axis(ordered, high, axis=0)[0].astype(np.float64)
    return np.where(keep > 0, 0.5 * (a + b), np.nan).astype(np.float32)


def _minmed(
    stack: np.ndarray,
    wht: np.ndarray,
    masked: np.ndarray,
    nsigma: tuple[float, float],
    grow: int,
    sky: np.ndarray,
    exptime: np.ndarray,
    read_noise: np.ndarray,
) -> np.ndarray:
    ordered, count = _sorted_unmasked(stack, masked)
    # median estimate: drop the highest value when three or more remain
    keep = np.where(count >= 3, count - 1, count)
    median = _middle(ordered, np.zeros_like(count), keep).astype(np.float64)
    minimum = ordered[0].astype(np.float64)  # NaN where everything is masked

    total_weight = wht.sum(axis=0, dtype=np.float64)
    sky_term = _plane_sum(sky / exptime, wht)
    rn_term = _plane_sum(read_noise**2, ~masked)
    with np.errstate(invalid="ignore"):
        sigma = np.sqrt(np.maximum(0.0, median * total_weight + sky_term + rn_term))
        gap = median * total_weight - minimum * total_weight
        chosen = gap > nsigma[0] * sigma
        if grow > 0:
            near = ndimage.maximum_filter(chosen, size=2 * grow + 1, mode="constant", cval=False)
            chosen |= near & (gap > nsigma[1] * sigma)
    return np.where(chosen, minimum, median).astype(np.float32)


def _plane_sum(coefficients: np.ndarray, planes: np.ndarray) -> np.ndarray:
    """``sum_k coefficients[k] * planes[k]`` in float64, plane by plane.

    One pass per plane in a fixed order (no BLAS: its threads would compete
    with the stage's own and spin when idle).
    """
    total = np.zeros(planes.shape[1:], dtype=np.float64)
    term = np.empty_like(total)
    for coefficient, plane in zip(np.asarray(coefficients, dtype=np.float64), planes, strict=True):
        np.multiply(plane, coefficient, out=term, dtype=np.float64)
        total += term
    return total
