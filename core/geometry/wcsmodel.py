"""A celestial TAN frame with the HST distortion model, as plain arrays.

:class:`TanModel` extracts from an :class:`astropy.wcs.WCS` everything its
``all_pix2world`` evaluates, in the order it evaluates it, for a 2-D TAN (or
TAN-SIP) WCS built with ``WCS(header, fobj=hdulist)``:

1. D2IM detector-to-image lookup tables (one per axis, either optional),
   added to the 1-based pixel position ``p``: ``t = p + d2im(p)``;
2. the SIP polynomials and the CPDIS (NPOL) lookup tables, both evaluated at
   ``t`` and added to it: ``f = t + sip(t - crpix_sip) + cpdis(t)``;
3. the linear transformation ``CDELT * PC`` (or ``CD``) applied to
   ``f - CRPIX`` (degrees);
4. the gnomonic deprojection to native spherical coordinates;
5. the rotation to celestial coordinates given by ``CRVAL`` (the native pole
   of a zenithal projection) and ``LONPOLE``.

A lookup table maps a 1-based pixel coordinate ``x`` to the 0-based table
position ``(x - CRVAL) / CDELT + CRPIX - 1``, clamps it into the table and
interpolates bilinearly (the distortion-paper convention as implemented by
astropy's ``DistortionLookupTable``).

Anything else (another projection, PV parameters, wcslib's own distortion
functions, swapped axes) raises :class:`UnsupportedWcsError`, and the caller
falls back to astropy.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from .errors import UnsupportedWcsError

__all__ = ["LookupTable", "TanModel", "rotation_matrix"]

_DEG = math.pi / 180.0


@attrs.frozen(eq=False)
class LookupTable:
    """One distortion lookup table (a D2IMARR or WCSDVARR image).

    Attributes
    ----------
    data : ndarray of float64, shape (ny, nx)
        Offsets in pixels, indexed ``[y, x]``.
    crpix, crval, cdelt : tuple of float
        Table reference pixel (1-based), the image pixel coordinate at that
        reference, and the image pixels per table step, per axis ``(x, y)``.
    """

    data: NDArray[np.float64] = attrs.field(repr=lambda a: f"<{a.shape[1]}x{a.shape[0]} table>")
    crpix: tuple[float, float]
    crval: tuple[float, float]
    cdelt: tuple[float, float]

    @classmethod
    def from_astropy(cls, table: Any) -> LookupTable:
        """Copy an ``astropy.wcs.DistortionLookupTable``.

        Raises
        ------
        UnsupportedWcsError
            If the table is not 2-D, is empty or has a zero step.
        """
        data = np.array(table.data, dtype=np.float64, order="C")
        if data.ndim != 2 or data.size == 0:
            raise UnsupportedWcsError(f"lookup table of shape {data.shape} is not a 2-D image")
        cdelt = tuple(float(c) for c in table.cdelt)
        if not all(math.isfinite(c) and c != 0 for c in cdelt):
            raise UnsupportedWcsError(f"lookup table has an unusable CDELT {cdelt}")
        return cls(
            data=data,
            crpix=(float(table.crpix[0]), float(table.crpix[1])),
            crval=(float(table.crval[0]), float(table.crval[1])),
            cdelt=(cdelt[0], cdelt[1]),
        )

    def value(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
        """Interpolated offset at 1-based pixel positions (NumPy reference implementation).

        Parameters
        ----------
        x, y : ndarray
            1-based pixel coordinates.

        Returns
        -------
        ndarray
            Bilinearly interpolated table values, clamped at the table edges.
        """
        ny, nx = self.data.shape
        dx = np.clip((np.asarray(x) - self.crval[0]) / self.cdelt[0] + self.crpix[0] - 1.0, 0.0, nx - 1.0)
        dy = np.clip((np.asarray(y) - self.crval[1]) / self.cdelt[1] + self.crpix[1] - 1.0, 0.0, ny - 1.0)
        ix = np.minimum(dx.astype(np.int64), max(nx - 2, 0))
        iy = np.minimum(dy.astype(np.int64), max(ny - 2, 0))
        ix1 = np.minimum(ix + 1, nx - 1)
        iy1 = np.minimum(iy + 1, ny - 1)
        wx = dx - ix
        wy = dy - iy
        d = self.data
        return ((d[iy, ix] * (1 - wx) + d[iy, ix1] * wx) * (1 - wy)
                + (d[iy1, ix] * (1 - wx) + d[iy1, ix1] * wx) * wy)


def _rz(angle: float) -> NDArray[np.float64]:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rotation_matrix(crval: tuple[float, float], lonpole: float) -> NDArray[np.float64]:
    """Rotation from the native frame of a zenithal projection to celestial axes.

    Native unit vectors ``(cos t cos p, cos t sin p, sin t)`` (native longitude
    ``p``, latitude ``t``) are taken to celestial unit vectors ``(cos d cos a,
    cos d sin a, sin d)``. With the native pole at ``crval = (a0, d0)`` and the
    celestial pole at native longitude ``lonpole``, the spherical rotation of
    Calabretta & Greisen (2002, eq. 2) is ``Rz(a0) @ P(d0) @ Rz(-lonpole)``
    with ``P = [[-sin d0, 0, cos d0], [0, -1, 0], [cos d0, 0, sin d0]]``.

    Parameters
    ----------
    crval : tuple of float
        Celestial coordinates of the native pole, degrees.
    lonpole : float
        Native longitude of the celestial pole, degrees.

    Returns
    -------
    ndarray of float64, shape (3, 3)
    """
    a0, d0 = crval[0] * _DEG, crval[1] * _DEG
    sd, cd = math.sin(d0), math.cos(d0)
    p = np.array([[-sd, 0.0, cd], [0.0, -1.0, 0.0], [cd, 0.0, sd]])
    return _rz(a0) @ p @ _rz(-lonpole * _DEG)


@attrs.frozen(eq=False)
class TanModel:
    """Everything needed to map pixels of one TAN frame to the sky and back.

    Attributes
    ----------
    crpix : tuple of float
        Reference pixel, 1-based ``(x, y)``.
    cd : ndarray of float64, shape (2, 2)
        Linear transformation in degrees per pixel (``CDELT * PC`` or ``CD``).
    crval : tuple of float
        Celestial coordinates of the reference point, degrees.
    lonpole : float
        Native longitude of the celestial pole, degrees.
    sip_crpix : tuple of float or None
        Reference pixel of the SIP polynomials.
    sip_a, sip_b : ndarray of float64 or None
        SIP coefficient grids, ``[p, q]`` multiplying ``u**p v**q``.
    d2im : tuple of LookupTable or None
        Detector-to-image tables along x and y.
    cpdis : tuple of LookupTable or None
        Distortion-paper (NPOL) tables along x and y.
    shape : tuple of int or None
        ``(ny, nx)`` the WCS declares, if any.
    """

    crpix: tuple[float, float]
    cd: NDArray[np.float64] = attrs.field(eq=attrs.cmp_using(eq=np.array_equal))
    crval: tuple[float, float]
    lonpole: float = 180.0
    sip_crpix: tuple[float, float] | None = None
    sip_a: NDArray[np.float64] | None = attrs.field(default=None, repr=False)
    sip_b: NDArray[np.float64] | None = attrs.field(default=None, repr=False)
    d2im: tuple[LookupTable | None, LookupTable | None] = (None, None)
    cpdis: tuple[LookupTable | None, LookupTable | None] = (None, None)
    shape: tuple[int, int] | None = None

    @property
    def is_distorted(self) -> bool:
        """Whether any non-linear in-chip correction is present."""
        return self.sip_a is not None or any(t is not None for t in (*self.d2im, *self.cpdis))

    @property
    def pixel_scale(self) -> float:
        """Linear pixel scale, arcseconds per pixel (square root of ``|det CD|``)."""
        return math.sqrt(abs(float(np.linalg.det(self.cd)))) * 3600.0

    def native_to_celestial(self) -> NDArray[np.float64]:
        """Rotation matrix from native to celestial unit vectors (see :func:`rotation_matrix`)."""
        return rotation_matrix(self.crval, self.lonpole)

    def undistorted(self) -> TanModel:
        """The same frame without SIP and lookup-table distortion."""
        return attrs.evolve(self, sip_crpix=None, sip_a=None, sip_b=None,
                            d2im=(None, None), cpdis=(None, None))

    @classmethod
    def from_wcs(cls, wcs: Any) -> TanModel:
        """Extract the model of an astropy WCS.

        Parameters
        ----------
        wcs : astropy.wcs.WCS
            A 2-D celestial WCS, longitude first, TAN projection, optionally
            with SIP and D2IM/CPDIS lookup tables.

        Returns
        -------
        TanModel

        Raises
        ------
        UnsupportedWcsError
            With the reason, when the WCS is anything else.
        """
        prm = getattr(wcs, "wcs", None)
        if prm is None or not hasattr(prm, "ctype"):
            raise UnsupportedWcsError(f"{type(wcs).__name__} is not an astropy FITS WCS")
        if prm.naxis != 2:
            raise UnsupportedWcsError(f"WCS has {prm.naxis} axes, not 2")
        try:
            prm.set()
        except Exception as exc:  # wcslib raises its own error types
            raise UnsupportedWcsError(f"wcslib rejects the WCS: {exc}") from exc
        ctype = [str(c).upper() for c in prm.ctype]
        if prm.lng != 0 or prm.lat != 1:
            raise UnsupportedWcsError(f"celestial axes are not (longitude, latitude): CTYPE {ctype}")
        for c in ctype:
            if c[4:8] != "-TAN" or c[8:] not in ("", "-SIP"):
                raise UnsupportedWcsError(f"projection {c!r} is not TAN or TAN-SIP")
        if len(prm.get_pv()) or len(prm.get_ps()):
            raise UnsupportedWcsError("PV/PS projection parameters are not supported")
        lin = getattr(prm, "lin", None)
        if lin is not None and (getattr(lin, "dispre", None) is not None
                                or getattr(lin, "disseq", None) is not None):
            raise UnsupportedWcsError("wcslib distortion functions (DPja/DQia) are not supported")
        if [str(u) for u in prm.cunit] != ["deg", "deg"]:
            raise UnsupportedWcsError(f"celestial units {list(prm.cunit)} are not degrees")
        cd = np.diag(np.asarray(prm.get_cdelt(), dtype=np.float64)) @ np.asarray(prm.get_pc(), dtype=np.float64)
        if not np.all(np.isfinite(cd)) or np.linalg.det(cd) == 0:
            raise UnsupportedWcsError("the linear transformation is singular or not finite")
        crval = (float(prm.crval[0]), float(prm.crval[1]))
        lonpole = float(prm.lonpole)
        if not all(math.isfinite(v) for v in (*crval, lonpole)):
            raise UnsupportedWcsError("CRVAL or LONPOLE is not finite")

        sip = getattr(wcs, "sip", None)
        sip_crpix = sip_a = sip_b = None
        if sip is not None:
            if sip.a is None or sip.b is None:
                raise UnsupportedWcsError("SIP without both A and B polynomials")
            sip_a = _square(np.asarray(sip.a, dtype=np.float64))
            sip_b = _square(np.asarray(sip.b, dtype=np.float64))
            sip_crpix = (float(sip.crpix[0]), float(sip.crpix[1]))

        def table(name: str) -> LookupTable | None:
            t = getattr(wcs, name, None)
            return None if t is None else LookupTable.from_astropy(t)

        shape = getattr(wcs, "array_shape", None)
        return cls(
            crpix=(float(prm.crpix[0]), float(prm.crpix[1])),
            cd=cd,
            crval=crval,
            lonpole=lonpole,
            sip_crpix=sip_crpix,
            sip_a=sip_a,
            sip_b=sip_b,
            d2im=(table("det2im1"), table("det2im2")),
            cpdis=(table("cpdis1"), table("cpdis2")),
            shape=None if shape is None else (int(shape[0]), int(shape[1])),
        )


def _square(c: NDArray[np.float64]) -> NDArray[np.float64]:
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise UnsupportedWcsError(f"SIP coefficient array of shape {c.shape} is not square")
    if not np.all(np.isfinite(c)):
        raise UnsupportedWcsError("SIP coefficients are not finite")
    return np.ascontiguousarray(c)
