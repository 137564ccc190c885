"""Fixtures of the geometry tests (the helpers live in ``_helpers.py``)."""

from ._helpers import compiled_kernel, python_kernel  # noqa: F401  (fixtures)
