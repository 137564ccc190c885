"""The final product: ``<output>_drz.fits`` (``_drc.fits`` for FLC inputs).

Layout::

    PRIMARY  provenance: the first input's primary header with NDRIZIM,
             TEXPTIME, EXPTIME, EXPSTART, EXPEND, DRIZRUN (version), one
             block of D###xxxx keywords per drizzled chip (as AstroDrizzle
             writes them, plus the sky found and subtracted), and the full
             effective configuration as HISTORY lines
    SCI      float32, BUNIT ELECTRONS/S or ELECTRONS, NaN where nothing
             landed unless a fill value is given
    WHT      float32 weight
    CTX      int32 context (2-D up to 32 chips, 3-D beyond), optional
    ERR      float32, propagated from the inputs' ERR arrays, optional

Every image extension carries the clean TAN WCS of the output frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from drizrun.core.fileio import write_fits_atomic

__all__ = ["ChipRecord", "product_suffix", "write_drizzle_product"]

#: Primary-header keywords of the first input that describe one exposure and
#: do not apply to the combined product.
_EXPOSURE_ONLY = ("FILENAME", "ROOTNAME", "NEXTEND", "EXPTIME", "EXPSTART", "EXPEND", "TEXPTIME")


@attrs.frozen
class ChipRecord:
    """How one chip was drizzled, for its D### keywords.

    Attributes
    ----------
    data : str
        ``file[SCI,N]``.
    exptime : float
        Exposure time, seconds.
    kernel : str
        Drizzle kernel.
    pixfrac : float
        Drop size.
    scale : float
        Output pixel scale, arcsec.
    wtscl : str
        Weight scaling (``"exptime"``, ``"ERR"``...).
    out_units : str
        ``"cps"`` or ``"counts"``.
    fillval : float or None
        Fill value (None: NaN).
    in_units : str
        BUNIT of the input.
    sky : float
        Sky level found, input units.
    sky_subtracted : float
        Sky level subtracted, input units.
    """

    data: str
    exptime: float
    kernel: str
    pixfrac: float
    scale: float
    wtscl: str
    out_units: str
    fillval: float | None
    in_units: str
    sky: float
    sky_subtracted: float


def product_suffix(exposures: Sequence[Any]) -> str:
    """``"_drc.fits"`` when the inputs are CTE-corrected FLC files, else ``"_drz.fits"``."""
    return "_drc.fits" if exposures and all(e.kind == "flc" for e in exposures) else "_drz.fits"


def _primary_header(first: Any, exposures: Sequence[Any], chips: Sequence[ChipRecord], *, version: str,
                    config_text: str, filename: str) -> Any:
    from astropy.io import fits

    header = fits.Header()
    for card in first.primary_header.cards:
        if card.keyword in _EXPOSURE_ONLY or card.keyword in ("SIMPLE", "BITPIX", "NAXIS", "EXTEND", ""):
            continue
        if card.keyword.startswith("NAXIS") or card.keyword in ("HISTORY", "COMMENT"):
            continue
        header.append(card)
    total = float(sum(e.exptime for e in exposures))
    starts = [e.expstart for e in exposures if e.expstart is not None]
    ends = [e.primary_header.get("EXPEND") for e in exposures]
    ends = [float(v) for v in ends if isinstance(v, int | float)]
    header["FILENAME"] = (filename, "name of this file")
    header["ROOTNAME"] = (filename.rsplit("_", 1)[0], "root of the product name")
    header["NDRIZIM"] = (len(chips), "number of chips drizzled")
    header["TEXPTIME"] = (total, "total exposure time of the inputs, seconds")
    header["EXPTIME"] = (total, "total exposure time of the inputs, seconds")
    if starts:
        header["EXPSTART"] = (min(starts), "start of the first exposure, MJD")
    if ends:
        header["EXPEND"] = (max(ends), "end of the last exposure, MJD")
    header["DRIZRUN"] = (version, "drizrun version that made this file")
    for i, chip in enumerate(chips, start=1):
        p = f"D{i:03d}"
        header[f"{p}VER"] = (f"drizrun {version}", "drizzle software")
        header[f"{p}DATA"] = (chip.data, "input chip")
        header[f"{p}DEXP"] = (chip.exptime, "input exposure time, seconds")
        header[f"{p}EXPT"] = (chip.exptime, "exposure time used for scaling, seconds")
        header[f"{p}KERN"] = (chip.kernel, "drizzle kernel")
        header[f"{p}PIXF"] = (chip.pixfrac, "drop size (pixfrac)")
        header[f"{p}SCAL"] = (chip.scale, "output pixel scale, arcsec")
        header[f"{p}WTSC"] = (chip.wtscl, "weight scaling")
        header[f"{p}OUUN"] = (chip.out_units, "output units")
        header[f"{p}FVAL"] = ("NaN" if chip.fillval is None else chip.fillval, "fill value")
        header[f"{p}INUN"] = (chip.in_units, "input units")
        header[f"{p}SKY"] = (chip.sky, "sky found, input units")
        header[f"{p}SKYS"] = (chip.sky_subtracted, "sky subtracted, input units")
    for line in config_text.splitlines():
        if line.strip():
            header.add_history(f"drizrun config: {line}")
    return header


def write_drizzle_product(
    path: Path,
    *,
    frame: Any,
    sci: np.ndarray,
    wht: np.ndarray,
    ctx: np.ndarray | None,
    err: np.ndarray | None,
    bunit: str,
    exposures: Sequence[Any],
    chips: Sequence[ChipRecord],
    version: str,
    config_text: str,
) -> Path:
    """Write the drizzled product atomically.

    Parameters
    ----------
    path : Path
        Target file.
    frame : OutputFrame
        The output frame (its WCS goes on every image extension).
    sci, wht : ndarray
        Science and weight images.
    ctx : ndarray or None
        Context cube ``(nplanes, ny, nx)``; one plane is written 2-D.
    err : ndarray or None
        Error image.
    bunit : str
        Units of SCI and ERR.
    exposures : sequence of Exposure
        The inputs (primary header of the first; times of all).
    chips : sequence of ChipRecord
        One per drizzled chip, in context order.
    version : str
        drizrun version.
    config_text : str
        The effective configuration (TOML).

    Returns
    -------
    Path
    """
    from astropy.io import fits

    primary = fits.PrimaryHDU(header=_primary_header(exposures[0], exposures, chips, version=version,
                                                     config_text=config_text, filename=path.name))
    wcs_header = frame.header()

    def image(data: np.ndarray, name: str, unit: str | None) -> Any:
        header = wcs_header.copy()
        if unit:
            header["BUNIT"] = (unit, "units of the data")
        return fits.ImageHDU(data=data, header=header, name=name, ver=1)

    hdus = [primary, image(sci.astype(np.float32, copy=False), "SCI", bunit),
            image(wht.astype(np.float32, copy=False), "WHT", None)]
    if ctx is not None:
        hdus.append(image(ctx[0] if ctx.shape[0] == 1 else ctx, "CTX", None))
    if err is not None:
        hdus.append(image(err.astype(np.float32, copy=False), "ERR", bunit))
    return write_fits_atomic(path, fits.HDUList(hdus), direct=True)


def fill_empty(sci: np.ndarray, wht: np.ndarray, fillval: float | None) -> None:
    """Set SCI where nothing landed (weight 0) to ``fillval``, NaN when unset."""
    sci[wht == 0] = math.nan if fillval is None else fillval
