"""Threads for independent pieces of work, with results in input order.

drizrun's array kernels (compiled with Pythran) and NumPy release the GIL, so
threads run chips, exposures and row sections side by side without copying
data between processes and without ``fork``. Every helper returns results in
the order of its inputs and never combines floating-point results from
different threads itself, so a run gives bit-identical products whatever the
number of cores.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["ordered_map"]

T = TypeVar("T")
R = TypeVar("R")


def ordered_map(function: Callable[[T], R], items: Iterable[T], *, num_cores: int = 1,
                ahead: int | None = None) -> Iterator[R]:
    """Apply ``function`` to every item on up to ``num_cores`` threads, yielding results in order.

    Parameters
    ----------
    function : callable
        Called once per item.
    items : iterable
        The work.
    num_cores : int
        Threads to use; 1 runs everything in the calling thread.
    ahead : int, optional
        Most results computed but not yet consumed (bounds memory when each
        result is large); default ``num_cores``.

    Yields
    ------
    object
        ``function(item)`` for each item, in the order of ``items``.

    Notes
    -----
    An exception raised by ``function`` is raised by the iteration at that
    item; work already started on later items is waited for, not abandoned
    half-done, before it propagates.
    """
    if num_cores <= 1:
        for item in items:
            yield function(item)
        return
    window = max(1, ahead if ahead is not None else num_cores)
    pending: deque[Future[R]] = deque()
    with ThreadPoolExecutor(max_workers=num_cores, thread_name_prefix="drizrun") as pool:
        try:
            for item in items:
                if len(pending) >= window:
                    yield pending.popleft().result()
                pending.append(pool.submit(function, item))
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
