"""Artifact store and atomic writes: round trips, fingerprints, no partial files."""

from __future__ import annotations

import errno

import numpy as np
import pytest

from drizrun.core.artifacts import ArtifactStore
from drizrun.core.errors import ProcessingError
from drizrun.core.fileio import atomic_write


def _store(tmp_path, fingerprint="abc", in_memory=False):
    return ArtifactStore(directory=tmp_path, root="visit", in_memory=in_memory, fingerprint=fingerprint)


def test_values_round_trip_through_disk(tmp_path):
    store = _store(tmp_path)
    image = np.arange(12, dtype=">f4").reshape(3, 4)
    masks = {"sci1": np.ones((2, 2), np.uint8), "Sci2": np.zeros((2, 3), np.int16)}
    store.put("median", image, stage="median")
    store.put("masks", masks, stage="cr")
    store.put("sky", {"e0.fits[SCI,1]": 12.5}, stage="sky")
    store.put("flags", np.array([[True, False]]), stage="cr", path="custom_name.fits")
    again = _store(tmp_path)
    assert np.array_equal(again.get("median"), image)
    loaded = again.get("masks")
    assert list(loaded) == ["sci1", "Sci2"] and all(np.array_equal(loaded[k], masks[k]) for k in masks)
    assert again.get("sky") == {"e0.fits[SCI,1]": 12.5}
    assert again.get("flags").tolist() == [[1, 0]]
    assert (tmp_path / "custom_name.fits").is_file()
    assert again.names() == ["flags", "masks", "median", "sky"]


def test_other_fingerprint_ignores_the_manifest(tmp_path):
    _store(tmp_path).put("median", np.zeros(3), stage="median")
    assert not _store(tmp_path, fingerprint="other").has("median")


def test_deleted_artifact_file_is_not_available(tmp_path):
    store = _store(tmp_path)
    store.put("median", np.zeros(3), stage="median")
    (tmp_path / "visit_median.fits").unlink()
    assert not _store(tmp_path).has("median")


def test_in_memory_store_writes_nothing(tmp_path):
    store = _store(tmp_path, in_memory=True)
    store.put("median", np.zeros(3), stage="median")
    assert store.has("median") and list(tmp_path.iterdir()) == []


def test_objects_without_codec_stay_in_memory(tmp_path):
    store = _store(tmp_path)
    marker = object()
    store.put("thing", marker, stage="x")
    assert store.get("thing") is marker
    assert not (tmp_path / "visit_artifacts.json").exists()


def test_missing_artifact_is_a_clear_error(tmp_path):
    with pytest.raises(ProcessingError, match="artifact 'median' is not available"):
        _store(tmp_path).get("median")


def test_remove_persisted_deletes_files_and_manifest(tmp_path):
    store = _store(tmp_path)
    store.put("median", np.zeros(3), stage="median")
    removed = store.remove_persisted()
    assert {p.name for p in removed} == {"visit_median.fits", "visit_artifacts.json"}
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_leaves_old_file_and_no_temporary_on_failure(tmp_path):
    target = tmp_path / "product.fits"
    target.write_bytes(b"old")

    def failing(tmp):
        tmp.write_bytes(b"half")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        atomic_write(target, failing)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["product.fits"]


def test_disk_full_is_a_processing_error_naming_the_file(tmp_path):
    def full(tmp):
        tmp.write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(ProcessingError, match=r"disk full while writing .*new.fits; nothing was written"):
        atomic_write(tmp_path / "new.fits", full)
    assert list(tmp_path.iterdir()) == []


def test_release_lets_go_of_memory_only(tmp_path):
    store = _store(tmp_path, in_memory=True)
    store.put("single", {"a": np.ones(3)}, stage="sep")
    assert store.release("single") and not store.has("single") and not store.release("single")
    (tmp_path / "d").mkdir()
    on_disk = _store(tmp_path / "d")
    on_disk.put("median", np.ones((2, 2), dtype=np.float32), stage="median")
    assert not on_disk.release("median") and on_disk.has("median")
