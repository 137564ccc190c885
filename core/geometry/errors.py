"""Errors of the geometry package (pixel maps, output frames, footprints)."""

from __future__ import annotations

from ..errors import DrizrunError, InputError, UsageError

__all__ = [
    "FrameTooLargeError",
    "GeometryError",
    "NoOverlapError",
    "UnsupportedWcsError",
]


class GeometryError(UsageError):
    """A WCS or an output-frame request cannot be used."""


class UnsupportedWcsError(DrizrunError):
    """A WCS lies outside what the compiled pixel-map kernel evaluates.

    :func:`drizrun.calc_pixmap` catches it and falls back to astropy; it only
    reaches the user when the kernel was explicitly requested.
    """

    exit_status = 2


class FrameTooLargeError(GeometryError):
    """An output frame would exceed the configured size limit.

    Parameters
    ----------
    shape : tuple of int
        The ``(ny, nx)`` the frame would have had.
    nbytes : int
        Memory its science, weight and context arrays would need.
    limit : float
        The limit that was exceeded, in megapixels.
    """

    def __init__(self, shape: tuple[int, int], nbytes: int, limit: float) -> None:
        self.shape = shape
        self.nbytes = nbytes
        self.limit = limit
        ny, nx = shape
        super().__init__(
            f"the output frame would be {nx} x {ny} pixels ({nx * ny / 1e6:.1f} Mpix, "
            f"{nbytes / 2**30:.2f} GiB for SCI+WHT+CTX), above the limit of {limit:g} Mpix; "
            "check the input WCSs, set outnx/outny or scale, or raise max_mpix"
        )


class NoOverlapError(InputError):
    """Exposures that must be combined do not overlap on the sky."""
