"""Stage planning: validation, AstroDrizzle's auto-enable rules, skipping, ordering."""

from __future__ import annotations

import attrs
import pytest

import drizrun
from drizrun.core.errors import StageOrderError
from drizrun.core.planning import default_stages, plan_stages
from drizrun.core.registry import StageRegistry


@pytest.fixture
def stages(make_session):
    return make_session(plugins=["fake_plugins.chain"]).stages


def test_default_is_every_installed_canonical_stage_in_canonical_order(stages):
    expected = ["static", "sky", "sep", "median", "blot", "cr", "final"]
    assert default_stages(stages) == [name for name in expected if name in stages]
    assert "sep" in stages and "final" in stages


def test_order_follows_the_canonical_order_whatever_the_request_order(stages):
    plan = plan_stages(["final", "blot", "sep", "cr", "median"], stages, n_inputs=3)
    assert plan.names == ["sep", "median", "blot", "cr", "final"]
    assert plan.enabled == () and plan.skipped == ()


def test_cr_turns_on_blot_median_and_sep_with_reasons(stages):
    plan = plan_stages(["cr"], stages, n_inputs=2)
    assert plan.names == ["sep", "median", "blot", "cr"]
    assert dict(plan.enabled) == {
        "blot": "'cr' requires 'blotted'",
        "median": "'blot' requires 'median'",
        "sep": "'median' requires 'single'",
    }


def test_one_input_skips_median_blot_and_cr_with_reasons(stages):
    plan = plan_stages(default_stages(stages), stages, n_inputs=1)
    assert plan.names == ["static", "sky", "sep", "final"]
    assert [name for name, _ in plan.skipped] == ["median", "blot", "cr"]
    assert all("needs at least 2 inputs, the run has 1" in reason for _, reason in plan.skipped)


def test_artifacts_already_available_do_not_turn_providers_on(stages):
    plan = plan_stages(["cr", "final"], stages, n_inputs=2, available=lambda name: name == "blotted")
    assert plan.names == ["cr", "final"]
    assert plan.enabled == ()


def test_unknown_stage_names_the_closest(stages):
    with pytest.raises(StageOrderError, match=r"unknown stage 'medain' \(did you mean 'median'\?\)"):
        plan_stages(["sep", "medain"], stages, n_inputs=2)


def test_canonical_stage_without_plugin_says_so():
    with pytest.raises(StageOrderError, match="stage 'median' is not provided by any installed plugin"):
        plan_stages(["median"], StageRegistry(), n_inputs=2)


def test_empty_request_is_an_error(stages):
    with pytest.raises(StageOrderError, match="no stages"):
        plan_stages([], stages, n_inputs=2)


@attrs.frozen
class _P:
    """No parameters."""


def _stage(name, requires=(), provides=(), uses=(), order=None, min_inputs=1):
    attributes = {
        "name": name,
        "params": _P,
        "requires": requires,
        "provides": provides,
        "uses": uses,
        "min_inputs": min_inputs,
        "run": lambda self, ctx, params: None,
        "__doc__": f"{name} stage.",
    }
    if order is not None:
        attributes["order"] = order
    return type(name.title(), (), attributes)()


def test_plugin_stage_is_placed_by_its_order_hint_and_the_graph(stages):
    stages.add(_stage("inspect", uses=("median",), order=35.0))
    plan = plan_stages(["final", "inspect", "median"], stages, n_inputs=2)
    # order 35 would put it before median (40), but it uses the median's artifact
    assert plan.names == ["sep", "median", "inspect", "final"]


def test_plugin_stage_without_order_goes_after_final(stages):
    stages.add(_stage("report"))
    assert plan_stages(["report", "final"], stages, n_inputs=1).names == ["final", "report"]


def test_requirement_nobody_provides_is_an_error(stages):
    stages.add(_stage("needy", requires=("unicorn",)))
    with pytest.raises(StageOrderError, match="'needy' requires 'unicorn', which no installed stage provides"):
        plan_stages(["needy"], stages, n_inputs=2)


def test_requirement_on_a_multi_input_stage_with_one_input_is_an_error(stages):
    stages.add(_stage("needs_median", requires=("median",)))
    with pytest.raises(
        StageOrderError, match="'needs_median' requires 'median' from stage 'median', which needs at least 2"
    ):
        plan_stages(["needs_median"], stages, n_inputs=1)


def test_cycle_is_detected():
    registry = StageRegistry()
    registry.add(_stage("a", requires=("b_out",), provides=("a_out",)))
    registry.add(_stage("b", requires=("a_out",), provides=("b_out",)))
    with pytest.raises(StageOrderError, match="cycle"):
        plan_stages(["a", "b"], registry, n_inputs=1)


def test_duplicate_requests_run_once(stages):
    assert plan_stages(["sep", "sep", "final"], stages, n_inputs=1).names == ["sep", "final"]


def test_stage_info_order_defaults(stages):
    assert [stages[n].order for n in drizrun.CANONICAL_STAGES] == [10, 20, 30, 40, 50, 60, 70]
