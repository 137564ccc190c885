"""Built-in stage ``median``: the separately drizzled images combined into a clean image.

The images of the ``single`` artifact are combined pixel by pixel with
:func:`~drizrun.plugins.stages.combine.combine_images`, a section of rows at a
time, so memory stays within ``median.combine_bufsize`` whatever the number of
inputs. The result is ``<output>_med.fits`` (electrons/s, NaN where no input
has data) and the ``median`` artifact.

When no output pixel is covered by two or more inputs (the exposures do not
overlap), a median cannot reject anything: the stage is skipped with that
reason, and ``blot`` and ``cr``, finding no median, are skipped too, while
``final`` still runs.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from drizrun.core.hookspecs import hookimpl
from drizrun.core.parallel import ordered_map
from drizrun.core.params import in_range, param
from drizrun.core.stage import StageResult

from .buffers import run_pool
from .combine import COMBINE_TYPES, combine_images, weight_thresholds
from .crcoverage import usable_weight
from .images import keep_image, load_image, written_files
from .resample import frame_from_record

__all__ = ["MedianParams", "MedianStage"]


def _two_positive(_instance: Any, attribute: Any, value: Any) -> None:
    if len(value) != 2 or not all(v > 0 for v in value):
        raise ValueError(f"must be two positive numbers, got {value!r}")


@attrs.frozen
class MedianParams:
    """Parameters of the ``median`` stage."""

    combine_type: str = param("minmed", doc="How to combine: median, imedian, minmed, iminmed, mean or sum "
                                            "(AstroDrizzle combine_type).", choices=COMBINE_TYPES)
    combine_nlow: int = param(0, doc="Lowest values rejected per pixel (combine_nlow).",
                              validator=in_range(0, None))
    combine_nhigh: int = param(0, doc="Highest values rejected per pixel (combine_nhigh).",
                               validator=in_range(0, None))
    combine_lthresh: float | None = param(None, doc="Values below are ignored (combine_lthresh; unset: none).")
    combine_hthresh: float | None = param(None, doc="Values above are ignored (combine_hthresh; unset: none).")
    combine_maskpt: float = param(0.3, doc="Pixels whose weight is below this fraction of their image's mean "
                                           "weight are ignored (combine_maskpt).",
                                  validator=in_range(0.0, 1.0))
    combine_nsigma: tuple[float, float] = param((4.0, 3.0), doc="minmed thresholds in sigma: first pass, and "
                                                                "next to pixels that took the minimum "
                                                                "(combine_nsigma).",
                                                validator=_two_positive)
    combine_grow: int = param(1, doc="minmed growth radius in pixels (combine_grow).",
                              validator=in_range(0, 20))
    combine_bufsize: float = param(64.0, doc="Memory for one row section of all inputs, MiB "
                                             "(combine_bufsize).",
                                   validator=in_range(1.0, None))


class MedianStage:
    """Combine the separately drizzled images into a median image."""

    name = "median"
    params = MedianParams
    requires = ("single",)
    provides = ("median",)
    uses: tuple[str, ...] = ()
    min_inputs = 2
    order = 40.0

    def run(self, ctx: Any, params: MedianParams) -> StageResult:
        """Combine the ``single`` images, or skip when they do not overlap."""
        log = ctx.stage_logger(self.name)
        # the row sections need the memory more than the work arrays sep left for the later stages
        run_pool(ctx).clear()
        single = ctx.artifacts.get("single")
        frame = frame_from_record(single["frame"])
        entries = list(single["images"].values())
        images = [load_image(ctx, e["sci"]) for e in entries]
        weights = [load_image(ctx, e["wht"]) for e in entries]
        thresholds, most = _thresholds_and_most_inputs(weights, params.combine_maskpt,
                                                        num_cores=ctx.config.num_cores)
        if most < 2:
            reason = "the inputs do not overlap: no output pixel has data from two of them"
            log.warning("median skipped: %s; blot and cr are skipped too, final still runs", reason)
            return StageResult(status="skipped", message=reason)
        median = combine_images(
            images, weights, method=params.combine_type, nlow=params.combine_nlow, nhigh=params.combine_nhigh,
            lthresh=params.combine_lthresh, hthresh=params.combine_hthresh, maskpt=params.combine_maskpt,
            nsigma=params.combine_nsigma, grow=params.combine_grow,
            sky=[e["sky_electrons"] for e in entries], exptime=[e["exptime"] for e in entries],
            read_noise=[e["read_noise"] for e in entries], buffer_mib=params.combine_bufsize,
            num_cores=ctx.config.num_cores, thresholds=thresholds,
        )
        header = frame.header()
        header["BUNIT"] = ("ELECTRONS/S", "units of the data")
        header["NCOMBINE"] = (len(images), "images combined")
        header["COMBTYPE"] = (params.combine_type, "how they were combined")
        ref = keep_image(ctx, f"{ctx.config.output_root}_med.fits", median, header)
        artifact = {"image": ref, "frame": single["frame"]}
        ctx.artifacts.put("median", artifact, stage=self.name, path=f"{ctx.config.output_root}_median.json",
                          files=written_files(artifact))
        nodata = int(np.count_nonzero(~np.isfinite(median)))
        return StageResult(message=f"{params.combine_type} of {len(images)} images, {nodata} pixels without data",
                           products=written_files(artifact), metrics={"median_nodata": nodata})


def _thresholds_and_most_inputs(weights: list[Any], maskpt: float, *,
                                num_cores: int = 1) -> tuple[list[float], int]:
    """Each weight image's threshold, and the largest number of inputs with usable weight on one pixel.

    Each weight image is read once; up to ``num_cores`` of them side by side.
    """

    def measure(weight: Any) -> tuple[float, np.ndarray]:
        values = np.asarray(weight)
        threshold = weight_thresholds([values], maskpt)[0]
        return threshold, usable_weight(values, maskpt, threshold=threshold)

    thresholds: list[float] = []
    count = None
    for threshold, usable in ordered_map(measure, weights, num_cores=num_cores):
        thresholds.append(threshold)
        if count is None:
            count = usable.astype(np.int16)
        else:
            count += usable
    return thresholds, int(count.max()) if count is not None and count.size else 0


@hookimpl
def drizrun_register_stages(registry: Any) -> None:
    """Register the ``median`` stage."""
    registry.add(MedianStage())
