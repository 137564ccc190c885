"""Keep the memory a run frees inside the process, for the run's next arrays.

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
"""

from __future__ import annotations

import ctypes
import logging
import os

__all__ = ["retain_freed_memory", "uses_glibc"]

log = logging.getLogger("drizrun")

# mallopt parameters, from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8

# mallopt(3): a trim threshold of -1 turns trimming off.
_NEVER_TRIM = -1


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
