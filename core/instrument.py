"""The instrument protocol: what an instrument plugin registers.

An instrument describes a family of inputs (``"WFC3/UVIS"``, ``"ACS/WFC"``) and
supplies per-instrument default parameters that depend on the number of
exposures, as AstroDrizzle's MDRIZTAB does. ``drizrun_identify_instrument``
maps a primary header to one of the registered instruments.

:class:`Instrument` is all the registry requires. An instrument that also
describes its detector (chip layout, units, gain and read-noise keywords, DQ
flags, CTE read-out direction) follows :class:`DetectorInstrument`; the
exposure reader and the simulator use those extra members when present and
fall back to documented generic assumptions otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import attrs

__all__ = ["ChipLayout", "DetectorInstrument", "Instrument", "check_instrument"]


@runtime_checkable
class Instrument(Protocol):
    """What drizrun needs to know about an instrument.

    Attributes
    ----------
    name : str
        Registry name, ``"INSTRUMENT/DETECTOR"`` for HST (``"ACS/WFC"``).
    description : str
        One line for ``drizrun --list-instruments``.
    """

    name: str
    description: str

    def default_params(self, n_inputs: int) -> Mapping[str, Mapping[str, Any]]:
        """Return default stage parameters for a run of ``n_inputs`` exposures.

        Parameters
        ----------
        n_inputs : int
            Number of input exposures in the run.

        Returns
        -------
        mapping
            ``{stage name: {parameter: value}}``; values override the stages'
            own defaults and are overridden by config files and ``--set``.
        """
        ...


@attrs.frozen
class ChipLayout:
    """One chip of a detector, as it appears in a calibrated (FLT/FLC) file.

    Attributes
    ----------
    extver : int
        EXTVER of the chip's SCI/ERR/DQ extensions.
    ccdchip : int or None
        The CCDCHIP keyword of that extension (``None`` for one-chip detectors
        that do not write it).
    shape : tuple of int
        Full-frame ``(ny, nx)`` of the chip in pixels.
    cte_direction : int
        Direction of charge transfer along y during read-out: ``-1``, ``+1``,
        or ``0`` when the detector has no charge transfer (MAMA, IR array).
    """

    extver: int
    ccdchip: int | None
    shape: tuple[int, int]
    cte_direction: int


@runtime_checkable
class DetectorInstrument(Instrument, Protocol):
    """An instrument that also describes its detector.

    Attributes
    ----------
    instrume, detector : str
        Values of the INSTRUME and DETECTOR primary keywords.
    chips : tuple of ChipLayout
        The chips of a full-frame exposure, in extension order.
    pixel_scale : float
        Nominal pixel scale in arcsec (mean of both axes).
    native_bunit : str
        BUNIT of calibrated science data (``"ELECTRONS"``, ``"ELECTRONS/S"``).
    good_bits : int
        DQ bits treated as good by default (the sum of the flags to ignore).
    saturation_flags, hot_pixel_flags, bad_pixel_flags : int
        DQ bits meaning saturated, hot and bad (dead columns, bad detector
        pixels) on this detector.
    cr_bit : int
        DQ bit a cosmic-ray stage sets.
    """

    instrume: str
    detector: str
    chips: tuple[ChipLayout, ...]
    pixel_scale: float
    native_bunit: str
    good_bits: int
    saturation_flags: int
    hot_pixel_flags: int
    bad_pixel_flags: int
    cr_bit: int

    def identify(self, header: Mapping[str, Any]) -> bool:
        """Whether a primary header belongs to this detector."""
        ...

    def gain(self, header: Mapping[str, Any]) -> float:
        """Return the gain (electrons per DN) from a primary header."""
        ...

    def read_noise(self, header: Mapping[str, Any]) -> float:
        """Return the read noise (electrons) from a primary header."""
        ...

    def cte_direction(self, extver: int, header: Mapping[str, Any]) -> int:
        """Return the CTE read-out direction of the chip in SCI extension ``extver``."""
        ...


def check_instrument(obj: object) -> None:
    """Raise ``TypeError`` unless ``obj`` follows the :class:`Instrument` protocol."""
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{obj!r} has no string attribute 'name'")
    if not isinstance(getattr(obj, "description", None), str):
        raise TypeError(f"instrument {name!r} has no string attribute 'description'")
    if not callable(getattr(obj, "default_params", None)):
        raise TypeError(f"instrument {name!r} has no method default_params(n_inputs)")
