"""How many other exposures cover each pixel of a chip in the median.

The median can only reject a cosmic ray on a chip pixel when enough other
exposures have data there: with none, the median *is* the chip's own value;
with one, the median of two values is their mean. The coverage of a chip pixel
is the number of other exposures whose separately drizzled image has usable
weight (at least ``maskpt`` times the image's mean weight, as the median
stage requires) at the output pixel the chip pixel's centre falls on.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .combine import weight_thresholds

__all__ = ["other_coverage", "usable_weight"]


def usable_weight(weight: ArrayLike, maskpt: float) -> NDArray[np.bool_]:
    """Output pixels of one single drizzle that the median uses.

    Parameters
    ----------
    weight : array_like, (ny, nx)
        The single drizzle's weight image.
    maskpt : float
        Fraction of the image's mean weight (over pixels with weight) below
        which a pixel is ignored (``median.combine_maskpt``), with the median
        stage's own rule (:func:`~drizrun.plugins.stages.combine.weight_thresholds`).

    Returns
    -------
    ndarray of bool
    """
    w = np.asarray(weight)
    threshold = weight_thresholds([w], maskpt)[0]
    return w >= max(threshold, 1e-30)


def other_coverage(
    pixmap: ArrayLike, usable: Mapping[str, ArrayLike], own: str
) -> NDArray[np.int16]:
    """Number of other exposures with usable data under every chip pixel.

    Parameters
    ----------
    pixmap : array_like, (ny, nx, 2)
        Position (x, y; 0-based) of every chip pixel's centre on the frame of
        the single drizzles.
    usable : mapping
        Exposure root name -> boolean image on that frame (:func:`usable_weight`).
    own : str
        Root name of the chip's own exposure (not counted).

    Returns
    -------
    ndarray of int16, (ny, nx)
        Pixels that fall outside the frame (or whose position is not finite)
        have coverage 0.
    """
    pix = np.asarray(pixmap, dtype=np.float64)
    count = np.zeros(pix.shape[:2], dtype=np.int16)
    others = [np.asarray(image, dtype=bool) for root, image in usable.items() if root != own]
    if not others:
        return count
    ny, nx = others[0].shape
    with np.errstate(invalid="ignore"):
        ix = np.floor(pix[..., 0] + 0.5)
        iy = np.floor(pix[..., 1] + 0.5)
        inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    cols = np.where(inside, ix, 0).astype(np.intp)
    rows = np.where(inside, iy, 0).astype(np.intp)
    for image in others:
        count += image[rows, cols] & inside
    return count
