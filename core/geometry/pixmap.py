"""Pixel maps: where every input pixel centre lands in an output frame.

:func:`calc_pixmap` follows the convention of drizzle's ``calc_pixmap``: for
an input of shape ``(ny, nx)`` it returns a ``(ny, nx, 2)`` ``float64`` array
whose ``[i, j]`` entry is the 0-based ``(x, y)`` in the output frame of the
input pixel centre ``(x=j, y=i)``. The same function maps a distortion-free
combined frame onto a distorted chip (blot): the chip's distortion is then
inverted by iteration, to ``tol`` pixels.

For TAN and TAN-SIP frames with D2IM and CPDIS lookup tables (every HST
WFC3 and ACS image) the map is computed exactly by the compiled kernel
``drizrun.kernels._pixmap``; any other WCS is handed to astropy.
"""

from __future__ import annotations

import logging
import math
from types import ModuleType
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from .errors import GeometryError, UnsupportedWcsError
from .wcsmodel import TanModel

__all__ = ["DEFAULT_MAXITER", "DEFAULT_TOL", "astropy_pixmap", "calc_pixmap", "model_pixmap"]

log = logging.getLogger("drizrun.geometry")

#: Convergence tolerance of the inverse distortion, pixels.
DEFAULT_TOL: float = 1e-9
#: Most quasi-Newton iterations per row for the inverse distortion.
DEFAULT_MAXITER: int = 60

_DEG = math.pi / 180.0

Method = Literal["auto", "kernel", "astropy"]


def _pack(model: TanModel) -> tuple[NDArray[Any], ...]:
    """The kernel's distortion pack of a model (see ``kernels/_pixmap.py``)."""
    if model.sip_a is not None and model.sip_b is not None and model.sip_crpix is not None:
        k = max(model.sip_a.shape[0], model.sip_b.shape[0], 2)
        a = np.zeros((k, k))
        b = np.zeros((k, k))
        a[: model.sip_a.shape[0], : model.sip_a.shape[1]] = model.sip_a
        b[: model.sip_b.shape[0], : model.sip_b.shape[1]] = model.sip_b
        p = np.arange(k)
        grids = [a, b]
        for c in (a, b):
            dx = np.zeros((k, k))
            dy = np.zeros((k, k))
            dx[:-1, :] = p[1:, None] * c[1:, :]
            dy[:, :-1] = p[None, 1:] * c[:, 1:]
            grids += [dx, dy]
        sip = np.stack([grids[0], grids[1], grids[2], grids[3], grids[4], grids[5]])
        sip_ref = np.array(model.sip_crpix, dtype=np.float64)
    else:
        sip = np.zeros((6, 0, 0))
        sip_ref = np.zeros(2)
    chunks = [np.zeros(1)]
    geom = np.zeros((4, 6))
    index = np.zeros((4, 4), dtype=np.int64)
    offset = 1
    for t, table in enumerate((*model.d2im, *model.cpdis)):
        if table is None:
            continue
        tny, tnx = table.data.shape
        chunks.append(table.data.ravel())
        geom[t] = (*table.crpix, *table.crval, 1.0 / table.cdelt[0], 1.0 / table.cdelt[1])
        index[t] = (1, offset, tnx, tny)
        offset += table.data.size
    return sip_ref, np.ascontiguousarray(sip), np.concatenate(chunks), geom, index


def model_pixmap(
    src: TanModel,
    dst: TanModel,
    shape: tuple[int, int],
    *,
    grid: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
    module: ModuleType | None = None,
    tol: float = DEFAULT_TOL,
    maxiter: int = DEFAULT_MAXITER,
) -> NDArray[np.float64]:
    """Pixel map between two extracted models with the ``_pixmap`` kernel.

    Parameters
    ----------
    src, dst : TanModel
        Input and output frames.
    shape : tuple of int
        ``(ny, nx)`` of the grid of input pixels to map.
    grid : tuple of float
        ``(x0, y0, sx, sy)``: entry ``[i, j]`` maps the 0-based input pixel
        ``(x0 + j * sx, y0 + i * sy)``. The default maps every pixel of an
        ``(ny, nx)`` frame; other grids sample a frame sparsely (footprints,
        tests).
    module : module, optional
        The kernel module to run (default: the loaded ``_pixmap`` backend);
        tests pass the pure-Python source here.
    tol : float
        Convergence tolerance of the output's inverse distortion, pixels.
    maxiter : int
        Most iterations per row of that inversion.

    Returns
    -------
    ndarray of float64, shape (ny, nx, 2)
        0-based output ``(x, y)`` of every input pixel centre; NaN on the far
        hemisphere of the output projection or where the inversion did not
        converge.
    """
    from ...kernels import kernel_module, native_array

    if module is None:
        module = kernel_module("_pixmap")
    ny, nx = (int(n) for n in shape)
    if ny < 0 or nx < 0:
        raise GeometryError(f"pixel-map shape {shape} has a negative size")
    in_lin = np.array([*src.crpix, *(src.cd * _DEG).ravel()])
    out_lin = np.array([*dst.crpix, *(np.linalg.inv(dst.cd) / _DEG).ravel()])
    rot = dst.native_to_celestial().T @ src.native_to_celestial()
    f8 = np.float64
    i8 = np.int64
    a = [native_array(x, i8 if x.dtype.kind == "i" else f8) for x in _pack(src)]
    b = [native_array(x, i8 if x.dtype.kind == "i" else f8) for x in _pack(dst)]
    return module.pixmap(ny, nx, native_array(np.asarray(grid, dtype=f8), f8), a[0], a[1], a[2], a[3], a[4],
                         native_array(in_lin, f8), native_array(rot, f8), native_array(out_lin, f8),
                         b[0], b[1], b[2], b[3], b[4], int(maxiter), float(tol))


def _has_distortion(wcs: Any) -> bool:
    return any(getattr(wcs, name, None) is not None
               for name in ("sip", "det2im1", "det2im2", "cpdis1", "cpdis2"))


def astropy_pixmap(
    in_wcs: Any,
    out_wcs: Any,
    shape: tuple[int, int],
    *,
    grid: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
    tol: float = DEFAULT_TOL,
    maxiter: int = DEFAULT_MAXITER,
) -> NDArray[np.float64]:
    """Pixel map computed by astropy, one call for all pixels.

    FITS WCSs go through ``all_pix2world`` and ``all_world2pix`` (with the
    given tolerance; astropy's own default of 1e-4 pixels is too loose to
    serve as a reference), any other WCS through the shared WCS API
    (``pixel_to_world_values`` / ``world_to_pixel_values``).

    Parameters
    ----------
    in_wcs, out_wcs : WCS
        Input and output WCS.
    shape : tuple of int
        ``(ny, nx)`` of the grid of input pixels to map.
    grid : tuple of float
        ``(x0, y0, sx, sy)`` as for :func:`model_pixmap`.
    tol : float
        Tolerance of the inverse distortion, pixels (FITS WCS only).
    maxiter : int
        Most iterations of the inverse distortion (FITS WCS only).

    Returns
    -------
    ndarray of float64, shape (ny, nx, 2)
    """
    y, x = np.indices(shape, dtype=np.float64)
    if tuple(grid) != (0.0, 0.0, 1.0, 1.0):
        x = grid[0] + x * grid[2]
        y = grid[1] + y * grid[3]
    if hasattr(in_wcs, "all_pix2world"):
        world = in_wcs.all_pix2world(x, y, 0)
    else:
        world = in_wcs.pixel_to_world_values(x, y)
    del x, y
    if hasattr(out_wcs, "all_world2pix"):
        if _has_distortion(out_wcs):
            px, py = out_wcs.all_world2pix(*world, 0, tol=tol, maxiter=maxiter, quiet=True)
        else:
            px, py = out_wcs.wcs_world2pix(*world, 0)
    else:
        px, py = out_wcs.world_to_pixel_values(*world)
    return np.stack([np.asarray(px, dtype=np.float64), np.asarray(py, dtype=np.float64)], axis=-1)


def _shape_of(in_wcs: Any, shape: tuple[int, int] | None) -> tuple[int, int]:
    if shape is None:
        shape = getattr(in_wcs, "array_shape", None)
        if shape is None:
            raise GeometryError("the input WCS declares no array shape (NAXIS1/NAXIS2); pass shape=(ny, nx)")
    if len(shape) != 2:
        raise GeometryError(f"pixel-map shape must be (ny, nx), got {tuple(shape)}")
    ny, nx = (int(n) for n in shape)
    if ny < 0 or nx < 0:
        raise GeometryError(f"pixel-map shape {(ny, nx)} has a negative size")
    return ny, nx


def calc_pixmap(
    in_wcs: Any,
    out_wcs: Any,
    shape: tuple[int, int] | None = None,
    *,
    method: Method = "auto",
    tol: float = DEFAULT_TOL,
    maxiter: int = DEFAULT_MAXITER,
) -> NDArray[np.float64]:
    """Output pixel coordinates of every input pixel centre.

    Parameters
    ----------
    in_wcs : astropy.wcs.WCS
        WCS of the frame being mapped (a chip for drizzling, the combined
        frame for blotting), with its full distortion as astropy builds it
        from a FITS file with ``WCS(header, fobj=hdulist)``.
    out_wcs : astropy.wcs.WCS
        WCS of the frame mapped onto. When it is distorted, its distortion is
        inverted by iteration (to `tol` pixels).
    shape : tuple of int, optional
        ``(ny, nx)`` of the input frame; default ``in_wcs.array_shape``.
    method : {"auto", "kernel", "astropy"}
        ``"auto"`` uses the compiled kernel when both WCSs are TAN/TAN-SIP
        frames it understands and astropy otherwise (logged at debug level);
        ``"kernel"`` insists on the kernel (raising
        :class:`~drizrun.core.geometry.errors.UnsupportedWcsError` otherwise);
        ``"astropy"`` always uses astropy.
    tol : float
        Convergence tolerance of the inverse distortion, pixels.
    maxiter : int
        Most iterations of the inverse distortion.

    Returns
    -------
    ndarray of float64, shape (ny, nx, 2)
        ``pixmap[i, j] = (x, y)``: 0-based output coordinates of the input
        pixel centre at column ``j``, row ``i`` (drizzle's ``calc_pixmap``
        convention). NaN where a pixel has no image in the output frame (the
        far side of its projection, or an output distortion that cannot be
        inverted there).

    Raises
    ------
    GeometryError
        If the shape cannot be determined or is invalid.
    UnsupportedWcsError
        With ``method="kernel"`` for a WCS the kernel does not handle.

    Notes
    -----
    Without compiled kernels ``"auto"`` uses astropy, which is then faster
    than the kernel's pure-Python source.
    """
    if method not in ("auto", "kernel", "astropy"):
        raise GeometryError(f"unknown pixel-map method {method!r}; expected 'auto', 'kernel' or 'astropy'")
    ny, nx = _shape_of(in_wcs, shape)
    if method == "astropy":
        return astropy_pixmap(in_wcs, out_wcs, (ny, nx), tol=tol, maxiter=maxiter)
    try:
        src = TanModel.from_wcs(in_wcs)
        dst = TanModel.from_wcs(out_wcs)
    except UnsupportedWcsError as exc:
        if method == "kernel":
            raise
        log.debug("calc_pixmap: %s; using astropy", exc)
        return astropy_pixmap(in_wcs, out_wcs, (ny, nx), tol=tol, maxiter=maxiter)
    if method == "auto":
        from ...kernels import kernel_backend

        if kernel_backend("_pixmap") != "pythran":
            log.debug("calc_pixmap: the pixel-map kernel is not compiled; using astropy")
            return astropy_pixmap(in_wcs, out_wcs, (ny, nx), tol=tol, maxiter=maxiter)
    return model_pixmap(src, dst, (ny, nx), tol=tol, maxiter=maxiter)
