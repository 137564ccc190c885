"""A simulator of dithered HST visits that look real to the pipeline.

:func:`simulate` writes FLT/FLC files with the detector's chip layout, pixel
scale and TAN-SIP distortion, a standard dither pattern, stars and galaxies,
sky, noise, cosmic rays, hot pixels and bad columns flagged in DQ, the header
keywords AstroDrizzle reads, an association table, and the truth beside them.
"""

from .dither import DitherPattern
from .profiles import PROFILES, DetectorProfile
from .visit import DATA_ENV, SimulatedVisit, VisitSpec, simulate

__all__ = ["DATA_ENV", "PROFILES", "DetectorProfile", "DitherPattern", "SimulatedVisit", "VisitSpec", "simulate"]
