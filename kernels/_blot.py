"""Blot kernels: sample an image at the positions given by a pixel map.

Dtype contract
--------------
Every exported function takes ``image`` float32 (ny, nx), ``pixmap`` float64
(my, mx, 2) holding the 0-based x, y in `image` of every output pixel, and
``out`` float32 (my, mx), filled in place, followed by its parameters and
``iscale`` (factor applied to every interpolated value) and ``fillval``
(written where the position is outside ``0 <= x < nx, 0 <= y < ny`` or is
NaN). All arrays must be native byte order and C-contiguous;
:func:`drizrun.kernels.blot` converts any input first. Each function returns
the number of output pixels that were filled with ``fillval``.

Beyond the image edges, the polynomial interpolants extend the image by point
reflection about the edge pixel (``image[-k] = 2 image[0] - image[k]``, in x
and then in y), which continues linear trends across the edge.

This file is both the Pythran source of the compiled extension and, unchanged,
the pure-Python implementation used when the extension is not built.
"""

import numpy as np


def _inside(x, y, nx, ny):
    """True if (x, y) lies in ``[0, nx) x [0, ny)`` (False for NaN)."""
    return x >= 0.0 and x < nx and y >= 0.0 and y < ny


def _reflected_x(image, iy, ix):
    """Pixel (iy, ix) of `image`, row `iy` inside, column extended by point reflection."""
    lx = image.shape[1] - 1
    if ix < 0:
        return 2.0 * float(image[iy, 0]) - float(image[iy, min(-ix, lx)])
    if ix > lx:
        return 2.0 * float(image[iy, lx]) - float(image[iy, max(2 * lx - ix, 0)])
    return float(image[iy, ix])


def _reflected(image, iy, ix):
    """Pixel (iy, ix) of `image` extended beyond its edges by point reflection."""
    ly = image.shape[0] - 1
    if iy < 0:
        return 2.0 * _reflected_x(image, 0, ix) - _reflected_x(image, min(-iy, ly), ix)
    if iy > ly:
        return 2.0 * _reflected_x(image, ly, ix) - _reflected_x(image, max(2 * ly - iy, 0), ix)
    return _reflected_x(image, iy, ix)


def _separable(image, ix0, iy0, wx, wy, n):
    """``sum_k sum_m wy[k] wx[m] image[iy0 + k, ix0 + m]`` over an n x n stencil.

    The stencil may reach beyond the image; those pixels are reflected.
    """
    ny, nx = image.shape
    total = 0.0
    if ix0 >= 0 and iy0 >= 0 and ix0 + n <= nx and iy0 + n <= ny:
        for k in range(n):
            row = 0.0
            for m in range(n):
                row += wx[m] * image[iy0 + k, ix0 + m]
            total += wy[k] * row
    else:
        for k in range(n):
            row = 0.0
            for m in range(n):
                row += wx[m] * _reflected(image, iy0 + k, ix0 + m)
            total += wy[k] * row
    return total


def _poly3_weights(w, f):
    """Cubic Lagrange weights of the nodes -1, 0, 1, 2 at offset `f`."""
    a = f + 1.0
    b = f - 1.0
    c = f - 2.0
    w[0] = -f * b * c / 6.0
    w[1] = a * b * c / 2.0
    w[2] = -a * f * c / 2.0
    w[3] = a * f * b / 6.0


def _poly5_weights(w, f):
    """Quintic Lagrange weights of the nodes -2 ... 3 at offset `f`."""
    p0 = f + 2.0
    p1 = f + 1.0
    p2 = f
    p3 = f - 1.0
    p4 = f - 2.0
    p5 = f - 3.0
    w[0] = p1 * p2 * p3 * p4 * p5 / -120.0
    w[1] = p0 * p2 * p3 * p4 * p5 / 24.0
    w[2] = p0 * p1 * p3 * p4 * p5 / -12.0
    w[3] = p0 * p1 * p2 * p4 * p5 / 12.0
    w[4] = p0 * p1 * p2 * p3 * p5 / -24.0
    w[5] = p0 * p1 * p2 * p3 * p4 / 120.0


#pythran export blot_nearest(float32[:,:] order(C), float64[:,:,:] order(C), float32[:,:] order(C), float, float)
def blot_nearest(image, pixmap, out, iscale, fillval):
    """Nearest-neighbour blot: the pixel whose centre is closest (last pixel at the far edges).

    Parameters
    ----------
    image, pixmap, out, iscale, fillval
        See the module docstring.

    Returns
    -------
    int
        Number of output pixels set to `fillval`.
    """
    ny, nx = image.shape
    my, mx = out.shape
    nmiss = 0
    for j in range(my):
        for i in range(mx):
            x = pixmap[j, i, 0]
            y = pixmap[j, i, 1]
            if _inside(x, y, nx, ny):
                ix = min(int(x + 0.5), nx - 1)
                iy = min(int(y + 0.5), ny - 1)
                out[j, i] = image[iy, ix] * iscale
            else:
                out[j, i] = fillval
                nmiss += 1
    return nmiss


#pythran export blot_linear(float32[:,:] order(C), float64[:,:,:] order(C), float32[:,:] order(C), float, float)
def blot_linear(image, pixmap, out, iscale, fillval):
    """Bilinear blot; beyond the last row or column the edge pixel's value is held.

    Parameters
    ----------
    image, pixmap, out, iscale, fillval
        See the module docstring.

    Returns
    -------
    int
        Number of output pixels set to `fillval`.
    """
    ny, nx = image.shape
    my, mx = out.shape
    nmiss = 0
    for j in range(my):
        for i in range(mx):
            x = pixmap[j, i, 0]
            y = pixmap[j, i, 1]
            if _inside(x, y, nx, ny):
                ix = int(x)
                iy = int(y)
                fx = x - ix
                fy = y - iy
                ix1 = min(ix + 1, nx - 1)
                iy1 = min(iy + 1, ny - 1)
                v = ((1.0 - fy) * ((1.0 - fx) * image[iy, ix] + fx * image[iy, ix1])
                     + fy * ((1.0 - fx) * image[iy1, ix] + fx * image[iy1, ix1]))
                out[j, i] = v * iscale
            else:
                out[j, i] = fillval
                nmiss += 1
    return nmiss


#pythran export blot_poly3(float32[:,:] order(C), float64[:,:,:] order(C), float32[:,:] order(C), float, float)
def blot_poly3(image, pixmap, out, iscale, fillval):
    """Bicubic interior-polynomial blot (4 x 4 pixels, Lagrange form).

    Parameters
    ----------
    image, pixmap, out, iscale, fillval
        See the module docstring.

    Returns
    -------
    int
        Number of output pixels set to `fillval`.

    Notes
    -----
    In each direction the cubic through the four pixels at offsets -1, 0, 1,
    2 from ``floor(x)`` is evaluated at ``x``; this is the same polynomial as
    Everett's central-difference formula to second differences.
    """
    ny, nx = image.shape
    my, mx = out.shape
    wx = np.zeros(4)
    wy = np.zeros(4)
    nmiss = 0
    for j in range(my):
        for i in range(mx):
            x = pixmap[j, i, 0]
            y = pixmap[j, i, 1]
            if _inside(x, y, nx, ny):
                ix = int(x)
                iy = int(y)
                _poly3_weights(wx, x - ix)
                _poly3_weights(wy, y - iy)
                out[j, i] = _separable(image, ix - 1, iy - 1, wx, wy, 4) * iscale
            else:
                out[j, i] = fillval
                nmiss += 1
    return nmiss


#pythran export blot_poly5(float32[:,:] order(C), float64[:,:,:] order(C), float32[:,:] order(C), float, float)
def blot_poly5(image, pixmap, out, iscale, fillval):
    """Biquintic interior-polynomial blot (6 x 6 pixels, Lagrange form).

    Parameters
    ----------
    image, pixmap, out, iscale, fillval
        See the module docstring.

    Returns
    -------
    int
        Number of output pixels set to `fillval`.

    Notes
    -----
    In each direction the quintic through the six pixels at offsets -2 ... 3
    from ``floor(x)`` is evaluated at ``x`` (Everett's formula to fourth
    differences is the same polynomial).
    """
    ny, nx = image.shape
    my, mx = out.shape
    wx = np.zeros(6)
    wy = np.zeros(6)
    nmiss = 0
    for j in range(my):
        for i in range(mx):
            x = pixmap[j, i, 0]
            y = pixmap[j, i, 1]
            if _inside(x, y, nx, ny):
                ix = int(x)
                iy = int(y)
                _poly5_weights(wx, x - ix)
                _poly5_weights(wy, y - iy)
                out[j, i] = _separable(image, ix - 2, iy - 2, wx, wy, 6) * iscale
            else:
                out[j, i] = fillval
                nmiss += 1
    return nmiss


def _lanczos_taps(w, f, order, cd, sd):
    """Lanczos weights ``L(f + order - 1 - k)`` for ``k = 0 ... 2 order - 1``.

    `f` is the fractional offset ``x - floor(x)`` in [0, 1); tap ``k`` is the
    pixel ``floor(x) - order + 1 + k``; ``cd, sd`` are ``cos, sin(pi / order)``.
    ``sin(pi t)`` alternates in sign from tap to tap and ``sin(pi t / a)`` is
    advanced by rotation, so only three transcendental functions are
    evaluated per call.
    """
    a = float(order)
    n = 2 * order
    t0 = f + a - 1.0
    norm = a / (np.pi * np.pi)
    s1 = np.sin(np.pi * f)
    if (order - 1) % 2 == 1:
        s1 = -s1
    s2 = np.sin(np.pi * t0 / a)
    c2 = np.cos(np.pi * t0 / a)
    for k in range(n):
        t = t0 - k
        if abs(t) >= a:
            w[k] = 0.0
        elif abs(t) < 1e-7:
            w[k] = 1.0
        else:
            w[k] = norm * s1 * s2 / (t * t)
        s1 = -s1
        s2, c2 = s2 * cd - c2 * sd, c2 * cd + s2 * sd


#pythran export blot_lanczos(float32[:,:] order(C), float64[:,:,:] order(C), float32[:,:] order(C), int, float, float)
def blot_lanczos(image, pixmap, out, order, iscale, fillval):
    """Lanczos blot of the given order (3 or 5), exact weights, no normalisation.

    Parameters
    ----------
    image, pixmap, out
        See the module docstring.
    order : int
        Lanczos order ``a``: the ``2a x 2a`` pixels nearest to the position
        are used, those outside the image are left out.
    iscale, fillval
        See the module docstring.

    Returns
    -------
    int
        Number of output pixels set to `fillval`.

    Notes
    -----
    The value is ``sum L(x - i) L(y - j) image[j, i]`` with
    ``L(t) = sinc(t) sinc(t / a)``.
    """
    ny, nx = image.shape
    my, mx = out.shape
    n = 2 * order
    wx = np.zeros(n)
    wy = np.zeros(n)
    cd = np.cos(np.pi / order)
    sd = np.sin(np.pi / order)
    nmiss = 0
    for j in range(my):
        for i in range(mx):
            x = pixmap[j, i, 0]
            y = pixmap[j, i, 1]
            if _inside(x, y, nx, ny):
                ix = int(x)
                iy = int(y)
                _lanczos_taps(wx, x - ix, order, cd, sd)
                _lanczos_taps(wy, y - iy, order, cd, sd)
                ix0 = ix - order + 1
                iy0 = iy - order + 1
                total = 0.0
                for k in range(max(0, -iy0), min(n, ny - iy0)):
                    row = 0.0
                    for m in range(max(0, -ix0), min(n, nx - ix0)):
                        row += wx[m] * image[iy0 + k, ix0 + m]
                    total += wy[k] * row
                out[j, i] = total * iscale
            else:
                out[j, i] = fillval
                nmiss += 1
    return nmiss
