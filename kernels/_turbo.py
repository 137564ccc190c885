"""Turbo drizzle kernel: an axis-aligned square drop around each mapped pixel centre.

Dtype contract
--------------
The exported function takes the arguments described in
:mod:`drizrun.kernels._drizzle` (``data``, ``pixmap``, ``weights``,
``out_img``, ``out_wht``, ``out_ctx``, ``var``, ``out_var``, ``dq``,
``out_dq``, ``flags``, ``plane``, ``bit``), followed by ``pixfrac``,
``scale_ratio`` and ``iscale``, and follows the same accumulation rules. All
arrays must be native byte order and C-contiguous;
:func:`drizrun.kernels.drizzle` converts any input first.

Method
------
Each input pixel becomes a square of side ``pixfrac / scale_ratio`` output
pixels, centred on its mapped centre and aligned with the output axes. Its
overlap with output pixel ``(iy, ix)`` is the product of the overlap ``dx``
of the intervals along x and ``dy`` along y, and the contribution weight is
``dx * dy * (scale_ratio / pixfrac)**2 * weight`` rounded to float32.
A drop no wider than one output pixel, the usual case, spans at most two
columns and two rows: their two ``dx`` and two ``dy`` are computed once and
the up to four contributions are deposited without a loop. Larger drops go
through a loop over their bounding box. The outputs are updated through flat
1-D views; the context plane starts at offset ``plane * my * mx`` of the
flat context cube.

The kernel is its own module so that Pythran can translate it with
``typing.max_combiner = 1``, as :mod:`drizrun.kernels._square` is: with the
default of 8, the type combiner makes the C++ of a long function with many
reassigned variables, such as the unrolled path here, too large for the C++
compiler to handle in reasonable memory. Its variables each hold one type
(float64, or int), so the lower setting loses nothing.

This file is both the Pythran source of the compiled extension and, unchanged,
the pure-Python implementation used when the extension is not built.
"""

import numpy as np


def _deposit(img1, wht1, ctx1, cbase, var1, odq1, k, c, v, v2, dqv, full, flags, bit):
    """Add a contribution of value `v` and weight `c` to flat output pixel `k`.

    Parameters
    ----------
    img1, wht1 : ndarray of float32, shape (my * mx,)
        Flat views of the output image (running weighted mean) and weight.
    ctx1 : ndarray of int32, shape (nplanes * my * mx,)
        Flat view of the context cube.
    cbase : int
        Offset of the context plane in `ctx1`.
    var1 : ndarray of float32, shape (my * mx,)
        Flat view of the output variance (read only if bit 2 of `flags` is set).
    odq1 : ndarray of uint32, shape (my * mx,)
        Flat view of the output DQ (read only if bit 4 of `flags` is set).
    k : int
        Flat index of the output pixel.
    c : float
        Contribution weight (a float32 value), not zero.
    v, v2 : float
        Value and variance of the contribution.
    dqv : uint32
        DQ flags of the contribution.
    full : bool
        Whether variance or DQ (bits 2 or 4 of `flags`) are propagated.
    flags : int
        Output selection, see :mod:`drizrun.kernels._drizzle`.
    bit : int32
        Context bit.

    Notes
    -----
    The new value is ``v`` on a pixel of weight 0, ``(F * W + c * v) / (W + c)``
    otherwise, and unchanged if the new weight ``W + c`` is exactly 0. The
    context bit and DQ are set only for ``c > 0``.
    """
    wo = float(wht1[k])
    wn = wo + c
    fo = float(img1[k])
    if wo == 0.0:
        img1[k] = v
    elif wn != 0.0:
        img1[k] = (fo * wo + c * v) / wn
    wht1[k] = wn
    if full:
        if flags & 2:
            if wo == 0.0:
                var1[k] = v2
            elif wn != 0.0:
                var1[k] = (float(var1[k]) * wo * wo + c * c * v2) / (wn * wn)
        if flags & 4:
            if c > 0.0:
                odq1[k] |= dqv
    if flags & 1:
        if c > 0.0:
            ctx1[cbase + k] |= bit


def _mean(img1, wht1, ctx1, cbase, k, c, v, mark, bit):
    """Add a contribution to the image and weight of flat output pixel `k` (no variance or DQ).

    Parameters
    ----------
    img1, wht1, ctx1, cbase, k, c, v, bit
        As for :func:`_deposit`.
    mark : bool
        Whether to set the context bit.

    Notes
    -----
    The image and weight follow the same rule as in :func:`_deposit`.
    """
    wo = float(wht1[k])
    wn = wo + c
    if wo == 0.0:
        img1[k] = v
    elif wn != 0.0:
        img1[k] = (float(img1[k]) * wo + c * v) / wn
    wht1[k] = wn
    if mark:
        ctx1[cbase + k] |= bit


#pythran export drizzle_turbo(float32[:,:] order(C), float64[:,:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), int32[:,:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), uint32[:,:] order(C), uint32[:,:] order(C), int, int, int32, float, float, float)
def drizzle_turbo(data, pixmap, weights, out_img, out_wht, out_ctx, var, out_var, dq, out_dq,
                  flags, plane, bit, pixfrac, scale_ratio, iscale):
    """Turbo kernel: an axis-aligned square of side ``pixfrac / scale_ratio`` output pixels.

    Parameters
    ----------
    data, pixmap, weights, out_img, out_wht, out_ctx, var, out_var, dq, out_dq, flags, plane, bit
        See :mod:`drizrun.kernels._drizzle`.
    pixfrac : float
        Side of the drop in input pixels, > 0.
    scale_ratio : float
        Output pixel size over input pixel size.
    iscale : float
        Factor applied to the data (its square to the variance).

    Returns
    -------
    int
        Number of input pixels that overlap no output pixel (outside the
        output, or a pixel map entry that is NaN or beyond 1e15).

    Notes
    -----
    The drop is centred on the mapped pixel centre and ignores rotation and
    distortion within the pixel. An output pixel receives the weight
    ``overlap_area * (scale_ratio / pixfrac)**2 * weight``, rounded to
    float32: the fraction of the drop that falls on it. Contributions whose
    weight rounds to 0 are skipped; a pixel counts as landing on the output
    when it overlaps an output pixel, whatever its weight.
    """
    ny, nx = data.shape
    if out_img.shape[0] == 0 or out_img.shape[1] == 0:
        return ny * nx
    # Written as maxima so that the compiler knows them non-negative and
    # leaves out the checks for negative indices.
    my = max(out_img.shape[0], 1)
    mx = max(out_img.shape[1], 1)
    cbase = max(plane, 0) * my * mx
    pfo = pixfrac / scale_ratio / 2.0
    norm = scale_ratio * scale_ratio / (pixfrac * pixfrac)
    fs = np.float32(iscale)
    fs2 = fs * fs
    full = (flags & 6) != 0
    img1 = out_img.reshape(-1)
    wht1 = out_wht.reshape(-1)
    ctx1 = out_ctx.reshape(-1)
    var1 = out_var.reshape(-1)
    odq1 = out_dq.reshape(-1)
    xmax = mx + 1.0
    ymax = my + 1.0
    nmiss = 0
    for j in range(ny):
        for i in range(nx):
            ox = pixmap[j, i, 0]
            oy = pixmap[j, i, 1]
            if not (abs(ox) < 1e15 and abs(oy) < 1e15):
                nmiss += 1
                continue
            xl = ox - pfo
            xh = ox + pfo
            yl = oy - pfo
            yh = oy + pfo
            # First and last column and row that the drop may overlap. Where
            # the drop ends left of column 0 (below row 0), ix1 (iy1) is 0
            # rather than -1; that column (row) then gets no overlap.
            ix0 = max(int(xl + 0.5), 0)
            ix1 = min(int(min(xh, xmax) + 0.5), mx - 1)
            iy0 = max(int(yl + 0.5), 0)
            iy1 = min(int(min(yh, ymax) + 0.5), my - 1)
            nbx = ix1 - ix0
            nby = iy1 - iy0
            if nbx < 0 or nby < 0:
                nmiss += 1
                continue
            wf = float(weights[j, i])
            v = float(data[j, i] * fs)
            hit = 0
            if nbx <= 1 and nby <= 1:
                # At most 2 x 2 output pixels: columns ix0, ix0 + 1 meet at
                # x = fx and rows iy0, iy0 + 1 at y = fy. Column ix0 + 1 is
                # done first: the next input pixel usually updates it again
                # as its column ix0, and the update of column ix0 is then as
                # far as possible from the one it waits for.
                fx = ix0 + 0.5
                fy = iy0 + 0.5
                dx0 = min(xh, fx) - max(xl, fx - 1.0)
                dx1 = min(xh, fx + 1.0) - max(xl, fx) if nbx == 1 else 0.0
                dy0 = min(yh, fy) - max(yl, fy - 1.0)
                dy1 = min(yh, fy + 1.0) - max(yl, fy) if nby == 1 else 0.0
                k = iy0 * mx + ix0
                if full:
                    v2 = float(var[j, i] * fs2) if flags & 2 else float(fs2)
                    dqv = dq[j, i] if flags & 4 else np.uint32(0)
                    if dx1 > 0.0:
                        if dy0 > 0.0:
                            hit = 1
                            c = float(np.float32(dx1 * dy0 * norm * wf))
                            if c != 0.0:
                                _deposit(img1, wht1, ctx1, cbase, var1, odq1, k + 1, c, v, v2,
                                         dqv, full, flags, bit)
                        if dy1 > 0.0:
                            hit = 1
                            c = float(np.float32(dx1 * dy1 * norm * wf))
                            if c != 0.0:
                                _deposit(img1, wht1, ctx1, cbase, var1, odq1, k + mx + 1, c, v,
                                         v2, dqv, full, flags, bit)
                    if dx0 > 0.0:
                        if dy0 > 0.0:
                            hit = 1
                            c = float(np.float32(dx0 * dy0 * norm * wf))
                            if c != 0.0:
                                _deposit(img1, wht1, ctx1, cbase, var1, odq1, k, c, v, v2, dqv,
                                         full, flags, bit)
                        if dy1 > 0.0:
                            hit = 1
                            c = float(np.float32(dx0 * dy1 * norm * wf))
                            if c != 0.0:
                                _deposit(img1, wht1, ctx1, cbase, var1, odq1, k + mx, c, v, v2,
                                         dqv, full, flags, bit)
                else:
                    # Every contribution has the sign of the weight.
                    mark = ((flags & 1) != 0) & (wf > 0.0)
                    if dx1 > 0.0:
                        if dy0 > 0.0:
                            hit = 1
                            c = float(np.float32(dx1 * dy0 * norm * wf))
                            if c != 0.0:
                                _mean(img1, wht1, ctx1, cbase, k + 1, c, v, mark, bit)
                        if dy1 > 0.0:
                            hit = 1
                            c = float(np.float32(dx1 * dy1 * norm * wf))
                            if c != 0.0:
                                _mean(img1, wht1, ctx1, cbase, k + mx + 1, c, v, mark, bit)
                    if dx0 > 0.0:
                        if dy0 > 0.0:
                            hit = 1
                            c = float(np.float32(dx0 * dy0 * norm * wf))
                            if c != 0.0:
                                _mean(img1, wht1, ctx1, cbase, k, c, v, mark, bit)
                        if dy1 > 0.0:
                            hit = 1
                            c = float(np.float32(dx0 * dy1 * norm * wf))
                            if c != 0.0:
                                _mean(img1, wht1, ctx1, cbase, k + mx, c, v, mark, bit)
            else:
                v2 = float(var[j, i] * fs2) if flags & 2 else float(fs2)
                dqv = dq[j, i] if flags & 4 else np.uint32(0)
                for iy in range(iy0, iy1 + 1):
                    dy = min(yh, iy + 0.5) - max(yl, iy - 0.5)
                    if dy > 0.0:
                        prow = iy * mx
                        for ix in range(ix0, ix1 + 1):
                            dx = min(xh, ix + 0.5) - max(xl, ix - 0.5)
                            if dx > 0.0:
                                hit = 1
                                c = float(np.float32(dx * dy * norm * wf))
                                if c != 0.0:
                                    _deposit(img1, wht1, ctx1, cbase, var1, odq1, prow + ix, c, v,
                                             v2, dqv, full, flags, bit)
            if hit == 0:
                nmiss += 1
    return nmiss
