"""Property-based tests of :func:`drizrun.kernels.abs_deriv` (needs hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

pytest.importorskip("hypothesis")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

images = hnp.arrays(
    dtype=np.float32,
    shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
    elements=st.floats(width=32, allow_nan=True, allow_infinity=True),
)


@settings(max_examples=150, deadline=None)
@given(image=images)
def test_matches_oracle(deriv_module, deriv_oracle, image):
    with np.errstate(invalid="ignore", over="ignore"):
        assert_array_equal(deriv_module.abs_deriv(image), deriv_oracle(image))


@settings(max_examples=50, deadline=None)
@given(image=images, data=st.data())
def test_big_endian_and_fortran_inputs(deriv_module, image, data):
    from drizrun.kernels import native_array

    variant = data.draw(st.sampled_from([">f4", ">f8", "F"]))
    other = np.asfortranarray(image) if variant == "F" else image.astype(variant)
    with np.errstate(invalid="ignore", over="ignore"):
        assert_array_equal(deriv_module.abs_deriv(native_array(other, np.float32)), deriv_module.abs_deriv(image))
