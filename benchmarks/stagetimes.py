"""Per-stage wall times of drizrun and AstroDrizzle, side by side.

drizrun reports its stages in the run history (``drizrun.run(...).history``);
AstroDrizzle prints a table of its steps at the end of its log::

    [INFO    ]    Static Mask                   0.6879 sec

:func:`astrodrizzle_step_times` reads that table and :func:`format_stage_times`
lines both up under drizrun's stage names, with the time spent outside the
stages (start-up, reading the inputs, writing the trailer) as ``other``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

#: AstroDrizzle's step names (its timing table) and the drizrun stage doing the same job.
ASTRODRIZZLE_STEPS = {
    "Initialization": "other",
    "Static Mask": "static",
    "Subtract Sky": "sky",
    "Separate Drizzle": "sep",
    "Create Median": "median",
    "Blot": "blot",
    "Driz_CR": "cr",
    "Final Drizzle": "final",
}

#: Stage rows in pipeline order.
STAGES = ("static", "sky", "sep", "median", "blot", "cr", "final", "other")

_STEP_LINE = re.compile(r"^\[INFO\s*\]\s+(?P<step>[A-Za-z_][A-Za-z_ ]*?)\s+(?P<seconds>\d+(?:\.\d*)?) sec\s*$")


def astrodrizzle_step_times(log_text: str) -> dict[str, float]:
    """Return AstroDrizzle's step times from its log, keyed by drizrun stage name.

    Parameters
    ----------
    log_text : str
        The text of AstroDrizzle's log (its trailer file or its standard output).

    Returns
    -------
    dict of str to float
        Seconds per stage (``other`` for its initialisation); empty when the log
        has no timing table (for example when the run failed).
    """
    times: dict[str, float] = {}
    for line in log_text.splitlines():
        match = _STEP_LINE.match(line.strip())
        if match and match["step"] in ASTRODRIZZLE_STEPS:
            stage = ASTRODRIZZLE_STEPS[match["step"]]
            times[stage] = times.get(stage, 0.0) + float(match["seconds"])
    return times


def drizrun_stage_times(history: Iterable[Iterable[object]], total_seconds: float) -> dict[str, float]:
    """Return drizrun's stage times from ``[stage, status, seconds]`` rows.

    The time of the whole call not spent in any stage is reported as ``other``.
    """
    times: dict[str, float] = {}
    for stage, _status, seconds in history:
        times[str(stage)] = times.get(str(stage), 0.0) + float(seconds)  # type: ignore[arg-type]
    times["other"] = max(0.0, total_seconds - sum(times.values()))
    return times


def read_astrodrizzle_times(workdir: Path) -> dict[str, float]:
    """Read the step times from the AstroDrizzle log files in ``workdir`` (first that has them)."""
    for name in ("astrodrizzle.log", "_AstroDrizzle.log"):
        path = workdir / name
        if path.is_file():
            times = astrodrizzle_step_times(path.read_text(errors="replace"))
            if times:
                return times
    return {}


def format_stage_times(times: Mapping[str, Mapping[str, float]]) -> str:
    """Format per-stage seconds of several tools as a table, one row per stage.

    Parameters
    ----------
    times : mapping of tool name to mapping of stage to seconds
        Tools with no times are left out.

    Returns
    -------
    str
        The table, or an empty string when no tool has times.
    """
    tools = [tool for tool, values in times.items() if values]
    if not tools:
        return ""
    width = max(12, *(len(t) for t in tools)) + 2
    lines = ["per-stage wall time (s)".ljust(24) + "".join(t.rjust(width) for t in tools)]
    for stage in STAGES:
        cells = []
        for tool in tools:
            value = times[tool].get(stage)
            cells.append(("-" if value is None else f"{value:.2f}").rjust(width))
        lines.append(f"  {stage}".ljust(24) + "".join(cells))
    return "\n".join(lines)
