"""The compiled pixel-map functions release the GIL while they run."""

from __future__ import annotations

import threading

import numpy as np


def _undistorted_args(ny: int, nx: int) -> tuple:
    out = np.empty(ny * nx * 2)
    grid = np.array([0.0, 0.0, 1.0, 1.0])
    s = np.radians(0.1 / 3600)
    lin = np.array([nx / 2, ny / 2, -s, 0.0, 0.0, s,
                    1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0,
                    nx / 2, ny / 2, -1 / s, 0.0, 0.0, 1 / s])
    index = np.zeros(16, dtype=np.int64)
    index[2::4] = 1
    index[3::4] = 1
    return out, nx, grid, lin, np.zeros(2), np.zeros(1), 0, 1, np.zeros(1), np.zeros(24), index, 1.0


def test_forward_and_invert_release_the_gil(compiled_kernel):
    """Another Python thread keeps running while a kernel call is in progress.

    The worker signals just before entering the kernel; if the call held the
    GIL, the main thread could not run again until it returned (it then
    counts a few thousand iterations at most, while the worker finishes).
    """
    args = _undistorted_args(3000, 2000)
    for call in ("forward", "invert"):
        ready = threading.Event()

        def work(call=call):
            ready.set()
            if call == "forward":
                compiled_kernel.forward(*args)
            else:
                out = args[0]
                compiled_kernel.invert(out, np.zeros(2), np.zeros(1), 0, np.zeros(1), np.zeros(24),
                                       args[10], 1e-9, 5, 1.0)

        if call == "invert":
            compiled_kernel.forward(*args[:-1], 0.0)  # finite focal-plane positions to invert
        worker = threading.Thread(target=work)
        worker.start()
        ready.wait()
        count = 0
        while worker.is_alive():
            count += 1
        worker.join()
        assert count > 20000, f"{call}: the main thread ran only {count} loop iterations during the call"
    y, x = np.indices((3000, 2000), dtype=float)
    np.testing.assert_allclose(args[0].reshape(3000, 2000, 2)[..., 0], x, atol=1e-6)
