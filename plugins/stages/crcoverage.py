"""How many other exposures cover each pixel of a chip in the median.

The median can only reject a cosmic ray on a chip pixel when enough other
exposures have data there: with none, the median *is* the chip's own value;
with one, the median of two values is their mean. The coverage of a chip pixel
is the number of other exposures whose separately drizzled image has usable
weight (at least ``maskpt`` times the image's mean weight, as the median
stage requires) at the output pixel the chip pixel's centre falls on.

The usable pixels of all exposures are summed once into a frame of counts
(:class:`FrameCoverage`, two bytes per frame pixel whatever the number of
exposures); a chip's coverage is the count under each of its pixels minus its
own exposure's contribution. Each exposure's own usable pixels are kept one
bit per frame pixel (:class:`PackedMask`), so every weight image is read once.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray

from .combine import weight_thresholds

__all__ = ["FrameCoverage", "PackedMask", "other_coverage", "usable_weight"]


def usable_weight(weight: ArrayLike, maskpt: float, *, threshold: float | None = None) -> NDArray[np.bool_]:
    """Output pixels of one single drizzle that the median uses.

    Parameters
    ----------
    weight : array_like, (ny, nx)
        The single drizzle's weight image.
    maskpt : float
        Fraction of the image's mean weight (over pixels with weight) below
        which a pixel is ignored (``median.combine_maskpt``), with the median
        stage's own rule (:func:`~drizrun.plugins.stages.combine.weight_thresholds`).
    threshold : float, optional
        That rule's threshold for this image, when already computed (it
        takes a pass over the image).

    Returns
    -------
    ndarray of bool
    """
    w = np.asarray(weight)
    if threshold is None:
        threshold = weight_thresholds([w], maskpt)[0]
    return w >= max(threshold, 1e-30)


@attrs.frozen(eq=False)
class FrameCoverage:
    """How many exposures the median can use at every pixel of the single drizzles' frame.

    Attributes
    ----------
    counts : ndarray of uint16, (ny, nx)
        Exposures whose single drizzle is usable there (:func:`usable_weight`).
    """

    counts: NDArray[np.uint16]

    @classmethod
    def from_usable(cls, images: Iterable[ArrayLike]) -> FrameCoverage:
        """Sum boolean usable-pixel images of one frame, read one at a time.

        Raises
        ------
        ValueError
            If there is no image or their shapes differ.
        """
        counts: NDArray[np.uint16] | None = None
        for image in images:
            usable = np.asarray(image, dtype=bool)
            if counts is None:
                counts = np.zeros(usable.shape, dtype=np.uint16)
            elif usable.shape != counts.shape:
                raise ValueError(f"usable-pixel images of shapes {counts.shape} and {usable.shape}")
            counts += usable
        if counts is None:
            raise ValueError("no usable-pixel image to count")
        return cls(counts=counts)


@attrs.frozen(eq=False)
class PackedMask:
    """A boolean image stored with one bit per pixel (an eighth of a ``bool`` array).

    Attributes
    ----------
    bits : ndarray of uint8
        The pixels in row-major order, eight to a byte, first pixel in the
        most significant bit (``numpy.packbits``).
    shape : tuple of int
        Shape of the image.
    """

    bits: NDArray[np.uint8]
    shape: tuple[int, ...]

    @classmethod
    def pack(cls, mask: ArrayLike) -> PackedMask:
        """Pack a boolean image."""
        array = np.asarray(mask, dtype=bool)
        return cls(bits=np.packbits(array, axis=None), shape=tuple(array.shape))

    def take(self, flat: NDArray[np.intp]) -> NDArray[np.uint8]:
        """The pixels at row-major indices ``flat`` (0 or 1), shaped like ``flat``."""
        index = np.asarray(flat, dtype=np.intp)
        shift = (7 - (index & 7)).astype(np.uint8)
        return (self.bits[index >> 3] >> shift) & np.uint8(1)


def other_coverage(
    pixmap: ArrayLike, coverage: FrameCoverage, own: PackedMask | None
) -> NDArray[np.int16]:
    """Number of other exposures with usable data under every chip pixel.

    Parameters
    ----------
    pixmap : array_like, (ny, nx, 2)
        Position (x, y; 0-based) of every chip pixel's centre on the frame of
        the single drizzles.
    coverage : FrameCoverage
        Counts of every exposure, the chip's own included.
    own : PackedMask, optional
        The usable pixels of the chip's own exposure (not counted), on the
        frame of the counts; ``None`` when that exposure has no single
        drizzle among the counts.

    Returns
    -------
    ndarray of int16, (ny, nx)
        Pixels that fall outside the frame (or whose position is not finite)
        have coverage 0.

    Raises
    ------
    ValueError
        If ``own`` is not of the counts' shape.
    """
    pix = np.asarray(pixmap, dtype=np.float64)
    ny, nx = coverage.counts.shape
    if own is not None and own.shape != (ny, nx):
        raise ValueError(f"own usable pixels of shape {own.shape} for counts of shape {(ny, nx)}")
    with np.errstate(invalid="ignore"):
        ix = np.floor(pix[..., 0] + 0.5)
        iy = np.floor(pix[..., 1] + 0.5)
        inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    # one flat index into the frame (0 outside, set to 0 below)
    iy *= nx
    iy += ix
    iy[~inside] = 0
    flat = iy.astype(np.intp)
    count = np.take(coverage.counts.ravel(), flat).astype(np.int16)
    if own is not None:
        count -= own.take(flat)
    count[~inside] = 0
    return count
