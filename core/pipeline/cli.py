"""The ``drizrun-pipeline`` command, runastrodriz's command line on drizrun.

``drizrun-pipeline [-f] [-i] [-b] [-n NUM_CORES] INPUT [NEWPATH]``. Exit
status: 0 on success, 1 when a run failed, 2 on usage or input errors, 130
when interrupted (SIGINT), 143 when terminated (SIGTERM). Errors are one line
on stderr; ``-d`` adds debug messages and the traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from ..allocator import avoid_huge_pages, retain_freed_memory
from ..cli import Terminated, _catch_sigterm, _setup_logging
from ..errors import DrizrunError, UsageError
from .driver import PipelineResult, process

__all__ = ["build_parser", "main"]

PROG = "drizrun-pipeline"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {PROG} --help)")


def _cores(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of ``drizrun-pipeline``."""
    parser = _Parser(
        prog=PROG,
        description="Drizzle an association, exposure or list as the HST archive pipeline (runastrodriz) does: "
        "FLT files into <root>_drz.fits, FLC files into <root>_drc.fits, with a trailer <root>.tra.",
        epilog="See docs/user-guide.md, section 'The pipeline driver'.",
    )
    parser.add_argument("input", metavar="INPUT",
                        help="association table (*_asn.fits), *_raw.fits name, FLT or FLC file, @listfile, "
                             "or comma-separated files")
    parser.add_argument("newpath", nargs="?", metavar="NEWPATH",
                        help="process in NEWPATH/<root>/ and move the products back beside INPUT")
    parser.add_argument("-f", "--force", action="store_true", help="remake products that are already complete")
    parser.add_argument("-i", "--in-memory", action="store_true", help="keep intermediate products in memory")
    parser.add_argument("-b", "--no-headerlets", action="store_true",
                        help="accepted for runastrodriz compatibility; drizrun writes no headerlets")
    parser.add_argument("-n", "--num-cores", type=_cores, metavar="N",
                        help="threads to use (default: every available CPU)")
    parser.add_argument("-c", "--config", metavar="FILE", help="TOML configuration file, one table per stage")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="set a parameter, e.g. --set final.pixfrac=0.8 (repeatable, applied last)")
    parser.add_argument("-p", dest="plugins", action="append", default=[], metavar="NAME",
                        help="load plugin module NAME; -p no:NAME blocks the plugin NAME (repeatable)")
    parser.add_argument("-d", "--debug", action="store_true", help="debug messages, and tracebacks with errors")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    parser.add_argument("--release-memory", action="store_true",
                        help="give freed memory back to the system at once instead of keeping it for the next arrays")
    parser.add_argument("--huge-pages", action="store_true",
                        help="let the system back large arrays with transparent huge pages (off by default: slow "
                             "to supply on virtual machines)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``drizrun-pipeline`` command.

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
    debug = False
    previous = _catch_sigterm()
    try:
        args = build_parser().parse_args(argv)
        debug = args.debug
        _setup_logging(int(debug), int(args.quiet and not debug))
        if not args.release_memory:
            retain_freed_memory()
        if not args.huge_pages:
            avoid_huge_pages()
        result = process(
            args.input,
            force=args.force,
            newpath=args.newpath,
            num_cores=args.num_cores,
            in_memory=args.in_memory,
            config_file=args.config,
            settings=args.settings,
            plugins=[p for p in args.plugins if not p.startswith("no:")],
            block=[p[3:] for p in args.plugins if p.startswith("no:")],
        )
        if not args.quiet:
            print(_summary(result))
        return 0
    except DrizrunError as exc:
        _report(str(exc), debug)
        return exc.exit_status
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; no partial product was left behind", file=sys.stderr)
        return 130
    except Terminated:
        print(f"{PROG}: terminated; no partial product was left behind", file=sys.stderr)
        return 143
    except Exception as exc:
        _report(f"internal error: {type(exc).__name__}: {exc} (rerun with -d for the traceback)", debug)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _summary(result: PipelineResult) -> str:
    lines = []
    for run in result.runs:
        if run.status == "done":
            lines.append(f"made {run.product} ({run.elapsed:.2f} s)")
        else:
            lines.append(f"{run.status} {run.product}: {run.message}")
    lines.append(f"trailer: {result.trailer}")
    return "\n".join(lines)


def _report(message: str, debug: bool) -> None:
    if debug:
        traceback.print_exc(file=sys.stderr)
    print(f"{PROG}: error: {message}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
