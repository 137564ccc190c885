"""Simulated visits shared by the simulator tests (each is written once per session)."""

from __future__ import annotations

import pytest

import drizrun


@pytest.fixture(scope="session")
def uvis_visit(tmp_path_factory):
    """Four dithered 2x(256x512) WFC3/UVIS exposures with every effect."""
    return drizrun.simulate("WFC3/UVIS", 4, tmp_path_factory.mktemp("uvis"), seed=5, chip_shape=(256, 512))


@pytest.fixture(scope="session")
def uvis_visit_without_cosmic_rays(tmp_path_factory):
    """The same visit with cosmic rays switched off (every other random draw identical)."""
    return drizrun.simulate(
        "WFC3/UVIS", 4, tmp_path_factory.mktemp("uvis_nocr"), seed=5, chip_shape=(256, 512), cosmic_rays=False
    )
