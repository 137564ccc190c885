"""Helpers for the geometry tests: kernel backends, reference maps, WCS builders."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS, DistortionLookupTable, Sip

import drizrun.kernels as kernels_pkg

KERNEL_SOURCE = Path(kernels_pkg.__file__).with_name("_pixmap.py")


def source_module() -> ModuleType:
    """The pure-Python source of the pixel-map kernel, whatever the build."""
    spec = importlib.util.spec_from_file_location("drizrun_pixmap_source", KERNEL_SOURCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def python_kernel() -> ModuleType:
    return source_module()


@pytest.fixture(scope="session")
def compiled_kernel() -> ModuleType:
    module = kernels_pkg.kernel_module("_pixmap")
    if kernels_pkg.kernel_backend("_pixmap") != "pythran":
        pytest.skip("the pixel-map kernel is not compiled in this build")
    return module


def reference_map(in_wcs, out_wcs, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """astropy's exact path at 0-based pixel positions (inverse distortion to 1e-11 px)."""
    ra, dec = in_wcs.all_pix2world(xs, ys, 0)
    if any(getattr(out_wcs, n, None) is not None for n in ("sip", "det2im1", "det2im2", "cpdis1", "cpdis2")):
        px, py = out_wcs.all_world2pix(ra, dec, 0, tolerance=1e-11, maxiter=500, quiet=True)
    else:
        px, py = out_wcs.wcs_world2pix(ra, dec, 0)
    return np.stack([px, py], axis=-1)


def grid_positions(shape: tuple[int, int], grid: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    ny, nx = shape
    x0, y0, sx, sy = grid
    return np.meshgrid(x0 + sx * np.arange(nx), y0 + sy * np.arange(ny))


def rotated_frame(chip_wcs, *, rot: float = 33.0, scale: float | None = None,
                  offset: tuple[float, float] = (0.004, -0.003), size: int = 5000) -> WCS:
    """An undistorted TAN frame near a chip, rotated by `rot` degrees."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [chip_wcs.wcs.crval[0] + offset[0], chip_wcs.wcs.crval[1] + offset[1]]
    w.wcs.crpix = [size / 2 + 0.5, size / 2 - 17.25]
    if scale is None:
        scale = np.sqrt(abs(np.linalg.det(chip_wcs.pixel_scale_matrix))) * 3600
    s = scale / 3600.0
    c, n = np.cos(np.radians(rot)), np.sin(np.radians(rot))
    w.wcs.cd = s * np.array([[-c, n], [n, c]])
    w.wcs.set()
    w.pixel_shape = (size, size)
    return w


def synthetic_chip(seed: int = 1, *, shape: tuple[int, int] = (300, 400), one_row_d2im: bool = True) -> WCS:
    """A self-made distorted chip: SIP order 3, D2IM and CPDIS tables with unusual conventions."""
    rng = np.random.default_rng(seed)
    ny, nx = shape
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN-SIP", "DEC--TAN-SIP"]
    w.wcs.crval = [210.25, -33.5]
    w.wcs.crpix = [nx / 2 + 0.3, ny / 2 - 0.6]
    s = 0.1 / 3600
    w.wcs.cd = s * np.array([[-0.98, 0.21], [0.19, 0.97]])
    a = np.zeros((4, 4))
    b = np.zeros((4, 4))
    a[2, 0], a[1, 1], a[0, 2] = 2e-5, -1e-5, 3e-6
    b[2, 0], b[1, 1], b[0, 2] = -4e-6, 1.5e-5, -2e-5
    a[3, 0], b[0, 3] = 1e-9, -2e-9
    w.sip = Sip(a, b, None, None, w.wcs.crpix)
    d2 = rng.normal(0, 0.05, (1 if one_row_d2im else 9, nx // 8 + 1)).astype(np.float32)
    w.det2im1 = DistortionLookupTable(d2, (1.5, 1.0), (0.0, 0.0), (8.0, 8.0))
    w.det2im2 = DistortionLookupTable(rng.normal(0, 0.03, (ny // 16 + 2, 7)).astype(np.float32),
                                      (2.0, 0.0), (3.0, -5.0), (70.0, 16.0))
    for name in ("cpdis1", "cpdis2"):
        tab = rng.normal(0, 0.2, (ny // 25 + 2, nx // 25 + 2)).astype(np.float32)
        setattr(w, name, DistortionLookupTable(tab, (1.0, 1.0), (0.0, 0.0), (25.0, 25.0)))
    w.wcs.set()
    w.pixel_shape = (nx, ny)
    return w


def open_wcs(path: Path, ext) -> WCS:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hdul = fits.open(path)
        return WCS(hdul[ext].header, fobj=hdul)


def stwcs_chip_with_reference_files(directory: Path) -> WCS:
    """j94f05bgq SCI,2 (CCDCHIP 1, the chip with SIP) with the D2IM and NPOL tables
    built from the reference files named in its primary header.

    The file itself carries no lookup tables, only their file names; they are
    attached the way the distortion paper lays them out (D2IMARR / WCSDVARR
    extensions, ``D2IMDISj``/``CPDISj`` and ``D2IMj.*``/``DPj.*`` keywords),
    each table copied unchanged with its own CRPIX/CRVAL/CDELT.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        src = fits.open(directory / "j94f05bgq_flt.fits.gz")
        sci = src[("SCI", 2)].header.copy()
        chip = sci["CCDCHIP"]
        tables = []
        with fits.open(directory / "new_wfc_d2i.fits") as d2i:
            dx = next(h for h in d2i[1:] if h.name == "DX" and h.header["CCDCHIP"] == chip)
            tables.append(("D2IMARR", 1, dx.header.copy(), np.array(dx.data, dtype=np.float32)))
        with fits.open(directory / "qbu16424j_npl.fits") as npl:
            for axis, name in ((1, "DX"), (2, "DY")):
                h = next(h for h in npl[1:] if h.name == name and h.header["CCDCHIP"] == chip)
                tables.append(("WCSDVARR", axis, h.header.copy(), np.array(h.data, dtype=np.float32)))
        hdus = [fits.PrimaryHDU(header=src[0].header), fits.ImageHDU(header=sci, name="SCI")]
        for extname, ver, theader, tdata in tables:
            hdr = fits.Header()
            for key in ("CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CDELT1", "CDELT2"):
                if key in theader:
                    hdr[key] = theader[key]
            hdus.append(fits.ImageHDU(data=tdata, header=hdr, name=extname, ver=ver))
        hdul = fits.HDUList(hdus)
        hdr = hdul[1].header
        hdr["D2IMDIS1"] = "Lookup"
        hdr["D2IM1.EXTVER"] = 1
        hdr["D2IM1.NAXES"] = 2
        hdr["D2IM1.AXIS.1"] = 1
        hdr["D2IM1.AXIS.2"] = 2
        for axis in (1, 2):
            hdr[f"CPDIS{axis}"] = "Lookup"
            hdr[f"DP{axis}.EXTVER"] = axis
            hdr[f"DP{axis}.NAXES"] = 2
            hdr[f"DP{axis}.AXIS.1"] = 1
            hdr[f"DP{axis}.AXIS.2"] = 2
        return WCS(hdr, fobj=hdul)
