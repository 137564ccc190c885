"""Provides a fake ``final`` stage only, and blocks nothing: the other canonical stages
are whatever the built-in plugins provide."""

from __future__ import annotations

from typing import Any

import drizrun

from .chain import Final


@drizrun.hookimpl
def drizrun_register_stages(registry: Any) -> None:
    registry.add(Final(), replace="final" in registry)
