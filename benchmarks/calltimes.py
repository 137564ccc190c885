"""Run the drizrun command line with the pixel-map, drizzle and blot calls timed.

Every call of :func:`drizrun.calc_pixmap` (whoever makes it), of the drizzle
and blot kernels and of the writer of the drz product is timed: wall time,
and the user and system CPU time of the calling thread. A large system time
means the call spent its time having new memory faulted in, not computing
(see ``benchmarks/memory_cost.py``). The totals are printed after the run's own
output.

Usage (the arguments are those of ``drizrun``)::

    python benchmarks/calltimes.py jdrz01010_asn.fits --output out/jdrz01010 -n 2 -q
"""

from __future__ import annotations

import functools
import resource
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

#: Per timed function: calls, wall, user and system seconds, minor page faults.
TOTALS: dict[str, list[float]] = {}
_LOCK = threading.Lock()
_THREAD = getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)


def timed(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` with its calls added to ``TOTALS[label]``."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        before, started = resource.getrusage(_THREAD), time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            wall, after = time.perf_counter() - started, resource.getrusage(_THREAD)
            with _LOCK:
                total = TOTALS.setdefault(label, [0, 0.0, 0.0, 0.0, 0])
                total[0] += 1
                total[1] += wall
                total[2] += after.ru_utime - before.ru_utime
                total[3] += after.ru_stime - before.ru_stime
                total[4] += after.ru_minflt - before.ru_minflt

    return wrapper


def instrument() -> None:
    """Replace the timed functions everywhere drizrun's stages look them up."""
    import drizrun
    import drizrun.core.geometry as geometry
    import drizrun.core.geometry.pixmap as pixmap
    import drizrun.kernels as kernels
    from drizrun.plugins.stages import blot, cr, final, resample, skyalgo

    mapped = timed("calc_pixmap", pixmap.calc_pixmap)
    for module in (drizrun, geometry, pixmap, blot, cr, final, resample, skyalgo):
        if hasattr(module, "calc_pixmap"):
            module.calc_pixmap = mapped
    for name in ("drizzle", "blot"):
        setattr(kernels, name, timed(name, getattr(kernels, name)))
    final.write_drizzle_product = timed("drz product", final.write_drizzle_product)


def report() -> str:
    """The totals, one line per timed function."""
    lines = [f"{'call':12s} {'n':>4s} {'wall s':>8s} {'user s':>8s} {'system s':>9s} {'faults':>8s}"]
    for label, (calls, wall, user, system, faults) in sorted(TOTALS.items()):
        lines.append(f"{label:12s} {calls:4d} {wall:8.2f} {user:8.2f} {system:9.2f} {faults:8d}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    instrument()
    from drizrun.core.cli import main as drizrun_main

    try:
        return drizrun_main(sys.argv[1:] if argv is None else argv)
    finally:
        print(report(), file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
