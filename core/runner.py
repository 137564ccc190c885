"""The orchestrator: prepare a run's configuration, plan its stages, run them.

:func:`prepare` does everything that needs no pixels (expand inputs, identify
the instrument, resolve parameters, call ``drizrun_configure``); :func:`run`
then plans the stages and calls the stage-run protocol for each.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from .artifacts import ArtifactStore, fingerprint_inputs
from .config import ConfigLayer, RunConfig, load_config_file, parse_setting, resolve_params
from .context import ProvenanceRecord, RunContext
from .errors import ConfigError, DrizrunError, InputError, ProcessingError, StageError, UsageError
from .exposure import check_input_set, file_kind, filters_of
from .inputs import expand_inputs
from .planning import StagePlan, default_stages, plan_stages
from .progress import Progress
from .session import Session
from .stage import StageResult

__all__ = ["RunResult", "prepare", "run"]

log = logging.getLogger("drizrun")


@attrs.frozen
class RunResult:
    """What a run did.

    Attributes
    ----------
    config : RunConfig
        The configuration it ran with.
    plan : StagePlan
        The stages planned, enabled and skipped.
    history : tuple of ProvenanceRecord
        One record per stage that ran or was skipped.
    products : tuple of Path
        Files the user keeps.
    elapsed : float
        Wall time of the whole run in seconds.
    """

    config: RunConfig
    plan: StagePlan
    history: tuple[ProvenanceRecord, ...]
    products: tuple[Path, ...]
    elapsed: float


def prepare(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    session: Session,
    stages: Sequence[str] | None = None,
    output: str | os.PathLike[str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
    settings: Iterable[str] = (),
    params: dict[str, dict[str, Any]] | None = None,
    options: dict[str, Any] | None = None,
    in_memory: bool = False,
    clean: bool = False,
    num_cores: int = 1,
    allow_mixed_filters: bool = False,
) -> RunConfig:
    """Resolve a run's configuration without touching pixels.

    Parameters are those of :func:`run` (without ``session`` creation options).

    Returns
    -------
    RunConfig
        After every ``drizrun_configure`` hook has run.
    """
    if num_cores < 1:
        raise UsageError(f"--num-cores must be at least 1, got {num_cores}")
    input_set = expand_inputs([os.fspath(item) for item in inputs])
    instrument, summaries = _identify(session, input_set.files)
    check_input_set(summaries, allow_mixed_filters=allow_mixed_filters)

    layers = []
    if instrument is not None:
        defaults = instrument.default_params(len(input_set.files))
        layers.append(ConfigLayer(f"instrument {instrument.name} ({len(input_set.files)} inputs)", defaults,
                                  optional_stages=True))
    if config_file is not None:
        layers.append(load_config_file(config_file))
    if params:
        layers.append(ConfigLayer("library call", params))
    for setting in settings:
        stage, key, value = parse_setting(setting)
        layers.append(ConfigLayer("--set", {stage: {key: value}}))
    resolved, sources = resolve_params(session.stages, layers)

    output_dir, output_root = _output_location(output, input_set.product, input_set.files)
    config = RunConfig(
        inputs=input_set.files,
        output_root=output_root,
        output_dir=output_dir,
        stages=list(stages) if stages is not None else None,
        params=resolved,
        sources=sources,
        options=dict(options or {}),
        instrument=instrument.name if instrument is not None else None,
        in_memory=in_memory,
        clean=clean,
        num_cores=num_cores,
    )
    session.pm.hook.drizrun_configure(config=config)
    return config


def run(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    stages: Sequence[str] | None = None,
    output: str | os.PathLike[str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
    settings: Iterable[str] = (),
    params: dict[str, dict[str, Any]] | None = None,
    in_memory: bool = False,
    clean: bool = False,
    num_cores: int = 1,
    allow_mixed_filters: bool = False,
    session: Session | None = None,
    plugins: Iterable[str | object] = (),
    block: Iterable[str] = (),
    autoload: bool | None = None,
    strict_plugins: bool = False,
    options: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Run drizrun's stages on a set of inputs.

    Parameters
    ----------
    inputs : iterable of str or path
        FITS files, globs, ``@listfile`` names or association tables.
    stages : sequence of str, optional
        Stage names (default: every installed canonical stage). Order and
        prerequisites are resolved automatically.
    output : str or path, optional
        Output root, possibly with a directory (``"out/m31"`` writes
        ``out/m31_drz.fits``). Default: the association's product name, the
        input's root name for a single input, else ``"final"``.
    config_file : str or path, optional
        TOML file with one table per stage.
    settings : iterable of str
        ``"stage.key=value"`` overrides, applied last.
    params : dict, optional
        ``{stage: {key: value}}`` overrides, applied before ``settings``.
    in_memory : bool
        Keep intermediate artifacts in memory; write only final products.
    clean : bool
        Delete intermediate files after a successful run.
    num_cores : int
        Threads stages may use.
    allow_mixed_filters : bool
        Accept exposures through different filters (FLT mixed with FLC and
        mixed instruments are always refused).
    session : Session, optional
        Reuse a session (plugins already loaded); otherwise one is built from
        ``plugins``, ``block``, ``autoload`` and ``strict_plugins``.
    plugins, block, autoload, strict_plugins
        See :func:`drizrun.core.pluginmanager.get_plugin_manager`.
    options : dict, optional
        Values for plugin options (what ``drizrun_addoption`` adds on the
        command line).
    progress : Progress, optional
        Receives the stages' progress reports (default: none shown; the
        command line passes a terminal display).

    Returns
    -------
    RunResult

    Raises
    ------
    DrizrunError
        A :class:`~drizrun.core.errors.UsageError` subclass for bad inputs,
        configuration or stage lists (nothing has been processed), a
        :class:`~drizrun.core.errors.ProcessingError` when a stage fails.
    """
    started = time.perf_counter()
    if session is None:
        session = Session.create(autoload=autoload, block=block, plugins=plugins, strict=strict_plugins)
    config = prepare(
        inputs, session=session, stages=stages, output=output, config_file=config_file, settings=settings,
        params=params, options=options, in_memory=in_memory, clean=clean, num_cores=num_cores,
        allow_mixed_filters=allow_mixed_filters,
    )
    requested = list(config.stages) if config.stages is not None else default_stages(session.stages)
    session.pm.hook.drizrun_modify_stages(stages=requested, config=config)

    _check_output_dir(config.output_dir)
    store = ArtifactStore(directory=config.output_dir, root=config.output_root, in_memory=config.in_memory,
                          fingerprint=fingerprint_inputs(config.inputs))
    plan = plan_stages(requested, session.stages, n_inputs=config.n_inputs, available=store.has)
    for name, reason in plan.enabled:
        log.info("turning on stage %r: %s", name, reason)
    for name, reason in plan.skipped:
        log.info("skipping stage %r: %s", name, reason)
    log.info("stages: %s", ", ".join(plan.names) or "none")

    ctx = RunContext(config=config, artifacts=store, kernels=session.kernels, instruments=session.instruments,
                     pm=session.pm, progress=progress or Progress())
    status = 1
    try:
        for name, reason in plan.skipped:
            session.pm.hook.drizrun_stage_finished(
                stage=session.stages[name], ctx=ctx, result=StageResult(status="skipped", message=reason)
            )
        for index, info in enumerate(plan.stages):
            try:
                result = _run_stage(session, info, config.params[info.name], ctx)
            finally:
                ctx.progress.finish()
            session.pm.hook.drizrun_stage_finished(stage=info, ctx=ctx, result=result)
            if config.in_memory:
                _release_unneeded(store, plan.stages[index + 1:])
        if config.clean and not config.in_memory:
            for path in store.remove_persisted():
                log.info("removed intermediate file %s", path)
        status = 0
    finally:
        try:
            session.pm.hook.drizrun_run_finished(ctx=ctx, exitstatus=status)
        except Exception:  # never hide the run's own error
            log.exception("a drizrun_run_finished hook failed")
    return RunResult(config=config, plan=plan, history=tuple(ctx.history), products=tuple(ctx.products),
                     elapsed=time.perf_counter() - started)


def _release_unneeded(store: ArtifactStore, remaining: Sequence[Any]) -> None:
    """Drop the in-memory artifacts that no remaining stage requires or uses.

    In memory, the intermediates (single drizzles, blotted chips) are most of
    a run's memory; the later stages then allocate from what they held.
    """
    needed = {artifact for info in remaining for artifact in (*info.requires, *info.uses)}
    for name in store.names():
        if name not in needed and store.release(name):
            log.debug("artifact %r released: no later stage reads it", name)


def _run_stage(session: Session, info: Any, params: Any, ctx: RunContext) -> StageResult:
    try:
        result = session.pm.hook.drizrun_stage_run(stage=info, params=params, ctx=ctx)
    except DrizrunError:
        raise
    except MemoryError as exc:
        raise ProcessingError(f"stage {info.name!r} ran out of memory") from exc
    except Exception as exc:
        raise StageError(info.name, exc) from exc
    if result is None:
        raise ProcessingError(f"no plugin ran stage {info.name!r} (is the built-in 'execute' plugin blocked?)")
    if not isinstance(result, StageResult):
        raise ProcessingError(f"stage {info.name!r} returned {type(result).__name__}, not a StageResult")
    return result


@attrs.frozen
class _InputSummary:
    """What the input-set checks need from one primary header."""

    path: Path
    kind: str
    instrument: str
    filters: tuple[str, ...]


def _identify(session: Session, files: Sequence[Path]) -> tuple[Any, list[_InputSummary]]:
    from astropy.io import fits

    found: dict[str, tuple[Any, Path]] = {}
    summaries = []
    for path in files:
        try:
            header = fits.getheader(path, 0)
        except (OSError, ValueError, TypeError) as exc:
            raise InputError(f"{path}: cannot read the primary header: {exc}") from exc
        instrument = session.identify_instrument(header, str(path))
        found.setdefault(instrument.name, (instrument, path))
        summaries.append(_InputSummary(path, file_kind(path), instrument.name, filters_of(header)))
    if len(found) > 1:
        names = ", ".join(f"{name} ({path.name})" for name, (_, path) in found.items())
        raise ConfigError(f"the inputs mix instruments: {names}; run them separately")
    return (next(iter(found.values()))[0] if found else None), summaries


def _output_location(output: str | os.PathLike[str] | None, product: str | None,
                     files: Sequence[Path]) -> tuple[Path, str]:
    if output is not None:
        target = Path(output)
        if not target.name or target.name in (".", ".."):
            raise UsageError(f"--output {output!r} must end in a root name, e.g. out/mosaic")
        return target.parent.resolve(), target.name
    if product:
        return Path.cwd(), product
    if len(files) == 1:
        return Path.cwd(), _rootname(files[0])
    return Path.cwd(), "final"


def _rootname(path: Path) -> str:
    name = path.name
    for ext in (".gz", ".fits", ".fit", ".fts"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
    for suffix in ("_flt", "_flc", "_raw", "_cal"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _check_output_dir(directory: Path) -> None:
    if not directory.exists():
        try:
            directory.mkdir(parents=True)
        except OSError as exc:
            raise UsageError(f"cannot create output directory {directory}: {exc.strerror}") from exc
    if not directory.is_dir():
        raise UsageError(f"output directory {directory} is not a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(f"output directory {directory} is not writable")
