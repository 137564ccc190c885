"""Intermediate images: written as FITS files, or kept in memory with ``--in-memory``.

A stage that makes per-exposure or per-chip images (single drizzles, blotted
images, cosmic-ray masks) calls :func:`keep_image` for each: on disk it writes
``<output dir>/<name>`` atomically and returns the file name, in memory it
returns the array. The stage then puts a mapping of those references into the
artifact store (a JSON artifact on disk, so a later run can resume from it),
and the next stage reads each one back with :func:`load_image`.

On disk, the images are written and read around the page cache (``O_DIRECT``,
:class:`~drizrun.core.fileio.DirectFile` and
:func:`~drizrun.core.fileio.read_direct`): a visit's intermediates are about
1 GB that the next stage reads once, and through the page cache each of those
bytes would be new memory for the machine to supply. :func:`load_image` gives
a :class:`StoredImage`, which reads the whole image, or a range of its rows,
into a new array in native byte order when asked.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import attrs
import numpy as np
from numpy.typing import DTypeLike, NDArray

from drizrun.core.errors import ProcessingError
from drizrun.core.fileio import read_direct, write_fits_atomic

__all__ = ["ImageRef", "StoredImage", "keep_image", "load_image", "written_files"]

#: An image kept by a stage: a file name relative to the output directory, or the array.
ImageRef = str | NDArray[Any]

#: FITS BITPIX of the intermediate images, and their element type on disk.
_DISK_TYPES = {8: np.dtype("u1"), 16: np.dtype(">i2"), 32: np.dtype(">i4"), -32: np.dtype(">f4"), -64: np.dtype(">f8")}


@attrs.frozen
class StoredImage:
    """The data of an intermediate FITS image, read from its file when asked.

    Behaves as a read-only array for what the stages do with an image:
    ``np.asarray(image)`` (and NumPy functions given it) read it whole,
    ``image[start:stop]`` reads those rows only; both give new arrays in
    native byte order.

    Attributes
    ----------
    path : Path
        The file.
    shape : tuple of int
        Shape of the data (rows first).
    disk_dtype : numpy.dtype
        Element type in the file (big-endian).
    offset : int
        Position of the data in the file.
    """

    path: Path
    shape: tuple[int, ...]
    disk_dtype: np.dtype
    offset: int

    @classmethod
    def open(cls, path: Path) -> StoredImage:
        """Read the primary header of ``path`` (raises ``OSError``/``ValueError`` when it is not usable)."""
        from astropy.io import fits

        with warnings.catch_warnings(), fits.open(path, memmap=True, mode="readonly") as hdul:
            warnings.simplefilter("ignore", fits.verify.VerifyWarning)  # a truncated file is reported below
            warnings.filterwarnings("ignore", message="File may have been truncated")
            header = hdul[0].header
            naxis = int(header.get("NAXIS", 0))
            if naxis == 0:
                raise ValueError("no data in the primary HDU")
            if header.get("BSCALE", 1) != 1 or header.get("BZERO", 0) != 0:
                raise ValueError("scaled data (BSCALE/BZERO) in an intermediate image")
            bitpix = int(header["BITPIX"])
            if bitpix not in _DISK_TYPES:
                raise ValueError(f"BITPIX {bitpix} is not a FITS image type")
            shape = tuple(int(header[f"NAXIS{k}"]) for k in range(naxis, 0, -1))
            info = hdul.fileinfo(0)
            offset, span = int(info["datLoc"]), int(info["datSpan"])
        disk_dtype = _DISK_TYPES[bitpix]
        needed = int(np.prod(shape)) * disk_dtype.itemsize
        if span < needed or path.stat().st_size < offset + needed:
            raise ValueError(f"the file is truncated: its data needs {offset + needed} bytes, "
                             f"the file has {path.stat().st_size}")
        return cls(path=path, shape=shape, disk_dtype=disk_dtype, offset=offset)

    @property
    def dtype(self) -> np.dtype:
        """Element type of the arrays read (native byte order)."""
        return self.disk_dtype.newbyteorder("=")

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def rows(self, start: int | None, stop: int | None) -> NDArray[Any]:
        """Rows ``start:stop`` (as a slice would take them) as a new native array."""
        start, stop, _ = slice(start, stop).indices(self.shape[0])
        out = np.empty((max(start, stop) - start, *self.shape[1:]), dtype=self.dtype)
        return self._read(start, out)

    def read_into(self, out: NDArray[Any]) -> NDArray[Any]:
        """Read the whole image into ``out`` (C-contiguous, of :attr:`shape` and :attr:`dtype`)."""
        if out.shape != self.shape or out.dtype != self.dtype or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous {self.dtype} array of shape {self.shape}, "
                             f"got {out.dtype} {out.shape}")
        return self._read(0, out)

    def _read(self, start: int, out: NDArray[Any]) -> NDArray[Any]:
        row_bytes = int(np.prod(self.shape[1:], dtype=np.int64)) * self.dtype.itemsize
        try:
            # the values are brought to native byte order as they are copied in
            read_direct(self.path, self.offset + start * row_bytes, out, file_dtype=self.disk_dtype)
        except OSError as exc:
            raise ProcessingError(f"cannot read intermediate image {self.path}: {exc}") from exc
        return out

    def __array__(self, dtype: DTypeLike | None = None, copy: bool | None = None) -> NDArray[Any]:
        data = self.rows(0, self.shape[0])
        return data if dtype is None else data.astype(dtype, copy=False)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice) and key.step in (None, 1):
            return self.rows(key.start, key.stop)
        return np.asarray(self)[key]


def keep_image(ctx: Any, name: str, data: NDArray[Any], header: Any = None) -> ImageRef:
    """Write an intermediate image, or keep it in memory.

    Parameters
    ----------
    ctx : RunContext
        The run context (its output directory and ``in_memory`` flag).
    name : str
        File name in the output directory (``"idrz0101q_single_sci.fits"``).
    data : ndarray
        The image. Boolean arrays are written as uint8.
    header : astropy.io.fits.Header, optional
        Header cards for the primary HDU (WCS, units, provenance).

    Returns
    -------
    str or ndarray
        ``name`` when written, else ``data`` itself.
    """
    if ctx.config.in_memory:
        return data
    from astropy.io import fits

    array = data.astype(np.uint8) if data.dtype == bool else data
    hdu = fits.PrimaryHDU(data=array, header=header)
    write_fits_atomic(Path(ctx.config.output_dir) / name, fits.HDUList([hdu]), direct=True)
    return name


def load_image(ctx: Any, ref: ImageRef) -> NDArray[Any] | StoredImage:
    """Return an image kept by :func:`keep_image`.

    Parameters
    ----------
    ctx : RunContext
        The run context.
    ref : str or ndarray
        What :func:`keep_image` returned.

    Returns
    -------
    ndarray or StoredImage
        The array kept in memory, or the file's image, read when used.

    Raises
    ------
    ProcessingError
        If the file is missing, unreadable or truncated.
    """
    if isinstance(ref, np.ndarray):
        return ref
    path = Path(ctx.config.output_dir) / str(ref)
    try:
        return StoredImage.open(path)
    except (OSError, ValueError, IndexError, KeyError) as exc:
        raise ProcessingError(f"cannot read intermediate image {path}: {exc}") from exc


def written_files(refs: Any) -> list[str]:
    """File names among the leaves of nested mappings/lists of image references.

    Parameters
    ----------
    refs : mapping, list or ImageRef
        What a stage is about to put as its artifact.

    Returns
    -------
    list of str
        Every string leaf that names a ``.fits`` file.
    """
    if isinstance(refs, dict):
        return [f for value in refs.values() for f in written_files(value)]
    if isinstance(refs, list | tuple):
        return [f for value in refs for f in written_files(value)]
    if isinstance(refs, str) and refs.endswith(".fits"):
        return [refs]
    return []
