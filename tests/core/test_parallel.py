"""Threads with ordered results, and runs that do not depend on the number of cores."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from astropy.io import fits

import drizrun
from drizrun.core.parallel import ordered_map
from drizrun.core.simulate import simulate


def test_results_come_in_input_order_from_several_threads():
    threads = set()

    def slow_square(i: int) -> int:
        threads.add(threading.get_ident())
        time.sleep(0.02 * (5 - i % 5))
        return i * i

    assert list(ordered_map(slow_square, range(12), num_cores=3)) == [i * i for i in range(12)]
    assert len(threads) > 1


def test_an_error_surfaces_at_its_item_after_running_work_finished():
    finished = []

    def work(i: int) -> int:
        if i == 2:
            raise ValueError("bad item 2")
        time.sleep(0.01)
        finished.append(i)
        return i

    results = []
    with pytest.raises(ValueError, match="bad item 2"):
        for value in ordered_map(work, range(6), num_cores=2, ahead=2):
            results.append(value)
    assert results == [0, 1]
    assert all(i in finished for i in (0, 1))


def test_one_core_runs_in_the_calling_thread():
    caller = threading.get_ident()
    assert list(ordered_map(lambda _: threading.get_ident(), range(3), num_cores=1)) == [caller] * 3


def test_products_are_bit_identical_whatever_the_number_of_cores(tmp_path):
    visit = simulate("WFC3/UVIS", 3, tmp_path / "v", seed=8, chip_shape=(96, 192))
    products = {}
    for cores in (1, 2):
        drizrun.run([visit.association], output=tmp_path / f"c{cores}" / "x", num_cores=cores,
                    settings=["sep.kernel=turbo", "final.kernel=turbo"])
        with fits.open(tmp_path / f"c{cores}" / "x_drz.fits") as hdul:
            products[cores] = [np.array(hdul[name].data) for name in ("SCI", "WHT", "CTX", "ERR")]
        products[cores].append(fits.getdata(tmp_path / f"c{cores}" / "x_med.fits"))
        for mask in sorted((tmp_path / f"c{cores}").glob("*_crmask.fits")):
            products[cores].append(fits.getdata(mask))
    assert len(products[1]) == len(products[2]) > 5
    for one, two in zip(products[1], products[2], strict=True):
        np.testing.assert_array_equal(one, two)
