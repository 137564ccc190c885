"""What VisitTruth derives from a simulated visit for the photometry and astrometry scores."""

from __future__ import annotations

import numpy as np

from drizrun.core.simulate.truth import VisitTruth


def test_cosmic_ray_charge_in_apertures_comes_only_from_cosmic_rays(uvis_visit, uvis_visit_without_cosmic_rays):
    with_cr = VisitTruth(uvis_visit)
    without = VisitTruth(uvis_visit_without_cosmic_rays)
    seen = without.n_exposures > 0
    assert np.all(without.cr_fraction[seen] == 0.0)
    assert np.all(np.isnan(without.cr_fraction[~seen]))
    hit = with_cr.cr_fraction[seen] > 0
    assert 0.05 < hit.mean() < 0.95  # some apertures are hit, not all
    # the same stars were seen by the same exposures in both visits
    assert np.array_equal(with_cr.n_exposures, without.n_exposures)
    assert with_cr.n_exposures.max() == 4


def test_expected_centroid_noise_falls_with_brightness_and_exposures(uvis_visit):
    truth = VisitTruth(uvis_visit)
    seen = truth.n_exposures > 0
    rate, noise, n_exp = truth.stars.rate[seen], truth.centroid_noise[seen], truth.n_exposures[seen]
    four = n_exp == 4
    order = np.argsort(rate[four])
    assert np.all(np.diff(noise[four][order]) <= 0)
    assert np.all(np.isinf(truth.centroid_noise[~seen]))
