"""A stage between ``sep`` and ``median`` that writes a file slowly, to interrupt a real run mid-stage.

While ``DRIZRUN_ROBUSTNESS_SLOW`` is set to a number of seconds, the stage
writes half of ``<root>_slow.dat``, sleeps that long, then finishes the file.
"""

from __future__ import annotations

import os
import time
from typing import Any

import attrs

import drizrun
from drizrun.core.fileio import atomic_write


@attrs.frozen
class NoParams:
    """No parameters."""


class SlowStage:
    """Write ``<root>_slow.dat`` (200 kB) atomically, pausing half way."""

    name = "slowstage"
    params = NoParams
    requires = ("single",)
    provides = ()
    order = 35.0

    def run(self, ctx: Any, params: Any) -> drizrun.StageResult:
        delay = float(os.environ.get("DRIZRUN_ROBUSTNESS_SLOW", "0"))

        def writer(tmp: Any) -> None:
            with open(tmp, "wb") as handle:
                handle.write(b"x" * 100_000)
                handle.flush()
                time.sleep(delay)
                handle.write(b"y" * 100_000)

        atomic_write(ctx.output_path("_slow.dat"), writer)
        return drizrun.StageResult(message="written")


@drizrun.hookimpl
def drizrun_register_stages(registry: Any) -> None:
    registry.add(SlowStage())
