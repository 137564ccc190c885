"""Fixtures that run each kernel test against both backends of the installed package.

``pythran``
    The compiled extension module of the installed ``drizrun.kernels``
    (skipped when the package was built with ``-Duse-pythran=false``).
``python``
    The ``.py`` source file installed next to it, executed as plain Python.

Both are loaded from the installed package, never from the source tree.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import drizrun.kernels

BACKENDS = ("pythran", "python")


def _load_kernel_module(module_name: str, backend: str) -> ModuleType:
    """Load one kernel module of the installed package with the given backend.

    Parameters
    ----------
    module_name : str
        Kernel module name, such as ``"_deriv"``.
    backend : {"pythran", "python"}
        Which implementation to load.

    Returns
    -------
    module
        The compiled extension or the executed ``.py`` source.
    """
    qualname = f"drizrun.kernels.{module_name}"
    if backend == "pythran":
        spec = importlib.util.find_spec(qualname)
        origin = spec.origin if spec is not None else None
        if origin is None or not origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
            pytest.skip(f"{qualname} is not compiled (drizrun was built with -Duse-pythran=false)")
        module = importlib.import_module(qualname)
        assert hasattr(module, "__pythran__")
        return module
    path = Path(drizrun.kernels.__file__).with_name(module_name + ".py")
    spec = importlib.util.spec_from_file_location(f"_drizrun_test_source{module_name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert not hasattr(module, "__pythran__")
    return module


@pytest.fixture(scope="session")
def load_kernel_module() -> Callable[[str, str], ModuleType]:
    """``load_kernel_module(module_name, backend)``: one kernel module of the installed package."""
    return _load_kernel_module


@pytest.fixture(scope="session", params=BACKENDS)
def deriv_module(request: pytest.FixtureRequest) -> ModuleType:
    """The ``_deriv`` kernel module, once per backend."""
    return _load_kernel_module("_deriv", request.param)


@pytest.fixture
def abs_deriv(
    deriv_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., np.ndarray]]:
    """The public :func:`drizrun.kernels.abs_deriv`, running on `deriv_module`."""
    monkeypatch.setitem(drizrun.kernels._MODULES, "_deriv", deriv_module)
    yield drizrun.kernels.abs_deriv


def _abs_deriv_oracle(image: np.ndarray) -> np.ndarray:
    """Reference result built from shifted copies with NaN standing for "no neighbour"."""
    a = np.asarray(image, dtype=np.float32)
    padded = np.pad(a, 1, constant_values=np.nan)
    centre = padded[1:-1, 1:-1]
    shifts = (padded[1:-1, :-2], padded[1:-1, 2:], padded[:-2, 1:-1], padded[2:, 1:-1])
    with np.errstate(invalid="ignore"):  # inf - inf
        diffs = np.stack([np.abs(centre - s) for s in shifts])
    out = np.fmax.reduce(diffs, axis=0)  # NaN only where every difference is NaN
    out[np.isnan(out)] = 0.0
    out[np.isnan(a)] = np.nan
    return out.astype(np.float32)


@pytest.fixture(scope="session")
def deriv_oracle() -> Callable[[np.ndarray], np.ndarray]:
    """Independent NumPy implementation of ``abs_deriv`` for float32 input."""
    return _abs_deriv_oracle


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each kernel backend in turn."""
    return request.param


@pytest.fixture
def kernels_on(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    """:mod:`drizrun.kernels` with its drizzle and blot kernels running on `backend`."""
    for name in ("_drizzle", "_square", "_turbo", "_blot"):
        monkeypatch.setitem(drizrun.kernels._MODULES, name, _load_kernel_module(name, backend))
    yield drizrun.kernels


def smooth_pixmap(
    ny: int,
    nx: int,
    *,
    seed: int = 0,
    shift: tuple[float, float] = (3.3, 2.7),
    rotation: float = 0.1,
    scale: float = 1.0,
    distortion: float = 2e-3,
) -> np.ndarray:
    """A random smooth distorted pixel map: rotation, scale, shift and quadratic terms.

    Parameters
    ----------
    ny, nx : int
        Input shape.
    seed : int
        Seed of the random quadratic coefficients.
    shift : (float, float)
        Output x, y of input pixel (0, 0) before distortion.
    rotation : float
        Rotation in radians.
    scale : float
        Output pixel size over input pixel size (the map shrinks by it).
    distortion : float
        Standard deviation of the quadratic coefficients (in output pixels
        at the image edge, relative to the image size).

    Returns
    -------
    ndarray of float64, shape (ny, nx, 2)
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:ny, 0:nx].astype(np.float64)
    c, s = np.cos(rotation), np.sin(rotation)
    u = (c * x - s * y) / scale + shift[0]
    v = (s * x + c * y) / scale + shift[1]
    a = rng.normal(0.0, distortion, 6)
    xc, yc = (x - nx / 2) / max(nx, 1), (y - ny / 2) / max(ny, 1)
    u += (a[0] * xc * xc + a[1] * xc * yc + a[2] * yc * yc) * nx / scale
    v += (a[3] * xc * xc + a[4] * xc * yc + a[5] * yc * yc) * ny / scale
    return np.dstack([u, v])


@pytest.fixture(scope="session")
def make_pixmap() -> Callable[..., np.ndarray]:
    """:func:`smooth_pixmap`: a random smooth distorted pixel map."""
    return smooth_pixmap


def _centroid_offsets(image: np.ndarray, ref: np.ndarray, half: int) -> np.ndarray:
    """(dy, dx) of the flux-weighted centroids of `image` from `ref`'s, per point of `ref` above 20.

    The centroids are taken in the same ``2 * half`` square box about each point, as the drizzle
    1.13.4 reference tests do.
    """
    ndimage = pytest.importorskip("scipy.ndimage")
    labels, n = ndimage.label(ref > 20.0)
    offsets = []
    for cy, cx in ndimage.center_of_mass(ref, labels, range(1, n + 1)):
        y0, x0 = max(int(cy) - half, 0), max(int(cx) - half, 0)
        centroids = []
        for im in (image, ref):
            box = np.asarray(im[y0:y0 + 2 * half, x0:x0 + 2 * half], np.float64)
            yy, xx = np.mgrid[y0:y0 + box.shape[0], x0:x0 + box.shape[1]]
            total = box.sum()
            centroids.append(((yy * box).sum() / total, (xx * box).sum() / total) if total else (np.nan, np.nan))
        offsets.append(np.subtract(*centroids))
    result = np.array(offsets)
    assert n > 0 and np.isfinite(result).all()
    return result


@pytest.fixture(scope="session")
def centroid_offsets() -> Callable[..., np.ndarray]:
    """``centroid_offsets(image, ref, half)``: centroid offsets of `image` from `ref` at ref's points."""
    return _centroid_offsets


@pytest.fixture(scope="session")
def hrc_frame(shared_hst: Path) -> tuple[Path, tuple[int, int], object]:
    """The drizzle 1.13.4 reference folder, and the shape and header WCS (TAN) of ``j8bt06nyq_flt.fits``.

    drizzlepac's C core made the 1.13.4 reference grids with this WCS.
    """
    wcs_mod = pytest.importorskip("astropy.wcs")
    fits = pytest.importorskip("astropy.io.fits")
    folder = shared_hst / "debian_python-drizzle-testdata_1.13.4"
    with fits.open(folder / "j8bt06nyq_flt.fits.gz") as hdul:
        return folder, hdul["SCI"].data.shape, wcs_mod.WCS(hdul["SCI"].header)
