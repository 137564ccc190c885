"""Drizzle kernels: add one input image into output arrays through a pixel map.

This module holds the point, gaussian and Lanczos kernels; the square and
turbo kernels, which take the same arguments, are in
:mod:`drizrun.kernels._square` and :mod:`drizrun.kernels._turbo`.

Dtype contract
--------------
Every exported function takes, in this order:

``data`` float32 (ny, nx)
    Input image.
``pixmap`` float64 (ny, nx, 2)
    0-based output x, y of the centre of every input pixel (NaN: no mapping).
``weights`` float32 (ny, nx)
    Input weight of every pixel.
``out_img``, ``out_wht`` float32 (my, mx)
    Output image (running weighted mean) and weight, updated in place.
``out_ctx`` int32 (nplanes, my, mx)
    Context cube, updated in place: ``out_ctx[plane] |= bit``.
``var``, ``out_var`` float32
    Input variance (ny, nx) and output variance (my, mx).
``dq``, ``out_dq`` uint32
    Input (ny, nx) and output (my, mx) data-quality flags.
``flags`` int
    Bit 1: update ``out_ctx``; bit 2: propagate variance; bit 4: OR DQ.
    Arrays of disabled outputs may be any placeholder of the right dtype
    and number of dimensions (they are not read).
``plane``, ``bit`` int
    Context plane and the int32 bit value (``-2**31`` for bit 31).

followed by kernel parameters. All arrays must be native byte order and
C-contiguous; :func:`drizrun.kernels.drizzle` converts any input first. Each
function returns the number of input pixels that contributed to no output
pixel (outside the output, or a NaN in the pixel map).

Accumulation
------------
A contribution of value ``v = data * iscale`` with weight ``c`` (rounded to
float32) to an output pixel whose weight is ``W`` sets the value to ``v`` if
``W == 0`` and otherwise to ``(F * W + c * v) / (W + c)``, computed in double
precision; the weight becomes ``W + c``. Variance follows with squared
weights: ``(V * W**2 + c**2 * var * iscale**2) / (W + c)**2``. Contributions
with ``c == 0`` leave every output untouched; the context bit and DQ are set
only by contributions with ``c > 0``.

The Gaussian and Lanczos kernels, with a dozen to fifty contributions per
input pixel, get the same result with one division per output pixel: the
first contribution of a call to an output pixel turns its mean into the sum
``F * W`` (and the variance into ``V * W**2``), later ones add ``c * v``
(``c**2 * var``), and :func:`_finish` (for Lanczos, the final pass of
:func:`drizzle_lanczos`) divides by the weight at the end of the call. The
values agree with the running mean to float32 rounding, except where the
running weight of a Lanczos pixel passes close to 0 through its negative
lobes, where the sum is the more accurate of the two; a pixel whose weights
sum to exactly 0 keeps its sum instead of its previous value.

This file is both the Pythran source of the compiled extension and, unchanged,
the pure-Python implementation used when the extension is not built.
"""

import numpy as np


def _ifloor(t):
    """``floor(t)`` as an int, by truncation (no call to the C library's ``floor``)."""
    k = int(t)
    return k - int(k > t)


def _accumulate(out_img, out_wht, out_ctx, out_var, out_dq, jj, ii, v, v2, dqv, c,
                flags, plane, bit):
    """Add one contribution of value `v` and weight `c` to output pixel (jj, ii)."""
    wo = float(out_wht[jj, ii])
    cw = float(c)
    wn = wo + cw
    if wo == 0.0:
        out_img[jj, ii] = v
    elif wn != 0.0:
        out_img[jj, ii] = (float(out_img[jj, ii]) * wo + cw * float(v)) / wn
    out_wht[jj, ii] = wn
    if flags & 2:
        if wo == 0.0:
            out_var[jj, ii] = v2
        elif wn != 0.0:
            out_var[jj, ii] = (float(out_var[jj, ii]) * wo * wo + cw * cw * float(v2)) / (wn * wn)
    if cw > 0.0:
        if flags & 1:
            out_ctx[plane, jj, ii] |= bit
        if flags & 4:
            out_dq[jj, ii] |= dqv


def _mean_flat(img1, wht1, ctx1, p, pc, v, c, flags, bit):
    """:func:`_accumulate` without variance and DQ, on flattened (1-D) views.

    `p` indexes the image and weight, `pc` the context cube.
    """
    wo = float(wht1[p])
    cw = float(c)
    wn = wo + cw
    if wo == 0.0:
        img1[p] = v
    elif wn != 0.0:
        img1[p] = (float(img1[p]) * wo + cw * v) / wn
    wht1[p] = wn
    if flags & 1:
        if cw > 0.0:
            ctx1[pc] |= bit


def _add_flat(img1, wht1, seen1, ctx1, p, pc, cv, c, flags, bit):
    """Add ``cv = c * v`` and weight `c` to the sums of output pixel `p` (flattened views).

    `pc` indexes the flattened context cube. The first contribution of a
    call to a pixel turns its weighted mean ``F`` into the weighted sum
    ``F * W`` (0 if ``W == 0``) and marks the pixel in `seen1`;
    :func:`_finish` divides by the weight once at the end. Only the image,
    weight and context (bit 1 of `flags`) are updated.
    """
    wo = float(wht1[p])
    fo = float(img1[p])
    base = fo if seen1[p] else (fo * wo if wo != 0.0 else 0.0)
    img1[p] = base + cv
    wht1[p] = wo + c
    seen1[p] = 1
    if flags & 1:
        if c > 0.0:
            ctx1[pc] |= bit


def _add_full(out_img, out_wht, seen, out_ctx, out_var, out_dq, jj, ii, cv, c, v2, dqv,
              flags, plane, bit):
    """:func:`_add_flat` on 2-D arrays, also summing ``c**2 * v2`` into the variance (``V * W**2``) and ORing DQ."""
    wo = float(out_wht[jj, ii])
    fo = float(out_img[jj, ii])
    cw = float(c)
    first = seen[jj, ii] == 0
    base = (fo * wo if wo != 0.0 else 0.0) if first else fo
    out_img[jj, ii] = base + cv
    out_wht[jj, ii] = wo + cw
    seen[jj, ii] = 1
    if flags & 2:
        vo = float(out_var[jj, ii])
        vbase = (vo * wo * wo if wo != 0.0 else 0.0) if first else vo
        out_var[jj, ii] = vbase + cw * cw * v2
    if cw > 0.0:
        if flags & 1:
            out_ctx[plane, jj, ii] |= bit
        if flags & 4:
            out_dq[jj, ii] |= dqv


def _finish(out_img, out_wht, out_var, seen, y0, y1, x0, x1, flags):
    """Turn the sums of the pixels marked in `seen` within rows y0..y1, columns x0..x1 back into means.

    A pixel whose weights summed to exactly 0 keeps its sum.
    """
    for jj in range(y0, y1 + 1):
        for ii in range(x0, x1 + 1):
            if seen[jj, ii]:
                wn = float(out_wht[jj, ii])
                if wn != 0.0:
                    out_img[jj, ii] = float(out_img[jj, ii]) / wn
                    if flags & 2:
                        out_var[jj, ii] = float(out_var[jj, ii]) / (wn * wn)


#pythran export drizzle_point(float32[:,:] order(C), float64[:,:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), int32[:,:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), uint32[:,:] order(C), uint32[:,:] order(C), int, int, int32, float)
def drizzle_point(data, pixmap, weights, out_img, out_wht, out_ctx, var, out_var, dq, out_dq,
                  flags, plane, bit, iscale):
    """Point kernel: all of a pixel's flux goes to the output pixel containing its centre.

    Parameters
    ----------
    data, pixmap, weights, out_img, out_wht, out_ctx, var, out_var, dq, out_dq, flags, plane, bit
        See the module docstring.
    iscale : float
        Factor applied to the data.

    Returns
    -------
    int
        Number of input pixels whose centre falls outside the output.

    Notes
    -----
    The output pixel is ``(floor(x + 0.5), floor(y + 0.5))``; the
    contribution weight is the input weight.
    """
    ny, nx = data.shape
    my, mx = out_img.shape
    fs = np.float32(iscale)
    fs2 = fs * fs
    full = (flags & 6) != 0
    img1 = out_img.reshape(-1)
    wht1 = out_wht.reshape(-1)
    ctx1 = out_ctx.reshape(-1)
    cbase = plane * my * mx
    nmiss = 0
    for j in range(ny):
        for i in range(nx):
            ox = pixmap[j, i, 0]
            oy = pixmap[j, i, 1]
            if not (ox >= -0.5 and ox < mx - 0.5 and oy >= -0.5 and oy < my - 0.5):
                nmiss += 1
                continue
            ix = int(ox + 0.5)  # floor: ox + 0.5 >= 0 here
            iy = int(oy + 0.5)
            if ix >= mx or iy >= my:  # x + 0.5 rounded up to the edge
                nmiss += 1
                continue
            c = weights[j, i]
            if c != 0.0:
                if full:
                    _accumulate(out_img, out_wht, out_ctx, out_var, out_dq, iy, ix,
                                data[j, i] * fs, var[j, i] * fs2 if flags & 2 else fs2,
                                dq[j, i] if flags & 4 else np.uint32(0), c, flags, plane, bit)
                else:
                    p = iy * mx + ix
                    _mean_flat(img1, wht1, ctx1, p, cbase + p, float(data[j, i] * fs), c, flags, bit)
    return nmiss


#pythran export drizzle_gaussian(float32[:,:] order(C), float64[:,:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), int32[:,:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), uint32[:,:] order(C), uint32[:,:] order(C), int, int, int32, float, float, float)
def drizzle_gaussian(data, pixmap, weights, out_img, out_wht, out_ctx, var, out_var, dq, out_dq,
                     flags, plane, bit, pixfrac, scale_ratio, iscale):
    """Gaussian kernel: a circular Gaussian of FWHM ``pixfrac`` input pixels.

    Parameters
    ----------
    data, pixmap, weights, out_img, out_wht, out_ctx, var, out_var, dq, out_dq, flags, plane, bit
        See the module docstring.
    pixfrac : float
        FWHM of the Gaussian in input pixels, > 0.
    scale_ratio : float
        Output pixel size over input pixel size.
    iscale : float
        Factor applied to the data.

    Returns
    -------
    int
        Number of input pixels that reach no output pixel.

    Notes
    -----
    With ``sigma = pixfrac / (2.3548 * scale_ratio)`` output pixels, output
    pixel centres at distance ``r`` receive ``exp(-r**2 / (2 sigma**2)) /
    (2 pi sigma**2) * weight`` within a square of half-width
    ``max(2.5 sigma, 1.2 / scale_ratio)``. The sampled weights do not sum to
    exactly one, so flux is not conserved.
    """
    ny, nx = data.shape
    my, mx = out_img.shape
    pfo = max(2.5 * pixfrac / 2.3548 / scale_ratio, 1.2 / scale_ratio)
    efac = (2.3548 * 2.3548) * (scale_ratio * scale_ratio) / (pixfrac * pixfrac) / 2.0
    es = efac / np.pi
    gx = np.zeros(int(2.0 * pfo) + 4)
    # Successive columns (rows) by the ratio of neighbouring samples,
    # exp(-(d - 1)**2 e) = exp(-d**2 e) exp((2 d - 1) e), whose own ratio is
    # the constant exp(-2 e): two exponentials per axis. Only where no factor
    # can underflow or overflow; otherwise one exponential per sample.
    recur = efac * (pfo + 2.0) * (pfo + 2.0) < 600.0
    q = np.exp(-2.0 * efac)
    img1 = out_img.reshape(-1)
    wht1 = out_wht.reshape(-1)
    ctx1 = out_ctx.reshape(-1)
    cbase = plane * my * mx
    fs = np.float32(iscale)
    fs2 = fs * fs
    full = (flags & 6) != 0
    seen = np.zeros((my, mx), np.uint8)
    seen1 = seen.reshape(-1)
    y0 = my
    y1 = -1
    x0 = mx
    x1 = -1
    nmiss = 0
    for j in range(ny):
        for i in range(nx):
            ox = pixmap[j, i, 0]
            oy = pixmap[j, i, 1]
            if not (abs(ox) < 1e15 and abs(oy) < 1e15):
                nmiss += 1
                continue
            ix0 = max(_ifloor(max(ox - pfo, -1.0) + 0.5), 0)
            ix1 = min(_ifloor(min(ox + pfo, mx + 1.0) + 0.5), mx - 1)
            iy0 = max(_ifloor(max(oy - pfo, -1.0) + 0.5), 0)
            iy1 = min(_ifloor(min(oy + pfo, my + 1.0) + 0.5), my - 1)
            if ix0 > ix1 or iy0 > iy1:
                nmiss += 1
                continue
            w = float(weights[j, i])
            v = float(data[j, i] * fs)
            v2 = float(var[j, i] * fs2) if flags & 2 else float(fs2)
            dqv = dq[j, i] if flags & 4 else np.uint32(0)
            # exp(-(dx**2 + dy**2) efac) = exp(-dx**2 efac) exp(-dy**2 efac):
            # one exponential per column and one per row.
            ddx = ox - ix0
            ddy = oy - iy0
            if recur:
                gk = np.exp(-(ddx * ddx) * efac)
                rk = np.exp((2.0 * ddx - 1.0) * efac)
                for k in range(ix1 - ix0 + 1):
                    gx[k] = gk
                    gk *= rk
                    rk *= q
                gy = es * np.exp(-(ddy * ddy) * efac)
                ry = np.exp((2.0 * ddy - 1.0) * efac)
            else:
                for k in range(ix1 - ix0 + 1):
                    gx[k] = np.exp(-((ddx - k) * (ddx - k)) * efac)
                gy = 0.0
                ry = 0.0
            for iy in range(iy0, iy1 + 1):
                if not recur:
                    ddy = oy - iy
                    gy = es * np.exp(-(ddy * ddy) * efac)
                prow = iy * mx
                for ix in range(ix0, ix1 + 1):
                    g = np.float32(gy * gx[ix - ix0])
                    c = np.float32(g * w)
                    if c != 0.0:
                        if full:
                            _add_full(out_img, out_wht, seen, out_ctx, out_var, out_dq, iy, ix,
                                      float(c) * v, c, v2, dqv, flags, plane, bit)
                        else:
                            _add_flat(img1, wht1, seen1, ctx1, prow + ix, cbase + prow + ix,
                                      float(c) * v, c, flags, bit)
                if recur:
                    gy *= ry
                    ry *= q
            y0 = min(y0, iy0)
            y1 = max(y1, iy1)
            x0 = min(x0, ix0)
            x1 = max(x1, ix1)
    _finish(out_img, out_wht, out_var, seen, y0, y1, x0, x1, flags)
    return nmiss

def _lanczos_table(order, nper):
    """Sample the Lanczos window on a regular grid.

    Parameters
    ----------
    order : int
        Lanczos order ``a``.
    nper : int
        Samples per unit of ``t``.

    Returns
    -------
    ndarray of float64, shape (order * nper + 2,)
        ``L(k / nper)`` for ``k = 0 .. order * nper + 1``, with
        ``L(t) = sinc(t) sinc(t / a)``; the last two entries (``t >= a``) are 0.
    """
    a = float(order)
    table = np.zeros(order * nper + 2)
    table[0] = 1.0
    for k in range(1, order * nper):
        t = k / nper
        table[k] = a * np.sin(np.pi * t) * np.sin(np.pi * t / a) / (np.pi * np.pi * t * t)
    return table


def _lanczos_weights(buf, t0, n, step, table, nper, umax):
    """Fill ``buf[:n]`` with the Lanczos window at ``t0, t0 - step, t0 - 2*step, ...``.

    Parameters
    ----------
    buf : ndarray of float64
        Output buffer of at least `n` entries.
    t0 : float
        Argument of the first sample.
    n : int
        Number of samples.
    step : float
        Decrement of the argument between samples.
    table : ndarray of float64
        :func:`_lanczos_table` with `nper` samples per unit, interpolated
        linearly.
    nper : int
        Samples per unit in `table`.
    umax : float
        ``order * nper``: arguments with ``|t| >= order`` map to 0.
    """
    for k in range(n):
        u = min(abs(t0 - k * step) * nper, umax)
        iu = int(u)
        f = u - iu
        buf[k] = table[iu] * (1.0 - f) + table[iu + 1] * f


def _nonzero_span(buf, last):
    """First and last index in ``buf[:last + 1]`` whose value is not exactly 0.

    Returns ``(lo, hi)`` with ``lo <= hi``; if every value is 0 the span is
    the single index ``last``, whose contributions are then skipped.
    """
    lo = 0
    hi = last
    while lo < hi and buf[lo] == 0.0:
        lo += 1
    while hi > lo and buf[hi] == 0.0:
        hi -= 1
    return lo, hi


#pythran export drizzle_lanczos(float32[:,:] order(C), float64[:,:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), int32[:,:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), uint32[:,:] order(C), uint32[:,:] order(C), int, int, int32, int, float, float)
def drizzle_lanczos(data, pixmap, weights, out_img, out_wht, out_ctx, var, out_var, dq, out_dq,
                    flags, plane, bit, order, scale_ratio, iscale):
    """Lanczos kernel of the given order (2 or 3).

    Parameters
    ----------
    data, pixmap, weights, out_img, out_wht, out_ctx, var, out_var, dq, out_dq, flags, plane, bit
        See the module docstring.
    order : int
        Lanczos order ``a``; the kernel extends ``a / scale_ratio`` output
        pixels from the centre.
    scale_ratio : float
        Output pixel size over input pixel size.
    iscale : float
        Factor applied to the data.

    Returns
    -------
    int
        Number of input pixels that reach no output pixel.

    Notes
    -----
    Output pixel centres at offset ``(dx, dy)`` receive
    ``L(dx * scale_ratio) * L(dy * scale_ratio) * weight`` with
    ``L(t) = sinc(t) sinc(t / a)``, interpolated linearly in a table of 1024
    samples per unit (within 5e-7 of the exact value).
    The kernel has negative lobes and is not normalised: flux is not
    conserved.

    Within the call the touched output pixels hold weighted sums (see the
    module docstring), kept on flattened views; a ``uint8`` mask marks them
    (bit 1) and those reached by a contribution with weight > 0 (bit 2).
    A final pass over the touched rectangle divides the sums by the weight
    and sets the context bit of the pixels with mask bit 2.
    """
    ny, nx = data.shape
    my, mx = out_img.shape
    pfo = order / scale_ratio
    nbuf = int(2.0 * pfo) + 4
    wx = np.zeros(nbuf)
    wy = np.zeros(nbuf)
    # 1024 samples per unit: linear interpolation is within 5e-7 of the exact window.
    nper = 1024
    table = _lanczos_table(order, nper)
    umax = float(order * nper)
    fs = np.float32(iscale)
    fs2 = fs * fs
    img1 = out_img.reshape(-1)
    wht1 = out_wht.reshape(-1)
    ctx1 = out_ctx.reshape(-1)
    var1 = out_var.reshape(-1)
    dq1 = out_dq.reshape(-1)
    cbase = plane * my * mx
    seen1 = np.zeros(my * mx, np.uint8)
    y0 = my
    y1 = -1
    x0 = mx
    x1 = -1
    nmiss = 0
    for j in range(ny):
        for i in range(nx):
            ox = pixmap[j, i, 0]
            oy = pixmap[j, i, 1]
            if not (abs(ox) < 1e15 and abs(oy) < 1e15):
                nmiss += 1
                continue
            ix0 = max(_ifloor(max(ox - pfo, -1.0) + 0.5), 0)
            ix1 = min(_ifloor(min(ox + pfo, mx + 1.0) + 0.5), mx - 1)
            iy0 = max(_ifloor(max(oy - pfo, -1.0) + 0.5), 0)
            iy1 = min(_ifloor(min(oy + pfo, my + 1.0) + 0.5), my - 1)
            if ix0 > ix1 or iy0 > iy1:
                nmiss += 1
                continue
            _lanczos_weights(wx, (ox - ix0) * scale_ratio, ix1 - ix0 + 1, scale_ratio, table, nper, umax)
            _lanczos_weights(wy, (oy - iy0) * scale_ratio, iy1 - iy0 + 1, scale_ratio, table, nper, umax)
            # Leave out the columns and rows beyond the window (weight exactly 0).
            lx, hx = _nonzero_span(wx, ix1 - ix0)
            ly, hy = _nonzero_span(wy, iy1 - iy0)
            w = float(weights[j, i])
            v = float(data[j, i] * fs)
            v2 = float(var[j, i] * fs2) if flags & 2 else 0.0
            dqv = dq[j, i] if flags & 4 else np.uint32(0)
            for ky in range(ly, hy + 1):
                wyw = wy[ky] * w
                prow = (iy0 + ky) * mx + ix0
                for kx in range(lx, hx + 1):
                    c = np.float32(wx[kx] * wyw)
                    if c != 0.0:
                        p = prow + kx
                        cw = float(c)
                        wo = float(wht1[p])
                        s = seen1[p]
                        fo = float(img1[p])
                        # First contribution of the call: mean -> weighted sum.
                        fo = fo if s else (fo * wo if wo != 0.0 else 0.0)
                        img1[p] = fo + cw * v
                        wht1[p] = wo + cw
                        if flags & 2:
                            vo = float(var1[p])
                            vo = vo if s else (vo * wo * wo if wo != 0.0 else 0.0)
                            var1[p] = vo + cw * cw * v2
                        if flags & 4:
                            if cw > 0.0:
                                dq1[p] |= dqv
                        seen1[p] = s | 1 | 2 * int(cw > 0.0)
            y0 = min(y0, iy0 + ly)
            y1 = max(y1, iy0 + hy)
            x0 = min(x0, ix0 + lx)
            x1 = max(x1, ix0 + hx)
    # Sums back to means (a pixel whose weights sum to exactly 0 keeps its
    # sum) and the context bit of the pixels reached with weight > 0.
    for jj in range(y0, y1 + 1):
        row = jj * mx
        for p in range(row + x0, row + x1 + 1):
            s = seen1[p]
            if s:
                wn = float(wht1[p])
                if wn != 0.0:
                    img1[p] = float(img1[p]) / wn
                    if flags & 2:
                        var1[p] = float(var1[p]) / (wn * wn)
                if flags & 1:
                    if s & 2:
                        ctx1[cbase + p] |= bit
    return nmiss
