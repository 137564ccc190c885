"""Configuration: stage parameters from defaults, instruments, files and ``--set``.

Parameters are resolved in layers, each later layer overriding the earlier:

1. the stage's own defaults (its attrs parameter class);
2. the instrument plugin's defaults for the number of inputs;
3. the TOML configuration file (``-c``), one table per stage::

       [final]
       kernel = "square"
       pixfrac = 0.8

4. ``--set stage.key=value`` options, in command-line order.

Every value is checked against the parameter's type and validators as it is
applied, so an error names the key, the offending value and where it came from;
an unknown stage or key names the closest valid one.
"""

from __future__ import annotations

import logging
import math
import os
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from .errors import ConfigError, closest
from .params import ParamInfo
from .registry import StageRegistry
from .stage import CANONICAL_STAGES

__all__ = [
    "ConfigLayer",
    "RunConfig",
    "coerce_value",
    "format_config",
    "load_config_file",
    "parse_setting",
    "resolve_params",
]

log = logging.getLogger("drizrun")

_NONE_WORDS = {"none", "null", "indef", ""}
_TRUE_WORDS = {"true", "yes", "on", "1"}
_FALSE_WORDS = {"false", "no", "off", "0"}


@attrs.frozen
class ConfigLayer:
    """One source of parameter values.

    Attributes
    ----------
    source : str
        Where the values come from, as shown by ``--show-config``.
    values : mapping
        ``{stage: {key: value}}``.
    optional_stages : bool
        Skip (with a debug message) values for stages that no installed plugin
        provides, and keys the installed stage does not have, instead of
        refusing them. Set for the instrument layer, whose defaults cover every
        canonical stage whether installed or not (and whatever plugin provides
        it); user layers (config files, ``--set``, library calls) keep it false.
    """

    source: str
    values: Mapping[str, Mapping[str, Any]]
    optional_stages: bool = False


def load_config_file(path: str | os.PathLike[str]) -> ConfigLayer:
    """Read a TOML configuration file.

    Parameters
    ----------
    path : path-like
        The file.

    Returns
    -------
    ConfigLayer

    Raises
    ------
    ConfigError
        If the file is missing, not valid TOML, or holds something other than
        one table per stage.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    for stage, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(
                f"config file {path}: {stage!r} must be a table like [{stage}] with the stage's parameters, "
                f"got a plain value"
            )
    return ConfigLayer(source=str(path), values=data)


def parse_setting(text: str) -> tuple[str, str, Any]:
    """Parse one ``--set stage.key=value`` option.

    The value is read as a TOML value when it is one (``0.8``, ``true``,
    ``[3.5, 3.0]``, ``"text"``) and as a plain string otherwise (``square``).

    Parameters
    ----------
    text : str
        The option's argument.

    Returns
    -------
    tuple
        ``(stage, key, value)``.

    Raises
    ------
    ConfigError
        If it is not of the form ``stage.key=value``.
    """
    target, sep, raw = text.partition("=")
    stage, dot, key = target.strip().partition(".")
    if not sep or not dot or not stage or not key:
        raise ConfigError(f"--set {text!r}: expected STAGE.KEY=VALUE, e.g. --set final.pixfrac=0.8")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return stage, key.strip(), value


def coerce_value(value: Any, info: ParamInfo) -> Any:
    """Convert a configuration value to a parameter's declared type.

    Parameters
    ----------
    value : object
        The value as read from TOML or the command line.
    info : ParamInfo
        The parameter.

    Returns
    -------
    object
        The converted value.

    Raises
    ------
    ValueError
        With a message saying what was expected.
    """
    return _coerce(value, info.type)


def _coerce(value: Any, annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.strip().lower() in _NONE_WORDS):
            if type(None) in args:
                return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError(" or ".join(errors) if errors else f"unexpected value {value!r}")
    if origin is typing.Literal:
        if value in args:
            return value
        raise ValueError(f"expected one of {', '.join(repr(a) for a in args)}, got {value!r}")
    if origin is tuple:
        items = _as_sequence(value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(item, args[0]) for item in items)
        if len(items) != len(args):
            raise ValueError(f"expected {len(args)} values, got {len(items)} ({value!r})")
        return tuple(_coerce(item, arg) for item, arg in zip(items, args, strict=True))
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS | _FALSE_WORDS:
            return value.strip().lower() in _TRUE_WORDS
        raise ValueError(f"expected true or false, got {value!r}")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip(), 0)
            except ValueError:
                pass
        raise ValueError(f"expected an integer, got {value!r}")
    if annotation is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            result = float(value)
        elif isinstance(value, str):
            try:
                result = float(value.strip())
            except ValueError:
                raise ValueError(f"expected a number, got {value!r}") from None
        else:
            raise ValueError(f"expected a number, got {value!r}")
        if math.isnan(result):
            raise ValueError("expected a number, got NaN")
        return result
    if annotation is str:
        if isinstance(value, str):
            return value
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _as_sequence(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str):
        return value.replace(",", " ").split()
    return [value]


@attrs.define
class RunConfig:
    """The resolved configuration of one run.

    Attributes
    ----------
    inputs : tuple of Path
        The input files, expanded.
    output_root : str
        Root of the output product names (``<root>_drz.fits``).
    output_dir : Path
        Directory products and intermediate files are written to.
    stages : list of str or None
        The stage names requested (``None``: every installed canonical stage).
    params : dict
        Stage name → resolved parameter object.
    sources : dict
        Stage name → {parameter → source of its value}.
    options : dict
        Values of plugin command-line options (from ``drizrun_addoption``).
    instrument : str or None
        Name of the instrument identified for the inputs.
    in_memory : bool
        Keep intermediate artifacts in memory only.
    clean : bool
        Remove intermediate files at the end of a successful run.
    num_cores : int
        Threads stages may use.
    """

    inputs: tuple[Path, ...]
    output_root: str
    output_dir: Path
    stages: list[str] | None
    params: dict[str, Any]
    sources: dict[str, dict[str, str]]
    options: dict[str, Any] = attrs.field(factory=dict)
    instrument: str | None = None
    in_memory: bool = False
    clean: bool = False
    num_cores: int = 1

    @property
    def n_inputs(self) -> int:
        """Number of input files."""
        return len(self.inputs)

    def set_params(self, stage: str, params: Any, *, source: str) -> None:
        """Replace a stage's parameters (from a plugin's ``drizrun_configure``).

        Parameters
        ----------
        stage : str
            Stage name.
        params : attrs instance
            New parameters, usually ``attrs.evolve(config.params[stage], ...)``.
        source : str
            Recorded as the source of every value that changed.
        """
        if stage not in self.params:
            raise ConfigError(f"unknown stage {stage!r}{closest(stage, self.params)}")
        old = self.params[stage]
        if type(params) is not type(old):
            raise ConfigError(f"parameters of stage {stage!r} must be a {type(old).__name__}")
        for field in attrs.fields(type(old)):
            if getattr(old, field.name) != getattr(params, field.name):
                self.sources[stage][field.name] = source
        self.params[stage] = params


def resolve_params(
    registry: StageRegistry, layers: Iterable[ConfigLayer]
) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """Resolve every registered stage's parameters from configuration layers.

    Parameters
    ----------
    registry : StageRegistry
        The registered stages.
    layers : iterable of ConfigLayer
        Lowest precedence first.

    Returns
    -------
    tuple
        ``(params, sources)``: stage name → parameter object, and stage name →
        {key → source}.

    Raises
    ------
    ConfigError
        On an unknown stage or key (naming the closest valid one; layers with
        ``optional_stages`` skip both), or a value
        of the wrong type or out of range (naming key, value and source).
    """
    params: dict[str, Any] = {}
    sources: dict[str, dict[str, str]] = {}
    for name in registry:
        info = registry[name]
        params[name] = info.params_cls()
        sources[name] = {p.name: "default" for p in info.params}
    for layer in layers:
        for stage, table in layer.values.items():
            if stage not in registry and layer.optional_stages:
                log.debug("%s: ignoring %s for stage %r, which no installed plugin provides",
                          layer.source, ", ".join(f"{stage}.{key}" for key in table) or "values", stage)
                continue
            if stage not in registry:
                if stage in CANONICAL_STAGES:
                    raise ConfigError(f"{layer.source}: stage {stage!r} is not provided by any installed plugin")
                raise ConfigError(f"{layer.source}: unknown stage {stage!r}{closest(stage, registry)}")
            infos = {p.name: p for p in registry[stage].params}
            for key, value in table.items():
                if key not in infos and layer.optional_stages:
                    log.debug("%s: ignoring %s.%s, which the installed stage %r does not have",
                              layer.source, stage, key, stage)
                    continue
                if key not in infos:
                    hint = closest(key, infos) or f" (valid keys: {', '.join(infos) or 'none'})"
                    raise ConfigError(f"{layer.source}: unknown key {stage}.{key}{hint}")
                try:
                    converted = coerce_value(value, infos[key])
                    params[stage] = attrs.evolve(params[stage], **{key: converted})
                except (ValueError, TypeError) as exc:
                    raise ConfigError(f"{layer.source}: {stage}.{key} = {value!r}: {exc}") from exc
                sources[stage][key] = layer.source
    return params, sources


def format_config(config: RunConfig, registry: StageRegistry) -> str:
    """Render the effective configuration as TOML with each value's source.

    The text is a valid configuration file: ``drizrun --show-config ... >
    run.toml`` followed by ``drizrun -c run.toml ...`` reproduces the run.

    Parameters
    ----------
    config : RunConfig
        The resolved configuration.
    registry : StageRegistry
        The registered stages (for parameter order).

    Returns
    -------
    str
    """
    lines = [
        f"# drizrun configuration for {config.n_inputs} input(s)"
        + (f", instrument {config.instrument}" if config.instrument else ""),
        f"# output: {config.output_dir / config.output_root}",
    ]
    for stage in sorted(registry, key=lambda name: (registry[name].order, name)):
        if stage not in config.params:
            continue
        lines.append("")
        lines.append(f"[{stage}]")
        rows = []
        for info in registry[stage].params:
            value = getattr(config.params[stage], info.name)
            source = config.sources[stage].get(info.name, "default")
            if value is None:
                rows.append((f"# {info.name} is unset", source))
            else:
                rows.append((f"{info.name} = {_toml_value(value)}", source))
        width = max((len(text) for text, _ in rows), default=0)
        lines.extend(f"{text.ljust(width)}  # {source}" for text, source in rows)
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value) + '"'
