"""Work arrays lent from chip to chip within a stage.

``sep``, ``blot`` and ``final`` each map every chip onto the common frame:
a pixel map of 128 MiB per ACS/WFC chip, used once and dropped. Every new
array of that size is new memory for the process: the operating system
faults in and clears each page again, and on virtual machines that return
freed memory to their host (virtio-balloon free page reporting) the host
has to supply it again too. On the 2-core machine of the benchmarks a chip's
map took 0.05 s of CPU to compute and 0.3-1.5 s to place in memory freed a
few seconds earlier (``benchmarks/memory_cost.py`` measures this).

A :class:`BufferPool` made by the stage takes the arrays back when a chip
is done and lends them again, so the stage faults in memory for as many maps
as it holds at once (one per worker), not for every chip. It holds at most
``keep`` arrays and goes with the stage, so the stages in between (median,
cr) do not carry idle maps on top of their own peak.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

__all__ = ["BufferPool"]

class BufferPool:
    """Arrays given back after use and lent again for the same shape and type.

    Parameters
    ----------
    keep : int
        Most arrays held while unused (at least the number of workers that
        borrow one at a time).

    Notes
    -----
    Thread-safe. An array is never lent to two borrowers at once; its
    content when lent is whatever its last borrower left in it.
    """

    def __init__(self, keep: int = 2) -> None:
        self.keep = max(int(keep), 0)
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
                if len(self._free) < self.keep:
                    self._free.append(array)

    def clear(self) -> None:
        """Drop every array held."""
        with self._lock:
            self._free.clear()

