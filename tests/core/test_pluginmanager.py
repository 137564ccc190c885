"""The plugin manager: built-ins, blocking, entry points, broken and misspelt plugins."""

from __future__ import annotations

import importlib.metadata
import warnings

import pytest
from fake_plugins import chain

import drizrun
from drizrun.core.errors import PluginLoadError, PluginLoadWarning
from drizrun.core.pluginmanager import BUILTIN_PLUGINS, ENTRY_POINT_GROUP, get_plugin_manager, list_plugins


class _FakeDist:
    def __init__(self, name: str, version: str) -> None:
        self.name = name
        self.version = version


def _entry_point(
    name: str, value: str, dist: tuple[str, str] = ("drizrun-fake", "9.8.7")
) -> importlib.metadata.EntryPoint:
    ep = importlib.metadata.EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)
    return ep._for(_FakeDist(*dist))  # attach a distribution, as installed entry points have


@pytest.fixture
def fake_entry_points(monkeypatch):
    """Replace the installed entry points of the drizrun group by a given list."""
    installed: list[importlib.metadata.EntryPoint] = []

    def entry_points(**params):
        assert params == {"group": ENTRY_POINT_GROUP}
        return list(installed)

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    return installed


def test_builtins_are_registered_in_declared_order_with_their_distribution():
    infos = list_plugins(get_plugin_manager(autoload=False))
    assert [info.name for info in infos] == list(BUILTIN_PLUGINS)
    assert {(info.distribution, info.version) for info in infos} == {("drizrun", drizrun.__version__)}
    assert all(info.builtin for info in infos)


def test_blocking_a_builtin_by_short_name_removes_it():
    session = drizrun.Session.create(autoload=False, block=["kernels"])
    assert "kernels" not in [p.name for p in session.plugins()]
    assert len(session.kernels) == 0


def test_extra_plugin_by_module_name_is_registered_and_listed():
    session = drizrun.Session.create(autoload=False, plugins=["fake_plugins.chain"])
    assert "fake_plugins.chain" in [p.name for p in session.plugins()]
    from_chain = {name for name in session.stages if session.stages[name].plugin == "fake_plugins.chain"}
    assert from_chain == set(drizrun.CANONICAL_STAGES)


def test_missing_plugin_module_is_a_load_error():
    with pytest.raises(PluginLoadError, match="cannot import plugin 'no_such_module_xyz'"):
        get_plugin_manager(autoload=False, plugins=["no_such_module_xyz"])


def test_misspelt_decorated_hook_fails_at_start_up_with_suggestion():
    with pytest.raises(
        PluginLoadError, match=r"unknown hook 'drizrun_regster_stages' \(did you mean 'drizrun_register_stages'\?\)"
    ):
        get_plugin_manager(autoload=False, plugins=["fake_plugins.misspelt"])


def test_misspelt_undecorated_hook_fails_at_start_up():
    with pytest.raises(PluginLoadError, match="unknown hook 'drizrun_register_stage'"):
        get_plugin_manager(autoload=False, plugins=["fake_plugins.misspelt_undecorated"])


def test_entry_point_plugin_is_loaded_with_distribution_and_version(fake_entry_points):
    fake_entry_points.append(_entry_point("chain", "fake_plugins.chain"))
    infos = {info.name: info for info in list_plugins(get_plugin_manager(autoload=True))}
    assert infos["chain"].distribution == "drizrun-fake"
    assert infos["chain"].version == "9.8.7"
    assert "drizrun_register_stages" in infos["chain"].hooks
    assert not infos["chain"].builtin


def test_autoload_env_variable_disables_entry_points(fake_entry_points, monkeypatch):
    fake_entry_points.append(_entry_point("chain", "fake_plugins.chain"))
    monkeypatch.setenv("DRIZRUN_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert "chain" not in [p.name for p in list_plugins(get_plugin_manager())]
    monkeypatch.setenv("DRIZRUN_DISABLE_PLUGIN_AUTOLOAD", "")
    assert "chain" in [p.name for p in list_plugins(get_plugin_manager())]


def test_blocked_entry_point_is_not_imported(fake_entry_points):
    fake_entry_points.append(_entry_point("broken", "no_such_module_xyz"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pm = get_plugin_manager(autoload=True, block=["broken"])
    assert pm.get_plugin("broken") is None


def test_broken_entry_point_warns_naming_plugin_distribution_and_version(fake_entry_points):
    fake_entry_points.append(_entry_point("broken", "no_such_module_xyz", ("drizrun-broken", "1.2.3")))
    fake_entry_points.append(_entry_point("chain", "fake_plugins.chain"))
    with pytest.warns(PluginLoadWarning) as record:
        pm = get_plugin_manager(autoload=True)
    message = str(record[0].message)
    assert "'broken'" in message and "drizrun-broken 1.2.3" in message and "ModuleNotFoundError" in message
    assert pm.get_plugin("chain") is not None  # the others still load


def test_broken_entry_point_is_an_error_when_strict(fake_entry_points):
    fake_entry_points.append(_entry_point("broken", "no_such_module_xyz", ("drizrun-broken", "1.2.3")))
    with pytest.raises(PluginLoadError, match="drizrun-broken 1.2.3"):
        get_plugin_manager(autoload=True, strict=True)


def test_entry_point_with_misspelt_hook_fails_even_when_not_strict(fake_entry_points):
    fake_entry_points.append(_entry_point("typo", "fake_plugins.misspelt"))
    with pytest.raises(PluginLoadError, match="'typo' implements unknown hook"):
        get_plugin_manager(autoload=True)


def test_plugin_object_can_be_registered_directly():
    session = drizrun.Session.create(autoload=False, plugins=[chain])
    assert "final" in session.stages
