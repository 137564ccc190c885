"""``drizrun --demo``: simulate a small WFC3/UVIS visit, run every installed stage, summarise.

The demo is the quickest way to see drizrun work end to end: it writes four
dithered 2x(256x512) WFC3/UVIS exposures with their truth, runs the canonical
stages that are installed on them through :func:`drizrun.run`, and prints one
screen: the inputs, the stages with their times (and those not installed),
cosmic-ray pixels found against the truth when a ``cr`` stage ran, and the
products with their sizes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from .session import Session
from .stage import CANONICAL_STAGES

__all__ = ["CrScore", "DemoReport", "format_demo", "run_demo", "score_cr_masks"]

#: A cosmic-ray pixel counts as detectable when it received this many times the noise of a
#: source-free pixel (sky, dark current and read noise).
DETECTABLE_SIGMA = 5.0


@attrs.frozen
class CrScore:
    """Cosmic-ray pixels found by the pipeline compared with the simulated truth.

    Attributes
    ----------
    detectable : int
        True cosmic-ray pixels with at least ``DETECTABLE_SIGMA`` times the noise of a
        source-free pixel.
    found : int
        Pixels the pipeline flagged.
    recovered : int
        Detectable pixels among those flagged.
    false : int
        Flagged pixels that received no cosmic-ray charge at all.
    """

    detectable: int
    found: int
    recovered: int
    false: int

    @property
    def completeness(self) -> float:
        """Fraction of detectable cosmic-ray pixels that were flagged."""
        return self.recovered / self.detectable if self.detectable else 1.0


@attrs.frozen
class DemoReport:
    """What the demo did.

    Attributes
    ----------
    directory : Path
        Where everything was written.
    inputs : tuple of Path
        The simulated exposures.
    exposures : tuple of Exposure
        Those files as read back and checked by the exposure reader.
    instrument : str
        Their instrument.
    stages : tuple of tuple
        ``(stage, status, seconds, message)`` per stage that ran or was skipped.
    missing : tuple of str
        Canonical stages no installed plugin provides.
    products : tuple of Path
        Files the run produced.
    cr : CrScore or None
        Cosmic-ray score when a ``crmask`` artifact was made.
    simulate_seconds, run_seconds : float
        Wall times.
    """

    directory: Path
    inputs: tuple[Path, ...]
    exposures: tuple[Any, ...]
    instrument: str
    stages: tuple[tuple[str, str, float | None, str], ...]
    missing: tuple[str, ...]
    products: tuple[Path, ...]
    cr: CrScore | None
    simulate_seconds: float
    run_seconds: float


def run_demo(directory: str | Path = "drizrun-demo", *, session: Session | None = None, seed: int = 0) -> DemoReport:
    """Simulate a 4-exposure WFC3/UVIS visit in ``directory`` and run every installed stage on it.

    Parameters
    ----------
    directory : str or Path
        Output directory (created if needed).
    session : Session, optional
        Plugins to use (default: a new session with the installed plugins).
    seed : int
        Seed of the simulation.

    Returns
    -------
    DemoReport
    """
    from .exposure import check_input_set, read_exposure
    from .planning import default_stages
    from .runner import prepare, run
    from .simulate import simulate

    directory = Path(directory)
    session = session or Session.create()
    started = time.perf_counter()
    visit = simulate("WFC3/UVIS", 4, directory, seed=seed, chip_shape=(256, 512))
    simulated = time.perf_counter()
    available = default_stages(session.stages)
    missing = tuple(name for name in CANONICAL_STAGES if name not in session.stages)
    output = directory / visit.product
    stages: tuple[tuple[str, str, float | None, str], ...] = ()
    products: tuple[Path, ...] = ()
    cr = None
    if available:
        result = run([visit.association], session=session, output=output)
        stages = tuple((r.stage, r.status, r.elapsed, r.message) for r in result.history)
        products = result.products
        cr = _score_run(result.config, visit)
        instrument = result.config.instrument or "?"
    else:
        config = prepare([visit.association], session=session, output=output)
        instrument = config.instrument or "?"
    exposures = tuple(read_exposure(path, session.instruments[instrument]) for path in visit.exposures)
    check_input_set(exposures)
    return DemoReport(
        directory=directory,
        inputs=visit.exposures,
        exposures=exposures,
        instrument=instrument,
        stages=stages,
        missing=missing,
        products=products,
        cr=cr,
        simulate_seconds=simulated - started,
        run_seconds=time.perf_counter() - simulated,
    )


def _score_run(config: Any, visit: Any) -> CrScore | None:
    from .artifacts import ArtifactStore, fingerprint_inputs

    store = ArtifactStore(
        directory=config.output_dir,
        root=config.output_root,
        in_memory=False,
        fingerprint=fingerprint_inputs(config.inputs),
    )
    if not store.has("crmask"):
        return None
    refs = store.get("crmask")
    if not isinstance(refs, Mapping):
        return None
    masks = {key: _cosmic_rays(config.output_dir, ref) for key, ref in refs.items()}
    return score_cr_masks(masks, visit.cr_masks, noise=_noise(visit))


def _cosmic_rays(directory: Path, ref: Any) -> np.ndarray:
    """Cosmic-ray pixels (True) of a ``crmask`` entry: a mask file name or array, 1 = good, 0 = cosmic ray."""
    if isinstance(ref, str):
        from astropy.io import fits

        ref = fits.getdata(Path(directory) / ref)
    return np.asarray(ref) == 0


def _noise(visit: Any) -> float:
    """Noise in electrons of a source-free pixel of the visit's exposures."""
    from .simulate import PROFILES
    from .simulate.scoring import cosmic_ray_sigma

    profile = PROFILES[visit.spec.instrument]
    exptime = visit.spec.exptime or profile.default_exptime
    return cosmic_ray_sigma(sky_rate=profile.sky_rate, dark_rate=profile.dark_rate, exptime=exptime,
                            read_noise=profile.mean_read_noise)


_KEY = re.compile(r"(?P<root>[a-z0-9]{9})\D*?(?P<chip>\d+)\D*$", re.IGNORECASE)


def score_cr_masks(
    found: Mapping[str, np.ndarray], truth_files: tuple[Path, ...], *, noise: float
) -> CrScore | None:
    """Compare flagged cosmic-ray pixels with the simulator's truth.

    Parameters
    ----------
    found : mapping
        Boolean (or 0/1) masks, one per chip, keyed by a name holding the
        exposure's root name and the chip number (``"idrz0101q_sci1"``).
    truth_files : tuple of Path
        The simulator's ``truth/<root>_crtruth.fits`` files.
    noise : float
        Noise of a source-free pixel in electrons (sets what is detectable).

    Returns
    -------
    CrScore or None
        ``None`` when no key of ``found`` names a simulated chip.
    """
    from astropy.io import fits

    truth: dict[tuple[str, int], np.ndarray] = {}
    for path in truth_files:
        with fits.open(path) as hdul:
            root = str(hdul[0].header["ROOTNAME"]).lower()
            for hdu in hdul[1:]:
                if hdu.name == "CRCHARGE":
                    truth[(root, int(hdu.ver))] = np.asarray(hdu.data, dtype=float)
    detectable = found_total = recovered = false = 0
    matched = False
    for key, mask in found.items():
        match = _KEY.search(str(key))
        if match is None or (match["root"].lower(), int(match["chip"])) not in truth:
            continue
        charge = truth[(match["root"].lower(), int(match["chip"]))]
        flagged = np.asarray(mask).astype(bool)
        if flagged.shape != charge.shape:
            continue
        matched = True
        significant = charge > DETECTABLE_SIGMA * max(noise, 1.0)
        detectable += int(significant.sum())
        found_total += int(flagged.sum())
        recovered += int((flagged & significant).sum())
        false += int((flagged & (charge <= 0)).sum())
    if not matched:
        return None
    return CrScore(detectable=detectable, found=found_total, recovered=recovered, false=false)


def format_demo(report: DemoReport) -> str:
    """Render the one-screen demo summary."""
    from .listing import table

    def size(path: Path) -> str:
        try:
            return f"{path.stat().st_size / 1e6:.1f} MB"
        except OSError:
            return "-"

    lines = [
        f"drizrun demo: {len(report.inputs)} simulated {report.instrument} exposures in {report.directory} "
        f"({report.simulate_seconds:.1f} s)"
    ]
    for exposure in report.exposures:
        shape = "+".join(f"{c.shape[1]}x{c.shape[0]}" for c in exposure.chips)
        lines.append(
            f"  {exposure.path.name}  {exposure.filter_label}  {exposure.exptime:.0f} s  chips {shape}  "
            f"{exposure.chips[0].units.bunit}  {size(exposure.path)}"
        )
    lines.append(f"  truth: {report.directory / 'truth'} (sources, positions, cosmic-ray masks)")
    if report.stages:
        rows = [
            [name, status, f"{elapsed:.2f} s" if elapsed is not None else "-", message]
            for name, status, elapsed, message in report.stages
        ]
        lines.append(f"stages ({report.run_seconds:.1f} s):")
        lines.append(table(["STAGE", "STATUS", "TIME", "SUMMARY"], rows))
    else:
        lines.append(
            "stages: no canonical stage is installed; the inputs were read and checked "
            "(instrument, WCS with distortion, units, DQ), nothing was drizzled"
        )
    if report.missing:
        lines.append("not installed: " + ", ".join(report.missing))
    if report.cr is not None:
        cr = report.cr
        lines.append(
            f"cosmic rays: {cr.recovered} of {cr.detectable} pixels hit above {DETECTABLE_SIGMA:.0f} sigma found "
            f"({100 * cr.completeness:.1f}%); {cr.false} other pixels flagged (hot pixels, noise)"
        )
    if report.products:
        lines.append("products:")
        lines.extend(f"  {path}  {size(Path(path))}" for path in report.products)
    return "\n".join(lines)
