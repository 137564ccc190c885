"""Intermediate images on disk: written and read back around the page cache, exactly."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from astropy.io import fits

from drizrun.core.errors import ProcessingError
from drizrun.plugins.stages.images import StoredImage, keep_image, load_image


def _ctx(tmp_path, in_memory=False):
    return SimpleNamespace(config=SimpleNamespace(output_dir=tmp_path, in_memory=in_memory))


@pytest.mark.parametrize("dtype", [np.float32, np.int16, np.int32, np.float64, np.uint8, bool])
def test_an_image_kept_on_disk_reads_back_whole_and_by_rows(tmp_path, dtype):
    rng = np.random.default_rng(1)
    data = (rng.normal(size=(37, 29)) * 1000).astype(dtype)
    if dtype is np.float32:
        data[3, 4] = np.nan
    ctx = _ctx(tmp_path)
    header = fits.Header({"BUNIT": "ELECTRONS/S"})
    name = keep_image(ctx, "x_single_sci.fits", data, header)
    assert name == "x_single_sci.fits"
    image = load_image(ctx, name)
    assert isinstance(image, StoredImage)
    expected = data.astype(np.uint8) if dtype is bool else data
    assert image.shape == (37, 29) and image.ndim == 2 and len(image) == 37 and np.shape(image) == (37, 29)
    whole = np.asarray(image)
    assert whole.dtype == expected.dtype.newbyteorder("=") and whole.dtype.isnative
    np.testing.assert_array_equal(whole, expected)
    np.testing.assert_array_equal(image[5:17], expected[5:17])
    np.testing.assert_array_equal(image[30:100], expected[30:])
    np.testing.assert_array_equal(image[:, 3], expected[:, 3])
    np.testing.assert_array_equal(np.asarray(image, dtype=np.float64), expected.astype(np.float64))
    out = np.empty(expected.shape, dtype=whole.dtype)
    assert image.read_into(out) is out
    np.testing.assert_array_equal(out, expected)
    # the same bytes as the ordinary writer, readable by astropy with its checksums
    with fits.open(tmp_path / name, checksum=True) as hdul:
        np.testing.assert_array_equal(hdul[0].data, expected)
        assert hdul[0].header["BUNIT"] == "ELECTRONS/S"


def test_in_memory_images_are_the_arrays_themselves(tmp_path):
    data = np.ones((4, 5), dtype=np.float32)
    ctx = _ctx(tmp_path, in_memory=True)
    assert load_image(ctx, keep_image(ctx, "x.fits", data)) is data
    assert not list(tmp_path.iterdir())


def test_truncated_or_missing_intermediate_is_a_processing_error(tmp_path):
    ctx = _ctx(tmp_path)
    name = keep_image(ctx, "t.fits", np.zeros((100, 100), dtype=np.float32))
    path = tmp_path / name
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size - 10_000)
    with pytest.raises(ProcessingError, match="t.fits"):
        np.asarray(load_image(ctx, name))
    with pytest.raises(ProcessingError, match="cannot read intermediate image .*gone.fits"):
        load_image(ctx, "gone.fits")


def test_read_into_checks_its_array(tmp_path):
    ctx = _ctx(tmp_path)
    image = load_image(ctx, keep_image(ctx, "r.fits", np.zeros((6, 7), dtype=np.float32)))
    with pytest.raises(ValueError, match="C-contiguous float32 array of shape"):
        image.read_into(np.empty((7, 6), dtype=np.float32))
