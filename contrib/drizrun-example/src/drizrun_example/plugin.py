"""drizrun hook implementations of the example plugin (entry point ``example``)."""

from __future__ import annotations

from typing import Any

import drizrun

from .sobel import sobel_deriv
from .stage import ChipStatsStage


@drizrun.hookimpl
def drizrun_register_kernels(registry: Any) -> None:
    """Add the ``sobel`` derivative kernel."""
    registry.add(
        drizrun.KernelSpec(
            kind="deriv",
            name="sobel",
            backend="numpy",
            function=sobel_deriv,
            description="Sobel gradient magnitude (example plugin)",
        )
    )


@drizrun.hookimpl
def drizrun_register_stages(registry: Any) -> None:
    """Add the ``chipstats`` stage."""
    registry.add(ChipStatsStage())
