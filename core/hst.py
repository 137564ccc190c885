"""HST detectors described as data: what the WFC3 and ACS plugins register.

An :class:`HSTDetector` follows :class:`drizrun.core.instrument.DetectorInstrument`:
chip layout, units, gain and read-noise keywords, DQ flag meanings, CTE
read-out direction, and default stage parameters chosen by the number of
exposures (:class:`DefaultsRow`), the role AstroDrizzle's MDRIZTAB plays.

Gain and read noise follow AstroDrizzle: the mean of the non-zero values of
``ATODGNA..D`` and ``READNSEA..D`` (an HRC exposure read through one amplifier
has zeros for the others).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs

from .instrument import ChipLayout

__all__ = [
    "DefaultsRow",
    "GAIN_KEYWORDS",
    "HSTDetector",
    "READ_NOISE_KEYWORDS",
    "mean_nonzero_keyword",
]

#: Primary-header keywords holding the gain of each amplifier (electrons/DN).
GAIN_KEYWORDS: tuple[str, ...] = ("ATODGNA", "ATODGNB", "ATODGNC", "ATODGND")

#: Primary-header keywords holding the read noise of each amplifier (electrons).
READ_NOISE_KEYWORDS: tuple[str, ...] = ("READNSEA", "READNSEB", "READNSEC", "READNSED")


def mean_nonzero_keyword(header: Mapping[str, Any], keywords: tuple[str, ...]) -> float | None:
    """Return the mean of the finite, non-zero values of some header keywords.

    Parameters
    ----------
    header : mapping
        A FITS header (or any mapping).
    keywords : tuple of str
        Keyword names, e.g. :data:`GAIN_KEYWORDS`.

    Returns
    -------
    float or None
        ``None`` when no keyword has a usable non-zero value.
    """
    values = []
    for key in keywords:
        value = header.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value) and value != 0:
            values.append(float(value))
    return sum(values) / len(values) if values else None


def _freeze(params: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {stage: dict(table) for stage, table in params.items()}


@attrs.frozen
class DefaultsRow:
    """Default stage parameters that apply from a number of exposures on.

    Attributes
    ----------
    min_inputs : int
        The row applies to runs of at least this many exposures (the row with
        the largest ``min_inputs`` not above the run's count wins).
    params : mapping
        ``{stage: {parameter: value}}`` in drizrun's parameter names.
    source : str
        Where the values come from (for the documentation).
    """

    min_inputs: int
    params: Mapping[str, Mapping[str, Any]] = attrs.field(converter=_freeze)
    source: str = ""


@attrs.frozen
class HSTDetector:
    """One HST instrument/detector combination.

    Attributes
    ----------
    instrume, detector : str
        INSTRUME and DETECTOR primary-header values (``"WFC3"``, ``"UVIS"``).
    description : str
        One line for ``drizrun --list-instruments``.
    chips : tuple of ChipLayout
        Chips of a full-frame exposure, in SCI extension order.
    pixel_scale : float
        Nominal pixel scale in arcsec.
    native_bunit : str
        BUNIT of the calibrated science arrays.
    good_bits : int
        DQ flags ignored by default (treated as good).
    saturation_flags, hot_pixel_flags, bad_pixel_flags : int
        DQ flags for saturated, hot and bad pixels.
    cr_bit : int
        DQ bit set for cosmic rays found by drizrun.
    defaults : tuple of DefaultsRow
        Per-exposure-count default stage parameters, any order.
    cte_by_amp : mapping, optional
        CTE direction by the CCDAMP read-out amplifier (one-chip CCDs read
        through one amplifier, e.g. ACS/HRC); overrides ``chips``.
    has_gain_keywords : bool
        False for photon-counting detectors (MAMA) whose headers carry no
        gain or read noise: the gain is then 1 and the read noise 0.
    """

    instrume: str
    detector: str
    description: str
    chips: tuple[ChipLayout, ...]
    pixel_scale: float
    native_bunit: str
    good_bits: int
    saturation_flags: int
    hot_pixel_flags: int
    bad_pixel_flags: int
    cr_bit: int = 4096
    defaults: tuple[DefaultsRow, ...] = ()
    cte_by_amp: Mapping[str, int] = attrs.field(factory=dict, converter=dict)
    has_gain_keywords: bool = True

    @property
    def name(self) -> str:
        """Registry name, ``"INSTRUME/DETECTOR"``."""
        return f"{self.instrume}/{self.detector}"

    def default_params(self, n_inputs: int) -> Mapping[str, Mapping[str, Any]]:
        """Return the default stage parameters for ``n_inputs`` exposures.

        Parameters
        ----------
        n_inputs : int
            Number of exposures in the run.

        Returns
        -------
        dict
            ``{stage: {parameter: value}}``: a fresh copy, safe to modify.
        """
        rows = sorted(
            (row for row in self.defaults if row.min_inputs <= max(n_inputs, 1)), key=lambda row: row.min_inputs
        )
        if not rows:
            return {}
        return _freeze(rows[-1].params)

    def identify(self, header: Mapping[str, Any]) -> bool:
        """Whether INSTRUME and DETECTOR of a primary header name this detector."""
        instrume = str(header.get("INSTRUME", "")).strip().upper()
        detector = str(header.get("DETECTOR", "")).strip().upper()
        return instrume == self.instrume and detector == self.detector

    def gain(self, header: Mapping[str, Any]) -> float:
        """Return the gain in electrons/DN (mean of the non-zero ``ATODGNA..D``; 1 if none)."""
        if not self.has_gain_keywords:
            return 1.0
        value = mean_nonzero_keyword(header, GAIN_KEYWORDS)
        return 1.0 if value is None else value

    def read_noise(self, header: Mapping[str, Any]) -> float:
        """Return the read noise in electrons (mean of the non-zero ``READNSEA..D``; 0 if none)."""
        if not self.has_gain_keywords:
            return 0.0
        value = mean_nonzero_keyword(header, READ_NOISE_KEYWORDS)
        return 0.0 if value is None else value

    def cte_direction(self, extver: int, header: Mapping[str, Any]) -> int:
        """Return the CTE read-out direction of SCI extension ``extver``.

        Parameters
        ----------
        extver : int
            EXTVER of the SCI extension.
        header : mapping
            The primary header (CCDAMP decides for one-amplifier read-outs).

        Returns
        -------
        int
            ``-1``, ``+1`` or ``0`` (no charge transfer).
        """
        if self.cte_by_amp:
            amp = str(header.get("CCDAMP", "")).strip().upper()
            if amp in self.cte_by_amp:
                return self.cte_by_amp[amp]
        for chip in self.chips:
            if chip.extver == extver:
                return chip.cte_direction
        return 0

    def chip(self, extver: int) -> ChipLayout:
        """Return the layout of the chip in SCI extension ``extver``.

        Raises
        ------
        KeyError
            When the detector has no such chip.
        """
        for chip in self.chips:
            if chip.extver == extver:
                return chip
        raise KeyError(f"{self.name} has no chip in SCI extension {extver}")
