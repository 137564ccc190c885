"""Pixel maps between two tangent-plane frames with the HST distortion model.

Three exported functions, composed by
:func:`drizrun.core.geometry.pixmap.model_pixmap`:

:func:`forward`
    maps a regular grid of input pixels through the input's distortion, its
    linear part and TAN deprojection, the rotation to the output's native
    frame, the output's TAN projection and inverse linear part, writing each
    pixel's output focal-plane position straight into the pixel map: one
    pass over the pixels, row by row;
:func:`forward_pixels`
    the same, pixel by pixel, for D2IM tables with a sample every few
    pixels;
:func:`invert`
    replaces focal-plane positions in a pixel map by the pixels of a
    distorted frame that land there (quasi-Newton iterations per pixel), when
    the output frame is distorted too (blot).

All release the GIL while they run (Pythran does for every exported
function), so maps can be computed from several threads at once.

Dtype contract
--------------
Every array argument is a 1-D ``float64`` array except the table index,
which is a 1-D ``int64`` array; all in native byte order and C-contiguous
(callers go through :mod:`drizrun.core.geometry.pixmap`, which builds
them). The pixel map is passed flattened: a C-contiguous ``(ny, nx, 2)``
``float64`` array viewed as 1-D.

Distortion pack
---------------
One frame's distortion is described by these arrays:

``sip_ref`` (2,)
    SIP reference pixel (1-based).
``sip`` (6 * K * K,)
    ``A, B, dA/dx, dA/dy, dB/dx, dB/dy`` as flattened ``K x K`` coefficient
    grids, element ``[p, q]`` multiplying ``u**p * v**q`` with ``(u, v)`` the
    offset from ``sip_ref``; ``K`` is passed separately, 0 for no
    polynomial.
``tab_data`` (n,)
    Every lookup table of the frame, flattened row by row, one after another.
``tab_geom`` (4 * 6,), ``tab_index`` (4 * 4,)
    Four rows, one per table: D2IM along x, D2IM along y, CPDIS along x,
    CPDIS along y. ``tab_geom`` rows hold ``crpix1, crpix2, crval1, crval2,
    1/cdelt1, 1/cdelt2``; ``tab_index`` rows hold ``present, offset, nx,
    ny`` (an absent table has ``nx = ny = 1`` and zero geometry).

A lookup table maps the 1-based pixel ``(x, y)`` to the table position
``((x - crval) / cdelt + crpix - 1)`` (0-based) per axis, clamped to the
table, and interpolates bilinearly: the convention of the FITS distortion
paper's lookup tables as astropy evaluates them. D2IM corrections apply to
the raw pixel position; SIP and CPDIS are then both evaluated at the
D2IM-corrected position and added to it.

Regular grids
-------------
:func:`forward` maps the 1-based pixels ``(x0 + 1 + j * sx, y0 + 1 + i *
sy)`` given by ``grid = (x0, y0, sx, sy)``. On such a grid the D2IM tables
are sampled at fixed columns, so the caller interpolates each along x once
per column (``d2_rows``: table 0 then table 1, each ``table ny x nx`` values;
an absent table is one row of zeros) and the kernel combines two of those
rows per grid row. Within a row the SIP offset is ``(u, v0 + e)`` with
``v0`` fixed and ``e`` the D2IM y correction of the pixel, so each SIP
polynomial is evaluated as ``sum(e**m * Q_m(u))`` over ``m < nterms``, with
the coefficients of the polynomials ``Q_m`` (the Taylor coefficients in
``v`` at ``v0``, exact for ``nterms = K``) computed once per row: Horner
in ``u`` of degree ``K - 1 - m``. The caller picks ``nterms`` so that the
terms left out are negligible (1 when there is no D2IM y table).

Linear parts
------------
``lin`` (21,)
    The input's ``crpix1, crpix2`` and CD matrix ``c11, c12, c21, c22`` in
    radians per pixel (intermediate coordinates ``(u, v) = CD @ (f -
    crpix)``); the rotation taking the input's native unit vectors to the
    output's, row by row (9 values); the output's ``crpix1, crpix2`` and
    inverse CD matrix in pixels per radian.

A TAN intermediate point ``(u, v)`` (radians) is the native direction
``(-v, u, 1)`` up to a positive factor, so projections need no
trigonometry: the rotated direction ``m`` projects back to
``(u', v') = (m[1], -m[0]) / m[2]``; directions with ``m[2] <= 0`` lie on
the far hemisphere and map to NaN.

This file is both the Pythran source of the compiled extension and, unchanged,
the pure-Python implementation used when the extension is not built.
"""

import numpy as np


def _table(data, geom, index, t, x, y):
    """Lookup table `t` interpolated at the 1-based pixel ``(x, y)``."""
    off = index[4 * t + 1]
    tnx = index[4 * t + 2]
    tny = index[4 * t + 3]
    g = 6 * t
    dx = min(max((x - geom[g + 2]) * geom[g + 4] + (geom[g] - 1.0), 0.0), tnx - 1.0)
    dy = min(max((y - geom[g + 3]) * geom[g + 5] + (geom[g + 1] - 1.0), 0.0), tny - 1.0)
    ix = min(int(dx), max(tnx - 2, 0))
    iy = min(int(dy), max(tny - 2, 0))
    ix1 = min(ix + 1, tnx - 1)
    iy1 = min(iy + 1, tny - 1)
    wx = dx - ix
    wy = dy - iy
    r0 = off + iy * tnx
    r1 = off + iy1 * tnx
    return ((data[r0 + ix] * (1.0 - wx) + data[r0 + ix1] * wx) * (1.0 - wy)
            + (data[r1 + ix] * (1.0 - wx) + data[r1 + ix1] * wx) * wy)


def _poly(c, base, k, u, v):
    """``sum(c[base + p*k + q] * u**p * v**q)`` over ``p + q < k`` (Horner in u of Horner in v)."""
    acc = 0.0
    for pp in range(k):
        p = k - 1 - pp
        row = base + p * k
        inner = 0.0
        for qq in range(k - p):
            inner = inner * v + c[row + k - 1 - p - qq]
        acc = acc * u + inner
    return acc


def _cell(d, s, n):
    """Where a moving position lies on one axis of a lookup table.

    ``d`` is the 0-based table position of the first pixel of a run and
    ``s`` its change per pixel; the table axis has ``n`` samples. Returns
    ``(i, i1, w, dw, pixels)``: the two samples interpolated between, the
    weight of ``i1`` and its change per pixel, and how many pixels from the
    first stay in this interval (the clamped regions below 0 and above
    ``n - 1`` are intervals too, with constant weights), as a float.
    """
    big = 1e18
    top = n - 1.0
    if d < 0.0:
        return 0, min(1, n - 1), 0.0, 0.0, (np.ceil(-d / s) if s > 0.0 else big)
    if d >= top:
        i = max(n - 2, 0)
        return i, min(i + 1, n - 1), top - i, 0.0, (np.floor((d - top) / -s) + 1.0 if s < 0.0 else big)
    i = int(d)
    w = d - i
    r = big
    if s > 0.0:
        r = np.ceil((i + 1.0 - d) / s)
    elif s < 0.0:
        r = np.floor(w / -s) + 1.0
    return i, i + 1, w, s, r


def _npol(data, geom, index, t, tx, ty, gx, gy, coef):
    """Lookup table `t` along a run, as ``coef[0] + coef[1] * k + coef[2] * k**2`` at pixel ``k``.

    ``(tx, ty)`` is the 1-based position of the run's first pixel and
    ``(gx, gy)`` its change per pixel; `coef` receives the coefficients (the
    bilinear interpolation of one table cell along a line). Returns the
    number of pixels that stay in that cell, as a float.
    """
    off = index[4 * t + 1]
    tnx = index[4 * t + 2]
    tny = index[4 * t + 3]
    g = 6 * t
    ix, ix1, a, b, rx = _cell((tx - geom[g + 2]) * geom[g + 4] + (geom[g] - 1.0), gx * geom[g + 4], tnx)
    iy, iy1, c, d, ry = _cell((ty - geom[g + 3]) * geom[g + 5] + (geom[g + 1] - 1.0), gy * geom[g + 5], tny)
    t00 = data[off + iy * tnx + ix]
    t01 = data[off + iy * tnx + ix1]
    t10 = data[off + iy1 * tnx + ix]
    t11 = data[off + iy1 * tnx + ix1]
    # rows iy and iy1 along the line: p0 + p1 k and q0 + q1 k; then p + (q - p) * (c + d k)
    p0 = t00 + (t01 - t00) * a
    p1 = (t01 - t00) * b
    r0 = t10 + (t11 - t10) * a - p0
    r1 = (t11 - t10) * b - p1
    coef[0] += p0 + r0 * c
    coef[1] += p1 + r0 * d + r1 * c
    coef[2] += r1 * d
    return min(rx, ry)


#pythran export forward(float64[:], int, float64[:], float64[:], float64[:], float64[:], int, int, float64[:], float64[:], int64[:], float)
def forward(out, nx, grid, lin, sip_ref, sip, k, nterms, data, geom, index, shift):
    """Output focal-plane positions of a regular grid of input pixels, written into a pixel map.

    Parameters
    ----------
    out : ndarray of float64, shape (ny * nx * 2,)
        The flattened ``(ny, nx, 2)`` map; receives the output focal-plane
        ``(x, y)`` (1-based) minus `shift` of every grid pixel, NaN for
        directions on the far hemisphere of the output projection.
    nx : int
        Grid columns.
    grid : ndarray of float64, shape (4,)
        ``(x0, y0, sx, sy)``: map entry ``[i, j]`` is the 0-based input pixel
        ``(x0 + j * sx, y0 + i * sy)``; all finite.
    lin : ndarray of float64, shape (21,)
        Linear parts and rotation (see the module docstring).
    sip_ref, sip, k
        The input's SIP polynomials (``k = 0``: none).
    nterms : int
        Terms of the expansion in the D2IM y correction (1 to `k`).
    data, geom, index
        ``tab_data``, ``tab_geom`` and ``tab_index`` of the input's pack.
    shift : float
        Subtracted from every written coordinate (1.0 gives 0-based pixels).
    """
    ny = out.shape[0] // (2 * nx) if nx > 0 else 0
    x0 = grid[0] + 1.0
    y0 = grid[1] + 1.0
    sx = grid[2]
    sy = grid[3]
    c1 = lin[0]
    c2 = lin[1]
    a11 = lin[2]
    a12 = lin[3]
    a21 = lin[4]
    a22 = lin[5]
    r00 = lin[6]
    r01 = lin[7]
    r02 = lin[8]
    r10 = lin[9]
    r11 = lin[10]
    r12 = lin[11]
    r20 = lin[12]
    r21 = lin[13]
    r22 = lin[14]
    o1 = lin[15] - shift
    o2 = lin[16] - shift
    b11 = lin[17]
    b12 = lin[18]
    b21 = lin[19]
    b22 = lin[20]
    nan = np.nan
    has_dx = index[0] != 0
    has_dy = index[4] != 0
    has_cx = index[8] != 0
    has_cy = index[12] != 0
    ref_x = sip_ref[0] if k > 0 else 0.0
    ref_y = sip_ref[1] if k > 0 else 0.0
    kk = k * k
    # degree of the per-run polynomials: SIP (k - 1), lookup tables (2), linear (1)
    deg = max(k - 1, 2)
    # binomial coefficients C(q, m), q, m < k
    binom = np.zeros(max(kk, 1))
    for q in range(k):
        binom[q * k] = 1.0
        for m in range(1, q + 1):
            binom[q * k + m] = binom[(q - 1) * k + m - 1] + binom[(q - 1) * k + m]
    # per-row coefficients of Q_m(u): qa[m * k + p] for A, qb for B
    qa = np.zeros(max(kk, 1))
    qb = np.zeros(max(kk, 1))
    sa = np.zeros(max(k, 1))
    sb = np.zeros(max(k, 1))
    ca = np.zeros(deg + 1)
    cb = np.zeros(deg + 1)
    # D2IM tables interpolated along y at the current row
    tnx0 = index[2]
    tnx1 = index[6]
    row0 = np.zeros(tnx0)
    row1 = np.zeros(tnx1)
    for i in range(ny):
        py = y0 + sy * i
        for t in range(2):
            if index[4 * t] == 0:
                continue
            off = index[4 * t + 1]
            tnx = index[4 * t + 2]
            tny = index[4 * t + 3]
            g = 6 * t
            iy, iy1, wy, _, _ = _cell((py - geom[g + 3]) * geom[g + 5] + (geom[g + 1] - 1.0), 0.0, tny)
            for c in range(tnx):
                lo = data[off + iy * tnx + c]
                hi = data[off + iy1 * tnx + c]
                if t == 0:
                    row0[c] = lo * (1.0 - wy) + hi * wy
                else:
                    row1[c] = lo * (1.0 - wy) + hi * wy
        # SIP: Taylor coefficients in v at this row's v0, as polynomials in u
        v0 = py - ref_y
        for m in range(nterms):
            for p in range(k - m):
                ta = 0.0
                tb = 0.0
                for qq in range(k - 1 - p, m - 1, -1):
                    bq = binom[qq * k + m]
                    ta = ta * v0 + bq * sip[p * k + qq]
                    tb = tb * v0 + bq * sip[kk + p * k + qq]
                qa[m * k + p] = ta
                qb[m * k + p] = tb
        j = 0
        while j < nx:
            # a run of pixels along which every correction is a polynomial in the pixel count
            px = x0 + sx * j
            run = min(nx - j, 256) * 1.0
            ex = 0.0
            gex = 0.0
            ey = 0.0
            gey = 0.0
            if has_dx:
                ix, ix1, w, dw, r = _cell((px - geom[2]) * geom[4] + (geom[0] - 1.0), sx * geom[4], tnx0)
                ex = row0[ix] + (row0[ix1] - row0[ix]) * w
                gex = (row0[ix1] - row0[ix]) * dw
                run = min(run, r)
            if has_dy:
                ix, ix1, w, dw, r = _cell((px - geom[8]) * geom[10] + (geom[6] - 1.0), sx * geom[10], tnx1)
                ey = row1[ix] + (row1[ix1] - row1[ix]) * w
                gey = (row1[ix1] - row1[ix]) * dw
                run = min(run, r)
            tx = px + ex
            ty = py + ey
            gtx = sx + gex
            for d in range(deg + 1):
                ca[d] = 0.0
                cb[d] = 0.0
            # SIP: sum(e**m * Q_m(u)) with u = u0 + gtx * n and e = ey + gey * n
            u0 = tx - ref_x
            for mm in range(nterms):
                m = nterms - 1 - mm
                top = k - 1 - m
                for p in range(top + 1):
                    sa[p] = qa[m * k + p]
                    sb[p] = qb[m * k + p]
                for a in range(top):
                    for b in range(top - 1, a - 1, -1):
                        sa[b] += u0 * sa[b + 1]
                        sb[b] += u0 * sb[b + 1]
                scale = gtx
                for p in range(1, top + 1):
                    sa[p] *= scale
                    sb[p] *= scale
                    scale *= gtx
                # (ca, cb) = (ca, cb) * (ey + gey * n) + (sa, sb)
                for d in range(deg, 0, -1):
                    ca[d] = ca[d] * ey + ca[d - 1] * gey
                    cb[d] = cb[d] * ey + cb[d - 1] * gey
                ca[0] = ca[0] * ey
                cb[0] = cb[0] * ey
                for p in range(top + 1):
                    ca[p] += sa[p]
                    cb[p] += sb[p]
            ca[0] += tx
            ca[1] += gtx
            cb[0] += ty
            cb[1] += gey
            if has_cx:
                run = min(run, _npol(data, geom, index, 2, tx, ty, gtx, gey, ca))
            if has_cy:
                run = min(run, _npol(data, geom, index, 3, tx, ty, gtx, gey, cb))
            n = max(int(run), 1)
            o = 2 * (nx * i + j)
            for t in range(n):
                tf = 1.0 * t
                fx = ca[deg]
                fy = cb[deg]
                for d in range(deg - 1, -1, -1):
                    fx = fx * tf + ca[d]
                    fy = fy * tf + cb[d]
                dx = fx - c1
                dy = fy - c2
                uu = a11 * dx + a12 * dy
                vv = a21 * dx + a22 * dy
                m0 = r02 - r00 * vv + r01 * uu
                m1 = r12 - r10 * vv + r11 * uu
                m2 = r22 - r20 * vv + r21 * uu
                inv = 1.0 / m2
                uo = m1 * inv
                vo = -m0 * inv
                gx = b11 * uo + b12 * vo + o1
                gy = b21 * uo + b22 * vo + o2
                out[o + 2 * t] = gx if m2 > 0.0 else nan
                out[o + 2 * t + 1] = gy if m2 > 0.0 else nan
            j += n


#pythran export forward_pixels(float64[:], int, float64[:], float64[:], float64[:], float64[:], int, int, float64[:], float64[:], float64[:], int64[:], float)
def forward_pixels(out, nx, grid, lin, sip_ref, sip, k, nterms, d2_rows, data, geom, index, shift):
    """:func:`forward`, pixel by pixel, for D2IM tables with a sample every few pixels.

    Where the D2IM tables change slope every pixel or two (the 4096 x 1
    tables of older ACS/WFC calibrations), runs of pixels would be a pixel
    long. Here the caller interpolates each D2IM table along x once per
    grid column (`d2_rows`: table 0 then table 1, each ``table ny x nx``
    values, one row of zeros for an absent table) and the kernel combines
    two of those rows per grid row; SIP is evaluated per pixel from the
    per-row coefficients of ``Q_m`` (see the module docstring) and the CPDIS
    tables are interpolated per pixel. Parameters as for :func:`forward`,
    plus `d2_rows`.
    """
    ny = out.shape[0] // (2 * nx) if nx > 0 else 0
    x0 = grid[0] + 1.0
    y0 = grid[1] + 1.0
    sx = grid[2]
    sy = grid[3]
    c1 = lin[0]
    c2 = lin[1]
    a11 = lin[2]
    a12 = lin[3]
    a21 = lin[4]
    a22 = lin[5]
    r00 = lin[6]
    r01 = lin[7]
    r02 = lin[8]
    r10 = lin[9]
    r11 = lin[10]
    r12 = lin[11]
    r20 = lin[12]
    r21 = lin[13]
    r22 = lin[14]
    o1 = lin[15] - shift
    o2 = lin[16] - shift
    b11 = lin[17]
    b12 = lin[18]
    b21 = lin[19]
    b22 = lin[20]
    nan = np.nan
    has_cx = index[8] != 0
    has_cy = index[12] != 0
    ref_x = sip_ref[0] if k > 0 else 0.0
    ref_y = sip_ref[1] if k > 0 else 0.0
    # binomial coefficients C(q, m), q, m < k
    binom = np.zeros(max(k * k, 1))
    for q in range(k):
        binom[q * k] = 1.0
        for m in range(1, q + 1):
            binom[q * k + m] = binom[(q - 1) * k + m - 1] + (binom[(q - 1) * k + m] if m < q else 0.0)
    # per-row coefficients of Q_m(u): qa[m * k + p] for A, qb for B
    qa = np.zeros(max(k * k, 1))
    qb = np.zeros(max(k * k, 1))
    kk = k * k
    # D2IM rows: table t occupies rows_ny[t] rows of nx values
    tny0 = index[3] if index[0] != 0 else 1
    tny1 = index[7] if index[4] != 0 else 1
    base1 = tny0 * nx
    for i in range(ny):
        py = y0 + sy * i
        # D2IM along x and y: two interpolated rows each, and their weights
        e0 = 0
        e1 = 0
        w0 = 0.0
        w1 = 0.0
        if index[0] != 0:
            dy = min(max((py - geom[3]) * geom[5] + (geom[1] - 1.0), 0.0), tny0 - 1.0)
            iy = min(int(dy), max(tny0 - 2, 0))
            w0 = dy - iy
            e0 = iy * nx
        f0 = e0 + nx if tny0 > 1 else e0
        if index[4] != 0:
            dy = min(max((py - geom[9]) * geom[11] + (geom[7] - 1.0), 0.0), tny1 - 1.0)
            iy = min(int(dy), max(tny1 - 2, 0))
            w1 = dy - iy
            e1 = base1 + iy * nx
        else:
            e1 = base1
        f1 = e1 + nx if tny1 > 1 else e1
        # SIP: Taylor coefficients in v at this row's v0, as polynomials in u
        v0 = py - ref_y
        for m in range(nterms):
            for p in range(k - m):
                sa = 0.0
                sb = 0.0
                for qq in range(k - 1 - p, m - 1, -1):
                    bq = binom[qq * k + m]
                    sa = sa * v0 + bq * sip[p * k + qq]
                    sb = sb * v0 + bq * sip[kk + p * k + qq]
                qa[m * k + p] = sa
                qb[m * k + p] = sb
        o = 2 * nx * i
        for j in range(nx):
            px = x0 + sx * j
            ex = d2_rows[e0 + j] * (1.0 - w0) + d2_rows[f0 + j] * w0
            ey = d2_rows[e1 + j] * (1.0 - w1) + d2_rows[f1 + j] * w1
            tx = px + ex
            ty = py + ey
            u = tx - ref_x
            sa = 0.0
            sb = 0.0
            for mm in range(nterms):
                m = nterms - 1 - mm
                ha = 0.0
                hb = 0.0
                for pp in range(k - m):
                    p = k - 1 - m - pp
                    ha = ha * u + qa[m * k + p]
                    hb = hb * u + qb[m * k + p]
                sa = sa * ey + ha
                sb = sb * ey + hb
            fx = tx + sa
            fy = ty + sb
            if has_cx:
                fx += _table(data, geom, index, 2, tx, ty)
            if has_cy:
                fy += _table(data, geom, index, 3, tx, ty)
            dx = fx - c1
            dy = fy - c2
            uu = a11 * dx + a12 * dy
            vv = a21 * dx + a22 * dy
            m0 = r02 - r00 * vv + r01 * uu
            m1 = r12 - r10 * vv + r11 * uu
            m2 = r22 - r20 * vv + r21 * uu
            inv = 1.0 / m2
            uo = m1 * inv
            vo = -m0 * inv
            gx = b11 * uo + b12 * vo + o1
            gy = b21 * uo + b22 * vo + o2
            out[o + 2 * j] = gx if m2 > 0.0 else nan
            out[o + 2 * j + 1] = gy if m2 > 0.0 else nan


#pythran export invert(float64[:], float64[:], float64[:], int, float64[:], float64[:], int64[:], float, int, float)
def invert(out, sip_ref, sip, k, data, geom, index, tol, maxiter, shift):
    """Pixels of a distorted frame whose focal-plane positions are given, in place.

    Quasi-Newton iterations per pixel. The Jacobian is the identity plus the
    SIP derivatives (the lookup tables, small and slowly varying, are left
    out of it), evaluated at the start and again after every step longer
    than 0.01 pixel, so that close to the solution a step costs one
    evaluation of the distortion. The first guess is the pixel's
    focal-plane position shifted by the correction found for the previous
    pixel (neighbours in a map have nearly the same), or the focal-plane
    position itself if that fails. A pixel is done when a step moves it by
    less than `tol` (``|dx| + |dy|``); one that is not done after `maxiter`
    steps from either start, or whose position is not finite, is NaN.

    Parameters
    ----------
    out : ndarray of float64, shape (2 * n,)
        Interleaved ``(x, y)`` focal-plane positions (1-based); receive the
        1-based pixels minus `shift`.
    sip_ref, sip, k, data, geom, index
        The frame's distortion pack.
    tol : float
        Convergence tolerance, pixels.
    maxiter : int
        Most steps per pixel and start.
    shift : float
        Subtracted from every written coordinate.
    """
    nan = np.nan
    kk = k * k
    has0 = index[0] != 0
    has1 = index[4] != 0
    has2 = index[8] != 0
    has3 = index[12] != 0
    ref_x = sip_ref[0] if k > 0 else 0.0
    ref_y = sip_ref[1] if k > 0 else 0.0
    # correction (pixel - focal-plane position) of the last pixel done
    cx = 0.0
    cy = 0.0
    for j in range(out.shape[0] // 2):
        gx = out[2 * j]
        gy = out[2 * j + 1]
        done = False
        finite = abs(gx) < np.inf and abs(gy) < np.inf
        qx = gx
        qy = gy
        for start in range(2 if finite else 0):
            if done:
                break
            qx = gx + cx if start == 0 else gx
            qy = gy + cy if start == 0 else gy
            fresh = True
            j11 = 1.0
            j12 = 0.0
            j21 = 0.0
            j22 = 1.0
            for _ in range(maxiter):
                tx = qx
                ty = qy
                if has0:
                    tx += _table(data, geom, index, 0, qx, qy)
                if has1:
                    ty += _table(data, geom, index, 1, qx, qy)
                u = tx - ref_x
                v = ty - ref_y
                fx = tx + _poly(sip, 0, k, u, v)
                fy = ty + _poly(sip, kk, k, u, v)
                if has2:
                    fx += _table(data, geom, index, 2, tx, ty)
                if has3:
                    fy += _table(data, geom, index, 3, tx, ty)
                if fresh:
                    j11 = 1.0 + _poly(sip, 2 * kk, k, u, v)
                    j12 = _poly(sip, 3 * kk, k, u, v)
                    j21 = _poly(sip, 4 * kk, k, u, v)
                    j22 = 1.0 + _poly(sip, 5 * kk, k, u, v)
                rx = fx - gx
                ry = fy - gy
                det = j11 * j22 - j12 * j21
                stx = (j22 * rx - j12 * ry) / det
                sty = (j11 * ry - j21 * rx) / det
                qx -= stx
                qy -= sty
                step = abs(stx) + abs(sty)
                if step < tol:
                    done = True
                    break
                fresh = not (step < 0.01)
        if done:
            cx = qx - gx
            cy = qy - gy
            out[2 * j] = qx - shift
            out[2 * j + 1] = qy - shift
        else:
            out[2 * j] = nan
            out[2 * j + 1] = nan
