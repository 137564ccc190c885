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
#: Most quasi-Newton iterations per pixel for the inverse distortion.
DEFAULT_MAXITER: int = 60

_DEG = math.pi / 180.0
#: Largest total, in pixels, of the SIP terms the kernel's per-row expansion in
#: the D2IM y correction leaves out (see ``kernels/_pixmap.py``).
_EXPANSION_TOL = 1e-11
#: D2IM tables sampled more often than every this many grid columns go
#: through the kernel's pixel-by-pixel ``forward_pixels`` (see ``kernels/_pixmap.py``).
_MIN_RUN = 8.0

Method = Literal["auto", "kernel", "astropy"]


def _pack(model: TanModel | None) -> tuple[Any, ...]:
    """The kernel's distortion pack of a model (see ``kernels/_pixmap.py``).

    Returns ``(sip_ref, sip, k, tab_data, tab_geom, tab_index)``; ``None``
    gives the pack of an undistorted frame.
    """
    from ...kernels import native_array

    f8 = np.float64
    if model is not None and model.sip_a is not None and model.sip_b is not None \
            and model.sip_crpix is not None:
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
    index[:, 2:] = 1
    offset = 1
    tables = () if model is None else (*model.d2im, *model.cpdis)
    for t, table in enumerate(tables):
        if table is None:
            continue
        tny, tnx = table.data.shape
        chunks.append(table.data.ravel())
        geom[t] = (*table.crpix, *table.crval, 1.0 / table.cdelt[0], 1.0 / table.cdelt[1])
        index[t] = (1, offset, tnx, tny)
        offset += table.data.size
    return (native_array(sip_ref, f8), native_array(sip, f8), int(k), native_array(np.concatenate(chunks), f8),
            native_array(geom.ravel(), f8), native_array(index.ravel(), np.int64))


def _d2im_rows(pack: tuple[Any, ...], xs: NDArray[np.float64]) -> NDArray[np.float64]:
    """The D2IM tables of a pack interpolated along x at the 1-based columns `xs`.

    Table 0 then table 1, each as its ``table ny x len(xs)`` values (one row
    of zeros for an absent table), flattened: ``d2_rows`` of the kernel's
    ``forward_pixels``.
    """
    _, _, _, data, geom, index = pack
    parts = []
    for t in (0, 1):
        if not index[4 * t]:
            parts.append(np.zeros(xs.shape[0]))
            continue
        off, tnx, tny = (int(v) for v in index[4 * t + 1: 4 * t + 4])
        g = geom[6 * t: 6 * t + 6]
        table = data[off: off + tnx * tny].reshape(tny, tnx)
        dx = np.minimum(np.maximum((xs - g[2]) * g[4] + (g[0] - 1.0), 0.0), tnx - 1.0)
        ix = np.minimum(dx.astype(np.int64), max(tnx - 2, 0))
        ix1 = np.minimum(ix + 1, tnx - 1)
        wx = dx - ix
        parts.append((table[:, ix] * (1.0 - wx) + table[:, ix1] * wx).ravel())
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float64)


def _dense_d2im(model: TanModel, sx: float) -> bool:
    """Whether a D2IM table has a sample every few grid columns (short runs in ``forward``)."""
    return any(t is not None and t.data.shape[1] > 1 and abs(t.cdelt[0]) < _MIN_RUN * abs(sx)
               for t in model.d2im)


def _expansion_terms(model: TanModel, k: int, xs: NDArray[np.float64], ys: NDArray[np.float64]) -> int:
    """How many terms of the kernel's SIP expansion in the D2IM y correction to evaluate.

    Within a grid row the SIP offset is ``(u, v0 + e)``; the polynomials are
    evaluated as ``sum(e**m * Q_m(u))``. Returns the smallest count whose
    neglected terms are bounded by ``_EXPANSION_TOL`` pixels over the grid
    (``|Q_m(u)|`` bounded with absolute coefficients at the largest ``|u|``
    and ``|v0|``).
    """
    d2x, d2y = model.d2im
    if k == 0 or d2y is None or model.sip_crpix is None:
        return 1
    e = float(np.max(np.abs(d2y.data)))
    dxm = 0.0 if d2x is None else float(np.max(np.abs(d2x.data)))
    ref_x, ref_y = model.sip_crpix
    umax = max(abs(float(xs[0]) - ref_x), abs(float(xs[-1]) - ref_x)) + dxm
    vmax = max(abs(float(ys[0]) - ref_y), abs(float(ys[-1]) - ref_y))
    if not (math.isfinite(umax) and math.isfinite(vmax)):
        return k
    needed = 1
    for c in (model.sip_a, model.sip_b):
        assert c is not None
        kc = c.shape[0]
        bound = np.zeros(kc)
        for p in range(kc):
            for q in range(kc - p):
                for m in range(q + 1):
                    bound[m] += math.comb(q, m) * abs(float(c[p, q])) * umax ** p * vmax ** (q - m)
        tail = 0.0
        for m in range(kc - 1, 0, -1):
            tail += bound[m] * e ** m
            if tail > _EXPANSION_TOL:
                needed = max(needed, m + 1)
                break
    return min(needed, k)


def model_pixmap(
    src: TanModel,
    dst: TanModel,
    shape: tuple[int, int],
    *,
    grid: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
    module: ModuleType | None = None,
    tol: float = DEFAULT_TOL,
    maxiter: int = DEFAULT_MAXITER,
    out: NDArray[np.float64] | None = None,
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
        Most iterations of that inversion (per pixel).
    out : ndarray of float64, shape (ny, nx, 2), optional
        Writable C-contiguous native array to write the map into and return;
        by default a new array.

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
    out = _output_array(out, (ny, nx))
    if ny == 0 or nx == 0:
        return out
    lin = native_array(np.concatenate([
        [*src.crpix, *(src.cd * _DEG).ravel()],
        (dst.native_to_celestial().T @ src.native_to_celestial()).ravel(),
        [*dst.crpix, *(np.linalg.inv(dst.cd) / _DEG).ravel()],
    ]), f8)
    x0, y0, sx, sy = (float(g) for g in grid)
    if not all(math.isfinite(g) for g in (x0, y0, sx, sy)):
        raise GeometryError(f"pixel-map grid {tuple(grid)} is not finite")
    xs = x0 + 1.0 + sx * np.arange(nx, dtype=f8)
    ys = y0 + 1.0 + sy * np.arange(ny, dtype=f8)
    in_pack = _pack(src if src.is_distorted else None)
    sip_ref, sip, k, data, geom, index = in_pack
    nterms = _expansion_terms(src, k, xs, ys) if src.is_distorted else 1
    flat = out.reshape(-1)
    grid_arr = native_array([x0, y0, sx, sy], f8)
    shift = 0.0 if dst.is_distorted else 1.0
    if src.is_distorted and _dense_d2im(src, sx):
        module.forward_pixels(flat, nx, grid_arr, lin, sip_ref, sip, k, nterms, _d2im_rows(in_pack, xs),
                              data, geom, index, shift)
    else:
        module.forward(flat, nx, grid_arr, lin, sip_ref, sip, k, nterms, data, geom, index, shift)
    if dst.is_distorted:
        o_ref, o_sip, o_k, o_data, o_geom, o_index = _pack(dst)
        module.invert(flat, o_ref, o_sip, o_k, o_data, o_geom, o_index, float(tol), int(maxiter), 1.0)
    return out


def _output_array(out: NDArray[np.float64] | None, shape: tuple[int, int]) -> NDArray[np.float64]:
    """``out`` checked to be a writable native C-contiguous float64 ``(ny, nx, 2)`` array, or a new one."""
    want = (*shape, 2)
    if out is None:
        return np.empty(want, dtype=np.float64)
    if (not isinstance(out, np.ndarray) or out.shape != want or out.dtype != np.dtype(np.float64)
            or not out.flags.c_contiguous or not out.flags.writeable):
        raise GeometryError(f"out must be a writable C-contiguous native float64 array of shape {want}, got "
                            f"{getattr(out, 'dtype', type(out).__name__)} {getattr(out, 'shape', '')}")
    return out


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
    grid: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
    out: NDArray[np.float64] | None = None,
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
    grid : tuple of float
        ``(x0, y0, sx, sy)``: entry ``[i, j]`` maps the 0-based input point
        ``(x0 + j * sx, y0 + i * sy)``, with ``shape`` the shape of that
        grid. The default maps every pixel centre.
    out : ndarray of float64, shape (ny, nx, 2), optional
        Writable C-contiguous native array to write the map into and return:
        a buffer reused from chip to chip saves faulting in fresh memory for
        every map. By default a new array.

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
    if out is not None:
        out = _output_array(out, (ny, nx))
    if method != "astropy":
        try:
            src = TanModel.from_wcs(in_wcs)
            dst = TanModel.from_wcs(out_wcs)
        except UnsupportedWcsError as exc:
            if method == "kernel":
                raise
            log.debug("calc_pixmap: %s; using astropy", exc)
        else:
            from ...kernels import kernel_backend

            if method == "kernel" or kernel_backend("_pixmap") == "pythran":
                return model_pixmap(src, dst, (ny, nx), grid=grid, tol=tol, maxiter=maxiter, out=out)
            log.debug("calc_pixmap: the pixel-map kernel is not compiled; using astropy")
    result = astropy_pixmap(in_wcs, out_wcs, (ny, nx), grid=grid, tol=tol, maxiter=maxiter)
    if out is None:
        return result
    out[...] = result
    return out
