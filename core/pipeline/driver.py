"""``drizrun.process``: runastrodriz's processing of one INPUT, on drizrun's stages."""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from ..config import format_config
from ..errors import DrizrunError, UsageError
from ..runner import prepare, run
from ..session import Session
from .capture import LogCapture
from .complete import check_product
from .plan import PipelineInput, ProductPlan, resolve_input, trailer_location
from .trailer import append_trailer, run_section
from .workdir import WorkDir

__all__ = ["PipelineResult", "ProductRun", "process"]

log = logging.getLogger("drizrun.pipeline")

#: Arguments of :func:`drizrun.run` the pipeline sets itself.
_RESERVED = ("inputs", "output", "in_memory", "clean", "num_cores")
_SESSION_ARGS = ("session", "plugins", "block", "autoload", "strict_plugins")
_RUN_PARAMETERS = frozenset(inspect.signature(run).parameters)


@attrs.frozen
class ProductRun:
    """What the pipeline did for one product.

    Attributes
    ----------
    product : Path
        The ``_drz`` or ``_drc`` file, in INPUT's directory.
    inputs : tuple of Path
        The exposures it is made from.
    status : str
        ``"done"``, ``"skipped"`` (already complete) or ``"failed"``.
    message : str
        Why it was skipped, or the error.
    files : tuple of Path
        Every file the run wrote that was kept (the product, and any other
        product such as ``_crclean`` files), empty unless done.
    elapsed : float
        Wall time in seconds.
    """

    product: Path
    inputs: tuple[Path, ...]
    status: str
    message: str = ""
    files: tuple[Path, ...] = ()
    elapsed: float = 0.0


@attrs.frozen
class PipelineResult:
    """What :func:`process` did.

    Attributes
    ----------
    trailer : Path
        The trailer ``<root>.tra`` the run was appended to.
    runs : tuple of ProductRun
        One per product (``_drz`` for FLT files, ``_drc`` for FLC files).
    elapsed : float
        Wall time in seconds.
    """

    trailer: Path
    runs: tuple[ProductRun, ...]
    elapsed: float

    @property
    def products(self) -> tuple[Path, ...]:
        """The products made or found complete."""
        return tuple(r.product for r in self.runs if r.status == "skipped" or r.product in r.files)


def _default_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _check_params(params: dict[str, Any]) -> None:
    for name in _RESERVED:
        if name in params:
            raise UsageError(f"process() sets {name!r} itself; it is not a run() argument here")
    for name in params:
        if name not in _RUN_PARAMETERS:
            raise UsageError(f"process() got an unexpected keyword argument {name!r}")


def process(
    in_file: str | os.PathLike[str],
    force: bool = False,
    newpath: str | os.PathLike[str] | None = None,
    num_cores: int | None = None,
    in_memory: bool = True,
    **params: Any,
) -> PipelineResult:
    """Process one INPUT as the archive pipeline does (runastrodriz).

    FLT files are drizzled into ``<root>_drz.fits`` and FLC files into
    ``<root>_drc.fits`` beside INPUT, each with the instrument's default
    parameters for its number of exposures; a product that is already complete
    (made from the same, unchanged inputs) is not remade unless ``force``.
    Every call appends a section to the trailer ``<root>.tra``.

    Parameters
    ----------
    in_file : str or path
        An association table ``*_asn.fits``, a ``*_raw.fits`` name, one FLT or
        FLC file, ``@listfile`` or a comma-separated list of files.
    force : bool
        Remake products that are complete.
    newpath : str or path, optional
        Work in ``newpath/<root>/``: copy the inputs there, run there, move the
        products back beside INPUT and remove the directory, whatever happens.
    num_cores : int, optional
        Threads for the stages (default: every CPU available to the process).
    in_memory : bool
        Keep intermediate products in memory.
    **params
        Other arguments of :func:`drizrun.run`: ``settings``, ``params``,
        ``config_file``, ``stages``, ``options``, ``allow_mixed_filters``,
        ``session``, ``plugins``, ``block``, ``autoload``, ``strict_plugins``.

    Returns
    -------
    PipelineResult

    Raises
    ------
    DrizrunError
        The first error, after the trailer has recorded it: a
        :class:`~drizrun.core.errors.UsageError` for bad inputs or arguments, a
        :class:`~drizrun.core.errors.ProcessingError` when a run failed. The
        other product is still attempted when one fails.
    """
    started, clock = datetime.now(), time.perf_counter()
    directory, root = trailer_location(in_file)
    trailer = directory / f"{root}.tra"
    cores = _default_cores() if num_cores is None else num_cores
    options = {"force": force, "newpath": None if newpath is None else os.fspath(newpath), "num_cores": cores,
               "in_memory": in_memory, **{key: value for key, value in params.items() if key != "session"}}
    state = _State()
    capture = LogCapture()
    outcome = "interrupted"
    try:
        with capture:
            try:
                _check_params(params)
                if cores < 1:
                    raise UsageError(f"num_cores must be at least 1, got {cores}")
                _process(resolve_input(in_file), state, force=force, newpath=newpath, cores=cores,
                         in_memory=in_memory, params=dict(params))
            except DrizrunError as exc:
                state.add_error(exc)
        outcome = f"FAILED: {state.errors[0]}" if state.errors else _summary(state.runs)
    except Exception as exc:
        outcome = f"FAILED: internal error: {type(exc).__name__}: {exc}"
        raise
    except BaseException as exc:
        outcome = f"interrupted ({type(exc).__name__})"
        raise
    finally:
        _write_trailer(trailer, started, os.fspath(in_file), options, state, capture, outcome)
    if state.errors:
        raise state.errors[0]
    return PipelineResult(trailer=trailer, runs=tuple(state.runs), elapsed=time.perf_counter() - clock)


@attrs.define
class _State:
    runs: list[ProductRun] = attrs.Factory(list)
    sections: list[str] = attrs.Factory(list)
    errors: list[DrizrunError] = attrs.Factory(list)

    def add_error(self, error: DrizrunError) -> None:
        """Keep an error; the first is raised at the end, later ones are logged now."""
        if self.errors:
            log.error("%s", error)
        self.errors.append(error)


def _summary(runs: list[ProductRun]) -> str:
    done = sum(r.status == "done" for r in runs)
    skipped = sum(r.status == "skipped" for r in runs)
    return f"ok: {done} product(s) made, {skipped} already complete"


def _write_trailer(trailer: Path, started: datetime, source: str, options: dict[str, Any], state: _State,
                   capture: LogCapture, outcome: str) -> None:
    try:
        append_trailer(trailer, started=started, source=source, options=options, sections=state.sections,
                       log_lines=capture.lines, warnings=capture.warnings, outcome=outcome)
    except (OSError, DrizrunError) as exc:
        log.error("cannot write the trailer %s: %s", trailer, exc)


def _process(pin: PipelineInput, state: _State, *, force: bool, newpath: str | os.PathLike[str] | None,
             cores: int, in_memory: bool, params: dict[str, Any]) -> None:
    todo = []
    for plan in pin.plans:
        reason = check_product(plan.product, plan.inputs)
        if reason is None and not force:
            message = (f"{plan.product.name} is complete (made from the same {len(plan.inputs)} input(s)); "
                       "-f remakes it")
            log.info("skipped: %s", message)
            state.runs.append(ProductRun(product=plan.product, inputs=plan.inputs, status="skipped",
                                         message=message))
            state.sections.append(run_section(plan.label, plan.inputs, f"skipped: {message}", None, ()))
            continue
        log.info("making %s from %s: %s", plan.product.name, plan.label.split(" -> ")[0],
                 "forced (-f)" if reason is None else reason)
        todo.append(plan)
    if not todo:
        return
    session_args = {name: params.pop(name) for name in _SESSION_ARGS if name in params}
    session = session_args.get("session")
    if session is None:
        session = Session.create(autoload=session_args.get("autoload"), block=session_args.get("block", ()),
                                 plugins=session_args.get("plugins", ()),
                                 strict=session_args.get("strict_plugins", False))
    work = WorkDir(newpath, pin.root, pin.copies) if newpath is not None else None
    with work if work is not None else contextlib.nullcontext():
        for plan in todo:
            try:
                _run_plan(plan, pin, work, session, state, cores=cores, in_memory=in_memory, params=params)
            except DrizrunError as exc:
                state.add_error(exc)


def _run_plan(plan: ProductPlan, pin: PipelineInput, work: WorkDir | None, session: Session, state: _State, *,
              cores: int, in_memory: bool, params: dict[str, Any]) -> None:
    clock = time.perf_counter()
    inputs = work.local(plan.inputs) if work is not None else plan.inputs
    output = (work.path if work is not None else pin.directory) / pin.product_root
    arguments = dict(params, output=output, in_memory=in_memory, clean=True, num_cores=cores, session=session)
    config_text = None
    try:
        config = prepare(inputs, **arguments)
        config_text = format_config(config, session.stages)
        result = run(inputs, **arguments)
        files = work.bring_back(result.products, pin.directory) if work is not None else result.products
    except DrizrunError as exc:
        elapsed = time.perf_counter() - clock
        state.runs.append(ProductRun(product=plan.product, inputs=plan.inputs, status="failed", message=str(exc),
                                     elapsed=elapsed))
        state.sections.append(run_section(plan.label, plan.inputs, f"FAILED after {elapsed:.2f} s: {exc}",
                                          config_text, ()))
        raise
    except BaseException as exc:
        elapsed = time.perf_counter() - clock
        state.sections.append(run_section(plan.label, plan.inputs,
                                          f"stopped by {type(exc).__name__} after {elapsed:.2f} s", config_text, ()))
        raise
    elapsed = time.perf_counter() - clock
    if plan.product not in files:
        log.warning("the run made no %s (did the final stage run?)", plan.product.name)
    state.runs.append(ProductRun(product=plan.product, inputs=plan.inputs, status="done", files=tuple(files),
                                 elapsed=elapsed))
    state.sections.append(run_section(plan.label, plan.inputs, f"done in {elapsed:.2f} s", config_text,
                                      result.history))
