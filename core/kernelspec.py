"""The record a kernel plugin registers: :class:`KernelSpec`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

__all__ = ["KERNEL_KINDS", "KernelSpec"]

#: The kinds of array kernel drizrun knows how to use.
#: ``drizzle`` adds an image into output arrays through a pixel map, ``blot``
#: samples an image at a pixel map, ``deriv`` computes a derivative image for
#: cosmic-ray detection.
KERNEL_KINDS = ("drizzle", "blot", "deriv")


@attrs.frozen
class KernelSpec:
    """One array kernel and what it promises.

    Attributes
    ----------
    kind : str
        One of :data:`KERNEL_KINDS`.
    name : str
        Name the user selects it by (``"square"``, ``"poly5"``, ``"abs_deriv"``).
    backend : str
        How it is implemented (``"pythran"``, ``"python"``, ``"numpy"``...).
    function : callable
        The callable with the signature of its kind (see the plugin guide).
    description : str
        One line for ``drizrun --list-kernels``.
    conserves_flux : bool or None
        For drizzle kernels: whether total flux is conserved; ``None`` otherwise.
    drop_halfwidth : float or None
        For drizzle kernels: how far, in input pixels along each input axis
        and per unit ``pixfrac``, an input pixel's drop reaches from its centre
        (0.5 for a drop the size of the shrunken pixel, 0 for a point).
        Stages use it to drizzle chips whose drops cannot touch a common output
        pixel at the same time; ``None`` (unknown) makes them drizzle one chip
        at a time.
    row_bands : bool
        For drizzle kernels: the function takes ``rows=(j0, j1)``, drizzles
        only those input rows, accepts a pixel map holding only the rows
        :func:`drizrun.kernels.band_pixmap_rows` names, and drizzling a chip
        band after band in row order gives the outputs of one call. Stages
        then map and drizzle large chips a band at a time, holding a band's
        pixel map instead of the chip's. False (the default): whole chips.
    """

    kind: str = attrs.field(validator=attrs.validators.in_(KERNEL_KINDS))
    name: str = attrs.field(validator=attrs.validators.instance_of(str))
    backend: str = attrs.field(validator=attrs.validators.instance_of(str))
    function: Callable[..., Any] = attrs.field(validator=attrs.validators.is_callable())
    description: str = ""
    conserves_flux: bool | None = None
    drop_halfwidth: float | None = attrs.field(default=None)
    row_bands: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))

    @drop_halfwidth.validator
    def _check_drop_halfwidth(self, attribute: attrs.Attribute, value: float | None) -> None:
        if value is not None and not (value >= 0.0 and value < float("inf")):
            raise ValueError(f"drop_halfwidth must be a finite number >= 0 or None, got {value!r}")

    @property
    def key(self) -> str:
        """Registry key, ``"<kind>/<name>"``."""
        return f"{self.kind}/{self.name}"
