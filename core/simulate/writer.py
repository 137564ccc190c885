"""Writing a simulated visit: FLT/FLC files, the association table and the truth.

Exposure files carry the keywords AstroDrizzle reads (primary: TELESCOP,
INSTRUME, DETECTOR, FILTER or FILTER1/2, EXPTIME, EXPSTART, EXPEND,
ATODGNA..D, READNSEA..D, CCDAMP, ROOTNAME, ASN_ID, ASN_TAB; per SCI/ERR/DQ:
EXPNAME, BUNIT, CCDCHIP, NGOODPIX, MEANDARK, the TAN-SIP WCS, LTV/LTM for
subarrays, IDCSCALE). Every file is written atomically.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from ..fileio import write_fits_atomic, write_text_atomic
from .profiles import DetectorProfile

__all__ = ["ChipProduct", "ExposureProduct", "write_association", "write_exposure", "write_table", "write_truth_masks"]

_SECONDS_PER_DAY = 86400.0


@attrs.frozen(eq=False)
class ChipProduct:
    """One simulated chip, ready to write.

    Attributes
    ----------
    extver : int
        EXTVER of its extensions.
    ccdchip : int
        CCDCHIP value.
    sci, err : numpy.ndarray
        Science and error arrays in the file's units.
    dq : numpy.ndarray
        Data quality flags (uint16).
    wcs_cards : mapping
        WCS keywords (with ORIENTAT).
    origin : tuple of int
        Subarray origin ``(x0, y0)`` in the full chip (0-based).
    cr_charge : numpy.ndarray
        Electrons each pixel received from cosmic rays (truth).
    mean_dark : float
        Mean dark electrons subtracted.
    """

    extver: int
    ccdchip: int
    sci: np.ndarray
    err: np.ndarray
    dq: np.ndarray
    wcs_cards: Mapping[str, Any]
    origin: tuple[int, int]
    cr_charge: np.ndarray
    mean_dark: float


@attrs.frozen(eq=False)
class ExposureProduct:
    """One simulated exposure, ready to write.

    Attributes
    ----------
    rootname : str
        ROOTNAME (9 characters).
    exptime : float
        Seconds.
    expstart : float
        MJD of the start.
    chips : tuple of ChipProduct
        In extension order.
    """

    rootname: str
    exptime: float
    expstart: float
    chips: tuple[ChipProduct, ...]


def _primary_header(
    profile: DetectorProfile,
    exposure: ExposureProduct,
    *,
    asn_id: str,
    filters: Sequence[str],
    kind: str,
    subarray: bool,
    ra: float,
    dec: float,
    pa: float,
    n_ext: int,
) -> Any:
    from astropy.io import fits
    from astropy.time import Time

    instrume, detector = profile.name.split("/")
    start = Time(exposure.expstart, format="mjd")
    header = fits.Header()
    cards: list[tuple[str, Any, str]] = [
        ("NEXTEND", n_ext, "number of standard extensions"),
        ("FILENAME", f"{exposure.rootname}_{kind}.fits", "name of file"),
        ("FILETYPE", "SCI", "type of data found in data file"),
        ("TELESCOP", "HST", "telescope used to acquire data"),
        ("INSTRUME", instrume, "instrument used to acquire data"),
        ("DETECTOR", detector, "detector in use"),
        ("ROOTNAME", exposure.rootname, "rootname of the observation set"),
        ("PRIMESI", instrume, "instrument designated as prime"),
        ("OBSTYPE", "IMAGING", "observation type"),
        ("OBSMODE", "ACCUM", "operating mode"),
        ("IMAGETYP", "EXT", "type of exposure identifier"),
        ("TARGNAME", "DRIZRUN-SIM", "proposer's target name"),
        ("RA_TARG", ra, "RA of the target (deg, J2000)"),
        ("DEC_TARG", dec, "Dec of the target (deg, J2000)"),
        ("PA_V3", pa, "approximate V3 position angle (deg)"),
        ("DATE-OBS", start.datetime.strftime("%Y-%m-%d"), "UT date of start of observation"),
        ("TIME-OBS", start.datetime.strftime("%H:%M:%S"), "UT time of start of observation"),
        ("EXPSTART", exposure.expstart, "exposure start time (MJD)"),
        ("EXPEND", exposure.expstart + exposure.exptime / _SECONDS_PER_DAY, "exposure end time (MJD)"),
        ("EXPTIME", exposure.exptime, "exposure duration (seconds)"),
        ("TEXPTIME", exposure.exptime, "total exposure time (seconds)"),
        ("EXPFLAG", "NORMAL", "Exposure interruption indicator"),
        ("APERTURE", detector if not subarray else f"{detector}-SUB", "aperture name"),
        ("SUBARRAY", subarray, "data from a subarray (T) or full frame (F)"),
        ("CCDAMP", profile.ccdamp, "CCD amplifier read out configuration"),
        ("CCDGAIN", round(profile.mean_gain) if profile.mean_gain >= 1 else 1, "commanded gain of CCD"),
        ("ASN_ID", asn_id.upper(), "unique identifier assigned to association"),
        ("ASN_TAB", f"{asn_id}_asn.fits", "name of the association table"),
        ("ASN_MTYP", "EXP-DTH", "Role of the Member in the Association"),
        ("IDCTAB", "N/A", "distortion is in the SIP keywords"),
        ("MDRIZTAB", "N/A", "no drizzle parameter table"),
        ("CTEDIR", "NONE", "CTE measurement direction"),
        ("FLASHDUR", 0.0, "post-flash duration (seconds)"),
        ("ORIGIN", "drizrun simulator", "simulated data, not an observation"),
    ]
    for keyword, value in zip(profile.filter_keywords, filters, strict=False):
        cards.append((keyword, value, "element selected from filter wheel"))
    for letter, gain in zip("ABCD", profile.gain, strict=True):
        cards.append((f"ATODGN{letter}", gain, f"calibrated gain for amplifier {letter}"))
    for letter, noise in zip("ABCD", profile.read_noise, strict=True):
        cards.append((f"READNSE{letter}", noise, f"calibrated read noise for amplifier {letter}"))
    for keyword, value, comment in cards:
        header[keyword] = (value, comment)
    return header


def _extension(
    data: np.ndarray,
    name: str,
    chip: ChipProduct,
    exposure: ExposureProduct,
    profile: DetectorProfile,
    bunit: str | None,
) -> Any:
    from astropy.io import fits

    hdu = fits.ImageHDU(data=data, name=name, ver=chip.extver)
    header = hdu.header
    header["INHERIT"] = (True, "inherit the primary header")
    header["EXPNAME"] = (exposure.rootname, "exposure identifier")
    if bunit is not None:
        header["BUNIT"] = (bunit, "brightness units")
    header["CCDCHIP"] = (chip.ccdchip, "CCD chip (1 or 2)")
    for keyword, value in chip.wcs_cards.items():
        header[keyword] = value
    header["WCSNAME"] = ("SIMULATED", "true WCS of the simulation")
    header["IDCSCALE"] = (_pixel_scale(chip.wcs_cards), "pixel scale of the distortion model")
    header["VAFACTOR"] = (1.0, "velocity aberration scale factor")
    header["LTV1"] = (float(-chip.origin[0]), "offset in X to subsection start")
    header["LTV2"] = (float(-chip.origin[1]), "offset in Y to subsection start")
    header["LTM1_1"] = (1.0, "reciprocal of sampling rate in X")
    header["LTM2_2"] = (1.0, "reciprocal of sampling rate in Y")
    if name == "SCI":
        good = int(np.count_nonzero(chip.dq == 0))
        header["NGOODPIX"] = (good, "number of good pixels")
        header["MEANDARK"] = (chip.mean_dark, "average of the dark values subtracted")
        header["SDQFLAGS"] = (31743, "serious data quality flags")
        header["GOODMEAN"] = (float(np.mean(chip.sci[chip.dq == 0])) if good else 0.0, "mean value of good pixels")
    return hdu


def _pixel_scale(cards: Mapping[str, Any]) -> float:
    det = abs(cards["CD1_1"] * cards["CD2_2"] - cards["CD1_2"] * cards["CD2_1"])
    return round(float(np.sqrt(det) * 3600.0), 5)


def write_exposure(
    path: Path,
    profile: DetectorProfile,
    exposure: ExposureProduct,
    *,
    asn_id: str,
    filters: Sequence[str],
    kind: str,
    subarray: bool,
    ra: float,
    dec: float,
    pa: float,
    bunit: str,
) -> Path:
    """Write one exposure as an FLT/FLC-style multi-extension FITS file.

    Parameters
    ----------
    path : Path
        Destination.
    profile : DetectorProfile
        The detector.
    exposure : ExposureProduct
        Arrays and metadata.
    asn_id : str
        Association name (product root).
    filters : sequence of str
        Values for the profile's filter keywords.
    kind : str
        ``"flt"`` or ``"flc"``.
    subarray : bool
        Whether the chips are subarrays.
    ra, dec, pa : float
        Target position and position angle.
    bunit : str
        BUNIT of SCI and ERR.

    Returns
    -------
    Path
    """
    from astropy.io import fits

    n_ext = 3 * len(exposure.chips)
    primary = fits.PrimaryHDU(
        header=_primary_header(
            profile,
            exposure,
            asn_id=asn_id,
            filters=filters,
            kind=kind,
            subarray=subarray,
            ra=ra,
            dec=dec,
            pa=pa,
            n_ext=n_ext,
        )
    )
    hdus: list[Any] = [primary]
    for chip in exposure.chips:
        hdus.append(_extension(chip.sci.astype(np.float32), "SCI", chip, exposure, profile, bunit))
        hdus.append(_extension(chip.err.astype(np.float32), "ERR", chip, exposure, profile, bunit))
        hdus.append(_extension(chip.dq.astype(np.int16), "DQ", chip, exposure, profile, None))
    return write_fits_atomic(path, fits.HDUList(hdus))


def write_truth_masks(path: Path, exposure: ExposureProduct) -> Path:
    """Write the cosmic-ray truth of one exposure: per chip CRMASK (uint8) and CRCHARGE (electrons)."""
    from astropy.io import fits

    primary = fits.PrimaryHDU()
    primary.header["ROOTNAME"] = exposure.rootname
    primary.header["COMMENT"] = "Cosmic rays injected by the drizrun simulator: CRMASK = 1 where a cosmic ray"
    primary.header["COMMENT"] = "deposited charge, CRCHARGE = the electrons it deposited (one pair per chip)."
    hdus: list[Any] = [primary]
    for chip in exposure.chips:
        mask = fits.ImageHDU((chip.cr_charge > 0).astype(np.uint8), name="CRMASK", ver=chip.extver)
        charge = fits.ImageHDU(chip.cr_charge.astype(np.float32), name="CRCHARGE", ver=chip.extver)
        charge.header["BUNIT"] = "ELECTRONS"
        hdus.extend([mask, charge])
    return write_fits_atomic(path, fits.HDUList(hdus))


def write_association(path: Path, asn_id: str, members: Sequence[str], profile: DetectorProfile) -> Path:
    """Write ``<asn_id>_asn.fits``: EXP-DTH members and the PROD-DTH product.

    Parameters
    ----------
    path : Path
        Destination.
    asn_id : str
        Association (product) name.
    members : sequence of str
        ROOTNAMEs of the exposures.
    profile : DetectorProfile
        The detector (INSTRUME and DETECTOR of the primary header).
    """
    from astropy.io import fits

    instrume, detector = profile.name.split("/")
    names = [m.upper() for m in members] + [asn_id.upper()]
    types = ["EXP-DTH"] * len(members) + ["PROD-DTH"]
    columns = fits.ColDefs(
        [
            fits.Column(name="MEMNAME", format="14A", array=np.array(names)),
            fits.Column(name="MEMTYPE", format="14A", array=np.array(types)),
            fits.Column(name="MEMPRSNT", format="L", array=np.ones(len(names), dtype=bool)),
        ]
    )
    primary = fits.PrimaryHDU()
    for keyword, value in (
        ("TELESCOP", "HST"),
        ("INSTRUME", instrume),
        ("DETECTOR", detector),
        ("ROOTNAME", asn_id.lower()),
        ("ASN_ID", asn_id.upper()),
        ("ASN_TAB", path.name),
        ("FILENAME", path.name),
    ):
        primary.header[keyword] = value
    table = fits.BinTableHDU.from_columns(columns, name="ASN")
    return write_fits_atomic(path, fits.HDUList([primary, table]))


def write_table(path: Path, table: Any) -> Path:
    """Write an astropy Table as ECSV, atomically."""
    buffer = io.StringIO()
    table.write(buffer, format="ascii.ecsv")
    return write_text_atomic(path, buffer.getvalue())
