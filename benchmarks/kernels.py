"""Drizzle and blot kernels of drizrun against drizzle 3.0, side by side in one process.

One ACS/WFC-sized chip (4096 x 2048 float32) with a 4th-order SIP distortion
is drizzled onto a 4300 x 4300 TAN grid rotated by 2 degrees, with every
drizzle kernel, and the drizzled frame is blotted back with every
interpolant. Each case runs ``--repeat`` times alternating between the two
implementations; the script prints the median time of each and the ratio
(drizzle 3.0 time / drizrun time: above 1 means drizrun is faster).

Usage::

    nice python benchmarks/kernels.py [--repeat 5] [--cpu 0] [--small]

Output arrays are allocated and written once before each timed call, for
drizzle 3.0 and drizrun alike, so the times measure the kernels rather than
the first-touch page faults of fresh output memory. ``--cpu`` pins the
process to one core (the comparison is single-threaded on both sides);
``--small`` uses a 1024 x 512 chip for a quick check.
Requires drizzle==3.0.0 (``pip install drizrun[test]``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from functools import partial

import numpy as np
from astropy.wcs import WCS

try:
    from drizzle.resample import Drizzle, blot_image
except ImportError:  # pragma: no cover - benchmark dependency
    sys.exit("benchmarks/kernels.py needs drizzle 3.0: pip install drizzle==3.0.0")

from drizrun import kernels

DRIZZLE_CASES = [
    ("square", 1.0),
    ("square", 0.8),
    ("turbo", 1.0),
    ("point", 1.0),
    ("gaussian", 1.0),
    ("lanczos2", 1.0),
    ("lanczos3", 1.0),
]
BLOT_CASES = ["nearest", "linear", "poly3", "poly5", "lanczos3", "lanczos5"]


def chip_wcs(nx: int, ny: int) -> WCS:
    """A TAN-SIP WCS with ACS/WFC-like pixel scale and distortion amplitudes."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN-SIP", "DEC--TAN-SIP"]
    w.wcs.crpix = [nx / 2 + 0.5, ny / 2 + 0.5]
    w.wcs.crval = [150.0, 2.2]
    scale = 0.05 / 3600.0
    w.wcs.cd = np.array([[-scale, 0.1 * scale], [0.05 * scale, scale * 0.98]])
    from astropy.wcs import Sip

    a = np.zeros((5, 5))
    b = np.zeros((5, 5))
    # Amplitudes of the ACS/WFC IDC solution (tens of pixels at the chip corners).
    a[2, 0], a[1, 1], a[0, 2] = 8.6e-6, -7.3e-6, 2.0e-6
    b[2, 0], b[1, 1], b[0, 2] = -3.0e-6, 6.1e-6, -5.2e-6
    a[3, 0], a[1, 2], b[2, 1], b[0, 3] = 1.1e-10, -4.0e-10, 2.5e-10, 6.0e-11
    a[4, 0], a[2, 2], b[0, 4], b[2, 2] = 1.0e-14, 3.0e-14, -2.0e-14, 1.5e-14
    w.sip = Sip(a, b, None, None, w.wcs.crpix)
    return w


def output_wcs(n: int, ref: WCS, rotation: float = 2.0) -> WCS:
    """A TAN grid of n x n pixels with the chip's mean pixel scale, rotated by ``rotation`` degrees."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crpix = [n / 2 + 0.5, n / 2 + 0.5]
    w.wcs.crval = ref.wcs.crval
    scale = np.sqrt(abs(np.linalg.det(ref.wcs.cd)))
    rot = np.deg2rad(rotation)
    w.wcs.cd = scale * np.array([[-np.cos(rot), np.sin(rot)], [np.sin(rot), np.cos(rot)]])
    return w


def output_size(nx: int, ny: int, rotation: float, least: int) -> int:
    """Side of a square output grid that holds the chip rotated by ``rotation`` degrees (at least ``least``)."""
    rot = np.deg2rad(rotation)
    span = max(nx * abs(np.cos(rot)) + ny * abs(np.sin(rot)), nx * abs(np.sin(rot)) + ny * abs(np.cos(rot)))
    return max(least, int(span) + 100)


def pixel_map(nx: int, ny: int, n_out: int, rotation: float = 2.0) -> np.ndarray:
    """Exact pixel map of the chip onto the output grid, shape (ny, nx, 2)."""
    cw = chip_wcs(nx, ny)
    ow = output_wcs(n_out, cw, rotation)
    pixmap = np.empty((ny, nx, 2))
    y = np.arange(ny, dtype=np.float64)
    for x0 in range(0, nx, 512):  # in column blocks to bound memory
        xs = np.arange(x0, min(x0 + 512, nx), dtype=np.float64)
        gx, gy = np.meshgrid(xs, y)
        ra, dec = cw.all_pix2world(gx, gy, 0)
        ox, oy = ow.wcs_world2pix(ra, dec, 0)
        pixmap[:, x0:x0 + len(xs), 0] = ox
        pixmap[:, x0:x0 + len(xs), 1] = oy
    return pixmap


def touched_zeros(shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """A zero-filled array whose memory pages are already mapped.

    ``np.zeros`` maps fresh pages lazily, so the first pass over them pays the
    operating system's page faults; on a virtual machine that reclaims memory
    those cost up to tenths of a second per output array and vary from run to
    run. Both implementations get their outputs touched before the timer starts.
    """
    a = np.empty(shape, dtype)
    a.fill(0)
    return a


def timed(func) -> float:
    t0 = time.perf_counter()
    func()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="repetitions per case (default 5)")
    parser.add_argument("--cpu", type=int, default=None, help="pin the process to this core")
    parser.add_argument("--small", action="store_true", help="1024 x 512 chip (quick check)")
    parser.add_argument("--only", default=None, help="comma-separated case names to run")
    parser.add_argument("--rotation", type=float, default=2.0,
                        help="angle between the chip and the output grid, degrees (default 2)")
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})

    nx, ny, n_out = (1024, 512, 1100) if args.small else (4096, 2048, 4300)
    n_out = output_size(nx, ny, args.rotation, n_out)
    print(f"chip {nx}x{ny} float32 -> {n_out}x{n_out} rotated by {args.rotation:g} deg; drizrun backend: "
          f"{kernels.kernel_backend('_drizzle')}; repeat {args.repeat}; "
          f"cpu {'all' if args.cpu is None else args.cpu}")
    pixmap = pixel_map(nx, ny, n_out, args.rotation)
    rng = np.random.default_rng(0)
    data = (100 + rng.standard_normal((ny, nx)) * 10).astype(np.float32)
    weights = np.ones((ny, nx), np.float32)
    only = set(args.only.split(",")) if args.only else None

    rows = []
    for kernel, pixfrac in DRIZZLE_CASES:
        name = f"drizzle {kernel}" + (f" pixfrac {pixfrac}" if pixfrac != 1.0 else "")
        if only and kernel not in only:
            continue
        if kernels.drizzle_backend(kernel) != "pythran":
            print(f"{name:28s} skipped: drizrun runs it from the Python source (not compiled)")
            continue
        t_ref, t_new = [], []
        for _ in range(args.repeat):
            driz = Drizzle(kernel=kernel, fillval=0.0, out_img=touched_zeros((n_out, n_out), np.float32),
                           out_wht=touched_zeros((n_out, n_out), np.float32),
                           out_ctx=touched_zeros((1, n_out, n_out), np.int32))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t_ref.append(timed(partial(driz.add_image, data, exptime=1.0, pixmap=pixmap,
                                           weight_map=weights, pixfrac=pixfrac)))
            del driz
            img = touched_zeros((n_out, n_out), np.float32)
            wht = touched_zeros((n_out, n_out), np.float32)
            ctx = touched_zeros((1, n_out, n_out), np.int32)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", kernels.NonConservingKernelWarning)
                t_new.append(timed(partial(kernels.drizzle, data, pixmap, img, wht, out_ctx=ctx,
                                           weights=weights, kernel=kernel, pixfrac=pixfrac)))
            del img, wht, ctx
        rows.append((name, statistics.median(t_ref), statistics.median(t_new)))
        print(f"{name:28s} drizzle 3.0 {rows[-1][1]:7.3f} s   drizrun {rows[-1][2]:7.3f} s   "
              f"ratio {rows[-1][1] / rows[-1][2]:5.2f}", flush=True)

    frame = (100 + rng.standard_normal((n_out, n_out))).astype(np.float32)
    for interp in BLOT_CASES:
        if only and interp not in only:
            continue
        t_ref, t_new = [], []
        for _ in range(args.repeat):
            t_ref.append(timed(partial(blot_image, frame, pixmap, interp=interp)))
            t_new.append(timed(partial(kernels.blot, frame, pixmap, interp=interp)))
        name = f"blot {interp}"
        rows.append((name, statistics.median(t_ref), statistics.median(t_new)))
        print(f"{name:28s} drizzle 3.0 {rows[-1][1]:7.3f} s   drizrun {rows[-1][2]:7.3f} s   "
              f"ratio {rows[-1][1] / rows[-1][2]:5.2f}", flush=True)

    print()
    print("| case | drizzle 3.0 (s) | drizrun (s) | speed-up |")
    print("|---|---:|---:|---:|")
    for name, t_ref, t_new in rows:
        print(f"| {name} | {t_ref:.3f} | {t_new:.3f} | {t_ref / t_new:.2f}x |")


if __name__ == "__main__":
    main()
