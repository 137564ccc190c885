"""Built-in stage ``sep``: every exposure drizzled separately onto the common frame.

Each exposure (all its chips) is drizzled in electrons/s, sky subtracted, with
weight ``exptime × good pixel`` (good DQ under ``sep.bits``, static mask,
finite data), onto the frame built from every input chip and the ``[sep]``
frame options. The results are ``<rootname>_single_sci.fits`` and
``<rootname>_single_wht.fits`` (kept in memory with ``--in-memory``), listed in
the ``single`` artifact together with the frame and what the median's noise
model needs (exposure time, sky and read noise in electrons). The weight images
are also the ``single_weight`` artifact, for the stages after the median that
read only them (``cr``'s coverage counts): in memory, the single drizzles'
data are then let go once the median is made.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from drizrun.core.geometry import FrameParams
from drizrun.core.hookspecs import hookimpl
from drizrun.core.parallel import ordered_map
from drizrun.core.params import in_range, param
from drizrun.core.stage import StageResult

from .buffers import run_pool
from .chipdata import (
    artifact_or_none,
    chip_key,
    chip_sky,
    good_pixels,
    rate_factor,
    rate_image,
    static_for,
    valid_bits,
)
from .images import keep_image, written_files
from .resample import DrizzleOutputs, drizzle_chip, frame_for, warn_if_not_conserving

__all__ = ["SepParams", "SepStage"]


@attrs.frozen
class SepParams(FrameParams):
    """Parameters of the ``sep`` stage (frame options as in ``final``)."""

    kernel: str = param("turbo", doc="Drizzle kernel (AstroDrizzle driz_sep_kernel).")
    pixfrac: float = param(1.0, doc="Drop size in input pixels (driz_sep_pixfrac).",
                           validator=in_range(0.0, None, low_open=True))
    fillval: float | None = param(None, doc="Value of output pixels no input reached "
                                            "(driz_sep_fillval; unset: NaN).")
    bits: int | None = param(0, doc="DQ flags treated as good (driz_sep_bits); unset ignores the DQ array.",
                             validator=valid_bits)
    use_static: bool = param(True, doc="Mask the pixels of the static mask when it was made.")


class SepStage:
    """Drizzle every exposure separately onto the common frame."""

    name = "sep"
    params = SepParams
    requires: tuple[str, ...] = ()
    provides = ("single", "single_weight")
    uses = ("static_mask", "sky")
    min_inputs = 1
    order = 30.0

    def run(self, ctx: Any, params: SepParams) -> StageResult:
        """Drizzle each exposure and put the ``single`` artifact."""
        log = ctx.stage_logger(self.name)
        warn_if_not_conserving(ctx, params.kernel, log, self.name)
        exposures = ctx.exposures
        frame = frame_for(exposures, params)
        log.info("frame %d x %d pixels at %.4f\"/pixel", frame.shape[1], frame.shape[0], frame.pixel_scale)
        static = artifact_or_none(ctx, "static_mask") if params.use_static else None
        sky = artifact_or_none(ctx, "sky")
        header = frame.header()
        # pixel maps, chip arrays and frames reused chip after chip and exposure after exposure
        pool = run_pool(ctx)

        def drizzle_exposure(exposure: Any) -> tuple[str, dict[str, Any]]:
            if ctx.config.in_memory:  # the single drizzles stay in memory for the median
                return drizzle_into(exposure, DrizzleOutputs.zeros(frame.shape))
            # written to disk at the end: the next exposure reuses the arrays
            with pool.borrow(frame.shape, np.float32) as sci, pool.borrow(frame.shape, np.float32) as wht:
                sci.fill(0.0)
                wht.fill(0.0)
                return drizzle_into(exposure, DrizzleOutputs(sci=sci, wht=wht))

        def drizzle_into(exposure: Any, outputs: DrizzleOutputs) -> tuple[str, dict[str, Any]]:
            sky_e = []
            missed = 0
            for chip in exposure.chips:
                key = chip_key(exposure, chip)
                factor = rate_factor(chip)
                _, subtracted = chip_sky(sky, key)
                sci = chip.sci()
                good = good_pixels(sci, chip.dq(), params.bits, static=static_for(static, chip))
                shape = np.shape(sci)
                with pool.borrow(shape, np.float32) as rate, pool.borrow(shape, np.float32) as weights:
                    rate_image(sci, subtracted, factor, out=rate)
                    rate[~good] = 0.0
                    np.multiply(good, np.float32(exposure.exptime), out=weights)
                    del good
                    missed += drizzle_chip(ctx, chip, frame, rate, weights, outputs,
                                           kernel=params.kernel, pixfrac=params.pixfrac, buffers=pool)
                sky_e.append(subtracted * chip.to_electrons)
            empty = outputs.wht == 0
            outputs.sci[empty] = np.nan if params.fillval is None else params.fillval
            single_header = header.copy()
            single_header["BUNIT"] = ("ELECTRONS/S", "units of the data")
            single_header["EXPTIME"] = (exposure.exptime, "exposure time of the input, seconds")
            single_header["DRIZSRC"] = (exposure.path.name, "input drizzled into this image")
            root = exposure.rootname
            log.info("%s: %d chip(s) drizzled, %d input pixels off the frame", root, len(exposure.chips), missed)
            return root, {
                "sci": keep_image(ctx, f"{root}_single_sci.fits", outputs.sci, single_header),
                "wht": keep_image(ctx, f"{root}_single_wht.fits", outputs.wht, single_header),
                "exptime": float(exposure.exptime),
                "sky_electrons": float(np.mean(sky_e)) if sky_e else 0.0,
                "read_noise": float(math.sqrt(np.mean([c.read_noise**2 for c in exposure.chips]))),
            }

        ctx.progress.start(self.name, len(exposures), "exposure")
        images = {}
        for root, entry in ordered_map(drizzle_exposure, exposures, num_cores=ctx.config.num_cores):
            images[root] = entry
            ctx.progress.advance()
        artifact = {"frame": {"header": header.tostring(), "shape": list(frame.shape)}, "images": images}
        ctx.artifacts.put("single", artifact, stage=self.name, path=f"{ctx.config.output_root}_single.json",
                          files=written_files(images))
        weights = {root: entry["wht"] for root, entry in images.items()}
        ctx.artifacts.put("single_weight", {"frame": artifact["frame"], "images": weights}, stage=self.name,
                          path=f"{ctx.config.output_root}_single_weight.json", files=written_files(weights))
        return StageResult(message=f"{len(images)} exposure(s) drizzled onto {frame.shape[1]}x{frame.shape[0]}",
                           products=written_files(images))


@hookimpl
def drizrun_register_stages(registry: Any) -> None:
    """Register the ``sep`` stage."""
    registry.add(SepStage())
