"""Physical properties of each detector used to simulate its exposures.

Values are rounded, typical numbers from the WFC3 and ACS instrument
handbooks (pixel sizes, full wells, dark rates, PSF widths) and from the
headers of real exposures (gains, read noises); the sky rates are typical of
broad-band filters at moderate zodiacal light. They make simulated data that
look like real data to the pipeline; they are not calibration values.
"""

from __future__ import annotations

import attrs

from ..errors import UsageError

__all__ = ["PROFILES", "DetectorProfile", "profile_for"]


@attrs.frozen
class DetectorProfile:
    """How to simulate one detector.

    Attributes
    ----------
    name : str
        Instrument name (``"WFC3/UVIS"``).
    filter_keywords : tuple of str
        Primary keywords carrying the filter (WFC3: FILTER; ACS: FILTER1, FILTER2).
    default_filter : tuple of str
        Values for ``filter_keywords``.
    default_exptime : float
        Seconds.
    psf_fwhm : float
        PSF full width at half maximum in arcsec.
    sky_rate : float
        Sky background in electrons/s/pixel.
    dark_rate : float
        Dark current in electrons/s/pixel.
    full_well : float
        Saturation level in electrons.
    gain : tuple of float
        ATODGNA..D.
    read_noise : tuple of float
        READNSEA..D in electrons.
    ccdamp : str
        CCDAMP value.
    pixel_size_um : float
        Physical pixel size in micrometres (sets the cosmic-ray rate per pixel).
    cr_rate : float
        Cosmic-ray events per cm^2 per second in the calibrated image (the IR
        array removes most of them when fitting the ramp; MAMAs see none).
    hot_fraction : float
        Fraction of hot pixels.
    bad_columns : int
        Bad columns per full-frame chip (scaled down for subarrays, at least one).
    root_prefix : str
        First letter of ROOTNAME (``i`` WFC3, ``j`` ACS).
    template : str
        Real exposure, relative to the HST data directory, whose SIP distortion
        is used when that directory is available.
    """

    name: str
    filter_keywords: tuple[str, ...]
    default_filter: tuple[str, ...]
    default_exptime: float
    psf_fwhm: float
    sky_rate: float
    dark_rate: float
    full_well: float
    gain: tuple[float, float, float, float]
    read_noise: tuple[float, float, float, float]
    ccdamp: str
    pixel_size_um: float
    cr_rate: float
    hot_fraction: float
    bad_columns: int
    root_prefix: str
    template: str

    @property
    def mean_gain(self) -> float:
        """Mean of the non-zero gains."""
        values = [g for g in self.gain if g > 0]
        return sum(values) / len(values) if values else 1.0

    @property
    def mean_read_noise(self) -> float:
        """Mean of the non-zero read noises."""
        values = [r for r in self.read_noise if r > 0]
        return sum(values) / len(values) if values else 0.0


PROFILES: dict[str, DetectorProfile] = {
    profile.name: profile
    for profile in (
        DetectorProfile(
            name="WFC3/UVIS",
            filter_keywords=("FILTER",),
            default_filter=("F606W",),
            default_exptime=400.0,
            psf_fwhm=0.075,
            sky_rate=0.06,
            dark_rate=0.002,
            full_well=63000.0,
            gain=(1.56, 1.56, 1.56, 1.56),
            read_noise=(3.09, 3.10, 3.11, 3.07),
            ccdamp="ABCD",
            pixel_size_um=15.0,
            cr_rate=1.0,
            hot_fraction=0.005,
            bad_columns=4,
            root_prefix="i",
            template="drizzlepac/sample_svm_flc.fits",
        ),
        DetectorProfile(
            name="WFC3/IR",
            filter_keywords=("FILTER",),
            default_filter=("F140W",),
            default_exptime=250.0,
            psf_fwhm=0.14,
            sky_rate=1.2,
            dark_rate=0.05,
            full_well=78000.0,
            gain=(2.35, 2.35, 2.35, 2.35),
            read_noise=(20.2, 19.8, 19.9, 20.1),
            ccdamp="ABCD",
            pixel_size_um=18.0,
            cr_rate=0.05,
            hot_fraction=0.002,
            bad_columns=0,
            root_prefix="i",
            template="drizzlepac/sample_svm_flt.fits",
        ),
        DetectorProfile(
            name="ACS/WFC",
            filter_keywords=("FILTER1", "FILTER2"),
            default_filter=("F606W", "CLEAR2L"),
            default_exptime=500.0,
            psf_fwhm=0.10,
            sky_rate=0.12,
            dark_rate=0.009,
            full_well=84000.0,
            gain=(2.02, 1.89, 2.02, 2.0),
            read_noise=(4.57, 3.91, 4.39, 4.90),
            ccdamp="ABCD",
            pixel_size_um=15.0,
            cr_rate=1.0,
            hot_fraction=0.005,
            bad_columns=4,
            root_prefix="j",
            template="drizzlepac/sample_flc_header.fits",
        ),
        DetectorProfile(
            name="ACS/HRC",
            filter_keywords=("FILTER1", "FILTER2"),
            default_filter=("F606W", "CLEAR2S"),
            default_exptime=300.0,
            psf_fwhm=0.06,
            sky_rate=0.02,
            dark_rate=0.006,
            full_well=155000.0,
            gain=(0.0, 0.0, 2.216, 0.0),
            read_noise=(0.0, 0.0, 4.71, 0.0),
            ccdamp="C",
            pixel_size_um=21.0,
            cr_rate=1.0,
            hot_fraction=0.003,
            bad_columns=2,
            root_prefix="j",
            template="spacetelescope_drizzle/j8bt06nyq_sip_flt.fits",
        ),
        DetectorProfile(
            name="ACS/SBC",
            filter_keywords=("FILTER1", "FILTER2"),
            default_filter=("F125LP", "N/A"),
            default_exptime=600.0,
            psf_fwhm=0.09,
            sky_rate=1e-4,
            dark_rate=1e-5,
            full_well=1e9,
            gain=(0.0, 0.0, 0.0, 0.0),
            read_noise=(0.0, 0.0, 0.0, 0.0),
            ccdamp="N/A",
            pixel_size_um=25.0,
            cr_rate=0.0,
            hot_fraction=0.0001,
            bad_columns=0,
            root_prefix="j",
            template="",
        ),
    )
}


def profile_for(name: str) -> DetectorProfile:
    """Return the profile of an instrument name (case-insensitive).

    Raises
    ------
    UsageError
        For an instrument the simulator does not know, listing those it does.
    """
    key = name.strip().upper()
    if key not in PROFILES:
        raise UsageError(f"cannot simulate instrument {name!r}; choose one of {', '.join(PROFILES)}")
    return PROFILES[key]
