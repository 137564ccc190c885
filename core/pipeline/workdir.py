"""Processing in a working directory (runastrodriz's NEWPATH).

The inputs are copied into ``NEWPATH/<root>/``, the runs happen there, their
products are moved back one file at a time, each move atomic, and the
directory is removed whatever happened.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from ..errors import ProcessingError, UsageError
from ..fileio import atomic_write

__all__ = ["WorkDir", "move_atomic"]

log = logging.getLogger("drizrun.pipeline")


def move_atomic(source: Path, destination: Path) -> Path:
    """Move a file so that ``destination`` is at any time absent, old, or complete.

    Within one file system this is :func:`os.replace`; across file systems the
    file is copied to a temporary name beside ``destination``, renamed over it,
    and only then is ``source`` removed.

    Parameters
    ----------
    source : Path
        The file to move.
    destination : Path
        Its new path (replaced if it exists).

    Returns
    -------
    Path
        ``destination``.

    Raises
    ------
    ProcessingError
        When the file cannot be moved; ``destination`` is then unchanged.
    """
    try:
        os.replace(source, destination)
        return destination
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise ProcessingError(f"cannot move {source} to {destination}: {exc.strerror or exc}") from exc
    atomic_write(destination, lambda tmp: shutil.copy2(source, tmp))
    source.unlink()
    return destination


class WorkDir:
    """``NEWPATH/<root>/`` with copies of the inputs, removed on exit.

    Parameters
    ----------
    newpath : path-like
        Parent directory (created if needed).
    root : str
        Name of the working directory inside it.
    files : sequence of Path
        Files to copy there.
    """

    def __init__(self, newpath: str | os.PathLike[str], root: str, files: Sequence[Path]) -> None:
        self.path = Path(newpath).absolute() / root
        self.files = tuple(files)
        self._created = False

    def __enter__(self) -> WorkDir:
        if self.path.exists():
            raise UsageError(f"working directory {self.path} already exists; remove it or choose another NEWPATH")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.mkdir()
        except OSError as exc:
            raise UsageError(f"cannot create working directory {self.path}: {exc.strerror or exc}") from exc
        self._created = True
        log.info("working in %s", self.path)
        try:
            for file in self.files:
                try:
                    shutil.copy2(file, self.path / file.name)
                except OSError as exc:
                    raise ProcessingError(f"cannot copy {file} to {self.path}: {exc.strerror or exc}") from exc
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._created:
            return
        shutil.rmtree(self.path, ignore_errors=True)
        if self.path.exists():
            log.warning("could not remove the working directory %s", self.path)
        else:
            log.info("removed %s", self.path)

    def local(self, paths: Sequence[Path]) -> tuple[Path, ...]:
        """The copies of ``paths`` in the working directory."""
        return tuple(self.path / path.name for path in paths)

    def bring_back(self, products: Sequence[Path], directory: Path) -> tuple[Path, ...]:
        """Move products made here into ``directory``, each atomically.

        Parameters
        ----------
        products : sequence of Path
            Files written in the working directory.
        directory : Path
            Where they go.

        Returns
        -------
        tuple of Path
            Their new paths.
        """
        moved = []
        for product in products:
            target = move_atomic(product, directory / product.name)
            log.info("moved %s to %s", product.name, directory)
            moved.append(target)
        return tuple(moved)
