"""Checks on a set of exposures that are processed together.

AstroDrizzle silently combines whatever it is given; drizrun refuses the
mixtures that are almost always mistakes, with a message naming an example
of each side:

* FLT files mixed with FLC files (CTE-corrected and uncorrected data);
* exposures from two instruments or detectors;
* exposures through different filters, unless explicitly allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

from ..errors import InputError

__all__ = ["ExposureSummary", "check_input_set"]


class ExposureSummary(Protocol):
    """What the checks look at (an :class:`~drizrun.core.exposure.model.Exposure` has it all)."""

    path: Path
    kind: str
    instrument: str
    filters: tuple[str, ...]


def check_input_set(exposures: Iterable[ExposureSummary], *, allow_mixed_filters: bool = False) -> None:
    """Refuse a set of exposures that should not be combined.

    Parameters
    ----------
    exposures : iterable
        Objects with ``path``, ``kind`` (``"flt"``, ``"flc"`` or ``""``),
        ``instrument`` and ``filters`` attributes, e.g. exposures from
        :func:`~drizrun.core.exposure.read_exposure`.
    allow_mixed_filters : bool
        Accept exposures through different filters.

    Raises
    ------
    InputError
        On FLT mixed with FLC, two instruments, or (unless allowed) two filters.
    """
    items = list(exposures)
    kinds = _groups(items, lambda e: e.kind)
    kinds.pop("", None)
    if len(kinds) > 1:
        raise InputError(f"the inputs mix {_describe(kinds, str.upper)}; combine FLT files or FLC files, not both")
    instruments = _groups(items, lambda e: e.instrument)
    if len(instruments) > 1:
        raise InputError(f"the inputs mix instruments: {_describe(instruments, str)}; run them separately")
    filters = _groups(items, lambda e: "+".join(e.filters) or "no filter")
    if len(filters) > 1 and not allow_mixed_filters:
        raise InputError(
            f"the inputs mix filters: {_describe(filters, str)}; run each filter separately or allow mixed filters"
        )


def _groups(items: Sequence[ExposureSummary], key: Callable[[ExposureSummary], str]) -> dict[str, list[Path]]:
    groups: dict[str, list[Path]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(Path(item.path))
    return groups


def _describe(groups: dict[str, list[Path]], label: Callable[[str], str]) -> str:
    parts = []
    for value, paths in groups.items():
        more = f" and {len(paths) - 1} more" if len(paths) > 1 else ""
        parts.append(f"{label(value)} ({paths[0].name}{more})")
    return ", ".join(parts)
