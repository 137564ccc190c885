"""The demo with stages installed, and its cosmic-ray score against the truth."""

from __future__ import annotations

import numpy as np
from astropy.io import fits

import drizrun
from drizrun.core.demo import DETECTABLE_SIGMA, format_demo, run_demo, score_cr_masks
from drizrun.core.simulate import PROFILES


def test_demo_runs_every_installed_stage(tmp_path):
    session = drizrun.Session.create(autoload=False, plugins=["fake_plugins.chain"])
    report = run_demo(tmp_path / "demo", session=session, seed=2)
    assert [name for name, *_ in report.stages] == ["static", "sep", "median", "blot", "cr", "final"]
    assert all(status == "ok" for _, status, *_ in report.stages)
    assert report.missing == ("sky",)  # the fake chain has no sky stage
    text = format_demo(report)
    assert "STAGE" in text and "not installed: sky" in text and "final" in text
    assert report.instrument == "WFC3/UVIS" and len(report.exposures) == 4


def test_cr_score_against_the_truth(uvis_visit):
    read_noise = PROFILES["WFC3/UVIS"].mean_read_noise
    perfect, half, noisy = {}, {}, {}
    for path in uvis_visit.cr_masks:
        with fits.open(path) as hdul:
            root = hdul[0].header["ROOTNAME"]
            for ver in (1, 2):
                charge = hdul["CRCHARGE", ver].data
                significant = charge > DETECTABLE_SIGMA * read_noise
                perfect[f"{root}_sci{ver}_crmask"] = significant
                rows = np.arange(charge.shape[0])[:, None] < charge.shape[0] // 2
                half[f"{root}_sci{ver}"] = significant & rows
                wrong = np.zeros_like(significant)
                wrong[0, :10] = charge[0, :10] == 0
                noisy[f"{root}.{ver}"] = significant | wrong
    score = score_cr_masks(perfect, uvis_visit.cr_masks, read_noise=read_noise)
    assert score.completeness == 1.0 and score.false == 0 and score.found == score.detectable > 100
    assert 0.3 < score_cr_masks(half, uvis_visit.cr_masks, read_noise=read_noise).completeness < 0.7
    assert score_cr_masks(noisy, uvis_visit.cr_masks, read_noise=read_noise).false > 0
    assert score_cr_masks({"unrelated": np.zeros((2, 2))}, uvis_visit.cr_masks, read_noise=read_noise) is None
