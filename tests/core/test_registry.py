"""Registries: conflicts name both plugins, replace=True overrides, stages are checked."""

from __future__ import annotations

import types

import attrs
import numpy as np
import pytest

import drizrun
from drizrun.core.errors import PluginLoadError, RegistryError
from drizrun.core.registry import StageRegistry


def _plugin(name: str, **hooks) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook_name, function in hooks.items():
        setattr(module, hook_name, drizrun.hookimpl(function))
    return module


def _kernel(name: str, backend: str = "numpy") -> drizrun.KernelSpec:
    return drizrun.KernelSpec(kind="deriv", name=name, backend=backend, function=lambda image: np.abs(image))


def test_builtin_kernel_name_collision_names_both_plugins():
    other = _plugin("thirdparty", drizrun_register_kernels=lambda registry: registry.add(_kernel("abs_deriv")))
    with pytest.raises(
        RegistryError, match="'deriv/abs_deriv' from plugin 'thirdparty' collides with .* plugin 'kernels'"
    ):
        drizrun.Session.create(autoload=False, plugins=[other])


def test_replace_true_overrides_a_builtin_kernel():
    other = _plugin(
        "thirdparty", drizrun_register_kernels=lambda registry: registry.add(_kernel("abs_deriv"), replace=True)
    )
    session = drizrun.Session.create(autoload=False, plugins=[other])
    spec = session.kernels.get("deriv", "abs_deriv")
    assert spec.backend == "numpy"
    assert session.kernels.source("deriv/abs_deriv") == "thirdparty"


def test_new_kernel_name_is_added_beside_the_builtin():
    other = _plugin("thirdparty", drizrun_register_kernels=lambda registry: registry.add(_kernel("mine")))
    session = drizrun.Session.create(autoload=False, plugins=[other])
    assert [s.name for s in session.kernels.of_kind("deriv")] == ["abs_deriv", "mine"]


def test_unknown_name_suggests_the_closest():
    session = drizrun.Session.create(autoload=False)
    with pytest.raises(RegistryError, match="did you mean 'deriv/abs_deriv'"):
        session.kernels.get("deriv", "abs_derv")


def test_kernel_registry_refuses_other_objects():
    other = _plugin("thirdparty", drizrun_register_kernels=lambda registry: registry.add(np.abs))
    with pytest.raises(RegistryError, match="registered as drizrun.KernelSpec"):
        drizrun.Session.create(autoload=False, plugins=[other])


def test_exception_inside_a_registration_hook_names_the_plugin():
    def boom(registry):
        raise RuntimeError("kaboom")

    other = _plugin("exploding", drizrun_register_stages=boom)
    with pytest.raises(
        PluginLoadError, match="plugin 'exploding' failed in drizrun_register_stages: RuntimeError: kaboom"
    ):
        drizrun.Session.create(autoload=False, plugins=[other])


@attrs.frozen
class _Undocumented:
    """Parameters with a field lacking a doc."""

    value: int = attrs.field(default=1)


class _BadStage:
    name = "bad"
    params = _Undocumented
    requires = ()
    provides = ()

    def run(self, ctx, params):
        return None


@attrs.frozen
class _Documented:
    """Good parameters."""

    value: int = drizrun.param(1, doc="A value.")


class _GoodStage:
    """A good stage."""

    name = "good"
    params = _Documented
    requires = ("x",)
    provides = ("y",)

    def run(self, ctx, params):
        return None


def test_stage_parameters_need_a_doc():
    registry = StageRegistry()
    with pytest.raises(RegistryError, match="parameter 'value' .* has no doc"):
        registry.add(_BadStage())


def test_stage_needs_a_run_method_and_tuples():
    registry = StageRegistry()
    stage = _GoodStage()
    stage.run = None
    with pytest.raises(RegistryError, match="no run"):
        registry.add(stage)
    stage = _GoodStage()
    stage.requires = "x"
    with pytest.raises(RegistryError, match="'requires' must be a tuple"):
        registry.add(stage)


def test_stage_info_describes_the_stage():
    registry = StageRegistry()
    registry.add(_GoodStage())
    info = registry["good"]
    assert (info.requires, info.provides, info.min_inputs, info.order) == (("x",), ("y",), 1, 100.0)
    assert info.description == "A good stage."
    assert [(p.name, p.type_name, p.default, p.doc) for p in info.params] == [("value", "int", 1, "A value.")]
    assert registry.providers("y")[0] is info


def test_stage_collision_without_replace_and_with_replace():
    first = _plugin("first", drizrun_register_stages=lambda registry: registry.add(_GoodStage()))
    second = _plugin("second", drizrun_register_stages=lambda registry: registry.add(_GoodStage()))
    with pytest.raises(
        RegistryError, match="stage 'good' from plugin 'second' collides with the one from plugin 'first'"
    ):
        drizrun.Session.create(autoload=False, plugins=[first, second])
    replacing = _plugin("third", drizrun_register_stages=lambda registry: registry.add(_GoodStage(), replace=True))
    session = drizrun.Session.create(autoload=False, plugins=[first, replacing])
    assert session.stages["good"].plugin == "third"


def _kernel_plugin(plugin_name: str, kernel_name: str, **opts) -> types.ModuleType:
    module = types.ModuleType(plugin_name)

    def drizrun_register_kernels(registry):
        registry.add(_kernel(kernel_name))

    module.drizrun_register_kernels = drizrun.hookimpl(**opts)(drizrun_register_kernels)
    return module


def test_registration_order_is_tryfirst_then_plain_then_trylast_each_in_plugin_order():
    plugins = [
        _kernel_plugin("late", "z_late", trylast=True),
        _kernel_plugin("a", "a_plain"),
        _kernel_plugin("early", "y_early", tryfirst=True),
        _kernel_plugin("b", "b_plain"),
        _kernel_plugin("later", "x_later", trylast=True),
    ]
    session = drizrun.Session.create(autoload=False, plugins=plugins)
    names = [spec.name for spec in session.kernels.of_kind("deriv")]
    # built-ins are tryfirst and registered before any other plugin
    assert names == ["abs_deriv", "y_early", "a_plain", "b_plain", "z_late", "x_later"]


def test_identify_instrument_first_answer_wins_and_generic_answers_last():
    import attrs

    @attrs.frozen
    class Cam:
        name: str = "CAM"
        description: str = "a camera"

        def default_params(self, n_inputs):
            return {}

    calls = []

    class Declines:
        @drizrun.hookimpl
        def drizrun_identify_instrument(self, header, path, registry):
            calls.append(path)
            return None

    class Claims:
        @drizrun.hookimpl
        def drizrun_register_instruments(self, registry):
            registry.add(Cam())

        @drizrun.hookimpl
        def drizrun_identify_instrument(self, header, path, registry):
            return registry["CAM"] if header.get("INSTRUME") == "CAM" else None

    session = drizrun.Session.create(autoload=False, plugins=[Claims(), Declines()])
    assert session.identify_instrument({"INSTRUME": "CAM"}, "a.fits").name == "CAM"
    assert session.identify_instrument({"INSTRUME": "OTHER"}, "b.fits").name == "generic"
    assert calls == ["a.fits", "b.fits"]  # the later-registered plugin is asked first


def test_without_the_generic_fallback_an_unknown_instrument_is_a_clear_error():
    from drizrun.core.errors import InputError

    session = drizrun.Session.create(autoload=False, block=["generic-instrument", "wfc3", "acs"])
    with pytest.raises(InputError, match="x.fits: no instrument plugin recognises INSTRUME='NICMOS'"):
        session.identify_instrument({"INSTRUME": "NICMOS", "DETECTOR": "IR"}, "x.fits")


def test_kernel_spec_drop_halfwidth_is_a_finite_non_negative_number_or_none():
    def make(value):
        return drizrun.KernelSpec(kind="drizzle", name="k", backend="numpy", function=lambda *a, **k: 0,
                                  drop_halfwidth=value)

    assert make(None).drop_halfwidth is None
    assert make(0.5).drop_halfwidth == 0.5
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="drop_halfwidth"):
            make(bad)
