"""A session: a plugin manager together with the registries its plugins filled.

Library users normally go through :func:`drizrun.run`; a :class:`Session` is
what to build once and reuse when running many jobs in one process, or to
inspect what is installed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pluggy

from .errors import DrizrunError, InputError, PluginLoadError
from .instrument import Instrument
from .pluginmanager import PluginInfo, get_plugin_manager, list_plugins
from .registry import InstrumentRegistry, KernelRegistry, Registry, StageRegistry

__all__ = ["Session"]


class Session:
    """Registered plugins and the stages, instruments and kernels they provide.

    Parameters
    ----------
    pm : pluggy.PluginManager
        A manager from :func:`drizrun.core.pluginmanager.get_plugin_manager`.

    Attributes
    ----------
    pm : pluggy.PluginManager
    stages : StageRegistry
    instruments : InstrumentRegistry
    kernels : KernelRegistry
    """

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.stages = StageRegistry()
        self.instruments = InstrumentRegistry()
        self.kernels = KernelRegistry()
        self._populate("drizrun_register_stages", self.stages)
        self._populate("drizrun_register_instruments", self.instruments)
        self._populate("drizrun_register_kernels", self.kernels)

    @classmethod
    def create(
        cls,
        *,
        autoload: bool | None = None,
        block: Iterable[str] = (),
        plugins: Iterable[str | object] = (),
        strict: bool = False,
    ) -> Session:
        """Build a plugin manager and its registries.

        Parameters are those of
        :func:`~drizrun.core.pluginmanager.get_plugin_manager`.
        """
        return cls(get_plugin_manager(autoload=autoload, block=block, plugins=plugins, strict=strict))

    def _populate(self, hook_name: str, registry: Registry[Any]) -> None:
        """Call one registration hook implementation at a time.

        Calling them one by one lets the registry name the plugin behind each
        object, so a collision message names both plugins. The order is
        ``tryfirst`` implementations, then plain ones, then ``trylast`` ones,
        each group in plugin registration order (built-ins, ``-p`` plugins,
        entry points), so a plugin registered later is the one that must pass
        ``replace=True``.
        """
        caller = getattr(self.pm.hook, hook_name)
        impls = caller.get_hookimpls()  # pluggy keeps: trylast (newest first), plain, tryfirst
        trylast = [impl for impl in impls if impl.trylast][::-1]
        tryfirst = [impl for impl in impls if impl.tryfirst]
        plain = [impl for impl in impls if not impl.trylast and not impl.tryfirst]
        for impl in (*tryfirst, *plain, *trylast):
            if impl.hookwrapper or impl.wrapper:
                raise PluginLoadError(f"plugin {impl.plugin_name!r}: {hook_name} cannot be a wrapper")
            registry.current_source = impl.plugin_name
            kwargs = {"registry": registry}
            try:
                impl.function(*(kwargs[name] for name in impl.argnames))
            except DrizrunError:
                raise
            except Exception as exc:
                raise PluginLoadError(
                    f"plugin {impl.plugin_name!r} failed in {hook_name}: {type(exc).__name__}: {exc}"
                ) from exc
            finally:
                registry.current_source = "<library>"

    def plugins(self) -> list[PluginInfo]:
        """Describe every registered plugin (``drizrun --list-plugins``)."""
        return list_plugins(self.pm)

    def distribution_of(self, plugin_name: str) -> str:
        """Return ``"<distribution> <version>"`` of a registered plugin."""
        dists: dict[str, tuple[str, str]] = getattr(self.pm, "_drizrun_dists", {})
        dist, version = dists.get(plugin_name, ("(not installed)", "-"))
        return f"{dist} {version}"

    def identify_instrument(self, header: Any, path: str = "<header>") -> Instrument:
        """Return the registered instrument that produced an input.

        Parameters
        ----------
        header : astropy.io.fits.Header or mapping
            The input's primary header.
        path : str
            The input's name, for messages.

        Returns
        -------
        Instrument

        Raises
        ------
        InputError
            When no plugin recognises the header.
        """
        instrument = self.pm.hook.drizrun_identify_instrument(header=header, path=path, registry=self.instruments)
        if instrument is None:
            raise InputError(
                f"{path}: no instrument plugin recognises INSTRUME={header.get('INSTRUME')!r} "
                f"DETECTOR={header.get('DETECTOR')!r}"
            )
        return instrument
