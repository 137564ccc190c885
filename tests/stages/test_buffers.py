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


def test_keep_bytes_bounds_the_idle_memory():
    pool = BufferPool(keep=10, keep_bytes=3 * 800)
    with pool.borrow((100,), np.float64) as a, pool.borrow((100,), np.float64) as b:
        pass
    with pool.borrow((100,), np.float64), pool.borrow((100,), np.float64), pool.borrow((100,), np.float64):
        pass
    assert pool.allocated == 3  # the first two were held and lent again; three fit the budget
    with pool.borrow((200,), np.float64) as big:
        assert big is not a and big is not b
    assert sum(x.nbytes for x in pool._free) <= 3 * 800


def test_run_pool_is_one_pool_per_run():
    from types import SimpleNamespace

    from drizrun.plugins.stages.buffers import RUN_POOL_IDLE_BYTES, run_pool

    run, other = SimpleNamespace(stash={}), SimpleNamespace(stash={})
    assert run_pool(run) is run_pool(run)
    assert run_pool(run) is not run_pool(other)
    assert run_pool(run).keep_bytes == RUN_POOL_IDLE_BYTES


def test_lent_outputs_are_zeroed_and_given_back():
    from contextlib import ExitStack

    from drizrun.plugins.stages.resample import DrizzleOutputs

    pool = BufferPool(keep=8)
    with ExitStack() as lent:
        outputs = DrizzleOutputs.lent(pool, lent, (6, 5), n_context=40, variance=True)
        assert outputs.ctx is not None and outputs.ctx.shape == (2, 6, 5) and outputs.ctx.dtype == np.int32
        for array in (outputs.sci, outputs.wht, outputs.var, outputs.ctx):
            assert not array.any()
            array[...] = 7
    with ExitStack() as lent:
        again = DrizzleOutputs.lent(pool, lent, (6, 5), n_context=40, variance=True)
        assert again.sci is outputs.sci and again.ctx is outputs.ctx  # the same arrays, zeroed again
        assert not again.sci.any() and not again.ctx.any() and not again.var.any() and not again.wht.any()
    assert pool.allocated == 4
