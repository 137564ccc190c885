"""Every hook drizrun calls: the public plugin API.

A plugin is a module (or object) with functions named after these hooks and
decorated with :data:`hookimpl`. drizrun always calls hooks with keyword
arguments; an implementation may accept any subset of a hook's arguments, and
later versions may add arguments but never remove or rename one.

The hooks fall into four groups, in the order a run calls them:

1. registration: ``drizrun_register_stages``, ``drizrun_register_instruments``,
   ``drizrun_register_kernels``: called once per session, each implementation
   adds objects to the registry it receives;
2. start-up: ``drizrun_addoption`` (command line only), ``drizrun_identify_instrument``,
   ``drizrun_configure``, ``drizrun_modify_stages``;
3. the stage-run protocol: ``drizrun_stage_run`` (first result wins; wrappers
   time, log or record each stage), then ``drizrun_stage_finished``;
4. the end: ``drizrun_run_finished``.

Built-in plugins implement the registration hooks with ``tryfirst=True`` (so
they populate registries first and a third-party plugin must pass
``replace=True`` to override a built-in name), and answer first-result hooks
with ``trylast=True`` (so any third-party plugin can answer before them).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from astropy.io.fits import Header

    from .config import RunConfig
    from .context import RunContext
    from .instrument import Instrument
    from .registry import InstrumentRegistry, KernelRegistry, StageRegistry
    from .stage import StageInfo, StageResult

__all__ = ["PROJECT", "hookimpl", "hookspec"]

#: The pluggy project name; markers and the entry-point group use it.
PROJECT = "drizrun"

#: Marks a hook specification (used only in this module).
hookspec = pluggy.HookspecMarker(PROJECT)

#: Marks a hook implementation in a plugin: ``@drizrun.hookimpl``.
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- registration ---------------------------------------------------------------------


@hookspec
def drizrun_register_stages(registry: StageRegistry) -> None:
    """Register the stages this plugin provides.

    Parameters
    ----------
    registry : drizrun.core.registry.StageRegistry
        Call ``registry.add(stage)`` for each stage object (see
        :class:`drizrun.core.stage.Stage`). A stage whose name is already taken
        raises :class:`~drizrun.core.errors.RegistryError` naming both plugins,
        unless added with ``replace=True``.

    Returns
    -------
    None
        Every implementation is called; return values are ignored.

    Notes
    -----
    Called once per session, built-in plugins first.
    """


@hookspec
def drizrun_register_instruments(registry: InstrumentRegistry) -> None:
    """Register the instruments this plugin describes.

    Parameters
    ----------
    registry : drizrun.core.registry.InstrumentRegistry
        Call ``registry.add(instrument)`` with objects following
        :class:`drizrun.core.instrument.Instrument`; ``replace=True`` overrides
        an instrument of the same name.

    Returns
    -------
    None
        Every implementation is called; return values are ignored.
    """


@hookspec
def drizrun_register_kernels(registry: KernelRegistry) -> None:
    """Register array kernels (drizzle, blot, derivative).

    Parameters
    ----------
    registry : drizrun.core.registry.KernelRegistry
        Call ``registry.add(drizrun.KernelSpec(kind=..., name=..., backend=...,
        function=...))``. An alternative implementation of an existing kernel
        passes ``replace=True``; a new kernel uses a new name.

    Returns
    -------
    None
        Every implementation is called; return values are ignored.
    """


# --- start-up -------------------------------------------------------------------------


@hookspec
def drizrun_addoption(parser: argparse.ArgumentParser) -> None:
    """Add command-line options (``drizrun`` command only).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The ``drizrun`` parser. Add options in an argument group named after the
        plugin, with long names prefixed by the plugin name to avoid clashes.
        Parsed values reach :func:`drizrun_configure` as ``config.options``.

    Returns
    -------
    None
        Every implementation is called; return values are ignored.
    """


@hookspec(firstresult=True)
def drizrun_identify_instrument(header: Header, path: str, registry: InstrumentRegistry) -> Instrument | None:
    """Say which registered instrument produced an input file.

    Parameters
    ----------
    header : astropy.io.fits.Header
        The primary header of the input.
    path : str
        The input file name (for messages; do not reopen the file).
    registry : drizrun.core.registry.InstrumentRegistry
        The registered instruments; return one of them.

    Returns
    -------
    Instrument or None
        The first non-``None`` answer wins. Return ``None`` for headers you do
        not recognise. The built-in generic instrument answers last.
    """


@hookspec
def drizrun_configure(config: RunConfig) -> None:
    """Inspect or adjust the run configuration before any stage runs.

    Parameters
    ----------
    config : drizrun.core.config.RunConfig
        The resolved configuration: ``config.params`` (stage name → parameter
        object), ``config.options`` (plugin command-line options), the inputs,
        output root and run flags. Replace a stage's parameters with
        ``config.set_params(stage, attrs.evolve(...), source="plugin x")``.

    Returns
    -------
    None
        Every implementation is called; return values are ignored.
    """


@hookspec
def drizrun_modify_stages(stages: list[str], config: RunConfig) -> None:
    """Change the requested stage list before it is validated and ordered.

    Parameters
    ----------
    stages : list of str
        The requested stage names; modify it in place (append, remove).
    config : drizrun.core.config.RunConfig
        The run configuration, read-only here.

    Returns
    -------
    None
        Every implementation is called; return values are ignored. The list is
        validated afterwards: unknown names are errors, missing prerequisites
        are enabled with a logged reason, and the order is recomputed.
    """


# --- the stage-run protocol -----------------------------------------------------------


@hookspec(firstresult=True)
def drizrun_stage_run(stage: StageInfo, params: Any, ctx: RunContext) -> StageResult | None:
    """Run one stage.

    Parameters
    ----------
    stage : drizrun.core.stage.StageInfo
        The stage to run (``stage.stage`` is the registered object).
    params : attrs instance
        Its resolved parameters.
    ctx : drizrun.core.context.RunContext
        The run context (inputs, artifacts, logger, products, provenance).

    Returns
    -------
    StageResult or None
        The first non-``None`` result wins. The built-in implementation
        (``trylast``) calls ``stage.stage.run(ctx, params)``. Wrap this hook
        with ``@drizrun.hookimpl(wrapper=True)`` to time, log, cache or record
        provenance: ``result = yield`` runs the stage; return the result.
    """


@hookspec
def drizrun_stage_finished(stage: StageInfo, ctx: RunContext, result: StageResult) -> None:
    """Be told that a stage has finished successfully or was skipped.

    Parameters
    ----------
    stage : drizrun.core.stage.StageInfo
        The stage that ran.
    ctx : drizrun.core.context.RunContext
        The run context.
    result : drizrun.core.stage.StageResult
        Its result, with ``elapsed`` filled in.

    Returns
    -------
    None
        Every implementation is called; return values are ignored.
    """


# --- the end --------------------------------------------------------------------------


@hookspec
def drizrun_run_finished(ctx: RunContext, exitstatus: int) -> None:
    """Be told that a run has ended, successfully or not.

    Parameters
    ----------
    ctx : drizrun.core.context.RunContext
        The run context.
    exitstatus : int
        0 on success, 1 when a stage failed.

    Returns
    -------
    None
        Every implementation is called; return values are ignored. Exceptions
        raised here are logged, never hide the run's own error.
    """
