"""Derivative image for cosmic-ray detection.

Dtype contract
--------------
The exported function takes a 2-D ``float32`` array in native byte order and
returns a new C-contiguous ``float32`` array of the same shape. Nothing else is
accepted by the compiled module, and a big-endian array would be misread
without an error, so callers go through :func:`drizrun.kernels.abs_deriv`,
which converts any input first.

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
