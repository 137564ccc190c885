"""Drizzling chips onto a common frame: what ``sep`` and ``final`` share.

The frame comes from :func:`drizrun.core.geometry.build_output_frame` with the
stage's frame options; every chip is mapped onto it exactly with
:func:`drizrun.core.geometry.calc_pixmap` and added with the drizzle kernel the
user chose from the kernel registry (so alternative kernel plugins work).
Data are drizzled in electrons/s per output pixel: a chip whose linear pixel
scale differs from the frame's gets ``iscale = (out_scale / in_scale)**2``
(AstroDrizzle's convention), so a frame with half the pixel size carries a
quarter of the rate per pixel.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from drizrun.core.geometry import FrameParams, OutputFrame, build_output_frame, calc_pixmap
from drizrun.core.geometry.outframe import linear_frame
from drizrun.kernels import band_pixmap_rows

from .buffers import BufferPool

__all__ = [
    "DrizzleOutputs",
    "chip_pixmap",
    "drizzle_chip",
    "drizzle_kernel",
    "frame_for",
    "frame_from_record",
    "frame_params_of",
    "lent_pixmap",
    "warn_if_not_conserving",
]

log = logging.getLogger("drizrun.resample")

#: Rows of a chip mapped and drizzled at a time when the kernel takes ``rows=``
#: (:attr:`KernelSpec.row_bands`): a 4096-pixel-wide band's map is 16 MiB, the
#: whole chip's 128 MiB.
BAND_ROWS = 256


def frame_params_of(params: Any) -> FrameParams:
    """The :class:`FrameParams` part of a stage's parameters (which subclass it)."""
    return FrameParams(**{f.name: getattr(params, f.name) for f in attrs.fields(FrameParams)})


def frame_for(exposures: Sequence[Any], params: Any) -> OutputFrame:
    """Build the output frame of a stage from every chip of every exposure.

    Parameters
    ----------
    exposures : sequence of Exposure
        The inputs (their first chip sets the default orientation and scale).
    params : FrameParams subclass instance
        The stage's parameters.

    Returns
    -------
    OutputFrame
    """
    chips = [chip for exposure in exposures for chip in exposure.chips]
    return build_output_frame(chips, frame_params_of(params))


def drizzle_kernel(ctx: Any, name: str) -> Any:
    """Return the drizzle kernel function registered as ``name``.

    Raises
    ------
    RegistryError
        If no plugin registered that kernel (naming the ones that exist).
    """
    return ctx.kernels.get("drizzle", name)


@attrs.define(eq=False)
class DrizzleOutputs:
    """Output arrays of one drizzle: SCI, WHT and optionally CTX and variance.

    Attributes
    ----------
    sci, wht : ndarray of float32, (ny, nx)
        Weighted mean and its weight.
    ctx : ndarray of int32, (nplanes, ny, nx) or None
        Context cube (bit ``k % 32`` of plane ``k // 32`` for input ``k``).
    var : ndarray of float32 or None
        Variance of ``sci``.
    """

    sci: NDArray[np.float32]
    wht: NDArray[np.float32]
    ctx: NDArray[np.int32] | None = None
    var: NDArray[np.float32] | None = None

    @classmethod
    def zeros(cls, shape: tuple[int, int], *, n_context: int = 0, variance: bool = False) -> DrizzleOutputs:
        """Allocate outputs of ``shape``; ``n_context`` inputs get context bits."""
        ctx = None
        if n_context > 0:
            ctx = np.zeros(((n_context - 1) // 32 + 1, *shape), dtype=np.int32)
        var = np.zeros(shape, dtype=np.float32) if variance else None
        return cls(sci=np.zeros(shape, dtype=np.float32), wht=np.zeros(shape, dtype=np.float32), ctx=ctx, var=var)

    @classmethod
    def lent(cls, pool: BufferPool, stack: ExitStack, shape: tuple[int, int], *, n_context: int = 0,
             variance: bool = False) -> DrizzleOutputs:
        """Zeroed outputs as :meth:`zeros` makes them, in arrays borrowed from ``pool`` until ``stack`` closes."""

        def zeroed(array_shape: tuple[int, ...], dtype: Any) -> NDArray[Any]:
            array = stack.enter_context(pool.borrow(array_shape, dtype))
            array.fill(0)
            return array

        ctx = zeroed(((n_context - 1) // 32 + 1, *shape), np.int32) if n_context > 0 else None
        var = zeroed(shape, np.float32) if variance else None
        return cls(sci=zeroed(shape, np.float32), wht=zeroed(shape, np.float32), ctx=ctx, var=var)


def drizzle_chip(
    ctx: Any,
    chip: Any,
    frame: OutputFrame,
    data: NDArray[Any],
    weights: NDArray[Any],
    outputs: DrizzleOutputs,
    *,
    kernel: str,
    pixfrac: float,
    context_id: int = 0,
    variance: NDArray[Any] | None = None,
    pixmap: NDArray[np.float64] | None = None,
    buffers: BufferPool | None = None,
) -> int:
    """Drizzle one chip (already in electrons/s) onto the frame's outputs.

    Parameters
    ----------
    ctx : RunContext
        For the kernel registry.
    chip : Chip
        The chip (its WCS, shape and linear pixel scale).
    frame : OutputFrame
        The frame the outputs belong to.
    data : ndarray, (ny, nx)
        The chip's data in electrons/s, sky subtracted.
    weights : ndarray, (ny, nx)
        Weight of every pixel (0 for bad pixels).
    outputs : DrizzleOutputs
        Updated in place.
    kernel : str
        Drizzle kernel name.
    pixfrac : float
        Drop size.
    context_id : int
        Context bit of this chip.
    variance : ndarray, optional
        Variance of ``data`` (electrons/s squared); requires ``outputs.var``.
    pixmap : ndarray, optional
        The chip's pixel map onto the frame, when already computed
        (:func:`chip_pixmap`).
    buffers : BufferPool, optional
        Where to borrow the array for the chip's pixel map when ``pixmap``
        is not given (by default a new array). A kernel that takes ``rows=``
        (:attr:`KernelSpec.row_bands`) then maps and drizzles the chip
        :data:`BAND_ROWS` rows at a time, with the same outputs.

    Returns
    -------
    int
        Input pixels that missed the frame.
    """
    spec = drizzle_kernel(ctx, kernel)
    ratio = frame.pixel_scale / linear_frame(chip)[0]
    kernel_args = dict(pixfrac=pixfrac, ratio=ratio, context_id=context_id, variance=variance)
    if pixmap is not None:
        return _call_kernel(spec, data, weights, outputs, pixmap, **kernel_args)
    if buffers is None:
        return _call_kernel(spec, data, weights, outputs, chip_pixmap(chip, frame), **kernel_args)
    if spec.row_bands and int(chip.shape[0]) > BAND_ROWS:
        return _drizzle_in_bands(spec, chip, frame, data, weights, outputs, buffers=buffers, **kernel_args)
    with lent_pixmap(chip, frame, buffers) as lent:
        return _call_kernel(spec, data, weights, outputs, lent, **kernel_args)


def _drizzle_in_bands(spec: Any, chip: Any, frame: OutputFrame, data: NDArray[Any], weights: NDArray[Any],
                      outputs: DrizzleOutputs, *, buffers: BufferPool, **kernel_args: Any) -> int:
    """Map and drizzle the chip :data:`BAND_ROWS` rows at a time, in row order.

    The kernel's ``rows=`` promise makes the outputs those of one call with
    the whole map, while only one band's map is in memory.
    """
    ny, nx = (int(n) for n in chip.shape)
    missed = 0
    with buffers.borrow((BAND_ROWS + 2, nx, 2), np.float64) as buffer:
        for first in range(0, ny, BAND_ROWS):
            rows = (first, min(first + BAND_ROWS, ny))
            m0, m1 = band_pixmap_rows(rows, ny)
            band = calc_pixmap(chip.wcs, frame.wcs, (m1 - m0, nx), grid=(0.0, float(m0), 1.0, 1.0),
                               out=buffer[: m1 - m0])
            missed += _call_kernel(spec, data, weights, outputs, band, rows=rows, **kernel_args)
    return missed


def _call_kernel(spec: Any, data: NDArray[Any], weights: NDArray[Any], outputs: DrizzleOutputs,
                 pixmap: NDArray[np.float64], *, pixfrac: float, ratio: float, context_id: int,
                 variance: NDArray[Any] | None, rows: tuple[int, int] | None = None) -> int:
    """One call of the drizzle kernel ``spec`` with the stage's outputs.

    ``ratio`` is the frame's pixel size over the chip's (the data are scaled by its square).
    """
    extra: dict[str, Any] = {}
    if rows is not None:
        extra["rows"] = rows
    if outputs.ctx is not None:
        extra["out_ctx"] = outputs.ctx
        extra["context_id"] = context_id
    if variance is not None and outputs.var is not None:
        extra["out_var"] = outputs.var
        extra["var"] = variance
    with warnings.catch_warnings():
        # the stage warns once about non-conserving kernels, not once per chip
        warnings.simplefilter("ignore", category=UserWarning)
        missed = spec.function(
            data, pixmap, outputs.sci, outputs.wht, weights=weights, pixfrac=pixfrac,
            pixel_scale_ratio=ratio, iscale=ratio * ratio, **extra,
        )
    return int(missed or 0)


def chip_pixmap(chip: Any, frame: OutputFrame, out: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """Exact pixel map of a chip's pixel centres onto the frame (into ``out`` when given)."""
    return calc_pixmap(chip.wcs, frame.wcs, tuple(chip.shape), out=out)


@contextmanager
def lent_pixmap(chip: Any, frame: OutputFrame, buffers: BufferPool) -> Iterator[NDArray[np.float64]]:
    """The chip's pixel map onto the frame, in an array borrowed from ``buffers`` for the ``with`` block."""
    with buffers.borrow((*(int(n) for n in chip.shape), 2), np.float64) as buffer:
        yield chip_pixmap(chip, frame, out=buffer)


def warn_if_not_conserving(ctx: Any, kernel: str, log: logging.Logger, stage: str) -> None:
    """Log a warning when the chosen drizzle kernel does not conserve flux."""
    spec = drizzle_kernel(ctx, kernel)
    if spec.conserves_flux is False:
        log.warning("%s.kernel = %r does not conserve flux; photometry on the result needs care "
                    "(square, turbo and point conserve it)", stage, kernel)


def frame_from_record(record: dict[str, Any]) -> OutputFrame:
    """Rebuild an :class:`OutputFrame` from ``{"header": str, "shape": [ny, nx]}``."""
    from astropy.io import fits
    from astropy.wcs import WCS

    header = fits.Header.fromstring(record["header"])
    ny, nx = (int(n) for n in record["shape"])
    wcs = WCS(header)
    wcs.pixel_shape = (nx, ny)
    return OutputFrame(wcs=wcs, shape=(ny, nx))
