"""Built-in plugin ``generic-instrument``: the fallback for any input.

It registers the ``generic`` instrument and answers
``drizrun_identify_instrument`` last, for every header no other plugin claims.
Assumptions: the data are in the units their header states, with no
instrument-specific default parameters (the stages' own defaults apply).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from drizrun.core.hookspecs import hookimpl


@attrs.frozen
class GenericInstrument:
    """Any image with a celestial WCS; stage defaults are used unchanged."""

    name: str = "generic"
    description: str = "fallback for any image with a celestial WCS; no instrument defaults"

    def default_params(self, n_inputs: int) -> Mapping[str, Mapping[str, Any]]:
        """Return no overrides: the stages' own defaults apply."""
        return {}


@hookimpl(tryfirst=True)
def drizrun_register_instruments(registry: Any) -> None:
    """Register the ``generic`` instrument."""
    registry.add(GenericInstrument())


@hookimpl(trylast=True)
def drizrun_identify_instrument(header: Any, path: str, registry: Any) -> Any:
    """Claim every input no other plugin recognised."""
    return registry["generic"]
