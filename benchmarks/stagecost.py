"""Run the drizrun command line and print what each stage cost the machine.

For every stage: wall time, the process's user and system CPU time, and the
memory the operating system handed out meanwhile (pages allocated, from
``/proc/vmstat``, machine-wide, so run it on an otherwise idle machine) with
the transparent huge pages among them. System time is mostly the supplying of
that memory (see ``benchmarks/memory_cost.py``): on a virtual machine that
returns free memory to its host it costs far more when the memory is new to
the process than when the process freed it a moment before.

Usage (the arguments are those of ``drizrun``)::

    python benchmarks/stagecost.py jdrz01010_asn.fits --output out/jdrz01010 -n 2 -q
"""

from __future__ import annotations

import resource
import sys
import time
import types
from collections.abc import Generator
from pathlib import Path
from typing import Any

#: One row per stage run: name, wall s, user s, system s, MiB allocated, huge-page faults, peak RSS MB.
ROWS: list[tuple[str, float, float, float, float, int, float]] = []

_VMSTAT = Path("/proc/vmstat")
_PAGE_COUNTERS = ("pgalloc_dma", "pgalloc_dma32", "pgalloc_normal", "pgalloc_movable")


def vm_counters(text: str | None = None) -> tuple[int, int]:
    """Pages allocated and huge-page faults so far, from ``/proc/vmstat`` (0, 0 where it is missing)."""
    if text is None:
        try:
            text = _VMSTAT.read_text()
        except OSError:
            return 0, 0
    values = dict(line.split() for line in text.splitlines() if line.count(" ") == 1)
    pages = sum(int(values.get(name, 0)) for name in _PAGE_COUNTERS)
    return pages, int(values.get("thp_fault_alloc", 0))


def _plugin() -> types.ModuleType:
    """A plugin module whose stage wrapper records a row per stage."""
    from drizrun.core.hookspecs import hookimpl

    @hookimpl(wrapper=True)
    def drizrun_stage_run(stage: Any, params: Any, ctx: Any) -> Generator[None, Any, Any]:
        before, pages, huge = resource.getrusage(resource.RUSAGE_SELF), *vm_counters()
        started = time.perf_counter()
        try:
            return (yield)
        finally:
            wall = time.perf_counter() - started
            after, pages_after, huge_after = resource.getrusage(resource.RUSAGE_SELF), *vm_counters()
            ROWS.append((str(getattr(stage, "name", stage)), wall, after.ru_utime - before.ru_utime,
                         after.ru_stime - before.ru_stime, (pages_after - pages) * 4096 / 2**20,
                         huge_after - huge, after.ru_maxrss / 1024))

    module = types.ModuleType("drizrun_stagecost")
    module.drizrun_stage_run = drizrun_stage_run  # type: ignore[attr-defined]
    return module


def report() -> str:
    """The rows as a table."""
    lines = [f"{'stage':8s} {'wall s':>7s} {'user s':>7s} {'sys s':>7s} {'alloc MiB':>10s} {'THP':>5s} {'peak MB':>8s}"]
    for name, wall, user, system, mib, huge, peak in ROWS:
        lines.append(f"{name:8s} {wall:7.2f} {user:7.2f} {system:7.2f} {mib:10.0f} {huge:5d} {peak:8.0f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from drizrun.core.cli import main as drizrun_main

    sys.modules["drizrun_stagecost"] = _plugin()
    args = sys.argv[1:] if argv is None else argv
    try:
        return drizrun_main([*args, "-p", "drizrun_stagecost"])
    finally:
        print(report(), file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
