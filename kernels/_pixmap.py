"""Pixel maps between two tangent-plane frames with the HST distortion model.

Passes over 1-D arrays of pixel positions (a block of rows of a frame,
flattened), composed by :func:`drizrun.core.geometry.pixmap.model_pixmap`:

:func:`add_table`
    adds one bilinearly interpolated lookup table (D2IM or CPDIS/NPOL);
:func:`poly`
    evaluates one SIP polynomial (or one of its derivatives);
:func:`project`
    the input's linear CD matrix, the gnomonic (TAN) deprojection, the
    rotation from the input's native sphere to the output's, the TAN
    projection and the output's inverse CD matrix: input focal plane ->
    output focal plane;
:func:`newton_update`
    one quasi-Newton step inverting the output's distortion, when the output
    frame is distorted too (blot).

Each pass is one small exported function that calls nothing else, which
keeps the compiled module quick to build; blocks of pixels stay in cache
between passes.

Dtype contract
--------------
Every argument is a 1-D ``float64`` array except the table index, which is a
1-D ``int64`` array; all in native byte order and C-contiguous (callers go
through :mod:`drizrun.core.geometry.pixmap`, which builds them). The result
is a new ``(ny, nx, 2)`` ``float64`` array of 0-based output ``(x, y)``.
Only whole 1-D arrays and scalars are passed between the functions here,
which keeps the compiled module small and quick to build.

Distortion pack
---------------
One frame's distortion is described by four arrays:

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
    ny``.

A lookup table maps the 1-based pixel ``(x, y)`` to the table position
``((x - crval) / cdelt + crpix - 1)`` (0-based) per axis, clamped to the
table, and interpolates bilinearly: the convention of the FITS distortion
paper's lookup tables as astropy evaluates them. D2IM corrections apply to
the raw pixel position; SIP and CPDIS are then both evaluated at the
D2IM-corrected position and added to it.

Linear parts
------------
``in_lin`` (6,)
    ``crpix1, crpix2`` and the CD matrix ``c11, c12, c21, c22`` in radians
    per pixel: intermediate coordinates ``(u, v) = CD @ (f - crpix)``.
``rot`` (9,)
    Rotation taking the input's native unit vectors to the output's, row
    by row.
``out_lin`` (6,)
    ``crpix1, crpix2`` and the inverse CD matrix of the output, in pixels
    per radian.

A TAN intermediate point ``(u, v)`` (radians) is the native direction
``(-v, u, 1)`` up to a positive factor, so projections need no
trigonometry: the rotated direction ``m`` projects back to
``(u', v') = (m[1], -m[0]) / m[2]``; directions with ``m[2] <= 0`` lie on
the far hemisphere and map to NaN.

This file is both the Pythran source of the compiled extension and, unchanged,
the pure-Python implementation used when the extension is not built.
"""

import numpy as np


#pythran export add_table(float64[:], float64[:], float64[:], int64[:], int, float64[:], float64[:])
def add_table(dst, data, geom, index, t, px, py):
    """Add lookup table `t`, interpolated at 1-based ``(px[j], py[j])``, to ``dst[j]``.

    Parameters
    ----------
    dst : ndarray of float64, shape (n,)
        Updated in place.
    data, geom, index
        ``tab_data``, ``tab_geom`` and ``tab_index`` of a distortion pack.
    t : int
        Table number: 0, 1 (D2IM x, y), 2, 3 (CPDIS x, y).
    px, py : ndarray of float64, shape (n,)
        Pixel positions, 1-based.
    """
    off = index[4 * t + 1]
    tnx = index[4 * t + 2]
    tny = index[4 * t + 3]
    g = 6 * t
    crp1 = geom[g] - 1.0
    crp2 = geom[g + 1] - 1.0
    crv1 = geom[g + 2]
    crv2 = geom[g + 3]
    ic1 = geom[g + 4]
    ic2 = geom[g + 5]
    hx = tnx - 1.0
    hy = tny - 1.0
    mx = max(tnx - 2, 0)
    my = max(tny - 2, 0)
    for j in range(dst.shape[0]):
        dx = min(max((px[j] - crv1) * ic1 + crp1, 0.0), hx)
        dy = min(max((py[j] - crv2) * ic2 + crp2, 0.0), hy)
        ix = min(int(dx), mx)
        iy = min(int(dy), my)
        ix1 = min(ix + 1, tnx - 1)
        iy1 = min(iy + 1, tny - 1)
        wx = dx - ix
        wy = dy - iy
        r0 = off + iy * tnx
        r1 = off + iy1 * tnx
        dst[j] += ((data[r0 + ix] * (1.0 - wx) + data[r0 + ix1] * wx) * (1.0 - wy)
                   + (data[r1 + ix] * (1.0 - wx) + data[r1 + ix1] * wx) * wy)


#pythran export poly(float64[:], int, int, float64[:], float64[:], float64[:], float64[:])
def poly(c, base, k, u, v, acc, inner):
    """``acc[j] = sum(c[base + p*k + q] * u[j]**p * v[j]**q)`` over ``p + q < k``.

    Horner's scheme in ``u`` of Horner polynomials in ``v``, with the pixel
    loop innermost: each step is one branch-free pass over the pixels, so
    independent pixels pipeline instead of waiting on one long dependency
    chain per pixel.

    Parameters
    ----------
    c : ndarray of float64
        Flattened ``k x k`` coefficient grids (``sip`` of a distortion pack).
    base : int
        Offset of the grid in `c`.
    k : int
        Grid size (polynomial order + 1).
    u, v : ndarray of float64, shape (n,)
        Offsets from the SIP reference pixel.
    acc : ndarray of float64, shape (n,)
        Receives the values.
    inner : ndarray of float64, shape (n,)
        Work array.
    """
    n = u.shape[0]
    for j in range(n):
        acc[j] = 0.0
    for pp in range(k):
        p = k - 1 - pp
        row = base + p * k
        top = c[row + k - 1 - p]
        for j in range(n):
            inner[j] = top
        for qq in range(1, k - p):
            cq = c[row + k - 1 - p - qq]
            for j in range(n):
                inner[j] = inner[j] * v[j] + cq
        for j in range(n):
            acc[j] = acc[j] * u[j] + inner[j]


#pythran export project(float64[:], float64[:], float64[:], float64[:], float64[:], float64[:], float64[:])
def project(fx, fy, in_lin, rot, out_lin, gx, gy):
    """Output focal-plane position of input focal-plane positions.

    Parameters
    ----------
    fx, fy : ndarray of float64, shape (n,)
        Input focal-plane positions, 1-based.
    in_lin : ndarray of float64, shape (6,)
        Input reference pixel and CD matrix in radians per pixel.
    rot : ndarray of float64, shape (9,)
        Rotation from the input's native frame to the output's, row by row.
    out_lin : ndarray of float64, shape (6,)
        Output reference pixel and inverse CD matrix in pixels per radian.
    gx, gy : ndarray of float64, shape (n,)
        Receive the output focal-plane positions, 1-based; NaN for
        directions on the far hemisphere of the output projection.
    """
    c1 = in_lin[0]
    c2 = in_lin[1]
    a11 = in_lin[2]
    a12 = in_lin[3]
    a21 = in_lin[4]
    a22 = in_lin[5]
    o1 = out_lin[0]
    o2 = out_lin[1]
    b11 = out_lin[2]
    b12 = out_lin[3]
    b21 = out_lin[4]
    b22 = out_lin[5]
    r00 = rot[0]
    r01 = rot[1]
    r02 = rot[2]
    r10 = rot[3]
    r11 = rot[4]
    r12 = rot[5]
    r20 = rot[6]
    r21 = rot[7]
    r22 = rot[8]
    nan = np.nan
    for j in range(fx.shape[0]):
        dx = fx[j] - c1
        dy = fy[j] - c2
        u = a11 * dx + a12 * dy
        v = a21 * dx + a22 * dy
        m0 = r02 - r00 * v + r01 * u
        m1 = r12 - r10 * v + r11 * u
        m2 = r22 - r20 * v + r21 * u
        inv = 1.0 / m2
        uo = m1 * inv
        vo = -m0 * inv
        x = b11 * uo + b12 * vo + o1
        y = b21 * uo + b22 * vo + o2
        gx[j] = x if m2 > 0.0 else nan
        gy[j] = y if m2 > 0.0 else nan


#pythran export newton_update(float64[:], float64[:], float64[:], float64[:], float64[:], float64[:], float64[:], float64[:], float64[:], float64[:], float64[:])
def newton_update(qx, qy, ex, ey, d11, d12, d21, d22, gx, gy, step):
    """One quasi-Newton step towards the pixels whose focal-plane position is ``(gx, gy)``.

    Parameters
    ----------
    qx, qy : ndarray of float64, shape (n,)
        Current pixel estimates (1-based), updated in place.
    ex, ey : ndarray of float64, shape (n,)
        Focal-plane positions of the current estimates.
    d11, d12, d21, d22 : ndarray of float64, shape (n,)
        Derivatives of the SIP polynomials at the estimates (the identity is
        added here; the lookup tables, small and slowly varying, are left out
        of the Jacobian).
    gx, gy : ndarray of float64, shape (n,)
        Target focal-plane positions.
    step : ndarray of float64, shape (n,)
        Receives ``|dx| + |dy|`` of this step for every pixel.

    Returns
    -------
    float
        The largest step of a finite pixel (0.0 if there is none).
    """
    worst = 0.0
    for j in range(qx.shape[0]):
        rx = ex[j] - gx[j]
        ry = ey[j] - gy[j]
        j11 = 1.0 + d11[j]
        j12 = d12[j]
        j21 = d21[j]
        j22 = 1.0 + d22[j]
        det = j11 * j22 - j12 * j21
        sx = (j22 * rx - j12 * ry) / det
        sy = (j11 * ry - j21 * rx) / det
        qx[j] -= sx
        qy[j] -= sy
        s = abs(sx) + abs(sy)
        step[j] = s
        worst = s if s > worst else worst
    return worst
