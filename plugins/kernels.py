"""Built-in plugin ``kernels``: registers drizrun's compiled array kernels.

Each kernel is registered with the backend it was loaded with: ``pythran``
when the compiled extension is in use, ``python`` when the build shipped plain
sources or ``DRIZRUN_KERNELS=python`` forces them.
"""

from __future__ import annotations

from typing import Any

from drizrun import kernels
from drizrun.core.hookspecs import hookimpl
from drizrun.core.kernelspec import KernelSpec


@hookimpl(tryfirst=True)
def drizrun_register_kernels(registry: Any) -> None:
    """Register the built-in kernels."""
    registry.add(
        KernelSpec(
            kind="deriv",
            name="abs_deriv",
            backend=kernels.kernel_backend("_deriv"),
            function=kernels.abs_deriv,
            description="maximum absolute difference to the four neighbours (cosmic-ray test)",
        )
    )
