"""Square drizzle kernel: exact overlap of each shrunken input pixel with the output pixels.

Dtype contract
--------------
The exported function takes the arguments described in
:mod:`drizrun.kernels._drizzle` (``data``, ``pixmap``, ``weights``,
``out_img``, ``out_wht``, ``out_ctx``, ``var``, ``out_var``, ``dq``,
``out_dq``, ``flags``, ``plane``, ``bit``), followed by ``pixfrac``,
``iscale`` and the band arguments ``row0``, ``row1``, ``map_row0`` (see
:func:`drizzle_square`), and follows the same accumulation rules. All arrays must be native
byte order and C-contiguous; :func:`drizrun.kernels.drizzle` converts any
input first.

Method
------
Let ``Q(X, Y)`` be the area of the part of the input pixel's quadrilateral
with ``x <= X`` and ``y <= Y``. The overlap with the output pixel
``[X0, X1] x [Y0, Y1]`` is ``Q(X1, Y1) - Q(X0, Y1) - Q(X1, Y0) + Q(X0, Y0)``,
so one evaluation of ``Q`` per corner of the output grid within the
quadrilateral's bounding box gives every overlap. By Green's theorem,
``Q(X, Y)`` is the boundary integral of ``min(x, X)`` over the parts of the
edges with ``y <= Y``; along one edge, ``x`` is linear in ``y`` and the
integral has the closed form of :func:`_edge_area`, free of branches. The
coordinates are shifted so that the bounding box starts at the origin, which
keeps the terms of order one and their rounding errors near 1e-16.

The kernel is its own module because Pythran's type combiner makes the
translation of a function with this many reassigned variables explode: with
the default ``typing.max_combiner = 8`` GCC 12 spent minutes and over 6 GB in
the C++ front end alone (template instantiation and overload resolution),
while ``meson.build`` translates this module with ``typing.max_combiner = 1``
and it compiles in seconds. Its variables each hold one type (float64, or
int), so the lower setting loses nothing.

This file is both the Pythran source of the compiled extension and, unchanged,
the pure-Python implementation used when the extension is not built.
"""

import numpy as np

# Lower bound of the slope denominators: keeps the reciprocals finite for
# vertical and horizontal edges, whose terms are then multiplied by zero.
_TINY_SIDE = 1e-150


def _floor_index(t):
    """``floor(t)`` as an int for ``t >= -1``, without a call to ``floor``.

    For ``t < -1`` the result is still negative (it may be one too large),
    which callers treat like any negative index.
    """
    return int(t + 1.0) - 1


def _edge(xa, ya, xb, yb, orient):
    """One edge, from ``(xa, ya)`` to ``(xb, yb)``, in the form :func:`_edge_area` takes.

    Returns ``(xl, yl, yh, r, q, d)``: the x of the lower end, the y of the
    lower and upper end, ``dx/dy`` and ``|dy/dx|`` (finite for vertical and
    horizontal edges), and the sign of its term (`orient` times the sign of
    ``yb - ya``).
    """
    rising = yb > ya
    xl = xa if rising else xb
    xh = xb if rising else xa
    yl = min(ya, yb)
    yh = max(ya, yb)
    d = orient if rising else -orient
    dx = xh - xl
    dy = yh - yl
    adx = max(abs(dx), _TINY_SIDE)
    ady = max(dy, _TINY_SIDE)
    inv = 1.0 / (adx * ady)
    return xl, yl, yh, dx * adx * inv, dy * ady * inv, d


def _edge_area(xl, yl, yh, r, q, d, X, Y):
    """Signed integral of ``min(x, X)`` along the edge's part with ``y <= Y``.

    Over that part, of height ``w`` and x between ``a`` and ``b``, the
    integral is ``w * min(X, b) - q * (c - a)**2 / 2`` with
    ``c = clip(X, a, b)``: the triangle cut off where ``x > X`` is removed
    from the rectangle ``w * min(X, b)``.
    """
    w = max(min(yh, Y) - yl, 0.0)
    xt = xl + w * r
    a = min(xl, xt)
    b = max(xl, xt)
    c = min(max(X, a), b) - a
    return d * (w * min(X, b) - 0.5 * q * c * c)


def _edge_below(xl, yl, yh, r, d, Y):
    """:func:`_edge_area` for an `X` right of the whole edge: ``w * (xl + xt) / 2``."""
    w = max(min(yh, Y) - yl, 0.0)
    return d * w * (xl + 0.5 * w * r)


def _edge_left(xl, yl, yh, r, q, d, X):
    """:func:`_edge_area` for a `Y` above the whole edge."""
    w = yh - yl
    xt = xl + w * r
    a = min(xl, xt)
    b = max(xl, xt)
    c = min(max(X, a), b) - a
    return d * (w * min(X, b) - 0.5 * q * c * c)


def _deposit(img1, wht1, ctx1, cbase, var1, odq1, k, area, scale, v, v2, dqv, tiny, full, flags, bit):
    """Add an overlap `area` (times `scale`) of value `v` to flat output pixel `k`.

    The context plane of the flat context cube `ctx1` starts at `cbase`.

    Returns 1 if the area is above `tiny` (the pixel lands on the output,
    whatever its weight), else 0. Variance and DQ are propagated only when
    `full` is true, as selected by `flags`.
    """
    if area <= tiny:
        return 0
    c = np.float32(area * scale)
    if c > 0.0:
        wo = float(wht1[k])
        cw = float(c)
        wn = wo + cw
        if wo == 0.0:
            img1[k] = v
        else:
            img1[k] = (float(img1[k]) * wo + cw * v) / wn
        if full:
            if flags & 2:
                if wo == 0.0:
                    var1[k] = v2
                else:
                    var1[k] = (float(var1[k]) * wo * wo + cw * cw * v2) / (wn * wn)
            if flags & 4:
                odq1[k] |= dqv
        wht1[k] = wn
        if flags & 1:
            ctx1[cbase + k] |= bit
    return 1


def _corners(cx, cy, rowx, rowy, start, n, pos0, dh, nx2):
    """Interpolate one row of the y-interpolated pixel map at x = pos0 + m + dh, m < n.

    Writes the results to ``cx[start + m]`` and ``cy[start + m]``.
    """
    for m in range(n):
        p = pos0 + m + dh
        ic = min(max(int(p), 0), nx2)
        f = p - ic
        cx[start + m] = rowx[ic] * (1.0 - f) + rowx[ic + 1] * f
        cy[start + m] = rowy[ic] * (1.0 - f) + rowy[ic + 1] * f


#pythran export drizzle_square(float32[:,:] order(C), float64[:,:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), int32[:,:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), uint32[:,:] order(C), uint32[:,:] order(C), int, int, int32, float, float, int, int, int)
def drizzle_square(data, pixmap, weights, out_img, out_wht, out_ctx, var, out_var, dq, out_dq,
                   flags, plane, bit, pixfrac, iscale, row0, row1, map_row0):
    """Square kernel: exact overlap of the shrunken pixel's quadrilateral with output pixels.

    Parameters
    ----------
    data, pixmap, weights, out_img, out_wht, out_ctx, var, out_var, dq, out_dq, flags, plane, bit
        See :mod:`drizrun.kernels._drizzle`.
    pixfrac : float
        Side of the shrunken input pixel, in input pixels, in (0, 1].
    iscale : float
        Factor applied to the data (its square to the variance).
    row0, row1 : int
        Input rows drizzled: ``row0 <= j < row1`` (``0, ny`` for all).
    map_row0 : int
        Input row held by ``pixmap[0]``: the map may cover only the rows the
        corners of rows ``row0 .. row1 - 1`` need, ``max(row0 - 1, 0)`` to
        ``min(row1, ny - 1)``. Drizzling a chip band after band, in order,
        gives the same outputs, bit for bit, as one call with the whole map.

    Returns
    -------
    int
        Number of input pixels that overlap no output pixel (or whose
        corners could not be mapped).

    Notes
    -----
    The corners ``(i -+ pixfrac/2, j -+ pixfrac/2)`` are mapped by bilinear
    interpolation of the pixel map in the 2x2 cell of pixel centres that
    contains them (the outermost cell is extrapolated beyond the edge pixel
    centres); the interpolation is done along y once per row, then along x.
    With ``pixfrac == 1`` the right corners of one pixel are the left
    corners of the next, and the bottom corners of a row the top corners of
    the row below; each is interpolated once. The overlaps come from
    the areas ``Q`` at the output grid corners described in the module
    docstring, one grid row at a time. An overlap counts when it exceeds
    1e-12 of the pixel's area (smaller ones are rounding residue of a
    quadrilateral that touches an output pixel without covering any of it).
    The contribution weight is ``overlap / quad_area * weight`` rounded to
    float32, so the weights of one input pixel sum to its weight when the
    quadrilateral lies inside the output.
    """
    ny, nx = data.shape
    my, mx = out_img.shape
    nx2 = nx - 2
    ny2 = ny - 2
    dh = 0.5 * pixfrac
    fs = np.float32(iscale)
    fs2 = fs * fs
    full = (flags & 6) != 0
    img1 = out_img.reshape(-1)
    wht1 = out_wht.reshape(-1)
    # Flat views of the outputs; the context plane starts at ``cbase``.
    ctx1 = out_ctx.reshape(-1)
    cbase = plane * my * mx
    var1 = out_var.reshape(-1)
    odq1 = out_dq.reshape(-1)
    # The pixel map interpolated along y to the corner rows y = j + dh, j - dh.
    topx = np.zeros(nx)
    topy = np.zeros(nx)
    botx = np.zeros(nx)
    boty = np.zeros(nx)
    # Corners along the row: left ones (x = i - dh) at [i], right ones
    # (x = i + dh) at [i + right]; with pixfrac 1 they are the same points.
    shared = dh == 0.5
    right = 1 if shared else nx + 1
    tx = np.zeros(2 * nx + 2)
    ty = np.zeros(2 * nx + 2)
    bx = np.zeros(2 * nx + 2)
    by = np.zeros(2 * nx + 2)
    # Q along the previous and the current output grid row of the bounding box.
    qprev = np.zeros(mx + 2)
    qcur = np.zeros(mx + 2)
    nmiss = 0
    for j in range(row0, row1):
        jt = min(max(int(j + dh), 0), ny2)
        ft = j + dh - jt
        jb = min(max(int(j - dh), 0), ny2)
        fb = j - dh - jb
        if shared and j > row0:
            # The bottom corners (y = j - 1/2) are the previous row's top ones.
            tx, bx = bx, tx
            ty, by = by, ty
        else:
            # max(): the row is never negative (the caller checks), and saying so
            # lets the compiler drop the negative-index test from the loop
            mb = max(jb - map_row0, 0)
            for i in range(nx):
                botx[i] = pixmap[mb, i, 0] * (1.0 - fb) + pixmap[mb + 1, i, 0] * fb
                boty[i] = pixmap[mb, i, 1] * (1.0 - fb) + pixmap[mb + 1, i, 1] * fb
            if shared:
                _corners(bx, by, botx, boty, 0, nx + 1, 0.0, -dh, nx2)
            else:
                _corners(bx, by, botx, boty, 0, nx, 0.0, -dh, nx2)
                _corners(bx, by, botx, boty, right, nx, 0.0, dh, nx2)
        mt = max(jt - map_row0, 0)
        for i in range(nx):
            topx[i] = pixmap[mt, i, 0] * (1.0 - ft) + pixmap[mt + 1, i, 0] * ft
            topy[i] = pixmap[mt, i, 1] * (1.0 - ft) + pixmap[mt + 1, i, 1] * ft
        if shared:
            _corners(tx, ty, topx, topy, 0, nx + 1, 0.0, -dh, nx2)
        else:
            _corners(tx, ty, topx, topy, 0, nx, 0.0, -dh, nx2)
            _corners(tx, ty, topx, topy, right, nx, 0.0, dh, nx2)
        for i in range(nx):
            # Corners 0..3: top-left, top-right, bottom-right, bottom-left.
            x0 = tx[i]
            y0 = ty[i]
            x1 = tx[i + right]
            y1 = ty[i + right]
            x2 = bx[i + right]
            y2 = by[i + right]
            x3 = bx[i]
            y3 = by[i]
            # Twice the signed area is the cross product of the diagonals;
            # NaN or infinite corners make it non-finite.
            jac = 0.5 * ((x1 - x3) * (y0 - y2) - (x0 - x2) * (y1 - y3))
            ajac = abs(jac)
            if not (ajac > 0.0 and ajac < 1e300):
                nmiss += 1
                continue
            xmin = min(min(x0, x1), min(x2, x3))
            xmax = max(max(x0, x1), max(x2, x3))
            ymin = min(min(y0, y1), min(y2, y3))
            ymax = max(max(y0, y1), max(y2, y3))
            ux0 = _floor_index(max(xmin, -1.0) + 0.5)
            ux1 = _floor_index(min(xmax, mx + 1.0) + 0.5)
            uy0 = _floor_index(max(ymin, -1.0) + 0.5)
            uy1 = _floor_index(min(ymax, my + 1.0) + 0.5)
            bx0 = max(ux0, 0)
            bx1 = min(ux1, mx - 1)
            by0 = max(uy0, 0)
            by1 = min(uy1, my - 1)
            if bx0 > bx1 or by0 > by1:
                nmiss += 1
                continue
            # Inside: the quadrilateral lies within the (unclipped) bounding box,
            # so Q vanishes on its left and bottom sides.
            inside = (ux0 == bx0) & (ux1 == bx1) & (uy0 == by0) & (uy1 == by1)
            # Block-local coordinates: output grid lines at the integers 0..nbx, 0..nby.
            ox = bx0 - 0.5
            oy = by0 - 0.5
            x0 -= ox
            x1 -= ox
            x2 -= ox
            x3 -= ox
            y0 -= oy
            y1 -= oy
            y2 -= oy
            y3 -= oy
            # The corners run clockwise when jac > 0; Green's theorem wants
            # counter-clockwise.
            orient = -1.0 if jac > 0.0 else 1.0
            xla, yla, yha, ra, qa, da = _edge(x0, y0, x1, y1, orient)
            xlb, ylb, yhb, rb, qb, db = _edge(x1, y1, x2, y2, orient)
            xlc, ylc, yhc, rc, qc, dc = _edge(x2, y2, x3, y3, orient)
            xld, yld, yhd, rd, qd, dd = _edge(x3, y3, x0, y0, orient)
            scale = float(weights[j, i]) / ajac
            v = float(data[j, i] * fs)
            v2 = float(var[j, i] * fs2) if flags & 2 else float(fs2)
            dqv = dq[j, i] if flags & 4 else np.uint32(0)
            tiny = 1e-12 * ajac
            nbx = bx1 - bx0 + 1
            nby = by1 - by0 + 1
            hit = 0
            if inside and nbx <= 2 and nby <= 2:
                # The common cases, unrolled. The overlaps with the block's bottom-left,
                # bottom-right, top-left and top-right pixels follow from Q at (1, 1),
                # (2, 1) and (1, 2), and Q(2, 2) is the whole area: the grid's right
                # column lies right of the quadrilateral and its top row above it.
                a00 = ajac
                a10 = 0.0
                a01 = 0.0
                a11 = 0.0
                if nbx == 2 and nby == 2:
                    q11 = (_edge_area(xla, yla, yha, ra, qa, da, 1.0, 1.0)
                           + _edge_area(xlb, ylb, yhb, rb, qb, db, 1.0, 1.0)
                           + _edge_area(xlc, ylc, yhc, rc, qc, dc, 1.0, 1.0)
                           + _edge_area(xld, yld, yhd, rd, qd, dd, 1.0, 1.0))
                    q21 = (_edge_below(xla, yla, yha, ra, da, 1.0)
                           + _edge_below(xlb, ylb, yhb, rb, db, 1.0)
                           + _edge_below(xlc, ylc, yhc, rc, dc, 1.0)
                           + _edge_below(xld, yld, yhd, rd, dd, 1.0))
                    q12 = (_edge_left(xla, yla, yha, ra, qa, da, 1.0)
                           + _edge_left(xlb, ylb, yhb, rb, qb, db, 1.0)
                           + _edge_left(xlc, ylc, yhc, rc, qc, dc, 1.0)
                           + _edge_left(xld, yld, yhd, rd, qd, dd, 1.0))
                    a00 = q11
                    a10 = q21 - q11
                    a01 = q12 - q11
                    a11 = ajac - q21 - q12 + q11
                elif nbx == 2:
                    a00 = (_edge_left(xla, yla, yha, ra, qa, da, 1.0)
                           + _edge_left(xlb, ylb, yhb, rb, qb, db, 1.0)
                           + _edge_left(xlc, ylc, yhc, rc, qc, dc, 1.0)
                           + _edge_left(xld, yld, yhd, rd, qd, dd, 1.0))
                    a10 = ajac - a00
                elif nby == 2:
                    a00 = (_edge_below(xla, yla, yha, ra, da, 1.0)
                           + _edge_below(xlb, ylb, yhb, rb, db, 1.0)
                           + _edge_below(xlc, ylc, yhc, rc, dc, 1.0)
                           + _edge_below(xld, yld, yhd, rd, dd, 1.0))
                    a01 = ajac - a00
                # Absent pixels have a zero overlap and are not touched.
                k = by0 * mx + bx0
                hit |= _deposit(img1, wht1, ctx1, cbase, var1, odq1, k, a00, scale, v, v2, dqv, tiny,
                                full, flags, bit)
                hit |= _deposit(img1, wht1, ctx1, cbase, var1, odq1, k + 1, a10, scale, v, v2, dqv,
                                tiny, full, flags, bit)
                hit |= _deposit(img1, wht1, ctx1, cbase, var1, odq1, k + mx, a01, scale, v, v2, dqv,
                                tiny, full, flags, bit)
                hit |= _deposit(img1, wht1, ctx1, cbase, var1, odq1, k + mx + 1, a11, scale, v, v2,
                                dqv, tiny, full, flags, bit)
            else:
                # Any block, one grid row at a time. Inside, Q is zero on the
                # bottom row and left column of the grid.
                for kx in range(nbx + 1):
                    qprev[kx] = 0.0
                    if not inside:
                        X = float(kx)
                        qprev[kx] = (_edge_area(xla, yla, yha, ra, qa, da, X, 0.0)
                                     + _edge_area(xlb, ylb, yhb, rb, qb, db, X, 0.0)
                                     + _edge_area(xlc, ylc, yhc, rc, qc, dc, X, 0.0)
                                     + _edge_area(xld, yld, yhd, rd, qd, dd, X, 0.0))
                for ly in range(1, nby + 1):
                    Y = float(ly)
                    qcur[0] = 0.0
                    if not inside:
                        qcur[0] = (_edge_area(xla, yla, yha, ra, qa, da, 0.0, Y)
                                   + _edge_area(xlb, ylb, yhb, rb, qb, db, 0.0, Y)
                                   + _edge_area(xlc, ylc, yhc, rc, qc, dc, 0.0, Y)
                                   + _edge_area(xld, yld, yhd, rd, qd, dd, 0.0, Y))
                    k = (by0 + ly - 1) * mx + bx0 - 1
                    for kx in range(1, nbx + 1):
                        X = float(kx)
                        qcur[kx] = (_edge_area(xla, yla, yha, ra, qa, da, X, Y)
                                    + _edge_area(xlb, ylb, yhb, rb, qb, db, X, Y)
                                    + _edge_area(xlc, ylc, yhc, rc, qc, dc, X, Y)
                                    + _edge_area(xld, yld, yhd, rd, qd, dd, X, Y))
                        area = qcur[kx] - qcur[kx - 1] - qprev[kx] + qprev[kx - 1]
                        hit |= _deposit(img1, wht1, ctx1, cbase, var1, odq1, k + kx, area, scale, v, v2,
                                        dqv, tiny, full, flags, bit)
                    for kx in range(nbx + 1):
                        qprev[kx] = qcur[kx]
            if hit == 0:
                nmiss += 1
    return nmiss
