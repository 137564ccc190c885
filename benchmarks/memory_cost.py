"""What new memory and file writes cost on this machine, next to computing.

A drizrun run maps, drizzles and writes arrays of 32-128 MiB per chip. How
long that takes depends on the machine as much as on drizrun: every page of
memory the process has not used before is faulted in and cleared by the
kernel, and a virtual machine that returns free memory to its host
(virtio-balloon free page reporting) has the host supply each such page
again. This script measures, in one process:

* touching ``--size`` MiB of new memory: the first time, again right after
  freeing it, and again after the memory has been free for ``--idle``
  seconds;
* touching new memory backed by transparent huge pages (what NumPy asks
  the kernel for, for arrays of 4 MiB and more) and by ordinary 4 KiB pages
  (what drizrun's commands get, see ``drizrun.core.allocator``), where the
  system has transparent huge pages;
* writing a file of that size and flushing it to disk, through the page
  cache and with ``O_DIRECT`` (where the file system allows it);
* for scale, summing the same array (a pass over memory already in use).

Usage::

    python benchmarks/memory_cost.py [--size 128] [--idle 4] [--repeat 3] [--dir .]
"""

from __future__ import annotations

import argparse
import functools
import mmap
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def seconds(action: Callable[[], object]) -> float:
    """Wall time of one call."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def touch_new(nbytes: int) -> float:
    """Allocate ``nbytes`` of new memory and write every page once."""

    def touch() -> None:
        array = np.empty(nbytes // 8, dtype=np.float64)
        array.fill(1.0)

    return seconds(touch)


def touch_pages(nbytes: int, *, huge: bool) -> float | None:
    """Touch ``nbytes`` of new private memory advised into huge or small pages; ``None`` without the advice."""
    advice = getattr(mmap, "MADV_HUGEPAGE" if huge else "MADV_NOHUGEPAGE", None)
    if advice is None:
        return None
    region = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE)
    try:
        region.madvise(advice)
    except OSError:
        region.close()
        return None
    array = np.frombuffer(region, dtype=np.float64)
    elapsed = seconds(functools.partial(array.fill, 1.0))
    del array
    region.close()
    return elapsed


def write_file(path: Path, data: memoryview, *, direct: bool) -> float | None:
    """Write ``data`` to ``path`` and flush it to disk; ``None`` when O_DIRECT is refused."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (getattr(os, "O_DIRECT", 0) if direct else 0)
    if direct and not getattr(os, "O_DIRECT", 0):
        return None
    started = time.perf_counter()
    try:
        fd = os.open(path, flags, 0o600)
    except OSError:
        return None
    try:
        view = data
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except OSError:
        return None
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
    return time.perf_counter() - started


def line(label: str, nbytes: int, elapsed: float | None) -> str:
    """One row of the report: what was measured, its time and its rate."""
    figure = "not available" if elapsed is None else f"{elapsed:7.3f} s  {nbytes / elapsed / 1e9:6.2f} GB/s"
    return f"{label:<32}{figure}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=128, help="MiB per measurement (default 128)")
    parser.add_argument("--idle", type=float, default=4.0, help="seconds memory stays free (default 4)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="where to write the test files")
    args = parser.parse_args(argv)
    nbytes = args.size * 2**20 // mmap.PAGESIZE * mmap.PAGESIZE

    buffer = mmap.mmap(-1, nbytes)  # page-aligned, as O_DIRECT needs
    data = memoryview(buffer)
    np.frombuffer(buffer, dtype=np.uint8)[:] = 1
    in_use = np.frombuffer(buffer, dtype=np.float64)
    print(f"{args.size} MiB per measurement, {args.repeat} repeats")
    print(line("sum of an array in use", nbytes, seconds(in_use.sum)))
    for repeat in range(args.repeat):
        print(f"-- repeat {repeat + 1}")
        print(line("new memory, first touch", nbytes, touch_new(nbytes)))
        print(line("new memory, just freed", nbytes, touch_new(nbytes)))
        time.sleep(args.idle)
        print(line(f"new memory, free for {args.idle:g} s", nbytes, touch_new(nbytes)))
        time.sleep(args.idle)
        print(line("new memory, huge pages", nbytes, touch_pages(nbytes, huge=True)))
        time.sleep(args.idle)
        print(line("new memory, 4 KiB pages", nbytes, touch_pages(nbytes, huge=False)))
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            target = Path(tmp) / "memory_cost.bin"
            print(line("file write, page cache + fsync", nbytes, write_file(target, data, direct=False)))
            print(line("file write, O_DIRECT + fsync", nbytes, write_file(target, data, direct=True)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
