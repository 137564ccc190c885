"""Square drizzle kernel: exact overlap of each shrunken input pixel with the output pixels.

Dtype contract
--------------
The exported function takes the arguments described in
:mod:`drizrun.kernels._drizzle` (``data``, ``pixmap``, ``weights``,
``out_img``, ``out_wht``, ``out_ctx``, ``var``, ``out_var``, ``dq``,
``out_dq``, ``flags``, ``plane``, ``bit``), followed by ``pixfrac`` and
``iscale``, and follows the same accumulation rules. All arrays must be native
byte order and C-contiguous; :func:`drizrun.kernels.drizzle` converts any
input first.

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


def _floor_index(t):
    """``floor(t)`` as an int for ``t >= -1``, without a call to ``floor``.

    For ``t < -1`` the result is still negative (it may be one too large),
    which callers treat like any negative index.
    """
    return int(t + 1.0) - 1


def _edge_column(colbuf, xa, ya, xb, yb, k, s, cl, cr, by0, by1, my):
    """Add one edge's signed area under it, per output row, within the column [cl, cr].

    The edge runs from ``(xa, ya)`` to ``(xb, yb)`` with ``xa < xb``, slope
    `k` and sign `s` (+1 if the quadrilateral traverses it with increasing
    x). ``colbuf[r]`` accumulates, for output row ``by0 + r``, the integral
    over the edge's x-extent inside the column of its height clipped to the
    row: rows entirely below the edge receive its full width, the one or two
    rows it crosses the mean of the clipped ramp (written as differences of
    clipped values, exact for nearly horizontal edges), rows above nothing.
    """
    lo = max(xa, cl)
    hi = min(xb, cr)
    if hi > lo:
        yl = ya + (lo - xa) * k
        yr = ya + (hi - xa) * k
        sw = s * (hi - lo)
        ylo = min(yl, yr)
        yhi = max(yl, yr)
        rb = min(_floor_index(max(ylo, -1.0) + 0.5), by1 + 1)
        rt = min(_floor_index(min(yhi, my + 1.0) + 0.5), by1)
        for r in range(0, rb - by0):
            colbuf[r] += sw
        d = yhi - ylo
        for iy in range(max(rb, by0), rt + 1):
            base = iy - 0.5
            a = ylo - base
            b = yhi - base
            c0 = min(max(a, 0.0), 1.0)
            c1 = min(max(b, 0.0), 1.0)
            if d > 0.0:
                m = ((c1 - c0) * (c1 + c0) * 0.5 + max(b - max(a, 1.0), 0.0)) / d
            else:
                m = c0
            colbuf[iy - by0] += sw * m


def _add_column(out_img, out_wht, out_ctx, colbuf, nrow, by0, ix, scale, v, flags, plane, bit):
    """Add the areas of one column (times `scale`) as contributions of value `v`.

    Only the image, weight and context are updated (no variance, no DQ).
    Returns 1 if any overlap area was positive (even with a zero weight), else 0.
    """
    hit = 0
    for r in range(nrow):
        if colbuf[r] > 0.0:
            hit = 1  # the pixel lands on the output, whatever its weight
        area = colbuf[r] * scale
        if area > 0.0:
            c = np.float32(area)
            if c != 0.0:
                jj = by0 + r
                wo = float(out_wht[jj, ix])
                cw = float(c)
                wn = wo + cw
                if wo == 0.0:
                    out_img[jj, ix] = v
                else:
                    out_img[jj, ix] = (float(out_img[jj, ix]) * wo + cw * v) / wn
                out_wht[jj, ix] = wn
                if flags & 1:
                    out_ctx[plane, jj, ix] |= bit
    return hit


def _add_column_full(out_img, out_wht, out_ctx, out_var, out_dq, colbuf, nrow, by0, ix, scale,
                     v, v2, dqv, flags, plane, bit):
    """:func:`_add_column` with variance and DQ propagation as selected by `flags`."""
    hit = 0
    for r in range(nrow):
        if colbuf[r] > 0.0:
            hit = 1  # the pixel lands on the output, whatever its weight
        area = colbuf[r] * scale
        if area > 0.0:
            c = np.float32(area)
            if c != 0.0:
                jj = by0 + r
                wo = float(out_wht[jj, ix])
                cw = float(c)
                wn = wo + cw
                if wo == 0.0:
                    out_img[jj, ix] = v
                    if flags & 2:
                        out_var[jj, ix] = v2
                else:
                    out_img[jj, ix] = (float(out_img[jj, ix]) * wo + cw * v) / wn
                    if flags & 2:
                        out_var[jj, ix] = (float(out_var[jj, ix]) * wo * wo + cw * cw * v2) / (wn * wn)
                out_wht[jj, ix] = wn
                if flags & 1:
                    out_ctx[plane, jj, ix] |= bit
                if flags & 4:
                    out_dq[jj, ix] |= dqv
    return hit


#pythran export drizzle_square(float32[:,:] order(C), float64[:,:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), int32[:,:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), uint32[:,:] order(C), uint32[:,:] order(C), int, int, int32, float, float)
def drizzle_square(data, pixmap, weights, out_img, out_wht, out_ctx, var, out_var, dq, out_dq,
                   flags, plane, bit, pixfrac, iscale):
    """Square kernel: exact overlap of the shrunken pixel's quadrilateral with output pixels.

    Parameters
    ----------
    data, pixmap, weights, out_img, out_wht, out_ctx, var, out_var, dq, out_dq, flags, plane, bit
        See :mod:`drizrun.kernels._drizzle`.
    pixfrac : float
        Side of the shrunken input pixel, in input pixels, in (0, 1].
    iscale : float
        Factor applied to the data (its square to the variance).

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
    The area of the quadrilateral inside an output pixel follows from
    Green's theorem: for each output column, every edge contributes the
    integral over its x-extent in that column of its height clipped to each
    output row, signed by the edge direction (:func:`_edge_column`). The
    contribution weight is ``area / quad_area * weight`` rounded to float32,
    so the weights of one input pixel sum to its weight when the
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
    colbuf = np.zeros(my + 2)
    # The pixel map interpolated along y to the corner rows y = j + dh, j - dh.
    topx = np.zeros(nx)
    topy = np.zeros(nx)
    botx = np.zeros(nx)
    boty = np.zeros(nx)
    nmiss = 0
    for j in range(ny):
        jt = min(max(int(j + dh), 0), ny2)
        ft = j + dh - jt
        jb = min(max(int(j - dh), 0), ny2)
        fb = j - dh - jb
        for i in range(nx):
            topx[i] = pixmap[jt, i, 0] * (1.0 - ft) + pixmap[jt + 1, i, 0] * ft
            topy[i] = pixmap[jt, i, 1] * (1.0 - ft) + pixmap[jt + 1, i, 1] * ft
            botx[i] = pixmap[jb, i, 0] * (1.0 - fb) + pixmap[jb + 1, i, 0] * fb
            boty[i] = pixmap[jb, i, 1] * (1.0 - fb) + pixmap[jb + 1, i, 1] * fb
        for i in range(nx):
            # Interpolation cells along x of the left (i - dh) and right (i + dh) corners.
            il = min(max(int(i - dh), 0), nx2)
            fl = i - dh - il
            ir = min(max(int(i + dh), 0), nx2)
            fr = i + dh - ir
            # Corners 0..3: top-left, top-right, bottom-right, bottom-left.
            x0 = topx[il] * (1.0 - fl) + topx[il + 1] * fl
            y0 = topy[il] * (1.0 - fl) + topy[il + 1] * fl
            x1 = topx[ir] * (1.0 - fr) + topx[ir + 1] * fr
            y1 = topy[ir] * (1.0 - fr) + topy[ir + 1] * fr
            x2 = botx[ir] * (1.0 - fr) + botx[ir + 1] * fr
            y2 = boty[ir] * (1.0 - fr) + boty[ir + 1] * fr
            x3 = botx[il] * (1.0 - fl) + botx[il + 1] * fl
            y3 = boty[il] * (1.0 - fl) + boty[il + 1] * fl
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
            bx0 = max(_floor_index(max(xmin, -1.0) + 0.5), 0)
            bx1 = min(_floor_index(min(xmax, mx + 1.0) + 0.5), mx - 1)
            by0 = max(_floor_index(max(ymin, -1.0) + 0.5), 0)
            by1 = min(_floor_index(min(ymax, my + 1.0) + 0.5), my - 1)
            if bx0 > bx1 or by0 > by1:
                nmiss += 1
                continue
            # Each edge once, oriented with increasing x: its slope and the
            # sign of its area term (the quadrilateral's orientation included).
            sgn = 1.0 if jac > 0.0 else -1.0
            s01 = sgn if x0 < x1 else -sgn
            s12 = sgn if x1 < x2 else -sgn
            s23 = sgn if x2 < x3 else -sgn
            s30 = sgn if x3 < x0 else -sgn
            ax01 = min(x0, x1)
            bx01 = max(x0, x1)
            ay01 = y0 if x0 < x1 else y1
            by01 = y1 if x0 < x1 else y0
            ax12 = min(x1, x2)
            bx12 = max(x1, x2)
            ay12 = y1 if x1 < x2 else y2
            by12 = y2 if x1 < x2 else y1
            ax23 = min(x2, x3)
            bx23 = max(x2, x3)
            ay23 = y2 if x2 < x3 else y3
            by23 = y3 if x2 < x3 else y2
            ax30 = min(x3, x0)
            bx30 = max(x3, x0)
            ay30 = y3 if x3 < x0 else y0
            by30 = y0 if x3 < x0 else y3
            k01 = (by01 - ay01) / (bx01 - ax01) if bx01 > ax01 else 0.0
            k12 = (by12 - ay12) / (bx12 - ax12) if bx12 > ax12 else 0.0
            k23 = (by23 - ay23) / (bx23 - ax23) if bx23 > ax23 else 0.0
            k30 = (by30 - ay30) / (bx30 - ax30) if bx30 > ax30 else 0.0
            scale = float(weights[j, i]) / ajac
            v = float(data[j, i] * fs)
            nrow = by1 - by0 + 1
            hit = 0
            for ix in range(bx0, bx1 + 1):
                cl = ix - 0.5
                cr = ix + 0.5
                for r in range(nrow):
                    colbuf[r] = 0.0
                _edge_column(colbuf, ax01, ay01, bx01, by01, k01, s01, cl, cr, by0, by1, my)
                _edge_column(colbuf, ax12, ay12, bx12, by12, k12, s12, cl, cr, by0, by1, my)
                _edge_column(colbuf, ax23, ay23, bx23, by23, k23, s23, cl, cr, by0, by1, my)
                _edge_column(colbuf, ax30, ay30, bx30, by30, k30, s30, cl, cr, by0, by1, my)
                if full:
                    v2 = float(var[j, i] * fs2) if flags & 2 else float(fs2)
                    dqv = dq[j, i] if flags & 4 else np.uint32(0)
                    hit |= _add_column_full(out_img, out_wht, out_ctx, out_var, out_dq, colbuf, nrow,
                                            by0, ix, scale, v, v2, dqv, flags, plane, bit)
                else:
                    hit |= _add_column(out_img, out_wht, out_ctx, colbuf, nrow, by0, ix, scale, v,
                                       flags, plane, bit)
            if hit == 0:
                nmiss += 1
    return nmiss
