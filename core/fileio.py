"""Atomic file output: a product is either complete on disk or absent.

Every file drizrun writes goes through :func:`atomic_write`: the content is
written to a hidden temporary file in the destination directory, flushed to
disk, and renamed over the destination in one step. An interruption or a full
disk leaves the previous file (if any) untouched and no partial file behind.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

from .errors import ProcessingError

__all__ = ["atomic_write", "write_fits_atomic", "write_text_atomic"]


def atomic_write(path: str | os.PathLike[str], writer: Callable[[Path], None]) -> Path:
    """Write a file atomically.

    Parameters
    ----------
    path : path-like
        Destination.
    writer : callable
        Called with the temporary path; must create and fill that file.

    Returns
    -------
    Path
        The destination path.

    Raises
    ------
    ProcessingError
        When the directory is not writable or the disk is full; the message
        names the file and the cause, and no partial file is left behind.
    """
    dest = Path(path)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    try:
        writer(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, dest)
    except OSError as exc:
        code, strerror = _cause(exc)
        if code is None and _no_space_left(dest.parent):
            code = errno.ENOSPC
        _discard(tmp)
        if code in (errno.ENOSPC, errno.EDQUOT):
            raise ProcessingError(f"disk full while writing {dest}; nothing was written there") from exc
        if code in (errno.EACCES, errno.EROFS, errno.EPERM):
            raise ProcessingError(f"cannot write {dest}: {strerror}") from exc
        raise ProcessingError(f"cannot write {dest}: {exc}") from exc
    except BaseException:
        _discard(tmp)
        raise
    return dest


def _cause(exc: OSError) -> tuple[int | None, str | None]:
    """The errno and message of `exc` or of the OSError it wraps.

    astropy re-raises a failed write as a new ``OSError`` without errno
    ("Not enough space on disk: ..."), chained to the original one, which
    itself may have none (numpy's ``tofile``: "N requested and M written").
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno is not None:
            return seen.errno, seen.strerror
        seen = seen.__cause__ or seen.__context__
    return None, None


def _no_space_left(directory: Path) -> bool:
    """Whether the file system of `directory` has no block left for this user."""
    try:
        return os.statvfs(directory).f_bavail == 0
    except (OSError, AttributeError):
        return False


def _discard(tmp: Path) -> None:
    try:
        tmp.unlink()
    except FileNotFoundError:
        pass


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write a text file atomically (UTF-8). See :func:`atomic_write`."""

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    return atomic_write(path, write)


def write_fits_atomic(path: str | os.PathLike[str], hdulist: object) -> Path:
    """Write an ``astropy.io.fits.HDUList`` atomically, with checksums.

    Parameters
    ----------
    path : path-like
        Destination FITS file.
    hdulist : astropy.io.fits.HDUList
        The file content.

    Returns
    -------
    Path
        The destination path.
    """
    return atomic_write(path, lambda tmp: hdulist.writeto(tmp, checksum=True))  # type: ignore[attr-defined]
