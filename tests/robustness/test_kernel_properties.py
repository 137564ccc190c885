"""Property tests of :func:`drizrun.kernels.drizzle` and :func:`drizrun.kernels.blot` on random pixel maps.

The pixel maps are smooth: a random affine transformation (scale 0.5-2 output
pixels per input pixel, any rotation, either parity, a little shear) plus
small quadratic terms, shifted so that every drop lands inside the output
with a margin. Some map entries are NaN (sometimes only x or only y).

A contribution of weight ``c`` and value ``v = data * iscale`` to an output
pixel updates the running mean ``out_img`` and adds ``c`` to ``out_wht``, so
``out_img * out_wht`` is the sum of ``c * v`` over the contributions. Each
conserving kernel splits an input pixel's weight ``w`` into contributions
summing to ``w`` when the drop is inside the output: the square kernel gives
``overlap / quad_area * w``, turbo ``overlap * (scale_ratio / pixfrac)**2 *
w``, point ``w`` to one pixel. Hence, with ``P`` the input pixels whose
geometry is defined (their own map entry finite for turbo and point; every
map entry their corners are interpolated from finite for square):

* ``sum(out_wht) == sum(weights[P])``;
* ``sum(out_img * out_wht) == iscale * sum((data * weights)[P])``;
* the return value (input pixels that reached no output pixel) is ``size - |P|``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drizrun.kernels import blot, drizzle

MARGIN = 4


@st.composite
def smooth_maps(draw: st.DrawFn, min_side: int = 2, max_side: int = 9, nan: bool = True):
    """A pixel map (ny, nx, 2), its output shape and its linear scale (output pixels per input pixel)."""
    ny = draw(st.integers(min_side, max_side))
    nx = draw(st.integers(min_side, max_side))
    scale = draw(st.floats(0.5, 2.0))
    theta = draw(st.floats(0.0, 2 * math.pi))
    flip = draw(st.booleans())
    shear = draw(st.floats(-0.1, 0.1))
    quad = np.array(draw(st.lists(st.floats(-0.004, 0.004), min_size=6, max_size=6)))
    y, x = np.mgrid[0:ny, 0:nx].astype(np.float64)
    c, s = math.cos(theta), math.sin(theta)
    matrix = scale * np.array([[c, -s], [s, c]]) @ np.array([[1.0, shear], [0.0, -1.0 if flip else 1.0]])
    u = matrix[0, 0] * x + matrix[0, 1] * y + quad[0] * x * x + quad[1] * x * y + quad[2] * y * y
    v = matrix[1, 0] * x + matrix[1, 1] * y + quad[3] * x * x + quad[4] * x * y + quad[5] * y * y
    u -= u.min() - MARGIN
    v -= v.min() - MARGIN
    out_shape = (int(math.ceil(v.max())) + MARGIN + 1, int(math.ceil(u.max())) + MARGIN + 1)
    pixmap = np.dstack([u, v])
    if nan:
        seed = draw(st.integers(0, 2**32 - 1))
        fraction = draw(st.sampled_from([0.0, 0.0, 0.05, 0.2]))
        rng = np.random.default_rng(seed)
        hole = rng.random((ny, nx)) < fraction
        which = rng.integers(0, 3, size=(ny, nx))  # 0: x, 1: y, 2: both
        pixmap[..., 0][hole & (which != 1)] = np.nan
        pixmap[..., 1][hole & (which != 0)] = np.nan
    return pixmap, out_shape, scale


def _defined(pixmap: np.ndarray, kernel: str, pixfrac: float) -> np.ndarray:
    """The input pixels whose drop geometry the kernel can compute (see the module docstring)."""
    finite = np.isfinite(pixmap).all(axis=2)
    if kernel != "square":
        return finite
    ny, nx = finite.shape
    dh = 0.5 * pixfrac
    defined = np.zeros_like(finite)
    for j in range(ny):
        rows = {r + k for r in (min(max(int(j - dh), 0), ny - 2), min(max(int(j + dh), 0), ny - 2)) for k in (0, 1)}
        for i in range(nx):
            cols = {c + k for c in (min(max(int(i - dh), 0), nx - 2), min(max(int(i + dh), 0), nx - 2))
                    for k in (0, 1)}
            defined[j, i] = all(finite[r, c] for r in rows for c in cols)
    return defined


@pytest.mark.parametrize("kernel", ["square", "turbo", "point"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    geometry=smooth_maps(),
    pixfrac=st.floats(0.05, 1.0),
    iscale=st.floats(0.1, 10.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_conserving_kernels_conserve_weight_and_flux(kernel, geometry, pixfrac, iscale, seed):
    pixmap, out_shape, scale = geometry
    rng = np.random.default_rng(seed)
    ny, nx = pixmap.shape[:2]
    data = rng.normal(10.0, 5.0, (ny, nx)).astype(np.float32)
    weights = rng.uniform(0.0, 2.0, (ny, nx)).astype(np.float32)
    weights[rng.random((ny, nx)) < 0.1] = 0.0
    out_img = np.zeros(out_shape, np.float32)
    out_wht = np.zeros(out_shape, np.float32)

    missed = drizzle(data, pixmap, out_img, out_wht, weights=weights, kernel=kernel, pixfrac=pixfrac,
                     pixel_scale_ratio=1.0 / scale, iscale=iscale)

    assert np.isfinite(out_img).all() and np.isfinite(out_wht).all()
    assert (out_wht >= 0).all()
    defined = _defined(pixmap, kernel, pixfrac)
    assert missed == int((~defined).sum())
    total = float(weights[defined].astype(np.float64).sum())
    assert float(out_wht.astype(np.float64).sum()) == pytest.approx(total, rel=1e-4, abs=1e-4)
    flux = iscale * float((data.astype(np.float64) * weights)[defined].sum())
    scale_of_flux = iscale * float((np.abs(data.astype(np.float64)) * weights).sum()) + 1e-6
    got = float((out_img.astype(np.float64) * out_wht).sum())
    assert abs(got - flux) <= 1e-4 * scale_of_flux


@pytest.mark.parametrize("kernel", ["gaussian", "lanczos3"])
@settings(max_examples=15, deadline=None)
@given(geometry=smooth_maps(), pixfrac=st.floats(0.3, 1.0), seed=st.integers(0, 2**32 - 1))
def test_every_kernel_gives_finite_outputs_with_nans_in_the_map(kernel, geometry, pixfrac, seed):
    pixmap, out_shape, scale = geometry
    rng = np.random.default_rng(seed)
    data = rng.normal(0.0, 1.0, pixmap.shape[:2]).astype(np.float32)
    out_img = np.zeros(out_shape, np.float32)
    out_wht = np.zeros(out_shape, np.float32)
    with pytest.warns(UserWarning, match="does not conserve flux"):
        drizzle(data, pixmap, out_img, out_wht, kernel=kernel, pixfrac=pixfrac, pixel_scale_ratio=1.0 / scale)
    assert np.isfinite(out_img).all() and np.isfinite(out_wht).all()


@pytest.mark.parametrize("interp", ["nearest", "linear", "poly3", "poly5"])
@settings(max_examples=25, deadline=None)
@given(
    geometry=smooth_maps(min_side=2, max_side=12, nan=False),
    shape=st.tuples(st.integers(6, 14), st.integers(6, 14)),
    value=st.floats(-1e4, 1e4, allow_subnormal=False),
    iscale=st.floats(0.1, 10.0),
)
def test_blot_of_a_constant_is_that_constant_inside(interp, geometry, shape, value, iscale):
    pixmap, _, _ = geometry
    ny, nx = shape
    # squeeze the map into the image, 0 <= x <= nx - 1, 0 <= y <= ny - 1
    lo = pixmap.reshape(-1, 2).min(axis=0)
    span = np.maximum(pixmap.reshape(-1, 2).max(axis=0) - lo, 1e-9)
    inside = (pixmap - lo) / span * np.array([nx - 1, ny - 1])
    image = np.full(shape, value, np.float32)
    out = blot(image, inside, interp=interp, iscale=iscale, fillval=np.nan)
    assert out.shape == pixmap.shape[:2]
    np.testing.assert_allclose(out, np.float32(value) * np.float32(iscale), rtol=1e-5, atol=1e-5 * abs(iscale))


@pytest.mark.parametrize("interp", ["lanczos3", "lanczos5"])
@settings(max_examples=15, deadline=None)
@given(geometry=smooth_maps(min_side=2, max_side=10, nan=False), value=st.floats(1.0, 1e4))
def test_lanczos_blot_of_a_constant_is_close_to_it_away_from_the_edges(interp, geometry, value):
    # the Lanczos weights are not normalised (as in drizzle's C blot), so a
    # constant comes back only to within about 1 %
    pixmap, _, _ = geometry
    order = int(interp[-1])
    n = 2 * order + 8
    lo = pixmap.reshape(-1, 2).min(axis=0)
    span = np.maximum(pixmap.reshape(-1, 2).max(axis=0) - lo, 1e-9)
    inside = order + (pixmap - lo) / span * (n - 1 - 2 * order)
    out = blot(np.full((n, n), value, np.float32), inside, interp=interp)
    np.testing.assert_allclose(out, value, rtol=0.02)
