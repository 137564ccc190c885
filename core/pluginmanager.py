"""Building the plugin manager: built-ins, ``-p`` plugins and entry points.

Built-in plugins are ordinary modules registered explicitly, under short names
that ``-p no:NAME`` can block. Third-party plugins are loaded from the
``drizrun`` entry-point group unless ``DRIZRUN_DISABLE_PLUGIN_AUTOLOAD`` is set
to a non-empty value. A third-party plugin that fails to import is skipped with
a :class:`~drizrun.core.errors.PluginLoadWarning` naming it, its distribution
and version, or raises :class:`~drizrun.core.errors.PluginLoadError` when
``strict=True``. A function named ``drizrun_*`` that matches no hook fails at
start-up, decorated or not.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import os
import warnings
from collections.abc import Iterable
from typing import Any

import attrs
import pluggy

from . import hookspecs
from .errors import PluginLoadError, PluginLoadWarning, closest

__all__ = [
    "BUILTIN_PLUGINS",
    "AUTOLOAD_ENV",
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "get_plugin_manager",
    "list_plugins",
]

#: Entry-point group third-party distributions declare their plugin module in.
ENTRY_POINT_GROUP = "drizrun"

#: Set to any non-empty value to stop loading plugins from entry points.
AUTOLOAD_ENV = "DRIZRUN_DISABLE_PLUGIN_AUTOLOAD"

#: Built-in plugins: short name -> module. Registered in this order.
BUILTIN_PLUGINS: dict[str, str] = {
    "execute": "drizrun.plugins.execute",
    "timing": "drizrun.plugins.timing",
    "stagelog": "drizrun.plugins.stagelog",
    "provenance": "drizrun.plugins.provenance",
    "kernels": "drizrun.plugins.kernels",
    "wfc3": "drizrun.plugins.instruments.wfc3",
    "acs": "drizrun.plugins.instruments.acs",
    "generic-instrument": "drizrun.plugins.instruments.generic",
    "static": "drizrun.plugins.stages.static",
    "sky": "drizrun.plugins.stages.sky",
    "sep": "drizrun.plugins.stages.sep",
    "median": "drizrun.plugins.stages.median",
    "blot": "drizrun.plugins.stages.blot",
    "cr": "drizrun.plugins.stages.cr",
    "final": "drizrun.plugins.stages.final",
}

_HOOK_PREFIX = "drizrun_"


class DrizrunPluginManager(pluggy.PluginManager):
    """A pluggy manager that also treats undecorated ``drizrun_*`` functions as hooks.

    This makes a misspelt hook name an error at start-up instead of a function
    that is silently never called.
    """

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith(_HOOK_PREFIX):
            method = getattr(plugin, name, None)
            if inspect.isroutine(method):
                return {}
        return opts


@attrs.frozen
class PluginInfo:
    """One registered plugin, for ``drizrun --list-plugins``.

    Attributes
    ----------
    name : str
        Registered name (what ``-p no:NAME`` blocks).
    distribution : str
        Distribution that ships it (``drizrun`` for built-ins).
    version : str
        That distribution's version.
    hooks : tuple of str
        Hook names the plugin implements.
    builtin : bool
        Whether it is one of drizrun's built-in plugins.
    """

    name: str
    distribution: str
    version: str
    hooks: tuple[str, ...]
    builtin: bool


def get_plugin_manager(
    *,
    autoload: bool | None = None,
    block: Iterable[str] = (),
    plugins: Iterable[str | object] = (),
    strict: bool = False,
) -> pluggy.PluginManager:
    """Create a plugin manager with every plugin of a session registered.

    Parameters
    ----------
    autoload : bool, optional
        Load plugins from the ``drizrun`` entry-point group. Default: yes,
        unless the environment variable ``DRIZRUN_DISABLE_PLUGIN_AUTOLOAD`` is
        set to a non-empty value.
    block : iterable of str
        Plugin names not to register (built-in short names, entry-point names,
        or module names given to ``plugins``).
    plugins : iterable of str or object
        Extra plugins: an importable module name, or a plugin object/module.
    strict : bool
        Raise instead of warning when a third-party plugin fails to load.

    Returns
    -------
    pluggy.PluginManager
        Ready to call; hook names have been checked.

    Raises
    ------
    PluginLoadError
        When a ``plugins`` module cannot be imported, when ``strict`` and an
        entry point fails, or when any plugin implements an unknown hook.
    """
    pm = DrizrunPluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm._drizrun_dists = {}  # type: ignore[attr-defined]  # name -> (distribution, version)
    for name in block:
        pm.set_blocked(name)

    from .. import __version__

    for short, module_name in BUILTIN_PLUGINS.items():
        if pm.is_blocked(short) or pm.is_blocked(module_name):
            continue
        _register(pm, importlib.import_module(module_name), short, ("drizrun", __version__))

    for plugin in plugins:
        if isinstance(plugin, str):
            if pm.is_blocked(plugin) or pm.get_plugin(plugin) is not None:
                continue
            try:
                module = importlib.import_module(plugin)
            except Exception as exc:
                raise PluginLoadError(f"cannot import plugin {plugin!r}: {type(exc).__name__}: {exc}") from exc
            _register(pm, module, plugin, _distribution_of(module))
        else:
            name = getattr(plugin, "__name__", None) or f"{type(plugin).__name__}-{id(plugin):x}"
            if not pm.is_blocked(name):
                _register(pm, plugin, name, _distribution_of(plugin))

    if autoload is None:
        autoload = not os.environ.get(AUTOLOAD_ENV)
    if autoload:
        _load_entry_points(pm, strict=strict)

    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise _unknown_hook_error(pm, exc) from exc
    return pm


def _register(pm: pluggy.PluginManager, plugin: object, name: str, dist: tuple[str, str]) -> None:
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginLoadError(f"plugin {name!r} ({dist[0]} {dist[1]}) is invalid: {exc}") from exc
    except ValueError as exc:  # the same plugin object or name registered twice
        raise PluginLoadError(f"plugin {name!r} ({dist[0]} {dist[1]}) cannot be registered: {exc}") from exc
    pm._drizrun_dists[name] = dist  # type: ignore[attr-defined]


def _load_entry_points(pm: pluggy.PluginManager, *, strict: bool) -> None:
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if pm.is_blocked(ep.name) or pm.get_plugin(ep.name) is not None:
            continue
        dist = (ep.dist.name, ep.dist.version) if ep.dist is not None else ("unknown distribution", "?")
        try:
            plugin = ep.load()
        except Exception as exc:
            message = (
                f"plugin {ep.name!r} from {dist[0]} {dist[1]} failed to load ({ep.value}): {type(exc).__name__}: {exc}"
            )
            if strict:
                raise PluginLoadError(message) from exc
            warnings.warn(message, PluginLoadWarning, stacklevel=2)
            continue
        try:
            _register(pm, plugin, ep.name, dist)
        except PluginLoadError as exc:
            if strict:
                raise
            message = str(exc)
            warnings.warn(message, PluginLoadWarning, stacklevel=2)


def _unknown_hook_error(pm: pluggy.PluginManager, exc: pluggy.PluginValidationError) -> PluginLoadError:
    known = [name for name in dir(hookspecs) if name.startswith(_HOOK_PREFIX)]
    for name, caller in vars(pm.hook).items():
        if name in known or not name.startswith(_HOOK_PREFIX):
            continue
        for impl in caller.get_hookimpls():
            return PluginLoadError(
                f"plugin {impl.plugin_name!r} implements unknown hook {name!r}{closest(name, known)}"
            )
    return PluginLoadError(str(exc))


def _distribution_of(plugin: object) -> tuple[str, str]:
    module_name = getattr(plugin, "__name__", None) or type(plugin).__module__
    top = module_name.split(".")[0]
    dists = importlib.metadata.packages_distributions().get(top, [])
    if dists:
        try:
            return dists[0], importlib.metadata.version(dists[0])
        except importlib.metadata.PackageNotFoundError:
            pass
    return "(not installed)", "-"


def list_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Describe every registered (not blocked) plugin, in registration order.

    Parameters
    ----------
    pm : pluggy.PluginManager
        A manager from :func:`get_plugin_manager`.

    Returns
    -------
    list of PluginInfo
    """
    dists: dict[str, tuple[str, str]] = getattr(pm, "_drizrun_dists", {})
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # blocked
            continue
        hooks = tuple(sorted(caller.name for caller in pm.get_hookcallers(plugin) or ()))
        dist, version = dists.get(name, ("(not installed)", "-"))
        infos.append(
            PluginInfo(name=name, distribution=dist, version=version, hooks=hooks, builtin=name in BUILTIN_PLUGINS)
        )
    return infos
