"""Simulating a dithered visit: the orchestration behind :func:`drizrun.simulate`.

The steps, each in its own module: the detector's geometry and distortion
(:mod:`.distortion`), the pointings (:mod:`.dither`), the true sky
(:mod:`.scene`), the detector (:mod:`.effects`, :mod:`.cosmics`), and the files
(:mod:`.writer`). Random numbers come from independent streams per exposure
and per effect, so switching cosmic rays off leaves every other pixel value
unchanged.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from ..errors import UsageError
from .builtin_geometry import builtin_geometry
from .cosmics import CosmicRayModel, add_cosmic_rays
from .distortion import ChipGeometry, DetectorGeometry, rotation, tangent_offset, tangent_point
from .dither import DitherPattern, dither_offsets
from .effects import add_noise, bleed_saturation, make_defects
from .profiles import PROFILES, DetectorProfile, profile_for
from .profiles2d import psf_stamp
from .scene import Injection, SourceCatalogue, make_catalogue, render_sources
from .writer import ChipProduct, ExposureProduct, write_association, write_exposure, write_table, write_truth_masks

__all__ = ["DATA_ENV", "SimulatedVisit", "VisitSpec", "simulate"]

log = logging.getLogger("drizrun")

#: Environment variable naming a directory of real HST files (the layout of
#: ``shared/data/hst``) whose distortion the simulator then uses.
DATA_ENV = "DRIZRUN_HST_DATA"

_DQ_BAD, _DQ_HOT, _DQ_SATURATED = 4, 16, 256
_DEFAULT_STEP_ARCSEC = 2.4  # large dither step, as in the standard box patterns


def _upper(value: str) -> str:
    return str(value).strip().upper()


def _known_instrument(_instance: object, _attribute: attrs.Attribute, value: str) -> None:
    profile_for(value)


def _positive(_instance: object, attribute: attrs.Attribute, value: float | None) -> None:
    if value is not None and not value > 0:
        raise UsageError(f"{attribute.name} must be positive, got {value}")


def _shape(value: tuple[int, int]) -> tuple[int, int]:
    ny, nx = (int(v) for v in value)
    if ny < 16 or nx < 16:
        raise UsageError(f"chip size must be at least 16x16 pixels, got {ny}x{nx}")
    return ny, nx


def _filters(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(_upper(item) for item in ([value] if isinstance(value, str) else value))


def _optional_path(value: str | os.PathLike[str] | None) -> Path | None:
    return None if value is None else Path(value)


@attrs.frozen
class VisitSpec:
    """What to simulate.

    Attributes
    ----------
    instrument : str
        ``"WFC3/UVIS"``, ``"WFC3/IR"``, ``"ACS/WFC"``, ``"ACS/HRC"`` or ``"ACS/SBC"``.
    n_exposures : int
        Number of dithered exposures.
    exptime : float, optional
        Seconds per exposure (default: the detector's typical value).
    filters : tuple of str, optional
        Values of FILTER (WFC3) or FILTER1, FILTER2 (ACS).
    chip_shape : tuple of int
        ``(ny, nx)`` of each chip's subarray, taken next to the inter-chip gap
        (or centred on one-chip detectors).
    full_size : bool
        Simulate full-frame chips instead (``chip_shape`` is then ignored).
    dither : DitherPattern
        Pattern of pointing offsets.
    dither_step : float, optional
        Large dither step in pixels (default: 2.4 arcsec, capped at a fifth of the chip).
    ra, dec : float
        Visit centre in degrees.
    pa : float
        Position angle of the first chip's y axis, degrees east of north.
    star_density, galaxy_density : float
        Sources per square arcminute.
    cosmic_rays : bool
        Inject cosmic rays.
    defects : bool
        Add hot pixels and bad columns.
    kind : str
        ``"flt"`` or ``"flc"`` file names.
    seed : int
        Seed of every random stream.
    visit : int
        Visit number, part of the file names (1-99).
    data_dir : Path, optional
        Directory of real HST files whose distortion to use (default: the
        ``DRIZRUN_HST_DATA`` environment variable; else the built-in geometry).
    """

    instrument: str = attrs.field(default="WFC3/UVIS", converter=_upper, validator=_known_instrument)
    n_exposures: int = attrs.field(default=4, converter=int)
    exptime: float | None = attrs.field(default=None, validator=_positive)
    filters: tuple[str, ...] | None = attrs.field(default=None, converter=_filters)
    chip_shape: tuple[int, int] = attrs.field(default=(256, 512), converter=_shape)
    full_size: bool = False
    dither: DitherPattern = attrs.field(default=DitherPattern.BOX, converter=DitherPattern)
    dither_step: float | None = attrs.field(default=None, validator=_positive)
    ra: float = 150.1
    dec: float = 2.2
    pa: float = 30.0
    star_density: float = 400.0
    galaxy_density: float = 250.0
    cosmic_rays: bool = True
    defects: bool = True
    kind: str = attrs.field(default="flt", converter=lambda v: str(v).lower())
    seed: int = 0
    visit: int = 1
    data_dir: Path | None = attrs.field(default=None, converter=_optional_path)

    def __attrs_post_init__(self) -> None:
        if self.n_exposures < 1:
            raise UsageError(f"a visit needs at least one exposure, got {self.n_exposures}")
        if self.n_exposures > 99:
            raise UsageError(f"at most 99 exposures per visit, got {self.n_exposures}")
        if self.kind not in ("flt", "flc"):
            raise UsageError(f"kind must be 'flt' or 'flc', got {self.kind!r}")
        if not 1 <= self.visit <= 99:
            raise UsageError(f"visit must be between 1 and 99, got {self.visit}")
        if not -90.0 <= self.dec <= 90.0:
            raise UsageError(f"dec must be between -90 and 90 degrees, got {self.dec}")


@attrs.frozen
class SimulatedVisit:
    """The files a simulation wrote.

    Attributes
    ----------
    spec : VisitSpec
        What was simulated.
    exposures : tuple of Path
        The FLT/FLC files, in exposure order.
    association : Path
        ``<product>_asn.fits``.
    product : str
        Association (product) name, the default output root.
    catalogue : Path
        ECSV of the true sources (``truth/<product>_sources.ecsv``).
    positions : Path
        ECSV of where each source fell on each chip and the electrons it put there.
    cr_masks : tuple of Path
        Per exposure, the cosmic-ray truth (``truth/<root>_crtruth.fits``).
    geometry_source : str
        Where the distortion came from (a file or ``"built-in"``).
    n_cosmic_ray_events : int
        Events injected over the whole visit.
    """

    spec: VisitSpec
    exposures: tuple[Path, ...]
    association: Path
    product: str
    catalogue: Path
    positions: Path
    cr_masks: tuple[Path, ...]
    geometry_source: str
    n_cosmic_ray_events: int


def simulate(
    instrument: str = "WFC3/UVIS", n_exposures: int = 4, out: str | os.PathLike[str] = ".", **options: object
) -> SimulatedVisit:
    """Simulate a dithered HST visit and write it with its truth.

    Parameters
    ----------
    instrument : str
        ``"WFC3/UVIS"``, ``"WFC3/IR"``, ``"ACS/WFC"``, ``"ACS/HRC"`` or ``"ACS/SBC"``.
    n_exposures : int
        Number of exposures.
    out : path-like
        Output directory (created if needed).
    **options
        Any other :class:`VisitSpec` field (``seed``, ``exptime``,
        ``chip_shape``, ``full_size``, ``cosmic_rays`` ...).

    Returns
    -------
    SimulatedVisit

    Raises
    ------
    UsageError
        For an unknown instrument or option, or an invalid value.

    Examples
    --------
    >>> visit = drizrun.simulate("ACS/WFC", 2, "sim", seed=3)       # doctest: +SKIP
    >>> drizrun.run([visit.association], output="sim/final")       # doctest: +SKIP
    """
    try:
        spec = VisitSpec(instrument=instrument, n_exposures=n_exposures, **options)  # type: ignore[arg-type]
    except TypeError as exc:
        raise UsageError(f"simulate: {exc}") from exc
    except ValueError as exc:
        raise UsageError(f"simulate: {exc}") from exc
    return _Simulation(spec, Path(out)).run()


def _geometry(spec: VisitSpec, profile: DetectorProfile) -> DetectorGeometry:
    data_dir = spec.data_dir or (Path(os.environ[DATA_ENV]) if os.environ.get(DATA_ENV) else None)
    if data_dir is not None and profile.template:
        template = data_dir / profile.template
        if template.is_file():
            geometry = DetectorGeometry.from_header(profile.name, template)
            builtin = builtin_geometry(profile.name)
            shapes = {chip.extver: chip.full_shape for chip in builtin.chips}
            return geometry.with_full_shapes(shapes)
        log.debug("simulate: %s not found, using the built-in %s geometry", template, profile.name)
    return builtin_geometry(profile.name)


class _Simulation:
    """One run of the simulator (holds the derived geometry and random streams)."""

    def __init__(self, spec: VisitSpec, out: Path) -> None:
        self.spec = spec
        self.out = out
        self.profile = PROFILES[spec.instrument]
        self.geometry = _geometry(spec, self.profile)
        self.exptime = spec.exptime or self.profile.default_exptime
        self.filters = spec.filters or self.profile.default_filter
        self.origins = self._subarray_origins()
        self.shapes = {chip.extver: self._shape(chip) for chip in self.geometry.chips}
        self.pixel_scale = float(np.sqrt(abs(np.linalg.det(np.array(self.geometry.chips[0].cd)))) * 3600.0)
        nx_min = min(shape[1] for shape in self.shapes.values())
        step = spec.dither_step or min(_DEFAULT_STEP_ARCSEC / self.pixel_scale, nx_min / 5.0)
        self.offsets = dither_offsets(spec.dither, spec.n_exposures, step)
        self.seeds = np.random.SeedSequence(spec.seed)
        self.root_base = f"{self.profile.root_prefix}drz{spec.visit:02d}"
        self.product = f"{self.root_base}010"

    # -- geometry -------------------------------------------------------------------

    def _shape(self, chip: ChipGeometry) -> tuple[int, int]:
        return (
            chip.full_shape
            if self.spec.full_size
            else (min(self.spec.chip_shape[0], chip.full_shape[0]), min(self.spec.chip_shape[1], chip.full_shape[1]))
        )

    def _subarray_origins(self) -> dict[int, tuple[int, int]]:
        """Subarrays sit centred in x, in y next to the other chip (or centred on one-chip detectors)."""
        origins = {}
        chips = self.geometry.chips
        for chip in chips:
            ny_full, nx_full = chip.full_shape
            ny, nx = self._shape(chip)
            x0 = (nx_full - nx) // 2
            if len(chips) == 1 or self.spec.full_size:
                origins[chip.extver] = (x0, (ny_full - ny) // 2)
                continue
            others = [
                self.geometry.local_position(o, o.full_shape[1] / 2, o.full_shape[0] / 2)
                for o in chips
                if o is not chip
            ]
            target = np.mean(others, axis=0)
            candidates = [(x0, 0), (x0, ny_full - ny)]
            origins[chip.extver] = min(
                candidates,
                key=lambda c: float(
                    np.linalg.norm(self.geometry.local_position(chip, c[0] + nx / 2, c[1] + ny / 2) - target)
                ),
            )
        return origins

    def _pointing(self, offset: tuple[float, float]) -> tuple[float, float]:
        first = self.geometry.chips[0]
        shift = rotation(-self.spec.pa) @ (np.array(first.cd) @ np.array(offset))
        return tangent_point(shift, self.spec.ra, self.spec.dec)

    def _chip_wcs(self, chip: ChipGeometry, pointing: tuple[float, float]) -> tuple[dict[str, Any], Any]:
        from astropy.io import fits
        from astropy.wcs import WCS

        cards = self.geometry.chip_wcs_cards(
            chip, ra=pointing[0], dec=pointing[1], pa=self.spec.pa, origin=self.origins[chip.extver]
        )
        header = fits.Header()
        ny, nx = self.shapes[chip.extver]
        header["NAXIS"], header["NAXIS1"], header["NAXIS2"] = 2, nx, ny
        for key, value in cards.items():
            if key != "ORIENTAT":
                header[key] = value
        return cards, WCS(header)

    # -- the sky --------------------------------------------------------------------

    def _catalogue(self, wcs_list: list[Any]) -> SourceCatalogue:
        centre = (self.spec.ra, self.spec.dec)
        xi, eta = [], []
        for wcs in wcs_list:
            ny, nx = wcs.pixel_shape[1], wcs.pixel_shape[0]
            corners = wcs.all_pix2world([0, nx - 1, 0, nx - 1], [0, 0, ny - 1, ny - 1], 0)
            for ra, dec in zip(*corners, strict=True):
                a, b = tangent_offset(float(ra), float(dec), *centre)
                xi.append(a)
                eta.append(b)
        margin = 2.0 / 3600.0
        box = (min(xi) - margin, max(xi) + margin, min(eta) - margin, max(eta) + margin)
        area_arcmin2 = (box[1] - box[0]) * (box[3] - box[2]) * 3600.0
        rng = np.random.default_rng(self.seeds.spawn(1)[0])
        fwhm_px = self.profile.psf_fwhm / self.pixel_scale
        peak = float(psf_stamp(0.0, 0.0, fwhm_px)[0].max())
        star_max = 4.0 * self.profile.full_well / (peak * self.exptime)
        background = self.profile.sky_rate * self.exptime + self.profile.mean_read_noise**2
        limit = 3.0 * math.sqrt(2.3 * fwhm_px**2 * max(background, 1.0))
        depth = max(2.0, 2.5 * math.log10(star_max * self.exptime / limit))
        return make_catalogue(
            rng,
            centre=centre,
            box=box,
            n_stars=int(rng.poisson(self.spec.star_density * area_arcmin2)),
            n_galaxies=int(rng.poisson(self.spec.galaxy_density * area_arcmin2)),
            star_rate_max=star_max,
            galaxy_rate_max=star_max / 4.0,
            depth=depth,
        )

    # -- one chip -------------------------------------------------------------------

    def _chip(
        self,
        chip: ChipGeometry,
        cards: dict[str, Any],
        wcs: Any,
        catalogue: SourceCatalogue,
        rng_sky: np.random.Generator,
        rng_defects: np.random.Generator,
        rng_cr: np.random.Generator,
    ) -> tuple[ChipProduct, Injection, int]:
        profile, exptime = self.profile, self.exptime
        shape = self.shapes[chip.extver]
        sources = np.zeros(shape)
        injection = render_sources(
            sources,
            wcs,
            catalogue,
            exptime=exptime,
            psf_fwhm_px=profile.psf_fwhm / self.pixel_scale,
            pixel_scale=self.pixel_scale,
        )
        scale = shape[0] * shape[1] / (chip.full_shape[0] * chip.full_shape[1])
        defects = make_defects(
            shape,
            hot_fraction=profile.hot_fraction if self.spec.defects else 0.0,
            bad_columns=max(1, round(profile.bad_columns * math.sqrt(scale)))
            if self.spec.defects and profile.bad_columns
            else 0,
            rng=rng_defects,
        )
        dark = profile.dark_rate * exptime + defects.hot_rate * exptime
        image = add_noise(
            sources + profile.sky_rate * exptime, dark=dark, read_noise=profile.mean_read_noise, rng=rng_sky
        )
        # reference darks lag behind new hot pixels: part of their dark stays in the calibrated image
        image += defects.hot_rate * exptime * rng_defects.uniform(0.2, 1.0, size=shape) * defects.hot
        model = CosmicRayModel(
            rate=profile.cr_rate if self.spec.cosmic_rays else 0.0, pixel_size_um=profile.pixel_size_um
        )
        charge, n_events = add_cosmic_rays(image, model, exptime, rng_cr)
        saturated = bleed_saturation(image, profile.full_well)
        image[defects.bad] = rng_defects.normal(
            0.0, 5.0 * max(profile.mean_read_noise, 1.0), size=int(defects.bad.sum())
        )
        dq = np.zeros(shape, dtype=np.uint16)
        dq[defects.hot] |= _DQ_HOT
        dq[defects.bad] |= _DQ_BAD
        dq[saturated] |= _DQ_SATURATED
        err = np.sqrt(np.clip(image, 0.0, None) + profile.dark_rate * exptime + profile.mean_read_noise**2)
        if self.profile.name == "WFC3/IR":  # calibrated IR data are count rates
            image, err = image / exptime, err / exptime
        product = ChipProduct(
            extver=chip.extver,
            ccdchip=chip.ccdchip or 1,
            sci=image,
            err=err,
            dq=dq,
            wcs_cards=cards,
            origin=self.origins[chip.extver],
            cr_charge=charge,
            mean_dark=profile.dark_rate * exptime,
        )
        return product, injection, n_events

    # -- the visit ------------------------------------------------------------------

    def run(self) -> SimulatedVisit:
        spec, profile = self.spec, self.profile
        truth_dir = self.out / "truth"
        try:
            truth_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create the output directory {self.out}: {exc.strerror or exc}") from exc
        pointings = [self._pointing(offset) for offset in self.offsets]
        chip_wcs = [[self._chip_wcs(chip, pointing) for chip in self.geometry.chips] for pointing in pointings]
        catalogue = self._catalogue([wcs for per_exposure in chip_wcs for _, wcs in per_exposure])
        exposure_seeds = self.seeds.spawn(spec.n_exposures + 1)[1:]
        files, masks, rows, events = [], [], [], 0
        subarray = not spec.full_size and any(self.shapes[c.extver] != c.full_shape for c in self.geometry.chips)
        bunit = "ELECTRONS/S" if profile.name == "WFC3/IR" else ("COUNTS" if profile.name == "ACS/SBC" else "ELECTRONS")
        expstart = 60000.0 + spec.visit
        for index, (seed, per_exposure) in enumerate(zip(exposure_seeds, chip_wcs, strict=True)):
            rootname = f"{self.root_base}{index + 1:02d}q"
            sky_seed, defect_seed, cr_seed = seed.spawn(3)
            rng_sky, rng_cr = np.random.default_rng(sky_seed), np.random.default_rng(cr_seed)
            rng_defects = np.random.default_rng(defect_seed)
            chips = []
            for chip, (cards, wcs) in zip(self.geometry.chips, per_exposure, strict=True):
                product, injection, n_events = self._chip(chip, cards, wcs, catalogue, rng_sky, rng_defects, rng_cr)
                chips.append(product)
                events += n_events
                for i, x, y, electrons in zip(
                    injection.index, injection.x, injection.y, injection.electrons, strict=True
                ):
                    rows.append((int(i) + 1, rootname, chip.extver, float(x) + 1.0, float(y) + 1.0, float(electrons)))
            exposure = ExposureProduct(rootname=rootname, exptime=self.exptime, expstart=expstart, chips=tuple(chips))
            expstart += (self.exptime + 120.0) / 86400.0
            files.append(
                write_exposure(
                    self.out / f"{rootname}_{spec.kind}.fits",
                    profile,
                    exposure,
                    asn_id=self.product,
                    filters=self.filters,
                    kind=spec.kind,
                    subarray=subarray,
                    ra=spec.ra,
                    dec=spec.dec,
                    pa=spec.pa,
                    bunit=bunit,
                )
            )
            masks.append(write_truth_masks(truth_dir / f"{rootname}_crtruth.fits", exposure))
        association = write_association(
            self.out / f"{self.product}_asn.fits",
            self.product,
            [f"{self.root_base}{i + 1:02d}q" for i in range(spec.n_exposures)],
            profile,
        )
        table = catalogue.to_table()
        table.meta.update(
            {
                "instrument": profile.name,
                "filters": list(self.filters),
                "exptime": self.exptime,
                "sky_rate": profile.sky_rate,
                "seed": spec.seed,
                "geometry": self.geometry.source,
            }
        )
        catalogue_path = write_table(truth_dir / f"{self.product}_sources.ecsv", table)
        positions_path = write_table(truth_dir / f"{self.product}_positions.ecsv", _positions_table(rows))
        log.info(
            "simulated %d %s exposure(s) in %s (%d sources, %d cosmic rays, distortion: %s)",
            spec.n_exposures,
            profile.name,
            self.out,
            len(catalogue),
            events,
            self.geometry.source,
        )
        return SimulatedVisit(
            spec=spec,
            exposures=tuple(files),
            association=association,
            product=self.product,
            catalogue=catalogue_path,
            positions=positions_path,
            cr_masks=tuple(masks),
            geometry_source=self.geometry.source,
            n_cosmic_ray_events=events,
        )


def _positions_table(rows: list[tuple[int, str, int, float, float, float]]) -> Any:
    import astropy.units as u
    from astropy.table import Table

    table = Table(
        rows=rows or None,
        names=("id", "exposure", "chip", "x", "y", "electrons"),
        dtype=(int, str, int, float, float, float),
    )
    table["electrons"].unit = u.electron
    table["x"].description = "FITS (1-based) pixel column of the true position"
    table["y"].description = "FITS (1-based) pixel row of the true position"
    table["chip"].description = "EXTVER of the SCI extension"
    table["electrons"].description = "electrons of the source placed inside this chip"
    return table
