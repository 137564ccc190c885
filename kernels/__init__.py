"""Array kernels with a compiled (Pythran) and a pure-Python backend.

Each kernel module ``_<name>.py`` is plain Python/NumPy that Pythran can also
compile. When the package was built with Pythran, the compiled extension sits
next to the ``.py`` source and is imported in its place; otherwise the source
itself is used. The functions here are the public entry points: they check and
convert their inputs, because the compiled functions accept only the exact
dtype they were compiled for and misread non-native byte order (such as the
big-endian data ``astropy.io.fits`` returns) without raising.

Environment
-----------
DRIZRUN_KERNELS
    ``python`` loads the ``.py`` sources even where compiled modules exist,
    ``pythran`` makes importing this package fail unless every kernel is
    compiled, and ``auto`` (or unset) prefers the compiled modules.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
from pathlib import Path
from types import ModuleType

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

__all__ = ["BACKEND", "abs_deriv", "available_backends", "kernel_backend", "kernel_module", "native_array"]

#: Every kernel module: the ``_*.py`` sources beside this file (meson.build
#: refuses to configure when one of them is missing from its compile list).
_KERNEL_MODULES: tuple[str, ...] = tuple(
    sorted(p.stem for p in Path(__file__).parent.glob("_*.py") if not p.stem.startswith("__"))
)
_CHOICES = ("auto", "python", "pythran")


def _source_path(module_name: str) -> Path:
    return Path(__file__).with_name(module_name + ".py")


def _load_source(module_name: str) -> ModuleType:
    """Execute the ``.py`` source of a kernel module, bypassing any compiled one.

    The module is not added to :data:`sys.modules`, so a later regular import
    still finds the compiled extension.
    """
    path = _source_path(module_name)
    spec = importlib.util.spec_from_file_location(f"{__name__}.{module_name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load kernel source {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _is_compiled(module: ModuleType) -> bool:
    return hasattr(module, "__pythran__")


def _load(module_name: str, choice: str) -> ModuleType:
    if choice == "python":
        return _load_source(module_name)
    module = importlib.import_module(f"{__name__}.{module_name}")
    if choice == "pythran" and not _is_compiled(module):
        raise ImportError(
            f"DRIZRUN_KERNELS=pythran but {module.__name__} is not compiled; "
            "rebuild drizrun with -Duse-pythran=true"
        )
    return module


def _choice_from_env() -> str:
    choice = os.environ.get("DRIZRUN_KERNELS", "").strip().lower() or "auto"
    if choice not in _CHOICES:
        raise ImportError(f"DRIZRUN_KERNELS={choice!r}: expected one of {', '.join(_CHOICES)}")
    return choice


_MODULES: dict[str, ModuleType] = {}
_choice = _choice_from_env()
for _name in _KERNEL_MODULES:
    _MODULES[_name] = _load(_name, _choice)
del _name, _choice


def kernel_module(module_name: str) -> ModuleType:
    """Return a loaded kernel module (compiled or source, per ``DRIZRUN_KERNELS``).

    Public wrappers elsewhere in drizrun (the pixel-map code, for instance)
    call the raw kernels through this; they must normalise their arrays with
    :func:`native_array` first.

    Parameters
    ----------
    module_name : str
        Kernel module name, such as ``"_deriv"``.

    Returns
    -------
    module

    Raises
    ------
    KeyError
        If `module_name` is not a kernel module.
    """
    try:
        return _MODULES[module_name]
    except KeyError:
        raise KeyError(
            f"unknown kernel module {module_name!r}; known: {', '.join(_KERNEL_MODULES)}"
        ) from None


def kernel_backend(module_name: str) -> str:
    """Return the backend that runs a kernel module.

    Parameters
    ----------
    module_name : str
        Kernel module name, such as ``"_deriv"``.

    Returns
    -------
    str
        ``"pythran"`` for a compiled extension, ``"python"`` for the source.

    Raises
    ------
    KeyError
        If `module_name` is not a kernel module.
    """
    try:
        module = _MODULES[module_name]
    except KeyError:
        raise KeyError(
            f"unknown kernel module {module_name!r}; known: {', '.join(_KERNEL_MODULES)}"
        ) from None
    return "pythran" if _is_compiled(module) else "python"


def available_backends() -> tuple[str, ...]:
    """Return the backends installed for every kernel module, preferred first.

    Returns
    -------
    tuple of str
        ``("pythran", "python")`` when all kernel modules are compiled,
        otherwise ``("python",)``. The Python sources are always installed.
    """
    for module_name in _KERNEL_MODULES:
        spec = importlib.util.find_spec(f"{__name__}.{module_name}")
        origin = spec.origin if spec is not None else None
        if origin is None or not origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
            return ("python",)
    return ("pythran", "python")


#: Backend of the loaded kernels: ``"pythran"`` if compiled extensions are in
#: use, ``"python"`` if the sources are (not built, or ``DRIZRUN_KERNELS=python``).
BACKEND: str = (
    "pythran" if all(kernel_backend(name) == "pythran" for name in _KERNEL_MODULES) else "python"
)


def native_array(a: ArrayLike, dtype: DTypeLike) -> NDArray[np.generic]:
    """Return `a` as an aligned, C-contiguous array of exactly `dtype` in native byte order.

    Parameters
    ----------
    a : array_like
        Input data; returned without copying if it already qualifies.
    dtype : data-type
        Wanted element type; its byte order is ignored and replaced by native.

    Returns
    -------
    ndarray
        A base-class :class:`numpy.ndarray` that a compiled kernel can read.
    """
    want = np.dtype(dtype).newbyteorder("=")
    arr = np.asarray(a)
    if arr.dtype != want or not (arr.flags.c_contiguous and arr.flags.aligned):
        arr = np.array(arr, dtype=want, order="C", copy=True)
    return arr


def _image_2d(image: ArrayLike, func: str) -> NDArray[np.float32]:
    arr = np.asarray(image)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{func} expects a real numeric image; got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(
            f"{func} expects a non-empty 2-D image of shape (ny, nx); got shape {arr.shape}"
        )
    return native_array(arr, np.float32)


def abs_deriv(image: ArrayLike) -> NDArray[np.float32]:
    """Maximum absolute difference between each pixel and its direct neighbours.

    This is the derivative image used for cosmic-ray detection: large values
    mark pixels that differ strongly from an adjacent pixel.

    Parameters
    ----------
    image : array_like, shape (ny, nx)
        Real-valued 2-D image with ``ny, nx >= 1``, of any integer, boolean or
        floating dtype, byte order and memory layout. It is converted to
        native ``float32`` first (a copy only where needed).

    Returns
    -------
    ndarray of float32, shape (ny, nx)
        ``out[i, j] = max(|image[i, j] - image[k, l]|)`` over the pixels
        ``(k, l)`` directly left, right, above and below ``(i, j)`` that lie
        inside the image. Border pixels are compared with fewer neighbours,
        never with padding; a 1x1 image gives ``[[0.0]]``.

    Raises
    ------
    ValueError
        If `image` is not 2-D or has no pixels.
    TypeError
        If `image` is complex, or not numeric.

    Notes
    -----
    NaN marks missing data: a NaN pixel gives NaN, and a NaN neighbour is
    skipped like a neighbour outside the image. The compiled and the Python
    backend give bit-identical results.

    Examples
    --------
    >>> import numpy as np
    >>> from drizrun.kernels import abs_deriv
    >>> abs_deriv(np.array([[0, 0, 0], [0, 4, 0], [0, 0, 1]]))
    array([[0., 4., 0.],
           [4., 4., 4.],
           [0., 4., 1.]], dtype=float32)
    """
    data = _image_2d(image, "abs_deriv")
    with np.errstate(invalid="ignore"):  # inf - inf in the Python backend
        return _MODULES["_deriv"].abs_deriv(data)
