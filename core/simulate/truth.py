"""The truth of a simulated visit, and the score of a tool's products against it.

:class:`VisitTruth` reads what the simulator wrote beside a visit (catalogue,
positions, cosmic-ray charge) once, and :meth:`VisitTruth.score` scores the
products a tool left in a directory with :mod:`drizrun.core.simulate.scoring`:
cosmic-ray masks, photometry and astrometry of the drizzled image. The visit
benchmark and the end-to-end tests use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["VisitTruth"]


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
        from drizrun.core.simulate.profiles2d import psf_stamp

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

    def score(self, workdir: Path, scores: dict[str, Any]) -> dict[str, Any]:
        """Fill ``scores`` with what the products in ``workdir`` allow (kept up to a failure).

        Parameters
        ----------
        workdir : Path
            Directory holding a tool's products for this visit.
        scores : dict
            Filled in place: ``"cr"`` (:class:`~drizrun.core.simulate.scoring.CosmicRayScore`),
            ``"image"`` (the drizzled image), ``"phot"`` and ``"astro"``.

        Returns
        -------
        dict
            ``scores``.
        """
        from drizrun.core.simulate import scoring

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
        x, y = image.pixel(stars.ra, stars.dec)
        ox, oy = image.pixel(stars.others_ra, stars.others_dec)
        common = dict(
            wht=image.wht,
            others_x=ox,
            others_y=oy,
            others_extent=stars.others_extent / scale,
            max_rate=self.max_rate,
        )
        radius, r_in, r_out = 3.0 * fwhm, 4.0 * fwhm, 6.0 * fwhm
        fraction = scoring.expected_aperture_fraction(
            radius,
            r_in,
            r_out,
            pixel_scale=scale,
            fwhm_arcsec=self.profile.psf_fwhm,
            detector_scale=self.detector_scale,
            pixfrac=1.0,
        )
        scores["phot"] = scoring.score_photometry(
            image.sci,
            x,
            y,
            stars.rate,
            radius=radius,
            r_in=r_in,
            r_out=r_out,
            aperture_fraction=fraction,
            min_snr=20.0,
            exptime=image.exptime,
            **common,
        )
        scores["astro"] = scoring.score_astrometry(image.sci, x, y, stars.rate, fwhm_px=fwhm, min_snr=100.0, **common)
        return scores


