"""Shared test set-up.

* Plugins installed in the environment never leak into the suite: entry-point
  autoloading is disabled for the whole session (tests that check autoloading
  re-enable it explicitly for a subprocess).
* ``shared_hst`` gives the directory of real HST files that sits beside the
  repository (``../shared/data/hst``) and skips the test when it is absent.
* ``make_session`` and ``make_exposure`` come from :mod:`drizrun.core.testing`,
  the fixtures plugin authors use too.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ["DRIZRUN_DISABLE_PLUGIN_AUTOLOAD"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parent))  # makes tests/fake_plugins importable

from drizrun.core.testing import make_exposure, make_session  # noqa: E402,F401  (fixtures)

REPO = Path(__file__).resolve().parent.parent
SHARED_HST = REPO.parent / "shared" / "data" / "hst"


@pytest.fixture(scope="session")
def shared_hst() -> Path:
    """Directory of the real HST test files; skips when it is not there."""
    if not SHARED_HST.is_dir():
        pytest.skip(f"real HST data not found at {SHARED_HST} (the shared/ directory beside the repository)")
    return SHARED_HST
