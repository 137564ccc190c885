"""The output frame: the undistorted TAN grid every input is drizzled onto.

:func:`build_output_frame` follows AstroDrizzle's default: the frame has the
orientation and the linear pixel scale of the first input chip (its WCS
linearised at the reference pixel, with the distortion's local derivative
folded in, and made orthogonal), its tangent point at the spherical mean of
every chip's outline, and the smallest size that holds every input pixel
(pixel corners, through the full distortion). :class:`FrameParams` overrides
any part of that, like AstroDrizzle's ``final_*`` and ``driz_sep_*``
parameters, and guards against absurd sizes.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from ..params import in_range, param
from .errors import FrameTooLargeError, GeometryError, UnsupportedWcsError
from .footprint import ChipGeometry, as_chip_geometry, chip_footprint, sky_unit_vectors
from .wcsmodel import TanModel

__all__ = [
    "BYTES_PER_OUTPUT_PIXEL",
    "FrameParams",
    "OutputFrame",
    "build_output_frame",
    "linear_frame",
    "orthogonal_cd",
    "read_refimage",
]

log = logging.getLogger("drizrun.geometry")

#: Bytes per output pixel of a drizzle product: float32 SCI and WHT, int32 CTX.
BYTES_PER_OUTPUT_PIXEL: int = 12

# An automatic frame above _SPARSE_MIN_MPIX megapixels is refused when it is more
# than _SPARSE_FACTOR times the area of its input chips.
_SPARSE_MIN_MPIX = 100.0
_SPARSE_FACTOR = 50.0


def _positive_int_or_none(_instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"must be a positive integer or unset, got {value!r}")


@attrs.frozen
class FrameParams:
    """How to build an output frame (the ``[final]`` and ``[sep]`` frame options).

    Every option is ignored unless ``wcs`` is true, as in AstroDrizzle; with
    ``wcs`` true and ``rot`` unset the frame is north up.
    """

    wcs: bool = param(False, doc="Use the custom output frame given by the options below "
                                 "(north up unless rot is set) instead of the first chip's orientation.")
    rot: float | None = param(None, doc="Position angle of the frame's +Y axis, degrees east of north "
                                        "(unset: 0, north up).",
                              validator=in_range(-360.0, 360.0, allow_none=True))
    scale: float | None = param(None, doc="Pixel scale, arcseconds per pixel (unset: the first chip's "
                                          "linear scale).",
                                validator=in_range(0.0, None, low_open=True, allow_none=True))
    outnx: int | None = param(None, doc="Frame width in pixels (unset: wide enough for every input).",
                              validator=_positive_int_or_none)
    outny: int | None = param(None, doc="Frame height in pixels (unset: tall enough for every input).",
                              validator=_positive_int_or_none)
    ra: float | None = param(None, doc="Right ascension of the reference point, degrees "
                                       "(unset: centre of the inputs).",
                             validator=in_range(-360.0, 360.0, allow_none=True))
    dec: float | None = param(None, doc="Declination of the reference point, degrees "
                                        "(unset: centre of the inputs).",
                              validator=in_range(-90.0, 90.0, allow_none=True))
    crpix1: float | None = param(None, doc="Reference pixel x, 1-based (unset: chosen to fit the inputs).")
    crpix2: float | None = param(None, doc="Reference pixel y, 1-based (unset: chosen to fit the inputs).")
    refimage: str = param("", doc="FITS file (optionally with [extension]) whose WCS and size "
                                  "define the frame; empty for none.")
    max_mpix: float = param(1000.0, doc="Refuse frames larger than this many megapixels "
                                        "(a guard against bad WCSs).",
                            validator=in_range(0.0, None, low_open=True))

    def __attrs_post_init__(self) -> None:
        if (self.ra is None) != (self.dec is None):
            raise ValueError("ra and dec must be given together")
        if (self.crpix1 is None) != (self.crpix2 is None):
            raise ValueError("crpix1 and crpix2 must be given together")


@attrs.frozen(eq=False)
class OutputFrame:
    """An undistorted TAN frame and its size.

    Attributes
    ----------
    wcs : astropy.wcs.WCS
        The frame's WCS (TAN, CD matrix, ``pixel_shape`` set).
    shape : tuple of int
        ``(ny, nx)``.
    """

    wcs: Any = attrs.field(repr=False)
    shape: tuple[int, int]

    @property
    def model(self) -> TanModel:
        """The frame as a :class:`TanModel`."""
        return TanModel.from_wcs(self.wcs)

    @property
    def pixel_scale(self) -> float:
        """Pixel scale, arcseconds per pixel."""
        return self.model.pixel_scale

    @property
    def orientation(self) -> float:
        """Position angle of +Y, degrees east of north."""
        cd = self.model.cd
        return math.degrees(math.atan2(cd[0, 1], cd[1, 1]))

    @property
    def nbytes(self) -> int:
        """Memory of its SCI, WHT and CTX arrays."""
        return self.shape[0] * self.shape[1] * BYTES_PER_OUTPUT_PIXEL

    def header(self) -> Any:
        """WCS cards of the frame (``astropy.io.fits.Header``); its size is the data's shape."""
        return self.wcs.to_header()


def orthogonal_cd(scale: float, rot: float, parity: int = -1) -> NDArray[np.float64]:
    """CD matrix of an orthogonal frame.

    Parameters
    ----------
    scale : float
        Pixel scale, arcseconds per pixel.
    rot : float
        Position angle of +Y, degrees east of north.
    parity : {-1, 1}
        -1 for the usual sky orientation (east to the left of north when +Y
        points north), 1 for the mirror image.

    Returns
    -------
    ndarray of float64, shape (2, 2)
        Degrees per pixel.
    """
    s = scale / 3600.0
    c, n = math.cos(math.radians(rot)), math.sin(math.radians(rot))
    if parity < 0:
        return s * np.array([[-c, n], [n, c]])
    return s * np.array([[c, n], [-n, c]])


def _local_cd(chip: ChipGeometry) -> NDArray[np.float64]:
    """Jacobian of pixel -> intermediate world coordinates at the reference pixel, degrees/pixel."""
    wcs = chip.wcs
    crpix = np.asarray(wcs.wcs.crpix, dtype=np.float64) - 1.0  # 0-based
    h = 1.0
    pts = np.array([crpix, crpix + [h, 0.0], crpix - [h, 0.0], crpix + [0.0, h], crpix - [0.0, h]])
    foc = wcs.pix2foc(pts, 0) if _distorted(wcs) else pts
    jac = np.column_stack([(foc[1] - foc[2]) / (2 * h), (foc[3] - foc[4]) / (2 * h)])
    return np.asarray(wcs.pixel_scale_matrix, dtype=np.float64) @ jac


def _distorted(wcs: Any) -> bool:
    return any(getattr(wcs, n, None) is not None for n in ("sip", "det2im1", "det2im2", "cpdis1", "cpdis2"))


def linear_frame(chip: Any) -> tuple[float, float, int]:
    """Linear pixel scale, orientation and parity of a chip at its reference pixel.

    Parameters
    ----------
    chip : ChipGeometry, Chip or (wcs, shape)
        The chip.

    Returns
    -------
    scale : float
        Arcseconds per pixel (square root of the local Jacobian's determinant).
    rot : float
        Position angle of the chip's +Y axis, degrees east of north.
    parity : int
        Sign of the Jacobian's determinant.
    """
    cd = _local_cd(as_chip_geometry(chip))
    det = float(np.linalg.det(cd))
    if det == 0 or not math.isfinite(det):
        raise GeometryError("the first chip's WCS has a singular linear transformation")
    scale = math.sqrt(abs(det)) * 3600.0
    rot = math.degrees(math.atan2(cd[0, 1], cd[1, 1]))
    return scale, rot, (-1 if det < 0 else 1)


def _tan_wcs(crval: tuple[float, float], cd: NDArray[np.float64], crpix: tuple[float, float],
             shape: tuple[int, int]) -> Any:
    from astropy.wcs import WCS

    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = list(crval)
    w.wcs.crpix = list(crpix)
    w.wcs.cd = cd
    w.wcs.radesys = "ICRS"
    w.wcs.set()
    w.pixel_shape = (shape[1], shape[0])
    return w


def _sky_centre(points: NDArray[np.float64]) -> tuple[float, float]:
    """RA/Dec of the normalised mean unit vector of RA/Dec points."""
    v = sky_unit_vectors(points).mean(axis=0)
    norm = float(np.linalg.norm(v))
    if norm < 1e-12:
        raise GeometryError("the inputs cover the whole sky; give ra and dec for the output frame")
    v /= norm
    ra = math.degrees(math.atan2(v[1], v[0])) % 360.0
    dec = math.degrees(math.asin(max(-1.0, min(1.0, v[2]))))
    return ra, dec


def _outline_in_frame(chips: Sequence[ChipGeometry], crval: tuple[float, float],
                      cd: NDArray[np.float64], step: float) -> NDArray[np.float64]:
    """1-based frame positions (relative to CRPIX = 0) of every chip's outline."""
    probe = _tan_wcs(crval, cd, (0.0, 0.0), (1, 1))
    pts = []
    for chip in chips:
        fp = chip_footprint(chip, step=step)
        pts.append(np.stack(probe.wcs_world2pix(fp.sky[:, 0], fp.sky[:, 1], 1), axis=1))
    xy = np.concatenate(pts)
    if not np.all(np.isfinite(xy)):
        raise GeometryError("some input pixels lie 90 degrees or more from the output frame's centre")
    return xy


def _guard(shape: tuple[int, int], limit_mpix: float) -> None:
    ny, nx = shape
    if nx * ny > limit_mpix * 1e6:
        raise FrameTooLargeError((ny, nx), nx * ny * BYTES_PER_OUTPUT_PIXEL, limit_mpix)


def _guard_sparse(shape: tuple[int, int], geos: Sequence[ChipGeometry], scale: float) -> None:
    """Refuse a large automatic frame that the inputs would leave almost empty (inputs far apart on the sky)."""
    ny, nx = shape
    if nx * ny <= _SPARSE_MIN_MPIX * 1e6:
        return
    covered = 0.0
    for geo in geos:
        try:
            chip_scale = linear_frame(geo)[0]
        except GeometryError:
            continue
        covered += geo.shape[0] * geo.shape[1] * (chip_scale / scale) ** 2
    if nx * ny > _SPARSE_FACTOR * covered:
        raise GeometryError(
            f"the inputs lie far apart on the sky: the output frame would be {nx} x {ny} pixels "
            f"({nx * ny / 1e6:.1f} Mpix) while they cover about {covered / 1e6:.2f} Mpix of it; "
            "drizzle each group of overlapping inputs separately, or give the frame size (wcs, outnx, outny)"
        )


_EXT = re.compile(r"^(?P<path>.*?)(\[(?P<ext>[^\]]+)\])?$")


def read_refimage(spec: str) -> OutputFrame:
    """Read an output frame from a FITS file or extension.

    Parameters
    ----------
    spec : str
        ``"file.fits"`` (first HDU with a celestial WCS and an image size),
        ``"file.fits[1]"`` or ``"file.fits[sci,1]"``.

    Returns
    -------
    OutputFrame
        The file's WCS without its distortion, and its ``NAXIS1 x NAXIS2``.

    Raises
    ------
    GeometryError
        If the file or extension is missing or carries no usable WCS.
    """
    import warnings

    from astropy.io import fits
    from astropy.wcs import WCS

    m = _EXT.match(spec.strip())
    assert m is not None
    path = Path(m.group("path"))
    ext_text = m.group("ext")
    if not path.is_file():
        raise GeometryError(f"refimage {spec!r}: no such file")
    try:
        with fits.open(path) as hdul:
            if ext_text is None:
                candidates = list(range(len(hdul)))
            else:
                parts = [p.strip() for p in ext_text.split(",")]
                if len(parts) == 1 and parts[0].isdigit():
                    candidates = [int(parts[0])]
                else:
                    key = (parts[0], int(parts[1])) if len(parts) == 2 else parts[0]
                    candidates = [hdul.index_of(key)]
            for idx in candidates:
                hdr = hdul[idx].header
                if hdr.get("NAXIS", 0) < 2 or "CTYPE1" not in hdr:
                    continue
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    w = WCS(hdr, fobj=hdul)
                if not w.has_celestial:
                    continue
                shape = (int(hdr["NAXIS2"]), int(hdr["NAXIS1"]))
                model = TanModel.from_wcs(w)
                frame = _tan_wcs(model.crval, model.cd, model.crpix, shape)
                return OutputFrame(wcs=frame, shape=shape)
    except (OSError, KeyError, IndexError, ValueError, UnsupportedWcsError) as exc:
        raise GeometryError(f"refimage {spec!r}: {exc}") from exc
    raise GeometryError(f"refimage {spec!r}: no extension with a celestial WCS and an image size")


def build_output_frame(
    chips: Sequence[Any],
    params: FrameParams | None = None,
    *,
    step: float = 16.0,
) -> OutputFrame:
    """Build the frame the inputs are drizzled onto.

    Parameters
    ----------
    chips : sequence of ChipGeometry, Chip or (wcs, shape)
        Every input chip; the first one sets the default orientation and
        scale.
    params : FrameParams, optional
        Overrides (used only with ``params.wcs`` true, except ``max_mpix``,
        which always applies).
    step : float
        Spacing in input pixels of the outline samples used to size the
        frame.

    Returns
    -------
    OutputFrame

    Raises
    ------
    GeometryError
        Without chips, for a singular first WCS, or a bad ``refimage``.
    FrameTooLargeError
        If the frame would exceed ``params.max_mpix`` megapixels.
    GeometryError
        Also when a frame sized automatically would exceed 100 megapixels
        while being more than 50 times the inputs' area (inputs far apart).
    """
    params = params or FrameParams()
    geos = [as_chip_geometry(c) for c in chips]
    custom = params.wcs
    if not custom and any(getattr(params, n) not in (None, "") for n in
                          ("rot", "scale", "outnx", "outny", "ra", "dec", "crpix1", "refimage")):
        log.warning("output frame options are ignored because wcs is false")

    if custom and params.refimage:
        ref = read_refimage(params.refimage)
        model = ref.model
        crval = model.crval if params.ra is None else (float(params.ra), float(params.dec))
        cd = model.cd
        if params.rot is not None or params.scale is not None:
            scale0 = model.pixel_scale
            rot0 = math.degrees(math.atan2(cd[0, 1], cd[1, 1]))
            parity = -1 if np.linalg.det(cd) < 0 else 1
            cd = orthogonal_cd(params.scale or scale0, rot0 if params.rot is None else params.rot, parity)
        ny, nx = ref.shape
        shape = (params.outny or ny, params.outnx or nx)
        crpix = model.crpix if params.crpix1 is None else (float(params.crpix1), float(params.crpix2))
        _guard(shape, params.max_mpix)
        return OutputFrame(wcs=_tan_wcs(crval, cd, crpix, shape), shape=shape)

    if not geos:
        raise GeometryError("an output frame needs at least one input chip or a refimage")
    scale, rot, parity = linear_frame(geos[0])
    if custom:
        rot = 0.0 if params.rot is None else float(params.rot)
        if params.scale is not None:
            scale = float(params.scale)
    cd = orthogonal_cd(scale, rot, parity)

    if custom and params.ra is not None:
        crval = (float(params.ra) % 360.0, float(params.dec))
    else:
        outline = np.concatenate([chip_footprint(g, step=step).sky for g in geos])
        crval = _sky_centre(outline)

    xy = _outline_in_frame(geos, crval, cd, step)
    lo = xy.min(axis=0)
    hi = xy.max(axis=0)
    # A frame of n pixels spans 1-based positions 0.5 .. n + 0.5.
    need = (int(math.ceil(hi[0] - lo[0] - 1e-9)), int(math.ceil(hi[1] - lo[1] - 1e-9)))
    nx = params.outnx if custom and params.outnx else max(1, need[0])
    ny = params.outny if custom and params.outny else max(1, need[1])
    _guard((ny, nx), params.max_mpix)
    if not (custom and (params.outnx or params.outny)):
        _guard_sparse((ny, nx), geos, scale)
    if custom and params.crpix1 is not None:
        crpix = (float(params.crpix1), float(params.crpix2))
    else:
        # centre the inputs' bounding box in the frame
        crpix = ((nx + 1) / 2.0 - (lo[0] + hi[0]) / 2.0, (ny + 1) / 2.0 - (lo[1] + hi[1]) / 2.0)
    return OutputFrame(wcs=_tan_wcs(crval, cd, crpix, (ny, nx)), shape=(ny, nx))
