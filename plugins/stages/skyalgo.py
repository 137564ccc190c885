"""Sky levels of exposures: local and global minima, matching, and both combined.

Every function works on exposures given as sequences of :class:`SkyChip`
(pixel values in one brightness unit common to all inputs, e.g. electrons/s
per pixel, a good-pixel mask, the WCS with the full distortion, and the
pixel area). Sky values are returned **per unit area** (data units per square
arcsecond), so chips and exposures with different pixel scales compare
directly; :meth:`SkyChip.per_pixel` and :meth:`SkyResult.per_pixel` convert
them back to the value to subtract from each chip's pixels.

Every statistic is the iteratively clipped statistic of
:func:`~drizrun.plugins.stages.imstats.clipped_stats`, configured by a
:class:`SkyStat`. Pixels that are not ``good`` or not finite never enter a
statistic; neither do values outside ``[lower, upper]`` (the hard limits,
in the chips' per-pixel data units).

Methods (reference-pipelines §2.3):

``localmin``
    Each chip's statistic, per unit area; an exposure's sky is the minimum
    over its chips.
``globalmin``
    The minimum of the ``localmin`` values over all exposures, for every
    exposure.
``match``
    Relative offsets δ from the statistics of every pair of overlapping
    exposures inside their overlap, solved by weighted least squares, shifted
    so that the smallest δ is 0. Overlaps are found with the exact pixel maps
    of the distorted chips (:mod:`drizrun.core.geometry.pixmap`).
``globalmin+match``
    ``sky_i = δ_i + min_k(own_k - δ_k)`` with ``own_k`` the ``localmin``
    value of exposure k.

Choices that differ from AstroDrizzle:

* AstroDrizzle's ``localmin`` takes the statistic of the whole chip, which a
  large galaxy filling the chip biases high. With ``box`` the chip is cut
  into ``box x box`` cells and its sky is the lowest cell statistic (the
  same "darkest region" idea as the minimum over chips); see
  :func:`chip_sky`.
* Exposures whose overlaps do not link them all into one group are matched
  within each group (gauge ``min δ = 0`` per group) and the groups are
  reported; exposures in no equation are reported unsolved, with a reason,
  instead of getting an offset silently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import attrs
import numpy as np
from numpy.typing import NDArray

from ...core.geometry.errors import UnsupportedWcsError
from ...core.geometry.footprint import chip_footprint, sky_unit_vectors
from ...core.geometry.pixmap import astropy_pixmap, calc_pixmap, model_pixmap
from ...core.geometry.wcsmodel import TanModel
from ...core.parallel import ordered_map
from .imstats import ClippedStats, clipped_stats

__all__ = [
    "DEFAULT_STAT",
    "SKY_METHODS",
    "ChipSky",
    "ExposureSky",
    "MatchResult",
    "PairSky",
    "SkyChip",
    "SkyResult",
    "SkyStat",
    "chip_sky",
    "compute_sky",
    "exposure_sky",
    "global_min_match_sky",
    "global_min_sky",
    "local_min_sky",
    "match_sky",
    "sampling_step",
    "wcs_pixel_area",
]

#: The sky methods :func:`compute_sky` knows.
SKY_METHODS = ("localmin", "globalmin", "match", "globalmin+match")

SkyMethod = Literal["localmin", "globalmin", "match", "globalmin+match"]

_NAN = float("nan")


# --------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------


def _as_2d_float(value: Any) -> NDArray[np.floating]:
    a = np.asarray(value)
    if a.ndim != 2:
        raise ValueError(f"sky chip data must be 2-D, got shape {a.shape}")
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    return a


def _as_bool(value: Any) -> NDArray[np.bool_]:
    return np.asarray(value, dtype=bool)


def _check_good(instance: SkyChip, attribute: attrs.Attribute, value: NDArray[np.bool_]) -> None:
    if value.shape != instance.data.shape:
        raise ValueError(f"good mask shape {value.shape} differs from data shape {instance.data.shape}")


def _check_area(instance: SkyChip, attribute: attrs.Attribute, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"pixel_area must be a positive number of square arcseconds, got {value}")


@attrs.frozen(eq=False)
class SkyChip:
    """One chip of one exposure, as the sky computation needs it.

    Attributes
    ----------
    data : ndarray, shape (ny, nx)
        Pixel values; times `scale` they are in a brightness unit common to
        every chip of every exposure (e.g. electrons/s per pixel). A
        memory-mapped array stays memory-mapped: only the pixels a statistic
        needs are read and scaled.
    good : ndarray of bool, shape (ny, nx)
        ``True`` where a pixel may be used for the sky (DQ, static mask...).
        Non-finite values in `data` are unusable whatever `good` says.
    wcs : astropy.wcs.WCS
        The chip's WCS with its full distortion (used to find overlaps).
    pixel_area : float
        Area of one pixel, square arcseconds (see :func:`wcs_pixel_area`).
    label : str
        Name used in messages (``"j8bt06nyq_flt.fits[SCI,1]"``).
    scale : float
        Factor from `data` to the common unit (positive; default 1).
    """

    data: NDArray[np.floating] = attrs.field(converter=_as_2d_float, repr=False)
    good: NDArray[np.bool_] = attrs.field(converter=_as_bool, validator=_check_good, repr=False)
    wcs: Any = attrs.field(repr=False)
    pixel_area: float = attrs.field(converter=float, validator=_check_area)
    label: str = ""
    scale: float = attrs.field(default=1.0, converter=float, validator=_check_area)

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)`` of the chip."""
        ny, nx = self.data.shape
        return int(ny), int(nx)

    def per_pixel(self, sky_per_area: float) -> float:
        """Convert a sky value per square arcsecond to this chip's value per pixel."""
        return float(sky_per_area) * self.pixel_area

    def per_area(self, sky_per_pixel: float) -> float:
        """Convert a sky value per pixel of this chip to a value per square arcsecond."""
        return float(sky_per_pixel) / self.pixel_area


def wcs_pixel_area(wcs: Any) -> float:
    """Area of a pixel at the reference point of a WCS, square arcseconds.

    The determinant of the linear part (CD matrix) only: for HST chips this is
    the nominal (``idcscale``) pixel area, the area AstroDrizzle uses to
    compare chips; the distortion's variation of the area across a chip is
    not included.

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        A celestial WCS in degrees.

    Returns
    -------
    float
    """
    m = np.asarray(wcs.pixel_scale_matrix, dtype=np.float64)
    return abs(float(np.linalg.det(m))) * 3600.0**2


def _check_statistic(instance: SkyStat, attribute: attrs.Attribute, value: str) -> None:
    if value not in ("mean", "median", "mode"):
        raise ValueError(f"unknown sky statistic {value!r}; use mean, median or mode")


@attrs.frozen
class SkyStat:
    """How a sky statistic is computed (AstroDrizzle's ``skystat``, ``skyclip``...).

    Attributes
    ----------
    statistic : {"median", "mode", "mean"}
        Statistic of the clipped values.
    nclip : int
        Clipping iterations.
    lsigma, usigma : float
        Lower and upper clipping limits, in standard deviations.
    lower, upper : float or None
        Hard limits on the pixel values, in the chips' per-pixel data units;
        pixels outside are never used.
    binwidth : float
        Histogram bin width of the mode, in standard deviations.
    max_samples : int or None
        Statistics use at most about this many values, a regular subsample
        of larger regions (None: all values).
    """

    statistic: str = attrs.field(default="median", validator=_check_statistic)
    nclip: int = 5
    lsigma: float = 4.0
    usigma: float = 4.0
    lower: float | None = None
    upper: float | None = None
    binwidth: float = 0.1
    max_samples: int | None = 2**20

    def usable(self, chip: SkyChip) -> NDArray[np.bool_]:
        """Pixels of `chip` that may enter a sky statistic: good, finite and inside the hard limits."""
        data = chip.data
        ok = chip.good & np.isfinite(data)
        if self.lower is not None:
            ok &= data >= self.lower / chip.scale
        if self.upper is not None:
            ok &= data <= self.upper / chip.scale
        return ok

    def stats(self, values: NDArray[np.floating]) -> ClippedStats:
        """Clipped statistics of already selected values (the hard limits are not applied here)."""
        return clipped_stats(values, nclip=self.nclip, lsigma=self.lsigma, usigma=self.usigma,
                             binwidth=self.binwidth, max_samples=self.max_samples)


#: AstroDrizzle's defaults: median, 5 clipping iterations at ±4 sigma, no hard limits.
DEFAULT_STAT = SkyStat()


# --------------------------------------------------------------------------------------------
# local and global minimum
# --------------------------------------------------------------------------------------------


@attrs.frozen
class ChipSky:
    """The sky statistic of one chip.

    Attributes
    ----------
    value : float
        Sky per square arcsecond; NaN when the chip has no usable pixel.
    stddev : float
        Standard deviation of the clipped values, per square arcsecond.
    npix : int
        Number of values left after clipping.
    reason : str
        Why `value` is NaN; empty otherwise.
    """

    value: float
    stddev: float
    npix: int
    reason: str = ""


def _chip_name(chip: SkyChip) -> str:
    return chip.label or "chip"


def chip_sky(chip: SkyChip, *, stat: SkyStat = DEFAULT_STAT, box: int | None = None) -> ChipSky:
    """Sky of one chip, per unit area.

    Parameters
    ----------
    chip : SkyChip
        The chip.
    stat : SkyStat
        The statistic.
    box : int, optional
        Without it, the statistic of all usable pixels of the chip
        (AstroDrizzle). With it, the chip is cut into ``box x box`` cells;
        every cell with at least half its area usable gets its own statistic,
        and the lowest one is the chip's sky. A galaxy or nebula covering most
        of the chip then no longer raises the sky, as long as some cell sees
        blank sky. The minimum of m noisy cell values is biased low by about
        ``1.25 * sigma / box * sqrt(2 ln m)`` for the median (≈0.08 sigma with
        64-pixel cells on a 2048x4096 chip), and a cell darker for another
        reason (an unflagged vignetted corner) sets the sky; chips with no
        qualifying cell use the whole-chip statistic.

    Returns
    -------
    ChipSky
        NaN with a reason when no pixel is usable.
    """
    usable = stat.usable(chip)
    n_usable = int(usable.sum())
    if n_usable == 0:
        return ChipSky(_NAN, _NAN, 0, f"{_chip_name(chip)}: no usable sky pixel "
                                      "(all masked, non-finite or outside the hard limits)")
    best: ClippedStats | None = None
    if box is not None:
        b = int(box)
        if b < 1:
            raise ValueError(f"sky box must be a positive number of pixels, got {box}")
        ny, nx = chip.shape
        need = 0.5 * b * b
        for y0 in range(0, ny, b):
            for x0 in range(0, nx, b):
                cell = usable[y0:y0 + b, x0:x0 + b]
                if cell.sum() < need:
                    continue
                s = stat.stats(chip.data[y0:y0 + b, x0:x0 + b][cell] * chip.scale)
                v = s.value(stat.statistic)
                if s.npix > 0 and math.isfinite(v) and (best is None or v < best.value(stat.statistic)):
                    best = s
    if best is None:
        best = stat.stats(chip.data[usable] * chip.scale)
    value = best.value(stat.statistic)
    if best.npix == 0 or not math.isfinite(value):
        return ChipSky(_NAN, _NAN, 0, f"{_chip_name(chip)}: no value left after clipping")
    return ChipSky(value / chip.pixel_area, best.stddev / chip.pixel_area, best.npix)


@attrs.frozen
class ExposureSky:
    """An exposure's own sky: the minimum over its chips.

    Attributes
    ----------
    value : float
        Lowest chip sky, per square arcsecond; NaN when no chip has one.
    chips : tuple of ChipSky
        Every chip's statistic.
    reason : str
        Why `value` is NaN; empty otherwise.
    """

    value: float
    chips: tuple[ChipSky, ...]
    reason: str = ""


def exposure_sky(chips: Sequence[SkyChip], *, stat: SkyStat = DEFAULT_STAT,
                 box: int | None = None) -> ExposureSky:
    """Sky of one exposure: the minimum of its chips' skies per unit area.

    Parameters
    ----------
    chips : sequence of SkyChip
        The exposure's chips.
    stat : SkyStat
        The statistic.
    box : int, optional
        Cell size for :func:`chip_sky`.

    Returns
    -------
    ExposureSky
    """
    measures = tuple(chip_sky(c, stat=stat, box=box) for c in chips)
    values = [m.value for m in measures if math.isfinite(m.value)]
    if not measures:
        return ExposureSky(_NAN, (), "the exposure has no chip")
    if not values:
        return ExposureSky(_NAN, measures, "no usable sky pixel in any chip ("
                           + "; ".join(m.reason for m in measures) + ")")
    return ExposureSky(min(values), measures)


@attrs.frozen
class SkyResult:
    """Sky of every exposure by one method.

    Attributes
    ----------
    method : str
        One of :data:`SKY_METHODS`.
    sky : tuple of float
        Per exposure, per square arcsecond (relative offsets for ``match``);
        NaN where the method gives none.
    reasons : tuple of str
        Per exposure: why its value is NaN or was obtained differently from
        the others (a fallback); empty when it is the method's plain result.
    own : tuple of ExposureSky
        Every exposure's own (``localmin``) sky; empty for ``match``.
    match : MatchResult or None
        The matching, for the ``match`` methods.
    """

    method: str
    sky: tuple[float, ...]
    reasons: tuple[str, ...]
    own: tuple[ExposureSky, ...] = ()
    match: MatchResult | None = None

    def per_pixel(self, exposures: Sequence[Sequence[SkyChip]]) -> list[list[float]]:
        """The value to subtract from each chip, per pixel of that chip.

        Parameters
        ----------
        exposures : sequence of sequence of SkyChip
            The exposures the result was computed from.

        Returns
        -------
        list of list of float
            ``[exposure][chip]``: ``sky[exposure] * chip.pixel_area``.
        """
        if len(exposures) != len(self.sky):
            raise ValueError(f"{len(exposures)} exposures given for a result of {len(self.sky)}")
        return [[c.per_pixel(s) for c in chips] for s, chips in zip(self.sky, exposures, strict=True)]


def _own_skies(exposures: Sequence[Sequence[SkyChip]], stat: SkyStat, box: int | None,
               num_cores: int) -> tuple[ExposureSky, ...]:
    """Every exposure's own sky, exposures measured side by side on `num_cores` threads."""
    return tuple(ordered_map(lambda chips: exposure_sky(chips, stat=stat, box=box), exposures,
                             num_cores=num_cores))


def local_min_sky(exposures: Sequence[Sequence[SkyChip]], *, stat: SkyStat = DEFAULT_STAT,
                  box: int | None = None, num_cores: int = 1) -> SkyResult:
    """``localmin``: each exposure's sky is the lowest sky of its chips.

    Parameters
    ----------
    exposures : sequence of sequence of SkyChip
        The chips of every exposure.
    stat : SkyStat
        The statistic.
    box : int, optional
        Cell size for :func:`chip_sky`.
    num_cores : int
        Exposures measured side by side on this many threads (same result).

    Returns
    -------
    SkyResult
        NaN with a reason for an exposure without a usable pixel.
    """
    own = _own_skies(exposures, stat, box, num_cores)
    return SkyResult("localmin", tuple(e.value for e in own), tuple(e.reason for e in own), own)


def global_min_sky(exposures: Sequence[Sequence[SkyChip]], *, stat: SkyStat = DEFAULT_STAT,
                   box: int | None = None, num_cores: int = 1) -> SkyResult:
    """``globalmin``: the lowest exposure sky, for every exposure.

    Parameters
    ----------
    exposures : sequence of sequence of SkyChip
        The chips of every exposure.
    stat : SkyStat
        The statistic.
    box : int, optional
        Cell size for :func:`chip_sky`.
    num_cores : int
        Exposures measured side by side on this many threads (same result).

    Returns
    -------
    SkyResult
        Every exposure gets the same value, also one without a usable pixel
        (its reason says so); all NaN when no exposure has a usable pixel.
    """
    own = _own_skies(exposures, stat, box, num_cores)
    values = [e.value for e in own if math.isfinite(e.value)]
    if not values:
        reason = "no exposure has a usable sky pixel"
        return SkyResult("globalmin", (_NAN,) * len(own), (reason,) * len(own), own)
    g = min(values)
    reasons = tuple("" if math.isfinite(e.value) else f"{e.reason}; the global minimum is used" for e in own)
    return SkyResult("globalmin", (g,) * len(own), reasons, own)


# --------------------------------------------------------------------------------------------
# matching
# --------------------------------------------------------------------------------------------


@attrs.frozen
class PairSky:
    """Skies of two overlapping exposures measured inside their overlap.

    Attributes
    ----------
    i, j : int
        The exposures (``i < j``).
    sky_i, sky_j : float
        Statistic of i's and of j's values at the sample positions of the
        overlap usable in both, per square arcsecond.
    npix_i, npix_j : int
        Values of each left after clipping.
    used : bool
        Whether the pair entered the least-squares system (both statistics
        finite and both counts at least ``min_pixels``).
    """

    i: int
    j: int
    sky_i: float
    sky_j: float
    npix_i: int
    npix_j: int
    used: bool

    @property
    def weight(self) -> float:
        """Weight of the pair's equation: the mean of the two pixel counts."""
        return 0.5 * (self.npix_i + self.npix_j)


@attrs.frozen
class MatchResult:
    """Relative sky offsets of overlapping exposures.

    Attributes
    ----------
    delta : tuple of float
        Per exposure, per square arcsecond: its sky minus that of the darkest
        exposure of its group (so the smallest δ of each group is 0); NaN for
        exposures in no equation.
    solved : tuple of bool
        Whether each exposure is in at least one equation.
    group : tuple of int
        Index of each exposure's group of exposures linked by overlaps
        (0 = the group of the first solved exposure, and so on); -1 when
        unsolved.
    reasons : tuple of str
        Per exposure: why it is unsolved, or, when the exposures form several
        groups, which group it was matched within; empty otherwise.
    pairs : tuple of PairSky
        Every pair of exposures found to overlap.
    rank : int
        Rank of the least-squares system (``n_exposures - 1`` when every
        exposure is linked to every other one).
    """

    delta: tuple[float, ...]
    solved: tuple[bool, ...]
    group: tuple[int, ...]
    reasons: tuple[str, ...]
    pairs: tuple[PairSky, ...]
    rank: int

    @property
    def groups(self) -> tuple[tuple[int, ...], ...]:
        """The exposures of every group."""
        n = max(self.group, default=-1) + 1
        return tuple(tuple(i for i, g in enumerate(self.group) if g == k) for k in range(n))

    @property
    def connected(self) -> bool:
        """Whether every exposure is solved and all belong to one group."""
        return all(self.solved) and len(self.groups) == 1

    def summary(self) -> str:
        """One line describing the outcome, for the log."""
        n = len(self.delta)
        unsolved = [i for i, s in enumerate(self.solved) if not s]
        text = f"{sum(p.used for p in self.pairs)} overlapping pairs, rank {self.rank} for {n} exposures"
        if len(self.groups) > 1:
            text += "; disconnected groups " + ", ".join(str(list(g)) for g in self.groups)
        if unsolved:
            text += f"; unsolved exposures {unsolved}"
        return text


def _cap(chip: SkyChip) -> tuple[NDArray[np.float64], float]:
    """Unit vector of a chip's centre and an angle (radians) enclosing the whole chip."""
    ny, nx = chip.shape
    fp = chip_footprint((chip.wcs, chip.shape), step=max(4.0, min(nx, ny) / 16.0))
    ra, dec = chip.wcs.all_pix2world([(nx - 1) / 2.0], [(ny - 1) / 2.0], 0)
    centre = sky_unit_vectors(np.array([[float(ra[0]), float(dec[0])]]))[0]
    edge = sky_unit_vectors(fp.sky)
    radius = float(np.arccos(np.clip(edge @ centre, -1.0, 1.0)).max())
    # the outline is sampled: allow for the bulge of the edges between samples
    return centre, radius * 1.05 + 1e-9


def _may_overlap(a: tuple[NDArray[np.float64], float], b: tuple[NDArray[np.float64], float]) -> bool:
    angle = float(np.arccos(np.clip(a[0] @ b[0], -1.0, 1.0)))
    return angle <= a[1] + b[1]


def _sample_offset(step: int) -> int:
    return step // 2


def sampling_step(shape: tuple[int, int], step: int, max_samples: int) -> int:
    """Sampling step of a chip for matching: `step`, or coarser to keep within `max_samples`.

    Parameters
    ----------
    shape : tuple of int
        The chip's ``(ny, nx)``.
    step : int
        The finest step.
    max_samples : int
        Most samples (``ceil(ny / s) * ceil(nx / s)`` roughly ``ny * nx / s**2``); 0 for no limit.

    Returns
    -------
    int
        The smallest ``s >= step`` with ``ny * nx <= max_samples * s**2``.
    """
    ny, nx = shape
    if max_samples <= 0 or ny * nx <= max_samples * step * step:
        return step
    return max(step, math.ceil(math.sqrt(ny * nx / max_samples)))


def _sampled_pixmap(src: SkyChip, dst: SkyChip, step: int) -> NDArray[np.float64]:
    """Positions in `dst` of every `step`-th pixel of `src`.

    Entry ``[i, j]`` is the 0-based position in `dst` of the pixel
    ``src.data[o + i * step, o + j * step]`` with ``o = step // 2``; the
    backend is chosen as in :func:`~drizrun.core.geometry.pixmap.calc_pixmap`
    (the compiled kernel for TAN/TAN-SIP frames when it is built, astropy
    otherwise).
    """
    if step == 1:
        return calc_pixmap(src.wcs, dst.wcs, src.shape)
    o = _sample_offset(step)
    ny, nx = src.shape
    shape = (len(range(o, ny, step)), len(range(o, nx, step)))
    grid = (float(o), float(o), float(step), float(step))
    from ...kernels import kernel_backend

    try:
        a = TanModel.from_wcs(src.wcs)
        b = TanModel.from_wcs(dst.wcs)
    except UnsupportedWcsError:
        return astropy_pixmap(src.wcs, dst.wcs, shape, grid=grid)
    if kernel_backend("_pixmap") != "pythran":
        return astropy_pixmap(src.wcs, dst.wcs, shape, grid=grid)
    return model_pixmap(a, b, shape, grid=grid)


def _overlap_values(src: Sequence[SkyChip], dst: Sequence[SkyChip], src_caps: Sequence[Any],
                    dst_caps: Sequence[Any], steps: dict[int, int], usable: dict[int, NDArray[np.bool_]],
                    ) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """Paired values per unit area where sample pixels of `src` land on pixels of `dst`.

    Every ``steps[id(chip)]``-th pixel of each `src` chip is mapped into the `dst` chips;
    where both it and the `dst` pixel it lands on (nearest pixel centre) are
    usable, the pair of values is kept. Returns ``(src_values, dst_values)``,
    or ``None`` when no chip pair can overlap (cap test).
    """
    src_chunks: list[NDArray[np.float64]] = []
    dst_chunks: list[NDArray[np.float64]] = []
    any_candidate = False
    for a, cap_a in zip(src, src_caps, strict=True):
        targets = [b for b, cap_b in zip(dst, dst_caps, strict=True) if _may_overlap(cap_a, cap_b)]
        if not targets:
            continue
        any_candidate = True
        step = steps[id(a)]
        o = _sample_offset(step) if step > 1 else 0
        free = usable[id(a)][o::step, o::step].copy()  # usable samples without a partner so far
        if not free.any():
            continue
        values_a = a.data[o::step, o::step]
        for b in targets:
            xy = _sampled_pixmap(a, b, step)
            ny, nx = b.shape
            with np.errstate(invalid="ignore"):
                ix = np.floor(xy[..., 0] + 0.5)
                iy = np.floor(xy[..., 1] + 0.5)
                inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny) & free
            yi = iy[inside].astype(np.intp)
            xi = ix[inside].astype(np.intp)
            ok_b = usable[id(b)][yi, xi]
            if not ok_b.any():
                continue
            hit = np.zeros_like(inside)
            hit[inside] = ok_b
            free &= ~hit
            src_chunks.append(values_a[hit].astype(np.float64) * (a.scale / a.pixel_area))
            dst_chunks.append(b.data[yi[ok_b], xi[ok_b]].astype(np.float64) * (b.scale / b.pixel_area))
    if not any_candidate:
        return None
    if not src_chunks:
        return np.empty(0), np.empty(0)
    return np.concatenate(src_chunks), np.concatenate(dst_chunks)


def _components(n: int, edges: Sequence[tuple[int, int]]) -> list[int]:
    """Connected-component label (smallest member index) of every node."""
    parent = list(range(n))

    def find(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for i, j in edges:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    return [find(k) for k in range(n)]


def match_sky(exposures: Sequence[Sequence[SkyChip]], *, stat: SkyStat = DEFAULT_STAT, step: int = 4,
              min_pixels: int = 25, rcond: float = 1e-12, max_samples: int = 0,
              num_cores: int = 1) -> MatchResult:
    """``match``: relative sky offsets from the overlaps of every pair of exposures.

    For every pair (i, j), every `step`-th pixel (in x and y) of every chip of
    i (a coarser step on chips with more than `max_samples` samples) is mapped
    into the chips of j through the exact pixel maps (full distortion of
    both), and likewise j's into i's. Where a sample pixel and
    the pixel it lands on (nearest centre) are both usable, the two values
    form a pair: ``a_ij`` is the clipped statistic of i's values of all pairs
    and ``a_ji`` that of j's values. Both statistics are thus taken at the
    same places on the sky (to half a pixel), so a source in the overlap
    raises both alike, and a pixel masked in either image is left out of
    both. A pair of exposures whose two statistics keep at least
    `min_pixels` values gives the equation ``δ_i - δ_j = a_ij - a_ji`` with
    weight ``w_ij = (n_ij + n_ji) / 2`` (values left after clipping); the
    normal equations of the weighted least squares (a graph Laplacian, as in
    stsci.skypac) are solved with a pseudo-inverse (`rcond`).

    Chip pairs whose enclosing circles on the sky (from the distorted
    outlines) are disjoint are skipped without computing a pixel map.

    Parameters
    ----------
    exposures : sequence of sequence of SkyChip
        The chips of every exposure.
    stat : SkyStat
        The statistic.
    step : int
        Sampling of the pixels mapped between chips (1 maps every pixel).
    min_pixels : int
        Fewest values a pair's statistics need to enter the system.
    rcond : float
        Relative cut-off of small singular values for the pseudo-inverse.
    max_samples : int
        Most sample pixels of one chip (0: no limit): a chip with more pixels
        than ``max_samples * step**2`` is sampled with the smallest step that
        keeps it within the limit (see :func:`sampling_step`).
    num_cores : int
        Pairs of exposures measured side by side on this many threads (the
        result does not depend on it).

    Returns
    -------
    MatchResult
        Offsets per unit area; within each group of exposures linked by
        overlaps the smallest is 0. Exposures in no equation are unsolved
        (δ NaN) with a reason; when the groups are several, every exposure's
        reason names its group (their offsets are relative within it only).
    """
    step = int(step)
    if step < 1:
        raise ValueError(f"match step must be a positive number of pixels, got {step}")
    n = len(exposures)
    usable = {id(c): stat.usable(c) for chips in exposures for c in chips}
    steps = {id(c): sampling_step(c.shape, step, max_samples) for chips in exposures for c in chips}
    caps = [[_cap(c) for c in chips] for chips in exposures]
    has_pixels = [any(usable[id(c)].any() for c in chips) for chips in exposures]

    def measure_pair(ij: tuple[int, int]) -> PairSky | None:
        i, j = ij
        forward = _overlap_values(exposures[i], exposures[j], caps[i], caps[j], steps, usable)
        if forward is None:
            return None
        backward = _overlap_values(exposures[j], exposures[i], caps[j], caps[i], steps, usable)
        if backward is None:
            backward = (np.empty(0), np.empty(0))
        vi = np.concatenate([forward[0], backward[1]])
        vj = np.concatenate([forward[1], backward[0]])
        if vi.size == 0:
            return None
        si = stat.stats(vi)
        sj = stat.stats(vj)
        ai = si.value(stat.statistic)
        aj = sj.value(stat.statistic)
        used = (math.isfinite(ai) and math.isfinite(aj)
                and si.npix >= min_pixels and sj.npix >= min_pixels)
        return PairSky(i, j, ai, aj, si.npix, sj.npix, used)

    candidates = [(i, j) for i in range(n) for j in range(i + 1, n) if has_pixels[i] and has_pixels[j]]
    pairs = [p for p in ordered_map(measure_pair, candidates, num_cores=num_cores) if p is not None]
    overlapped_only_thinly: dict[int, list[int]] = {k: [] for k in range(n)}
    for p in pairs:
        if not p.used:
            overlapped_only_thinly[p.i].append(p.j)
            overlapped_only_thinly[p.j].append(p.i)

    used_pairs = [p for p in pairs if p.used]
    lap = np.zeros((n, n))
    rhs = np.zeros(n)
    for p in used_pairs:
        w = p.weight
        d = p.sky_i - p.sky_j
        lap[p.i, p.i] += w
        lap[p.j, p.j] += w
        lap[p.i, p.j] -= w
        lap[p.j, p.i] -= w
        rhs[p.i] += w * d
        rhs[p.j] -= w * d
    if n and used_pairs:
        sv = np.linalg.svd(lap, compute_uv=False)
        rank = int((sv > rcond * sv.max()).sum())
        delta = np.linalg.pinv(lap, rcond=rcond) @ rhs
    else:
        rank = 0
        delta = np.zeros(n)

    in_eq = [False] * n
    for p in used_pairs:
        in_eq[p.i] = in_eq[p.j] = True
    roots = _components(n, [(p.i, p.j) for p in used_pairs])
    labels: dict[int, int] = {}
    group = []
    for k in range(n):
        if in_eq[k]:
            group.append(labels.setdefault(roots[k], len(labels)))
        else:
            group.append(-1)
    out = np.full(n, np.nan)
    for g in range(len(labels)):
        members = [k for k in range(n) if group[k] == g]
        out[members] = delta[members] - delta[members].min()

    reasons = []
    ngroups = len(labels)
    for k in range(n):
        if not has_pixels[k]:
            reasons.append("no usable sky pixel in any chip")
        elif not in_eq[k] and overlapped_only_thinly[k]:
            reasons.append(f"overlaps exposures {overlapped_only_thinly[k]} in fewer than {min_pixels} "
                           "usable sample pixels")
        elif not in_eq[k]:
            reasons.append("overlaps no other exposure in usable pixels")
        elif ngroups > 1:
            members = [m for m in range(n) if group[m] == group[k]]
            reasons.append(f"the overlaps form {ngroups} disconnected groups; matched only within "
                           f"group {members}")
        else:
            reasons.append("")
    return MatchResult(
        delta=tuple(float(v) for v in out),
        solved=tuple(in_eq),
        group=tuple(group),
        reasons=tuple(reasons),
        pairs=tuple(pairs),
        rank=rank,
    )


def global_min_match_sky(exposures: Sequence[Sequence[SkyChip]], *, stat: SkyStat = DEFAULT_STAT,
                         box: int | None = None, step: int = 4, min_pixels: int = 25,
                         rcond: float = 1e-12, match: MatchResult | None = None, max_samples: int = 0,
                         num_cores: int = 1) -> SkyResult:
    """``globalmin+match``: matched offsets raised to the lowest sky they allow.

    ``sky_i = δ_i + min_k(own_k - δ_k)`` over the exposures k of i's group,
    with ``own_k`` the exposure's own (``localmin``) sky: the offsets keep
    the exposures consistent with each other and the minimum makes the
    darkest one's sky as low as its own statistic allows. Exposures that are
    not matched keep their own sky (their reason says so); exposures with no
    usable pixel get NaN.

    Parameters
    ----------
    exposures : sequence of sequence of SkyChip
        The chips of every exposure.
    stat : SkyStat
        The statistic.
    box : int, optional
        Cell size for :func:`chip_sky` (the exposures' own skies).
    step, min_pixels, rcond, max_samples, num_cores
        As for :func:`match_sky`.
    match : MatchResult, optional
        A matching of the same exposures already computed.

    Returns
    -------
    SkyResult
    """
    own = _own_skies(exposures, stat, box, num_cores)
    if match is None:
        match = match_sky(exposures, stat=stat, step=step, min_pixels=min_pixels, rcond=rcond,
                          max_samples=max_samples, num_cores=num_cores)
    if len(match.delta) != len(own):
        raise ValueError(f"a matching of {len(match.delta)} exposures given for {len(own)}")
    sky = [e.value for e in own]
    reasons = [e.reason for e in own]
    for members in match.groups:
        offsets = [own[k].value - match.delta[k] for k in members if math.isfinite(own[k].value)]
        base = min(offsets) if offsets else _NAN
        for k in members:
            sky[k] = match.delta[k] + base
            reasons[k] = match.reasons[k]
    for k, solved in enumerate(match.solved):
        if not solved and math.isfinite(own[k].value):
            reasons[k] = f"not matched ({match.reasons[k]}); its own sky is used"
    return SkyResult("globalmin+match", tuple(float(v) for v in sky), tuple(reasons), own, match)


def compute_sky(exposures: Sequence[Sequence[SkyChip]], method: SkyMethod, *, stat: SkyStat = DEFAULT_STAT,
                box: int | None = None, step: int = 4, min_pixels: int = 25,
                rcond: float = 1e-12, max_samples: int = 0, num_cores: int = 1) -> SkyResult:
    """Sky of every exposure by the named method.

    Parameters
    ----------
    exposures : sequence of sequence of SkyChip
        The chips of every exposure.
    method : {"localmin", "globalmin", "match", "globalmin+match"}
        The method (see the module description).
    stat : SkyStat
        The statistic.
    box : int, optional
        Cell size for :func:`chip_sky` (not used by ``match``).
    step, min_pixels, rcond, max_samples, num_cores
        As for :func:`match_sky` (`num_cores` also measures the exposures' own
        skies side by side).

    Returns
    -------
    SkyResult
        For ``match``, ``sky`` holds the offsets δ (NaN where unsolved).
    """
    if method == "localmin":
        return local_min_sky(exposures, stat=stat, box=box, num_cores=num_cores)
    if method == "globalmin":
        return global_min_sky(exposures, stat=stat, box=box, num_cores=num_cores)
    if method == "match":
        m = match_sky(exposures, stat=stat, step=step, min_pixels=min_pixels, rcond=rcond,
                      max_samples=max_samples, num_cores=num_cores)
        return SkyResult("match", m.delta, m.reasons, (), m)
    if method == "globalmin+match":
        return global_min_match_sky(exposures, stat=stat, box=box, step=step, min_pixels=min_pixels,
                                    rcond=rcond, max_samples=max_samples, num_cores=num_cores)
    raise ValueError(f"unknown sky method {method!r}; use one of {', '.join(SKY_METHODS)}")
