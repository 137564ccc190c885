"""The built-in kernels plugin registers every kernel with its backend and flux property."""

from __future__ import annotations

import numpy as np

import drizrun
from drizrun.core.cli import main
from drizrun.kernels import BLOT_INTERPOLANTS, DRIZZLE_KERNELS, FLUX_CONSERVING_KERNELS


def test_list_kernels_shows_every_kernel_with_backend_and_flux(capsys):
    assert main(["--list-kernels"]) == 0
    out = capsys.readouterr().out
    rows = {tuple(line.split()[:2]): line.split() for line in out.splitlines()[1:] if line.strip()}
    for name in DRIZZLE_KERNELS:
        row = rows[("drizzle", name)]
        assert row[2] == drizrun.kernels.drizzle_backend(name)
        assert row[3] == ("yes" if name in FLUX_CONSERVING_KERNELS else "no")
    for name in BLOT_INTERPOLANTS:
        row = rows[("blot", name)]
        assert row[2] == drizrun.kernels.kernel_backend("_blot")
        assert row[3] == "-"
    assert ("deriv", "abs_deriv") in rows


def test_registered_functions_have_the_kernel_bound(make_session):
    session = make_session()
    square = session.kernels.get("drizzle", "square").function
    point = session.kernels.get("drizzle", "point").function
    y, x = np.mgrid[0:4, 0:4].astype(float)
    pixmap = np.dstack([x + 0.3, y + 0.3])
    results = []
    for function in (square, point):
        img, wht = np.zeros((6, 6), np.float32), np.zeros((6, 6), np.float32)
        assert function(np.ones((4, 4)), pixmap, img, wht) == 0
        results.append(wht)
    assert (results[0] > 0).sum() > (results[1] > 0).sum()  # square spreads, point does not
    blotted = session.kernels.get("blot", "nearest").function(np.arange(16.0).reshape(4, 4), pixmap)
    assert blotted[0, 0] == 0.0 and blotted.dtype == np.float32
