"""Detector geometry: where each chip looks and how it is distorted (TAN-SIP).

A :class:`DetectorGeometry` describes a detector in a *local frame* in which
the first chip's y axis points north: per chip, its reference pixel, its CD
matrix, the tangent-plane offset of its reference point from the detector's
centre, and its SIP polynomial. Placing the detector on the sky at a pointing
and position angle (:meth:`DetectorGeometry.chip_wcs_cards`) rotates that frame.

The geometry is read from a real exposure's header (:meth:`from_header`) when
one is available, else taken from the compact built-in table in
:mod:`.builtin_geometry` (coefficients up to third order measured from real
headers).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np

__all__ = ["ChipGeometry", "DetectorGeometry", "rotation", "tangent_offset", "tangent_point"]

SipTerms = Mapping[tuple[int, int], float]


def rotation(angle_deg: float) -> np.ndarray:
    """Matrix turning a tangent-plane vector's position angle by ``-angle_deg``.

    Applied to ``(xi, eta)`` (east, north) vectors: ``rotation(a) @ v`` has the
    position angle of ``v`` minus ``a``.
    """
    a = math.radians(angle_deg)
    return np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])


def tangent_offset(ra: float, dec: float, ra0: float, dec0: float) -> np.ndarray:
    """Gnomonic (xi, eta) of ``(ra, dec)`` about ``(ra0, dec0)``, in degrees."""
    ra_r, dec_r, ra0_r, dec0_r = map(math.radians, (ra, dec, ra0, dec0))
    cos_c = math.sin(dec0_r) * math.sin(dec_r) + math.cos(dec0_r) * math.cos(dec_r) * math.cos(ra_r - ra0_r)
    xi = math.cos(dec_r) * math.sin(ra_r - ra0_r) / cos_c
    eta = (math.cos(dec0_r) * math.sin(dec_r) - math.sin(dec0_r) * math.cos(dec_r) * math.cos(ra_r - ra0_r)) / cos_c
    return np.degrees([xi, eta])


def tangent_point(xi_eta_deg: np.ndarray, ra0: float, dec0: float) -> tuple[float, float]:
    """Inverse of :func:`tangent_offset`: the sky position at a gnomonic offset."""
    xi, eta = np.radians(np.asarray(xi_eta_deg, dtype=float))
    ra0_r, dec0_r = math.radians(ra0), math.radians(dec0)
    rho = math.hypot(xi, eta)
    if rho == 0:
        return ra0, dec0
    c = math.atan(rho)
    dec = math.asin(math.cos(c) * math.sin(dec0_r) + eta * math.sin(c) * math.cos(dec0_r) / rho)
    denominator = rho * math.cos(dec0_r) * math.cos(c) - eta * math.sin(dec0_r) * math.sin(c)
    ra = ra0_r + math.atan2(xi * math.sin(c), denominator)
    return math.degrees(ra) % 360.0, math.degrees(dec)


def _sip_dict(value: Any) -> dict[tuple[int, int], float]:
    return {(int(i), int(j)): float(c) for (i, j), c in dict(value).items()}


@attrs.frozen
class ChipGeometry:
    """One chip in the detector's local frame.

    Attributes
    ----------
    extver : int
        SCI extension version.
    ccdchip : int or None
        CCDCHIP value.
    full_shape : tuple of int
        Full-frame ``(ny, nx)``.
    crpix : tuple of float
        Full-frame reference pixel (FITS, 1-based).
    cd : tuple
        2x2 CD matrix in degrees/pixel, in the local frame.
    offset : tuple of float
        Tangent-plane offset (xi, eta) in degrees of the chip's reference
        point from the detector centre, in the local frame.
    sip_a, sip_b : mapping
        SIP coefficients ``{(p, q): value}`` of orders 2 and up.
    """

    extver: int
    ccdchip: int | None
    full_shape: tuple[int, int]
    crpix: tuple[float, float]
    cd: tuple[tuple[float, float], tuple[float, float]]
    offset: tuple[float, float]
    sip_a: SipTerms = attrs.field(converter=_sip_dict)
    sip_b: SipTerms = attrs.field(converter=_sip_dict)

    @property
    def sip_order(self) -> int:
        """Highest total order of the SIP terms (0 without SIP)."""
        return max((p + q for p, q in (*self.sip_a, *self.sip_b)), default=0)

    def distortion(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """SIP offsets ``(f, g)`` in pixels at 1-based full-frame pixel positions."""
        u = np.asarray(x, dtype=float) - self.crpix[0]
        v = np.asarray(y, dtype=float) - self.crpix[1]
        f = sum((c * u**p * v**q for (p, q), c in self.sip_a.items()), np.zeros_like(u))
        g = sum((c * u**p * v**q for (p, q), c in self.sip_b.items()), np.zeros_like(u))
        return f, g


@attrs.frozen
class DetectorGeometry:
    """All chips of a detector in its local frame.

    Attributes
    ----------
    name : str
        Instrument name.
    chips : tuple of ChipGeometry
        In SCI extension order.
    source : str
        Where the geometry comes from (a file name or ``"built-in"``).
    """

    name: str
    chips: tuple[ChipGeometry, ...]
    source: str

    @classmethod
    def from_header(cls, name: str, path: str | Path, *, max_order: int | None = None) -> DetectorGeometry:
        """Measure the geometry of a real exposure (its SCI headers' TAN-SIP WCS).

        Parameters
        ----------
        name : str
            Instrument name to record.
        path : str or Path
            A FITS file with one SCI extension per chip (pixels are not read).
        max_order : int, optional
            Drop SIP terms above this total order.

        Returns
        -------
        DetectorGeometry
        """
        from astropy.io import fits

        headers = []
        with fits.open(path, mode="readonly") as hdul:
            for hdu in hdul[1:]:
                if hdu.name == "SCI":
                    headers.append((int(hdu.ver), hdu.header.copy()))
        if not headers:
            raise ValueError(f"{path} has no SCI extension")
        cds = [np.array([[h["CD1_1"], h["CD1_2"]], [h["CD2_1"], h["CD2_2"]]], dtype=float) for _, h in headers]
        angle = math.degrees(math.atan2(cds[0][0, 1], cds[0][1, 1]))
        to_local = rotation(angle)
        ras = np.array([h["CRVAL1"] for _, h in headers], dtype=float)
        decs = np.array([h["CRVAL2"] for _, h in headers], dtype=float)
        offsets = [tangent_offset(r, d, ras[0], decs[0]) for r, d in zip(ras, decs, strict=True)]
        ra0, dec0 = tangent_point(np.mean(offsets, axis=0), ras[0], decs[0])
        chips = []
        for (extver, header), cd in zip(headers, cds, strict=True):
            offset = to_local @ tangent_offset(header["CRVAL1"], header["CRVAL2"], ra0, dec0)
            local_cd = to_local @ cd
            nx = int(header.get("NAXIS1", 0))
            ny = int(header.get("NAXIS2", 0))
            chips.append(
                ChipGeometry(
                    extver=extver,
                    ccdchip=header.get("CCDCHIP"),
                    full_shape=(ny, nx),
                    crpix=(float(header["CRPIX1"]), float(header["CRPIX2"])),
                    cd=(tuple(local_cd[0]), tuple(local_cd[1])),
                    offset=(float(offset[0]), float(offset[1])),
                    sip_a=_read_sip(header, "A", max_order),
                    sip_b=_read_sip(header, "B", max_order),
                )
            )
        return cls(name=name, chips=tuple(chips), source=str(path))

    def with_full_shapes(self, shapes: Mapping[int, tuple[int, int]]) -> DetectorGeometry:
        """Return a copy whose chips have the given full-frame shapes (by extver)."""
        chips = tuple(
            attrs.evolve(chip, full_shape=tuple(shapes.get(chip.extver, chip.full_shape))) for chip in self.chips
        )
        return attrs.evolve(self, chips=chips)

    def chip_wcs_cards(
        self, chip: ChipGeometry, *, ra: float, dec: float, pa: float, origin: tuple[int, int] = (0, 0)
    ) -> dict[str, Any]:
        """FITS WCS cards of one chip with the detector centre at ``(ra, dec)``.

        Parameters
        ----------
        chip : ChipGeometry
            One of :attr:`chips`.
        ra, dec : float
            Sky position of the detector centre in degrees.
        pa : float
            Position angle (degrees east of north) of the first chip's y axis.
        origin : tuple of int
            0-based ``(x0, y0)`` of a subarray's first pixel in the full chip.

        Returns
        -------
        dict
            CTYPE, CRPIX, CRVAL, CD and SIP cards, plus ORIENTAT.
        """
        to_sky = rotation(-pa)
        cd = to_sky @ np.array(chip.cd)
        crval = tangent_point(to_sky @ np.array(chip.offset), ra, dec)
        sip = bool(chip.sip_a or chip.sip_b)
        cards: dict[str, Any] = {
            "WCSAXES": 2,
            "CTYPE1": "RA---TAN-SIP" if sip else "RA---TAN",
            "CTYPE2": "DEC--TAN-SIP" if sip else "DEC--TAN",
            "CRPIX1": chip.crpix[0] - origin[0],
            "CRPIX2": chip.crpix[1] - origin[1],
            "CRVAL1": crval[0],
            "CRVAL2": crval[1],
            "CD1_1": cd[0, 0],
            "CD1_2": cd[0, 1],
            "CD2_1": cd[1, 0],
            "CD2_2": cd[1, 1],
            "ORIENTAT": math.degrees(math.atan2(cd[0, 1], cd[1, 1])),
        }
        if sip:
            order = chip.sip_order
            cards["A_ORDER"] = order
            cards.update({f"A_{p}_{q}": value for (p, q), value in sorted(chip.sip_a.items())})
            cards["B_ORDER"] = order
            cards.update({f"B_{p}_{q}": value for (p, q), value in sorted(chip.sip_b.items())})
        return cards

    def local_position(self, chip: ChipGeometry, x: float, y: float) -> np.ndarray:
        """Local-frame tangent-plane position (degrees, linear part) of a full-frame pixel."""
        return np.array(chip.offset) + np.array(chip.cd) @ np.array([x - chip.crpix[0], y - chip.crpix[1]])


def _read_sip(header: Any, letter: str, max_order: int | None) -> dict[tuple[int, int], float]:
    order = int(header.get(f"{letter}_ORDER", 0) or 0)
    if max_order is not None:
        order = min(order, max_order)
    terms = {}
    for p in range(order + 1):
        for q in range(order + 1 - p):
            key = f"{letter}_{p}_{q}"
            if p + q >= 2 and key in header and header[key] != 0:
                terms[(p, q)] = float(header[key])
    return terms
