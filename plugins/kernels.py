"""Built-in plugin ``kernels``: registers drizrun's array kernels.

Each kernel is registered with the backend it was loaded with: ``pythran``
when the compiled extension is in use, ``python`` when the build shipped plain
sources or ``DRIZRUN_KERNELS=python`` forces them.

Kinds and call signatures (the kernel name is bound, so a stage calls every
kernel of a kind the same way):

``drizzle``
    ``function(data, pixmap, out_img, out_wht, *, weights=None, out_ctx=None,
    context_id=0, pixfrac=1.0, pixel_scale_ratio=1.0, iscale=1.0, out_var=None,
    var=None, out_dq=None, dq=None) -> int``, as :func:`drizrun.kernels.drizzle`.
``blot``
    ``function(image, pixmap, *, sinscl=1.0, iscale=1.0, fillval=0.0) ->
    ndarray``, as :func:`drizrun.kernels.blot`.
``deriv``
    ``function(image) -> ndarray``, as :func:`drizrun.kernels.abs_deriv`.
"""

from __future__ import annotations

import functools
from typing import Any

from drizrun import kernels
from drizrun.core.hookspecs import hookimpl
from drizrun.core.kernelspec import KernelSpec

#: One line per drizzle kernel for ``drizrun --list-kernels``.
DRIZZLE_DESCRIPTIONS = {
    "square": "exact overlap of the pixfrac-shrunk pixel quadrilateral with each output pixel",
    "turbo": "axis-aligned square drop of side pixfrac / pixel_scale_ratio",
    "point": "all flux to the output pixel containing the input pixel centre",
    "gaussian": "circular Gaussian drop of FWHM pixfrac (not flux conserving)",
    "lanczos2": "order-2 Lanczos drop, exact weights (not flux conserving)",
    "lanczos3": "order-3 Lanczos drop, exact weights (not flux conserving)",
}

#: How far each drop reaches from its pixel's centre, in input pixels per unit pixfrac
#: (see :class:`~drizrun.core.kernelspec.KernelSpec`); the Gaussian and Lanczos drops
#: are not listed, so stages drizzle with them one chip at a time.
DROP_HALFWIDTHS = {"square": 0.5, "turbo": 0.5, "point": 0.0}

#: One line per blot interpolant for ``drizrun --list-kernels``.
BLOT_DESCRIPTIONS = {
    "nearest": "nearest pixel",
    "linear": "bilinear interpolation",
    "poly3": "bicubic interior polynomial (4 x 4 pixels)",
    "poly5": "biquintic interior polynomial (6 x 6 pixels; AstroDrizzle's default)",
    "lanczos3": "order-3 Lanczos interpolation, exact weights",
    "lanczos5": "order-5 Lanczos interpolation, exact weights",
}


@hookimpl(tryfirst=True)
def drizrun_register_kernels(registry: Any) -> None:
    """Register the built-in drizzle, blot and derivative kernels."""
    for name in kernels.DRIZZLE_KERNELS:
        registry.add(
            KernelSpec(
                kind="drizzle",
                name=name,
                backend=kernels.drizzle_backend(name),
                function=functools.partial(kernels.drizzle, kernel=name),
                description=DRIZZLE_DESCRIPTIONS[name],
                conserves_flux=name in kernels.FLUX_CONSERVING_KERNELS,
                drop_halfwidth=DROP_HALFWIDTHS.get(name),
                row_bands=name in kernels.ROW_BAND_KERNELS,
            )
        )
    blot_backend = kernels.kernel_backend("_blot")
    for name in kernels.BLOT_INTERPOLANTS:
        registry.add(
            KernelSpec(
                kind="blot",
                name=name,
                backend=blot_backend,
                function=functools.partial(kernels.blot, interp=name),
                description=BLOT_DESCRIPTIONS[name],
            )
        )
    registry.add(
        KernelSpec(
            kind="deriv",
            name="abs_deriv",
            backend=kernels.kernel_backend("_deriv"),
            function=kernels.abs_deriv,
            description="maximum absolute difference to the four neighbours (cosmic-ray test)",
        )
    )
