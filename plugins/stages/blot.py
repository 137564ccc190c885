"""Built-in stage ``blot``: the median sampled back onto every input chip.

For each chip, the exact pixel map of its pixel centres into the median's
frame (the same map that drizzled it) tells where to sample the median; the
chosen interpolant does so, the rate per output pixel becomes a rate per
chip pixel (``(in_scale / out_scale)**2``), the chip's units are restored, and
the sky that was subtracted before drizzling is added back, so the blotted
image can be compared with the chip's data directly. The results are
``<rootname>_sci<N>_blt.fits`` in the chip's own units (in memory with
``--in-memory``) and the ``blotted`` artifact. Chip pixels that fall where the
median has no data are NaN: the cosmic-ray stage's comparison with the
median skips them, and only its single-image test can flag them.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from drizrun.core.geometry import OutputFrame, calc_pixmap
from drizrun.core.geometry.outframe import linear_frame
from drizrun.core.hookspecs import hookimpl
from drizrun.core.parallel import ordered_map
from drizrun.core.params import param
from drizrun.core.stage import StageResult

from .buffers import BufferPool
from .chipdata import artifact_or_none, chip_key, chip_sky, rate_factor
from .images import StoredImage, keep_image, load_image, written_files
from .resample import BAND_ROWS, frame_from_record

__all__ = ["BlotParams", "BlotStage"]


@attrs.frozen
class BlotParams:
    """Parameters of the ``blot`` stage."""

    interp: str = param("poly5", doc="Interpolant: a blot kernel name (nearest, linear, poly3, poly5, "
                                     "lanczos3, lanczos5; AstroDrizzle blot_interp).")
    addsky: bool = param(True, doc="Add back the sky subtracted from each chip (blot_addsky).")
    skyval: float = param(0.0, doc="Sky added instead when addsky is false, in the chip's units "
                                   "(blot_skyval).")


class BlotStage:
    """Blot the median image back onto every input chip."""

    name = "blot"
    params = BlotParams
    requires = ("median",)
    provides = ("blotted",)
    uses = ("sky",)
    min_inputs = 2
    order = 50.0

    def run(self, ctx: Any, params: BlotParams) -> StageResult:
        """Blot the median onto each chip and put the ``blotted`` artifact."""
        log = ctx.stage_logger(self.name)
        spec = ctx.kernels.get("blot", params.interp)
        if not ctx.artifacts.has("median"):
            return StageResult(status="skipped", message="no median image (the median stage made none)")
        median_artifact = ctx.artifacts.get("median")
        frame = frame_from_record(median_artifact["frame"])
        stored = load_image(ctx, median_artifact["image"])
        sky = artifact_or_none(ctx, "sky")
        chips = [(exposure, chip) for exposure in ctx.exposures for chip in exposure.chips]
        # pixel maps reused chip after chip; let go with the stage, for cr to allocate from
        pool = BufferPool(keep=2 * ctx.config.num_cores)
        if isinstance(stored, np.ndarray) and stored.dtype == np.float32 and stored.dtype.isnative \
                and stored.flags.c_contiguous:  # kept in memory as the kernels take it
            return self._blot_all(ctx, params, spec, frame, stored, sky, chips, pool, log)
        # native byte order once, not in every chip's kernel call
        with pool.borrow(np.shape(stored), np.float32) as median:
            if isinstance(stored, StoredImage) and stored.dtype == median.dtype:
                stored.read_into(median)
            else:
                np.copyto(median, stored, casting="same_kind")
            del stored
            return self._blot_all(ctx, params, spec, frame, median, sky, chips, pool, log)

    def _blot_all(self, ctx: Any, params: BlotParams, spec: Any, frame: Any, median: np.ndarray, sky: Any,
                  chips: list[tuple[Any, Any]], pool: Any, log: Any) -> StageResult:
        """Blot ``median`` (native float32) onto every chip."""

        def blot_chip(item: tuple[Any, Any]) -> tuple[str, Any]:
            exposure, chip = item
            key = chip_key(exposure, chip)
            ratio = frame.pixel_scale / linear_frame(chip)[0]
            scale = 1.0 / (ratio * ratio * rate_factor(chip))
            image = blot_in_bands(spec.function, median, chip, frame, iscale=scale, buffers=pool)
            _, subtracted = chip_sky(sky, key)
            image += np.float32(subtracted if params.addsky else params.skyval)
            header = chip.wcs.to_header(relax=True)
            header["BUNIT"] = (chip.units.bunit, "units of the data")
            header["BLOTSRC"] = (f"{ctx.config.output_root}_med.fits", "image blotted")
            log.debug("%s blotted with %s", key, params.interp)
            return key, keep_image(ctx, f"{key}_blt.fits", image, header)

        ctx.progress.start(self.name, len(chips))
        blotted = {}
        for key, ref in ordered_map(blot_chip, chips, num_cores=ctx.config.num_cores):
            blotted[key] = ref
            ctx.progress.advance()
        ctx.artifacts.put("blotted", blotted, stage=self.name, path=f"{ctx.config.output_root}_blotted.json",
                          files=written_files(blotted))
        return StageResult(message=f"median blotted onto {len(blotted)} chip(s) with {params.interp}",
                           products=written_files(blotted))


def blot_in_bands(function: Any, image: np.ndarray, chip: Any, frame: OutputFrame, *, iscale: float,
                  buffers: BufferPool) -> np.ndarray:
    """Blot ``image`` (on ``frame``) onto the chip, :data:`BAND_ROWS` rows of the chip at a time.

    A blot samples the image at each chip pixel's own position, so the bands
    give the chip's blotted image exactly, while only one band's pixel map
    (16 MiB for a 4096-pixel-wide chip, instead of 128 MiB) is in memory.

    Parameters
    ----------
    function : callable
        The blot kernel, ``function(image, pixmap, iscale=..., fillval=...)``.
    image : ndarray
        The image to sample, native float32.
    chip : Chip
        The chip blotted onto (its WCS and shape).
    frame : OutputFrame
        The frame ``image`` belongs to.
    iscale : float
        Factor applied to the samples.
    buffers : BufferPool
        Where the band's pixel map is borrowed.

    Returns
    -------
    ndarray, (ny, nx)
        The blotted image, NaN where the chip's pixels fall off ``image``.
    """
    ny, nx = (int(n) for n in chip.shape)
    result: np.ndarray | None = None
    with buffers.borrow((min(BAND_ROWS, ny), nx, 2), np.float64) as buffer:
        for first in range(0, ny, BAND_ROWS):
            stop = min(first + BAND_ROWS, ny)
            band = calc_pixmap(chip.wcs, frame.wcs, (stop - first, nx), grid=(0.0, float(first), 1.0, 1.0),
                               out=buffer[: stop - first])
            values = function(image, band, iscale=iscale, fillval=math.nan)
            if result is None:
                result = np.empty((ny, nx), dtype=values.dtype)
            result[first:stop] = values
    assert result is not None
    return result


@hookimpl
def drizrun_register_stages(registry: Any) -> None:
    """Register the ``blot`` stage."""
    registry.add(BlotStage())
