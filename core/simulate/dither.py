"""Dither patterns: pointing offsets between the exposures of a visit.

Offsets are in detector pixels along the first chip's axes (HST's POS TARG
frame, ignoring its small skew). Each pattern combines a large step that moves
sources across defects and the inter-chip gap with sub-pixel phases that
sample the PSF, like the standard WFC3 and ACS box and line patterns: the box
visits the four half-pixel phases (0, 0), (½, 0), (½, ½), (0, ½) on a
parallelogram of side ``step``.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DitherPattern", "dither_offsets"]


class DitherPattern(StrEnum):
    """The patterns the simulator knows.

    ``BOX``: four points on a parallelogram at the four half-pixel phases
    (repeated with a shift of a third of a pixel beyond four exposures). ``LINE``: points along a
    line stepping by ``step + 1/N`` pixels. ``NONE``: all exposures at the
    same pointing (a CR-SPLIT).
    """

    BOX = "box"
    LINE = "line"
    NONE = "none"


def dither_offsets(pattern: DitherPattern | str, n: int, step: float) -> list[tuple[float, float]]:
    """Return ``n`` pixel offsets ``(dx, dy)`` for a pattern.

    Parameters
    ----------
    pattern : DitherPattern or str
        ``"box"``, ``"line"`` or ``"none"``.
    n : int
        Number of exposures (at least 1).
    step : float
        Size of the large step in pixels.

    Returns
    -------
    list of tuple of float
        The first offset is always ``(0, 0)``.
    """
    pattern = DitherPattern(pattern)
    if n < 1:
        raise ValueError(f"a visit needs at least one exposure, got {n}")
    if pattern is DitherPattern.NONE:
        return [(0.0, 0.0)] * n
    if pattern is DitherPattern.LINE:
        return [(i * (step + 1.0 / n), i * (0.5 * step + 0.5)) for i in range(n)]
    big = float(round(step))
    quarter, three_quarters = float(round(0.25 * step)), float(round(0.75 * step))
    corners = [(0.0, 0.0), (big + 0.5, quarter), (three_quarters + 0.5, big + 0.5), (-quarter, three_quarters + 0.5)]
    offsets = []
    for i in range(n):
        cycle, corner = divmod(i, 4)
        dx, dy = corners[corner]
        offsets.append((dx + cycle * (round(step / 3.0) + 1.0 / 3.0), dy + cycle * (round(step / 5.0) + 1.0 / 3.0)))
    return offsets
