"""Detector effects: sky, dark, Poisson and read noise, saturation, hot pixels, bad columns.

The image is built in electrons as a calibrated (FLT) file holds it: bias and
dark have been subtracted, so the dark current only adds its Poisson noise;
the sky stays in. Saturated charge bleeds along columns, as on the CCDs.
"""

from __future__ import annotations

import attrs
import numpy as np

__all__ = ["DefectMap", "add_noise", "bleed_saturation", "make_defects"]


@attrs.frozen(eq=False)
class DefectMap:
    """Hot pixels and bad columns of one chip.

    Attributes
    ----------
    hot : numpy.ndarray of bool
        Hot pixels.
    hot_rate : numpy.ndarray
        Excess dark rate of each pixel in electrons/s (0 where not hot).
    bad : numpy.ndarray of bool
        Pixels of bad columns (and isolated bad pixels).
    """

    hot: np.ndarray
    hot_rate: np.ndarray
    bad: np.ndarray


def make_defects(
    shape: tuple[int, int], *, hot_fraction: float, bad_columns: int, rng: np.random.Generator
) -> DefectMap:
    """Draw hot pixels (log-uniform 0.02-2 e-/s excess dark) and bad column segments.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)``.
    hot_fraction : float
        Fraction of pixels that are hot.
    bad_columns : int
        Number of bad column segments.
    rng : numpy.random.Generator
        Random generator.

    Returns
    -------
    DefectMap
    """
    ny, nx = shape
    hot = rng.uniform(size=shape) < hot_fraction
    hot_rate = np.zeros(shape)
    hot_rate[hot] = 10.0 ** rng.uniform(np.log10(0.02), np.log10(2.0), size=int(hot.sum()))
    bad = np.zeros(shape, dtype=bool)
    for _ in range(bad_columns):
        column = int(rng.integers(0, nx))
        start = int(rng.integers(0, max(1, ny // 2)))
        stop = int(rng.integers(start + max(1, ny // 4), ny + 1)) if start + max(1, ny // 4) < ny else ny
        bad[start:stop, column] = True
    return DefectMap(hot=hot, hot_rate=hot_rate, bad=bad)


def add_noise(signal: np.ndarray, *, dark: np.ndarray, read_noise: float, rng: np.random.Generator) -> np.ndarray:
    """Return a noisy, dark-subtracted image in electrons.

    Parameters
    ----------
    signal : numpy.ndarray
        Expected electrons from sky and sources (non-negative).
    dark : numpy.ndarray or float
        Expected dark electrons (including hot pixels); subtracted after the
        Poisson draw, as calibration does with a dark reference file.
    read_noise : float
        Gaussian read noise in electrons.
    rng : numpy.random.Generator
        Random generator.
    """
    total = np.clip(signal + dark, 0.0, None)
    image = rng.poisson(total).astype(np.float64) - dark
    if read_noise > 0:
        image += rng.normal(0.0, read_noise, size=signal.shape)
    return image


def bleed_saturation(image: np.ndarray, full_well: float) -> np.ndarray:
    """Cap pixels at the full well, moving the excess charge up and down the column.

    Parameters
    ----------
    image : numpy.ndarray
        Electrons, modified in place.
    full_well : float
        Saturation level in electrons.

    Returns
    -------
    numpy.ndarray of bool
        Pixels at (or pushed to) the full well.
    """
    saturated = image >= full_well
    for column in np.flatnonzero(saturated.any(axis=0)):
        values = image[:, column]
        rows = np.flatnonzero(values > full_well)
        if rows.size == 0:
            continue
        half = float((values[rows] - full_well).sum()) / 2.0
        values[rows] = full_well
        _spill(values, int(rows.max()) + 1, 1, half, full_well)
        _spill(values, int(rows.min()) - 1, -1, half, full_well)
    return image >= full_well * (1.0 - 1e-9)


def _spill(values: np.ndarray, row: int, step: int, excess: float, full_well: float) -> None:
    """Fill a column from ``row`` in direction ``step`` up to the full well; charge past the edge is lost."""
    while excess > 0 and 0 <= row < values.shape[0]:
        take = min(max(full_well - values[row], 0.0), excess)
        values[row] += take
        excess -= take
        row += step
