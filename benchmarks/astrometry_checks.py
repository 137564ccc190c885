"""Does the drizzle-model astrometry see what it should? Checks on products kept by the visit benchmark.

For each instrument and tool kept in ``DIR`` (``python benchmarks/visit.py
--keep DIR``), the drizzle-model fit of
:meth:`drizrun.core.simulate.truth.VisitTruth.drizzle_model_astrometry` is
run three ways:

* as the visit benchmark scores it (the pixels each tool left out taken from
  its products);
* with every pixel counted as used: the stars whose weights then no longer
  match the product's weight image are refused, so the count of stars
  measured falls by those where the tool left pixels out;
* with the product's WCS moved by ``--shift`` pixel along x (CRPIX1): a
  product whose stars sit ``--shift`` pixel away from where its WCS says
  must show a median dx of ``-shift``.

Usage::

    python benchmarks/astrometry_checks.py DIR [--instruments ACS/WFC WFC3/UVIS] [--shift 0.02]
        [--astrometry-noise 0.005]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import attrs
import numpy as np

TOOLS = ("drizrun", "astrodrizzle")


def _describe(score: object) -> str:
    if score is None:
        return "not measurable (not a square-kernel product with a weight image)"
    return (f"{score.median_offset:.4f} px (dx {score.median_dx:+.4f}, dy {score.median_dy:+.4f} "
            f"± {score.median_uncertainty:.4f}), {score.n_stars} stars")


@attrs.frozen
class Checks:
    """The drizzle-model astrometry of one product, three ways (each None when not measurable)."""

    recorded: Any  # the left-out pixels from the products
    all_used: Any  # every pixel counted as used
    moved: Any  # the product's WCS moved along x


def check(directory: Path, instrument: str, *, shift: float = 0.02,
          astrometry_noise: float = 0.005) -> dict[str, Checks]:
    """The checks of each tool's product kept for ``instrument`` in ``directory``."""
    from astropy.io import fits
    from visit import kept_visit  # benchmarks/visit.py, beside this script

    from drizrun.core.simulate import scoring
    from drizrun.core.simulate.sightings import usable_pixels
    from drizrun.core.simulate.truth import VisitTruth

    root = directory / instrument.replace("/", "_").lower()
    visit = kept_visit(root / "visit", instrument, {})
    truth = VisitTruth(visit)
    results = {}
    for tool in TOOLS:
        workdir = root / tool
        path = scoring.find_drizzled(workdir, visit.product) if workdir.is_dir() else None
        if path is None:
            continue
        image = scoring.read_drizzled(path)
        usable = usable_pixels(workdir, visit.product, visit.exposures, fits.getheader(path, 0))
        everything = {key: np.ones_like(mask) for key, mask in usable.items()}
        moved_wcs = image.wcs.deepcopy()
        moved_wcs.wcs.crpix[0] += shift
        noise = {"astrometry_noise": astrometry_noise}
        results[tool] = Checks(
            recorded=truth.drizzle_model_astrometry(workdir, image, usable=usable, **noise),
            all_used=truth.drizzle_model_astrometry(workdir, image, usable=everything, **noise),
            moved=truth.drizzle_model_astrometry(workdir, attrs.evolve(image, wcs=moved_wcs), usable=usable, **noise),
        )
    return results


def report(instrument: str, results: dict[str, Checks], shift: float) -> str:
    """The checks as text."""
    lines = [instrument]
    for tool, checks in results.items():
        lines += [
            f"  {tool}:",
            f"    left-out pixels from the products   {_describe(checks.recorded)}",
            f"    every pixel counted as used         {_describe(checks.all_used)}",
            f"    WCS moved by {shift:+.3f} px in x       {_describe(checks.moved)}  (expected dx {-shift:+.4f})",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="a directory the visit benchmark kept (--keep)")
    parser.add_argument("--instruments", nargs="+", default=["ACS/WFC", "WFC3/UVIS"])
    parser.add_argument("--shift", type=float, default=0.02, help="pixels added to CRPIX1 of each product")
    parser.add_argument("--astrometry-noise", type=float, default=0.005,
                        help="largest expected centroid error (pixels, one axis) of the stars used")
    args = parser.parse_args(argv)
    for instrument in args.instruments:
        if not (args.directory / instrument.replace("/", "_").lower() / "visit").is_dir():
            print(f"{instrument}: not kept in {args.directory}")
            continue
        results = check(args.directory, instrument, shift=args.shift, astrometry_noise=args.astrometry_noise)
        print(report(instrument, results, args.shift) if results else f"{instrument}: no products")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
