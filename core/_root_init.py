"""drizrun: a fast, plugin-based drizzle pipeline for Hubble images.

The public library API::

    import drizrun
    result = drizrun.run(["j8bt06nyq_flt.fits"], stages=["sep", "final"])

and the plugin API: :data:`hookimpl` marks hook implementations,
:func:`param` declares stage parameters, :class:`KernelSpec` describes kernels,
:class:`StageResult` is what a stage returns.

This file is ``core/_root_init.py`` in the source tree; the build installs it as
``drizrun/__init__.py``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("drizrun")
except PackageNotFoundError:  # running from an unusual install
    __version__ = "0+unknown"

from .core.errors import DrizrunError
from .core.geometry import calc_pixmap
from .core.hookspecs import hookimpl, hookspec
from .core.kernelspec import KernelSpec
from .core.params import in_range, param
from .core.pipeline import process
from .core.runner import RunResult, prepare, run
from .core.session import Session
from .core.simulate import simulate
from .core.stage import CANONICAL_STAGES, StageResult

__all__ = [
    "CANONICAL_STAGES",
    "DrizrunError",
    "KernelSpec",
    "RunResult",
    "Session",
    "StageResult",
    "__version__",
    "calc_pixmap",
    "hookimpl",
    "hookspec",
    "in_range",
    "param",
    "prepare",
    "process",
    "run",
    "simulate",
]
