"""Built-in plugin ``execute``: runs a stage by calling its ``run`` method.

It answers ``drizrun_stage_run`` last (``trylast``), so another plugin can run
a stage differently (remotely, from a cache) by answering first.
"""

from __future__ import annotations

from typing import Any

from drizrun.core.hookspecs import hookimpl
from drizrun.core.stage import StageInfo, StageResult


@hookimpl(trylast=True)
def drizrun_stage_run(stage: StageInfo, params: Any, ctx: Any) -> StageResult:
    """Call ``stage.stage.run(ctx, params)``; a ``None`` return means success."""
    result = stage.stage.run(ctx, params)
    return StageResult() if result is None else result
