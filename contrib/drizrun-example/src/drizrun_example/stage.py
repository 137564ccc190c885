"""The ``chipstats`` stage: robust statistics of every input chip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import numpy as np

import drizrun
from drizrun.core.fileio import write_text_atomic


@attrs.frozen
class ChipStatsParams:
    """Parameters of the ``chipstats`` stage."""

    deriv_kernel: str = drizrun.param(
        "abs_deriv", doc="Registered derivative kernel used for the sharpness figure (kind 'deriv')."
    )
    clip_sigma: float = drizrun.param(
        3.0, doc="Sigma-clipping threshold for the sky level and noise.", validator=drizrun.in_range(0.0, low_open=True)
    )
    iterations: int = drizrun.param(5, doc="Number of sigma-clipping iterations.", validator=drizrun.in_range(1, 100))


class ChipStatsStage:
    """Measure each input chip: robust sky and noise, NaN and flagged fractions, sharpness."""

    name = "chipstats"
    params = ChipStatsParams
    requires = ()
    provides = ("chip_stats",)
    order = 15.0  # after static, before sky: it only reads the inputs

    def run(self, ctx: Any, params: ChipStatsParams) -> drizrun.StageResult:
        """Measure every chip, store the ``chip_stats`` artifact and write a JSON report."""
        deriv = ctx.kernels.get("deriv", params.deriv_kernel).function
        stats = []
        for path in ctx.inputs:
            stats.extend(_measure_file(Path(path), deriv, params))
        ctx.artifacts.put("chip_stats", stats, stage=self.name, persist=False)  # the report below holds it
        report = ctx.output_path("_chipstats.json")
        write_text_atomic(report, json.dumps(stats, indent=2) + "\n")
        ctx.add_product(report)
        return drizrun.StageResult(
            message=f"{len(stats)} chip(s) measured", products=[str(report)], metrics={"chips": len(stats)}
        )


def _measure_file(path: Path, deriv: Any, params: ChipStatsParams) -> list[dict[str, Any]]:
    from astropy.io import fits

    with fits.open(path, memmap=False) as hdul:
        sci = [hdu for hdu in hdul if hdu.name == "SCI" and hdu.data is not None]
        if not sci and hdul[0].data is not None:
            sci = [hdul[0]]
        if not sci:
            raise drizrun.DrizrunError(f"{path}: no SCI extension and no image in the primary HDU")
        dq = {hdu.ver: hdu.data for hdu in hdul if hdu.name == "DQ" and hdu.data is not None}
        return [_measure_chip(path, hdu, dq.get(hdu.ver), deriv, params) for hdu in sci]


def _measure_chip(path: Path, hdu: Any, dq: Any, deriv: Any, params: ChipStatsParams) -> dict[str, Any]:
    data = np.asarray(hdu.data, dtype=np.float64)
    finite = np.isfinite(data)
    good = finite & (dq == 0) if dq is not None else finite
    values = data[good]
    level, noise = _clipped_stats(values, params.clip_sigma, params.iterations)
    sharp = deriv(np.where(finite, data, level if np.isfinite(level) else 0.0))
    return {
        "file": path.name,
        "extension": f"{hdu.name},{hdu.ver}",
        "shape": list(data.shape),
        "sky": level,
        "noise": noise,
        "nan_fraction": float(1.0 - finite.mean()),
        "flagged_fraction": float(1.0 - good.mean()) if dq is not None else 0.0,
        "median_derivative": float(np.median(sharp[good])) if good.any() else None,
    }


def _clipped_stats(values: np.ndarray, nsigma: float, iterations: int) -> tuple[float | None, float | None]:
    if values.size == 0:
        return None, None
    kept = values
    for _ in range(iterations):
        median = np.median(kept)
        sigma = 1.4826 * np.median(np.abs(kept - median))
        if sigma == 0:
            break
        inside = np.abs(kept - median) <= nsigma * sigma
        if inside.all():
            break
        kept = kept[inside]
    median = float(np.median(kept))
    return median, float(1.4826 * np.median(np.abs(kept - median)))
