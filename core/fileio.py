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
        _discard(tmp)
        if exc.errno == errno.ENOSPC:
            raise ProcessingError(f"disk full while writing {dest}; nothing was written there") from exc
        if exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
            raise ProcessingError(f"cannot write {dest}: {exc.strerror}") from exc
        raise ProcessingError(f"cannot write {dest}: {exc}") from exc
    except BaseException:
        _discard(tmp)
        raise
    return dest


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
