"""Reading an input file into an :class:`~drizrun.core.exposure.model.Exposure`.

Every check that can be made once per file is made here, so that bad input is
refused before any stage runs, with one line naming the file, the extension
and the problem:

* the file is not readable FITS, or is truncated (shorter than its headers
  declare, not a whole number of 2880-byte blocks, or a cut gzip stream);
* a header is damaged (the primary header runs into an extension, or
  whole blocks after the last readable extension cannot be parsed);
* there is no SCI extension, a SCI extension has no DQ partner, or its DQ or
  ERR array has another shape;
* EXPTIME is missing, not a number, or not positive;
* BUNIT names a unit drizrun does not know;
* a SCI array is entirely NaN or infinite (or has no pixels);
* astropy cannot build the WCS (with its SIP, D2IM and CPDIS distortion from
  the file's own extensions), or the WCS is not celestial.

Files are opened read-only and never written.
"""

from __future__ import annotations

import gzip
import logging
import math
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..hst import GAIN_KEYWORDS, READ_NOISE_KEYWORDS, mean_nonzero_keyword
from .arrays import _reason, is_scaled, open_readonly, read_extension
from .model import Chip, ChipSignature, Exposure
from .units import Units, parse_bunit

__all__ = ["file_kind", "filters_of", "read_exposure", "rootname_of"]

log = logging.getLogger("drizrun")

_FILTER_KEYWORDS = ("FILTER", "FILTER1", "FILTER2")
_NO_FILTER = ("CLEAR", "N/A", "NONE", "")
_ROWS_PER_NAN_BLOCK = 256
_FITS_BLOCK = 2880


def read_exposure(path: str | os.PathLike[str], instrument: Any = None, *, check_data: bool = True) -> Exposure:
    """Read an input file's metadata and check that it can be processed.

    Parameters
    ----------
    path : path-like
        An FLT/FLC-style FITS file (SCI/ERR/DQ extensions per chip).
    instrument : Instrument, optional
        The registered instrument that produced it (from
        :meth:`drizrun.Session.identify_instrument`). Members of
        :class:`~drizrun.core.instrument.DetectorInstrument` are used when
        present (native units, gain, read noise, CTE direction); without them
        the generic assumptions apply: gain and read noise from ``ATODGNA..D``
        and ``READNSEA..D`` when present (else 1 and 0), no CTE direction,
        BUNIT required.
    check_data : bool
        Also read each SCI array once to refuse truncated or all-NaN chips.
        Pass ``False`` for header-only files (the arrays are then never read).

    Returns
    -------
    Exposure

    Raises
    ------
    InputError
        One line naming the file, the extension and what is wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    with open_readonly(path) as hdul:
        _check_complete(path, hdul)
        primary = hdul[0].header
        exptime = _exptime(path, primary)
        sci_versions = _sci_versions(path, hdul)
        name = str(getattr(instrument, "name", "generic"))
        chips = tuple(
            _read_chip(path, hdul, extver, primary, exptime, instrument, name, check_data) for extver in sci_versions
        )
        expstart = primary.get("EXPSTART")
        return Exposure(
            path=path,
            rootname=rootname_of(path, primary),
            kind=file_kind(path),
            instrument=name,
            instrume=str(primary.get("INSTRUME", "")).strip().upper(),
            detector=str(primary.get("DETECTOR", "")).strip().upper(),
            filters=filters_of(primary),
            exptime=exptime,
            expstart=float(expstart) if _is_number(expstart) else None,
            chips=chips,
            primary_header=primary.copy(),
        )


def file_kind(path: Path) -> str:
    """Return ``"flt"``, ``"flc"`` or ``""`` from a file name (``j8bt06nyq_flc.fits.gz`` → ``"flc"``)."""
    stem = path.name.lower()
    for ext in (".gz", ".fits", ".fit", ".fts"):
        stem = stem.removesuffix(ext)
    suffix = stem.rsplit("_", 1)[-1] if "_" in stem else ""
    return suffix if suffix in ("flt", "flc") else ""


def rootname_of(path: Path, header: Mapping[str, Any]) -> str:
    """Return ROOTNAME (lower case) or the part of the file name before the first ``_`` or ``.``."""
    root = str(header.get("ROOTNAME", "") or "").strip().lower()
    if root:
        return root
    return path.name.split(".")[0].split("_")[0]


def filters_of(header: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the filters in the light path (FILTER, FILTER1, FILTER2 without CLEAR* and N/A)."""
    names = []
    for key in _FILTER_KEYWORDS:
        value = str(header.get(key, "") or "").strip().upper()
        if value and not value.startswith(_NO_FILTER[0]) and value not in _NO_FILTER:
            names.append(value)
    return tuple(dict.fromkeys(names))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _exptime(path: Path, primary: Mapping[str, Any]) -> float:
    if "EXPTIME" not in primary:
        raise InputError(f"{path}[0]: EXPTIME is missing from the primary header")
    value = primary["EXPTIME"]
    if not _is_number(value):
        raise InputError(f"{path}[0]: EXPTIME = {value!r} is not a number")
    if value <= 0:
        raise InputError(f"{path}[0]: EXPTIME = {value} (an exposure needs a positive exposure time)")
    return float(value)


def _check_complete(path: Path, hdul: Any) -> None:
    """Refuse a file shorter than its headers declare, or whose compressed stream is cut short."""
    if path.name.lower().endswith(".gz"):
        size = _gzip_size(path)
    else:
        size = path.stat().st_size
    if size % _FITS_BLOCK:
        raise InputError(
            f"{path}: the file is truncated or damaged ({size} bytes is not a whole number of "
            f"{_FITS_BLOCK}-byte FITS blocks)"
        )
    if "XTENSION" in hdul[0].header:
        raise InputError(
            f"{path}[0]: the primary header is damaged (its END card is missing, so it runs into the next extension)"
        )
    end = 0
    for index, hdu in enumerate(hdul):
        header = hdu.header
        naxis = int(header.get("NAXIS", 0))
        count = math.prod(int(header.get(f"NAXIS{i}", 0)) for i in range(1, naxis + 1)) if naxis else 0
        nbytes = (
            abs(int(header.get("BITPIX", 8)))
            // 8
            * int(header.get("GCOUNT", 1))
            * (int(header.get("PCOUNT", 0)) + count)
        )
        end = hdu.fileinfo()["datLoc"] + nbytes
        if end > size:
            name = f"{hdu.name},{hdu.ver}" if index else "0"
            raise InputError(
                f"{path}[{name}]: the file is truncated ({size} bytes; this extension's data end at byte {end})"
            )
    if size - end >= _FITS_BLOCK:
        raise InputError(
            f"{path}: the header of extension {len(hdul)} (at byte {-(-end // _FITS_BLOCK) * _FITS_BLOCK}) "
            f"is damaged; {size - end} bytes after extension {len(hdul) - 1} cannot be read"
        )


def _gzip_size(path: Path) -> int:
    size = 0
    try:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(1 << 22):
                size += len(chunk)
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: the compressed file is truncated or damaged ({_reason(exc)})") from exc
    return size


def _sci_versions(path: Path, hdul: Any) -> list[int]:
    versions = []
    for hdu in hdul[1:]:
        if hdu.name == "SCI":
            versions.append(int(hdu.ver))
    if not versions:
        raise InputError(f"{path}: no SCI extension (an input needs SCI and DQ extensions per chip)")
    names = {(hdu.name, int(hdu.ver)) for hdu in hdul[1:]}
    for extver in versions:
        if ("DQ", extver) not in names:
            raise InputError(f"{path}[DQ,{extver}]: extension missing (every SCI extension needs its DQ)")
        shape = _data_shape(hdul["SCI", extver].header)
        for extname in ("DQ", "ERR"):
            if (extname, extver) in names:
                other = _data_shape(hdul[extname, extver].header)
                if other != shape:
                    raise InputError(
                        f"{path}[{extname},{extver}]: shape {other} does not match the SCI array's {shape}"
                    )
    return versions


def _data_shape(header: Mapping[str, Any]) -> tuple[int, ...]:
    naxis = int(header.get("NAXIS", 0))
    return tuple(int(header.get(f"NAXIS{i}", 0)) for i in range(naxis, 0, -1))


def _read_chip(
    path: Path, hdul: Any, extver: int, primary: Any, exptime: float, instrument: Any, name: str, check_data: bool
) -> Chip:
    hdu = hdul["SCI", extver]
    header = hdu.header
    where = f"{path}[SCI,{extver}]"
    units = _units(where, header, primary, instrument)
    wcs = _wcs(where, header, hdul)
    shape = (int(header.get("NAXIS2", 0)), int(header.get("NAXIS1", 0)))
    if check_data:
        _check_pixels(where, read_extension(path, "SCI", extver) if is_scaled(header) else hdu, shape)
    gain, read_noise = _gain_and_noise(primary, instrument)
    cte = instrument.cte_direction(extver, primary) if hasattr(instrument, "cte_direction") else 0
    ccdchip = header.get("CCDCHIP")
    names = {(h.name, int(h.ver)) for h in hdul[1:]}
    return Chip(
        path=path,
        extver=extver,
        shape=shape,
        wcs=wcs,
        units=units,
        exptime=exptime,
        gain=gain,
        read_noise=read_noise,
        cte_direction=int(cte),
        signature=ChipSignature(
            instrument=name, detector=str(primary.get("DETECTOR", "")).strip().upper(), chip=extver, shape=shape
        ),
        ccdchip=int(ccdchip) if _is_number(ccdchip) else None,
        has_err=("ERR", extver) in names,
    )


def _units(where: str, header: Mapping[str, Any], primary: Mapping[str, Any], instrument: Any) -> Units:
    text = header.get("BUNIT", primary.get("BUNIT"))
    if text is None or not str(text).strip():
        native = getattr(instrument, "native_bunit", None)
        if native is None:
            raise InputError(f"{where}: BUNIT is missing and the instrument has no native unit to assume")
        log.debug("%s: no BUNIT, assuming %s", where, native)
        text = native
    units = parse_bunit(str(text))
    if units is None:
        raise InputError(
            f"{where}: unknown BUNIT {str(text).strip()!r} (expected ELECTRONS, ELECTRONS/S, COUNTS or COUNTS/S)"
        )
    return units


def _wcs(where: str, header: Any, hdul: Any) -> Any:
    from astropy.wcs import WCS

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wcs = WCS(header.copy(), fobj=hdul)
    except Exception as exc:  # astropy raises many types (ValueError, KeyError, WCS errors)
        raise InputError(f"{where}: astropy cannot read the WCS ({type(exc).__name__}: {_reason(exc)})") from exc
    if not wcs.has_celestial or wcs.naxis != 2:
        raise InputError(
            f"{where}: the WCS is not a 2-D celestial WCS (CTYPE {wcs.wcs.ctype[0]!r}, "
            f"{wcs.wcs.ctype[1] if wcs.naxis > 1 else ''!r})"
        )
    return wcs


def _check_pixels(where: str, hdu: Any, shape: tuple[int, int]) -> None:
    """Refuse a chip without pixels, shorter than declared, or without a finite pixel (``hdu``: an HDU or its array)."""
    if shape[0] <= 0 or shape[1] <= 0:
        raise InputError(f"{where}: the science array has no pixels (NAXIS1 x NAXIS2 = {shape[1]} x {shape[0]})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = hdu if isinstance(hdu, np.ndarray) else hdu.data
            if data is None or data.shape != shape:
                raise InputError(
                    f"{where}: data shape {None if data is None else data.shape} "
                    f"does not match NAXIS {shape} (truncated file?)"
                )
            finite = False
            for start in range(0, shape[0], _ROWS_PER_NAN_BLOCK):
                if np.isfinite(np.asarray(data[start : start + _ROWS_PER_NAN_BLOCK])).any():
                    finite = True
                    break
    except InputError:
        raise
    except (OSError, ValueError, TypeError, EOFError, IndexError) as exc:
        raise InputError(f"{where}: data cannot be read, the file is probably truncated ({_reason(exc)})") from exc
    if not finite:
        kind = "NaN" if np.isnan(np.asarray(data)).all() else "NaN or infinite"
        raise InputError(f"{where}: every science pixel is {kind}")


def _gain_and_noise(primary: Mapping[str, Any], instrument: Any) -> tuple[float, float]:
    if hasattr(instrument, "gain") and hasattr(instrument, "read_noise"):
        return float(instrument.gain(primary)), float(instrument.read_noise(primary))
    gain = mean_nonzero_keyword(primary, GAIN_KEYWORDS)
    noise = mean_nonzero_keyword(primary, READ_NOISE_KEYWORDS)
    return (1.0 if gain is None else gain), (0.0 if noise is None else noise)
