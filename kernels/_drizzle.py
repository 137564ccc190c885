"""Drizzle kernels: add one input image into output arrays through a pixel map.

This module holds the turbo, point, gaussian and Lanczos kernels; the square
kernel, which takes the same arguments, is in :mod:`drizrun.kernels._square`.

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

This file is both the Pythran source of the compiled extension and, unchanged,
the pure-Python implementation used when the extension is not built.
"""

import numpy as np


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


#pythran export drizzle_turbo(float32[:,:] order(C), float64[:,:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), int32[:,:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), uint32[:,:] order(C), uint32[:,:] order(C), int, int, int32, float, float, float)
def drizzle_turbo(data, pixmap, weights, out_img, out_wht, out_ctx, var, out_var, dq, out_dq,
                  flags, plane, bit, pixfrac, scale_ratio, iscale):
    """Turbo kernel: an axis-aligned square of side ``pixfrac / scale_ratio`` output pixels.

    Parameters
    ----------
    data, pixmap, weights, out_img, out_wht, out_ctx, var, out_var, dq, out_dq, flags, plane, bit
        See the module docstring.
    pixfrac : float
        Side of the drop in input pixels, > 0.
    scale_ratio : float
        Output pixel size over input pixel size.
    iscale : float
        Factor applied to the data.

    Returns
    -------
    int
        Number of input pixels that overlap no output pixel.

    Notes
    -----
    The drop is centred on the mapped pixel centre and ignores rotation and
    distortion within the pixel. An output pixel receives the weight
    ``overlap_area * (scale_ratio / pixfrac)**2 * weight``: the fraction of
    the drop that falls on it.
    """
    ny, nx = data.shape
    my, mx = out_img.shape
    pfo = pixfrac / scale_ratio / 2.0
    norm = scale_ratio * scale_ratio / (pixfrac * pixfrac)
    fs = np.float32(iscale)
    fs2 = fs * fs
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
            ix0 = max(int(np.floor(max(xl, -1.0) + 0.5)), 0)
            ix1 = min(int(np.floor(min(xh, mx + 1.0) + 0.5)), mx - 1)
            iy0 = max(int(np.floor(max(yl, -1.0) + 0.5)), 0)
            iy1 = min(int(np.floor(min(yh, my + 1.0) + 0.5)), my - 1)
            w = weights[j, i]
            v = data[j, i] * fs
            v2 = var[j, i] * fs2 if flags & 2 else fs2
            dqv = dq[j, i] if flags & 4 else np.uint32(0)
            hit = 0
            for iy in range(iy0, iy1 + 1):
                dy = min(yh, iy + 0.5) - max(yl, iy - 0.5)
                if dy <= 0.0:
                    continue
                for ix in range(ix0, ix1 + 1):
                    dx = min(xh, ix + 0.5) - max(xl, ix - 0.5)
                    if dx > 0.0:
                        hit = 1
                        c = np.float32(dx * dy * norm * w)
                        if c != 0.0:
                            _accumulate(out_img, out_wht, out_ctx, out_var, out_dq, iy, ix,
                                        v, v2, dqv, c, flags, plane, bit)
            if hit == 0:
                nmiss += 1
    return nmiss


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
    nmiss = 0
    for j in range(ny):
        for i in range(nx):
            ox = pixmap[j, i, 0]
            oy = pixmap[j, i, 1]
            if not (ox >= -0.5 and ox < mx - 0.5 and oy >= -0.5 and oy < my - 0.5):
                nmiss += 1
                continue
            ix = int(np.floor(ox + 0.5))
            iy = int(np.floor(oy + 0.5))
            if ix >= mx or iy >= my:  # x + 0.5 rounded up to the edge
                nmiss += 1
                continue
            c = weights[j, i]
            if c != 0.0:
                _accumulate(out_img, out_wht, out_ctx, out_var, out_dq, iy, ix,
                            data[j, i] * fs, var[j, i] * fs2 if flags & 2 else fs2,
                            dq[j, i] if flags & 4 else np.uint32(0), c, flags, plane, bit)
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
    fs = np.float32(iscale)
    fs2 = fs * fs
    nmiss = 0
    for j in range(ny):
        for i in range(nx):
            ox = pixmap[j, i, 0]
            oy = pixmap[j, i, 1]
            if not (abs(ox) < 1e15 and abs(oy) < 1e15):
                nmiss += 1
                continue
            ix0 = max(int(np.floor(max(ox - pfo, -1.0) + 0.5)), 0)
            ix1 = min(int(np.floor(min(ox + pfo, mx + 1.0) + 0.5)), mx - 1)
            iy0 = max(int(np.floor(max(oy - pfo, -1.0) + 0.5)), 0)
            iy1 = min(int(np.floor(min(oy + pfo, my + 1.0) + 0.5)), my - 1)
            if ix0 > ix1 or iy0 > iy1:
                nmiss += 1
                continue
            w = float(weights[j, i])
            v = data[j, i] * fs
            v2 = var[j, i] * fs2 if flags & 2 else fs2
            dqv = dq[j, i] if flags & 4 else np.uint32(0)
            for iy in range(iy0, iy1 + 1):
                ddy = oy - iy
                for ix in range(ix0, ix1 + 1):
                    ddx = ox - ix
                    g = np.float32(es * np.exp(-(ddx * ddx + ddy * ddy) * efac))
                    c = np.float32(g * w)
                    if c != 0.0:
                        _accumulate(out_img, out_wht, out_ctx, out_var, out_dq, iy, ix,
                                    v, v2, dqv, c, flags, plane, bit)
    return nmiss


def _lanczos_weights(buf, t0, n, order, rot):
    """Fill ``buf[:n]`` with the Lanczos window at ``t0, t0 - step, t0 - 2*step, ...``.

    ``L(t) = sinc(t) sinc(t / order)`` for ``|t| < order``, else 0.
    ``rot = (step, cos(pi step), sin(pi step), cos(pi step / order),
    sin(pi step / order))``: the sines are advanced by rotation, so only four
    transcendental functions are evaluated per call.
    """
    a = float(order)
    step = rot[0]
    cd1 = rot[1]
    sd1 = rot[2]
    cd2 = rot[3]
    sd2 = rot[4]
    norm = a / (np.pi * np.pi)
    s1 = np.sin(np.pi * t0)
    c1 = np.cos(np.pi * t0)
    s2 = np.sin(np.pi * t0 / a)
    c2 = np.cos(np.pi * t0 / a)
    for k in range(n):
        t = t0 - k * step
        if abs(t) >= a:
            buf[k] = 0.0
        elif abs(t) < 1e-7:
            buf[k] = 1.0 - (np.pi * t) ** 2 * (1.0 + 1.0 / (a * a)) / 6.0
        else:
            buf[k] = norm * s1 * s2 / (t * t)
        # sin(x - d) = sin x cos d - cos x sin d;  cos(x - d) = cos x cos d + sin x sin d
        s1, c1 = s1 * cd1 - c1 * sd1, c1 * cd1 + s1 * sd1
        s2, c2 = s2 * cd2 - c2 * sd2, c2 * cd2 + s2 * sd2


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
    ``L(t) = sinc(t) sinc(t / a)``, evaluated exactly (no look-up table).
    The kernel has negative lobes and is not normalised: flux is not
    conserved.
    """
    ny, nx = data.shape
    my, mx = out_img.shape
    pfo = order / scale_ratio
    nbuf = int(2.0 * pfo) + 4
    wx = np.zeros(nbuf)
    wy = np.zeros(nbuf)
    rot = np.array([scale_ratio, np.cos(np.pi * scale_ratio), np.sin(np.pi * scale_ratio),
                    np.cos(np.pi * scale_ratio / order), np.sin(np.pi * scale_ratio / order)])
    fs = np.float32(iscale)
    fs2 = fs * fs
    nmiss = 0
    for j in range(ny):
        for i in range(nx):
            ox = pixmap[j, i, 0]
            oy = pixmap[j, i, 1]
            if not (abs(ox) < 1e15 and abs(oy) < 1e15):
                nmiss += 1
                continue
            ix0 = max(int(np.floor(max(ox - pfo, -1.0) + 0.5)), 0)
            ix1 = min(int(np.floor(min(ox + pfo, mx + 1.0) + 0.5)), mx - 1)
            iy0 = max(int(np.floor(max(oy - pfo, -1.0) + 0.5)), 0)
            iy1 = min(int(np.floor(min(oy + pfo, my + 1.0) + 0.5)), my - 1)
            if ix0 > ix1 or iy0 > iy1:
                nmiss += 1
                continue
            _lanczos_weights(wx, (ox - ix0) * scale_ratio, ix1 - ix0 + 1, order, rot)
            _lanczos_weights(wy, (oy - iy0) * scale_ratio, iy1 - iy0 + 1, order, rot)
            w = float(weights[j, i])
            v = data[j, i] * fs
            v2 = var[j, i] * fs2 if flags & 2 else fs2
            dqv = dq[j, i] if flags & 4 else np.uint32(0)
            for iy in range(iy0, iy1 + 1):
                wyw = wy[iy - iy0] * w
                for ix in range(ix0, ix1 + 1):
                    c = np.float32(wx[ix - ix0] * wyw)
                    if c != 0.0:
                        _accumulate(out_img, out_wht, out_ctx, out_var, out_dq, iy, ix,
                                    v, v2, dqv, c, flags, plane, bit)
    return nmiss
