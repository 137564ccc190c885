"""The seven built-in stages end to end on small simulated visits."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

import drizrun
from drizrun.core.errors import ConfigError
from drizrun.core.simulate import simulate

CHIP_SHAPE = (128, 256)


def _digest(paths: list[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


@pytest.fixture(scope="module")
def visit(tmp_path_factory: pytest.TempPathFactory):
    return simulate("WFC3/UVIS", 4, tmp_path_factory.mktemp("uvis"), seed=11, chip_shape=CHIP_SHAPE)


@pytest.fixture(scope="module")
def full_run(visit):
    before = _digest(list(visit.exposures))
    result = drizrun.run([visit.association], output=visit.association.parent / "out" / "visit")
    return result, before


def test_every_stage_runs_and_inputs_stay_byte_identical(visit, full_run):
    result, before = full_run
    assert [r.stage for r in result.history] == ["static", "sky", "sep", "median", "blot", "cr", "final"]
    assert all(r.status == "ok" for r in result.history), [(r.stage, r.message) for r in result.history]
    assert _digest(list(visit.exposures)) == before


def test_intermediate_products_have_astrodrizzle_names(visit, full_run):
    result, _ = full_run
    out = result.config.output_dir
    for exposure in visit.exposures:
        root = fits.getheader(exposure)["ROOTNAME"].strip()
        assert (out / f"{root}_single_sci.fits").is_file()
        assert (out / f"{root}_single_wht.fits").is_file()
        for n in (1, 2):
            assert (out / f"{root}_sci{n}_blt.fits").is_file()
            mask = fits.getdata(out / f"{root}_sci{n}_crmask.fits")
            assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 1}
    assert (out / "visit_med.fits").is_file()


def test_drz_product_layout_and_provenance(visit, full_run):
    result, _ = full_run
    drz = result.config.output_dir / "visit_drz.fits"
    assert drz in result.products
    with fits.open(drz) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "SCI", "WHT", "CTX", "ERR"]
        primary = hdul[0].header
        assert primary["NDRIZIM"] == 8
        assert primary["TEXPTIME"] == pytest.approx(4 * fits.getheader(visit.exposures[0])["EXPTIME"])
        assert primary["EXPEND"] > primary["EXPSTART"]
        assert primary["DRIZRUN"] == drizrun.__version__
        for key in ("DATA", "DEXP", "KERN", "PIXF", "SCAL", "WTSC", "OUUN", "FVAL", "EXPT"):
            assert f"D008{key}" in primary
        assert primary["D001KERN"] == "square"
        assert any("final.kernel" in str(h) or "kernel =" in str(h) for h in primary["HISTORY"])
        sci = hdul["SCI"]
        assert sci.data.dtype.newbyteorder("=") == np.float32 and sci.header["BUNIT"] == "ELECTRONS/S"
        assert hdul["CTX"].data.dtype.newbyteorder("=") == np.int32
        # every chip contributes a distinct context bit
        bits = np.bitwise_or.reduce(hdul["CTX"].data.ravel())
        assert bits == 2**8 - 1
        # NaN exactly where nothing landed
        assert np.array_equal(np.isnan(sci.data), hdul["WHT"].data == 0)
        err = hdul["ERR"].data
        covered = hdul["WHT"].data > 0
        assert np.all(np.isfinite(err[covered])) and np.all(err[covered] > 0)
        # clean WCS: no distortion left on SCI
        for key in ("A_ORDER", "B_ORDER", "CPDIS1", "D2IMDIS1", "CTYPE1"):
            if key == "CTYPE1":
                assert sci.header[key] == "RA---TAN"
            else:
                assert key not in sci.header
        assert not WCS(sci.header).has_distortion


def _covered_by_others(exposures, index: int, chip: int, shape) -> np.ndarray:
    """How many other exposures see each pixel of one chip."""
    from drizrun.core.geometry import calc_pixmap

    with fits.open(exposures[index]) as hdul:
        wcs = WCS(hdul["SCI", chip].header, hdul)
    count = np.zeros(shape, dtype=int)
    for j, other in enumerate(exposures):
        if j == index:
            continue
        with fits.open(other) as hdul:
            seen = np.zeros(shape, dtype=bool)
            for n in (1, 2):
                pm = calc_pixmap(wcs, WCS(hdul["SCI", n].header, hdul), shape)
                ny, nx = hdul["SCI", n].data.shape
                seen |= (pm[..., 0] > 0.5) & (pm[..., 0] < nx - 1.5) & (pm[..., 1] > 0.5) & (pm[..., 1] < ny - 1.5)
        count += seen
    return count


def test_cosmic_rays_found_against_truth(visit, full_run):
    """Where at least two other exposures see a pixel, strong cosmic rays are found; few false flags."""
    result, _ = full_run
    out = result.config.output_dir
    detectable = recovered = false = clean = 0
    for index, (exposure, truth_file) in enumerate(zip(visit.exposures, visit.cr_masks, strict=True)):
        root = fits.getheader(exposure)["ROOTNAME"].strip()
        with fits.open(truth_file) as truth:
            for n in (1, 2):
                charge = truth["CRCHARGE", n].data
                flagged = fits.getdata(out / f"{root}_sci{n}_crmask.fits") == 0
                model = np.nan_to_num(fits.getdata(out / f"{root}_sci{n}_blt.fits").astype(float))
                sigma = np.sqrt(np.clip(model, 0, None) + 3.2**2)
                covered = _covered_by_others(visit.exposures, index, n, charge.shape) >= 2
                strong = (charge > 5 * sigma) & covered
                detectable += int(strong.sum())
                recovered += int((strong & flagged).sum())
                false += int((flagged & (charge <= 0)).sum())
                clean += int((charge <= 0).sum())
    assert detectable > 200
    assert recovered / detectable > 0.97
    assert false / clean < 0.005


def test_default_sky_is_removed_and_match_alone_keeps_the_common_level(visit, full_run, tmp_path):
    result, _ = full_run
    sci = fits.getdata(result.config.output_dir / "visit_drz.fits", "SCI")
    # defaults match the exposures and remove the common sky (0.06 e-/s per pixel)
    assert abs(np.nanmedian(sci)) < 0.01
    drizrun.run([visit.association], output=tmp_path / "m", stages=["sky", "final"],
                settings=["sky.method=match", "final.kernel=turbo"])
    assert np.nanmedian(fits.getdata(tmp_path / "m_drz.fits", "SCI")) == pytest.approx(0.06, abs=0.01)


def test_in_memory_writes_only_the_final_product(visit, tmp_path):
    result = drizrun.run([visit.association], output=tmp_path / "mem", in_memory=True,
                         params={"final": {"kernel": "turbo"}, "sep": {"kernel": "turbo"}})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mem_drz.fits"]
    assert all(r.status == "ok" for r in result.history)


def test_in_memory_and_on_disk_give_the_same_product(visit, tmp_path):
    # the stages lend work arrays from run to stage; images kept in memory must never be among them
    settings = {"final": {"kernel": "turbo"}, "sep": {"kernel": "turbo"}}
    drizrun.run([visit.association], output=tmp_path / "disk", params=settings, num_cores=2)
    drizrun.run([visit.association], output=tmp_path / "mem", in_memory=True, params=settings, num_cores=2)
    with fits.open(tmp_path / "disk_drz.fits") as disk, fits.open(tmp_path / "mem_drz.fits") as mem:
        for name in ("SCI", "WHT", "CTX", "ERR"):
            np.testing.assert_array_equal(mem[name].data, disk[name].data, err_msg=name)
        assert np.isfinite(disk["SCI"].data).any()


def test_in_memory_the_single_data_go_after_the_median_and_the_weights_after_cr(visit, tmp_path):
    held = {}

    class Watcher:
        @drizrun.hookimpl
        def drizrun_stage_finished(self, stage, ctx, result):
            held[stage.name] = ctx.artifacts.names()

    session = drizrun.Session.create(plugins=[Watcher()])
    settings = {"final": {"kernel": "turbo"}, "sep": {"kernel": "turbo"}}
    drizrun.run([visit.association], output=tmp_path / "mem", in_memory=True, params=settings, session=session)
    assert {"single", "single_weight"} <= set(held["median"])
    # from blot on the single drizzles' data are gone; cr still has their weights
    assert "single" not in held["blot"] and "single_weight" in held["cr"]
    assert "single_weight" not in held["final"]


def test_cr_reads_the_weights_of_the_single_drizzles(visit, tmp_path):
    settings = {"final": {"kernel": "turbo"}, "sep": {"kernel": "turbo"}}
    drizrun.run([visit.association], output=tmp_path / "w", params=settings)
    manifest = json.loads((tmp_path / "w_artifacts.json").read_text())
    weights = manifest["artifacts"]["single_weight"]
    assert sorted(weights["files"]) == sorted(f for f in manifest["artifacts"]["single"]["files"]
                                              if f.endswith("_single_wht.fits"))
    # without them cr has no coverage counts and the single-image test covers every pixel
    (tmp_path / "w_single_weight.json").unlink()
    masks = sorted(tmp_path.glob("*_crmask.fits"))
    before = [fits.getdata(m) for m in masks]
    drizrun.run([visit.association], output=tmp_path / "w", stages=["cr"], params=settings)
    after = [fits.getdata(m) for m in masks]
    assert any((a != b).any() for a, b in zip(after, before, strict=True))


def test_clean_removes_every_intermediate_file(visit, tmp_path):
    drizrun.run([visit.association], output=tmp_path / "c", clean=True,
                params={"final": {"kernel": "turbo"}, "sep": {"kernel": "turbo"}})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c_drz.fits"]


def test_resume_from_artifacts_on_disk(visit, tmp_path):
    settings = {"final": {"kernel": "turbo"}, "sep": {"kernel": "turbo"}}
    drizrun.run([visit.association], output=tmp_path / "r", params=settings)
    first = fits.getdata(tmp_path / "r_drz.fits", "SCI")
    again = drizrun.run([visit.association], output=tmp_path / "r", stages=["cr", "final"], params=settings)
    assert [r.stage for r in again.history] == ["cr", "final"]
    np.testing.assert_array_equal(fits.getdata(tmp_path / "r_drz.fits", "SCI"), first)


def test_update_input_dq_only_when_asked(tmp_path):
    visit = simulate("WFC3/UVIS", 2, tmp_path / "in", seed=5, chip_shape=(64, 128))
    before = [fits.getdata(p, "DQ", 1).copy() for p in visit.exposures]
    drizrun.run([visit.association], output=tmp_path / "o", stages=["cr"],
                settings=["cr.update_input_dq=true", "sep.kernel=turbo"])
    masks = [fits.getdata(tmp_path / f"{fits.getheader(p)['ROOTNAME'].strip()}_sci1_crmask.fits") == 0
             for p in visit.exposures]
    for path, old, cr in zip(visit.exposures, before, masks, strict=True):
        new = fits.getdata(path, "DQ", 1)
        assert np.all(new[cr] & 4096)
        np.testing.assert_array_equal(new[~cr], old[~cr])


def test_non_overlapping_inputs_skip_median_blot_cr_but_final_runs(tmp_path):
    a = simulate("WFC3/UVIS", 1, tmp_path / "a", seed=1, chip_shape=(64, 128), visit=1)
    b = simulate("WFC3/UVIS", 1, tmp_path / "b", seed=2, chip_shape=(64, 128), visit=2, ra=150.1 + 0.004)
    result = drizrun.run([*a.exposures, *b.exposures], output=tmp_path / "apart",
                         settings=["sep.kernel=turbo", "final.kernel=turbo", "sky.method=localmin"])
    status = {r.stage: r.status for r in result.history}
    assert status["median"] == "skipped" and "do not overlap" in next(
        r.message for r in result.history if r.stage == "median")
    assert status["blot"] == "skipped" and status["cr"] == "skipped"
    assert status["final"] == "ok"
    assert (tmp_path / "apart_drz.fits").is_file()


def test_sky_user_value_and_file(visit, tmp_path):
    result = drizrun.run([visit.association], output=tmp_path / "u", stages=["sky"],
                         settings=["sky.method=user", "sky.user_value=7.5"])
    sky = json.loads((tmp_path / "u_sky.json").read_text())
    assert {v["computed"] for v in sky.values()} == {7.5}
    lines = [f"{p.name} 1.0 2.0" for p in visit.exposures]
    table = tmp_path / "sky.txt"
    table.write_text("# file sky1 sky2\n" + "\n".join(lines) + "\n")
    drizrun.run([visit.association], output=tmp_path / "f", stages=["sky"],
                settings=["sky.method=user", f"sky.user_file={table}"])
    sky = json.loads((tmp_path / "f_sky.json").read_text())
    assert {k[-1]: v["computed"] for k, v in sky.items()} == {"1": 1.0, "2": 2.0}
    assert result.history[0].status == "ok"


def test_sky_localmin_recovers_the_simulated_sky(visit, tmp_path):
    drizrun.run([visit.association], output=tmp_path / "s", stages=["sky"], settings=["sky.method=localmin"])
    sky = json.loads((tmp_path / "s_sky.json").read_text())
    exptime = fits.getheader(visit.exposures[0])["EXPTIME"]
    values = np.array([v["computed"] for v in sky.values()]) / exptime  # data in electrons
    assert np.all(np.abs(values - 0.06) < 0.006)


def test_user_sky_without_a_value_is_a_config_error(visit, tmp_path):
    with pytest.raises(ConfigError, match="user_value or sky.user_file"):
        drizrun.run([visit.association], output=tmp_path / "x", stages=["sky"], settings=["sky.method=user"])


@pytest.mark.parametrize("wht_type", ["ERR", "IVM"])
def test_final_weight_types(visit, tmp_path, wht_type):
    drizrun.run([visit.association], output=tmp_path / "w", stages=["final"],
                settings=[f"final.wht_type={wht_type}", "final.kernel=turbo"])
    with fits.open(tmp_path / "w_drz.fits") as hdul:
        wht = hdul["WHT"].data
        assert hdul[0].header["D001WTSC"] == wht_type
        assert np.all(np.isfinite(wht)) and wht.max() > 0


def test_counts_units_scale_by_total_exposure_time(visit, tmp_path):
    base = ["final.kernel=turbo"]
    drizrun.run([visit.association], output=tmp_path / "cps", stages=["final"], settings=base)
    drizrun.run([visit.association], output=tmp_path / "cnt", stages=["final"], settings=[*base, "final.units=counts"])
    cps = fits.open(tmp_path / "cps_drz.fits")
    cnt = fits.open(tmp_path / "cnt_drz.fits")
    texp = cnt[0].header["TEXPTIME"]
    np.testing.assert_allclose(cnt["SCI"].data, cps["SCI"].data * texp, rtol=1e-5, equal_nan=True)
    assert cnt["SCI"].header["BUNIT"] == "ELECTRONS"


def test_bad_final_parameter_is_refused_before_any_work(visit, tmp_path):
    with pytest.raises(ConfigError, match="wht_type"):
        drizrun.run([visit.association], output=tmp_path / "bad", settings=["final.wht_type=EXPTIME"])
    assert not any(tmp_path.iterdir())


def test_photometry_and_astrometry_against_the_truth(tmp_path):
    """A larger visit scored like the visit benchmark, with looser bounds than its targets."""
    from drizrun.core.simulate.truth import VisitTruth

    visit = simulate("WFC3/UVIS", 4, tmp_path / "v", seed=21, chip_shape=(384, 768))
    drizrun.run([visit.association], output=tmp_path / "o" / visit.product, num_cores=2)
    scores = VisitTruth(visit).score(tmp_path / "o", {}, astrometry_noise=0.02)  # few bright stars here
    phot, astro, cr = scores["phot"], scores["astro"], scores["cr"]
    assert phot.n_stars >= 8 and astro.n_stars >= 3
    assert abs(phot.median_error) < 0.02
    assert astro.median_offset < 0.05
    # the drizzle model knows every pixel drizrun left out (its weights match WHT) and removes the phase error
    model = scores["astro_model"]
    assert model.n_stars == astro.n_stars
    assert model.median_offset < 0.02
    assert cr.completeness > 0.93
