"""Visit benchmark: drizrun and AstroDrizzle on the same simulated visits, scored against the truth.

For each instrument (default ACS/WFC and WFC3/UVIS) the simulator writes a
dithered visit (``--nexp`` exposures, chips of ``--chip-shape`` rows x columns
or ``--full-size``, ``--star-density`` stars per square arcminute, four times
the simulator's default so that each visit has a few hundred stars to score)
with its truth. Each tool runs on its own copy of the
files, in its own process, so its wall time and peak memory (the process's
maximum resident set size from ``os.wait4``) are its own:

* drizrun: ``drizrun.run([association], output=<dir>/<product>)``, every
  installed stage with its defaults;
* AstroDrizzle (drizzlepac): defaults except ``updatewcs=False`` (the
  simulated WCS is the truth) and ``num_cores`` from ``-n`` (default 1: one
  process, so its peak memory is that process's own; with more, AstroDrizzle
  forks workers and the figure is the largest single process). Peak memory is
  GNU time's maximum resident set size of the tool's process.

``-n N`` gives both tools N cores, ``--in-memory`` keeps both tools'
intermediates in memory, ``--set stage.key=value`` passes drizrun parameters.

The products are then scored with :mod:`drizrun.core.simulate.scoring`:

* cosmic rays: completeness over the injected pixels above 5 σ
  (σ = sqrt((sky + dark) t + RN²) of a source-free pixel), false flags
  (pixels without any cosmic-ray charge) inside star cores (within 1.5 px of a
  star or where its light exceeds 5 σ) and elsewhere;
* photometry: isolated (no source above 1e-3 of the star's flux within
  6 FWHM + 2 px), unsaturated stars with S/N >= 20, aperture of 3 FWHM,
  background annulus 4-6 FWHM, aperture correction from the simulator's PSF
  drizzled with pixfrac 1; the relative error (median, its standard error and
  1.4826 MAD) against the true rates (the simulator flat-fields the chips as
  calibrated HST images are, so a correct drizzle restores the true rates),
  separately for the stars whose apertures received less than 0.1 % of
  their flux in cosmic-ray charge (over all exposures, from the truth) and
  for the others; and drizrun / AstroDrizzle - 1 star by star;
* astrometry: isolated stars whose expected centroid error (Cramér-Rao
  bound) is at most 0.005 px, against their true positions through the
  drizzled WCS (median offset length, and median x and y offsets with their
  standard error), measured by a fit of the drizzle model of each star's
  exposures (``drizrun.core.simulate.drizzle_fit``: the pixels each tool
  left out, exact drop overlaps, weights checked against WHT) and by a fit
  of the phase-averaged drizzled PSF (which the pixel phases of undersampled
  stars limit to about 0.01 px);
* agreement: (drizrun - AstroDrizzle) / σ over the pixels where both have
  data (σ from each image's sky noise and weights), median and 1.4826 MAD.

Usage::

    python benchmarks/visit.py [--instruments ACS/WFC WFC3/UVIS] [--nexp 4]
        [--chip-shape 1024x2048 | --full-size] [--seed 0] [--keep DIR]
        [--star-density 1600] [--skip-astrodrizzle] [--skip-drizrun] [--timeout SECONDS]
        [--in-memory] [--release-memory] [--huge-pages] [--astrodrizzle-without-huge-pages]
    python benchmarks/visit.py --keep DIR --rescore   # score kept products again
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from stagetimes import drizrun_stage_times, format_stage_times, read_astrodrizzle_times

TOOLS = ("drizrun", "AstroDrizzle")

#: Stars per square arcminute of the benchmark's scene, four times the simulator's default, so
#: that each visit has several hundred isolated stars to score (see docs/validation.md).
STAR_DENSITY = 1600.0

#: Set from ``--in-memory`` (both tools keep intermediate products in memory).
IN_MEMORY = os.environ.get("DRIZRUN_BENCH_IN_MEMORY") == "1"
#: Set from ``--release-memory`` (drizrun's process gives freed memory back at once).
RELEASE_MEMORY = os.environ.get("DRIZRUN_BENCH_RELEASE_MEMORY") == "1"
#: Set from ``--huge-pages`` (drizrun's process keeps the system's transparent huge pages).
HUGE_PAGES = os.environ.get("DRIZRUN_BENCH_HUGE_PAGES") == "1"
#: Set from ``--astrodrizzle-without-huge-pages`` (AstroDrizzle's process avoids them as drizrun's does).
ASTRODRIZZLE_WITHOUT_HUGE_PAGES = os.environ.get("DRIZRUN_BENCH_AD_WITHOUT_HUGE_PAGES") == "1"


# -- the tools, each run in a child process -----------------------------------------------------


def _child(tool: str, workdir: Path, association: str, output: str, report: Path, num_cores: int = 1,
           settings: tuple[str, ...] = ()) -> int:
    """Run one tool on the files in ``workdir`` and write its time (or its error) to ``report``."""
    os.chdir(workdir)
    started = time.perf_counter()
    result: dict[str, Any] = {"tool": tool}
    try:
        if tool == "drizrun":
            import drizrun
            from drizrun.core.allocator import avoid_huge_pages, retain_freed_memory

            # As the drizrun command does unless given --release-memory or --huge-pages.
            if not RELEASE_MEMORY:
                retain_freed_memory()
            if not HUGE_PAGES:
                avoid_huge_pages()
            run = drizrun.run([association], output=str(workdir / output), num_cores=num_cores,
                              settings=settings, in_memory=IN_MEMORY)
            result["stages"] = [[r.stage, r.status, r.elapsed] for r in run.history]
        else:
            from drizzlepac import astrodrizzle

            if ASTRODRIZZLE_WITHOUT_HUGE_PAGES:
                from drizrun.core.allocator import avoid_huge_pages

                avoid_huge_pages()
            astrodrizzle.AstroDrizzle(association, output=output, updatewcs=False, num_cores=num_cores,
                                      in_memory=IN_MEMORY)
        result["seconds"] = time.perf_counter() - started
    except BaseException as exc:  # noqa: BLE001  (any failure is reported in the table)
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
        result["seconds"] = time.perf_counter() - started
    report.write_text(json.dumps(result))
    return 0 if "error" not in result else 1


def run_tool(tool: str, workdir: Path, association: str, output: str, timeout: float | None = None,
             num_cores: int = 1, settings: tuple[str, ...] = ()) -> dict[str, Any]:
    """Run ``tool`` in a child process; return its report with the peak memory in MB.

    The process is killed after ``timeout`` seconds (its report then says so).
    """
    report = workdir / f"_{tool}_report.json"
    log = workdir / f"_{tool}.log"
    peak_file = workdir / f"_{tool}_peak_kb.txt"
    # Linux carries a process's peak RSS across exec, so a child forked from this (large)
    # process would report at least our own size: GNU time measures its own fresh child.
    timer = ["/usr/bin/time", "-o", str(peak_file), "-f", "%M %U %S"] if Path("/usr/bin/time").exists() else []
    command = [
        *timer,
        sys.executable,
        str(Path(__file__).resolve()),
        "--_child",
        tool,
        str(workdir),
        association,
        output,
        str(report),
        str(num_cores),
        *(settings if tool == "drizrun" else ()),
    ]
    started = time.perf_counter()
    with open(log, "w") as stream:
        process = subprocess.Popen(command, stdout=stream, stderr=subprocess.STDOUT)
        timed_out = False
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if timeout is not None and time.perf_counter() - started > timeout and not timed_out:
                process.kill()
                timed_out = True
            time.sleep(0.1)
        process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    result: dict[str, Any] = json.loads(report.read_text()) if report.is_file() else {}
    if timed_out:
        result["error"] = f"killed after the {timeout:.0f} s time limit (see {log})"
    elif not result:
        result["error"] = f"the process ended with status {process.returncode} without a report (see {log})"
    result["process_seconds"] = elapsed
    figures = {"peak_mb": usage.ru_maxrss / 1024.0, "user_s": usage.ru_utime, "system_s": usage.ru_stime}
    result.update(figures | timer_figures(peak_file))
    result["log"] = str(log)
    return result


def timer_figures(path: Path) -> dict[str, float]:
    """Peak memory (MB) and user and system CPU time (s) from GNU time's ``%M %U %S`` line.

    Files of earlier runs hold only ``%M``; a missing or unreadable file gives ``{}``.
    """
    try:
        fields = path.read_text().splitlines()[-1].split()
        figures = {"peak_mb": int(fields[0]) / 1024.0}
        if len(fields) >= 3:
            figures |= {"user_s": float(fields[1]), "system_s": float(fields[2])}
    except (OSError, ValueError, IndexError):
        return {}
    return figures


# -- products kept by an earlier run (--rescore) ---------------------------------------------------


def kept_visit(directory: Path, instrument: str, options: dict[str, Any]) -> Any:
    """The simulated visit an earlier run wrote into ``directory`` (its files and truth)."""
    from drizrun.core.simulate.visit import SimulatedVisit, VisitSpec

    exposures = tuple(sorted(directory.glob("*_fl[tc].fits")))
    association = next(directory.glob("*_asn.fits"), None)
    if not exposures or association is None:
        raise SystemExit(f"--rescore: no simulated visit in {directory}")
    product = association.name[: -len("_asn.fits")]
    truth = directory / "truth"
    return SimulatedVisit(
        spec=VisitSpec(instrument=instrument, n_exposures=len(exposures), **options),
        exposures=exposures,
        association=association,
        product=product,
        catalogue=truth / f"{product}_sources.ecsv",
        positions=truth / f"{product}_positions.ecsv",
        cr_masks=tuple(sorted(truth.glob("*_crtruth.fits"))),
        geometry_source="kept",
        n_cosmic_ray_events=0,
    )


def kept_result(workdir: Path, tool: str) -> dict[str, Any]:
    """The report an earlier run of ``tool`` left in ``workdir`` (time and peak memory)."""
    report = workdir / f"_{tool}_report.json"
    result: dict[str, Any] = json.loads(report.read_text()) if report.is_file() else {"seconds": math.nan}
    result.setdefault("process_seconds", math.nan)
    result.update({"peak_mb": math.nan} | timer_figures(workdir / f"_{tool}_peak_kb.txt"))
    result["log"] = str(workdir / f"_{tool}.log")
    return result


# -- scoring: drizrun.core.simulate.truth.VisitTruth --------------------------------------------


# -- the table ------------------------------------------------------------------------------------


def _pct(value: float, digits: int = 2) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{100.0 * value:+.{digits}f}%"


def _rows(results: dict[str, dict[str, Any]], agreement: Any,
          paired: dict[str, Any] | None = None) -> list[tuple[str, list[str]]]:
    def cell(tool: str, fn: Any) -> str:
        result = results.get(tool)
        if result is None:
            return "skipped"
        try:
            return fn(result)
        except KeyError:
            return "-"

    def cr_completeness(r: dict) -> str:
        cr = r["scores"]["cr"]
        return f"{100 * cr.completeness:.2f}% ({cr.recovered}/{cr.detectable})"

    def cr_core(r: dict) -> str:
        cr = r["scores"]["cr"]
        return f"{cr.false_core} ({100 * cr.false_core_rate:.2f}% of {cr.core_pixels})"

    def cr_else(r: dict) -> str:
        cr = r["scores"]["cr"]
        return f"{cr.false_elsewhere} ({100 * cr.false_elsewhere_rate:.3f}%)"

    def cr_flagged(r: dict) -> str:
        cr = r["scores"]["cr"]
        return f"{cr.flagged} ({cr.flagged_faint} faint CR)"

    def phot_text(p: Any) -> str:
        return (f"{_pct(p.median_error)} ± {_pct(p.scatter).lstrip('+')} ({p.n_stars} stars, median "
                f"± {_pct(p.median_uncertainty).lstrip('+')})")

    def astro_text(a: Any) -> str:
        return (f"{a.median_offset:.3f} (dx {a.median_dx:+.4f} dy {a.median_dy:+.4f} "
                f"± {a.median_uncertainty:.4f}, {a.n_stars} stars)")

    def scored(key: str, text: Any) -> Any:
        """A cell of the score ``key`` as ``text`` writes it."""
        return lambda r: text(r["scores"][key])

    def cpu_time(r: dict) -> str:
        if "user_s" not in r:
            return "n/a"
        return f"{r['user_s']:.1f} s + {r['system_s']:.1f} s"

    def timing(r: dict) -> str:
        if not math.isfinite(r["process_seconds"]):
            return f"{r['seconds']:.1f} s"
        return f"{r['seconds']:.1f} s ({r['process_seconds']:.1f} s process)"

    rows = [
        ("status", [cell(t, lambda r: "ok" if "error" not in r else "FAILED") for t in TOOLS]),
        ("CR completeness (>5σ)", [cell(t, cr_completeness) for t in TOOLS]),
        ("CR pixels flagged", [cell(t, cr_flagged) for t in TOOLS]),
        ("false CR flags, star cores", [cell(t, cr_core) for t in TOOLS]),
        ("false CR flags, elsewhere", [cell(t, cr_else) for t in TOOLS]),
        ("phot. error, apertures free of CRs", [cell(t, scored("phot", phot_text)) for t in TOOLS]),
        ("phot. error, CR charge in aperture", [cell(t, scored("phot_cr", phot_text)) for t in TOOLS]),
        ("astrometry, drizzle-model fit (px)", [cell(t, scored("astro_model", astro_text)) for t in TOOLS]),
        ("astrometry, phase-averaged PSF fit", [cell(t, scored("astro", astro_text)) for t in TOOLS]),
        ("wall time", [cell(t, timing) for t in TOOLS]),
        ("CPU time, user + system", [cell(t, cpu_time) for t in TOOLS]),
        ("peak memory", [cell(t, lambda r: f"{r['peak_mb']:.0f} MB") for t in TOOLS]),
    ]
    if agreement is not None:
        text = (
            f"median {agreement.median:+.3f}, scatter {agreement.scatter:.3f}, max {agreement.max_abs:.1f} "
            f"over {agreement.n_pixels} px ({100 * agreement.overlap:.1f}% overlap"
            f"{', resampled' if agreement.resampled else ''})"
        )
        rows.append(("drz agreement (drizrun-AD)/σ", [text, ""]))
    for key, name in (("phot", "phot. drizrun/AD-1, CR-free stars"), ("phot_cr", "phot. drizrun/AD-1, CR-hit stars")):
        if paired and key in paired:
            c = paired[key]
            rows.append((name, [f"median {_pct(c.median)}, scatter {_pct(c.scatter).lstrip('+')} ({c.n_stars} stars)",
                                ""]))
    return rows


def format_table(title: str, results: dict[str, dict[str, Any]], agreement: Any,
                 paired: dict[str, Any] | None = None) -> str:
    rows = _rows(results, agreement, paired)
    head = ("", *TOOLS)
    widths = [max(len(head[i]), *(len(([name] + cells)[i]) for name, cells in rows)) for i in range(3)]
    widths[1] = min(widths[1], 60)
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for name, cells in rows:
        lines.append("  ".join(v.ljust(w) for v, w in zip([name, *cells], widths, strict=True)).rstrip())
    for tool in TOOLS:
        error = results.get(tool, {}).get("error")
        if error:
            lines.append(f"{tool} failed: {error}")
            if results[tool].get("traceback"):
                last = [line for line in results[tool]["traceback"].strip().splitlines() if line.strip()][-3:]
                lines.extend("    " + line.strip() for line in last)
            lines.append(f"    log: {results[tool].get('log')}")
    return "\n".join(lines)


# -- one instrument ----------------------------------------------------------------------------------


def bench_instrument(instrument: str, args: argparse.Namespace, base: Path) -> str:
    import drizrun
    from drizrun.core.simulate import scoring
    from drizrun.core.simulate.truth import VisitTruth

    slug = instrument.replace("/", "_").lower()
    root = base / slug
    options: dict[str, Any] = {"seed": args.seed, "star_density": args.star_density}
    if args.full_size:
        options["full_size"] = True
    else:
        options["chip_shape"] = args.chip_shape
    started = time.perf_counter()
    if args.rescore:
        visit = kept_visit(root / "visit", instrument, options)
    else:
        if root.exists():
            shutil.rmtree(root)
        visit = drizrun.simulate(instrument, args.nexp, root / "visit", **options)
    simulated = time.perf_counter() - started
    truth = VisitTruth(visit)
    results: dict[str, dict[str, Any]] = {}
    for tool, skip in (("drizrun", args.skip_drizrun), ("AstroDrizzle", args.skip_astrodrizzle)):
        if skip:
            continue
        workdir = root / tool.lower()
        if args.rescore:
            if not workdir.is_dir():
                continue
            result = kept_result(workdir, tool)
        else:
            workdir.mkdir(parents=True)
            for path in (*visit.exposures, visit.association):
                shutil.copy(path, workdir / path.name)
            result = run_tool(tool, workdir, visit.association.name, visit.product, timeout=args.timeout,
                              num_cores=args.num_cores, settings=tuple(args.settings))
        result["scores"] = {}
        try:
            truth.score(workdir, result["scores"])
        except Exception as exc:  # noqa: BLE001
            result.setdefault("error", f"scoring failed: {type(exc).__name__}: {exc}")
            result["traceback"] = traceback.format_exc()
        results[tool] = result
    agreement = None
    images = [results.get(t, {}).get("scores", {}).get("image") for t in TOOLS]
    if all(image is not None for image in images):
        agreement = scoring.compare_drizzled(images[0], images[1])
    paired = {}
    for key in ("phot", "phot_cr"):
        both = [results.get(t, {}).get("scores", {}).get(key) for t in TOOLS]
        if all(score is not None for score in both):
            paired[key] = scoring.compare_photometry(both[0], both[1])
    shape = "full-size" if args.full_size else "x".join(str(v) for v in args.chip_shape)
    if args.rescore:
        made = f"products kept in {root}, rescored"
    else:
        made = f"{visit.n_cosmic_ray_events} cosmic-ray events, simulated in {simulated:.1f} s"
    title = (
        f"{instrument}: {len(visit.exposures)} exposures, chips {shape}, seed {args.seed} "
        f"({len(truth.stars.ra)} stars, {made}, CR σ = {truth.cr_sigma:.1f} e-)"
    )
    drizrun_result = results.get("drizrun", {})
    stage_times = {
        "drizrun": drizrun_stage_times(drizrun_result.get("stages", []), drizrun_result.get("seconds", 0.0))
        if drizrun_result.get("stages") else {},
        "AstroDrizzle": read_astrodrizzle_times(root / "astrodrizzle") if "AstroDrizzle" in results else {},
    }
    return "\n".join(filter(None, [format_table(title, results, agreement, paired), format_stage_times(stage_times)]))


def _shape(text: str) -> tuple[int, int]:
    try:
        rows, columns = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected ROWSxCOLUMNS, got {text!r}") from exc
    return rows, columns


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--_child":
        tool, workdir, association, output, report, cores = argv[1:7]
        return _child(tool, Path(workdir), association, output, Path(report), int(cores), tuple(argv[7:]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instruments", nargs="+", default=["ACS/WFC", "WFC3/UVIS"])
    parser.add_argument("--nexp", type=int, default=4, help="exposures per visit (default 4)")
    parser.add_argument(
        "--chip-shape", type=_shape, default=(1024, 2048), help="ROWSxCOLUMNS of each chip (default 1024x2048)"
    )
    parser.add_argument("--full-size", action="store_true", help="full-frame chips (2048x4096 for ACS/WFC and UVIS)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--star-density", type=float, default=STAR_DENSITY,
                        help=f"stars per square arcminute (default {STAR_DENSITY:g})")
    parser.add_argument("--keep", type=Path, help="directory to write into and keep (default: a temporary one)")
    parser.add_argument("--rescore", action="store_true",
                        help="score the products an earlier run kept in --keep DIR again, without running the tools")
    parser.add_argument("--skip-astrodrizzle", action="store_true")
    parser.add_argument("--skip-drizrun", action="store_true")
    parser.add_argument("--timeout", type=float, help="seconds after which a tool's process is killed")
    parser.add_argument("-n", "--num-cores", type=int, default=1, help="cores each tool may use (default 1)")
    parser.add_argument("--in-memory", action="store_true", help="both tools keep intermediates in memory")
    parser.add_argument("--release-memory", action="store_true",
                        help="drizrun gives freed memory back to the system at once (its --release-memory)")
    parser.add_argument("--huge-pages", action="store_true",
                        help="drizrun keeps the system's transparent huge pages (its --huge-pages)")
    parser.add_argument("--astrodrizzle-without-huge-pages", action="store_true",
                        help="AstroDrizzle's process turns transparent huge pages off, as drizrun's does")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="STAGE.KEY=VALUE",
                        help="drizrun parameter (repeatable), e.g. --set final.kernel=turbo")
    args = parser.parse_args(argv)
    if args.in_memory:
        os.environ["DRIZRUN_BENCH_IN_MEMORY"] = "1"
    if args.release_memory:
        os.environ["DRIZRUN_BENCH_RELEASE_MEMORY"] = "1"
    if args.huge_pages:
        os.environ["DRIZRUN_BENCH_HUGE_PAGES"] = "1"
    if args.astrodrizzle_without_huge_pages:
        os.environ["DRIZRUN_BENCH_AD_WITHOUT_HUGE_PAGES"] = "1"
    import warnings

    warnings.simplefilter("ignore")
    if args.rescore and args.keep is None:
        parser.error("--rescore needs --keep DIR")
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        base, cleanup = args.keep, None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="drizrun-visit-bench-")
        base = Path(cleanup.name)
    try:
        for instrument in args.instruments:
            print(bench_instrument(instrument, args, base), flush=True)
            print(flush=True)
    finally:
        if cleanup is not None:
            cleanup.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
