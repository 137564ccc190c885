"""The WFC3 and ACS instrument plugins: identification, detector facts, default parameters."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from astropy.io import fits

import drizrun
from drizrun.core.errors import ConfigError
from drizrun.core.hst import HSTDetector
from drizrun.core.instrument import DetectorInstrument, Instrument
from drizrun.core.runner import prepare

DETECTORS = {
    ("WFC3", "UVIS"): "WFC3/UVIS",
    ("WFC3", "IR"): "WFC3/IR",
    ("ACS", "WFC"): "ACS/WFC",
    ("ACS", "HRC"): "ACS/HRC",
    ("ACS", "SBC"): "ACS/SBC",
}


@pytest.fixture(scope="module")
def session() -> drizrun.Session:
    return drizrun.Session.create(autoload=False)


@pytest.mark.parametrize(("instrume", "detector"), list(DETECTORS))
def test_each_detector_is_identified_from_its_primary_header(session, instrume, detector):
    header = fits.Header({"TELESCOP": "HST", "INSTRUME": instrume, "DETECTOR": detector})
    instrument = session.identify_instrument(header, "x_flt.fits")
    assert instrument.name == DETECTORS[(instrume, detector)]
    assert isinstance(instrument, Instrument)
    assert isinstance(instrument, DetectorInstrument)
    assert session.instruments.source(instrument.name) == instrume.lower()


@pytest.mark.parametrize(("instrume", "detector"), [("WFC3", "CCD"), ("STIS", "CCD"), ("WFPC2", ""), ("", "")])
def test_other_headers_fall_back_to_the_generic_instrument(session, instrume, detector):
    header = fits.Header({"INSTRUME": instrume, "DETECTOR": detector})
    assert session.identify_instrument(header, "x.fits").name == "generic"


def test_identification_ignores_case_and_padding(session):
    header = fits.Header({"INSTRUME": "acs     ", "DETECTOR": " wfc"})
    assert session.identify_instrument(header, "x.fits").name == "ACS/WFC"


def test_instrument_plugins_come_before_the_generic_fallback():
    names = list(drizrun.core.pluginmanager.BUILTIN_PLUGINS)
    assert names.index("wfc3") < names.index("generic-instrument")
    assert names.index("acs") < names.index("generic-instrument")


def test_blocking_a_plugin_leaves_its_detectors_to_the_generic_instrument():
    session = drizrun.Session.create(autoload=False, block=["wfc3"])
    assert "WFC3/UVIS" not in session.instruments
    header = fits.Header({"INSTRUME": "WFC3", "DETECTOR": "UVIS"})
    assert session.identify_instrument(header, "x.fits").name == "generic"
    assert session.identify_instrument(fits.Header({"INSTRUME": "ACS", "DETECTOR": "HRC"}), "x").name == "ACS/HRC"


class _Replacement:
    """A third-party plugin replacing the WFC3/UVIS description."""

    @staticmethod
    @drizrun.hookimpl
    def drizrun_register_instruments(registry: Any) -> None:
        original = registry["WFC3/UVIS"]
        registry.add(attrs.evolve(original, description="replaced"), replace=True)


def test_identification_returns_the_registered_object_so_replacements_win():
    session = drizrun.Session.create(autoload=False, plugins=[_Replacement()])
    header = fits.Header({"INSTRUME": "WFC3", "DETECTOR": "UVIS"})
    assert session.identify_instrument(header, "x").description == "replaced"


@pytest.mark.parametrize(
    ("name", "chips", "bunit", "cte"),
    [
        ("WFC3/UVIS", [(2051, 4096), (2051, 4096)], "ELECTRONS", [-1, 1]),
        ("WFC3/IR", [(1014, 1014)], "ELECTRONS/S", [0]),
        ("ACS/WFC", [(2048, 4096), (2048, 4096)], "ELECTRONS", [-1, 1]),
        ("ACS/HRC", [(1024, 1024)], "ELECTRONS", [-1]),
        ("ACS/SBC", [(1024, 1024)], "COUNTS", [0]),
    ],
)
def test_detector_layout_units_and_cte_direction(session, name, chips, bunit, cte):
    instrument = session.instruments[name]
    assert [chip.shape for chip in instrument.chips] == chips
    assert instrument.native_bunit == bunit
    assert [chip.cte_direction for chip in instrument.chips] == cte
    assert [instrument.cte_direction(chip.extver, {}) for chip in instrument.chips] == cte
    assert instrument.cr_bit == 4096
    assert instrument.saturation_flags & 256
    assert instrument.hot_pixel_flags == 16


def test_hrc_cte_direction_follows_the_readout_amplifier(session):
    hrc = session.instruments["ACS/HRC"]
    assert hrc.cte_direction(1, {"CCDAMP": "C"}) == -1
    assert hrc.cte_direction(1, {"CCDAMP": "A"}) == 1


def test_gain_and_read_noise_average_the_amplifiers_in_use(session):
    header = {
        "ATODGNA": 0.0,
        "ATODGNB": 0.0,
        "ATODGNC": 2.216,
        "ATODGND": 0.0,
        "READNSEA": 0.0,
        "READNSEB": 0.0,
        "READNSEC": 4.71,
        "READNSED": 0.0,
    }
    hrc = session.instruments["ACS/HRC"]
    assert hrc.gain(header) == pytest.approx(2.216)
    assert hrc.read_noise(header) == pytest.approx(4.71)
    uvis = session.instruments["WFC3/UVIS"]
    four = {
        "ATODGNA": 1.5,
        "ATODGNB": 1.6,
        "ATODGNC": 1.55,
        "ATODGND": 1.65,
        "READNSEA": 3.0,
        "READNSEB": 3.1,
        "READNSEC": 3.2,
        "READNSED": 3.3,
    }
    assert uvis.gain(four) == pytest.approx(1.575)
    assert uvis.read_noise(four) == pytest.approx(3.15)
    assert uvis.gain({}) == 1.0 and uvis.read_noise({}) == 0.0
    sbc = session.instruments["ACS/SBC"]
    assert sbc.gain(four) == 1.0 and sbc.read_noise(four) == 0.0


# reference-pipelines.md §4.3-4.5: (detector, N) -> expected drizrun parameters
DEFAULTS = [
    ("WFC3/UVIS", 1, {"final.bits": 65535, "final.pixfrac": 1.0, "median.combine_type": "minmed"}),
    (
        "WFC3/UVIS",
        2,
        {
            "final.bits": 336,
            "sep.kernel": "square",
            "sep.bits": 336,
            "sky.bits": 80,
            "median.combine_type": "minmed",
            "median.combine_nhigh": 1,
            "cr.snr": (3.5, 3.0),
            "cr.scale": (1.5, 1.2),
            "final.pixfrac": 1.0,
        },
    ),
    ("WFC3/UVIS", 5, {"median.combine_type": "minmed", "cr.scale": (1.5, 1.2), "final.pixfrac": 1.0}),
    (
        "WFC3/UVIS",
        6,
        {"median.combine_type": "median", "cr.scale": (1.2, 0.7), "final.pixfrac": 0.8, "final.bits": 336},
    ),
    ("WFC3/UVIS", 40, {"median.combine_type": "median", "final.pixfrac": 0.8}),
    ("WFC3/IR", 1, {"sep.kernel": "square", "sep.bits": 16, "final.bits": 528}),
    (
        "WFC3/IR",
        2,
        {
            "sep.kernel": "turbo",
            "sep.bits": 65535,
            "median.combine_type": "minmed",
            "cr.snr": (5.0, 4.0),
            "cr.scale": (3.0, 2.4),
            "sky.bits": 16,
        },
    ),
    ("WFC3/IR", 3, {"sep.bits": 65535, "median.combine_type": "minmed"}),
    (
        "WFC3/IR",
        4,
        {
            "sep.kernel": "turbo",
            "sep.bits": 528,
            "median.combine_type": "median",
            "median.combine_nhigh": 1,
            "final.bits": 528,
        },
    ),
    ("ACS/WFC", 1, {"sep.kernel": "turbo", "sky.bits": 16, "final.bits": 65535}),
    ("ACS/WFC", 2, {"sep.kernel": "square", "sky.bits": 80, "final.bits": 336, "cr.scale": (1.5, 1.2)}),
    ("ACS/WFC", 6, {"median.combine_type": "median", "cr.scale": (1.2, 0.7), "final.pixfrac": 0.8}),
    ("ACS/HRC", 3, {"sep.kernel": "square", "final.bits": 336}),
    ("ACS/SBC", 4, {"sep.kernel": "turbo", "final.bits": 0}),
]


@pytest.mark.parametrize(("name", "n", "expected"), DEFAULTS)
def test_default_parameters_by_number_of_exposures(session, name, n, expected):
    params = session.instruments[name].default_params(n)
    for dotted, value in expected.items():
        stage, key = dotted.split(".")
        assert params[stage][key] == value, dotted
    assert set(params) <= set(drizrun.CANONICAL_STAGES)
    assert all(
        isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, float) for x in v)
        for v in (params["cr"]["snr"], params["cr"]["scale"])
    )


def test_default_params_are_fresh_copies(session):
    uvis = session.instruments["WFC3/UVIS"]
    uvis.default_params(4)["final"]["pixfrac"] = 0.1
    assert uvis.default_params(4)["final"]["pixfrac"] == 1.0


def test_every_detector_is_an_attrs_record_with_rows_for_one_exposure(session):
    for name in DETECTORS.values():
        instrument = session.instruments[name]
        assert isinstance(instrument, HSTDetector)
        assert instrument.default_params(1), name
        assert instrument.default_params(0) == instrument.default_params(1)


# --- instrument defaults against installed and missing stages ---------------------------


@attrs.frozen
class _FinalParams:
    """Parameters of a stand-in final stage."""

    kernel: str = drizrun.param("turbo", doc="Kernel.", choices=("square", "turbo", "point"))
    pixfrac: float = drizrun.param(0.5, doc="Drop size.")
    bits: int = drizrun.param(0, doc="Good DQ bits.")


class _Final:
    name = "final"
    params = _FinalParams
    requires: tuple[str, ...] = ()
    provides = ("drz",)

    def run(self, ctx: Any, params: Any) -> drizrun.StageResult:
        return drizrun.StageResult(message="ok")


class _FinalPlugin:
    @staticmethod
    @drizrun.hookimpl
    def drizrun_register_stages(registry: Any) -> None:
        registry.add(_Final())


def _uvis_files(make_exposure, tmp_path, n):
    return [
        make_exposure(tmp_path / f"e{i}_flt.fits", seed=i, instrument="WFC3", detector="UVIS", nchips=2)
        for i in range(n)
    ]


def test_prepare_ignores_instrument_defaults_of_stages_not_installed(make_exposure, tmp_path):
    files = _uvis_files(make_exposure, tmp_path, 3)
    bare = drizrun.Session.create(autoload=False, block=drizrun.CANONICAL_STAGES)
    config = prepare(files, session=bare, output=tmp_path / "out")
    assert config.instrument == "WFC3/UVIS"
    assert config.params == {}


def test_instrument_defaults_apply_to_installed_stages(make_exposure, tmp_path):
    session = drizrun.Session.create(autoload=False, plugins=[_FinalPlugin()], block=drizrun.CANONICAL_STAGES)
    config = prepare(_uvis_files(make_exposure, tmp_path, 6), session=session, output=tmp_path / "out")
    final = config.params["final"]
    assert (final.kernel, final.pixfrac, final.bits) == ("square", 0.8, 336)
    assert config.sources["final"]["pixfrac"] == "instrument WFC3/UVIS (6 inputs)"
    later = prepare(
        _uvis_files(make_exposure, tmp_path, 2),
        session=session,
        output=tmp_path / "out",
        settings=["final.pixfrac=0.6"],
    )
    assert later.params["final"].pixfrac == 0.6 and later.params["final"].bits == 336


def test_user_layers_still_refuse_stages_that_are_not_installed(make_exposure, tmp_path):
    files = _uvis_files(make_exposure, tmp_path, 2)
    session = drizrun.Session.create(autoload=False, block=drizrun.CANONICAL_STAGES)
    with pytest.raises(ConfigError, match="'cr' is not provided by any installed plugin"):
        prepare(files, session=session, settings=["cr.snr=[4.0, 3.0]"])
    config_file = tmp_path / "run.toml"
    config_file.write_text("[median]\ncombine_type = 'median'\n")
    with pytest.raises(ConfigError, match="'median' is not provided"):
        prepare(files, session=session, config_file=config_file)
    with pytest.raises(ConfigError, match="not provided"):
        prepare(files, session=session, params={"sep": {"kernel": "square"}})


def test_defaults_for_keys_a_replacement_stage_lacks_are_skipped(make_exposure, tmp_path):
    """The fake chain's final stage has no ``bits``: WFC3 defaults must not break the run."""
    session = drizrun.Session.create(autoload=False, plugins=["fake_plugins.chain"])
    config = prepare(_uvis_files(make_exposure, tmp_path, 6), session=session, output=tmp_path / "out")
    assert config.params["final"].pixfrac == 0.8
    with pytest.raises(ConfigError, match=r"unknown key final.bits"):
        prepare(_uvis_files(make_exposure, tmp_path, 2), session=session, settings=["final.bits=336"])


def test_every_default_names_a_parameter_of_drizruns_own_stages(session):
    """Once drizrun ships a stage, the instrument tables must use its parameter names."""
    from drizrun.core.pluginmanager import BUILTIN_PLUGINS

    for name in DETECTORS.values():
        instrument = session.instruments[name]
        for n in (1, 2, 4, 6):
            for stage, table in instrument.default_params(n).items():
                if stage not in session.stages or session.stages[stage].plugin not in BUILTIN_PLUGINS:
                    continue
                known = {p.name for p in session.stages[stage].params}
                assert set(table) <= known, (name, n, stage, set(table) - known)
