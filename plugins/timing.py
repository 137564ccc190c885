"""Built-in plugin ``timing``: measures each stage's wall time into ``result.elapsed``."""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

from drizrun.core.hookspecs import hookimpl
from drizrun.core.stage import StageResult


@hookimpl(wrapper=True, tryfirst=True)
def drizrun_stage_run(stage: Any, params: Any, ctx: Any) -> Generator[None, StageResult | None, StageResult | None]:
    """Time the stage, including every inner wrapper."""
    started = time.perf_counter()
    result = yield
    if result is not None:
        result.elapsed = time.perf_counter() - started
    return result
