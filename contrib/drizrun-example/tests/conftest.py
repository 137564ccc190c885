"""Fixtures for the example plugin's tests, from drizrun's testing helpers."""

from drizrun.core.testing import make_exposure, make_session  # noqa: F401  (fixtures)
