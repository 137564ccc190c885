"""Built-in stage ``final``: every chip drizzled onto the undistorted output mosaic.

Each chip, sky subtracted and in electrons/s, is drizzled with the final
kernel and pixfrac onto the frame built from every input chip and the
``[final]`` frame options. Pixel weights are ``final.wht_type``:

* ``EXP``: the exposure time (``final.wt_scl = "expsq"``: its square);
* ``ERR``: inverse variance from the chip's ERR array;
* ``IVM``: inverse variance of the background noise model (sky and read
  noise), AstroDrizzle's automatic IVM,

times the good-pixel mask: DQ flags outside ``final.bits``, the static mask,
cosmic rays found by ``cr``, and non-finite data are left out. The variance
of every chip (from its ERR array, or the Poisson model when it has none) is
drizzled with the squared weights into the ERR extension.
"""

from __future__ import annotations

import math
from contextlib import ExitStack
from typing import Any

import attrs
import numpy as np

import drizrun
from drizrun.core.geometry import FrameParams, calc_pixmap
from drizrun.core.geometry.outframe import linear_frame
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
from .cr import flagged
from .dropzones import DropZone, disjoint_waves, drop_zone, sample_grid
from .images import load_image
from .products import ChipRecord, fill_empty, product_suffix, write_drizzle_product
from .resample import (
    DrizzleOutputs,
    drizzle_chip,
    drizzle_kernel,
    frame_for,
    warn_if_not_conserving,
)

__all__ = ["FinalParams", "FinalStage", "WEIGHT_TYPES"]

#: Pixel weightings the final drizzle offers.
WEIGHT_TYPES = ("EXP", "ERR", "IVM")


@attrs.frozen
class FinalParams(FrameParams):
    """Parameters of the ``final`` stage (with the output frame options)."""

    kernel: str = param("square", doc="Drizzle kernel (AstroDrizzle final_kernel).")
    pixfrac: float = param(1.0, doc="Drop size in input pixels (final_pixfrac).",
                           validator=in_range(0.0, None, low_open=True))
    fillval: float | None = param(None, doc="Value of output pixels no input reached "
                                            "(final_fillval; unset: NaN).")
    bits: int | None = param(0, doc="DQ flags treated as good (final_bits); unset ignores the DQ array.",
                             validator=valid_bits)
    use_static: bool = param(True, doc="Mask the pixels of the static mask when it was made.")
    wht_type: str = param("EXP", doc="Pixel weights: EXP (exposure time), ERR (inverse variance from the ERR "
                                     "array) or IVM (inverse variance of sky and read noise) "
                                     "(final_wht_type).", choices=WEIGHT_TYPES)
    wt_scl: str = param("exptime", doc="EXP weight: exptime or expsq (final_wt_scl).",
                        choices=("exptime", "expsq"))
    units: str = param("cps", doc="Output units: cps (electrons/s) or counts (electrons over the total "
                                  "exposure time) (final_units).", choices=("cps", "counts"))
    context: bool = param(True, doc="Write the CTX context extension.")
    err: bool = param(True, doc="Write the ERR extension, propagated from the inputs' ERR arrays.")


class FinalStage:
    """Drizzle every chip onto the output mosaic and write the drz product."""

    name = "final"
    params = FinalParams
    requires: tuple[str, ...] = ()
    provides = ("drz",)
    uses = ("crmask", "static_mask", "sky")
    min_inputs = 1
    order = 70.0

    def run(self, ctx: Any, params: FinalParams) -> StageResult:
        """Drizzle, write ``<output>_drz.fits`` and put the ``drz`` artifact (its file name)."""
        log = ctx.stage_logger(self.name)
        warn_if_not_conserving(ctx, params.kernel, log, self.name)
        exposures = ctx.exposures
        frame = frame_for(exposures, params)
        log.info("frame %d x %d pixels at %.4f\"/pixel", frame.shape[1], frame.shape[0], frame.pixel_scale)
        static = artifact_or_none(ctx, "static_mask") if params.use_static else None
        sky = artifact_or_none(ctx, "sky")
        crmasks = artifact_or_none(ctx, "crmask")
        n_chips = sum(len(e.chips) for e in exposures)
        # pixel maps, chip arrays and output frames reused chip after chip (and from the earlier stages)
        pool = run_pool(ctx)
        with ExitStack() as lent:
            outputs = DrizzleOutputs.lent(pool, lent, frame.shape, n_context=n_chips if params.context else 0,
                                          variance=params.err)
            return self._drizzle_and_write(ctx, params, log, frame, static, sky, crmasks, outputs, pool)

    def _drizzle_and_write(self, ctx: Any, params: FinalParams, log: Any, frame: Any, static: Any, sky: Any,
                           crmasks: Any, outputs: DrizzleOutputs, pool: Any) -> StageResult:
        """Drizzle every chip into ``outputs`` (zeroed) and write the drz product."""
        exposures = ctx.exposures
        chips = [(index, exposure, chip) for index, (exposure, chip)
                 in enumerate((e, c) for e in exposures for c in e.chips)]
        num_cores = ctx.config.num_cores
        drop_halfwidth = drizzle_kernel(ctx, params.kernel).drop_halfwidth if num_cores > 1 else None

        def zone_of(item: tuple[int, Any, Any]) -> DropZone | None:
            """The chip's drop zone, from a sparse sample of its pixel map."""
            chip = item[2]
            assert drop_halfwidth is not None
            shape, grid = sample_grid(tuple(chip.shape))
            samples = calc_pixmap(chip.wcs, frame.wcs, shape, grid=grid)
            return drop_zone(samples, frame.shape, drop_halfwidth=drop_halfwidth, pixfrac=params.pixfrac,
                             pixel_scale_ratio=frame.pixel_scale / linear_frame(chip)[0],
                             spacing=(grid[2], grid[3]))

        def add(item: tuple[int, Any, Any]) -> tuple[ChipRecord, int]:
            """Read, mask and weight one chip, then drizzle it into the outputs."""
            index, exposure, chip = item
            key = chip_key(exposure, chip)
            factor = rate_factor(chip)
            computed, subtracted = chip_sky(sky, key)
            shape = tuple(chip.shape)
            with pool.borrow(shape, np.float32) as rate, pool.borrow(shape, np.float32) as variance, \
                    pool.borrow(shape, np.float32) as weights:
                np.copyto(rate, chip.sci(), casting="same_kind")  # the data as float32, made the rate below
                cr = flagged(load_image(ctx, crmasks[key])) if crmasks and key in crmasks else None
                good = good_pixels(rate, chip.dq(), params.bits, static=static_for(static, chip), extra_bad=cr)
                _variance(chip, rate, factor, out=variance)
                rate_image(rate, subtracted, factor, out=rate)
                _weights(params, chip, variance, computed, out=weights)
                bad = ~good
                del good
                weights[bad] = 0.0
                rate[bad] = 0.0
                variance[bad] = 0.0
                del bad
                drizzle_chip(ctx, chip, frame, rate, weights, outputs, kernel=params.kernel, pixfrac=params.pixfrac,
                             context_id=index, variance=variance if params.err else None, buffers=pool)
            record = ChipRecord(
                data=f"{exposure.path.name}[SCI,{chip.extver}]", exptime=float(chip.exptime),
                kernel=params.kernel, pixfrac=float(params.pixfrac), scale=float(frame.pixel_scale),
                wtscl=params.wt_scl if params.wht_type == "EXP" else params.wht_type,
                out_units=params.units, fillval=params.fillval, in_units=chip.units.bunit,
                sky=computed, sky_subtracted=subtracted,
            )
            return record, int(np.count_nonzero(cr)) if cr is not None else 0

        records = []
        cr_rejected = 0
        rounds = 0
        ctx.progress.start(self.name, len(chips))
        # Chips are added into the output in input order, except that consecutive chips whose
        # drops cannot reach a common output pixel are read and added side by side: every
        # output pixel still gets its contributions in the same order, so the result does not
        # depend on the cores. Only the chips being added are held in memory, each with its
        # pixel map for as long as its drizzle lasts.
        zones = list(ordered_map(zone_of, chips, num_cores=num_cores)) if drop_halfwidth is not None \
            else [None] * len(chips)
        planned = list(zip(chips, zones, strict=True))
        for wave in disjoint_waves(planned, zone=lambda p: p[1], size=num_cores):
            rounds += 1
            for record, cr_pixels in ordered_map(add, [item for item, _ in wave], num_cores=len(wave)):
                records.append(record)
                cr_rejected += cr_pixels
                ctx.progress.advance()
        if num_cores > 1:
            log.info("%d chip(s) drizzled in %d round(s) on up to %d threads", len(records), rounds, num_cores)
        total_time = float(sum(e.exptime for e in exposures))
        err = None
        if params.err and outputs.var is not None:
            err = outputs.var  # made the error in place: the variance is not needed after this
            np.maximum(err, 0.0, out=err)
            np.sqrt(err, out=err)
            err[outputs.wht == 0] = np.nan
        bunit = "ELECTRONS/S"
        if params.units == "counts":
            outputs.sci *= np.float32(total_time)
            if err is not None:
                err *= np.float32(total_time)
            bunit = "ELECTRONS"
        fill_empty(outputs.sci, outputs.wht, params.fillval)
        path = ctx.output_path(product_suffix(exposures))
        write_drizzle_product(
            path, frame=frame, sci=outputs.sci, wht=outputs.wht, ctx=outputs.ctx, err=err, bunit=bunit,
            exposures=exposures, chips=records, version=drizrun.__version__, config_text=config_text(ctx.config),
        )
        ctx.add_product(path)
        ctx.artifacts.put("drz", path.name, stage=self.name, persist=False)
        covered = int(np.count_nonzero(outputs.wht > 0))
        return StageResult(
            message=f"{len(records)} chip(s) onto {frame.shape[1]}x{frame.shape[0]}, {path.name}",
            products=[str(path)],
            metrics={"covered_pixels": covered, "cr_rejected": cr_rejected},
        )


def _variance(chip: Any, sci: np.ndarray, factor: float, out: np.ndarray) -> np.ndarray:
    """Variance of the chip's data in (electrons/s)², into ``out``: its ERR array, else the Poisson model."""
    err = chip.err()
    if err is not None:
        np.multiply(err, np.float32(factor), out=out, casting="same_kind")
        np.square(out, out=out)
    else:
        np.multiply(sci, np.float32(chip.to_electrons), out=out)
        np.maximum(out, 0.0, out=out)
        out += np.float32(chip.read_noise) ** 2
        out /= np.float32(chip.exptime) ** 2
    out[~np.isfinite(out)] = 0.0
    return out


def _weights(params: FinalParams, chip: Any, variance: np.ndarray, sky: float, out: np.ndarray) -> np.ndarray:
    """Weight of every pixel of a chip before masking, into ``out``."""
    if params.wht_type == "EXP":
        out.fill(chip.exptime if params.wt_scl == "exptime" else chip.exptime**2)
    elif params.wht_type == "ERR":
        out.fill(0.0)
        np.divide(1.0, variance, out=out, where=variance > 0)
    else:
        # IVM: background noise only (sky and read noise), in (electrons/s)^-2
        sky_e = max(sky * chip.to_electrons, 0.0)
        background = (sky_e + chip.read_noise**2) / chip.exptime**2
        out.fill(1.0 / background if background > 0 else 0.0)
    return out


def config_text(config: Any) -> str:
    """The effective parameters as TOML-like lines, one table per stage."""
    lines = [f"# inputs: {', '.join(p.name for p in config.inputs)}"]
    for stage in sorted(config.params):
        lines.append(f"[{stage}]")
        values = attrs.asdict(config.params[stage], recurse=False)
        for key, value in values.items():
            lines.append(f"{key} = {_toml(value)}")
    return "\n".join(lines)


def _toml(value: Any) -> str:
    if value is None:
        return '""  # unset'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


@hookimpl
def drizrun_register_stages(registry: Any) -> None:
    """Register the ``final`` stage."""
    registry.add(FinalStage())
