"""pytest fixtures for plugin authors (and drizrun's own tests).

Opt in from a test module or ``conftest.py``::

    pytest_plugins = ["drizrun.core.testing"]

    def test_my_stage(make_session, make_exposure, tmp_path):
        session = make_session(plugins=["drizrun_mine.plugin"])
        files = [make_exposure(tmp_path / f"e{i}_flt.fits", seed=i) for i in range(2)]
        result = drizrun.run(files, stages=["mine"], session=session, output=tmp_path / "out")

Sessions made here never load plugins from entry points, so tests see exactly
the plugins they name, whatever else is installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .session import Session

__all__ = ["default_sigint", "make_exposure", "make_session", "write_exposure"]


def write_exposure(
    path: Path,
    *,
    shape: tuple[int, int] = (64, 48),
    seed: int = 0,
    ra: float = 150.1,
    dec: float = 2.2,
    scale_arcsec: float = 0.05,
    exptime: float = 100.0,
    instrument: str = "TESTCAM",
    detector: str = "CCD",
    nchips: int = 1,
    header: dict[str, Any] | None = None,
) -> Path:
    """Write a small, valid HST-like exposure (SCI/ERR/DQ per chip, TAN WCS).

    Parameters
    ----------
    path : Path
        Destination file.
    shape : tuple of int
        ``(ny, nx)`` of each chip.
    seed : int
        Seed of the random sky noise in SCI.
    ra, dec : float
        Reference sky position in degrees (CRVAL).
    scale_arcsec : float
        Pixel scale.
    exptime : float
        EXPTIME in seconds.
    instrument, detector : str
        INSTRUME and DETECTOR.
    nchips : int
        Number of SCI/ERR/DQ triplets.
    header : dict, optional
        Extra primary-header cards.

    Returns
    -------
    Path
        ``path``.
    """
    from astropy.io import fits

    rng = np.random.default_rng(seed)
    primary = fits.PrimaryHDU()
    primary.header.update(
        {
            "TELESCOP": "HST",
            "INSTRUME": instrument,
            "DETECTOR": detector,
            "EXPTIME": exptime,
            "ROOTNAME": path.name.split("_")[0],
        }
    )
    primary.header.update(header or {})
    hdus: list[Any] = [primary]
    ny, nx = shape
    for chip in range(1, nchips + 1):
        sci = (rng.normal(100.0, 5.0, size=shape)).astype(np.float32)
        wcs_cards = {
            "CTYPE1": "RA---TAN",
            "CTYPE2": "DEC--TAN",
            "CRPIX1": nx / 2 + 0.5,
            "CRPIX2": ny / 2 + 0.5 + (chip - 1) * ny,
            "CRVAL1": ra,
            "CRVAL2": dec,
            "CD1_1": -scale_arcsec / 3600,
            "CD1_2": 0.0,
            "CD2_1": 0.0,
            "CD2_2": scale_arcsec / 3600,
            "BUNIT": "ELECTRONS",
            "CCDCHIP": chip,
        }
        for extname, data in (
            ("SCI", sci),
            ("ERR", np.full(shape, 5.0, np.float32)),
            ("DQ", np.zeros(shape, np.int16)),
        ):
            hdu = fits.ImageHDU(data=data, name=extname, ver=chip)
            hdu.header.update(wcs_cards)
            hdus.append(hdu)
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


@pytest.fixture
def make_session() -> Iterator[Callable[..., Session]]:
    """Factory fixture: ``make_session(plugins=(...), block=(...))`` → :class:`Session`.

    Entry-point plugins are never loaded, so installed third-party plugins do
    not leak into tests.
    """

    def factory(plugins: Iterable[str | object] = (), block: Iterable[str] = (), strict: bool = True) -> Session:
        return Session.create(autoload=False, plugins=plugins, block=block, strict=strict)

    yield factory


@pytest.fixture
def make_exposure() -> Callable[..., Path]:
    """Factory fixture wrapping :func:`write_exposure`."""
    return write_exposure


def default_sigint() -> None:
    """Give SIGINT its default action again (a ``preexec_fn`` for subprocesses in tests).

    A test run started as a background job inherits SIGINT ignored, and an
    ignored SIGINT stays ignored across ``exec``, so a child that a test means
    to interrupt would never see it; with this the child gets Python's usual
    ``KeyboardInterrupt``.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)

