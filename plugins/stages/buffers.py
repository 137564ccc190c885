"""Work arrays lent from chip to chip within a stage.

``sep``, ``blot`` and ``final`` each map every chip onto the common frame:
a pixel map of 128 MiB per ACS/WFC chip, used once and dropped. Every new
array of that size is new memory for the process: the operating system
faults in and clears each page again, and on virtual machines that return
freed memory to their host (virtio-balloon free page reporting) the host
has to supply it again too. On the 2-core machine of the benchmarks a chip's
map took 0.05 s of CPU to compute and 0.3-1.5 s to place in memory freed a
few seconds earlier (``benchmarks/memory_cost.py`` measures this).

A :class:`BufferPool` takes the arrays back when a chip is done and lends
them again, so memory is faulted in for as many arrays as are in use at once
(one set per worker), not for every chip. Memory the process frees and
allocates again a moment later is cheap, but memory that lies idle, in the
pool or freed for a few seconds, costs as much as new memory. So arrays go
from one stage to the next through the run's pool, :func:`run_pool`, only
where the next stage uses them: ``sep`` lends its frames, chip arrays and
pixel maps chip after chip and exposure after exposure; ``median``, which
needs its memory for row sections, lets the pool go; ``blot`` keeps its
pixel maps in a pool of its own, freed for ``cr`` to allocate from; the chip
arrays of ``cr`` go on to ``final``, which also takes its pixel maps and
output frames from the run's pool. Idle arrays are bounded by
:data:`RUN_POOL_IDLE_BYTES`; only arrays whose use ends within the stage are
borrowed (never an image kept in memory with ``--in-memory``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

__all__ = ["RUN_POOL_IDLE_BYTES", "BufferPool", "run_pool"]

#: Most bytes of idle arrays the run-wide pool holds between uses (an ACS/WFC
#: visit's stages use about 0.8 GB of frames, chip arrays and pixel maps).
RUN_POOL_IDLE_BYTES = 768 << 20

class BufferPool:
    """Arrays given back after use and lent again for the same shape and type.

    Parameters
    ----------
    keep : int
        Most arrays held while unused (at least the number of workers that
        borrow one at a time).
    keep_bytes : int, optional
        Most bytes held in unused arrays (default: no bound but ``keep``).

    Notes
    -----
    Thread-safe. An array is never lent to two borrowers at once; its
    content when lent is whatever its last borrower left in it.
    """

    def __init__(self, keep: int = 2, keep_bytes: int | None = None) -> None:
        self.keep = max(int(keep), 0)
        self.keep_bytes = None if keep_bytes is None else max(int(keep_bytes), 0)
        self.allocated = 0  #: arrays made new (the others were reused)
        self._free: list[NDArray[Any]] = []
        self._lock = threading.Lock()

    @contextmanager
    def borrow(self, shape: tuple[int, ...], dtype: DTypeLike) -> Iterator[NDArray[Any]]:
        """Lend a C-contiguous array of ``shape`` and ``dtype`` for the ``with`` block.

        Yields
        ------
        ndarray
            Taken back when the block ends: keep no reference to it.
        """
        want_shape, want_dtype = tuple(int(n) for n in shape), np.dtype(dtype)
        array = None
        with self._lock:
            for index, held in enumerate(self._free):
                if held.shape == want_shape and held.dtype == want_dtype:
                    array = self._free.pop(index)
                    break
            else:
                self.allocated += 1
        if array is None:
            array = np.empty(want_shape, dtype=want_dtype)
        try:
            yield array
        finally:
            with self._lock:
                held = sum(a.nbytes for a in self._free)
                if len(self._free) < self.keep and (self.keep_bytes is None or held + array.nbytes <= self.keep_bytes):
                    self._free.append(array)

    def clear(self) -> None:
        """Drop every array held."""
        with self._lock:
            self._free.clear()



def run_pool(ctx: Any) -> BufferPool:
    """The pool of work arrays shared by the stages of one run (kept in ``ctx.stash``).

    Parameters
    ----------
    ctx : RunContext
        The run.

    Returns
    -------
    BufferPool
        Holding at most :data:`RUN_POOL_IDLE_BYTES` of idle arrays; it goes
        with the run context.
    """
    key = ("drizrun.plugins.stages.buffers", "run_pool")
    pool = ctx.stash.get(key)
    if pool is None:
        pool = ctx.stash.setdefault(key, BufferPool(keep=64, keep_bytes=RUN_POOL_IDLE_BYTES))
    return pool
