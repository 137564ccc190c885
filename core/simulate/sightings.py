"""What the drizzle model of a product needs: each star's sightings and the pixels the drizzle used.

:func:`~drizrun.core.simulate.drizzle_fit.drizzle_model_centroid` models a
star on a drizzled image from the exposures that saw it. For each star this
module gives, from the simulator's truth and the tool's products:

* where the star fell on each chip (the truth of the simulator);
* the local linear map from that chip's pixels to the product's pixels,
  from the exposure's WCS (with all its distortion) and the product's WCS;
* the chip's pixels the tool's final drizzle used (:func:`usable_pixels`):
  AstroDrizzle records them in ``<root>_sci<N>_final_mask.fits`` (its
  ``D###MASK`` keywords name them); for drizrun they follow from the
  configuration recorded in the product (``final.bits``,
  ``final.use_static``), the static mask ``<output>_staticMask.fits`` and
  the cosmic-ray masks ``<root>_sci<N>_crmask.fits``. Pixels left out in
  ways these files do not record show up as a mismatch with the product's
  weight image, and the star is then not measured.
"""

from __future__ import annotations

import tomllib
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .drizzle_fit import Sighting

__all__ = ["StarSightings", "drizrun_final_settings", "read_chip_wcs", "usable_pixels"]

_CONFIG_PREFIX = "drizrun config: "


def drizrun_final_settings(primary_header: Any) -> tuple[int, bool] | None:
    """``(final.bits, final.use_static)`` from the configuration a drizrun product records.

    Returns
    -------
    tuple or None
        None when the header holds no drizrun configuration.
    """
    lines = [str(card)[len(_CONFIG_PREFIX):] for card in primary_header.get("HISTORY", [])
             if str(card).startswith(_CONFIG_PREFIX)]
    if not lines:
        return None
    try:
        final = tomllib.loads("\n".join(lines)).get("final", {})
    except tomllib.TOMLDecodeError:
        return None
    bits = final.get("bits", 0)
    return (int(bits) if isinstance(bits, int) else 0), bool(final.get("use_static", True))


def _static_masks(path: Path) -> dict[str, NDArray[np.bool_]]:
    from astropy.io import fits

    if not path.is_file():
        return {}
    with fits.open(path) as hdul:
        return {str(hdu.header.get("DRZKEY", hdu.name)): np.asarray(hdu.data) != 0
                for hdu in hdul[1:] if hdu.data is not None}


def usable_pixels(
    workdir: str | Path,
    product: str,
    exposures: Iterable[str | Path],
    primary_header: Any,
) -> dict[tuple[str, int], NDArray[np.bool_]]:
    """The pixels of every chip that a tool's final drizzle used.

    Parameters
    ----------
    workdir : str or Path
        Directory of the tool's products.
    product : str
        Output root of the products.
    exposures : iterable of path
        The original exposures (their DQ arrays are the truth of the flags).
    primary_header : astropy.io.fits.Header
        Primary header of the drizzled product.

    Returns
    -------
    dict
        ``(rootname, extver) -> usable`` (bool, chip shape).
    """
    from astropy.io import fits

    from .scoring import read_crmasks, read_final_masks

    workdir = Path(workdir)
    left_out = read_final_masks(workdir)
    cr_flags = read_crmasks(workdir)
    settings = drizrun_final_settings(primary_header)
    bits, use_static = settings if settings is not None else (0, False)
    static = _static_masks(workdir / f"{product}_staticMask.fits") if use_static else {}
    usable: dict[tuple[str, int], NDArray[np.bool_]] = {}
    for exposure in exposures:
        with fits.open(exposure) as hdul:
            root = str(hdul[0].header["ROOTNAME"]).lower()
            for hdu in hdul:
                if hdu.name != "DQ":
                    continue
                key = (root, int(hdu.ver))
                if key in left_out:
                    usable[key] = ~left_out[key]
                    continue
                dq = np.asarray(hdu.data).astype(np.int64)
                good = (dq & ~np.int64(bits)) == 0
                flagged = cr_flags.get(key)
                if flagged is not None and flagged.shape == good.shape:
                    good &= ~flagged
                suffix = f"_{dq.shape[0]}x{dq.shape[1]}_{key[1]}"
                for label, mask in static.items():
                    if label.endswith(suffix) and mask.shape == good.shape:
                        good &= mask
                usable[key] = good
    return usable


def read_chip_wcs(exposures: Iterable[str | Path]) -> dict[tuple[str, int], Any]:
    """The WCS of every chip of the exposures, with all its distortion.

    Returns
    -------
    dict
        ``(rootname, extver) -> astropy.wcs.WCS``.
    """
    from astropy.io import fits
    from astropy.wcs import WCS, FITSFixedWarning

    out = {}
    for exposure in exposures:
        with fits.open(exposure) as hdul, warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            root = str(hdul[0].header["ROOTNAME"]).lower()
            for hdu in hdul:
                if hdu.name == "SCI":
                    out[(root, int(hdu.ver))] = WCS(hdu.header, hdul)
    return out


class StarSightings:
    """Every star's sightings on the chips, mapped onto one product.

    Parameters
    ----------
    keys : list of tuple
        ``(rootname, extver)`` of each sighting.
    star : numpy.ndarray
        Star index of each sighting.
    x, y : numpy.ndarray
        True 0-based detector position of each sighting.
    chip_wcs : mapping
        :func:`read_chip_wcs` of the exposures.
    product_wcs : astropy.wcs.WCS
        WCS of the product's SCI image.
    usable : mapping
        :func:`usable_pixels` of the product.
    weights : mapping, optional
        Drizzle weight per rootname (default 1 for all).
    """

    def __init__(
        self,
        keys: list[tuple[str, int]],
        star: NDArray[np.int64],
        x: NDArray[np.float64],
        y: NDArray[np.float64],
        *,
        chip_wcs: Mapping[tuple[str, int], Any],
        product_wcs: Any,
        usable: Mapping[tuple[str, int], NDArray[np.bool_]],
        weights: Mapping[str, float] | None = None,
    ) -> None:
        self._keys = list(keys)
        self._star = np.asarray(star, dtype=np.int64)
        self._x = np.asarray(x, dtype=np.float64)
        self._y = np.asarray(y, dtype=np.float64)
        self._chip_wcs = chip_wcs
        self._product_wcs = product_wcs
        self._usable = usable
        self._weights = dict(weights or {})

    def to_output(self, key: tuple[str, int], x: float, y: float, step: float = 0.5) -> NDArray[np.float64]:
        """Derivative of the product's pixel position with respect to chip ``key``'s, at ``(x, y)``."""
        wcs = self._chip_wcs[key]
        px = np.array([x + step, x - step, x, x])
        py = np.array([y, y, y + step, y - step])
        ra, dec = wcs.all_pix2world(px, py, 0)
        ox, oy = self._product_wcs.all_world2pix(ra, dec, 0, quiet=True)
        return np.array([[ox[0] - ox[1], ox[2] - ox[3]], [oy[0] - oy[1], oy[2] - oy[3]]]) / (2.0 * step)

    def for_star(self, k: int) -> list[Sighting]:
        """The sightings of star ``k`` on chips whose used pixels are known."""
        sightings = []
        for i in np.flatnonzero(self._star == k):
            key = self._keys[i]
            if key not in self._usable or key not in self._chip_wcs:
                continue
            x, y = float(self._x[i]), float(self._y[i])
            sightings.append(Sighting(x=x, y=y, to_output=self.to_output(key, x, y), usable=self._usable[key],
                                      weight=self._weights.get(key[0], 1.0)))
        return sightings
