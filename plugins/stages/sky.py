"""Built-in stage ``sky``: the sky level of every chip, found and recorded, not written into the inputs.

Chips are compared in electrons/s per square arcsecond, so exposures of
different lengths and chips of different pixel areas compare directly. The
methods are those of :mod:`drizrun.plugins.stages.skyalgo` (``localmin``,
``globalmin``, ``match``, ``globalmin+match``) plus ``user``: one value for
every chip (``sky.user_value``) or values per chip read from a file
(``sky.user_file``), in the chips' own units.

When a matching method cannot link every exposure to the others (an exposure
overlaps none, or the overlaps split the exposures into separate groups), the
stage falls back to ``globalmin`` (for ``globalmin+match``) or ``localmin``
(for ``match``) and logs why.

The result is the ``sky`` artifact, ``{chip key: {"computed": value,
"subtracted": value, "method": name}}`` in the chips' own units, which ``sep``,
``final`` and ``blot`` use and ``final`` records in the product (D###SKY,
D###SKYS). With ``sky.subtract = false`` the sky is only measured. The input
files are modified only with ``sky.update_input_header = true``, which writes
MDRIZSKY into each SCI header as AstroDrizzle does.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from drizrun.core.errors import ConfigError, InputError, ProcessingError
from drizrun.core.hookspecs import hookimpl
from drizrun.core.params import in_range, param
from drizrun.core.stage import StageResult

from .chipdata import artifact_or_none, chip_key, good_pixels, rate_factor, static_for, valid_bits
from .skyalgo import SKY_METHODS, SkyChip, SkyResult, SkyStat, compute_sky, wcs_pixel_area

__all__ = ["SkyParams", "SkyStage", "read_sky_file"]

#: Every value of ``sky.method``.
METHODS = (*SKY_METHODS, "user")

log = logging.getLogger("drizrun.stage.sky")


def _optional_positive_int(_instance: Any, _attribute: Any, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 2):
        raise ValueError(f"must be an integer of at least 2 or unset, got {value!r}")


@attrs.frozen
class SkyParams:
    """Parameters of the ``sky`` stage."""

    method: str = param("localmin", doc="localmin, globalmin, match, globalmin+match, or user "
                                        "(AstroDrizzle skymethod).", choices=METHODS)
    statistic: str = param("median", doc="Statistic of the clipped sky pixels: median, mode or mean "
                                         "(skystat).", choices=("median", "mode", "mean"))
    nclip: int = param(5, doc="Clipping iterations (skyclip).", validator=in_range(0, 100))
    lsigma: float = param(4.0, doc="Lower clipping limit in standard deviations (skylsigma).",
                          validator=in_range(0.0, None, low_open=True))
    usigma: float = param(4.0, doc="Upper clipping limit in standard deviations (skyusigma).",
                          validator=in_range(0.0, None, low_open=True))
    lower: float | None = param(None, doc="Pixels below this value, in the chips' units, are never used "
                                          "(skylower; unset: no limit).")
    upper: float | None = param(None, doc="Pixels above this value, in the chips' units, are never used "
                                          "(skyupper; unset: no limit).")
    binwidth: float = param(0.1, doc="Histogram bin width of the mode, in standard deviations (skywidth).",
                            validator=in_range(0.0, None, low_open=True))
    bits: int | None = param(0, doc="DQ flags treated as good (sky_bits); unset ignores the DQ array.",
                             validator=valid_bits)
    use_static: bool = param(True, doc="Leave out the pixels of the static mask (use_static).")
    box: int | None = param(None, doc="Cut each chip into cells of this many pixels and take the darkest "
                                      "cell's statistic (for chips filled by a large source; unset: whole chip).",
                            validator=_optional_positive_int)
    step: int = param(4, doc="Sampling step in pixels when measuring overlaps for matching.",
                      validator=in_range(1, 64))
    match_samples: int = param(2**15, doc="Most sample pixels per chip when measuring overlaps for "
                                          "matching: larger chips are sampled with a coarser step "
                                          "than sky.step (0: no limit).",
                               validator=in_range(0, None))
    subtract: bool = param(True, doc="Subtract the sky before drizzling (skysub); false only measures it.")
    user_value: float | None = param(None, doc="With method user: the sky of every chip, in its units "
                                               "(skyuser).")
    user_file: str = param("", doc="With method user: file of lines 'FILE VALUE [VALUE...]', one value per "
                                   "SCI extension in the chips' units (skyfile).")
    update_input_header: bool = param(False, doc="Write MDRIZSKY into the inputs' SCI headers "
                                                 "(modifies the input files).")


class SkyStage:
    """Find the sky level of every chip (localmin, globalmin, match, globalmin+match or user)."""

    name = "sky"
    params = SkyParams
    requires: tuple[str, ...] = ()
    provides = ("sky",)
    uses = ("static_mask",)
    min_inputs = 1
    order = 20.0

    def run(self, ctx: Any, params: SkyParams) -> StageResult:
        """Compute the sky of every chip and put the ``sky`` artifact."""
        exposures = ctx.exposures
        if params.method == "user":
            values = _user_values(params, exposures)
            method = "user"
        else:
            values, method = _measured_values(ctx, params, exposures)
        sky: dict[str, dict[str, Any]] = {}
        for exposure, chip_values in zip(exposures, values, strict=True):
            for chip, value in zip(exposure.chips, chip_values, strict=True):
                key = chip_key(exposure, chip)
                if not math.isfinite(value):
                    log.warning("%s: no sky found; nothing subtracted", key)
                    value = 0.0
                sky[key] = {"computed": float(value), "subtracted": float(value) if params.subtract else 0.0,
                            "method": method}
                log.info("%s: sky %.6g %s (%s)", key, value, chip.units.bunit, method)
        ctx.artifacts.put("sky", sky, stage=self.name, path=f"{ctx.config.output_root}_sky.json")
        if params.update_input_header:
            _write_mdrizsky(exposures, sky)
        return StageResult(message=f"{method}: sky of {len(sky)} chip(s)"
                           + ("" if params.subtract else " (measured, not subtracted)"),
                           metrics={"sky_method": method})


def _measured_values(ctx: Any, params: SkyParams, exposures: Any) -> tuple[list[list[float]], str]:
    static = artifact_or_none(ctx, "static_mask") if params.use_static else None
    chips: list[list[SkyChip]] = []
    for exposure in exposures:
        row = []
        for chip in exposure.chips:
            sci = chip.sci()  # memory-mapped: statistics read only what they need
            good = good_pixels(sci, chip.dq(), params.bits, static=static_for(static, chip))
            row.append(SkyChip(data=sci, good=good, wcs=chip.wcs, pixel_area=wcs_pixel_area(chip.wcs),
                               label=f"{exposure.path.name}[SCI,{chip.extver}]", scale=rate_factor(chip)))
        chips.append(row)
    # hard limits are given in the chips' units; SkyChip data are electrons/s
    factors = [rate_factor(c) for e in exposures for c in e.chips]
    if (params.lower is not None or params.upper is not None) and len(set(factors)) > 1:
        raise ConfigError("sky.lower/sky.upper need chips in one unit and exposure time; these inputs differ")
    f = factors[0] if factors else 1.0
    stat = SkyStat(statistic=params.statistic, nclip=params.nclip, lsigma=params.lsigma, usigma=params.usigma,
                   lower=None if params.lower is None else params.lower * f,
                   upper=None if params.upper is None else params.upper * f, binwidth=params.binwidth)
    method = params.method
    result = _compute(chips, method, stat, params, ctx.config.num_cores)
    if result.match is not None:
        log.info("sky matching: %s", result.match.summary())
        if method == "match" and not result.match.connected:
            fallback = "localmin"
            log.warning("sky matching could not link every exposure (%s); using %s",
                        result.match.summary(), fallback)
            method = fallback
            result = _compute(chips, method, stat, params, ctx.config.num_cores)
        elif method == "globalmin+match" and not result.match.connected:
            log.warning("sky matching could not link every exposure (%s); using globalmin",
                        result.match.summary())
            method = "globalmin"
            result = _compute(chips, method, stat, params, ctx.config.num_cores)
    for exposure, reason in zip(exposures, result.reasons, strict=True):
        if reason:
            log.info("%s: %s", exposure.rootname, reason)
    per_pixel = result.per_pixel(chips)
    values = [[v / rate_factor(c) for v, c in zip(row, e.chips, strict=True)]
              for row, e in zip(per_pixel, exposures, strict=True)]
    return values, method


def _compute(chips: list[list[SkyChip]], method: str, stat: SkyStat, params: SkyParams,
             num_cores: int) -> SkyResult:
    try:
        return compute_sky(chips, method, stat=stat, box=params.box, step=params.step,
                           max_samples=params.match_samples, num_cores=num_cores)
    except (ValueError, np.linalg.LinAlgError) as exc:
        if "match" not in method:
            raise ProcessingError(f"sky {method} failed: {exc}") from exc
        fallback = "globalmin" if "globalmin" in method else "localmin"
        log.warning("sky %s failed (%s); using %s", method, exc, fallback)
        return compute_sky(chips, fallback, stat=stat, box=params.box, step=params.step,
                           max_samples=params.match_samples, num_cores=num_cores)


def _user_values(params: SkyParams, exposures: Any) -> list[list[float]]:
    if params.user_file:
        table = read_sky_file(Path(params.user_file))
        values = []
        for exposure in exposures:
            entry = table.get(exposure.path.name)
            if entry is None:
                raise ConfigError(f"sky.user_file {params.user_file}: no line for {exposure.path.name}")
            if len(entry) == 1:
                entry = entry * len(exposure.chips)
            if len(entry) != len(exposure.chips):
                raise ConfigError(f"sky.user_file {params.user_file}: {exposure.path.name} has "
                                  f"{len(exposure.chips)} SCI extension(s) but {len(entry)} values")
            values.append(list(entry))
        return values
    if params.user_value is None:
        raise ConfigError("sky.method = 'user' needs sky.user_value or sky.user_file")
    return [[float(params.user_value)] * len(e.chips) for e in exposures]


def read_sky_file(path: Path) -> dict[str, list[float]]:
    """Read a sky file: lines ``FILE VALUE [VALUE...]``; ``#`` starts a comment.

    Parameters
    ----------
    path : Path
        The file.

    Returns
    -------
    dict
        File name (without directory) → values, one per SCI extension or one for all.

    Raises
    ------
    ConfigError
        If the file cannot be read or a line is malformed.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read sky.user_file {path}: {exc}") from exc
    table: dict[str, list[float]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        try:
            values = [float(w) for w in words[1:]]
        except ValueError:
            values = []
        if not values or not all(math.isfinite(v) for v in values):
            raise ConfigError(f"{path}:{number}: expected 'FILE VALUE [VALUE...]', got {line.strip()!r}")
        table[Path(words[0]).name] = values
    return table


def _write_mdrizsky(exposures: Any, sky: dict[str, dict[str, Any]]) -> None:
    from astropy.io import fits

    for exposure in exposures:
        try:
            with fits.open(exposure.path, mode="update", memmap=False) as hdul:
                for chip in exposure.chips:
                    value = sky[chip_key(exposure, chip)]["computed"]
                    hdul["SCI", chip.extver].header["MDRIZSKY"] = (value, "sky level found by drizrun")
        except (OSError, KeyError) as exc:
            raise InputError(f"cannot write MDRIZSKY into {exposure.path}: {exc}") from exc


@hookimpl
def drizrun_register_stages(registry: Any) -> None:
    """Register the ``sky`` stage."""
    registry.add(SkyStage())
