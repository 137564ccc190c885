"""Registries: where plugins put the stages, instruments and kernels they provide.

The registration hooks (``drizrun_register_stages`` and friends) each receive one
registry and call ``registry.add(obj)``. A name registered twice is an error
naming both plugins, unless the second call passes ``replace=True``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import RegistryError, closest
from .instrument import Instrument, check_instrument
from .kernelspec import KernelSpec
from .stage import StageInfo, describe_stage

__all__ = ["InstrumentRegistry", "KernelRegistry", "Registry", "StageRegistry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """An ordered name → object mapping that refuses silent overrides.

    Parameters
    ----------
    kind : str
        What the registry holds ("stage", "instrument", "kernel"), for messages.
    key : callable
        Returns the registration name of an object.
    """

    def __init__(self, kind: str, key: Callable[[T], str]) -> None:
        self.kind = kind
        self._key = key
        self._items: dict[str, T] = {}
        self._sources: dict[str, str] = {}
        self.current_source = "<library>"

    def add(self, obj: T, *, replace: bool = False) -> None:
        """Register ``obj`` under its name.

        Parameters
        ----------
        obj : object
            The thing to register.
        replace : bool
            Allow replacing an object of the same name registered earlier.

        Raises
        ------
        RegistryError
            If the name is taken and ``replace`` is false.
        """
        name = self._key(obj)
        if name in self._items and not replace:
            raise RegistryError(
                f"{self.kind} {name!r} from plugin {self.current_source!r} collides with the one from "
                f"plugin {self._sources[name]!r}; pass replace=True to override it"
            )
        self._items[name] = obj
        self._sources[name] = self.current_source

    def __getitem__(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(self._items) or "none"
            raise RegistryError(
                f"unknown {self.kind} {name!r}{closest(name, self._items)}; registered: {known}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> list[str]:
        """Return the registered names in registration order."""
        return list(self._items)

    def source(self, name: str) -> str:
        """Return the name of the plugin that registered ``name``."""
        self[name]  # raises a helpful error when unknown
        return self._sources[name]


class StageRegistry(Registry[StageInfo]):
    """Holds the stages plugins provide.

    ``add`` accepts any object following the :class:`drizrun.core.stage.Stage`
    protocol, checks it (name, attrs parameter class with a doc for every
    parameter, requires/provides) and stores a :class:`StageInfo` for it.
    """

    def __init__(self) -> None:
        super().__init__("stage", key=lambda info: info.name)

    def add(self, stage: object, *, replace: bool = False) -> None:  # type: ignore[override]
        """Register a stage object.

        Parameters
        ----------
        stage : Stage
            The stage (class attributes ``name``, ``params``, ``requires``,
            ``provides`` and a ``run(ctx, params)`` method).
        replace : bool
            Replace a stage of the same name registered earlier.

        Raises
        ------
        RegistryError
            If the object is not a valid stage or its name is taken.
        """
        try:
            info = describe_stage(stage, plugin=self.current_source)
        except (TypeError, ValueError) as exc:
            raise RegistryError(f"plugin {self.current_source!r} registered an invalid stage: {exc}") from exc
        super().add(info, replace=replace)

    def providers(self, artifact: str) -> list[StageInfo]:
        """Return the stages that provide ``artifact``."""
        return [info for info in self._items.values() if artifact in info.provides]


class InstrumentRegistry(Registry[Instrument]):
    """Holds instrument descriptions, keyed by name (``"WFC3/UVIS"``, ``"generic"``)."""

    def __init__(self) -> None:
        super().__init__("instrument", key=lambda inst: inst.name)

    def add(self, instrument: Instrument, *, replace: bool = False) -> None:
        """Register an instrument after checking it follows the protocol.

        Parameters
        ----------
        instrument : Instrument
            Object with ``name``, ``description`` and ``default_params(n_inputs)``.
        replace : bool
            Replace an instrument of the same name registered earlier.
        """
        try:
            check_instrument(instrument)
        except TypeError as exc:
            raise RegistryError(f"plugin {self.current_source!r} registered an invalid instrument: {exc}") from exc
        super().add(instrument, replace=replace)


class KernelRegistry(Registry[KernelSpec]):
    """Holds array kernels keyed by ``"<kind>/<name>"`` (``"drizzle/square"``)."""

    def __init__(self) -> None:
        super().__init__("kernel", key=lambda spec: spec.key)

    def add(self, spec: KernelSpec, *, replace: bool = False) -> None:
        """Register a kernel.

        Parameters
        ----------
        spec : KernelSpec
            The kernel description.
        replace : bool
            Replace a kernel of the same kind and name registered earlier (an
            alternative implementation of a built-in kernel).
        """
        if not isinstance(spec, KernelSpec):
            raise RegistryError(
                f"plugin {self.current_source!r} registered {spec!r}; kernels are registered as drizrun.KernelSpec"
            )
        super().add(spec, replace=replace)

    def get(self, kind: str, name: str) -> KernelSpec:
        """Return the kernel of a kind and name, e.g. ``get("drizzle", "square")``."""
        return self[f"{kind}/{name}"]

    def of_kind(self, kind: str) -> list[KernelSpec]:
        """Return every kernel of one kind, in registration order."""
        return [spec for spec in self._items.values() if spec.kind == kind]
