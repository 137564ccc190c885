"""The pool that lends pixel-map arrays from chip to chip within a stage."""

from __future__ import annotations

import threading

import numpy as np

from drizrun.plugins.stages.buffers import BufferPool


def test_an_array_given_back_is_lent_again():
    pool = BufferPool(keep=2)
    with pool.borrow((3, 4, 2), np.float64) as first:
        assert first.shape == (3, 4, 2) and first.dtype == np.float64 and first.flags.c_contiguous
        first[...] = 7.0
    with pool.borrow((3, 4, 2), np.float64) as second:
        assert second is first
    assert pool.allocated == 1


def test_other_shapes_and_types_get_their_own_arrays():
    pool = BufferPool(keep=4)
    with pool.borrow((3, 4, 2), np.float64) as a:
        pass
    with pool.borrow((3, 5, 2), np.float64) as b, pool.borrow((3, 4, 2), np.float32) as c:
        assert b is not a and c is not a
        assert b.shape == (3, 5, 2) and c.dtype == np.float32
    assert pool.allocated == 3


def test_no_array_is_lent_twice_at_once():
    pool = BufferPool(keep=2)
    with pool.borrow((8,), np.float64) as a, pool.borrow((8,), np.float64) as b:
        assert a is not b
    with pool.borrow((8,), np.float64) as c, pool.borrow((8,), np.float64) as d:
        assert {id(c), id(d)} == {id(a), id(b)}
    assert pool.allocated == 2


def test_the_pool_holds_at_most_keep_arrays():
    pool = BufferPool(keep=1)
    with pool.borrow((8,), np.float64) as a, pool.borrow((8,), np.float64) as b:
        pass
    with pool.borrow((8,), np.float64) as c, pool.borrow((8,), np.float64) as d:
        assert (c is a or c is b) and d is not a and d is not b
    pool.clear()
    with pool.borrow((8,), np.float64) as e:
        assert e is not c


def test_workers_borrowing_at_once_never_share_an_array():
    pool = BufferPool(keep=4)
    clashes = []
    barrier = threading.Barrier(4)

    def work(value: float) -> None:
        barrier.wait()
        for _ in range(200):
            with pool.borrow((64,), np.float64) as array:
                array[...] = value
                if not np.all(array == value):
                    clashes.append(value)

    threads = [threading.Thread(target=work, args=(float(k),)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clashes == []
    assert pool.allocated <= 4  # never more arrays than borrowers at once
