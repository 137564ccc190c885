"""Reading one array from an input file, read-only and memory-mapped if possible."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import InputError

__all__ = ["open_readonly", "read_extension"]


def open_readonly(path: Path):  # -> astropy.io.fits.HDUList
    """Open a FITS file read-only (memory-mapped when not compressed).

    Raises
    ------
    InputError
        When the file cannot be opened as FITS (one line naming it).
    """
    from astropy.io import fits

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fits.open(path, mode="readonly", memmap=True, lazy_load_hdus=False)
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
    with open_readonly(path) as hdul:
        try:
            hdu = hdul[extname, extver]
        except KeyError:
            raise InputError(f"{path}[{extname},{extver}]: extension missing") from None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                data = hdu.data
        except (OSError, ValueError, TypeError, EOFError, IndexError) as exc:
            raise InputError(f"{path}[{extname},{extver}]: data cannot be read ({_reason(exc)})") from exc
    if data is None:
        raise InputError(f"{path}[{extname},{extver}]: extension has no data")
    array = np.asarray(data)
    array.flags.writeable = False
    return array


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
