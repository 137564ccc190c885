"""Brightness units of science arrays (the BUNIT keyword).

HST calibrated images are in electrons (WFC3/UVIS, ACS CCDs), electrons per
second (WFC3/IR) or counts (ACS/SBC, whose gain is 1). A :class:`Units` value
knows how to turn its data into electrons, which is what the median, blot and
cosmic-ray stages work in (AstroDrizzle's ``_conversionFactor``).
"""

from __future__ import annotations

import attrs

__all__ = ["KNOWN_BUNITS", "Units", "parse_bunit"]


@attrs.frozen
class Units:
    """The units of a science array.

    Attributes
    ----------
    bunit : str
        Canonical name: ``"ELECTRONS"``, ``"ELECTRONS/S"``, ``"COUNTS"`` or ``"COUNTS/S"``.
    electrons : bool
        Whether the quantity is electrons (else detector counts, DN).
    per_second : bool
        Whether it is a rate.
    """

    bunit: str
    electrons: bool
    per_second: bool

    def to_electrons(self, exptime: float, gain: float) -> float:
        """Return the factor that turns the data into electrons.

        Parameters
        ----------
        exptime : float
            Exposure time in seconds.
        gain : float
            Electrons per count.

        Returns
        -------
        float
        """
        factor = 1.0 if self.electrons else gain
        return factor * exptime if self.per_second else factor


_ELECTRONS = Units("ELECTRONS", electrons=True, per_second=False)
_ELECTRONS_S = Units("ELECTRONS/S", electrons=True, per_second=True)
_COUNTS = Units("COUNTS", electrons=False, per_second=False)
_COUNTS_S = Units("COUNTS/S", electrons=False, per_second=True)

#: Accepted BUNIT spellings (upper case, spaces removed) and their meaning.
KNOWN_BUNITS: dict[str, Units] = {
    "ELECTRONS": _ELECTRONS,
    "ELECTRON": _ELECTRONS,
    "E-": _ELECTRONS,
    "E": _ELECTRONS,
    "ELECTRONS/S": _ELECTRONS_S,
    "ELECTRONS/SEC": _ELECTRONS_S,
    "ELECTRON/S": _ELECTRONS_S,
    "E-/S": _ELECTRONS_S,
    "E/S": _ELECTRONS_S,
    "COUNTS": _COUNTS,
    "COUNT": _COUNTS,
    "DN": _COUNTS,
    "ADU": _COUNTS,
    "COUNTS/S": _COUNTS_S,
    "COUNTS/SEC": _COUNTS_S,
    "DN/S": _COUNTS_S,
    "CPS": _COUNTS_S,
}


def parse_bunit(text: str) -> Units | None:
    """Return the :class:`Units` a BUNIT value names, or ``None`` if unknown.

    Parameters
    ----------
    text : str
        The BUNIT value; case and spaces are ignored.
    """
    return KNOWN_BUNITS.get("".join(str(text).split()).upper())
