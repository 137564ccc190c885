"""A stage that writes its product slowly, to test interruption mid-write.

While ``DRIZRUN_TEST_SLOW`` is set, the writer writes half the file, then
sleeps for that many seconds before finishing.
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


class SlowWrite:
    """Write ``<root>_slow.dat`` (1 MB) atomically and slowly."""

    name = "slowwrite"
    params = NoParams
    requires = ()
    provides = ()

    def run(self, ctx: Any, params: Any) -> drizrun.StageResult:
        delay = float(os.environ.get("DRIZRUN_TEST_SLOW", "0"))

        def writer(tmp):
            with open(tmp, "wb") as handle:
                handle.write(b"x" * 500_000)
                handle.flush()
                time.sleep(delay)
                handle.write(b"y" * 500_000)

        target = atomic_write(ctx.output_path("_slow.dat"), writer)
        ctx.add_product(target)
        return drizrun.StageResult(message="written")


@drizrun.hookimpl
def drizrun_register_stages(registry: Any) -> None:
    registry.add(SlowWrite())
