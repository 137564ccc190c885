"""The orchestrator end to end with fake stages: auto-enable, resume, in-memory, clean, hooks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fake_plugins import wrappers

import drizrun
from drizrun.core.errors import ConfigError, InputError, StageError, UsageError


@pytest.fixture
def inputs(make_exposure, tmp_path):
    return [make_exposure(tmp_path / f"e{i}_flt.fits", seed=i) for i in range(2)]


@pytest.fixture
def session(make_session):
    return make_session(plugins=["fake_plugins.chain"])


def _ran(result):
    return [record.stage for record in result.history if record.status == "ok"]


def test_cr_alone_runs_its_prerequisites_in_order(session, inputs, tmp_path):
    result = drizrun.run(inputs, stages=["cr"], session=session, output=tmp_path / "out" / "visit")
    assert _ran(result) == ["sep", "median", "blot", "cr"]
    assert result.config.output_dir == tmp_path / "out"
    manifest = json.loads((tmp_path / "out" / "visit_artifacts.json").read_text())
    assert set(manifest["artifacts"]) == {"single", "median", "blotted", "crmask"}
    assert (tmp_path / "out" / "visit_median.fits").is_file()


def test_later_run_resumes_from_artifacts_on_disk(session, inputs, tmp_path):
    drizrun.run(inputs, stages=["cr"], session=session, output=tmp_path / "visit")
    result = drizrun.run(inputs, stages=["final"], session=session, output=tmp_path / "visit")
    assert _ran(result) == ["final"]
    # a run asking for cr with blotted on disk does not redo sep/median/blot
    result = drizrun.run(inputs, stages=["cr", "final"], session=session, output=tmp_path / "visit")
    assert _ran(result) == ["cr", "final"]


def test_artifacts_from_other_inputs_are_not_reused(session, inputs, make_exposure, tmp_path):
    drizrun.run(inputs, stages=["blot"], session=session, output=tmp_path / "visit")
    other = [inputs[0], make_exposure(tmp_path / "z_flt.fits", seed=9)]
    result = drizrun.run(other, stages=["cr"], session=session, output=tmp_path / "visit")
    assert _ran(result) == ["sep", "median", "blot", "cr"]


def test_in_memory_run_writes_nothing(session, inputs, tmp_path):
    out = tmp_path / "mem"
    result = drizrun.run(inputs, stages=["cr", "final"], session=session, output=out / "visit", in_memory=True)
    assert _ran(result) == ["sep", "median", "blot", "cr", "final"]
    assert not out.exists() or list(out.iterdir()) == []


def test_in_memory_artifacts_are_released_after_their_last_reader(make_session, inputs, tmp_path):
    held = []

    class Watcher:
        @drizrun.hookimpl
        def drizrun_stage_finished(self, stage, ctx, result):
            held.append((stage.name, ctx.artifacts.names()))

    session = make_session(plugins=["fake_plugins.chain", Watcher()])
    drizrun.run(inputs, stages=["cr", "final"], session=session, output=tmp_path / "mem" / "visit", in_memory=True)
    after = dict(held)
    # each stage's hook sees what it made; what no later stage reads is gone by the next one
    assert "single" in after["median"] and "single" not in after["blot"]
    assert "median" in after["blot"] and "median" not in after["cr"]
    assert "blotted" in after["cr"] and "blotted" not in after["final"]
    assert "crmask" in after["final"]
    # on disk nothing is released: a later run resumes from the files
    drizrun.run(inputs, stages=["cr"], session=session, output=tmp_path / "disk" / "visit")
    result = drizrun.run(inputs, stages=["cr", "final"], session=session, output=tmp_path / "disk" / "visit")
    assert _ran(result) == ["cr", "final"]


def test_clean_removes_intermediate_files(session, inputs, tmp_path):
    drizrun.run(inputs, stages=["cr"], session=session, output=tmp_path / "out" / "visit", clean=True)
    assert list((tmp_path / "out").iterdir()) == []


def test_single_input_skips_multi_input_stages_and_records_them(session, inputs, tmp_path):
    result = drizrun.run(inputs[:1], session=session, output=tmp_path / "one")
    assert _ran(result) == ["static", "sky", "sep", "final"]
    assert [(r.stage, r.status) for r in result.history if r.status == "skipped"] == [
        ("median", "skipped"),
        ("blot", "skipped"),
        ("cr", "skipped"),
    ]


def test_provenance_records_params_plugin_and_time(session, inputs, tmp_path):
    result = drizrun.run(
        inputs, stages=["final"], settings=["final.pixfrac=0.5"], session=session, output=tmp_path / "p"
    )
    record = result.history[-1]
    assert record.stage == "final" and record.plugin == "fake_plugins.chain"
    assert record.params["pixfrac"] == 0.5
    assert record.elapsed is not None and record.elapsed >= 0


def test_third_party_wrapper_wraps_every_stage(make_session, inputs, tmp_path):
    wrappers.EVENTS.clear()
    session = make_session(plugins=["fake_plugins.chain", wrappers])
    result = drizrun.run(inputs, stages=["sep", "final"], session=session, output=tmp_path / "w")
    assert wrappers.EVENTS == [
        "before sep",
        "after sep ok",
        "finished sep ok",
        "before final",
        "after final ok",
        "finished final ok",
    ]
    assert result.history[0].elapsed is not None


def test_blocking_the_timing_wrapper_leaves_elapsed_unset(inputs, tmp_path):
    session = drizrun.Session.create(autoload=False, plugins=["fake_plugins.chain"], block=["timing"])
    result = drizrun.run(inputs, stages=["sep"], session=session, output=tmp_path / "t")
    assert result.history[0].elapsed is None


def test_modify_stages_hook_can_add_a_stage(make_session, inputs, tmp_path):
    class AddFinal:
        @drizrun.hookimpl
        def drizrun_modify_stages(self, stages, config):
            stages.append("final")

    session = make_session(plugins=["fake_plugins.chain", AddFinal()])
    assert _ran(drizrun.run(inputs, stages=["sep"], session=session, output=tmp_path / "m")) == ["sep", "final"]


def test_failing_stage_raises_stage_error_and_reports_exit_status(make_session, inputs, tmp_path):
    seen = []

    class Breaker:
        @drizrun.hookimpl(tryfirst=True)
        def drizrun_stage_run(self, stage, params, ctx):
            if stage.name == "median":
                raise ZeroDivisionError("no pixels")

        @drizrun.hookimpl
        def drizrun_run_finished(self, ctx, exitstatus):
            seen.append(exitstatus)

    session = make_session(plugins=["fake_plugins.chain", Breaker()])
    with pytest.raises(StageError, match="stage 'median' failed: ZeroDivisionError: no pixels") as info:
        drizrun.run(inputs, stages=["median"], session=session, output=tmp_path / "f")
    assert info.value.exit_status == 1
    assert seen == [1]


def test_stage_artifacts_round_trip_through_disk(make_session, inputs, tmp_path):
    session = make_session(plugins=["fake_plugins.chain"])
    drizrun.run(inputs, stages=["median"], session=session, output=tmp_path / "r")
    from drizrun.core.artifacts import ArtifactStore, fingerprint_inputs

    store = ArtifactStore(
        directory=tmp_path, root="r", in_memory=False, fingerprint=fingerprint_inputs([p.resolve() for p in inputs])
    )
    assert np.array_equal(store.get("median"), np.full((4, 4), 2, np.float32))


def test_inputs_are_never_modified(session, inputs, tmp_path):
    before = [p.read_bytes() for p in inputs]
    drizrun.run(inputs, stages=["cr", "final"], session=session, output=tmp_path / "x")
    assert [p.read_bytes() for p in inputs] == before


def test_mixed_instruments_are_refused_before_any_stage(make_session, make_exposure, tmp_path):
    import attrs

    @attrs.frozen
    class Cam:
        name: str
        description: str = "camera"

        def default_params(self, n_inputs):
            return {}

    class Cams:
        @drizrun.hookimpl
        def drizrun_register_instruments(self, registry):
            registry.add(Cam("A"))
            registry.add(Cam("B"))

        @drizrun.hookimpl
        def drizrun_identify_instrument(self, header, path, registry):
            return registry[header["INSTRUME"]]

    session = make_session(plugins=["fake_plugins.chain", Cams()])
    files = [
        make_exposure(tmp_path / "a_flt.fits", instrument="A"),
        make_exposure(tmp_path / "b_flt.fits", instrument="B"),
    ]
    with pytest.raises(ConfigError, match=r"the inputs mix instruments: A \(a_flt.fits\), B \(b_flt.fits\)"):
        drizrun.run(files, session=session, output=tmp_path / "mix")


def test_output_that_cannot_be_a_directory_is_a_usage_error(session, inputs, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UsageError, match="cannot create output directory"):
        drizrun.run(inputs, stages=["sep"], session=session, output=blocker / "sub" / "visit")


def test_default_output_root(session, inputs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert drizrun.prepare(inputs[:1], session=session).output_root == "e0"
    assert drizrun.prepare(inputs, session=session).output_root == "final"


def test_unreadable_input_header_is_an_input_error(session, tmp_path):
    bad = tmp_path / "bad_flt.fits"
    bad.write_bytes(b"SIMPLE  =                    T" + b"\0" * 10)
    with pytest.raises(InputError, match="cannot read the primary header"):
        drizrun.run([bad], session=session, output=tmp_path / "b")


def test_zero_cores_is_a_usage_error(session, inputs):
    with pytest.raises(UsageError, match="at least 1"):
        drizrun.run(inputs, num_cores=0, session=session)


def test_context_reads_exposures_once_on_first_use(make_session, make_exposure, tmp_path):
    seen = []

    class Probe:
        @drizrun.hookimpl
        def drizrun_stage_finished(self, stage, ctx, result):
            seen.append(ctx.exposures)

    session = make_session(plugins=["fake_plugins.chain", Probe()])
    files = [make_exposure(tmp_path / f"e{i}_flt.fits", seed=i, nchips=2, exptime=50.0 + i) for i in range(2)]
    drizrun.run(files, stages=["sep", "final"], session=session, output=tmp_path / "o")
    assert seen[0] is seen[1]  # read once, shared by every stage
    exposures = seen[0]
    assert [e.path for e in exposures] == files
    assert [len(e.chips) for e in exposures] == [2, 2]
    assert [e.exptime for e in exposures] == [50.0, 51.0]
    assert exposures[0].chips[1].sci().shape == (64, 48)
