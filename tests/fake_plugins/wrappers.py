"""A third-party wrapper around the stage-run protocol, recording call order."""

from __future__ import annotations

from typing import Any

import drizrun

EVENTS: list[str] = []


@drizrun.hookimpl(wrapper=True)
def drizrun_stage_run(stage: Any, params: Any, ctx: Any) -> Any:
    EVENTS.append(f"before {stage.name}")
    result = yield
    EVENTS.append(f"after {stage.name} {result.status}")
    result.metrics["wrapped"] = True
    return result


@drizrun.hookimpl
def drizrun_stage_finished(stage: Any, ctx: Any, result: Any) -> None:
    EVENTS.append(f"finished {stage.name} {result.status}")
