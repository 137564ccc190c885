"""Geometry: exact pixel maps, output frames, footprints and overlaps.

* :func:`calc_pixmap` maps every pixel of one frame into another through the
  full HST distortion model (SIP, D2IM, CPDIS/NPOL), compiled, with an
  automatic astropy fallback for any other WCS.
* :func:`build_output_frame` builds the undistorted output frame
  (AstroDrizzle's default, or custom through :class:`FrameParams`).
* :func:`chip_footprint`, :func:`overlap` and :func:`check_overlaps` describe
  where the inputs lie on the sky.
"""

from .errors import FrameTooLargeError, GeometryError, NoOverlapError, UnsupportedWcsError
from .footprint import ChipGeometry, Footprint, Overlap, check_overlaps, chip_footprint, overlap
from .outframe import FrameParams, OutputFrame, build_output_frame, read_refimage
from .pixmap import astropy_pixmap, calc_pixmap, model_pixmap
from .wcsmodel import LookupTable, TanModel

__all__ = [
    "ChipGeometry",
    "Footprint",
    "FrameParams",
    "FrameTooLargeError",
    "GeometryError",
    "LookupTable",
    "NoOverlapError",
    "OutputFrame",
    "Overlap",
    "TanModel",
    "UnsupportedWcsError",
    "astropy_pixmap",
    "build_output_frame",
    "calc_pixmap",
    "check_overlaps",
    "chip_footprint",
    "model_pixmap",
    "overlap",
    "read_refimage",
]
