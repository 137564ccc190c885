"""The truth of a simulated visit, and the score of a tool's products against it.

:class:`VisitTruth` reads what the simulator wrote beside a visit (catalogue,
positions, cosmic-ray charge) once, and :meth:`VisitTruth.score` scores the
products a tool left in a directory with :mod:`drizrun.core.simulate.scoring`:
cosmic-ray masks, photometry and astrometry of the drizzled image. The visit
benchmark and the end-to-end tests use it.

Photometry is scored twice: on the stars whose apertures received (almost)
no cosmic-ray charge in any exposure, which measure the drizzle itself, and on
the others, whose errors also depend on the cosmic rays the masks caught
(:mod:`~drizrun.core.simulate.aperture_cr`). Astrometry uses the stars whose
expected centroid error (:func:`~drizrun.core.simulate.psffit.expected_centroid_noise`)
is at most :data:`ASTROMETRY_NOISE` pixel, centroided twice: by a fit of the
drizzle model of each star's exposures (:mod:`~drizrun.core.simulate.drizzle_fit`,
with the pixels the tool left out from :mod:`~drizrun.core.simulate.sightings`),
which measures where the product put the star, and by a fit of the drizzled PSF
averaged over pixel phases (:mod:`~drizrun.core.simulate.psffit`), which carries
an error of about 0.01 pixel of its own on undersampled stars.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["APERTURE_FWHM", "ASTROMETRY_NOISE", "CR_FREE_FRACTION", "NEIGHBOUR_CONTRAST", "VisitTruth"]

#: Sources fainter than this fraction of a star's flux do not spoil its isolation
#: (outside the aperture such a source changes its photometry by less than that).
NEIGHBOUR_CONTRAST = 1e-3

#: Photometry aperture radius in PSF FWHMs (background annulus 4-6 FWHM).
APERTURE_FWHM = 3.0

#: A star is free of cosmic rays when the charge they left inside its aperture,
#: averaged over the exposures as a drizzle does, is at most this fraction of its
#: flux: even a tool that flagged none of it would be off by no more.
CR_FREE_FRACTION = 1e-3

#: Largest expected centroid error (one axis, pixels) of the stars used for
#: astrometry: noise then adds at most about 0.006 pixel to the median offset
#: length (1.18 times the error for Gaussian errors on two axes), so the median
#: offset tests an accuracy of 0.01 pixel.
ASTROMETRY_NOISE = 0.005


def _sightings(visit: Any, catalogue: Any) -> tuple[list, np.ndarray, np.ndarray, np.ndarray, list]:
    """Every star on every chip: chip keys, star indices (into the stars), positions, exposures."""
    from astropy.table import Table

    positions = Table.read(visit.positions, format="ascii.ecsv")
    kind = np.asarray(catalogue["kind"]).astype(str)
    star_index = {int(i): k for k, i in enumerate(np.asarray(catalogue["id"])[kind == "star"])}
    ids = np.asarray(positions["id"], dtype=np.int64)
    rows = np.fromiter((int(i) in star_index for i in ids), dtype=bool, count=ids.size)
    roots = [str(r) for r in np.asarray(positions["exposure"])[rows]]
    chips = [int(c) for c in np.asarray(positions["chip"])[rows]]
    index = np.array([star_index[int(i)] for i in ids[rows]], dtype=np.int64)
    x = np.asarray(positions["x"], dtype=float)[rows] - 1.0
    y = np.asarray(positions["y"], dtype=float)[rows] - 1.0
    return list(zip(roots, chips, strict=True)), index, x, y, roots


def _star_cores(visit: Any, truth: dict, catalogue: Any, fwhm_px: float, level: float) -> dict:
    from astropy.table import Table

    from drizrun.core.simulate import scoring

    positions = Table.read(visit.positions, format="ascii.ecsv")
    kind = dict(zip(catalogue["id"], catalogue["kind"], strict=True))
    rate = dict(zip(catalogue["id"], catalogue["rate"], strict=True))
    is_star = np.array([kind[i] == "star" for i in positions["id"]], dtype=bool)
    exptime = float(catalogue.meta["exptime"])
    cores = {}
    for (root, chip), charge in truth.items():
        rows = is_star & (np.asarray(positions["exposure"]) == root) & (np.asarray(positions["chip"]) == chip)
        electrons = np.array([rate[i] for i in positions["id"][rows]], dtype=float) * exptime
        cores[(root, chip)] = scoring.star_core_mask(
            charge.shape,
            np.asarray(positions["x"][rows], dtype=float) - 1.0,
            np.asarray(positions["y"][rows], dtype=float) - 1.0,
            electrons,
            fwhm_px=fwhm_px,
            level=level,
        )
    return cores


class VisitTruth:
    """What every tool's products of one visit are scored against."""

    def __init__(self, visit: Any) -> None:
        from astropy.io import fits
        from astropy.table import Table

        from drizrun.core.simulate import PROFILES, scoring
        from drizrun.core.simulate.aperture_cr import aperture_cosmic_ray_fraction
        from drizrun.core.simulate.profiles2d import psf_stamp
        from drizrun.core.simulate.psffit import expected_centroid_noise

        self.visit = visit
        self.profile = PROFILES[visit.spec.instrument]
        self.catalogue = Table.read(visit.catalogue, format="ascii.ecsv")
        self.exptime = float(self.catalogue.meta["exptime"])
        self.stars = scoring.read_star_list(self.catalogue)
        self.detector_scale = float(fits.getval(visit.exposures[0], "IDCSCALE", ext=("SCI", 1)))
        fwhm_det = self.profile.psf_fwhm / self.detector_scale
        self.cr_sigma = scoring.cosmic_ray_sigma(
            sky_rate=self.profile.sky_rate,
            dark_rate=self.profile.dark_rate,
            exptime=self.exptime,
            read_noise=self.profile.mean_read_noise,
        )
        self.charge = scoring.read_cosmic_ray_truth(visit.cr_masks)
        self.cores = _star_cores(visit, self.charge, self.catalogue, fwhm_det, scoring.DETECTABLE_SIGMA * self.cr_sigma)
        peak = float(psf_stamp(0.0, 0.0, fwhm_det)[0].max())
        self.max_rate = 0.5 * self.profile.full_well / (peak * self.exptime)  # peak below half the full well
        keys, index, sx, sy, roots = _sightings(visit, self.catalogue)
        self._sightings = (keys, index, sx, sy)
        primaries = [fits.getheader(path, 0) for path in visit.exposures]
        self._exposure_times = {str(h["ROOTNAME"]).lower(): float(h["EXPTIME"]) for h in primaries}
        self._chip_wcs: dict[tuple[str, int], Any] | None = None  # read when a product is first modelled
        n_stars = len(self.stars.rate)
        #: Per star, exposures that saw it.
        self.n_exposures = np.bincount([i for i, _ in set(zip(index.tolist(), roots, strict=True))],
                                       minlength=n_stars)[:n_stars]
        #: Per star, cosmic-ray charge in its aperture over its rate (:mod:`.aperture_cr`).
        self.cr_fraction = aperture_cosmic_ray_fraction(
            self.charge, keys, index, sx, sy, exposure=roots, rate=self.stars.rate, exptime=self.exptime,
            radius=APERTURE_FWHM * fwhm_det,
        )
        #: Per star, the expected centroid error along one axis in detector pixels.
        self.centroid_noise = expected_centroid_noise(
            self.stars.rate, fwhm_px=fwhm_det, exptime=self.exptime, n_exposures=self.n_exposures,
            background=self.profile.sky_rate + self.profile.dark_rate, read_noise=self.profile.mean_read_noise,
        )

    def score(
        self, workdir: Path, scores: dict[str, Any], *, astrometry_noise: float = ASTROMETRY_NOISE
    ) -> dict[str, Any]:
        """Fill ``scores`` with what the products in ``workdir`` allow (kept up to a failure).

        Parameters
        ----------
        workdir : Path
            Directory holding a tool's products for this visit.
        astrometry_noise : float
            Largest expected centroid error (pixels, one axis) of the stars
            used for astrometry; small visits have few stars bright enough for
            the default.
        scores : dict
            Filled in place: ``"cr"`` (:class:`~drizrun.core.simulate.scoring.CosmicRayScore`),
            ``"image"`` (the drizzled image), ``"phot"`` (stars free of cosmic rays),
            ``"phot_cr"`` (the other stars), ``"astro"`` (centroids by a fit of the
            drizzled PSF averaged over pixel phases) and ``"astro_model"``
            (centroids by a fit of the drizzle of the star's exposures,
            :mod:`~drizrun.core.simulate.drizzle_fit`; square kernel only).

        Returns
        -------
        dict
            ``scores``.
        """
        from drizrun.core.simulate import scoring
        from drizrun.core.simulate.psffit import drizzled_psf

        masks = scoring.read_crmasks(workdir)
        if masks:
            scores["cr"] = scoring.score_cosmic_rays(masks, self.charge, sigma=self.cr_sigma, cores=self.cores)
        path = scoring.find_drizzled(workdir, self.visit.product)
        if path is None:
            return scores
        image = scoring.read_drizzled(path)
        scores["image"] = image
        scale = image.pixel_scale
        fwhm = self.profile.psf_fwhm / scale
        stars = self.stars
        x, y, common = self._on_image(image)
        radius, r_in, r_out = APERTURE_FWHM * fwhm, 4.0 * fwhm, 6.0 * fwhm
        fraction = scoring.expected_aperture_fraction(
            radius,
            r_in,
            r_out,
            pixel_scale=scale,
            fwhm_arcsec=self.profile.psf_fwhm,
            detector_scale=self.detector_scale,
            pixfrac=1.0,
        )
        clean = self.cr_fraction <= CR_FREE_FRACTION
        ids = np.arange(len(stars.rate))
        for key, subset in (("phot", clean), ("phot_cr", ~clean)):
            scores[key] = scoring.score_photometry(
                image.sci,
                x[subset],
                y[subset],
                stars.rate[subset],
                radius=radius,
                r_in=r_in,
                r_out=r_out,
                aperture_fraction=fraction,
                min_snr=20.0,
                exptime=image.exptime,
                ids=ids[subset],
                **common,
            )
        psf = drizzled_psf(fwhm_arcsec=self.profile.psf_fwhm, detector_scale=self.detector_scale, output_scale=scale)
        scores["astro"] = scoring.score_astrometry(
            image.sci,
            x,
            y,
            stars.rate,
            fwhm_px=fwhm,
            expected_noise=self.centroid_noise * self.detector_scale / scale,
            max_noise=astrometry_noise,
            psf=psf,
            **common,
        )
        model = self.drizzle_model_astrometry(workdir, image, astrometry_noise=astrometry_noise)
        if model is not None:
            scores["astro_model"] = model
        return scores

    def drizzle_model_astrometry(
        self,
        workdir: Path,
        image: Any,
        *,
        usable: dict[tuple[str, int], Any] | None = None,
        astrometry_noise: float = ASTROMETRY_NOISE,
    ) -> Any:
        """Astrometry of a product by the drizzle model of each star (:mod:`~drizrun.core.simulate.drizzle_fit`).

        Parameters
        ----------
        workdir : Path
            Directory holding the tool's products.
        image : drizrun.core.simulate.scoring.DrizzledImage
            The drizzled product, read back.
        usable : dict, optional
            Per ``(rootname, extver)``, the pixels the drizzle used; default
            what the products record (:func:`~drizrun.core.simulate.sightings.usable_pixels`).
        astrometry_noise : float
            As for :meth:`score`.

        Returns
        -------
        drizrun.core.simulate.scoring.AstrometryScore or None
            None when the product was not drizzled with the square kernel or
            has no weight image.
        """
        from astropy.io import fits

        from drizrun.core.simulate import scoring
        from drizrun.core.simulate.drizzle_fit import drizzle_model_centroid
        from drizrun.core.simulate.sightings import StarSightings, read_chip_wcs, usable_pixels

        primary = fits.getheader(image.path, 0)
        kernel = str(primary.get("D001KERN", image.header.get("D001KERN", ""))).strip().lower()
        pixfrac = float(primary.get("D001PIXF", image.header.get("D001PIXF", 1.0)))
        if kernel != "square" or image.wht is None:
            return None
        if usable is None:
            usable = usable_pixels(workdir, self.visit.product, self.visit.exposures, primary)
        keys, index, sx, sy = self._sightings
        if self._chip_wcs is None:
            self._chip_wcs = read_chip_wcs(self.visit.exposures)
        sightings = StarSightings(keys, index, sx, sy, chip_wcs=self._chip_wcs, product_wcs=image.wcs,
                                  usable=usable, weights=self._exposure_times)
        scale = image.pixel_scale
        fwhm = self.profile.psf_fwhm / scale
        fwhm_det = self.profile.psf_fwhm / self.detector_scale

        def centroid(k: int, x: float, y: float, background: float) -> tuple[float, float]:
            return drizzle_model_centroid(image.sci, image.wht, x, y, sightings.for_star(k), fwhm_detector=fwhm_det,
                                          radius=2.0 * fwhm, pixfrac=pixfrac, background=background)

        x, y, common = self._on_image(image)
        return scoring.score_astrometry(
            image.sci,
            x,
            y,
            self.stars.rate,
            fwhm_px=fwhm,
            expected_noise=self.centroid_noise * self.detector_scale / scale,
            max_noise=astrometry_noise,
            centroid=centroid,
            **common,
        )

    def _on_image(self, image: Any) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """True star positions on ``image`` and the selection arguments of the scoring functions."""
        stars, scale = self.stars, image.pixel_scale
        x, y = image.pixel(stars.ra, stars.dec)
        ox, oy = image.pixel(stars.others_ra, stars.others_dec)
        common = dict(
            wht=image.wht,
            others_x=ox,
            others_y=oy,
            others_extent=stars.others_extent / scale,
            others_rate=stars.others_rate,
            contrast=NEIGHBOUR_CONTRAST,
            max_rate=self.max_rate,
        )
        return x, y, common
