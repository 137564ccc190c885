"""Artifacts: the named results stages hand to each other.

A stage ``put``\\ s what it provides (``"median"``, ``"crmask"``...) into the run
context's :class:`ArtifactStore` and ``get``\\ s what it requires. With
``in_memory=True`` artifacts live only in memory. Otherwise each one is written
atomically to a file in the output directory and listed in a manifest
(``<root>_artifacts.json``) together with a fingerprint of the inputs, so a later
run on the same inputs can start at a later stage (``--stages cr,final``) and
read what an earlier run left on disk.

Persisted types: a NumPy array (a FITS image), a mapping of names to arrays (a
multi-extension FITS file), and JSON values (dict, list, str, numbers). Other
objects are kept in memory only and cannot be resumed from.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ProcessingError
from .fileio import write_fits_atomic, write_text_atomic

__all__ = ["ArtifactStore", "fingerprint_inputs"]

log = logging.getLogger("drizrun.artifacts")

_MANIFEST_VERSION = 1


def fingerprint_inputs(paths: Sequence[Path]) -> str:
    """Return a short digest identifying a set of input files as they are now.

    Parameters
    ----------
    paths : sequence of Path
        The input files.

    Returns
    -------
    str
        Hex digest over each file's absolute path, size and modification time.
    """
    digest = hashlib.sha256()
    for path in paths:
        stat = Path(path).stat()
        digest.update(f"{Path(path).resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


class ArtifactStore:
    """Named artifacts of one run, in memory or on disk.

    Parameters
    ----------
    directory : Path
        Where persisted artifacts and the manifest are written.
    root : str
        Output root name; files are named ``<root>_<artifact>.<ext>`` by default.
    in_memory : bool
        Keep everything in memory and write nothing.
    fingerprint : str
        Identifies the inputs; artifacts on disk from other inputs are ignored.
    """

    def __init__(self, *, directory: Path, root: str, in_memory: bool, fingerprint: str) -> None:
        self.directory = Path(directory)
        self.root = root
        self.in_memory = in_memory
        self.fingerprint = fingerprint
        self._memory: dict[str, Any] = {}
        self._on_disk: dict[str, dict[str, Any]] = {}
        if not in_memory:
            self._on_disk = self._read_manifest()

    @property
    def manifest_path(self) -> Path:
        """Path of the manifest file listing the persisted artifacts."""
        return self.directory / f"{self.root}_artifacts.json"

    def put(
        self,
        name: str,
        value: Any,
        *,
        stage: str,
        path: str | os.PathLike[str] | None = None,
        persist: bool = True,
        files: Sequence[str | os.PathLike[str]] = (),
    ) -> None:
        """Store an artifact.

        Parameters
        ----------
        name : str
            Artifact name (one of the stage's ``provides``).
        value : object
            The artifact.
        stage : str
            The stage producing it (recorded in the manifest).
        path : path-like, optional
            File name to persist it under (default ``<root>_<name>.fits`` or
            ``.json``); relative names are taken in the output directory.
        persist : bool
            Write it to disk (when not in memory). ``False`` keeps it in memory
            only, for artifacts that are cheap to recompute or already saved
            as a product.
        files : sequence of path-like
            Intermediate files the stage wrote itself that belong to this
            artifact (for example the per-chip images a JSON artifact
            lists): recorded in the manifest and removed with it by
            :meth:`remove_persisted`.
        """
        codec = _codec_for(value) if persist else None
        if self.in_memory or codec is None:
            if codec is None and persist and not self.in_memory:
                log.debug("artifact %r is a %s: kept in memory only", name, type(value).__name__)
            self._memory[name] = value
            return
        target = Path(path) if path is not None else Path(f"{self.root}_{name}.{_EXTENSION[codec]}")
        if not target.is_absolute():
            target = self.directory / target
        _WRITERS[codec](target, value)
        self._memory.pop(name, None)
        entry: dict[str, Any] = {"path": os.path.relpath(target, self.directory), "codec": codec, "stage": stage}
        if files:
            entry["files"] = [os.path.relpath(self.directory / Path(f), self.directory) for f in files]
        self._on_disk[name] = entry
        self._write_manifest()

    def has(self, name: str) -> bool:
        """Whether the artifact is available (in memory, or on disk for these inputs)."""
        if name in self._memory:
            return True
        entry = self._on_disk.get(name)
        if entry is None:
            return False
        return all((self.directory / f).is_file() for f in (entry["path"], *entry.get("files", ())))

    def get(self, name: str) -> Any:
        """Return an artifact.

        Raises
        ------
        ProcessingError
            If it is missing or its file cannot be read.
        """
        if name in self._memory:
            return self._memory[name]
        entry = self._on_disk.get(name)
        if entry is None:
            raise ProcessingError(f"artifact {name!r} is not available; run the stage that provides it first")
        target = self.directory / entry["path"]
        try:
            return _READERS[entry["codec"]](target)
        except (OSError, ValueError, KeyError) as exc:
            raise ProcessingError(f"cannot read artifact {name!r} from {target}: {exc}") from exc

    def release(self, name: str) -> bool:
        """Let go of an artifact held in memory (nothing happens to one on disk).

        Returns
        -------
        bool
            Whether an artifact was held in memory under ``name``.
        """
        return self._memory.pop(name, None) is not None

    def names(self) -> list[str]:
        """Names of every available artifact."""
        return sorted(set(self._memory) | {n for n in self._on_disk if self.has(n)})

    def persisted_paths(self) -> list[Path]:
        """Files holding persisted artifacts, plus the manifest if it exists."""
        paths = []
        for entry in self._on_disk.values():
            paths.extend(self.directory / f for f in entry.get("files", ()))
            paths.append(self.directory / entry["path"])
        if self.manifest_path.exists():
            paths.append(self.manifest_path)
        return paths

    def remove_persisted(self) -> list[Path]:
        """Delete every persisted artifact and the manifest (``--clean``).

        Returns
        -------
        list of Path
            The files removed.
        """
        removed = []
        for target in self.persisted_paths():
            try:
                target.unlink()
                removed.append(target)
            except FileNotFoundError:
                pass
        self._on_disk.clear()
        return removed

    def _read_manifest(self) -> dict[str, dict[str, Any]]:
        try:
            content = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable artifact manifest %s: %s", self.manifest_path, exc)
            return {}
        if content.get("version") != _MANIFEST_VERSION or content.get("fingerprint") != self.fingerprint:
            log.info("artifacts in %s were made from other inputs; not reusing them", self.manifest_path)
            return {}
        artifacts = content.get("artifacts", {})
        return artifacts if isinstance(artifacts, dict) else {}

    def _write_manifest(self) -> None:
        content = {"version": _MANIFEST_VERSION, "fingerprint": self.fingerprint, "artifacts": self._on_disk}
        write_text_atomic(self.manifest_path, json.dumps(content, indent=2, sort_keys=True) + "\n")


def _codec_for(value: Any) -> str | None:
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return "fits-array"
    if (
        isinstance(value, Mapping)
        and value
        and all(isinstance(k, str) and isinstance(v, np.ndarray) for k, v in value.items())
    ):
        return "fits-arrays"
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return None
    return "json"


def _write_array(path: Path, value: np.ndarray) -> None:
    from astropy.io import fits

    write_fits_atomic(path, fits.HDUList([fits.PrimaryHDU(data=_fits_safe(value))]))


def _write_arrays(path: Path, value: Mapping[str, np.ndarray]) -> None:
    from astropy.io import fits

    hdus: list[Any] = [fits.PrimaryHDU()]
    for key, array in value.items():
        hdu = fits.ImageHDU(data=_fits_safe(array), name=key.upper())
        hdu.header["DRZKEY"] = (key, "artifact key (case preserved)")
        hdus.append(hdu)
    write_fits_atomic(path, fits.HDUList(hdus))


def _fits_safe(array: np.ndarray) -> np.ndarray:
    return array.astype(np.uint8) if array.dtype == bool else array


def _write_json(path: Path, value: Any) -> None:
    write_text_atomic(path, json.dumps(value, indent=2, sort_keys=True) + "\n")


def _read_array(path: Path) -> np.ndarray:
    from astropy.io import fits

    with fits.open(path, memmap=False) as hdul:
        return np.asarray(hdul[0].data)


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    from astropy.io import fits

    with fits.open(path, memmap=False) as hdul:
        return {hdu.header.get("DRZKEY", hdu.name): np.asarray(hdu.data) for hdu in hdul[1:]}


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


_EXTENSION = {"fits-array": "fits", "fits-arrays": "fits", "json": "json"}
_WRITERS: dict[str, Callable[[Path, Any], None]] = {
    "fits-array": _write_array,
    "fits-arrays": _write_arrays,
    "json": _write_json,
}
_READERS: dict[str, Callable[[Path], Any]] = {
    "fits-array": _read_array,
    "fits-arrays": _read_arrays,
    "json": _read_json,
}
