"""Atomic file output: a product is either complete on disk or absent.

Every file drizrun writes goes through :func:`atomic_write`: the content is
written to a hidden temporary file in the destination directory, flushed to
disk, and renamed over the destination in one step. An interruption or a full
disk leaves the previous file (if any) untouched and no partial file behind.
"""

from __future__ import annotations

import errno
import io
import mmap
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ProcessingError

__all__ = ["DirectFile", "StagingPool", "atomic_write", "read_direct", "write_fits_atomic", "write_text_atomic"]


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


def write_fits_atomic(path: str | os.PathLike[str], hdulist: object, *, direct: bool = False) -> Path:
    """Write an ``astropy.io.fits.HDUList`` atomically, with checksums.

    Parameters
    ----------
    path : path-like
        Destination FITS file.
    hdulist : astropy.io.fits.HDUList
        The file content.
    direct : bool
        Write through :class:`DirectFile`, around the page cache: for
        products nothing reads back during the run.

    Returns
    -------
    Path
        The destination path.
    """

    def write(tmp: Path) -> None:
        if not direct:
            hdulist.writeto(tmp, checksum=True)  # type: ignore[attr-defined]
            return
        with DirectFile(tmp) as handle:
            hdulist.writeto(handle, checksum=True)  # type: ignore[attr-defined]

    return atomic_write(path, write)


class StagingPool:
    """Page-aligned staging buffers for ``O_DIRECT`` transfers, kept for reuse by any thread.

    A buffer given back is handed to the next transfer, whichever thread
    makes it, so the process holds only as many buffers as it ever ran
    transfers at once, and their memory is supplied by the system once: the
    threads of a stage end with the stage, and buffers kept per thread
    would be new memory again for every stage.
    """

    def __init__(self) -> None:
        self._free: list[memoryview] = []
        self._lock = threading.Lock()

    def take(self, size: int) -> memoryview:
        """A free buffer of at least ``size`` bytes, or a new one (smaller free buffers are dropped)."""
        with self._lock:
            while self._free:
                buffer = self._free.pop()
                if len(buffer) >= size:
                    return buffer
        return memoryview(mmap.mmap(-1, size))

    def give_back(self, buffer: memoryview) -> None:
        """Keep ``buffer`` for the next :meth:`take`."""
        with self._lock:
            self._free.append(buffer)

    def __len__(self) -> int:
        """Free buffers held."""
        with self._lock:
            return len(self._free)


class DirectFile(io.RawIOBase):
    """A new file written with ``O_DIRECT``, from an aligned staging buffer.

    The bytes go from the buffer to the disk without passing through the
    page cache, so writing a large product needs no new memory for it: on
    machines where new memory is slow to come by (virtual machines that
    return free memory to their host), a 300 MB product was written in
    0.5 s instead of 3.6-4.3 s. Whole 4 KiB blocks are written directly; the
    last partial block goes through the page cache. Where the file system
    refuses ``O_DIRECT`` (tmpfs, some network file systems) the file is
    written the ordinary way.

    Parameters
    ----------
    path : path-like
        The file to create (truncated if it exists).
    """

    #: Alignment of ``O_DIRECT`` transfers (covers 512-byte and 4 KiB sectors).
    BLOCK = 4096
    #: Bytes staged between transfers (a multiple of BLOCK, at least two blocks).
    STAGE = 8 << 20

    #: Staging buffers free for the next writer or reader, whichever thread it runs on.
    _stages = StagingPool()

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.name = os.fspath(path)
        self._fd, self._direct = _open_direct(self.name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        self._filled = 0
        self._position = 0
        try:
            self._stage = self._staging_buffer()
        except BaseException:
            os.close(self._fd)
            io.RawIOBase.close(self)  # closed: nothing left for close() to write
            raise

    @classmethod
    def _staging_buffer(cls) -> memoryview:
        """A page-aligned buffer of :attr:`STAGE` bytes, one already in use by the process when one is free."""
        return cls._stages.take(cls.STAGE)

    @classmethod
    def _give_back(cls, stage: memoryview) -> None:
        """Return ``stage`` to the free staging buffers."""
        cls._stages.give_back(stage)

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def write(self, data: Any) -> int:
        """Append ``data`` (any bytes-like object)."""
        if self.closed:
            raise ValueError("write to a closed DirectFile")
        source = np.asarray(memoryview(data).cast("B"))
        staged = np.asarray(self._stage)
        done = 0
        while done < len(source):
            count = min(len(source) - done, self.STAGE - self._filled)
            # a NumPy copy lets other threads run meanwhile
            np.copyto(staged[self._filled:self._filled + count], source[done:done + count])
            self._filled += count
            done += count
            if self._filled == self.STAGE:
                self._transfer(self.STAGE)
        self._position += done
        return done

    def close(self) -> None:
        """Write what is staged and close the file (also after a failed write)."""
        if self.closed:
            return
        try:
            whole = self._filled // self.BLOCK * self.BLOCK
            if whole:
                self._transfer(whole)
            if self._filled:
                self._plain()
                self._transfer(self._filled)
        finally:
            os.close(self._fd)
            self._give_back(self._stage)
            super().close()

    def _transfer(self, count: int) -> None:
        """Write the first ``count`` staged bytes; keep the rest at the start of the stage."""
        view = self._stage[:count]
        while view:
            try:
                view = view[os.write(self._fd, view):]
            except OSError as exc:
                if exc.errno != errno.EINVAL or not self._direct:
                    raise
                self._plain()  # accepted at open, refused at write: write the ordinary way
        rest = self._filled - count
        if rest:
            self._stage[:rest] = bytes(self._stage[count:self._filled])
        self._filled = rest

    def _plain(self) -> None:
        """Switch the file to ordinary (page-cache) writes."""
        if self._direct:
            _clear_direct(self._fd)
            self._direct = False


def _open_direct(path: str | os.PathLike[str], flags: int) -> tuple[int, bool]:
    """Open with ``O_DIRECT`` where the system has it and the file system accepts it.

    Returns the descriptor and whether ``O_DIRECT`` is on.
    """
    direct = getattr(os, "O_DIRECT", 0)
    try:
        return os.open(path, flags | direct, 0o666), bool(direct)
    except OSError as exc:
        if not direct or exc.errno != errno.EINVAL:
            raise
    return os.open(path, flags, 0o666), False


def _clear_direct(fd: int) -> None:
    """Turn ``O_DIRECT`` off on an open file (for a file system that refuses it at transfer time)."""
    import fcntl

    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_DIRECT)


def read_direct(path: str | os.PathLike[str], offset: int, out: Any, *, file_dtype: Any = None) -> None:
    """Fill ``out`` with the bytes of a file from ``offset`` on, around the page cache.

    The file is read with ``O_DIRECT`` in aligned blocks through a staging
    buffer shared by the threads, so reading an intermediate image back needs
    no page cache for it, only the caller's array (the ordinary way where the
    file system refuses ``O_DIRECT``). The copies out of the staging buffer
    run without Python's global lock, so threads reading at once do not wait
    for each other.

    Parameters
    ----------
    path : path-like
        The file.
    offset : int
        Position of the first byte to read.
    out : writable C-contiguous buffer (such as a numpy array)
        Filled with exactly its size in bytes.
    file_dtype : numpy dtype, optional
        Element type of the values in the file when it differs from that of
        ``out`` (then a NumPy array) only in byte order, such as ``">f4"`` (a
        FITS file) for a native float32 ``out``: the values are converted as
        they are copied, with no second pass over ``out``.

    Raises
    ------
    OSError
        If the file cannot be opened or read; ``EIO`` (with the file name)
        when it ends before ``out`` is full.
    ValueError
        If ``file_dtype`` is not ``out``'s element type in some byte order.
    """
    if file_dtype is None:
        dest = np.asarray(memoryview(out).cast("B"))
        itemsize = 1
    else:
        file_dtype = np.dtype(file_dtype)
        if not isinstance(out, np.ndarray) or file_dtype.newbyteorder("=") != out.dtype.newbyteorder("="):
            raise ValueError(f"file_dtype {file_dtype} needs a numpy array of the same type to read into")
        if not out.flags.c_contiguous:
            raise ValueError("out must be C-contiguous")
        dest = out.reshape(-1)
        itemsize = file_dtype.itemsize
    wanted = dest.size * itemsize
    fd, direct = _open_direct(path, os.O_RDONLY)
    stage = None
    try:
        stage = DirectFile._staging_buffer()
        staged = np.asarray(stage)
        # whole aligned blocks through the stage (required with O_DIRECT, harmless without)
        block, done = DirectFile.BLOCK, 0
        while done < wanted:
            position = offset + done
            start = position // block * block
            skip = position - start
            size = min(len(stage), -(-(skip + wanted - done) // block) * block)
            try:
                got = os.preadv(fd, [stage[:size]], start)
            except OSError as exc:
                if exc.errno != errno.EINVAL or not direct:
                    raise
                _clear_direct(fd)
                direct = False
                continue
            usable = min(got - skip, wanted - done)
            usable -= usable % itemsize  # whole values only; the rest comes with the next block
            if usable <= 0:
                raise OSError(errno.EIO, f"file ends {wanted - done} bytes before the end of its data",
                              os.fspath(path))
            chunk = staged[skip:skip + usable]
            if file_dtype is None:
                np.copyto(dest[done:done + usable], chunk)
            else:
                np.copyto(dest[done // itemsize:(done + usable) // itemsize], chunk.view(file_dtype))
            done += usable
    finally:
        os.close(fd)
        if stage is not None:
            DirectFile._give_back(stage)
