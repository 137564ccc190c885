"""Stage parameters: attrs fields with a docstring, and the validators they use.

A stage's parameters are one frozen attrs class. Every field is declared with
:func:`param`, which records the documentation that ``drizrun --list-stages``,
``--show-config`` and the parameter reference show, and optional choices::

    @attrs.frozen
    class FinalParams:
        kernel: str = param("square", doc="Drizzle kernel.",
                            choices=("square", "turbo", "point"))
        pixfrac: float = param(1.0, doc="Linear drop size.",
                               validator=in_range(0.0, 1.0, low_open=True))
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence
from typing import Any

import attrs

__all__ = [
    "ParamInfo",
    "describe_params",
    "in_range",
    "param",
]

_DOC = "drizrun.doc"
_CHOICES = "drizrun.choices"


def param(
    default: Any,
    *,
    doc: str,
    choices: Sequence[Any] | None = None,
    validator: Callable[[Any, attrs.Attribute, Any], None] | None = None,
    converter: Callable[[Any], Any] | None = None,
) -> Any:
    """Declare one stage parameter.

    Parameters
    ----------
    default : object
        The default value (immutable: use a tuple, not a list).
    doc : str
        One or two sentences for the user: what it does, its unit.
    choices : sequence, optional
        The allowed values; enforced and listed in error messages.
    validator : callable, optional
        An attrs validator, e.g. :func:`in_range`.
    converter : callable, optional
        An attrs converter applied before validation.

    Returns
    -------
    attrs field
        To be assigned to an annotated class attribute of an attrs class.
    """
    if not doc or not doc.strip():
        raise ValueError("every stage parameter needs a non-empty doc")
    validators: list[Any] = []
    if choices is not None:
        validators.append(_one_of(tuple(choices)))
    if validator is not None:
        validators.append(validator)
    metadata = {_DOC: doc.strip(), _CHOICES: tuple(choices) if choices is not None else None}
    return attrs.field(
        default=default,
        validator=validators or None,
        converter=converter,
        metadata=metadata,
        kw_only=True,
    )


def _one_of(choices: tuple[Any, ...]) -> Callable[[Any, attrs.Attribute, Any], None]:
    def check(_instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value not in choices:
            allowed = ", ".join(repr(c) for c in choices)
            raise ValueError(f"must be one of {allowed}, got {value!r}")

    return check


def in_range(
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
) -> Callable[[Any, attrs.Attribute, Any], None]:
    """Return a validator that checks a number lies in an interval.

    Parameters
    ----------
    low, high : float, optional
        The bounds; ``None`` means unbounded on that side.
    low_open, high_open : bool
        Exclude the bound itself.
    allow_none : bool
        Accept ``None`` as "not set".

    Returns
    -------
    callable
        An attrs validator raising ``ValueError`` with the interval in its message.
    """
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    interval = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"

    def check(_instance: Any, _attribute: attrs.Attribute, value: Any) -> None:
        if value is None and allow_none:
            return
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number in {interval}, got {value!r}")
        if value != value:  # NaN
            raise ValueError(f"must be a number in {interval}, got NaN")
        too_low = low is not None and (value <= low if low_open else value < low)
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high:
            raise ValueError(f"must be in {interval}, got {value!r}")

    return check


@attrs.frozen
class ParamInfo:
    """What the user can know about one parameter.

    Attributes
    ----------
    name : str
        Parameter name within its stage.
    type : object
        The resolved annotation (``float``, ``Literal[...]``, ``tuple[float, float]``...).
    type_name : str
        The annotation as text, for listings.
    default : object
        Default value.
    doc : str
        Documentation line.
    choices : tuple or None
        Allowed values, when restricted.
    """

    name: str
    type: Any
    type_name: str
    default: Any
    doc: str
    choices: tuple[Any, ...] | None


def describe_params(params_cls: type) -> tuple[ParamInfo, ...]:
    """Describe every parameter of a stage's attrs parameter class.

    Parameters
    ----------
    params_cls : type
        An attrs class whose fields were declared with :func:`param`.

    Returns
    -------
    tuple of ParamInfo
        In declaration order.

    Raises
    ------
    TypeError
        If the class is not an attrs class, or a field lacks a type, a default
        or a doc.
    """
    if not attrs.has(params_cls):
        raise TypeError(f"{params_cls!r} is not an attrs class")
    try:
        hints = typing.get_type_hints(params_cls)
    except Exception as exc:  # unresolved forward reference in a plugin's class
        raise TypeError(f"cannot resolve the annotations of {params_cls.__qualname__}: {exc}") from exc
    infos = []
    for field in attrs.fields(params_cls):
        if field.name not in hints:
            raise TypeError(f"parameter {field.name!r} of {params_cls.__qualname__} has no type annotation")
        if field.default is attrs.NOTHING:
            raise TypeError(f"parameter {field.name!r} of {params_cls.__qualname__} has no default")
        default = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        doc = field.metadata.get(_DOC)
        if not doc:
            raise TypeError(
                f"parameter {field.name!r} of {params_cls.__qualname__} has no doc; declare it with drizrun.param()"
            )
        infos.append(
            ParamInfo(
                name=field.name,
                type=hints[field.name],
                type_name=_type_name(hints[field.name]),
                default=default,
                doc=doc,
                choices=field.metadata.get(_CHOICES),
            )
        )
    return tuple(infos)


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")
