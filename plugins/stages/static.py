"""Built-in stage ``static``: a static bad-pixel mask per detector signature.

Each chip gets a good-pixel mask from :func:`~drizrun.plugins.stages.staticmask.chip_static_mask`
(pixels far below the clipped mode, AstroDrizzle's ``static_sig`` test), and
the masks of all chips sharing a signature (instrument, detector, chip, shape)
are combined: a pixel is bad when it is bad in any exposure. The result is the
``static_mask`` artifact, ``{signature label: uint8 array, 1 = good}``, saved
as ``<output>_staticMask.fits`` with one extension per signature.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from drizrun.core.hookspecs import hookimpl
from drizrun.core.parallel import ordered_map
from drizrun.core.params import in_range, param
from drizrun.core.stage import StageResult

from .staticmask import chip_static_mask

__all__ = ["StaticParams", "StaticStage"]


@attrs.frozen
class StaticParams:
    """Parameters of the ``static`` stage."""

    static_sig: float = param(4.0, doc="Pixels below the clipped mode by more than this many standard "
                                       "deviations are masked (AstroDrizzle static_sig).",
                              validator=in_range(0.0, None, low_open=True))


class StaticStage:
    """Static bad-pixel mask per detector signature from clipped statistics."""

    name = "static"
    params = StaticParams
    requires: tuple[str, ...] = ()
    provides = ("static_mask",)
    uses: tuple[str, ...] = ()
    min_inputs = 1
    order = 10.0

    def run(self, ctx: Any, params: StaticParams) -> StageResult:
        """Compute the mask of every signature and put it as ``static_mask``."""
        log = ctx.stage_logger(self.name)
        masks: dict[str, np.ndarray] = {}
        chips = [chip for exposure in ctx.exposures for chip in exposure.chips]

        def chip_mask(chip: Any) -> tuple[str, np.ndarray]:
            return chip.signature.label(), chip_static_mask(chip.sci(), static_sig=params.static_sig)

        # chips are measured side by side; the masks of one signature are combined in input order
        for label, good in ordered_map(chip_mask, chips, num_cores=ctx.config.num_cores):
            masks[label] = good if label not in masks else masks[label] & good
        flagged = {label: int(mask.size - np.count_nonzero(mask)) for label, mask in masks.items()}
        for label, count in flagged.items():
            log.info("static mask %s: %d pixels masked", label, count)
        artifact = {label: mask.astype(np.uint8) for label, mask in masks.items()}
        ctx.artifacts.put("static_mask", artifact, stage=self.name, path=f"{ctx.config.output_root}_staticMask.fits")
        total = sum(flagged.values())
        return StageResult(message=f"{len(masks)} signature(s), {total} pixels masked",
                           metrics={"static_masked": total})


@hookimpl
def drizrun_register_stages(registry: Any) -> None:
    """Register the ``static`` stage."""
    registry.add(StaticStage())
