"""Intermediate images: written as FITS files, or kept in memory with ``--in-memory``.

A stage that makes per-exposure or per-chip images (single drizzles, blotted
images, cosmic-ray masks) calls :func:`keep_image` for each: on disk it writes
``<output dir>/<name>`` atomically and returns the file name, in memory it
returns the array. The stage then puts a mapping of those references into the
artifact store (a JSON artifact on disk, so a later run can resume from it),
and the next stage reads each one back with :func:`load_image`, memory-mapped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from drizrun.core.errors import ProcessingError
from drizrun.core.fileio import write_fits_atomic

__all__ = ["ImageRef", "keep_image", "load_image", "written_files"]

#: An image kept by a stage: a file name relative to the output directory, or the array.
ImageRef = str | NDArray[Any]


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
    write_fits_atomic(Path(ctx.config.output_dir) / name, fits.HDUList([hdu]))
    return name


def load_image(ctx: Any, ref: ImageRef) -> NDArray[Any]:
    """Return an image kept by :func:`keep_image` (memory-mapped when on disk).

    Parameters
    ----------
    ctx : RunContext
        The run context.
    ref : str or ndarray
        What :func:`keep_image` returned.

    Returns
    -------
    ndarray

    Raises
    ------
    ProcessingError
        If the file is missing or unreadable.
    """
    if isinstance(ref, np.ndarray):
        return ref
    from astropy.io import fits

    path = Path(ctx.config.output_dir) / str(ref)
    try:
        with fits.open(path, memmap=True, mode="readonly") as hdul:
            data = hdul[0].data
            if data is None:
                raise ValueError("no data in the primary HDU")
            return np.asarray(data)
    except (OSError, ValueError, IndexError) as exc:
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
