"""Configuration layers: precedence, sources, coercion, and one-line errors."""

from __future__ import annotations

import pytest

import drizrun
from drizrun.core.config import ConfigLayer, format_config, load_config_file, parse_setting, resolve_params
from drizrun.core.errors import ConfigError


@pytest.fixture
def stages(make_session):
    return make_session(plugins=["fake_plugins.chain"]).stages


def _resolve(stages, *layers):
    return resolve_params(stages, layers)


def test_defaults_come_from_the_parameter_class(stages):
    params, sources = _resolve(stages)
    final = params["final"]
    assert (final.kernel, final.pixfrac, final.snr, final.fillval, final.context) == (
        "square",
        1.0,
        (3.5, 3.0),
        None,
        True,
    )
    assert set(sources["final"].values()) == {"default"}


def test_later_layers_win_and_sources_are_recorded(stages, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('[final]\nkernel = "turbo"\npixfrac = 0.8\n')
    params, sources = _resolve(
        stages,
        ConfigLayer("instrument X", {"final": {"kernel": "point", "grow": 2}}),
        load_config_file(config),
        ConfigLayer("--set", {"final": {"pixfrac": 0.6}}),
    )
    final = params["final"]
    assert (final.kernel, final.pixfrac, final.grow) == ("turbo", 0.6, 2)
    assert sources["final"] == {
        "kernel": str(config),
        "pixfrac": "--set",
        "grow": "instrument X",
        "snr": "default",
        "fillval": "default",
        "context": "default",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("final.pixfrac=0.8", ("final", "pixfrac", 0.8)),
        ("final.kernel=turbo", ("final", "kernel", "turbo")),
        ('final.kernel="turbo"', ("final", "kernel", "turbo")),
        ("final.snr=[4, 3]", ("final", "snr", [4, 3])),
        ("final.context = false", ("final", "context", False)),
    ],
)
def test_parse_setting_reads_toml_values_or_plain_strings(text, expected):
    assert parse_setting(text) == expected


@pytest.mark.parametrize("text", ["pixfrac=0.8", "final.pixfrac", ".x=1", "final.=1"])
def test_parse_setting_rejects_malformed_options(text):
    with pytest.raises(ConfigError, match="expected STAGE.KEY=VALUE"):
        parse_setting(text)


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("snr", "4,3", (4.0, 3.0)),
        ("snr", "4.5 3.5", (4.5, 3.5)),
        ("snr", [5, 4], (5.0, 4.0)),
        ("fillval", "INDEF", None),
        ("fillval", "none", None),
        ("fillval", "0", 0.0),
        ("context", "no", False),
        ("context", "on", True),
        ("grow", 3.0, 3),
        ("pixfrac", 1, 1.0),
    ],
)
def test_values_are_coerced_to_the_declared_type(stages, key, raw, expected):
    params, _ = _resolve(stages, ConfigLayer("--set", {"final": {key: raw}}))
    value = getattr(params["final"], key)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("key", "raw", "message"),
    [
        ("pixfrac", 1.5, r"--set: final.pixfrac = 1.5: must be in \(0.0, 1.0\], got 1.5"),
        ("pixfrac", "abc", "final.pixfrac = 'abc': expected a number"),
        ("pixfrac", "nan", "NaN"),
        ("kernel", "lanczos9", "must be one of 'square', 'turbo', 'point'"),
        ("grow", 2.5, "expected an integer"),
        ("snr", "1 2 3", "expected 2 values"),
        ("context", "maybe", "expected true or false"),
    ],
)
def test_bad_values_name_key_value_and_source(stages, key, raw, message):
    with pytest.raises(ConfigError, match=message):
        _resolve(stages, ConfigLayer("--set", {"final": {key: raw}}))


def test_unknown_key_names_the_closest_valid_one(stages):
    with pytest.raises(ConfigError, match=r"unknown key final.pixfrc \(did you mean 'pixfrac'\?\)"):
        _resolve(stages, ConfigLayer("--set", {"final": {"pixfrc": 0.5}}))


def test_unknown_key_without_close_match_lists_the_valid_keys(stages):
    with pytest.raises(ConfigError, match="valid keys: kernel, pixfrac"):
        _resolve(stages, ConfigLayer("--set", {"final": {"zzzzzz": 0.5}}))


def test_unknown_stage_table_names_the_closest(stages, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text("[fnal]\npixfrac = 0.5\n")
    with pytest.raises(ConfigError, match=rf"{config}: unknown stage 'fnal' \(did you mean 'final'\?\)"):
        _resolve(stages, load_config_file(config))


def test_config_file_errors_are_one_line(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config_file(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[final\npixfrac = \n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config_file(bad)
    flat = tmp_path / "flat.toml"
    flat.write_text("pixfrac = 0.5\n")
    with pytest.raises(ConfigError, match=r"'pixfrac' must be a table like \[pixfrac\]"):
        load_config_file(flat)


def test_shown_config_is_a_config_file_that_reproduces_the_run(make_session, make_exposure, tmp_path):
    session = make_session(plugins=["fake_plugins.chain"])
    inputs = [make_exposure(tmp_path / "a_flt.fits")]
    config = drizrun.prepare(
        inputs, session=session, settings=["final.pixfrac=0.7", "final.snr=4,3", "final.kernel=turbo"]
    )
    text = format_config(config, session.stages)
    assert 'kernel = "turbo"' in text and "# --set" in text and "# fillval is unset" in text
    saved = tmp_path / "saved.toml"
    saved.write_text(text)
    again = drizrun.prepare(inputs, session=session, config_file=saved)
    assert again.params == config.params


def test_configure_hook_can_change_parameters_with_a_source(make_session, make_exposure, tmp_path):
    import attrs

    class Tuner:
        @drizrun.hookimpl
        def drizrun_configure(self, config):
            config.set_params("final", attrs.evolve(config.params["final"], pixfrac=0.5), source="plugin tuner")

    session = make_session(plugins=["fake_plugins.chain", Tuner()])
    config = drizrun.prepare([make_exposure(tmp_path / "a_flt.fits")], session=session)
    assert config.params["final"].pixfrac == 0.5
    assert config.sources["final"]["pixfrac"] == "plugin tuner"


def test_instrument_defaults_sit_between_stage_defaults_and_user_values(make_session, make_exposure, tmp_path):
    import attrs

    @attrs.frozen
    class Cam:
        name: str = "TESTCAM/CCD"
        description: str = "test camera"

        def default_params(self, n_inputs):
            return {"final": {"pixfrac": 0.8 if n_inputs >= 2 else 1.0, "kernel": "point"}}

    class CamPlugin:
        @drizrun.hookimpl
        def drizrun_register_instruments(self, registry):
            registry.add(Cam())

        @drizrun.hookimpl
        def drizrun_identify_instrument(self, header, path, registry):
            return registry["TESTCAM/CCD"] if header.get("INSTRUME") == "TESTCAM" else None

    session = make_session(plugins=["fake_plugins.chain", CamPlugin()])
    inputs = [make_exposure(tmp_path / f"e{i}_flt.fits", seed=i) for i in range(2)]
    config = drizrun.prepare(inputs, session=session, settings=["final.kernel=turbo"])
    assert config.instrument == "TESTCAM/CCD"
    assert (config.params["final"].pixfrac, config.params["final"].kernel) == (0.8, "turbo")
    assert config.sources["final"]["pixfrac"] == "instrument TESTCAM/CCD (2 inputs)"
