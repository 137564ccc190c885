"""Derivative image and threshold tests for cosmic-ray detection.

Dtype contract
--------------
``abs_deriv`` takes a 2-D ``float32`` array in native byte order and returns a
new C-contiguous ``float32`` array of the same shape. ``cr_tests`` takes four
2-D C-contiguous ``float32`` arrays of one shape in native byte order and seven
``float32`` scalars, and returns a new ``uint8`` array of that shape. Nothing
else is accepted by the compiled module, and a big-endian array would be
misread without an error, so callers go through
:func:`drizrun.kernels.abs_deriv` and :func:`drizrun.kernels.cr_tests`, which
convert any input first.

This file is both the Pythran source of the compiled extension and, unchanged,
the pure-Python implementation used when the extension is not built.
"""

import numpy as np


def _edge_pixel(image, i, j):
    """Return the derivative of one border pixel, comparing existing neighbours only.

    Parameters
    ----------
    image : ndarray of float32, shape (ny, nx)
        Input image.
    i, j : int
        Row and column of the pixel.

    Returns
    -------
    float32
        Same value as the interior formula in :func:`abs_deriv` would give if
        the missing neighbours were NaN.
    """
    ny, nx = image.shape
    x = image[i, j]
    acc = min(abs(x), np.float32(0))
    if j > 0:
        acc = max(acc, abs(x - image[i, j - 1]))
    if j < nx - 1:
        acc = max(acc, abs(x - image[i, j + 1]))
    if i > 0:
        acc = max(acc, abs(x - image[i - 1, j]))
    if i < ny - 1:
        acc = max(acc, abs(x - image[i + 1, j]))
    return acc


#pythran export abs_deriv(float32[:,:])
def abs_deriv(image):
    """Maximum absolute difference between each pixel and its direct neighbours.

    Parameters
    ----------
    image : ndarray of float32, shape (ny, nx)
        Native byte order, ``ny >= 1`` and ``nx >= 1``.

    Returns
    -------
    ndarray of float32, shape (ny, nx)
        ``out[i, j]`` is the largest ``abs(image[i, j] - image[k, l])`` over the
        up to four pixels ``(k, l)`` left, right, above and below ``(i, j)``
        that lie inside the image. A pixel without neighbours (a 1x1 image)
        gives 0.

    Notes
    -----
    NaN marks missing data. A NaN pixel gives NaN; a NaN neighbour is skipped
    like a neighbour outside the image (so is the NaN difference of two equal
    infinities). Pixels whose neighbours are all skipped give 0.

    Both ``max(a, b)`` here and Python's built-in return ``a`` unless
    ``b > a``, so an accumulator that starts as NaN stays NaN and a NaN
    difference added to a number is ignored. ``min(abs(x), 0)`` is 0, or NaN
    when ``x`` is NaN, which gives the NaN rules above without a branch.

    The interior loop has no branches so that the compiler can vectorise it;
    the border pixels are handled separately.
    """
    ny, nx = image.shape
    out = np.empty((ny, nx), dtype=np.float32)
    zero = np.float32(0)
    for i in range(1, ny - 1):
        for j in range(1, nx - 1):
            x = image[i, j]
            acc = max(min(abs(x), zero), abs(x - image[i, j - 1]))
            acc = max(acc, abs(x - image[i, j + 1]))
            acc = max(acc, abs(x - image[i - 1, j]))
            out[i, j] = max(acc, abs(x - image[i + 1, j]))
    for j in range(nx):
        out[0, j] = _edge_pixel(image, 0, j)
    if ny > 1:
        for j in range(nx):
            out[ny - 1, j] = _edge_pixel(image, ny - 1, j)
    for i in range(1, ny - 1):
        out[i, 0] = _edge_pixel(image, i, 0)
    if nx > 1:
        for i in range(1, ny - 1):
            out[i, nx - 1] = _edge_pixel(image, i, nx - 1)
    return out


#pythran export cr_tests(float32[:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), float32[:,:] order(C), float32, float32, float32, float32, float32, float32, float32)  # noqa: E501
def cr_tests(data, model, deriv, noise, offset, snr0, snr1, scale0, scale1, seed, low):
    """The four per-pixel threshold tests of the cosmic-ray detection, as bits.

    Parameters
    ----------
    data, model, deriv, noise : ndarray of float32, shape (ny, nx)
        The chip ``D``, its blotted median ``B``, the derivative image of
        ``B`` and the noise ``sigma``, all in electrons, C-contiguous and in
        native byte order.
    offset : float32
        The reference is ``B + offset * sigma``.
    snr0, snr1, scale0, scale1 : float32
        The first and second thresholds.
    seed, low : float32
        The thresholds of the growth to edge neighbours, in sigma.

    Returns
    -------
    ndarray of uint8, shape (ny, nx)
        With ``e = D - (B + offset * sigma)``, for pixels where ``|e|``,
        ``deriv`` and ``sigma`` are finite: bit 1 when
        ``|e| > scale0 * deriv + snr0 * sigma``, bit 2 when
        ``|e| > scale1 * deriv + snr1 * sigma``, bit 4 when
        ``e > seed * sigma``, bit 8 when ``e > low * sigma``; 0 elsewhere.

    Notes
    -----
    Every product and sum is rounded to float32 in the order written, as the
    same expressions on float32 NumPy arrays are, so the bits equal those of
    the NumPy formulation. A comparison with NaN is false and an infinity is
    not below ``inf``, which gives the finiteness test without a branch.
    """
    ny, nx = data.shape
    out = np.empty((ny, nx), dtype=np.uint8)
    inf = np.float32(np.inf)
    for i in range(ny):
        for j in range(nx):
            s = noise[i, j]
            g = deriv[i, j]
            excess = data[i, j] - (model[i, j] + offset * s)
            size = abs(excess)
            usable = (size < inf) & (abs(g) < inf) & (abs(s) < inf)
            bits = ((size > scale0 * g + snr0 * s) * 1 + (size > scale1 * g + snr1 * s) * 2
                    + (excess > seed * s) * 4 + (excess > low * s) * 8)
            out[i, j] = usable * bits
    return out
