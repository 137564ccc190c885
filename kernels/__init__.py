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
import operator
import os
import warnings
from pathlib import Path
from types import ModuleType

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

__all__ = [
    "BACKEND",
    "CR_FIRST",
    "CR_LOW",
    "CR_SECOND",
    "CR_SEED",
    "abs_deriv",
    "available_backends",
    "cr_tests",
    "kernel_backend",
    "kernel_module",
    "native_array",
]

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


#: Bits of :func:`cr_tests`: the first threshold, the second threshold, and
#: the seed and low thresholds of the growth to edge neighbours.
CR_FIRST, CR_SECOND, CR_SEED, CR_LOW = 1, 2, 4, 8


def cr_tests(
    data: ArrayLike,
    model: ArrayLike,
    deriv: ArrayLike,
    noise: ArrayLike,
    *,
    offset: float,
    snr: tuple[float, float],
    scale: tuple[float, float],
    seed: float,
    low: float,
) -> NDArray[np.uint8]:
    """The per-pixel threshold tests of the cosmic-ray detection, one byte per pixel.

    With ``e = data - (model + offset * noise)``, in float32 arithmetic:

    * :data:`CR_FIRST` when ``|e| > scale[0] * deriv + snr[0] * noise``;
    * :data:`CR_SECOND` when ``|e| > scale[1] * deriv + snr[1] * noise``;
    * :data:`CR_SEED` when ``e > seed * noise``;
    * :data:`CR_LOW` when ``e > low * noise``;

    and 0 wherever ``|e|``, ``deriv`` or ``noise`` is not finite.

    Parameters
    ----------
    data, model, deriv, noise : array_like, shape (ny, nx)
        The chip, its blotted median, the median's derivative image and the
        noise, in electrons; any real dtype, byte order and layout (converted
        to native C-contiguous ``float32`` where needed).
    offset : float
        Noise units added to ``model`` (the median's bias correction).
    snr, scale : tuple of float
        The first and second thresholds.
    seed, low : float
        Thresholds of the growth to edge neighbours, in units of the noise
        (``inf`` never sets the bit).

    Returns
    -------
    ndarray of uint8, shape (ny, nx)

    Raises
    ------
    ValueError
        If the four images are not 2-D of one shape.
    TypeError
        If an image is not real numeric.

    Notes
    -----
    One pass over the images with no temporaries. The bits equal those of
    the same comparisons written with float32 NumPy arrays; the compiled and
    the Python backend give identical results.
    """
    images = [_image_2d(a, "cr_tests") for a in (data, model, deriv, noise)]
    if len({a.shape for a in images}) != 1:
        raise ValueError(f"cr_tests expects images of one shape; got {', '.join(str(a.shape) for a in images)}")
    f32 = np.float32
    with np.errstate(invalid="ignore", over="ignore"):  # NaN and inf give 0 bits in the Python backend
        return _MODULES["_deriv"].cr_tests(*images, f32(offset), f32(snr[0]), f32(snr[1]), f32(scale[0]),
                                           f32(scale[1]), f32(seed), f32(low))


# -- drizzle and blot ------------------------------------------------------------------

#: Drizzle kernels, in the order ``drizrun --list-kernels`` shows them.
DRIZZLE_KERNELS: tuple[str, ...] = ("square", "turbo", "point", "gaussian", "lanczos2", "lanczos3")
#: The drizzle kernels whose contribution weights of one input pixel sum to its
#: weight, so that total flux is conserved.
FLUX_CONSERVING_KERNELS: frozenset[str] = frozenset({"square", "turbo", "point"})

#: Drizzle kernels that accept ``rows=``: drizzling a chip band after band,
#: each band with only its rows of the pixel map, gives the outputs of one call.
ROW_BAND_KERNELS: frozenset[str] = frozenset({"square", "turbo", "point"})
#: Blot interpolants.
BLOT_INTERPOLANTS: tuple[str, ...] = ("nearest", "linear", "poly3", "poly5", "lanczos3", "lanczos5")
#: Bits per plane of the context cube.
CONTEXT_BITS = 32

__all__ += [
    "BLOT_INTERPOLANTS",
    "CONTEXT_BITS",
    "DRIZZLE_KERNELS",
    "FLUX_CONSERVING_KERNELS",
    "NonConservingKernelWarning",
    "ROW_BAND_KERNELS",
    "band_pixmap_rows",
    "blot",
    "context_planes",
    "drizzle",
    "drizzle_backend",
    "grow_context",
]


class NonConservingKernelWarning(UserWarning):
    """A drizzle kernel that does not conserve total flux was chosen."""


def context_planes(context_id: int) -> int:
    """Return the number of context planes needed to hold input `context_id`.

    Parameters
    ----------
    context_id : int
        0-based input number; it owns bit ``context_id % 32`` of plane
        ``context_id // 32``.

    Returns
    -------
    int
        ``context_id // 32 + 1``.
    """
    if isinstance(context_id, bool) or not isinstance(context_id, (int, np.integer)) or context_id < 0:
        raise ValueError(f"context_id must be a non-negative integer; got {context_id!r}")
    return int(context_id) // CONTEXT_BITS + 1


def grow_context(out_ctx: ArrayLike, context_id: int) -> NDArray[np.int32]:
    """Return a context cube with enough planes for input `context_id`.

    :func:`drizzle` updates `out_ctx` in place and cannot enlarge it, so a
    caller that drizzles more than 32 inputs grows the cube between calls::

        out_ctx = grow_context(out_ctx, k)
        drizzle(..., out_ctx=out_ctx, context_id=k)

    Parameters
    ----------
    out_ctx : array_like of int32, shape (nplanes, ny, nx) or (ny, nx)
        Existing context; a 2-D array counts as one plane.
    context_id : int
        0-based number of the next input.

    Returns
    -------
    ndarray of int32, shape (max(nplanes, context_id // 32 + 1), ny, nx)
        `out_ctx` itself (as a 3-D native int32 array) if it is already large
        enough, otherwise a copy with zero planes appended.
    """
    need = context_planes(context_id)
    ctx = np.asarray(out_ctx)
    if ctx.ndim == 2:
        ctx = ctx[np.newaxis]
    if ctx.ndim != 3:
        raise ValueError(f"out_ctx must have shape (nplanes, ny, nx) or (ny, nx); got {ctx.shape}")
    ctx = native_array(ctx, np.int32)
    if ctx.shape[0] >= need:
        return ctx
    grown = np.zeros((need,) + ctx.shape[1:], dtype=np.int32)
    grown[: ctx.shape[0]] = ctx
    return grown


def _real_array(a: ArrayLike, name: str, kinds: str = "fiub") -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype.kind not in kinds:
        raise ValueError(f"{name} must be a real numeric array; got dtype {arr.dtype}")
    return arr


def _input_image(a: ArrayLike, name: str, shape: tuple[int, ...] | None, dtype: DTypeLike) -> np.ndarray:
    arr = _real_array(a, name, "iub" if np.dtype(dtype).kind == "u" else "fiub")
    if arr.ndim != 2 or arr.size == 0 or (shape is not None and arr.shape != shape):
        want = "(ny, nx)" if shape is None else f"(ny, nx) = {shape}"
        raise ValueError(f"{name} must have shape {want}; got {arr.shape}")
    return native_array(arr, dtype)


def band_pixmap_rows(rows: tuple[int, int], ny: int) -> tuple[int, int]:
    """Rows of a chip's pixel map that ``drizzle(..., rows=rows)`` reads.

    The square kernel interpolates each drop's corners between the map rows
    on either side of them, so a band of input rows ``j0 <= j < j1`` needs
    one map row beyond each end, within the chip.

    Parameters
    ----------
    rows : tuple of int
        ``(j0, j1)``, the input rows drizzled, ``0 <= j0 <= j1 <= ny``.
    ny : int
        Rows of the chip.

    Returns
    -------
    tuple of int
        ``(m0, m1)``: the map rows ``m0 <= m < m1`` to pass as ``pixmap``.

    Examples
    --------
    >>> band_pixmap_rows((0, 256), 2048), band_pixmap_rows((256, 512), 2048)
    ((0, 257), (255, 513))
    >>> band_pixmap_rows((1792, 2048), 2048)
    (1791, 2048)
    """
    j0, j1 = rows
    return max(j0 - 1, 0), min(j1 + 1, ny)


def _row_range(rows: object, ny: int) -> tuple[int, int]:
    try:
        j0, j1 = (operator.index(r) for r in rows)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise ValueError(f"rows must be two integers (first, stop); got {rows!r}") from None
    if not 0 <= j0 <= j1 <= ny:
        raise ValueError(f"rows must satisfy 0 <= first <= stop <= {ny} (the input's rows); got {rows!r}")
    return j0, j1


def _band_pixel_map(pixmap: ArrayLike, shape: tuple[int, int], rows: tuple[int, int]
                    ) -> tuple[NDArray[np.float64], int]:
    """The pixel map for ``rows`` (whole, or just the band's rows) and the chip row of its first row."""
    arr = _real_array(pixmap, "pixmap")
    m0, m1 = band_pixmap_rows(rows, shape[0])
    if arr.shape == shape + (2,):
        return native_array(arr, np.float64), 0
    if arr.shape == (m1 - m0, shape[1], 2):
        return native_array(arr, np.float64), m0
    raise ValueError(
        f"with rows={rows}, pixmap must hold map rows {m0} to {m1 - 1}, shape {(m1 - m0, shape[1], 2)}, "
        f"or the whole map, shape {shape + (2,)}; got {arr.shape}"
    )


def _pixel_map(pixmap: ArrayLike, shape: tuple[int, int], what: str) -> NDArray[np.float64]:
    arr = _real_array(pixmap, "pixmap")
    if arr.shape != shape + (2,):
        raise ValueError(
            f"pixmap must have shape {what} + (2,) = {shape + (2,)} holding x, y; got {arr.shape}"
        )
    return native_array(arr, np.float64)


class _InPlace:
    """An output array converted to the kernel dtype; :meth:`done` writes it back."""

    def __init__(self, a: object, name: str, dtype: DTypeLike, shape: tuple[int, ...] | None,
                 shape_text: str) -> None:
        if not isinstance(a, np.ndarray):
            raise ValueError(f"{name} must be a writable numpy array of shape {shape_text}")
        if not a.flags.writeable:
            raise ValueError(f"{name} is read-only; it is updated in place")
        kinds = "iu" if np.dtype(dtype).kind in "iu" else "f"
        if a.dtype.kind not in kinds:
            raise ValueError(f"{name} must have a {'n integer' if kinds == 'iu' else ' floating'} dtype; "
                             f"got {a.dtype}")
        if shape is not None and a.shape != shape:
            raise ValueError(f"{name} must have shape {shape_text}; got {a.shape}")
        self.original = a
        self.array = native_array(a, dtype)

    def done(self) -> None:
        if self.array is not self.original:
            self.original[...] = self.array


_PLACEHOLDER_F32 = np.zeros((1, 1), np.float32)
_PLACEHOLDER_U32 = np.zeros((1, 1), np.uint32)
_PLACEHOLDER_CTX = np.zeros((1, 1, 1), np.int32)


#: Drizzle kernels that have a module of their own; the others are in ``_drizzle``.
_OWN_MODULE_KERNELS = {"square": "_square", "turbo": "_turbo"}


def _drizzle_module(kernel: str) -> ModuleType:
    """The loaded module that runs drizzle `kernel` (``_square``, ``_turbo`` or ``_drizzle``)."""
    return _MODULES[_OWN_MODULE_KERNELS.get(kernel, "_drizzle")]


def drizzle_backend(kernel: str) -> str:
    """Return the backend that runs drizzle `kernel` (``"pythran"`` or ``"python"``).

    Parameters
    ----------
    kernel : str
        One of :data:`DRIZZLE_KERNELS`.

    Returns
    -------
    str
    """
    if kernel not in DRIZZLE_KERNELS:
        raise ValueError(f"unknown drizzle kernel {kernel!r}; expected one of {', '.join(DRIZZLE_KERNELS)}")
    return "pythran" if _is_compiled(_drizzle_module(kernel)) else "python"


def drizzle(
    data: ArrayLike,
    pixmap: ArrayLike,
    out_img: NDArray[np.floating],
    out_wht: NDArray[np.floating],
    *,
    weights: ArrayLike | None = None,
    out_ctx: NDArray[np.integer] | None = None,
    context_id: int = 0,
    kernel: str = "square",
    pixfrac: float = 1.0,
    pixel_scale_ratio: float = 1.0,
    iscale: float = 1.0,
    out_var: NDArray[np.floating] | None = None,
    var: ArrayLike | None = None,
    out_dq: NDArray[np.integer] | None = None,
    dq: ArrayLike | None = None,
    rows: tuple[int, int] | None = None,
) -> int:
    """Drizzle one input image onto output arrays, in place.

    Parameters
    ----------
    data : array_like, shape (ny, nx)
        Input image (any real dtype, byte order or layout; used as float32).
    pixmap : array_like, shape (ny, nx, 2)
        0-based output x, y of the centre of every input pixel (float64). A
        NaN skips only the pixel(s) whose geometry needs that entry.
    out_img, out_wht : ndarray, shape (my, mx)
        Output image (running weighted mean of the contributions) and its
        weight, updated in place. Any floating dtype; non-float32 or
        non-native arrays are converted and written back.
    weights : array_like, shape (ny, nx), optional
        Weight of every input pixel (default 1). Pixels of weight 0 change
        nothing.
    out_ctx : ndarray of integer, shape (nplanes, my, mx) or (my, mx), optional
        Context cube, updated in place: bit ``context_id % 32`` of plane
        ``context_id // 32`` is set where this input contributes. It must
        already have enough planes (see :func:`grow_context`).
    context_id : int, optional
        0-based number of this input.
    kernel : {"square", "turbo", "point", "gaussian", "lanczos2", "lanczos3"}
        Drop shape. ``square``, ``turbo`` and ``point`` conserve flux; the
        others issue a :class:`NonConservingKernelWarning`.
    pixfrac : float, optional
        Linear size of the drop in input pixels: in (0, 1] for ``square``,
        > 0 for ``turbo`` and ``gaussian`` (FWHM); ignored by ``point`` and
        the Lanczos kernels.
    pixel_scale_ratio : float, optional
        Output over input pixel size, > 0; sets the drop size of ``turbo``,
        ``gaussian`` and the Lanczos kernels in output pixels (``square`` takes
        its shape from the pixel map).
    iscale : float, optional
        Factor applied to the data (and its square to `var`).
    out_var : ndarray, shape (my, mx), optional
        Output variance, updated in place with squared weights; requires `var`.
    var : array_like, shape (ny, nx), optional
        Input variance; requires `out_var`.
    out_dq : ndarray of integer, shape (my, mx), optional
        Output data quality, updated in place (uint32 semantics); requires `dq`.
    dq : array_like of integer, shape (ny, nx), optional
        Input data quality, ORed into every output pixel the input pixel
        contributes to; requires `out_dq`.
    rows : tuple of int, optional
        ``(j0, j1)``: drizzle only the input rows ``j0 <= j < j1`` (the
        other arguments keep their whole-image shapes). `pixmap` may then
        hold only the map rows :func:`band_pixmap_rows` names. Drizzling an
        image band after band, in row order, gives the outputs of one call
        bit for bit while only a band's map is in memory. Kernels in
        :data:`ROW_BAND_KERNELS` only.

    Returns
    -------
    int
        Number of input pixels that contributed to no output pixel: they fall
        outside the output, or the pixel map is NaN or infinite for them.

    Raises
    ------
    ValueError
        For an unknown kernel, a bad parameter, or an array of the wrong
        shape or type (the message names the expected shape).

    Warns
    -----
    NonConservingKernelWarning
        For ``gaussian``, ``lanczos2`` and ``lanczos3``.

    Notes
    -----
    A contribution of value ``v = data * iscale`` and weight ``c`` to an
    output pixel with weight ``W`` and value ``F`` gives the value ``v`` when
    ``W == 0``, otherwise ``(F W + c v) / (W + c)``, and the weight ``W + c``.
    See :mod:`drizrun.kernels._drizzle` for each kernel's ``c``.

    Examples
    --------
    >>> import numpy as np
    >>> from drizrun.kernels import drizzle
    >>> y, x = np.mgrid[0:4, 0:4].astype(float)
    >>> pixmap = np.dstack([x + 1.0, y + 1.0])     # shift by one pixel
    >>> out, wht = np.zeros((6, 6), np.float32), np.zeros((6, 6), np.float32)
    >>> drizzle(np.ones((4, 4)), pixmap, out, wht)
    0
    >>> float(out[1:5, 1:5].min()), float(wht.sum())
    (1.0, 16.0)
    """
    if kernel not in DRIZZLE_KERNELS:
        raise ValueError(f"unknown drizzle kernel {kernel!r}; expected one of {', '.join(DRIZZLE_KERNELS)}")
    pixfrac = float(pixfrac)
    scale_ratio = float(pixel_scale_ratio)
    iscale = float(iscale)
    if not (np.isfinite(scale_ratio) and scale_ratio > 0):
        raise ValueError(f"pixel_scale_ratio must be positive; got {pixel_scale_ratio!r}")
    if not np.isfinite(iscale):
        raise ValueError(f"iscale must be finite; got {iscale!r}")
    if kernel == "square" and not 0.0 < pixfrac <= 1.0:
        raise ValueError(f"pixfrac must be in (0, 1] for the square kernel; got {pixfrac!r}")
    if kernel in ("turbo", "gaussian") and not (np.isfinite(pixfrac) and pixfrac > 0.0):
        raise ValueError(f"pixfrac must be positive; got {pixfrac!r}")

    src = _input_image(data, "data", None, np.float32)
    shape = src.shape
    row0, row1, map_row0 = 0, shape[0], 0
    if rows is None:
        pmap = _pixel_map(pixmap, shape, "data.shape")
    else:
        if kernel not in ROW_BAND_KERNELS:
            raise ValueError(f"rows= is supported by the {', '.join(sorted(ROW_BAND_KERNELS))} kernels, "
                             f"not {kernel!r}")
        row0, row1 = _row_range(rows, shape[0])
        pmap, map_row0 = _band_pixel_map(pixmap, shape, (row0, row1))
    if kernel == "square" and min(shape) < 2:
        raise ValueError(f"the square kernel needs an input of at least 2 x 2 pixels; got {shape}")
    img = _InPlace(out_img, "out_img", np.float32, None, "(my, mx)")
    if img.array.ndim != 2 or img.array.size == 0:
        raise ValueError(f"out_img must have shape (my, mx); got {img.array.shape}")
    oshape = img.array.shape
    oshape_text = f"(my, mx) = {oshape}"
    wht = _InPlace(out_wht, "out_wht", np.float32, oshape, oshape_text)
    wmap = (np.ones(shape, np.float32) if weights is None
            else _input_image(weights, "weights", shape, np.float32))

    flags = 0
    ctx_arr, plane, bit = _PLACEHOLDER_CTX, 0, 0
    ctx = None
    if out_ctx is not None:
        plane = context_planes(context_id) - 1
        if isinstance(out_ctx, np.ndarray) and out_ctx.ndim == 2:
            out_ctx = out_ctx[np.newaxis]
        ctx = _InPlace(out_ctx, "out_ctx", np.int32, None, f"(nplanes, my, mx) with my, mx = {oshape}")
        if ctx.array.ndim != 3 or ctx.array.shape[1:] != oshape:
            raise ValueError(f"out_ctx must have shape (nplanes, my, mx) with my, mx = {oshape}; "
                             f"got {ctx.array.shape}")
        if ctx.array.shape[0] <= plane:
            raise ValueError(
                f"context_id {context_id} needs out_ctx with at least {plane + 1} planes; it has "
                f"{ctx.array.shape[0]} (enlarge it with drizrun.kernels.grow_context)"
            )
        ctx_arr = ctx.array
        k = int(context_id) % CONTEXT_BITS
        bit = (1 << k) if k < CONTEXT_BITS - 1 else -(1 << k)
        flags |= 1
    if (out_var is None) != (var is None):
        raise ValueError("out_var and var must be given together")
    ovar = None
    var_arr, ovar_arr = _PLACEHOLDER_F32, _PLACEHOLDER_F32
    if out_var is not None:
        ovar = _InPlace(out_var, "out_var", np.float32, oshape, oshape_text)
        var_arr, ovar_arr = _input_image(var, "var", shape, np.float32), ovar.array
        flags |= 2
    if (out_dq is None) != (dq is None):
        raise ValueError("out_dq and dq must be given together")
    odq = None
    dq_arr, odq_arr = _PLACEHOLDER_U32, _PLACEHOLDER_U32
    if out_dq is not None:
        odq = _InPlace(out_dq, "out_dq", np.uint32, oshape, oshape_text)
        dq_in = _real_array(dq, "dq", "iub")
        if dq_in.ndim != 2 or dq_in.shape != shape:
            raise ValueError(f"dq must have shape (ny, nx) = {shape}; got {dq_in.shape}")
        dq_arr, odq_arr = native_array(dq_in.astype(np.uint32, casting="unsafe", copy=False), np.uint32), odq.array
        flags |= 4

    if kernel not in FLUX_CONSERVING_KERNELS:
        warnings.warn(
            f"the {kernel} drizzle kernel does not conserve flux; use square, turbo or point "
            "for photometry",
            NonConservingKernelWarning,
            stacklevel=2,
        )

    if row0 == row1:
        return 0
    if kernel != "square" and (row0, row1) != (0, shape[0]):
        # The other band kernels read only each pixel's own map entry.
        src, wmap = src[row0:row1], wmap[row0:row1]
        pmap = pmap[row0 - map_row0:row1 - map_row0]
        if flags & 2:
            var_arr = var_arr[row0:row1]
        if flags & 4:
            dq_arr = dq_arr[row0:row1]
    module = _drizzle_module(kernel)
    args = (src, pmap, wmap, img.array, wht.array, ctx_arr, var_arr, ovar_arr, dq_arr, odq_arr,
            flags, plane, np.int32(bit))
    if kernel == "square":
        nmiss = module.drizzle_square(*args, pixfrac, iscale, row0, row1, map_row0)
    elif kernel == "turbo":
        nmiss = module.drizzle_turbo(*args, pixfrac, scale_ratio, iscale)
    elif kernel == "point":
        nmiss = module.drizzle_point(*args, iscale)
    elif kernel == "gaussian":
        nmiss = module.drizzle_gaussian(*args, pixfrac, scale_ratio, iscale)
    else:
        nmiss = module.drizzle_lanczos(*args, int(kernel[-1]), scale_ratio, iscale)
    for target in (img, wht, ctx, ovar, odq):
        if target is not None:
            target.done()
    return int(nmiss)


def blot(
    image: ArrayLike,
    pixmap: ArrayLike,
    *,
    interp: str = "poly5",
    sinscl: float = 1.0,
    iscale: float = 1.0,
    fillval: float = 0.0,
) -> NDArray[np.float32]:
    """Sample `image` at the positions of a pixel map (the inverse of drizzling).

    Parameters
    ----------
    image : array_like, shape (ny, nx)
        Image to sample (any real dtype, byte order or layout; used as float32).
    pixmap : array_like, shape (my, mx, 2)
        For every pixel of the blotted frame, the 0-based x, y in `image`.
    interp : {"nearest", "linear", "poly3", "poly5", "lanczos3", "lanczos5"}
        Interpolant. ``poly3``/``poly5`` are the interior polynomials through
        4/6 pixels per axis (AstroDrizzle's default is ``poly5``); they extend
        the image beyond its edges by point reflection. The Lanczos
        interpolants use exact, unnormalised weights and leave out pixels
        beyond the edges.
    sinscl : float, optional
        Scale of a sinc interpolant. drizrun has no sinc interpolant (it was
        dropped from drizzle for giving wrong results), so this must stay 1.0.
    iscale : float, optional
        Factor applied to every interpolated value (for example an exposure
        time, or ``1 / pixel_scale_ratio**2`` to return to input units).
    fillval : float, optional
        Value of pixels whose position is outside ``0 <= x < nx``,
        ``0 <= y < ny`` or NaN.

    Returns
    -------
    ndarray of float32, shape (my, mx)
        The blotted image.

    Raises
    ------
    ValueError
        For an unknown interpolant (``sinc`` included), ``sinscl != 1``, or an
        array of the wrong shape or type.

    Examples
    --------
    >>> import numpy as np
    >>> from drizrun.kernels import blot
    >>> image = np.arange(16.0).reshape(4, 4)
    >>> y, x = np.mgrid[0:2, 0:2].astype(float)
    >>> blot(image, np.dstack([x + 1.5, y + 1.0]), interp="linear")
    array([[ 5.5,  6.5],
           [ 9.5, 10.5]], dtype=float32)
    """
    if interp not in BLOT_INTERPOLANTS:
        raise ValueError(f"unknown blot interpolant {interp!r}; expected one of {', '.join(BLOT_INTERPOLANTS)}")
    if float(sinscl) != 1.0:
        raise ValueError(f"sinscl applies only to sinc interpolation, which drizrun does not provide; got {sinscl!r}")
    iscale = float(iscale)
    fillval = float(fillval)
    src = _input_image(image, "image", None, np.float32)
    pm = _real_array(pixmap, "pixmap")
    if pm.ndim != 3 or pm.shape[2] != 2 or pm.shape[0] == 0 or pm.shape[1] == 0:
        raise ValueError(f"pixmap must have shape (my, mx, 2) holding x, y in image; got {pm.shape}")
    pm = native_array(pm, np.float64)
    out = np.empty(pm.shape[:2], np.float32)
    module = _MODULES["_blot"]
    if interp.startswith("lanczos"):
        module.blot_lanczos(src, pm, out, int(interp[-1]), iscale, fillval)
    else:
        getattr(module, "blot_" + interp)(src, pm, out, iscale, fillval)
    return out
