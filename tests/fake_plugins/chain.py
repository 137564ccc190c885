"""Fake stages with AstroDrizzle's artifact chain: sep -> median -> blot -> cr -> final.

They replace any built-in stage of the same name, so the plugin-system tests
do not depend on which real stages are installed.

Each stage records its name in the ``ran`` artifact list so tests can see what
ran and in which order; ``median`` writes an array artifact to test resuming.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

import drizrun


@attrs.frozen
class NoParams:
    """No parameters."""


@attrs.frozen
class FinalParams:
    """Parameters of the fake final stage."""

    kernel: str = drizrun.param("square", doc="Kernel name.", choices=("square", "turbo", "point"))
    pixfrac: float = drizrun.param(1.0, doc="Drop size.", validator=drizrun.in_range(0.0, 1.0, low_open=True))
    snr: tuple[float, float] = drizrun.param((3.5, 3.0), doc="Two thresholds.")
    fillval: float | None = drizrun.param(None, doc="Fill value, unset by default.")
    context: bool = drizrun.param(True, doc="Write a context image.")
    grow: int = drizrun.param(1, doc="Grow radius.", validator=drizrun.in_range(0, 10))


def _record(ctx: Any, name: str) -> None:
    ran = ctx.stash.setdefault("ran", [])
    ran.append(name)


class _Base:
    params: type = NoParams
    requires: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    min_inputs = 1

    def run(self, ctx: Any, params: Any) -> drizrun.StageResult:
        _record(ctx, self.name)  # type: ignore[attr-defined]
        for artifact in self.provides:
            ctx.artifacts.put(artifact, np.full((4, 4), len(ctx.stash["ran"]), dtype=np.float32), stage=self.name)  # type: ignore[attr-defined]
        return drizrun.StageResult(message=f"{self.name} ran")  # type: ignore[attr-defined]


class Static(_Base):
    """Fake static mask."""

    name = "static"
    provides = ("static_mask",)


class Sky(_Base):
    """Fake sky."""

    name = "sky"
    provides = ("sky",)


class Sep(_Base):
    """Fake separate drizzle."""

    name = "sep"
    provides = ("single",)
    uses = ("static_mask", "sky")


class Median(_Base):
    """Fake median."""

    name = "median"
    requires = ("single",)
    provides = ("median",)
    min_inputs = 2


class Blot(_Base):
    """Fake blot."""

    name = "blot"
    requires = ("median",)
    provides = ("blotted",)
    min_inputs = 2


class Cr(_Base):
    """Fake cosmic-ray detection."""

    name = "cr"
    requires = ("blotted",)
    provides = ("crmask",)
    min_inputs = 2


class Final(_Base):
    """Fake final drizzle."""

    name = "final"
    params = FinalParams
    uses = ("crmask", "static_mask")
    provides = ("drz",)


@drizrun.hookimpl
def drizrun_register_stages(registry: Any) -> None:
    for stage in (Final(), Cr(), Blot(), Median(), Sep(), Sky(), Static()):  # registration order must not matter
        registry.add(stage, replace=True)  # stands in for whatever built-in stage has the name
