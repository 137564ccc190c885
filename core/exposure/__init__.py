"""The exposure model: input files as records of chips with lazily read pixels.

:func:`read_exposure` checks one input file and describes it as an
:class:`Exposure` of :class:`Chip` records; :func:`check_input_set` refuses
sets of exposures that should not be combined.
"""

from .checks import check_input_set
from .model import Chip, ChipSignature, Exposure
from .reader import file_kind, filters_of, read_exposure, rootname_of
from .units import KNOWN_BUNITS, Units, parse_bunit

__all__ = [
    "KNOWN_BUNITS",
    "Chip",
    "ChipSignature",
    "Exposure",
    "Units",
    "check_input_set",
    "file_kind",
    "filters_of",
    "parse_bunit",
    "read_exposure",
    "rootname_of",
]
