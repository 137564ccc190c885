"""Records for one exposure and its chips.

An :class:`Exposure` holds what drizrun needs to know about one input file
without its pixels: per chip (:class:`Chip`) the WCS with its full distortion,
units, exposure time, gain, read noise, CTE read-out direction and the
signature that groups chips for the static mask. The pixel arrays are read on
request (:meth:`Chip.sci`, :meth:`Chip.err`, :meth:`Chip.dq`), memory-mapped
when the file is not compressed, so a run over many exposures holds only the
chips it is working on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import numpy as np

from .arrays import read_extension
from .units import Units

__all__ = ["Chip", "ChipSignature", "Exposure"]


@attrs.frozen
class ChipSignature:
    """What chips sharing a static mask have in common.

    Attributes
    ----------
    instrument : str
        Instrument name (``"WFC3/UVIS"``).
    detector : str
        DETECTOR value.
    chip : int
        SCI extension version.
    shape : tuple of int
        ``(ny, nx)``.
    """

    instrument: str
    detector: str
    chip: int
    shape: tuple[int, int]

    def label(self) -> str:
        """A file-name friendly form, e.g. ``WFC3-UVIS_2051x4096_1``."""
        return f"{self.instrument.replace('/', '-')}_{self.shape[0]}x{self.shape[1]}_{self.chip}"


_frozen = attrs.setters.frozen


@attrs.define(eq=False)
class Chip:
    """One chip (one SCI/ERR/DQ triplet) of an exposure.

    Attributes
    ----------
    path : Path
        The file it lives in.
    extver : int
        EXTVER of its SCI, ERR and DQ extensions.
    shape : tuple of int
        ``(ny, nx)`` of the science array.
    wcs : astropy.wcs.WCS
        The WCS with every distortion the file carries (SIP, D2IM, CPDIS).
    units : Units
        Units of the science array.
    exptime : float
        Exposure time in seconds.
    gain : float
        Electrons per count.
    read_noise : float
        Read noise in electrons.
    cte_direction : int
        -1, +1, or 0 without charge transfer.
    signature : ChipSignature
        Static-mask grouping key.
    ccdchip : int or None
        CCDCHIP of the extension.
    has_err : bool
        Whether the file has an ERR extension for this chip.
    computed_sky : float or None
        Sky level found by the sky stage, in the data's units (set later).
    subtracted_sky : float or None
        Sky level subtracted when drizzling (set later).
    """

    path: Path = attrs.field(on_setattr=_frozen)
    extver: int = attrs.field(on_setattr=_frozen)
    shape: tuple[int, int] = attrs.field(on_setattr=_frozen)
    wcs: Any = attrs.field(on_setattr=_frozen, repr=False)
    units: Units = attrs.field(on_setattr=_frozen)
    exptime: float = attrs.field(on_setattr=_frozen)
    gain: float = attrs.field(on_setattr=_frozen)
    read_noise: float = attrs.field(on_setattr=_frozen)
    cte_direction: int = attrs.field(on_setattr=_frozen)
    signature: ChipSignature = attrs.field(on_setattr=_frozen)
    ccdchip: int | None = attrs.field(default=None, on_setattr=_frozen)
    has_err: bool = attrs.field(default=True, on_setattr=_frozen)
    computed_sky: float | None = None
    subtracted_sky: float | None = None

    @property
    def to_electrons(self) -> float:
        """Factor turning the science array into electrons (exptime for e-/s, gain for counts)."""
        return self.units.to_electrons(self.exptime, self.gain)

    def sci(self) -> np.ndarray:
        """Read the science array (read-only; memory-mapped when possible)."""
        return read_extension(self.path, "SCI", self.extver)

    def err(self) -> np.ndarray | None:
        """Read the error array, or ``None`` when the file has none."""
        return read_extension(self.path, "ERR", self.extver) if self.has_err else None

    def dq(self) -> np.ndarray:
        """Read the data-quality array (read-only)."""
        return read_extension(self.path, "DQ", self.extver)


@attrs.frozen(eq=False)
class Exposure:
    """One input file: its identity and its chips.

    Attributes
    ----------
    path : Path
        The file.
    rootname : str
        ROOTNAME, or the file name without its suffix.
    kind : str
        ``"flt"``, ``"flc"`` or ``""``, from the file name.
    instrument : str
        Registered instrument name (``"ACS/WFC"``, ``"generic"``).
    instrume, detector : str
        INSTRUME and DETECTOR values.
    filters : tuple of str
        Filter names in the light path, without CLEAR and N/A entries.
    exptime : float
        EXPTIME in seconds.
    expstart : float or None
        EXPSTART (MJD), if present.
    chips : tuple of Chip
        One per SCI extension, in file order.
    primary_header : astropy.io.fits.Header
        A copy of the primary header.
    """

    path: Path
    rootname: str
    kind: str
    instrument: str
    instrume: str
    detector: str
    filters: tuple[str, ...]
    exptime: float
    expstart: float | None
    chips: tuple[Chip, ...]
    primary_header: Any = attrs.field(repr=False)

    @property
    def filter_label(self) -> str:
        """Filters joined by ``+`` (``"F606W"``), or ``"none"``."""
        return "+".join(self.filters) or "none"
