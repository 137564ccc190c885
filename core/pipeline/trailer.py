"""The trailer ``<root>.tra``: what each pipeline run did, appended run after run.

Each run adds one section: the input, the options, the versions of drizrun,
NumPy, Astropy and Python, then per product its inputs, the effective
parameters, the stages with their times, and finally the log records and the
warnings of the run and how it ended.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ..fileio import write_text_atomic
from ..listing import table

__all__ = ["append_trailer", "run_section", "versions_line"]

_RULE = "=" * 78


def versions_line() -> str:
    """``drizrun 0.1.0, numpy 2.1.3, astropy 6.1.4, python 3.11.10``."""
    import astropy
    import numpy

    from ... import __version__

    return (f"drizrun {__version__}, numpy {numpy.__version__}, astropy {astropy.__version__}, "
            f"python {platform.python_version()}")


def run_section(label: str, inputs: Sequence[Path], outcome: str, config_text: str | None,
                history: Sequence[Any]) -> str:
    """Render one product run.

    Parameters
    ----------
    label : str
        What the run makes (``"4 FLT file(s) -> x_drz.fits"``).
    inputs : sequence of Path
        Its input files.
    outcome : str
        ``"done in 3.1 s"``, ``"skipped: ..."`` or ``"FAILED: ..."``.
    config_text : str or None
        The effective configuration (TOML), when it was resolved.
    history : sequence of ProvenanceRecord
        The stages that ran or were skipped.

    Returns
    -------
    str
    """
    lines = [f"--- {label}: {outcome}", "inputs: " + " ".join(path.name for path in inputs)]
    if config_text:
        lines.append("parameters:")
        lines.extend(f"  {line}" for line in config_text.rstrip().splitlines())
    if history:
        rows = [[r.stage, r.status, f"{r.elapsed:.2f} s" if r.elapsed is not None else "-", r.message]
                for r in history]
        lines.append("stages:")
        lines.extend(f"  {line}" for line in table(["STAGE", "STATUS", "TIME", "SUMMARY"], rows).splitlines())
    return "\n".join(lines)


def append_trailer(path: Path, *, started: datetime, source: str, options: dict[str, Any],
                   sections: Sequence[str], log_lines: Sequence[str], warnings: Sequence[str],
                   outcome: str) -> Path:
    """Append one pipeline run to the trailer (atomically: the file is rewritten whole).

    Parameters
    ----------
    path : Path
        The trailer.
    started : datetime
        When the run started (local time).
    source : str
        INPUT as given.
    options : dict
        The pipeline options (force, in_memory, num_cores, newpath...).
    sections : sequence of str
        One :func:`run_section` per product.
    log_lines : sequence of str
        The log records of the run.
    warnings : sequence of str
        The warnings and errors among them, and Python warnings.
    outcome : str
        How the run ended.

    Returns
    -------
    Path
    """
    lines = [
        _RULE,
        f"drizrun-pipeline started {started.isoformat(sep=' ', timespec='seconds')}",
        f"input: {source}",
        "options: " + ", ".join(f"{key}={value!r}" for key, value in options.items()),
        f"versions: {versions_line()}",
        "",
    ]
    for section in sections:
        lines.extend([section, ""])
    lines.append("--- log")
    lines.extend(log_lines or ["(none)"])
    lines.extend(["", "--- warnings and errors"])
    lines.extend(warnings or ["(none)"])
    lines.extend(["", f"finished {datetime.now().isoformat(sep=' ', timespec='seconds')}: {outcome}", _RULE, ""])
    try:
        previous = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        previous = ""
    return write_text_atomic(path, previous + "\n".join(lines))
