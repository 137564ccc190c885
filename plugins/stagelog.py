"""Built-in plugin ``stagelog``: logs the start and end of every stage."""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any

from drizrun.core.hookspecs import hookimpl
from drizrun.core.stage import StageInfo, StageResult

log = logging.getLogger("drizrun")


@hookimpl(wrapper=True)
def drizrun_stage_run(
    stage: StageInfo, params: Any, ctx: Any
) -> Generator[None, StageResult | None, StageResult | None]:
    """Log a line when a stage starts and when it fails."""
    log.info("[%s] starting", stage.name)
    try:
        result = yield
    except BaseException as exc:
        log.error("[%s] failed: %s", stage.name, exc)
        raise
    return result


@hookimpl
def drizrun_stage_finished(stage: StageInfo, ctx: Any, result: StageResult) -> None:
    """Log the stage's outcome with its time (measured by the ``timing`` plugin)."""
    took = f" in {result.elapsed:.2f} s" if result.elapsed is not None else ""
    detail = f": {result.message}" if result.message else ""
    log.info("[%s] %s%s%s", stage.name, "done" if result.status == "ok" else "skipped", took, detail)
