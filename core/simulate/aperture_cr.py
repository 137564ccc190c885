"""How much cosmic-ray charge fell inside each star's photometry aperture, from the simulator's truth.

A drizzled image averages the exposures that saw a star, so cosmic-ray charge
that no mask removes adds ``charge / exptime / n_exposures`` to the star's
measured rate. :func:`aperture_cosmic_ray_fraction` gives that amount relative
to the star's true rate, as if no cosmic ray had been flagged: it depends only
on the truth, so it splits the stars the same way for every tool. Stars for
which it is negligible measure the drizzle's photometry alone; on the others
the measurement also depends on which cosmic rays the masks caught, including
the faint edges of events that no detection can reach.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["aperture_cosmic_ray_fraction"]


def aperture_cosmic_ray_fraction(
    charge: Mapping[Hashable, ArrayLike],
    keys: Sequence[Hashable],
    star: ArrayLike,
    x: ArrayLike,
    y: ArrayLike,
    *,
    exposure: Sequence[Hashable],
    rate: ArrayLike,
    exptime: float,
    radius: float,
) -> NDArray[np.float64]:
    """Cosmic-ray charge inside circles around stars, as a fraction of their true rates.

    Each *sighting* is one star on one chip of one exposure. For every star,
    the charge of the pixels whose centres lie within ``radius`` of each of
    its sightings is summed, divided by the exposure time and by the number of
    exposures that saw the star (what averaging the exposures does to it), and
    by the star's true rate.

    Parameters
    ----------
    charge : mapping
        Per chip key, the electrons each pixel received from cosmic rays.
    keys : sequence
        Per sighting, the chip key (sightings on chips missing from ``charge``
        count no charge).
    star : array_like of int
        Per sighting, the star's index into ``rate``.
    x, y : array_like
        Per sighting, the star's 0-based position on the chip.
    exposure : sequence
        Per sighting, the exposure (two chips of one exposure count once).
    rate : array_like
        True count rate of every star, electrons/s.
    exptime : float
        Seconds per exposure.
    radius : float
        Aperture radius in chip pixels.

    Returns
    -------
    numpy.ndarray
        One value per star; NaN for stars without sightings.
    """
    from scipy.spatial import cKDTree

    rates = np.asarray(rate, dtype=float)
    index = np.asarray(star, dtype=np.int64)
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    collected = np.zeros(rates.shape)
    for key in dict.fromkeys(keys):
        if key not in charge:
            continue
        deposit = np.asarray(charge[key], dtype=float)
        hit_y, hit_x = np.nonzero(deposit > 0)
        if hit_x.size == 0:
            continue
        tree = cKDTree(np.column_stack([hit_x, hit_y]).astype(float))
        values = deposit[hit_y, hit_x]
        rows = np.flatnonzero(np.fromiter((k == key for k in keys), dtype=bool, count=len(keys)))
        for row, near in zip(rows, tree.query_ball_point(np.column_stack([xs[rows], ys[rows]]), radius), strict=True):
            if near:
                collected[index[row]] += float(values[near].sum())
    pairs = set(zip(index.tolist(), exposure, strict=True))
    seen = np.bincount([s for s, _ in pairs], minlength=rates.size).astype(float)[: rates.size]
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = collected / (exptime * seen * rates)
    fraction[seen == 0] = math.nan
    return fraction
