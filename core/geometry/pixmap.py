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
#: Pixels per block handed to the kernel passes (their work arrays stay in cache).
_BLOCK_PIXELS = 1 << 14

Method = Literal["auto", "kernel", "astropy"]


def _pack(model: TanModel) -> tuple[Any, ...]:
    """The kernel's distortion pack of a model (see ``kernels/_pixmap.py``).

    Returns ``(sip_ref, sip, k, tab_data, tab_geom, tab_index)``.
    """
    if model.sip_a is not None and model.sip_b is not None and model.sip_crpix is not None:
        k = max(model.sip_a.shape[0], model.sip_b.shape[0], 2)
        grids = []
        for c in (model.sip_a, model.sip_b):
            g = np.zeros((k, k))
            g[: c.shape[0], : c.shape[1]] = c
            grids.append(g)
        p = np.arange(k, dtype=np.float64)
        for g in grids[:2]:
            dx = np.zeros((k, k))
            dy = np.zeros((k, k))
            dx[:-1, :] = p[1:, None] * g[1:, :]
            dy[:, :-1] = p[None, 1:] * g[:, 1:]
            grids += [dx, dy]
        sip = np.concatenate([g.ravel() for g in grids])
        sip_ref = np.array(model.sip_crpix, dtype=np.float64)
    else:
        k = 0
        sip = np.zeros(1)
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
    return sip_ref, sip, k, np.concatenate(chunks), geom.ravel(), index.ravel()


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
        Most iterations of that inversion (per block of pixels).

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
    f8 = np.float64
    in_lin = native_array([*src.crpix, *(src.cd * _DEG).ravel()], f8)
    out_lin = native_array([*dst.crpix, *(np.linalg.inv(dst.cd) / _DEG).ravel()], f8)
    rot = native_array((dst.native_to_celestial().T @ src.native_to_celestial()).ravel(), f8)

    def pack(model: TanModel) -> tuple[Any, ...]:
        sip_ref, sip, k, data, geom, index = _pack(model)
        return (native_array(sip_ref, f8), native_array(sip, f8), int(k), native_array(data, f8),
                native_array(geom, f8), native_array(index, np.int64))

    in_pack = pack(src) if src.is_distorted else None
    out_pack = pack(dst) if dst.is_distorted else None
    out = np.empty((ny, nx, 2), dtype=f8)
    if ny == 0 or nx == 0:
        return out
    x0, y0, sx, sy = (float(g) for g in grid)
    xs = x0 + 1.0 + sx * np.arange(nx, dtype=f8)
    # D2IM tables are sampled on the regular grid: interpolate them along x once
    d2im_rows = (None, None) if in_pack is None else tuple(
        _TableRows.build(in_pack, t, xs) if in_pack[5][4 * t] else None for t in (0, 1))
    rows = max(1, _BLOCK_PIXELS // nx)
    for i0 in range(0, ny, rows):
        i1 = min(ny, i0 + rows)
        n = (i1 - i0) * nx
        px = np.tile(xs, i1 - i0)
        py = np.repeat(y0 + 1.0 + sy * np.arange(i0, i1, dtype=f8), nx)
        gx = np.empty(n, dtype=f8)
        gy = np.empty(n, dtype=f8)
        if in_pack is not None:
            ys = y0 + 1.0 + sy * np.arange(i0, i1, dtype=f8)
            d2im = tuple(None if r is None else r.at_rows(ys).ravel() for r in d2im_rows)
            fx, fy, _, _, _ = _distort(module, in_pack, px, py, derivatives=False, d2im=d2im)
            module.project(fx, fy, in_lin, rot, out_lin, gx, gy)
        else:
            module.project(px, py, in_lin, rot, out_lin, gx, gy)
        if out_pack is not None:
            gx, gy = _undistort(module, out_pack, gx, gy, tol, maxiter)
        out[i0:i1, :, 0] = (gx - 1.0).reshape(i1 - i0, nx)
        out[i0:i1, :, 1] = (gy - 1.0).reshape(i1 - i0, nx)
    return out


def _distort(
    module: ModuleType, pack: tuple[Any, ...], px: NDArray[np.float64], py: NDArray[np.float64],
    *, derivatives: bool, d2im: tuple[Any, Any] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], Any, Any, Any]:
    """Focal-plane positions of 1-based pixels, and optionally the SIP derivatives there.

    D2IM tables apply to the pixel position (or are given, already
    interpolated, in `d2im`); SIP and CPDIS are evaluated at the
    D2IM-corrected position and added to it.
    """
    sip_ref, sip, k, data, geom, index = pack
    n = px.shape[0]
    if index[0] or index[4]:
        tx = px.copy()
        ty = py.copy()
        for t, dst in ((0, tx), (1, ty)):
            if not index[4 * t]:
                continue
            if d2im is not None and d2im[t] is not None:
                dst += d2im[t]
            else:
                module.add_table(dst, data, geom, index, t, px, py)
    else:
        tx, ty = px, py
    fx = tx.copy()
    fy = ty.copy()
    derivs = None
    if k > 0:
        u = tx - sip_ref[0]
        v = ty - sip_ref[1]
        acc = np.empty(n)
        work = np.empty(n)
        module.poly(sip, 0, k, u, v, acc, work)
        fx += acc
        module.poly(sip, k * k, k, u, v, acc, work)
        fy += acc
        if derivatives:
            derivs = [np.empty(n) for _ in range(4)]
            for i, d in enumerate(derivs):
                module.poly(sip, (2 + i) * k * k, k, u, v, d, work)
    if index[8]:
        module.add_table(fx, data, geom, index, 2, tx, ty)
    if index[12]:
        module.add_table(fy, data, geom, index, 3, tx, ty)
    return fx, fy, tx, ty, derivs


class _TableRows:
    """A lookup table interpolated along x at fixed columns, for a regular pixel grid.

    On a regular grid the bilinear weights of a table separate: the table is
    interpolated along x once per column, then every row is the same linear
    combination of two of those interpolated table rows as the kernel's
    bilinear formula computes (same operations, same order).
    """

    def __init__(self, rows: NDArray[np.float64], crval: float, icdelt: float, crpix0: float, tny: int) -> None:
        self.rows = rows
        self.crval = crval
        self.icdelt = icdelt
        self.crpix0 = crpix0
        self.tny = tny

    @classmethod
    def build(cls, pack: tuple[Any, ...], t: int, xs: NDArray[np.float64]) -> _TableRows:
        _, _, _, data, geom, index = pack
        off, tnx, tny = (int(v) for v in index[4 * t + 1: 4 * t + 4])
        g = geom[6 * t: 6 * t + 6]
        table = data[off: off + tnx * tny].reshape(tny, tnx)
        dx = np.minimum(np.maximum((xs - g[2]) * g[4] + (g[0] - 1.0), 0.0), tnx - 1.0)
        ix = np.minimum(dx.astype(np.int64), max(tnx - 2, 0))
        ix1 = np.minimum(ix + 1, tnx - 1)
        wx = dx - ix
        rows = table[:, ix] * (1.0 - wx) + table[:, ix1] * wx
        return cls(rows, float(g[3]), float(g[5]), float(g[1] - 1.0), tny)

    def at_rows(self, ys: NDArray[np.float64]) -> NDArray[np.float64]:
        """Table values on the grid rows at 1-based y positions `ys`, shape ``(len(ys), nx)``."""
        dy = np.minimum(np.maximum((ys - self.crval) * self.icdelt + self.crpix0, 0.0), self.tny - 1.0)
        iy = np.minimum(dy.astype(np.int64), max(self.tny - 2, 0))
        iy1 = np.minimum(iy + 1, self.tny - 1)
        wy = (dy - iy)[:, None]
        return self.rows[iy] * (1.0 - wy) + self.rows[iy1] * wy


def _undistort(
    module: ModuleType, pack: tuple[Any, ...], gx: NDArray[np.float64], gy: NDArray[np.float64],
    tol: float, maxiter: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """1-based pixels whose focal-plane positions are ``(gx, gy)``, by quasi-Newton iterations.

    Pixels still moving by ``tol`` or more after `maxiter` steps are NaN.
    """
    n = gx.shape[0]
    qx = gx.copy()
    qy = gy.copy()
    step = np.zeros(n)
    zero = np.zeros(n)
    for _ in range(maxiter):
        fx, fy, _, _, d = _distort(module, pack, qx, qy, derivatives=True)
        if d is None:
            d = [zero, zero, zero, zero]
        worst = module.newton_update(qx, qy, fx, fy, d[0], d[1], d[2], d[3], gx, gy, step)
        if worst < tol:
            break
    with np.errstate(invalid="ignore"):
        bad = ~(step < tol)
    qx[bad] = np.nan
    qy[bad] = np.nan
    return qx, qy


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
            px, py = out_wcs.all_world2pix(*world, 0, tolerance=tol, maxiter=maxiter, quiet=True)
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
