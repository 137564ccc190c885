"""Which chips can be drizzled into one output at the same time.

Adding chips into the output one after another gives every output pixel its
contributions in chip order. Two chips whose drops cannot reach a common
output pixel (the two chips of one ACS/WFC or WFC3/UVIS exposure, on either
side of the chip gap) can be added side by side on threads without changing a
single bit of the result: every output pixel still receives the same
contributions in the same order, and no array element is written by both
threads.

:func:`drop_zone` bounds, from a chip's pixel map, the output pixels its
drops can reach, as a mask of ``BLOCK x BLOCK``-pixel blocks; the bound is
conservative (every pixel a drop touches lies in a marked block). The map may
be the full one or a sparse sample of it on the grid of :func:`sample_grid`
(a few hundred times smaller, so zones cost almost nothing to plan).
:func:`disjoint_waves` cuts the ordered chips into runs of consecutive chips
with pairwise disjoint zones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import attrs
import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

__all__ = ["BLOCK", "SAMPLE_SPACING", "DropZone", "disjoint_waves", "drop_zone", "output_step", "sample_grid"]

#: Side, in output pixels, of the blocks a zone is made of.
BLOCK = 4

#: Largest distance, in input pixels, between the samples of a sparse pixel map (:func:`sample_grid`).
SAMPLE_SPACING = 4

#: Rows of the pixel map converted to block indices at a time (bounds the temporaries).
_ROWS_PER_CHUNK = 256

T = TypeVar("T")


@attrs.frozen(eq=False)
class DropZone:
    """The output blocks a chip's drops can reach.

    Attributes
    ----------
    blocks : ndarray of bool, (ceil(ny / BLOCK), ceil(nx / BLOCK))
        ``True`` for every block of the output frame that a drop may touch.
    """

    blocks: NDArray[np.bool_]

    def meets(self, other: DropZone) -> bool:
        """Whether the two zones share a block (the chips may touch a common pixel)."""
        return bool(np.logical_and(self.blocks, other.blocks).any())


def sample_grid(shape: tuple[int, int], spacing: int = SAMPLE_SPACING,
                ) -> tuple[tuple[int, int], tuple[float, float, float, float]]:
    """A sparse grid of points of an input frame that includes its edge pixel centres.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)`` of the input frame.
    spacing : int
        Largest distance between neighbouring grid points, in pixels.

    Returns
    -------
    shape : tuple of int
        ``(ny, nx)`` of the grid.
    grid : tuple of float
        ``(x0, y0, sx, sy)``: grid point ``[i, j]`` is the input point
        ``(j * sx, i * sy)``, as :func:`drizrun.core.geometry.calc_pixmap`
        takes it. The first and last points along each axis are the first and
        last pixel centres, so every pixel centre lies in a cell of four grid
        points.
    """
    if spacing < 1:
        raise ValueError(f"sample spacing must be at least 1 pixel, got {spacing}")
    counts = []
    steps = []
    for n in shape:
        n = int(n)
        count = max(2, -(-(n - 1) // spacing) + 1) if n > 1 else 1
        counts.append(count)
        steps.append((n - 1) / (count - 1) if count > 1 else 1.0)
    return (counts[0], counts[1]), (0.0, 0.0, steps[1], steps[0])


def output_step(pixmap: NDArray[np.float64], sample: int = 8) -> float:
    """Largest distance, in output pixels, between the images of neighbouring input pixels.

    Measured on every `sample`-th row (steps along x) and column (steps along
    y) of the pixel map; NaN entries are ignored. Returns NaN when no pair of
    neighbours is mapped.
    """
    along_x = pixmap[::sample, 1:, :] - pixmap[::sample, :-1, :]
    along_y = pixmap[1:, ::sample, :] - pixmap[:-1, ::sample, :]
    steps = [np.hypot(d[..., 0], d[..., 1]) for d in (along_x, along_y) if d.size]
    finite = [s[np.isfinite(s)] for s in steps]
    values = [float(s.max()) for s in finite if s.size]
    return max(values) if values else math.nan


def drop_zone(
    pixmap: NDArray[np.float64],
    frame_shape: tuple[int, int],
    *,
    drop_halfwidth: float,
    pixfrac: float,
    pixel_scale_ratio: float,
    spacing: tuple[float, float] = (1.0, 1.0),
) -> DropZone | None:
    """Bound the output pixels that a chip's drops can touch.

    Parameters
    ----------
    pixmap : ndarray, (ny, nx, 2)
        Output x, y of every input pixel centre (NaN for unmapped pixels,
        which the kernels skip), or of the points of a sparse grid of the
        chip (:func:`sample_grid`).
    frame_shape : tuple of int
        ``(ny, nx)`` of the output.
    drop_halfwidth : float
        The kernel's reach per unit pixfrac, in input pixels
        (:attr:`drizrun.core.kernelspec.KernelSpec.drop_halfwidth`).
    pixfrac : float
        Drop size.
    pixel_scale_ratio : float
        Output pixel scale over input pixel scale (the turbo drop's side in
        output pixels is ``pixfrac / pixel_scale_ratio``).
    spacing : tuple of float
        ``(sx, sy)``, input pixels between neighbouring entries of `pixmap`
        along x and y: ``(1, 1)`` for the full map.

    Returns
    -------
    DropZone or None
        ``None`` when `pixmap` is sparse and has an unmapped point: the
        pixels around it cannot be bounded from the samples.

    Notes
    -----
    A drop spans at most ``drop_halfwidth * pixfrac`` input pixels from its
    centre along each input axis, so at most ``2 * drop_halfwidth * pixfrac *
    s`` output pixels from the centre's image, with ``s`` the largest output
    distance between neighbouring input pixels (measured on a sample of the
    map, taken 5 % larger) or ``1 / pixel_scale_ratio`` if larger; half a
    pixel more reaches any output pixel it overlaps. Block indices of the
    touched pixels then lie within ``ceil(reach / BLOCK)`` of the block of the
    centre, so the zone is the blocks of all mapped centres, dilated by that
    many blocks.

    From a sparse map, ``s`` is the largest output distance between
    neighbouring samples over the smaller spacing, and the reach grows by
    ``hypot(sx, sy) / 2 * s`` (the farthest a pixel centre lies from the
    nearest corner of its cell of samples) plus one output pixel, far more
    than the curvature of any real distortion over a cell (HST's changes the
    pixel scale by a few per cent across a chip).
    """
    my, mx = (int(n) for n in frame_shape)
    nby, nbx = -(-my // BLOCK), -(-mx // BLOCK)
    sx, sy = (float(v) for v in spacing)
    sparse = (sx, sy) != (1.0, 1.0)
    if sparse and not np.isfinite(pixmap).all():
        return None
    step = output_step(pixmap, sample=1 if sparse else 8) / min(sx, sy)
    scale = max(step * 1.05 if math.isfinite(step) else 0.0, 1.0 / pixel_scale_ratio)
    reach = 2.0 * drop_halfwidth * pixfrac * scale + 0.5
    if sparse:
        reach += 0.5 * math.hypot(sx, sy) * scale + 1.0
    pad = math.ceil(reach / BLOCK) + 1
    grid = np.zeros((nby + 2 * pad, nbx + 2 * pad), dtype=bool)
    ny = pixmap.shape[0]
    for start in range(0, ny, _ROWS_PER_CHUNK):
        chunk = pixmap[start:start + _ROWS_PER_CHUNK].reshape(-1, 2)
        finite = np.isfinite(chunk).all(axis=1)
        xy = chunk[finite]
        # block indices, shifted into the padded grid; centres further out cannot reach the frame
        bx = np.floor(xy[:, 0] / BLOCK) + pad
        by = np.floor(xy[:, 1] / BLOCK) + pad
        keep = (bx >= 0) & (bx < nbx + 2 * pad) & (by >= 0) & (by < nby + 2 * pad)
        grid[by[keep].astype(np.intp), bx[keep].astype(np.intp)] = True
    dilation = pad - 1
    if dilation > 0:
        grid = ndimage.binary_dilation(grid, structure=np.ones((2 * dilation + 1,) * 2, dtype=bool))
    return DropZone(blocks=grid[pad:pad + nby, pad:pad + nbx].copy())


def disjoint_waves(items: Iterable[T], *, zone: Callable[[T], DropZone | None], size: int) -> Iterator[list[T]]:
    """Cut ordered items into runs of consecutive items with pairwise disjoint zones.

    Parameters
    ----------
    items : iterable
        In the order their results must be applied.
    zone : callable
        The item's :class:`DropZone`, or ``None`` when unknown (the item then
        forms a run of its own).
    size : int
        Longest run (the number of threads).

    Yields
    ------
    list
        Consecutive items, in order; concatenated, the runs are ``items``.
    """
    wave: list[T] = []
    zones: list[DropZone] = []
    for item in items:
        z = zone(item) if size > 1 else None
        fits_in = z is not None and len(wave) < size and len(zones) == len(wave) \
            and not any(z.meets(other) for other in zones)
        if wave and not fits_in:
            yield wave
            wave, zones = [], []
        wave.append(item)
        if z is not None:
            zones.append(z)
    if wave:
        yield wave
