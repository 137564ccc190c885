"""The ``drizrun`` command.

Exit status: 0 on success, 2 on usage or configuration errors, 1 on processing
errors, 130 when interrupted (SIGINT), 143 when terminated (SIGTERM). Errors
are one line on stderr; ``-v`` adds the traceback.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

from .allocator import avoid_huge_pages, retain_freed_memory
from .errors import DrizrunError, PluginLoadWarning, UsageError
from .session import Session
from .stage import CANONICAL_STAGES

__all__ = ["build_parser", "main"]

log = logging.getLogger("drizrun")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see drizrun --help)")


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-p",
        dest="plugins",
        action="append",
        default=[],
        metavar="NAME",
        help="load plugin module NAME; -p no:NAME blocks the plugin NAME (repeatable)",
    )
    parser.add_argument(
        "--strict-plugins",
        action="store_true",
        help="make a third-party plugin that fails to load an error instead of a warning",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more output: debug messages and tracebacks")
    parser.add_argument("-q", "--quiet", action="count", default=0, help="only warnings and errors")
    parser.add_argument(
        "--release-memory",
        action="store_true",
        help="give freed memory back to the system at once instead of keeping it for the run's next arrays",
    )
    parser.add_argument(
        "--huge-pages",
        action="store_true",
        help="let the system back large arrays with transparent huge pages (off by default: slow to supply "
             "on virtual machines)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for drizrun's own options (plugins add theirs to it)."""
    parser = _Parser(
        prog="drizrun",
        description="Drizzle Hubble exposures onto an undistorted mosaic, AstroDrizzle's seven steps as plugins.",
        epilog="Stages (canonical order): " + ", ".join(CANONICAL_STAGES) + ". See docs/ for the user guide.",
    )
    parser.add_argument(
        "inputs", nargs="*", metavar="INPUT", help="FITS files, globs, @listfile or association tables (*_asn.fits)"
    )
    run = parser.add_argument_group("run")
    run.add_argument("--output", metavar="ROOT", help="output root, possibly with a directory (out/m31)")
    run.add_argument("--stages", metavar="LIST", help="comma-separated stages to run (default: all installed)")
    run.add_argument("-c", "--config", metavar="FILE", help="TOML configuration file, one table per stage")
    run.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a parameter, e.g. --set final.pixfrac=0.8 (repeatable, applied last)",
    )
    run.add_argument("-n", "--num-cores", type=int, default=1, metavar="N", help="threads to use (default 1)")
    run.add_argument("--in-memory", action="store_true", help="keep intermediate products in memory only")
    run.add_argument("--clean", action="store_true", help="remove intermediate products at the end")
    run.add_argument("--allow-mixed-filters", action="store_true",
                     help="combine exposures taken through different filters (refused by default)")
    info = parser.add_argument_group("information")
    info.add_argument(
        "--show-config",
        action="store_true",
        help="print the effective configuration for INPUT... and where each value comes from",
    )
    info.add_argument("--list-stages", action="store_true", help="list stages with requires, provides, plugin")
    info.add_argument("--list-plugins", action="store_true", help="list plugins with distribution and hooks")
    info.add_argument("--list-kernels", action="store_true", help="list array kernels with their backend")
    info.add_argument("--list-instruments", action="store_true", help="list registered instruments")
    info.add_argument("--version", action="store_true", help="print the version and the kernel backend")
    sim = parser.add_argument_group("simulation")
    sim.add_argument(
        "--simulate",
        metavar="INSTRUMENT",
        help="write a simulated dithered visit (WFC3/UVIS, WFC3/IR, ACS/WFC, ACS/HRC, ACS/SBC) "
        "with its truth, then stop",
    )
    sim.add_argument("--nexp", type=int, default=4, metavar="N", help="exposures to simulate (default 4)")
    sim.add_argument("--out", metavar="DIR", default=".", help="directory for --simulate (default: current)")
    sim.add_argument("--seed", type=int, default=0, metavar="N", help="random seed of --simulate (default 0)")
    sim.add_argument("--full-size", action="store_true", help="simulate full-frame chips instead of 256x512 subarrays")
    sim.add_argument(
        "--demo",
        nargs="?",
        const="drizrun-demo",
        metavar="DIR",
        help="simulate a small WFC3/UVIS visit in DIR (default drizrun-demo), run every installed "
        "stage on it and summarise",
    )
    _common_options(parser)
    return parser


_OWN_DESTS = frozenset(vars(build_parser().parse_args([])))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``drizrun`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    pre = argparse.ArgumentParser(add_help=False)
    _common_options(pre)
    early, _ = pre.parse_known_args(argv)
    _setup_logging(early.verbose, early.quiet)
    if not early.release_memory:
        retain_freed_memory()
    if not early.huge_pages:
        avoid_huge_pages()
    previous = _catch_sigterm()
    try:
        session = _make_session(early.plugins, early.strict_plugins)
        parser = build_parser()
        session.pm.hook.drizrun_addoption(parser=parser)
        args = parser.parse_args(argv)
        return _dispatch(args, session)
    except DrizrunError as exc:
        _report(str(exc), early.verbose)
        return exc.exit_status
    except KeyboardInterrupt:
        print("drizrun: interrupted; no partial product was left behind", file=sys.stderr)
        return 130
    except Terminated:
        print("drizrun: terminated; no partial product was left behind", file=sys.stderr)
        return 143
    except Exception as exc:
        _report(f"internal error: {type(exc).__name__}: {exc} (rerun with -v for the traceback)", early.verbose)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class Terminated(BaseException):
    """Raised in the main thread when the process receives SIGTERM.

    Deriving from ``BaseException`` lets it unwind through every ``finally``
    and the atomic writers (which remove their temporary files), like
    ``KeyboardInterrupt`` does for SIGINT.
    """


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(signum)


def _catch_sigterm() -> Any:
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)


def _report(message: str, verbose: int) -> None:
    if verbose:
        traceback.print_exc(file=sys.stderr)
    print(f"drizrun: error: {message}", file=sys.stderr)


def _setup_logging(verbose: int, quiet: int) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", datefmt="%H:%M:%S"))
    root = logging.getLogger("drizrun")
    for old in list(root.handlers):
        if getattr(old, "_drizrun_cli", False):
            root.removeHandler(old)
    handler._drizrun_cli = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False


def _make_session(plugin_args: Sequence[str], strict: bool) -> Session:
    block = [p[3:] for p in plugin_args if p.startswith("no:")]
    extra = [p for p in plugin_args if not p.startswith("no:")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PluginLoadWarning)
        session = Session.create(block=block, plugins=extra, strict=strict)
    for warning in caught:
        if issubclass(warning.category, PluginLoadWarning):
            print(f"drizrun: warning: {warning.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return session


def _dispatch(args: argparse.Namespace, session: Session) -> int:
    from . import listing

    if args.version:
        print(listing.version_text())
        return 0
    for flag, render in (
        ("list_stages", listing.stages_table),
        ("list_plugins", listing.plugins_table),
        ("list_kernels", listing.kernels_table),
        ("list_instruments", listing.instruments_table),
    ):
        if getattr(args, flag):
            print(render(session))
            return 0
    if args.simulate is not None or args.demo is not None:
        return _simulation(args, session)
    if not args.inputs:
        raise UsageError("no INPUT given (try drizrun --help, or drizrun --list-stages)")
    stages = _split_stages(args.stages)
    options = {key: value for key, value in vars(args).items() if key not in _OWN_DESTS}
    common: dict[str, Any] = dict(
        stages=stages,
        output=args.output,
        config_file=args.config,
        settings=args.settings,
        in_memory=args.in_memory,
        clean=args.clean,
        num_cores=args.num_cores,
        allow_mixed_filters=args.allow_mixed_filters,
        options=options,
    )
    if args.show_config:
        from .config import format_config
        from .runner import prepare

        config = prepare(args.inputs, session=session, **common)
        print(format_config(config, session.stages), end="")
        return 0
    from .progress import Progress, TerminalProgress
    from .runner import run

    progress = TerminalProgress() if sys.stderr.isatty() and not args.quiet else Progress()
    result = run(args.inputs, session=session, progress=progress, **common)
    if not args.quiet:
        print(listing.run_summary(result))
    return 0


def _simulation(args: argparse.Namespace, session: Session) -> int:
    if args.inputs:
        raise UsageError("--simulate and --demo take no INPUT")
    if args.simulate is not None and args.demo is not None:
        raise UsageError("use --simulate or --demo, not both")
    if args.demo is not None:
        from .demo import format_demo, run_demo

        print(format_demo(run_demo(args.demo, session=session, seed=args.seed)))
        return 0
    from .simulate import simulate

    visit = simulate(args.simulate, args.nexp, args.out, seed=args.seed, full_size=args.full_size)
    if not args.quiet:
        print(
            f"simulated {len(visit.exposures)} {visit.spec.instrument} exposure(s) in {args.out} "
            f"(distortion: {visit.geometry_source}):"
        )
        for path in (*visit.exposures, visit.association, visit.catalogue, visit.positions, *visit.cr_masks):
            print(f"  {path}")
    return 0


def _split_stages(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise UsageError("--stages needs at least one stage name, e.g. --stages sep,median,blot,cr,final")
    return names


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
