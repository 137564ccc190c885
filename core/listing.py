"""Text the ``drizrun`` command prints: listings, version, run summary."""

from __future__ import annotations

import platform
from collections.abc import Sequence

from .runner import RunResult
from .session import Session
from .stage import CANONICAL_STAGES

__all__ = [
    "instruments_table",
    "kernels_table",
    "plugins_table",
    "run_summary",
    "stages_table",
    "table",
    "version_text",
]


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Format rows as a left-aligned text table with a header line."""
    widths = [len(h) for h in header]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)
    return "\n".join(lines)


def version_text() -> str:
    """``drizrun --version``: the version, the kernel backend and the main libraries."""
    import astropy
    import numpy
    import pluggy

    from .. import __version__, kernels

    backend = kernels.BACKEND
    state = "compiled" if backend == "pythran" else "pure Python, not compiled"
    return (
        f"drizrun {__version__} (kernels: {backend}, {state})\n"
        f"python {platform.python_version()}, numpy {numpy.__version__}, astropy {astropy.__version__}, "
        f"pluggy {pluggy.__version__}"
    )


def stages_table(session: Session) -> str:
    """``drizrun --list-stages``: every registered stage, and canonical ones not installed."""
    rows = []
    for name in sorted(session.stages, key=lambda n: (session.stages[n].order, n)):
        info = session.stages[name]
        rows.append(
            [
                name,
                ",".join(info.requires) or "-",
                ",".join(info.uses) or "-",
                ",".join(info.provides) or "-",
                info.plugin,
                info.description,
            ]
        )
    missing = [n for n in CANONICAL_STAGES if n not in session.stages]
    text = (
        table(["STAGE", "REQUIRES", "USES", "PROVIDES", "PLUGIN", "DESCRIPTION"], rows)
        if rows
        else "no stages installed"
    )
    if missing:
        text += "\nnot installed: " + ", ".join(missing)
    return text


def plugins_table(session: Session) -> str:
    """``drizrun --list-plugins``: name, distribution, version and hooks of every plugin."""
    rows = [
        [p.name, p.distribution, p.version, ", ".join(h.removeprefix("drizrun_") for h in p.hooks)]
        for p in session.plugins()
    ]
    return table(["PLUGIN", "DISTRIBUTION", "VERSION", "HOOKS"], rows)


def kernels_table(session: Session) -> str:
    """``drizrun --list-kernels``: kind, name, backend and plugin of every kernel."""
    rows = []
    for key in session.kernels:
        spec = session.kernels[key]
        flux = {True: "yes", False: "no", None: "-"}[spec.conserves_flux]
        rows.append([spec.kind, spec.name, spec.backend, flux, session.kernels.source(key), spec.description])
    return table(["KIND", "NAME", "BACKEND", "CONSERVES FLUX", "PLUGIN", "DESCRIPTION"], rows)


def instruments_table(session: Session) -> str:
    """``drizrun --list-instruments``: name, plugin and description of every instrument."""
    rows = [
        [name, session.instruments.source(name), session.instruments[name].description] for name in session.instruments
    ]
    return table(["INSTRUMENT", "PLUGIN", "DESCRIPTION"], rows)


def run_summary(result: RunResult) -> str:
    """The summary printed after a run: stages with times, then products."""
    config = result.config
    lines = [
        f"drizrun: {config.n_inputs} input(s)"
        + (f" ({config.instrument})" if config.instrument else "")
        + f", {len(result.plan.stages)} stage(s) in {result.elapsed:.2f} s",
    ]
    rows = []
    for record in result.history:
        took = f"{record.elapsed:.2f} s" if record.elapsed is not None else "-"
        rows.append([record.stage, record.status, took, record.message])
    if rows:
        lines.append(table(["STAGE", "STATUS", "TIME", "SUMMARY"], rows))
    if result.products:
        lines.append("products:")
        lines.extend(f"  {path}" for path in result.products)
    return "\n".join(lines)
