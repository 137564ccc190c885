"""Built-in plugin ``provenance``: records what every stage did in ``ctx.history``.

Each record holds the stage, the plugin and distribution providing it, its
parameters, status, time and summary; products write them into their headers.
"""

from __future__ import annotations

from typing import Any

import attrs

from drizrun.core.context import ProvenanceRecord
from drizrun.core.hookspecs import hookimpl
from drizrun.core.stage import StageInfo, StageResult


@hookimpl
def drizrun_stage_finished(stage: StageInfo, ctx: Any, result: StageResult) -> None:
    """Append a :class:`~drizrun.core.context.ProvenanceRecord` for the stage."""
    dists = getattr(ctx.pm, "_drizrun_dists", {})
    dist, version = dists.get(stage.plugin, ("(not installed)", "-"))
    params = ctx.config.params.get(stage.name)
    ctx.history.append(
        ProvenanceRecord(
            stage=stage.name,
            plugin=stage.plugin,
            distribution=f"{dist} {version}",
            params=attrs.asdict(params) if params is not None else {},
            status=result.status,
            elapsed=result.elapsed,
            message=result.message,
        )
    )
