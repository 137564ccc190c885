"""Per-chip inputs the built-in stages share: names, masks and unit factors.

Every chip of every exposure is known to the stages by a key
``<rootname>_sci<N>`` (``"idrz0101q_sci1"``), the prefix of AstroDrizzle's
per-chip file names (``<rootname>_sci<N>_blt.fits``,
``<rootname>_sci<N>_crmask.fits``).

Pixel values move between three units:

* the data's own units (``BUNIT``: electrons, electrons/s, counts or
  counts/s), in which sky values are recorded and blotted images written;
* electrons/s, in which every image is drizzled (``rate_factor``);
* electrons, in which the cosmic-ray noise model works (``Chip.to_electrons``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from drizrun.core.errors import InputError

__all__ = [
    "artifact_or_none",
    "chip_key",
    "chip_sky",
    "dq_good",
    "good_pixels",
    "rate_factor",
    "rate_image",
    "static_for",
    "valid_bits",
]


def valid_bits(_instance: Any, _attribute: Any, value: Any) -> None:
    """attrs validator of a ``bits`` parameter: a sum of DQ flags, or ``None``."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"must be a non-negative integer (a sum of DQ flags) or unset, got {value!r}")


def chip_key(exposure: Any, chip: Any) -> str:
    """Return the key of one chip, ``<rootname>_sci<extver>``.

    Parameters
    ----------
    exposure : Exposure
        The exposure the chip belongs to.
    chip : Chip
        The chip.

    Returns
    -------
    str
    """
    return f"{exposure.rootname}_sci{chip.extver}"


def dq_good(dq: NDArray[Any] | None, bits: int | None) -> NDArray[np.bool_] | None:
    """Pixels whose DQ flags are all among the ``bits`` treated as good.

    Parameters
    ----------
    dq : ndarray of integer or None
        The chip's DQ array (``None``: no DQ array).
    bits : int or None
        Sum of the DQ flags to ignore (AstroDrizzle's ``*_bits``): 0 makes
        every flagged pixel bad; ``None`` ignores the DQ array altogether.

    Returns
    -------
    ndarray of bool or None
        ``True`` for good pixels, or ``None`` when every pixel is good.
    """
    if dq is None or bits is None:
        return None
    flags = np.asarray(dq)
    if flags.dtype.kind not in "iu":
        flags = flags.astype(np.int64)
    return (flags & ~np.int64(bits).astype(flags.dtype)) == 0


def good_pixels(
    sci: NDArray[Any],
    dq: NDArray[Any] | None,
    bits: int | None,
    *,
    static: NDArray[Any] | None = None,
    extra_bad: NDArray[Any] | None = None,
) -> NDArray[np.bool_]:
    """Good-pixel mask of a chip: finite data, good DQ, static mask, no cosmic ray.

    Parameters
    ----------
    sci : ndarray
        Science array.
    dq : ndarray or None
        DQ array.
    bits : int or None
        DQ flags treated as good (see :func:`dq_good`).
    static : ndarray, optional
        Static mask of the chip's signature (``True``/1 = good).
    extra_bad : ndarray, optional
        More pixels to reject (``True`` = bad), e.g. a cosmic-ray mask.

    Returns
    -------
    ndarray of bool
    """
    good = np.isfinite(sci)
    from_dq = dq_good(dq, bits)
    if from_dq is not None:
        good &= from_dq
    if static is not None:
        good &= np.asarray(static).astype(bool)
    if extra_bad is not None:
        good &= ~np.asarray(extra_bad).astype(bool)
    return good


def rate_factor(chip: Any) -> float:
    """Factor that turns the chip's data into electrons per second.

    Parameters
    ----------
    chip : Chip
        The chip (its units, exposure time and gain).

    Returns
    -------
    float

    Raises
    ------
    InputError
        If the exposure time is not positive.
    """
    if not chip.exptime > 0:
        raise InputError(
            f"{chip.path}[SCI,{chip.extver}]: exposure time {chip.exptime!r} s; cannot convert to electrons/s"
        )
    return float(chip.to_electrons) / float(chip.exptime)


def rate_image(
    sci: NDArray[Any], subtracted: float, factor: float, *, out: NDArray[np.float32] | None = None
) -> NDArray[np.float32]:
    """A chip's sky-subtracted data in electrons/s, as a new float32 array.

    Parameters
    ----------
    sci : ndarray
        The chip's science array as stored (any real dtype and byte order);
        not modified.
    subtracted : float
        Sky to subtract, in the data's units.
    factor : float
        :func:`rate_factor` of the chip.
    out : ndarray of float32, optional
        Native float32 array of ``sci``'s shape to write into (a new array by
        default).

    Returns
    -------
    ndarray of float32
        ``(sci - subtracted) * factor`` in float32 arithmetic, computed in the
        one array it returns (``out`` when given).
    """
    if out is None:
        rate = np.array(sci, dtype=np.float32, copy=True)
    else:
        if out.shape != np.shape(sci) or out.dtype != np.dtype(np.float32):
            raise ValueError(f"out must be native float32 of shape {np.shape(sci)}, got {out.dtype} {out.shape}")
        rate = out
        np.copyto(rate, sci, casting="same_kind")
    with np.errstate(invalid="ignore"):  # NaN bytes in damaged data are masked by the callers
        rate -= np.float32(subtracted)
        rate *= np.float32(factor)
    return rate


def static_for(static_masks: Mapping[str, Any] | None, chip: Any) -> NDArray[Any] | None:
    """Static mask of the chip's signature, or ``None``.

    Parameters
    ----------
    static_masks : mapping or None
        The ``static_mask`` artifact (signature label → good-pixel array).
    chip : Chip
        The chip.

    Returns
    -------
    ndarray or None
    """
    if not static_masks:
        return None
    mask = static_masks.get(chip.signature.label())
    if mask is None or np.shape(mask) != tuple(chip.shape):
        return None
    return np.asarray(mask)


def chip_sky(sky: Mapping[str, Any] | None, key: str) -> tuple[float, float]:
    """Sky of one chip from the ``sky`` artifact, in the chip's data units.

    Parameters
    ----------
    sky : mapping or None
        The ``sky`` artifact (``{key: {"computed": float, "subtracted": float}}``),
        or ``None`` when no sky stage ran.
    key : str
        The chip's key (:func:`chip_key`).

    Returns
    -------
    computed, subtracted : float
        The sky level found, and the level to subtract (0 when the sky is
        only measured); both 0 without a sky stage.
    """
    if not sky or key not in sky:
        return 0.0, 0.0
    entry = sky[key]
    return float(entry.get("computed", 0.0)), float(entry.get("subtracted", 0.0))


def artifact_or_none(ctx: Any, name: str) -> Any:
    """Return an artifact an earlier stage made, or ``None`` when it was not made."""
    return ctx.artifacts.get(name) if ctx.artifacts.has(name) else None
