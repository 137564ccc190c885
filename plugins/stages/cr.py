"""Built-in stage ``cr``: cosmic rays found by comparing each chip with its blotted median.

The test is :func:`~drizrun.plugins.stages.crdetect.cosmic_ray_mask` in
electrons: the chip's data against the blotted median (sky included), with
the derivative of the blotted image from the registered ``deriv`` kernel and
the noise either from the Poisson model (gain, read noise and the blotted
image, the sky counted once) or from the chip's ERR array (``cr.noise =
"err"``). With ``cr.median_offset`` the blotted median is first corrected for
its typical offset from the chip
(:func:`~drizrun.plugins.stages.crdetect.median_offset`), and with
``cr.neighbour_snr`` the flags grow with a lower threshold to the edge
neighbours of bright hits.

Each chip's mask is written as ``<rootname>_sci<N>_crmask.fits`` (uint8,
1 = good, 0 = cosmic ray, as AstroDrizzle; in memory with ``--in-memory``) and
listed in the ``crmask`` artifact the final drizzle uses. The inputs are not
touched unless ``cr.update_input_dq`` is true, which ORs the instrument's
cosmic-ray flag (4096 for HST) into their DQ arrays as AstroDrizzle does;
``cr.corr`` writes ``<rootname>_sci<N>_crclean.fits``, the chip with its
cosmic-ray pixels replaced by the blotted median.

Pixels whose DQ flags the final drizzle rejects anyway (flags outside
``final.bits``: hot pixels, dead columns...) are never reported as cosmic
rays, so the masks count only what the cosmic-ray test removes. Pixels with
DQ flags the final drizzle keeps (hot pixels among ``final.bits``) are tested
like the others, but do not confirm their neighbours (a hot pixel's excess is
its own).

Where the median cannot reject a cosmic ray (chip pixels covered by fewer
than ``cr.single_coverage`` other exposures: dither edges, the gaps between
chips; and pixels without a median), each chip is also searched alone for
pixels sharper than its sources
(:func:`~drizrun.plugins.stages.crsingle.single_image_mask`); the coverage
comes from the weights of the separately drizzled images
(:mod:`~drizrun.plugins.stages.crcoverage`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from drizrun.core.errors import ProcessingError
from drizrun.core.geometry import calc_pixmap
from drizrun.core.hookspecs import hookimpl
from drizrun.core.parallel import ordered_map
from drizrun.core.params import in_range, param
from drizrun.core.stage import StageResult

from .buffers import run_pool
from .chipdata import chip_key, dq_good
from .crcoverage import FrameCoverage, PackedMask, other_coverage, usable_weight
from .crdetect import NOISE_MODELS, cosmic_ray_mask, grow_mask, median_offset, poisson_noise
from .crsingle import single_image_mask_where
from .images import StoredImage, keep_image, load_image, written_files
from .resample import frame_from_record

__all__ = ["CrParams", "CrStage", "flagged"]


def _two_positive(_instance: Any, attribute: Any, value: Any) -> None:
    if len(value) != 2 or not all(v >= 0 for v in value):
        raise ValueError(f"must be two non-negative numbers, got {value!r}")


@attrs.frozen
class CrParams:
    """Parameters of the ``cr`` stage."""

    snr: tuple[float, float] = param((3.5, 3.0), doc="Signal-to-noise thresholds of the first and second "
                                                     "test (AstroDrizzle driz_cr_snr).", validator=_two_positive)
    scale: tuple[float, float] = param((1.2, 0.7), doc="Multiples of the derivative added to each threshold "
                                                       "(driz_cr_scale).", validator=_two_positive)
    grow: int = param(1, doc="Each cosmic ray is grown to a grow x grow box; 1: no growth (driz_cr_grow).",
                      validator=in_range(1, 21))
    ctegrow: int = param(0, doc="Pixels flagged along the column away from the amplifier, for CTE trails "
                                "(driz_cr_ctegrow).", validator=in_range(0, 1000))
    noise: str = param("poisson", doc="Noise model: poisson (gain, read noise, blotted image) or err "
                                      "(the chip's ERR array).", choices=NOISE_MODELS)
    update_input_dq: bool = param(False, doc="OR the cosmic-ray flag into the inputs' DQ arrays "
                                             "(modifies the input files).")
    corr: bool = param(False, doc="Write <rootname>_sci<N>_crclean.fits, the chip with cosmic rays replaced "
                                  "by the blotted median (driz_cr_corr).")
    median_offset: bool = param(True, doc="Correct the blotted median for its typical offset from the chip "
                                          "(the median of (D - B) / sigma; a median rejecting the highest "
                                          "value is biased low).")
    neighbour_snr: tuple[float, float] | None = param(
        (20.0, 1.0), doc="Growth to edge neighbours: next to a flagged pixel more than the first number of "
                         "sigma above the blotted median, pixels more than the second are flagged; unset: none.",
        validator=attrs.validators.optional(_two_positive))
    single_coverage: int = param(2, doc="Pixels covered by fewer than this many other exposures, and pixels "
                                        "without a median, are also tested alone for cosmic rays; 0: never.",
                                 validator=in_range(0, 1000))
    single_snr: float = param(5.0, doc="Single-image test: sharpness threshold in sigma.",
                              validator=in_range(0.0, None))
    single_contrast: float = param(4.0, doc="Single-image test: least ratio of a pixel's sharpness to the "
                                            "fine structure around it (stars stay below).",
                                   validator=in_range(0.0, None))
    single_median_snr: float = param(2.0, doc="Single-image test where one other exposure covers the pixel: "
                                              "least excess over the blotted median, in sigma.",
                                     validator=in_range(0.0, None))


def flagged(mask: Any) -> np.ndarray:
    """Cosmic-ray pixels (``True``) of a mask in the file convention (1 = good, 0 = cosmic ray)."""
    return np.asarray(mask) == 0


class CrStage:
    """Detect cosmic rays by comparing each chip with its blotted median."""

    name = "cr"
    params = CrParams
    requires = ("blotted",)
    provides = ("crmask",)
    uses: tuple[str, ...] = ("single_weight",)
    min_inputs = 2
    order = 60.0

    def run(self, ctx: Any, params: CrParams) -> StageResult:
        """Flag cosmic rays on every chip and put the ``crmask`` artifact."""
        log = ctx.stage_logger(self.name)
        if not ctx.artifacts.has("blotted"):
            return StageResult(status="skipped", message="no blotted images (no median was made)")
        blotted = ctx.artifacts.get("blotted")
        deriv = ctx.kernels.get("deriv", "abs_deriv").function
        masks: dict[str, Any] = {}
        total = 0
        final_params = ctx.config.params.get("final")
        final_bits = getattr(final_params, "bits", 0) if final_params is not None else 0
        chips = [(exposure, chip) for exposure in ctx.exposures for chip in exposure.chips]
        coverage = _coverage_source(ctx, params)

        pool = run_pool(ctx)  # chip arrays reused chip after chip, and by final

        def detect(item: tuple[Any, Any]) -> tuple[str, Any, np.ndarray]:
            shape = tuple(int(n) for n in item[1].shape)
            with pool.borrow(shape, np.float32) as data, pool.borrow(shape, np.float32) as model, \
                    pool.borrow(shape, np.float32) as noise:
                return detect_into(item, data, model, noise)

        def detect_into(item: tuple[Any, Any], data: np.ndarray, model: np.ndarray,
                        noise: np.ndarray) -> tuple[str, Any, np.ndarray]:
            """Flag one chip, with its data, blotted median and noise in electrons put in the arrays given."""
            exposure, chip = item
            key = chip_key(exposure, chip)
            if key not in blotted:
                raise ProcessingError(f"no blotted image for {key}; rerun the blot stage")
            to_e = np.float32(chip.to_electrons)
            with np.errstate(invalid="ignore"):  # non-finite pixels are never flagged
                np.multiply(chip.sci(), to_e, out=data, casting="same_kind")
                _in_electrons(load_image(ctx, blotted[key]), to_e, out=model)
            if params.noise == "err":
                err = chip.err()
                if err is None:
                    raise ProcessingError(f"cr.noise = 'err' but {chip.path.name} has no ERR extension "
                                          f"for chip {chip.extver}; use cr.noise = 'poisson'")
                np.multiply(err, to_e, out=noise, casting="same_kind")
            else:
                poisson_noise(model, gain=1.0, read_noise=chip.read_noise, out=noise)
            # the chip is compared with model + offset * noise (the median's bias corrected)
            offset = np.float32(median_offset(data, model, noise)) if params.median_offset else None
            dq = chip.dq()
            clean_dq = dq_good(dq, 0)
            found = cosmic_ray_mask(
                data, model, deriv(model), noise, snr=params.snr, scale=params.scale,
                support=clean_dq, neighbour_snr=params.neighbour_snr, offset=0.0 if offset is None else offset,
            )
            if params.single_coverage > 0:
                covered = None if coverage is None else coverage(exposure, chip)
                found |= _single_image(data, model, noise, offset, chip, covered, clean_dq, params)
            found = grow_mask(found, grow=params.grow, ctegrow=params.ctegrow, cte_direction=chip.cte_direction)
            usable = dq_good(dq, final_bits)
            if usable is not None:
                # pixels the final drizzle leaves out anyway are not cosmic rays to report
                found &= usable
            count = int(np.count_nonzero(found))
            log.info("%s: %d cosmic-ray pixels", key, count)
            header = chip.wcs.to_header(relax=True)
            header["CRPIXELS"] = (count, "pixels flagged as cosmic rays")
            ref = keep_image(ctx, f"{key}_crmask.fits", (~found).astype(np.uint8), header)
            if params.corr:
                clean = np.where(found, model / to_e, np.asarray(chip.sci(), dtype=np.float32))
                cleaned = keep_image(ctx, f"{key}_crclean.fits", clean.astype(np.float32), header)
                if isinstance(cleaned, str):
                    ctx.add_product(Path(ctx.config.output_dir) / cleaned)
            return key, ref, found

        ctx.progress.start(self.name, len(chips))
        for (exposure, chip), (key, ref, found) in zip(
            chips, ordered_map(detect, chips, num_cores=ctx.config.num_cores), strict=True
        ):
            masks[key] = ref
            total += int(np.count_nonzero(found))
            ctx.progress.advance()
            if params.update_input_dq:
                _flag_input_dq(chip, found, _cr_bit(ctx, exposure))
        ctx.artifacts.put("crmask", masks, stage=self.name, path=f"{ctx.config.output_root}_crmask.json",
                          files=written_files(masks))
        return StageResult(message=f"{total} cosmic-ray pixels on {len(masks)} chip(s)",
                           products=written_files(masks), metrics={"cr_pixels": total})


def _in_electrons(image: Any, to_e: np.float32, *, out: np.ndarray) -> np.ndarray:
    """``image * to_e`` as float32 into ``out``; an image read from its file is read into ``out`` first."""
    if isinstance(image, StoredImage) and image.dtype == out.dtype and image.shape == out.shape:
        image.read_into(out)
        out *= to_e
        return out
    return np.multiply(image, to_e, out=out, casting="same_kind")


def _single_image(data: np.ndarray, model: np.ndarray, noise: np.ndarray, offset: np.float32 | None, chip: Any,
                  coverage: Any, clean_dq: np.ndarray | None, params: CrParams) -> np.ndarray:
    """Cosmic rays found by the single-image test where the median cannot protect the chip.

    The median the chip is compared with is ``model + offset * noise`` (``model`` when
    ``offset`` is ``None``); it is only formed at the pixels the test flags.
    """
    no_median = ~np.isfinite(model)
    if offset is not None:
        no_median |= ~np.isfinite(noise)
    unprotected = no_median.copy()
    if coverage is not None:
        unprotected |= coverage < params.single_coverage
    if not unprotected.any():
        return np.zeros(data.shape, dtype=bool)
    found = single_image_mask_where(
        data, unprotected, read_noise=chip.read_noise, snr=params.single_snr, contrast=params.single_contrast,
        ignore=None if clean_dq is None else ~clean_dq,
    )
    if coverage is not None:
        # where another exposure contributes to the median, a cosmic ray also stands above it
        where = np.nonzero(found & (coverage >= 1) & ~no_median)
        sigma = noise[where]
        median = model[where] if offset is None else model[where] + offset * sigma
        with np.errstate(invalid="ignore"):
            found[where] = (data[where] - median) > params.single_median_snr * sigma
    return found


def _coverage_source(ctx: Any, params: CrParams) -> Any:
    """Function ``(exposure, chip) -> coverage`` from the single drizzles, or ``None`` without them."""
    if params.single_coverage <= 0 or not ctx.artifacts.has("single_weight"):
        return None
    single = ctx.artifacts.get("single_weight")
    frame = frame_from_record(single["frame"])
    median_params = ctx.config.params.get("median")
    maskpt = float(getattr(median_params, "combine_maskpt", 0.3))
    entries = single["images"]

    def usable(rootname: str) -> np.ndarray:
        # the median stage's threshold of this single drizzle, from its own weight image
        return usable_weight(np.asarray(load_image(ctx, entries[rootname])), maskpt)

    # every weight image read once, side by side; their usable pixels summed in input order and
    # kept one bit per pixel for the chips of their own exposure, so memory stays small per exposure
    own_usable: dict[str, PackedMask] = {}

    def counted() -> Iterator[np.ndarray]:
        for rootname, mask in zip(entries, ordered_map(usable, list(entries), num_cores=ctx.config.num_cores),
                                  strict=True):
            own_usable[rootname] = PackedMask.pack(mask)
            yield mask

    counts = FrameCoverage.from_usable(counted())

    def coverage(exposure: Any, chip: Any) -> np.ndarray:
        # mapped a band of rows at a time: a whole chip's pixel map and its index arrays
        # would take several hundred MB per thread
        ny, nx = (int(n) for n in chip.shape)
        own = own_usable.get(exposure.rootname)
        result = np.empty((ny, nx), dtype=np.int16)
        for start in range(0, ny, _COVERAGE_ROWS):
            stop = min(start + _COVERAGE_ROWS, ny)
            band = calc_pixmap(chip.wcs, frame.wcs, (stop - start, nx), grid=(0.0, float(start), 1.0, 1.0))
            result[start:stop] = other_coverage(band, counts, own)
        return result

    return coverage


#: Chip rows whose positions on the single drizzles' frame are computed at a time.
_COVERAGE_ROWS = 256


def _cr_bit(ctx: Any, exposure: Any) -> int:
    instrument = ctx.instruments[exposure.instrument] if exposure.instrument in ctx.instruments else None
    return int(getattr(instrument, "cr_bit", 4096))


def _flag_input_dq(chip: Any, found: np.ndarray, bit: int) -> None:
    """OR ``bit`` into the chip's DQ array in its file (only with ``cr.update_input_dq``)."""
    from astropy.io import fits

    try:
        with fits.open(chip.path, mode="update", memmap=False) as hdul:
            hdu = hdul["DQ", chip.extver]
            dq = np.array(hdu.data)
            dq[found] |= np.array(bit, dtype=dq.dtype)
            hdu.data = dq
    except (OSError, KeyError, ValueError) as exc:
        raise ProcessingError(f"cannot update the DQ array of {chip.path}[DQ,{chip.extver}]: {exc}") from exc


@hookimpl
def drizrun_register_stages(registry: Any) -> None:
    """Register the ``cr`` stage."""
    registry.add(CrStage())
