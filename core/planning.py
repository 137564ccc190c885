"""Stage planning: from the requested stage names to a validated, ordered plan.

The rules, applied before any pixel is touched:

1. Every requested name must be a registered stage; a misspelt name gets the
   closest valid one, a canonical stage without a plugin says so.
2. A stage needing more inputs than the run has (``min_inputs``; ``median``,
   ``blot`` and ``cr`` need two) is skipped with a logged reason.
3. Every artifact a selected stage ``requires`` must come from an earlier
   selected stage or already be available (an artifact on disk from an
   earlier run on the same inputs). Otherwise the stage providing it is
   turned on, with a logged reason. With the built-in stages this reproduces
   AstroDrizzle's rule that ``cr`` needs ``blot`` needs ``median`` needs ``sep``.
4. The order follows the requires/uses graph, then each stage's ``order``
   (the canonical order for the seven AstroDrizzle steps), then the name.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence

import attrs

from .errors import StageOrderError, closest
from .registry import StageRegistry
from .stage import CANONICAL_STAGES, StageInfo

__all__ = ["StagePlan", "default_stages", "plan_stages"]


@attrs.frozen
class StagePlan:
    """A validated stage plan.

    Attributes
    ----------
    stages : tuple of StageInfo
        The stages to run, in order.
    enabled : tuple of (str, str)
        Stages turned on to satisfy a requirement, with the reason.
    skipped : tuple of (str, str)
        Requested stages that will not run, with the reason.
    """

    stages: tuple[StageInfo, ...]
    enabled: tuple[tuple[str, str], ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()

    @property
    def names(self) -> list[str]:
        """Names of the stages to run, in order."""
        return [info.name for info in self.stages]


def default_stages(registry: StageRegistry) -> list[str]:
    """Return the canonical stages that are installed, in canonical order."""
    return [name for name in CANONICAL_STAGES if name in registry]


def plan_stages(
    requested: Sequence[str],
    registry: StageRegistry,
    *,
    n_inputs: int,
    available: Callable[[str], bool] = lambda _name: False,
) -> StagePlan:
    """Validate and order a stage list.

    Parameters
    ----------
    requested : sequence of str
        Stage names, in any order.
    registry : StageRegistry
        The registered stages.
    n_inputs : int
        Number of input exposures.
    available : callable
        ``available(artifact)`` says whether an artifact already exists (e.g.
        on disk from an earlier run), so its provider need not run.

    Returns
    -------
    StagePlan

    Raises
    ------
    StageOrderError
        On an unknown stage, an unsatisfiable requirement or a cycle.
    """
    if not requested:
        raise StageOrderError("no stages to run")
    selected: dict[str, StageInfo] = {}
    skipped: list[tuple[str, str]] = []
    enabled: list[tuple[str, str]] = []
    for name in requested:
        info = _lookup(name, registry)
        if name in selected:
            continue
        if n_inputs < info.min_inputs:
            skipped.append((name, f"needs at least {info.min_inputs} inputs, the run has {n_inputs}"))
            continue
        selected[name] = info

    changed = True
    while changed:
        changed = False
        for info in list(selected.values()):
            for artifact in info.requires:
                if any(artifact in other.provides for other in selected.values()) or available(artifact):
                    continue
                provider = _provider(artifact, info, registry)
                if n_inputs < provider.min_inputs:
                    raise StageOrderError(
                        f"stage {info.name!r} requires {artifact!r} from stage {provider.name!r}, "
                        f"which needs at least {provider.min_inputs} inputs (the run has {n_inputs})"
                    )
                selected[provider.name] = provider
                skipped = [(n, r) for n, r in skipped if n != provider.name]
                enabled.append((provider.name, f"{info.name!r} requires {artifact!r}"))
                changed = True

    ordered = _order(list(selected.values()))
    return StagePlan(stages=tuple(ordered), enabled=tuple(enabled), skipped=tuple(skipped))


def _lookup(name: str, registry: StageRegistry) -> StageInfo:
    if name in registry:
        return registry[name]
    if name in CANONICAL_STAGES:
        raise StageOrderError(f"stage {name!r} is not provided by any installed plugin")
    known = list(registry) or list(CANONICAL_STAGES)
    raise StageOrderError(
        f"unknown stage {name!r}{closest(name, known)}; installed stages: {', '.join(registry) or 'none'}"
    )


def _provider(artifact: str, consumer: StageInfo, registry: StageRegistry) -> StageInfo:
    providers = registry.providers(artifact)
    if not providers:
        raise StageOrderError(
            f"stage {consumer.name!r} requires {artifact!r}, which no installed stage provides "
            f"and no earlier run left on disk"
        )
    providers.sort(key=lambda info: (not info.canonical, info.order, info.name))
    return providers[0]


def _order(stages: list[StageInfo]) -> list[StageInfo]:
    """Topological order by requires/uses, ties broken by (order, name)."""
    by_name = {info.name: info for info in stages}
    predecessors: dict[str, set[str]] = {name: set() for name in by_name}
    for info in stages:
        for artifact in (*info.requires, *info.uses):
            for other in stages:
                if other.name != info.name and artifact in other.provides:
                    predecessors[info.name].add(other.name)
    successors: dict[str, set[str]] = {name: set() for name in by_name}
    for name, preds in predecessors.items():
        for pred in preds:
            successors[pred].add(name)
    remaining = {name: len(preds) for name, preds in predecessors.items()}
    heap = [(by_name[n].order, n) for n, count in remaining.items() if count == 0]
    heapq.heapify(heap)
    result = []
    while heap:
        _, name = heapq.heappop(heap)
        result.append(by_name[name])
        for succ in successors[name]:
            remaining[succ] -= 1
            if remaining[succ] == 0:
                heapq.heappush(heap, (by_name[succ].order, succ))
    if len(result) != len(stages):
        cycle = sorted(n for n, count in remaining.items() if count > 0)
        raise StageOrderError(f"stages {', '.join(cycle)} require each other's artifacts (a cycle)")
    return result
