"""Stages: the protocol a stage object follows and the records around it.

A stage is any object (usually a class instance) with these attributes::

    class MyStage:
        name = "mystage"              # unique stage name, used by --stages
        params = MyParams             # frozen attrs class, fields made with drizrun.param
        requires = ("median",)        # artifacts that must exist before it runs
        provides = ("my_mask",)       # artifacts it puts into the run context
        uses = ()                     # artifacts used when present (optional)
        min_inputs = 1                # skipped (with a logged reason) below this
        order = 45.0                  # position hint among stages (see below)

        def run(self, ctx, params):   # -> StageResult or None
            ...

``order`` places a stage among the seven canonical stages, whose positions are
``static`` 10, ``sky`` 20, ``sep`` 30, ``median`` 40, ``blot`` 50, ``cr`` 60 and
``final`` 70; a stage without ``order`` goes after ``final`` (100). The
requires/provides graph always wins over the hint.
"""

from __future__ import annotations

import inspect
from typing import Any, Protocol, runtime_checkable

import attrs

from .params import ParamInfo, describe_params

__all__ = [
    "CANONICAL_STAGES",
    "Stage",
    "StageInfo",
    "StageResult",
    "describe_stage",
]

#: AstroDrizzle's seven steps, in their canonical order.
CANONICAL_STAGES: tuple[str, ...] = ("static", "sky", "sep", "median", "blot", "cr", "final")

_CANONICAL_ORDER = {name: 10.0 * (i + 1) for i, name in enumerate(CANONICAL_STAGES)}
_DEFAULT_ORDER = 100.0


@runtime_checkable
class Stage(Protocol):
    """The protocol every stage object follows (see the module docstring)."""

    name: str
    params: type
    requires: tuple[str, ...]
    provides: tuple[str, ...]

    def run(self, ctx: Any, params: Any) -> StageResult | None:
        """Run the stage on the run context with its resolved parameters."""
        ...


@attrs.define
class StageResult:
    """What a stage run reports.

    Attributes
    ----------
    status : str
        ``"ok"`` or ``"skipped"``.
    message : str
        A short human-readable summary (logged, shown in the run summary).
    products : list of str
        Files the stage wrote that the user keeps.
    metrics : dict
        Numbers worth reporting (``{"cr_pixels": 1234}``).
    elapsed : float or None
        Wall time in seconds, filled by the built-in timing wrapper.
    """

    status: str = attrs.field(default="ok", validator=attrs.validators.in_(("ok", "skipped")))
    message: str = ""
    products: list[str] = attrs.field(factory=list)
    metrics: dict[str, Any] = attrs.field(factory=dict)
    elapsed: float | None = None


@attrs.frozen
class StageInfo:
    """A registered stage, checked and described.

    Attributes
    ----------
    name : str
        Stage name.
    stage : object
        The stage object itself.
    params_cls : type
        Its attrs parameter class.
    params : tuple of ParamInfo
        Description of every parameter.
    requires, provides, uses : tuple of str
        Artifact names (see :class:`Stage`).
    min_inputs : int
        Minimum number of inputs for the stage to run.
    order : float
        Position hint (see the module docstring).
    description : str
        First line of the stage's docstring.
    plugin : str
        Name of the plugin that registered it.
    """

    name: str
    stage: Any
    params_cls: type
    params: tuple[ParamInfo, ...]
    requires: tuple[str, ...]
    provides: tuple[str, ...]
    uses: tuple[str, ...]
    min_inputs: int
    order: float
    description: str
    plugin: str

    @property
    def canonical(self) -> bool:
        """Whether this is one of AstroDrizzle's seven steps."""
        return self.name in _CANONICAL_ORDER


def describe_stage(stage: object, *, plugin: str) -> StageInfo:
    """Check a stage object and describe it.

    Parameters
    ----------
    stage : object
        The object a plugin registered.
    plugin : str
        The plugin registering it.

    Returns
    -------
    StageInfo

    Raises
    ------
    TypeError
        If an attribute is missing or of the wrong type.
    """
    name = getattr(stage, "name", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise TypeError(f"{stage!r} needs a 'name' attribute that is an identifier, got {name!r}")
    run = getattr(stage, "run", None)
    if not callable(run):
        raise TypeError(f"stage {name!r} has no run(ctx, params) method")
    params_cls = getattr(stage, "params", None)
    if not isinstance(params_cls, type):
        raise TypeError(f"stage {name!r} needs a 'params' attribute holding its attrs parameter class")
    params = describe_params(params_cls)
    artifacts = {}
    for attr in ("requires", "provides", "uses"):
        value = getattr(stage, attr, ())
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise TypeError(f"stage {name!r}: {attr!r} must be a tuple of artifact names, got {value!r}")
        artifacts[attr] = tuple(value)
    min_inputs = getattr(stage, "min_inputs", 1)
    if not isinstance(min_inputs, int) or min_inputs < 0:
        raise TypeError(f"stage {name!r}: 'min_inputs' must be a non-negative int, got {min_inputs!r}")
    order = getattr(stage, "order", None)
    if order is None:
        order = _CANONICAL_ORDER.get(name, _DEFAULT_ORDER)
    doc = inspect.getdoc(stage) or ""
    return StageInfo(
        name=name,
        stage=stage,
        params_cls=params_cls,
        params=params,
        requires=artifacts["requires"],
        provides=artifacts["provides"],
        uses=artifacts["uses"],
        min_inputs=min_inputs,
        order=float(order),
        description=doc.splitlines()[0] if doc else "",
        plugin=plugin,
    )
