"""The demo with stages installed, and its cosmic-ray score against the truth."""

from __future__ import annotations

import attrs
import numpy as np
from astropy.io import fits

import drizrun
from drizrun.core.demo import DETECTABLE_SIGMA, format_demo, run_demo, score_cr_masks
from drizrun.core.simulate import PROFILES


def test_demo_runs_every_installed_stage(tmp_path):
    session = drizrun.Session.create(autoload=False, plugins=["fake_plugins.chain"])
    report = run_demo(tmp_path / "demo", session=session, seed=2)
    installed = [name for name in drizrun.CANONICAL_STAGES if name in session.stages]
    assert len(installed) >= 5
    assert [name for name, *_ in report.stages] == installed
    assert all(status == "ok" for _, status, *_ in report.stages)
    assert report.missing == tuple(name for name in drizrun.CANONICAL_STAGES if name not in installed)
    text = format_demo(report)
    assert "STAGE" in text and "final" in text
    assert ("not installed" in text) == bool(report.missing)
    assert report.instrument == "WFC3/UVIS" and len(report.exposures) == 4


def test_cr_score_against_the_truth(uvis_visit):
    noise = PROFILES["WFC3/UVIS"].mean_read_noise
    perfect, half, noisy = {}, {}, {}
    for path in uvis_visit.cr_masks:
        with fits.open(path) as hdul:
            root = hdul[0].header["ROOTNAME"]
            for ver in (1, 2):
                charge = hdul["CRCHARGE", ver].data
                significant = charge > DETECTABLE_SIGMA * noise
                perfect[f"{root}_sci{ver}_crmask"] = significant
                rows = np.arange(charge.shape[0])[:, None] < charge.shape[0] // 2
                half[f"{root}_sci{ver}"] = significant & rows
                wrong = np.zeros_like(significant)
                wrong[0, :10] = charge[0, :10] == 0
                noisy[f"{root}.{ver}"] = significant | wrong
    score = score_cr_masks(perfect, uvis_visit.cr_masks, noise=noise)
    assert score.completeness == 1.0 and score.false == 0 and score.found == score.detectable > 100
    assert 0.3 < score_cr_masks(half, uvis_visit.cr_masks, noise=noise).completeness < 0.7
    assert score_cr_masks(noisy, uvis_visit.cr_masks, noise=noise).false > 0
    assert score_cr_masks({"unrelated": np.zeros((2, 2))}, uvis_visit.cr_masks, noise=noise) is None


class _ThresholdCr:
    """A crude stand-in ``cr`` stage: flags pixels far above the median (stars included)."""

    name = "cr"
    params = attrs.make_class("CrParams", {}, frozen=True)
    requires: tuple[str, ...] = ()
    provides = ("crmask",)
    min_inputs = 2

    def run(self, ctx, params):
        masks = {}
        for path in ctx.inputs:
            with fits.open(path) as hdul:
                root = hdul[0].header["ROOTNAME"]
                for hdu in hdul[1:]:
                    if hdu.name == "SCI":
                        data = hdu.data.astype(float)
                        # the crmask convention: 1 = good, 0 = cosmic ray
                        masks[f"{root}_sci{hdu.ver}"] = (data <= np.median(data) + 15 * 3.1).astype(np.uint8)
        ctx.artifacts.put("crmask", masks, stage=self.name)
        return drizrun.StageResult(message=f"{sum(int(m.sum()) for m in masks.values())} pixels flagged")


class _CrPlugin:
    @staticmethod
    @drizrun.hookimpl
    def drizrun_register_stages(registry):
        registry.add(_ThresholdCr())


def test_demo_scores_a_cr_stage_against_the_truth(tmp_path):
    session = drizrun.Session.create(autoload=False, plugins=[_CrPlugin()], block=drizrun.CANONICAL_STAGES)
    report = run_demo(tmp_path / "demo", session=session)
    assert [name for name, *_ in report.stages] == ["cr"]
    cr = report.cr
    assert cr is not None and cr.detectable > 500
    assert 0.3 < cr.completeness <= 1.0
    assert cr.found >= cr.recovered
    assert "cosmic rays: " in format_demo(report)
