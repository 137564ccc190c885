"""Atomic FITS writing, through the page cache or around it (``DirectFile``)."""

from __future__ import annotations

import errno
import os
import threading

import numpy as np
import pytest
from astropy.io import fits

from drizrun.core import fileio
from drizrun.core.errors import ProcessingError
from drizrun.core.fileio import DirectFile, StagingPool, read_direct, write_fits_atomic


def _hdulist(ny: int = 301, nx: int = 257) -> fits.HDUList:
    rng = np.random.default_rng(7)
    return fits.HDUList([
        fits.PrimaryHDU(),
        fits.ImageHDU(rng.normal(size=(ny, nx)).astype(np.float32), name="SCI"),
        fits.ImageHDU(rng.integers(0, 2**31 - 1, size=(ny, nx), dtype=np.int32), name="CTX"),
    ])


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, DirectFile.STAGE - 1, DirectFile.STAGE,
                                  DirectFile.STAGE + 12345, 3 * DirectFile.STAGE + 4096])
def test_direct_file_holds_exactly_the_bytes_written(tmp_path, size):
    data = np.random.default_rng(size).integers(0, 256, size=size, dtype=np.uint8).tobytes()
    path = tmp_path / "out.bin"
    with DirectFile(path) as handle:
        # in pieces of awkward sizes, as astropy writes headers and data
        for start in range(0, size, 1_000_003):
            assert handle.write(data[start:start + 1_000_003]) == len(data[start:start + 1_000_003])
        assert handle.tell() == size
    assert path.read_bytes() == data


def test_direct_fits_product_equals_the_ordinary_one(tmp_path):
    ordinary = write_fits_atomic(tmp_path / "plain.fits", _hdulist())
    direct = write_fits_atomic(tmp_path / "direct.fits", _hdulist(), direct=True)
    assert os.path.getsize(ordinary) == os.path.getsize(direct)
    with fits.open(ordinary, checksum=True) as a, fits.open(direct, checksum=True) as b:
        for hdu_a, hdu_b in zip(a, b, strict=True):
            assert hdu_a.header["DATASUM"] == hdu_b.header["DATASUM"]
            if hdu_a.data is not None:
                np.testing.assert_array_equal(hdu_a.data, hdu_b.data)
    assert not list(tmp_path.glob(".*.part"))


@pytest.fixture
def refuse_o_direct(monkeypatch):
    """``os.open`` fails with EINVAL for ``O_DIRECT``, as on file systems without it."""
    real_open = os.open

    def no_direct(path, flags, *args):
        if flags & getattr(os, "O_DIRECT", 0):
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL), path)
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", no_direct)


def test_file_system_refusing_o_direct_gets_an_ordinary_file(tmp_path, refuse_o_direct):
    path = write_fits_atomic(tmp_path / "p.fits", _hdulist(), direct=True)
    with fits.open(path, checksum=True) as hdul:
        assert hdul["SCI"].data.shape == (301, 257)


def test_disk_full_during_a_direct_write_leaves_nothing(tmp_path, monkeypatch):
    real_write = os.write
    written = []

    def fills_up(fd, data):
        if sum(written) > 200_000:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written.append(len(data))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", fills_up)
    monkeypatch.setattr(DirectFile, "STAGE", 64 * 1024)
    monkeypatch.setattr(DirectFile, "_stages", StagingPool())
    with pytest.raises(ProcessingError, match="disk full while writing"):
        write_fits_atomic(tmp_path / "p.fits", _hdulist(), direct=True)
    assert list(tmp_path.iterdir()) == []


def test_two_open_direct_files_do_not_share_their_buffer(tmp_path):
    a_bytes, b_bytes = b"a" * 10_000, b"b" * 10_000
    with DirectFile(tmp_path / "a") as a, DirectFile(tmp_path / "b") as b:
        a.write(a_bytes)
        b.write(b_bytes)
    assert (tmp_path / "a").read_bytes() == a_bytes
    assert (tmp_path / "b").read_bytes() == b_bytes


def test_staging_buffers_are_reused_by_other_threads(tmp_path, monkeypatch):
    pool = StagingPool()
    monkeypatch.setattr(DirectFile, "_stages", pool)
    seen = []

    def write_one(name):
        with DirectFile(tmp_path / name) as handle:
            seen.append(id(handle._stage.obj))
            handle.write(b"x" * 5000)

    for name in ("a", "b", "c"):  # a thread of its own for each file, one after another
        worker = threading.Thread(target=write_one, args=(name,))
        worker.start()
        worker.join()
    assert len(set(seen)) == 1 and len(pool) == 1
    out = np.zeros(5000, dtype=np.uint8)
    read_direct(tmp_path / "c", 0, out)
    assert bytes(out) == b"x" * 5000 and len(pool) == 1


def test_a_staging_buffer_smaller_than_the_stage_is_not_reused(monkeypatch):
    pool = StagingPool()
    small = pool.take(4096)
    pool.give_back(small)
    assert len(pool.take(8192)) == 8192 and len(pool) == 0


def test_a_writer_that_cannot_get_its_buffer_closes_its_file(tmp_path, monkeypatch):
    def no_memory(cls):
        raise MemoryError("no staging buffer")

    monkeypatch.setattr(DirectFile, "_staging_buffer", classmethod(no_memory))
    opened = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda *args: opened.append(real_open(*args)) or opened[-1])
    with pytest.raises(MemoryError):
        DirectFile(tmp_path / "p.bin")
    with pytest.raises(OSError, match="Bad file descriptor"):
        os.fstat(opened[0])


@pytest.mark.parametrize(("offset", "size"), [(0, 0), (0, 1), (1, 4095), (2880, 4096), (4095, 2),
                                              (2880 * 3, DirectFile.STAGE + 7), (12345, 2 * DirectFile.STAGE)])
def test_read_direct_gives_exactly_the_bytes_asked_for(tmp_path, offset, size):
    data = np.random.default_rng(size).integers(0, 256, size=offset + size + 5000, dtype=np.uint8)
    path = tmp_path / "in.bin"
    path.write_bytes(data.tobytes())
    out = np.full(size, 7, dtype=np.uint8)
    read_direct(path, offset, out)
    np.testing.assert_array_equal(out, data[offset:offset + size])


def test_read_direct_up_to_the_last_byte_and_past_it(tmp_path):
    data = np.arange(10_000, dtype=np.uint8)
    path = tmp_path / "in.bin"
    path.write_bytes(data.tobytes())
    out = np.empty(3000, dtype=np.uint8)
    read_direct(path, 7000, out)
    np.testing.assert_array_equal(out, data[7000:])
    with pytest.raises(OSError, match="file ends 1 bytes before") as info:
        read_direct(path, 7001, out)
    assert info.value.errno == errno.EIO and info.value.filename == str(path)


def test_read_direct_where_the_file_system_refuses_o_direct(tmp_path, refuse_o_direct):
    data = np.random.default_rng(3).integers(0, 256, size=50_000, dtype=np.uint8)
    path = tmp_path / "in.bin"
    path.write_bytes(data.tobytes())
    out = np.empty(40_000, dtype=np.uint8)
    read_direct(path, 333, out)
    np.testing.assert_array_equal(out, data[333:40_333])
    with pytest.raises(OSError, match="before the end of its data"):
        read_direct(path, 20_000, out)


def test_read_direct_where_o_direct_is_refused_at_the_first_read(tmp_path, monkeypatch):
    data = np.random.default_rng(4).integers(0, 256, size=30_000, dtype=np.uint8)
    path = tmp_path / "in.bin"
    path.write_bytes(data.tobytes())
    fd, direct = fileio._open_direct(path, os.O_RDONLY)
    os.close(fd)
    if not direct:
        pytest.skip(f"the file system of {tmp_path} refuses O_DIRECT when opening already")
    real_preadv, refused = os.preadv, []

    def refuse_once(fd, buffers, offset):
        if not refused:
            refused.append(offset)
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        return real_preadv(fd, buffers, offset)

    monkeypatch.setattr(os, "preadv", refuse_once)
    out = np.empty(20_000, dtype=np.uint8)
    read_direct(path, 4097, out)
    assert refused == [4096]
    np.testing.assert_array_equal(out, data[4097:24_097])


@pytest.mark.parametrize(("offset", "stage"), [(2880, None), (2880 * 7, 64 * 1024), (4094, 64 * 1024), (3, 8192)])
def test_read_direct_converts_big_endian_values_as_it_copies(tmp_path, monkeypatch, offset, stage):
    if stage is not None:  # several staging buffers' worth, with values split across their ends
        monkeypatch.setattr(DirectFile, "STAGE", stage)
        monkeypatch.setattr(DirectFile, "_stages", StagingPool())
    values = np.random.default_rng(offset).normal(size=(37, 1001)).astype(np.float32)
    values[0, :3] = [np.nan, np.inf, -0.0]
    path = tmp_path / "in.fits"
    path.write_bytes(b"h" * offset + values.astype(">f4").tobytes() + b"t" * 100)
    out = np.zeros(values.shape, dtype=np.float32)
    read_direct(path, offset, out, file_dtype=">f4")
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, values)
    assert np.signbit(out[0, 2])
    rows = np.zeros((5, 1001), dtype=np.float32)
    read_direct(path, offset + 30 * 1001 * 4, rows, file_dtype=np.dtype(">f4"))
    np.testing.assert_array_equal(rows, values[30:35])


def test_read_direct_refuses_a_file_type_other_than_the_arrays(tmp_path):
    path = tmp_path / "in.bin"
    path.write_bytes(bytes(1000))
    with pytest.raises(ValueError, match="same type"):
        read_direct(path, 0, np.zeros(10, dtype=np.float32), file_dtype=">i4")
    with pytest.raises(ValueError, match="same type"):
        read_direct(path, 0, bytearray(40), file_dtype=">f4")
    with pytest.raises(ValueError, match="C-contiguous"):
        read_direct(path, 0, np.zeros((10, 10), dtype=np.float32)[:, ::2], file_dtype=">f4")


def test_read_direct_of_values_from_a_file_that_ends_early(tmp_path):
    path = tmp_path / "in.bin"
    path.write_bytes(np.arange(10, dtype=">f4").tobytes()[:-2])  # the last value cut in half
    out = np.zeros(10, dtype=np.float32)
    with pytest.raises(OSError, match="before the end of its data") as info:
        read_direct(path, 0, out, file_dtype=">f4")
    assert info.value.errno == errno.EIO
