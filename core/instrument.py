"""The instrument protocol: what an instrument plugin registers.

An instrument describes a family of inputs (``"WFC3/UVIS"``, ``"ACS/WFC"``) and
supplies per-instrument default parameters that depend on the number of
exposures, as AstroDrizzle's MDRIZTAB does. ``drizrun_identify_instrument``
maps a primary header to one of the registered instruments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

__all__ = ["Instrument", "check_instrument"]


@runtime_checkable
class Instrument(Protocol):
    """What drizrun needs to know about an instrument.

    Attributes
    ----------
    name : str
        Registry name, ``"INSTRUMENT/DETECTOR"`` for HST (``"ACS/WFC"``).
    description : str
        One line for ``drizrun --list-instruments``.
    """

    name: str
    description: str

    def default_params(self, n_inputs: int) -> Mapping[str, Mapping[str, Any]]:
        """Return default stage parameters for a run of ``n_inputs`` exposures.

        Parameters
        ----------
        n_inputs : int
            Number of input exposures in the run.

        Returns
        -------
        mapping
            ``{stage name: {parameter: value}}``; values override the stages'
            own defaults and are overridden by config files and ``--set``.
        """
        ...


def check_instrument(obj: object) -> None:
    """Raise ``TypeError`` unless ``obj`` follows the :class:`Instrument` protocol."""
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{obj!r} has no string attribute 'name'")
    if not isinstance(getattr(obj, "description", None), str):
        raise TypeError(f"instrument {name!r} has no string attribute 'description'")
    if not callable(getattr(obj, "default_params", None)):
        raise TypeError(f"instrument {name!r} has no method default_params(n_inputs)")
