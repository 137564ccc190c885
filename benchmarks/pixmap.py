"""Pixel-map benchmark: astropy's exact path, drizzle 3.0's calc_pixmap and drizrun, side by side.

One 4096x2048 ACS/WFC chip with its real distortion (SIP order 5, D2IM and
NPOL lookup tables, from ``drizzlepac/sample_flc_header.fits`` in the shared
HST data) is mapped onto an undistorted TAN frame rotated by 2 degrees, the
way the final drizzle maps it. Each method runs ``--repeat`` times in turn in
this one process; the script prints median times, their ratios, and the
largest difference of each map from astropy's.

Usage::

    python benchmarks/pixmap.py [--data ../shared/data/hst] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

import drizrun
from drizrun.kernels import kernel_backend

SHAPE = (2048, 4096)


def output_frame(chip: WCS) -> WCS:
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = list(chip.wcs.crval)
    w.wcs.crpix = [2150.0, 2150.0]
    s = 0.05 / 3600
    c, n = np.cos(np.radians(2.0)), np.sin(np.radians(2.0))
    w.wcs.cd = s * np.array([[-c, n], [n, c]])
    w.wcs.set()
    w.pixel_shape = (4300, 4300)
    return w


def astropy_exact(chip: WCS, out: WCS) -> np.ndarray:
    y, x = np.indices(SHAPE, dtype=np.float64)
    ra, dec = chip.all_pix2world(x, y, 0)
    return np.dstack(out.wcs_world2pix(ra, dec, 0))


def main() -> None:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=here.parent.parent / "shared" / "data" / "hst")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hdul = fits.open(args.data / "drizzlepac" / "sample_flc_header.fits")
        chip = WCS(hdul[("SCI", 1)].header, fobj=hdul)
    chip.pixel_shape = (SHAPE[1], SHAPE[0])
    out = output_frame(chip)

    methods = {"astropy all_pix2world + wcs_world2pix": lambda: astropy_exact(chip, out)}
    try:
        from drizzle.utils import calc_pixmap as drizzle_calc_pixmap

        methods["drizzle 3.0 calc_pixmap"] = lambda: drizzle_calc_pixmap(chip, out, shape=SHAPE)
    except ImportError:
        print("drizzle is not installed: skipping drizzle.utils.calc_pixmap")
    methods[f"drizrun calc_pixmap ({kernel_backend('_pixmap')})"] = (
        lambda: drizrun.calc_pixmap(chip, out, shape=SHAPE))

    times: dict[str, list[float]] = {name: [] for name in methods}
    maps: dict[str, np.ndarray] = {}
    for _ in range(args.repeat):
        for name, fn in methods.items():
            t0 = time.perf_counter()
            maps[name] = fn()
            times[name].append(time.perf_counter() - t0)

    names = list(methods)
    ref = maps[names[0]]
    base = statistics.median(times[names[0]])
    print(f"4096x2048 ACS/WFC chip (SIP order 5 + D2IM + NPOL) -> TAN frame rotated 2 deg, "
          f"median of {args.repeat}")
    for name in names:
        med = statistics.median(times[name])
        err = float(np.nanmax(np.abs(maps[name] - ref)))
        print(f"  {name:42s} {med:8.3f} s   x{base / med:6.1f} vs astropy   max |diff| {err:.1e} px")
    last = names[-1]
    if len(names) == 3:
        print(f"  drizrun vs drizzle 3.0: x{statistics.median(times[names[1]]) / statistics.median(times[last]):.1f}")


if __name__ == "__main__":
    main()
