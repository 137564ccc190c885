"""Sky levels (localmin, globalmin, match, globalmin+match) against known truth.

The synthetic scene: chips of 64x64 pixels on one tangent plane, dithered by
a few pixels (one rotated, one with SIP distortion, one with a finer pixel
scale, one exposure of two chips of which the second overlaps nothing),
each exposure with its own constant sky per square arcsecond, Gaussian noise,
and stars and a galaxy placed on the sky, so they appear at the same place in
every chip that sees them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from drizrun.plugins.stages.skyalgo import (
    SkyChip,
    SkyStat,
    chip_sky,
    compute_sky,
    global_min_match_sky,
    global_min_sky,
    local_min_sky,
    match_sky,
    sampling_step,
    wcs_pixel_area,
)

RA0, DEC0 = 150.0, 2.0
SHAPE = (64, 64)
NOISE = 0.02  # per pixel of 0.01 arcsec^2, where the sky is about 1 per pixel

# the tangent plane, 1 arcsec per unit: positions of chips and sources
PLANE = WCS(naxis=2)
PLANE.wcs.ctype = ["RA---TAN", "DEC--TAN"]
PLANE.wcs.crval = [RA0, DEC0]
PLANE.wcs.crpix = [1.0, 1.0]  # 0-based pixel (0, 0) at the reference point
PLANE.wcs.cdelt = [-1 / 3600, 1 / 3600]

# (x, y arcsec, peak per arcsec^2, sigma arcsec)
STARS = [(0.5, 0.8, 4000.0, 0.1), (-2.0, 1.5, 8000.0, 0.1), (1.7, -2.2, 3000.0, 0.1),
         (-1.1, -0.9, 6000.0, 0.1), (9.0, 0.3, 5000.0, 0.1), (40.5, -1.0, 5000.0, 0.1)]
GALAXY = (0.2, -0.1, 2000.0, 0.3)  # bright extended source in the common overlap


def chip_wcs(x: float, y: float, *, scale: float = 0.1, rot: float = 0.0, sip: bool = False) -> WCS:
    """TAN (or TAN-SIP) WCS of a 64x64 chip whose centre is at plane position (x, y) arcsec."""
    t = math.radians(rot)
    cd = scale / 3600 * np.array([[-math.cos(t), math.sin(t)], [math.sin(t), math.cos(t)]])
    centre = np.array([(SHAPE[1] + 1) / 2, (SHAPE[0] + 1) / 2])
    offset = np.array([-x, y]) / 3600  # intermediate world coordinates; PLANE's x grows westward
    crpix = centre - np.linalg.solve(cd, offset)
    hdr = fits.Header()
    hdr["CTYPE1"], hdr["CTYPE2"] = ("RA---TAN-SIP", "DEC--TAN-SIP") if sip else ("RA---TAN", "DEC--TAN")
    hdr["CRVAL1"], hdr["CRVAL2"] = RA0, DEC0
    hdr["CRPIX1"], hdr["CRPIX2"] = crpix
    hdr["CD1_1"], hdr["CD1_2"], hdr["CD2_1"], hdr["CD2_2"] = cd.ravel()
    hdr["NAXIS1"], hdr["NAXIS2"] = SHAPE[1], SHAPE[0]
    if sip:
        hdr["A_ORDER"] = hdr["B_ORDER"] = 2
        hdr["A_2_0"], hdr["A_0_2"], hdr["B_1_1"], hdr["B_0_2"] = 2e-4, -1e-4, 1.5e-4, 1e-4
    wcs = WCS(hdr, naxis=2)
    wcs.pixel_shape = (SHAPE[1], SHAPE[0])
    return wcs


def render(wcs: WCS, sky_per_area: float, rng: np.random.Generator, *, sources=(), noise=NOISE):
    """Chip pixels: the sky and the sources (per arcsec^2) times the pixel area, plus noise."""
    area = wcs_pixel_area(wcs)
    yy, xx = np.indices(SHAPE, dtype=float)
    px, py = PLANE.all_world2pix(*wcs.all_pix2world(xx, yy, 0), 0)
    image = np.full(SHAPE, sky_per_area)
    for x, y, peak, sigma in sources:
        image += peak * np.exp(-((px - x) ** 2 + (py - y) ** 2) / (2 * sigma**2))
    return image * area + rng.normal(0.0, noise * area / 0.01, SHAPE)


def make_chip(wcs, sky, rng, *, sources=(*STARS, GALAXY), label="", noise=NOISE) -> SkyChip:
    data = render(wcs, sky, rng, sources=sources, noise=noise)
    return SkyChip(data=data, good=np.ones(SHAPE, bool), wcs=wcs, pixel_area=wcs_pixel_area(wcs), label=label)


# sky per arcsec^2 of every exposure of the scene
TRUTH = [100.0, 130.0, 80.0, 110.0, 95.0]


def build_scene(sources, seed: int) -> list[list[SkyChip]]:
    rng = np.random.default_rng(seed)
    e0 = [make_chip(chip_wcs(0.0, 0.0), TRUTH[0], rng, sources=sources, label="e0")]
    e1 = [make_chip(chip_wcs(0.5, 0.3, sip=True), TRUTH[1], rng, sources=sources, label="e1")]
    e2 = [make_chip(chip_wcs(-0.4, 0.6, rot=10.0, scale=0.08), TRUTH[2], rng, sources=sources, label="e2")]
    e3 = [make_chip(chip_wcs(0.8, -0.5), TRUTH[3], rng, sources=sources, label="e3a"),
          # second chip 7 arcsec away: overlaps no other exposure
          make_chip(chip_wcs(7.4, -0.5), TRUTH[3], rng, sources=sources, label="e3b")]
    e4 = [make_chip(chip_wcs(40.0, 0.0), TRUTH[4], rng, sources=sources, label="e4")]  # overlaps nothing
    return [e0, e1, e2, e3, e4]


@pytest.fixture(scope="module")
def scene() -> list[list[SkyChip]]:
    """Stars and a bright galaxy in the overlaps: they raise whole-chip statistics a little."""
    return build_scene((*STARS, GALAXY), 42)


@pytest.fixture(scope="module")
def starfield() -> list[list[SkyChip]]:
    """Only compact stars: whole-chip statistics see the sky."""
    return build_scene(STARS, 43)


def median_error(npix: int, noise_per_area: float = NOISE / 0.01) -> float:
    return 1.25 * noise_per_area / math.sqrt(npix)


def test_local_min_recovers_each_exposure_sky(starfield):
    scene = starfield
    result = local_min_sky(scene)
    assert result.method == "localmin"
    for value, truth, own in zip(result.sky, TRUTH, result.own, strict=True):
        npix = min(c.npix for c in own.chips)
        assert value == pytest.approx(truth, abs=5 * median_error(npix))
    assert all(r == "" for r in result.reasons)
    # the finer pixels of e2 hold less sky each: per area they agree with the truth above
    per_pixel = result.per_pixel(scene)
    assert per_pixel[2][0] == pytest.approx(TRUTH[2] * 0.08**2, rel=2e-3)
    assert per_pixel[3] == pytest.approx([TRUTH[3] * 0.01] * 2, rel=2e-3)


def test_global_min_is_the_lowest_exposure_sky(starfield):
    scene = starfield
    result = global_min_sky(scene)
    assert result.sky == pytest.approx([80.0] * 5, abs=0.2)
    assert len(set(result.sky)) == 1
    assert result.per_pixel(scene)[0][0] == pytest.approx(result.sky[0] * 0.01)


def test_match_recovers_relative_offsets_and_reports_the_isolated_exposure(scene):
    m = match_sky(scene)
    assert m.solved == (True, True, True, True, False)
    assert m.group == (0, 0, 0, 0, -1)
    assert not m.connected
    assert m.rank == 3  # four linked exposures
    assert "overlaps no other exposure" in m.reasons[4]
    assert math.isnan(m.delta[4])
    assert m.reasons[:4] == ("", "", "", "")
    # gauge: the darkest matched exposure has delta 0
    assert min(m.delta[:4]) == 0.0
    expected = np.array(TRUTH[:4]) - min(TRUTH[:4])
    np.testing.assert_allclose(m.delta[:4], expected, atol=1.0)
    # every pair of the first four overlaps (the galaxy and stars sit in the overlaps)
    assert {(p.i, p.j) for p in m.pairs if p.used} == {(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)}
    assert "unsolved exposures [4]" in m.summary()


def test_global_min_plus_match(scene):
    result = global_min_match_sky(scene)
    own = [e.value for e in result.own]
    # sky_i = delta_i + min_k(own_k - delta_k) over the matched group
    base = min(own[k] - result.match.delta[k] for k in range(4))
    assert result.sky[:4] == pytest.approx([result.match.delta[k] + base for k in range(4)])
    np.testing.assert_allclose(result.sky[:4], TRUTH[:4], atol=1.0)
    # the unmatched exposure keeps its own sky, and says so
    assert result.sky[4] == own[4]
    assert "not matched" in result.reasons[4]
    assert compute_sky(scene, "globalmin+match").sky == pytest.approx(result.sky, nan_ok=True)


def test_masked_and_nan_pixels_never_enter_the_statistics(scene, starfield):
    rng = np.random.default_rng(7)
    absurd, clean = [], []
    for chips in scene[:4]:
        a_chips, c_chips = [], []
        for c in chips:
            good = rng.random(SHAPE) > 0.2
            good[10:30, 5:40] = False  # a large masked block
            junk = c.data.copy()
            junk[~good] = rng.choice([1e6, -1e6, 50.0, -3.0], size=int((~good).sum()))
            a_chips.append(SkyChip(junk, good, c.wcs, c.pixel_area, c.label))
            c_chips.append(SkyChip(c.data, good, c.wcs, c.pixel_area, c.label))
        absurd.append(a_chips)
        clean.append(c_chips)
    for method in ("localmin", "globalmin", "match", "globalmin+match"):
        assert compute_sky(absurd, method).sky == compute_sky(clean, method).sky
    np.testing.assert_allclose(compute_sky(absurd, "globalmin+match").sky, TRUTH[:4], atol=1.0)

    # NaN and infinite values count as masked even where `good` says otherwise
    with_nan = []
    for chips in starfield[:4]:
        out = []
        for c in chips:
            data = c.data.copy()
            data[::3, ::2] = np.nan
            data[5, 5] = np.inf
            out.append(SkyChip(data, np.ones(SHAPE, bool), c.wcs, c.pixel_area))
        with_nan.append(out)
    local = local_min_sky(with_nan)
    np.testing.assert_allclose(local.sky, TRUTH[:4], atol=0.3)
    m = match_sky(with_nan)
    np.testing.assert_allclose(m.delta, np.array(TRUTH[:4]) - 80.0, atol=1.0)


def test_exposure_without_usable_pixels_gives_nan_with_a_reason(starfield):
    scene = starfield
    dead = [SkyChip(c.data, np.zeros(SHAPE, bool), c.wcs, c.pixel_area, "dead") for c in scene[1]]
    exposures = [scene[0], dead, scene[2]]
    local = local_min_sky(exposures)
    assert math.isnan(local.sky[1])
    assert "no usable sky pixel" in local.reasons[1] and "dead" in local.reasons[1]
    glob = global_min_sky(exposures)
    assert glob.sky[1] == glob.sky[0] == pytest.approx(80.0, abs=0.2)
    assert "global minimum" in glob.reasons[1]
    m = match_sky(exposures)
    assert m.solved == (True, False, True)
    assert "no usable sky pixel" in m.reasons[1]
    both = global_min_match_sky(exposures, match=m)
    assert math.isnan(both.sky[1]) and both.reasons[1]
    # all NaN data: same outcome, no exception
    nan_chip = SkyChip(np.full(SHAPE, np.nan), np.ones(SHAPE, bool), scene[0][0].wcs, 0.01)
    assert math.isnan(chip_sky(nan_chip).value)
    assert math.isnan(global_min_sky([[nan_chip]]).sky[0])


def test_pixel_areas_are_compared_per_unit_area():
    rng = np.random.default_rng(3)
    # chip a: 0.1" pixels, 1.0 per pixel = 100 per arcsec^2;
    # chip b: 0.08" pixels, 0.7 per pixel = 109.4 per arcsec^2 (lower per pixel, higher per area)
    a = make_chip(chip_wcs(0, 0), 100.0, rng, sources=())
    b = make_chip(chip_wcs(7.0, 0, scale=0.08), 0.7 / 0.0064, rng, sources=())
    result = local_min_sky([[a, b]])
    assert result.sky[0] == pytest.approx(100.0, abs=0.3)
    assert result.per_pixel([[a, b]])[0] == pytest.approx([1.0, 0.64], rel=3e-3)
    assert b.per_area(b.per_pixel(12.5)) == pytest.approx(12.5)


def test_overlap_follows_the_real_outline_not_the_bounding_box():
    rng = np.random.default_rng(5)
    a = make_chip(chip_wcs(0, 0), 100.0, rng, sources=())
    # a chip rotated by 45 degrees, centred 6 arcsec up and right: its bounding box on the sky
    # covers the corner of `a`, the chip itself does not
    b = make_chip(chip_wcs(6.0, 6.0, rot=45.0), 120.0, rng, sources=())
    c = make_chip(chip_wcs(4.0, 4.0, rot=45.0), 150.0, rng, sources=())  # closer: overlaps
    m = match_sky([[a], [b]], step=1)
    assert m.solved == (False, False) and m.pairs == ()
    m = match_sky([[a], [c]], step=2, min_pixels=5)
    assert m.solved == (True, True)
    assert m.delta == pytest.approx((0.0, 50.0), abs=3.0)


def test_disconnected_groups_are_matched_separately_and_reported():
    rng = np.random.default_rng(11)
    left = [[make_chip(chip_wcs(x, 0), s, rng, sources=STARS)] for x, s in ((0.0, 100.0), (0.6, 90.0))]
    right = [[make_chip(chip_wcs(x, 0), s, rng, sources=())] for x, s in ((30.0, 140.0), (30.5, 120.0))]
    m = match_sky([*left, *right])
    assert m.solved == (True,) * 4
    assert m.groups == ((0, 1), (2, 3))
    assert m.rank == 2 and not m.connected
    assert all("2 disconnected groups" in r for r in m.reasons)
    np.testing.assert_allclose(m.delta, [10.0, 0.0, 20.0, 0.0], atol=1.0)
    both = global_min_match_sky([*left, *right], match=m)
    np.testing.assert_allclose(both.sky, [100.0, 90.0, 140.0, 120.0], atol=1.0)


def test_thin_overlaps_do_not_enter_the_system():
    rng = np.random.default_rng(13)
    a = make_chip(chip_wcs(0, 0), 100.0, rng, sources=())
    b = make_chip(chip_wcs(6.2, 0), 100.0, rng, sources=())  # overlaps a by 0.2" = 2 columns
    m = match_sky([[a], [b]], step=4)
    assert m.solved == (False, False)
    assert len(m.pairs) == 1 and not m.pairs[0].used
    assert "fewer than 25" in m.reasons[0]


def test_box_sky_ignores_a_galaxy_filling_most_of_the_chip():
    rng = np.random.default_rng(17)
    big = (-1.0, -1.0, 100.0, 1.2)  # as bright as the sky at its centre, most of the chip above the sky
    chip = make_chip(chip_wcs(0, 0), 100.0, rng, sources=[big])
    whole = chip_sky(chip)
    boxed = chip_sky(chip, box=16)
    assert whole.value > 105.0  # the whole-chip median sits on the galaxy
    assert boxed.value == pytest.approx(100.0, abs=1.0)
    assert boxed.npix <= 16 * 16


@pytest.mark.parametrize("backend", ["pythran", "python"])
def test_sampled_pixel_map_is_the_full_map_subsampled(backend, monkeypatch):
    import drizrun.kernels
    from drizrun.core.geometry.pixmap import calc_pixmap
    from drizrun.plugins.stages.skyalgo import _sampled_pixmap

    monkeypatch.setattr(drizrun.kernels, "kernel_backend", lambda name: backend)
    rng = np.random.default_rng(23)
    a = make_chip(chip_wcs(0.5, 0.3, sip=True), 100.0, rng, sources=())
    b = make_chip(chip_wcs(-0.4, 0.6, rot=10.0, scale=0.08), 100.0, rng, sources=())
    full = calc_pixmap(a.wcs, b.wcs, SHAPE, method="astropy")
    for step in (3, 4):
        o = step // 2
        np.testing.assert_allclose(_sampled_pixmap(a, b, step), full[o::step, o::step], atol=1e-6)


def test_statistic_settings_and_validation():
    rng = np.random.default_rng(19)
    chip = make_chip(chip_wcs(0, 0), 100.0, rng, sources=())
    for statistic in ("mean", "median", "mode"):
        assert chip_sky(chip, stat=SkyStat(statistic=statistic)).value == pytest.approx(100.0, abs=1.0)
    # hard limits in per-pixel data units
    assert chip_sky(chip, stat=SkyStat(lower=1.0, nclip=0)).value > 100.0
    assert "no usable" in chip_sky(chip, stat=SkyStat(lower=5.0)).reason
    with pytest.raises(ValueError, match="unknown sky statistic"):
        SkyStat(statistic="midpt")
    with pytest.raises(ValueError, match="good mask shape"):
        SkyChip(np.zeros((4, 4)), np.ones((4, 5), bool), chip.wcs, 0.01)
    with pytest.raises(ValueError, match="pixel_area"):
        SkyChip(np.zeros((4, 4)), np.ones((4, 4), bool), chip.wcs, 0.0)
    with pytest.raises(ValueError, match="unknown sky method"):
        compute_sky([[chip]], "median")


def test_scaled_chips_give_the_same_sky_as_converted_ones(scene):
    """Data kept in their own units with a scale factor (as the stage passes memory maps) match converted data."""
    factors = [0.5, 2.0, 3.0, 0.25, 1.5]
    scaled = [[SkyChip(c.data / f, c.good, c.wcs, c.pixel_area, c.label, scale=f) for c in chips]
              for chips, f in zip(scene, factors, strict=True)]
    for method in ("localmin", "match"):
        plain = compute_sky(scene, method)
        other = compute_sky(scaled, method)
        np.testing.assert_allclose(other.sky, plain.sky, rtol=1e-6, atol=1e-6)


def test_sampling_step_keeps_chips_within_the_sample_budget():
    assert sampling_step((2048, 4096), 4, 0) == 4  # no limit
    assert sampling_step((1024, 2048), 4, 2**17) == 4  # 131072 samples at step 4: within
    assert sampling_step((2048, 4096), 4, 2**17) == 8  # a full ACS/WFC chip: 4x fewer samples
    assert sampling_step((64, 64), 4, 10) == 21
    for shape, step, budget in [((2051, 4096), 4, 2**17), ((1014, 1014), 2, 5000), ((100, 7), 1, 33)]:
        s = sampling_step(shape, step, budget)
        assert s >= step and shape[0] * shape[1] <= budget * s * s
        assert s == step or shape[0] * shape[1] > budget * (s - 1) ** 2  # the smallest such step


def test_match_on_threads_gives_the_same_result(scene):
    one = global_min_match_sky(scene, num_cores=1)
    two = global_min_match_sky(scene, num_cores=3)
    assert two.sky == pytest.approx(one.sky, nan_ok=True, rel=0, abs=0)
    assert two.match.pairs == one.match.pairs
    assert two.reasons == one.reasons


def test_sample_budget_coarsens_the_matching_but_keeps_the_offsets(scene):
    fine = match_sky(scene, step=1)
    coarse = match_sky(scene, step=1, max_samples=400)  # 64x64 chips sampled every 4th pixel
    used = [p for p in coarse.pairs if p.used]
    fine_npix = {(p.i, p.j): p.npix_i for p in fine.pairs}
    # about 16 times fewer pairs of pixels per exposure pair
    assert all(p.npix_i < fine_npix[(p.i, p.j)] / 8 for p in used)
    expected = np.array(TRUTH[:4]) - min(TRUTH[:4])
    np.testing.assert_allclose(coarse.delta[:4], expected, atol=2.0)
    np.testing.assert_allclose(coarse.delta[:4], fine.delta[:4], atol=2.0)
