"""How the run's process gets its memory: freed memory kept for reuse, and no huge pages.

Freed memory kept
-----------------

A run allocates and frees arrays of hundreds of megabytes stage after stage
(chips, pixel maps, frames, row sections). glibc's ``malloc`` serves blocks
above 32 MiB with ``mmap`` and hands them back to the operating system when
they are freed, and gives the top of its heaps back too; every later array of
the same size is then new memory that the kernel must find and clear page by
page. On a virtual machine whose host reclaims free guest memory (free page
reporting, ballooning) that costs up to 10 ms per MiB. Asking ``malloc`` to
serve every block from one heap and to keep what is freed makes the run's
later arrays reuse pages the process already holds: the operating system then
supplies only the run's peak, once.

The retained memory is never more than the largest heap the run needed, so the
peak resident memory does not grow; it goes back to the system when the
process exits. The ``drizrun`` and ``drizrun-pipeline`` commands turn this on
unless given ``--release-memory``; code embedding drizrun decides for its own
process by calling :func:`retain_freed_memory`.

No transparent huge pages
-------------------------
NumPy asks the kernel to back every array of 4 MiB or more with transparent
huge pages (``madvise(MADV_HUGEPAGE)``), and Pythran's and glibc's large
blocks may get them too when the system enables them for every process. A
huge page is 2 MiB that the kernel must find contiguous (compacting memory
when it has to) and clear at once; on a virtual machine whose host supplies
guest memory on demand, a MiB of new memory then costs 5-16 ms of system
time, against 0.5-1.4 ms in ordinary 4 KiB pages (``python
benchmarks/memory_cost.py``). A run's arrays are read and written in long
sequential passes, where huge pages save little: on the full-size
4-exposure ACS/WFC visit, turning them off for the process cut the system
time about tenfold and left the user time as it was (``docs/performance.md``).
:func:`avoid_huge_pages` turns
them off for the whole process (``prctl(PR_SET_THP_DISABLE)``, Linux 3.15
and later); the commands do so unless given ``--huge-pages``, and code
embedding drizrun decides for its own process.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from typing import Any

__all__ = ["avoid_huge_pages", "huge_pages_disabled", "retain_freed_memory", "uses_glibc"]

log = logging.getLogger("drizrun")

# mallopt parameters, from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8

# mallopt(3): a trim threshold of -1 turns trimming off.
_NEVER_TRIM = -1

# prctl options, from Linux's <linux/prctl.h>.
_PR_SET_THP_DISABLE = 41
_PR_GET_THP_DISABLE = 42


def uses_glibc() -> bool:
    """Return whether this process's C library is GNU libc.

    Returns
    -------
    bool
        True on glibc (most Linux distributions), False elsewhere (musl,
        macOS, Windows).
    """
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (AttributeError, ValueError, OSError):
        return False


def retain_freed_memory() -> bool:
    """Make glibc's ``malloc`` keep freed memory in the process for reuse.

    Sets three ``mallopt`` parameters for the whole process: one arena for
    every thread (``M_ARENA_MAX``), no blocks served by ``mmap``
    (``M_MMAP_MAX``), and no trimming of the heap (``M_TRIM_THRESHOLD``).
    Call it early, before worker threads start; it cannot be undone for the
    arrays already freed.

    Returns
    -------
    bool
        True when the settings were applied; False, with a debug message,
        when the C library is not glibc or refused a setting (nothing is
        changed then, or only what was accepted).
    """
    if not uses_glibc():
        log.debug("memory: C library is not glibc; freed memory goes back to the system as usual")
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        log.debug("memory: mallopt not found; freed memory goes back to the system as usual")
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    settings = ((_M_ARENA_MAX, 1), (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, _NEVER_TRIM))
    for param, value in settings:
        if mallopt(param, value) != 1:
            log.debug("memory: mallopt(%d, %d) refused", param, value)
            return False
    log.debug("memory: freed memory is kept in the process for the run's next arrays")
    return True


def _prctl() -> Any:
    """The C library's ``prctl``, or ``None`` where there is none (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
    prctl.restype = ctypes.c_int
    return prctl


def avoid_huge_pages() -> bool:
    """Turn transparent huge pages off for this process and the processes it starts.

    Memory already backed by huge pages keeps them; call it early, before
    the large arrays are made.

    Returns
    -------
    bool
        True when the setting was applied; False, with a debug message,
        where the system has no such setting (not Linux, or a kernel older
        than 3.15): nothing is changed then.
    """
    prctl = _prctl()
    if prctl is None:
        log.debug("memory: no prctl here; transparent huge pages left as the system sets them")
        return False
    if prctl(_PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0:
        log.debug("memory: prctl(PR_SET_THP_DISABLE) refused (errno %d); huge pages left as the system sets them",
                  ctypes.get_errno())
        return False
    log.debug("memory: transparent huge pages turned off for this process")
    return True


def huge_pages_disabled() -> bool | None:
    """Whether transparent huge pages are off for this process (``None`` where that cannot be told).

    Returns
    -------
    bool or None
    """
    prctl = _prctl()
    if prctl is None:
        return None
    state = prctl(_PR_GET_THP_DISABLE, 0, 0, 0, 0)
    return None if state < 0 else bool(state)
