"""Reading one array from an input file, read-only and memory-mapped if possible."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = ["is_scaled", "open_readonly", "read_extension"]


def open_readonly(path: Path, *, memmap: bool = True) -> Any:
    """Open a FITS file read-only (memory-mapped when not compressed and ``memmap``).

    Raises
    ------
    InputError
        When the file cannot be opened as FITS (one line naming it).
    """
    from astropy.io import fits

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fits.open(path, mode="readonly", memmap=memmap, lazy_load_hdus=False)
    except (OSError, ValueError, TypeError, EOFError, IndexError) as exc:
        raise InputError(f"{path}: not a readable FITS file ({_reason(exc)})") from exc


def read_extension(path: Path, extname: str, extver: int) -> np.ndarray:
    """Return the data of extension ``(extname, extver)`` as a read-only array.

    Parameters
    ----------
    path : Path
        The FITS file.
    extname : str
        ``"SCI"``, ``"ERR"`` or ``"DQ"``.
    extver : int
        Extension version.

    Returns
    -------
    numpy.ndarray
        Not writeable; memory-mapped for uncompressed, unscaled data.

    Raises
    ------
    InputError
        When the extension is missing or its data cannot be read (truncated
        file), naming file and extension.
    """
    data = _load(path, extname, extver, memmap=True)
    if data is None:  # scaled integers cannot be memory-mapped read-only: read them into memory
        data = _load(path, extname, extver, memmap=False)
    array = np.asarray(data)
    if array.size == 0:
        raise InputError(f"{path}[{extname},{extver}]: extension has no data")
    array.flags.writeable = False
    return array


def is_scaled(header: Mapping[str, Any]) -> bool:
    """Whether an image HDU's data are scaled (BZERO/BSCALE/BLANK), which cannot be memory-mapped read-only."""
    return any(key in header for key in ("BZERO", "BSCALE", "BLANK"))


def _load(path: Path, extname: str, extver: int, *, memmap: bool) -> np.ndarray | None:
    """Return the extension's data, or ``None`` when memory-mapping was asked for scaled data."""
    with open_readonly(path, memmap=memmap) as hdul:
        try:
            hdu = hdul[extname, extver]
        except KeyError:
            raise InputError(f"{path}[{extname},{extver}]: extension missing") from None
        if memmap and is_scaled(hdu.header):
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                data = hdu.data
        except (OSError, ValueError, TypeError, EOFError, IndexError) as exc:
            raise InputError(f"{path}[{extname},{extver}]: data cannot be read ({_reason(exc)})") from exc
        return np.zeros(0) if data is None else data


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
