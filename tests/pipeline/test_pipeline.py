"""drizrun-pipeline and drizrun.process: products, skipping, NEWPATH, the trailer, exit statuses."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
from pathlib import Path

import pytest
from astropy.io import fits

import drizrun
from drizrun.core.errors import InputError, ProcessingError, UsageError
from drizrun.core.pipeline import cli as pipeline_cli
from drizrun.core.pipeline import driver, workdir
from drizrun.core.pipeline.capture import LogCapture
from drizrun.core.pipeline.complete import check_product
from drizrun.core.pipeline.plan import resolve_input, trailer_location

FAST = ["sep.kernel=turbo", "final.kernel=turbo"]
FAST_ARGS = [arg for setting in FAST for arg in ("--set", setting)]


@pytest.fixture(scope="module")
def visit_dir(tmp_path_factory):
    """A 2-exposure WFC3/UVIS visit with both FLT and FLC files."""
    out = tmp_path_factory.mktemp("visit")
    visit = drizrun.simulate("WFC3/UVIS", 2, out, seed=3, chip_shape=(64, 128))
    drizrun.simulate("WFC3/UVIS", 2, out, seed=3, chip_shape=(64, 128), kind="flc")
    return out, visit.product


@pytest.fixture
def visit(visit_dir, tmp_path):
    """A private copy of the visit: (directory, product name, association table)."""
    source, product = visit_dir
    target = tmp_path / "visit"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("truth"))
    return target, product, target / f"{product}_asn.fits"


@pytest.fixture
def flt_only(visit):
    directory, product, asn = visit
    for path in directory.glob("*_flc.fits"):
        path.unlink()
    return directory, product, asn


def _main(capsys, *argv):
    status = pipeline_cli.main(["-n", "1", *FAST_ARGS, *argv])
    out, err = capsys.readouterr()
    return status, out, err


def _digests(directory):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.glob("*_fl?.fits")}


def _last_section(trailer: Path) -> str:
    return trailer.read_text(encoding="utf-8").split("drizrun-pipeline started")[-1]


def test_association_run_skips_when_complete_and_force_redoes(flt_only, capsys):
    directory, product, asn = flt_only
    status, out, _ = _main(capsys, str(asn))
    assert status == 0
    drz, trailer = directory / f"{product}_drz.fits", directory / f"{product}.tra"
    assert drz.is_file() and trailer.is_file()
    assert not (directory / f"{product}_drc.fits").exists()
    assert f"made {drz}" in out
    text = trailer.read_text(encoding="utf-8")
    assert f"drizrun {drizrun.__version__}, numpy " in text and "astropy " in text and "python " in text
    assert 'kernel = "turbo"    # --set' in text  # the effective parameters, with their sources
    assert "# instrument WFC3/UVIS (2 inputs)" in text
    assert "final   ok" in text  # stage timings
    assert "drizrun: [final] done in" in text  # the logger's records
    with fits.open(drz) as hdul:
        assert hdul[0].header["D001DATA"].endswith("_flt.fits[SCI,1]")
    assert not list(directory.glob("*_single_sci.fits"))  # intermediates cleaned

    first_mtime = drz.stat().st_mtime_ns
    status, out, _ = _main(capsys, str(asn))
    assert status == 0
    assert drz.stat().st_mtime_ns == first_mtime
    assert "is complete" in out
    last = _last_section(trailer)
    assert f"skipped: {drz.name} is complete (made from the same 2 input(s)); -f remakes it" in last
    assert text in trailer.read_text(encoding="utf-8")  # appended, the first run kept

    status, out, _ = _main(capsys, "-f", str(asn))
    assert status == 0
    assert drz.stat().st_mtime_ns != first_mtime
    assert "forced (-f)" in _last_section(trailer)
    assert trailer.read_text(encoding="utf-8").count("drizrun-pipeline started") == 3


def test_newpath_leaves_products_beside_the_inputs_and_removes_the_directory(flt_only, tmp_path, capsys):
    directory, product, asn = flt_only
    before = _digests(directory)
    newpath = tmp_path / "scratch"
    status, _, _ = _main(capsys, "-i", str(asn), str(newpath))
    assert status == 0
    assert (directory / f"{product}_drz.fits").is_file()
    assert (directory / f"{product}.tra").is_file()
    assert newpath.is_dir() and not (newpath / product).exists()
    assert _digests(directory) == before
    assert f"removed {newpath / product}" in (directory / f"{product}.tra").read_text(encoding="utf-8")


@pytest.mark.parametrize("breakage", ["settings", "input"])
def test_newpath_failure_removes_the_directory_and_records_the_error(flt_only, tmp_path, capsys, breakage):
    directory, product, asn = flt_only
    extra = []
    if breakage == "settings":
        extra = ["--set", "final.pixfrac=lots"]
    else:
        victim = directory / sorted(_digests(directory))[1]
        with fits.open(victim) as hdul:
            fits.HDUList([hdul[0].copy()]).writeto(victim, overwrite=True)
    before = _digests(directory)
    newpath = tmp_path / "scratch"
    status, _, err = _main(capsys, *extra, str(asn), str(newpath))
    assert status != 0
    assert not (newpath / product).exists()
    assert _digests(directory) == before
    assert not (directory / f"{product}_drz.fits").exists()
    error = [line for line in err.splitlines() if line.startswith("drizrun-pipeline: error:")]
    assert len(error) == 1
    message = error[0].removeprefix("drizrun-pipeline: error: ")
    trailer = _last_section(directory / f"{product}.tra")
    assert f"FAILED: {message}" in trailer
    assert "FAILED after" in trailer  # the run's own section


def test_flt_and_flc_make_both_products(visit):
    directory, product, asn = visit
    result = drizrun.process(asn, num_cores=1, settings=FAST)
    assert [run.status for run in result.runs] == ["done", "done"]
    assert result.products == (directory / f"{product}_drz.fits", directory / f"{product}_drc.fits")
    for path, kind in zip(result.products, ("flt", "flc"), strict=True):
        with fits.open(path) as hdul:
            names = {v for k, v in hdul[0].header.items() if k.endswith("DATA") and k.startswith("D")}
        assert names and all(f"_{kind}.fits[SCI," in name for name in names)
    assert result.trailer.read_text(encoding="utf-8").count("--- 2 ") == 2


def test_single_flt_input(flt_only):
    directory, _, _ = flt_only
    flt = sorted(directory.glob("*_flt.fits"))[0]
    root = flt.name.removesuffix("_flt.fits")
    result = drizrun.process(str(flt), num_cores=1, settings=FAST)
    assert result.products == (directory / f"{root}_drz.fits",)
    assert result.trailer == directory / f"{root}.tra"
    assert "skipping stage 'median'" in result.trailer.read_text(encoding="utf-8")


def test_interrupted_run_removes_the_directory_and_says_so(flt_only, tmp_path, monkeypatch):
    directory, product, asn = flt_only

    def interrupt(*args, **kwargs):
        assert (tmp_path / "np" / product / asn.name).is_file()
        raise KeyboardInterrupt

    monkeypatch.setattr(driver, "run", interrupt)
    with pytest.raises(KeyboardInterrupt):
        drizrun.process(asn, newpath=tmp_path / "np", num_cores=1, settings=FAST)
    assert not (tmp_path / "np" / product).exists()
    last = _last_section(directory / f"{product}.tra")
    assert "interrupted (KeyboardInterrupt)" in last
    assert f"-> {product}_drz.fits: stopped by KeyboardInterrupt after" in last


def test_existing_working_directory_is_refused(flt_only, tmp_path):
    directory, product, asn = flt_only
    (tmp_path / "np" / product).mkdir(parents=True)
    with pytest.raises(UsageError, match="already exists"):
        drizrun.process(asn, newpath=tmp_path / "np", settings=FAST)
    assert (tmp_path / "np" / product).is_dir()  # not ours: left alone


@pytest.mark.parametrize(
    ("name", "root"),
    [("idrz01010_asn.fits", "idrz01010"), ("j8bt06nyq_raw.fits", "j8bt06nyq"), ("j8bt06nyq_flc.fits", "j8bt06nyq"),
     ("@visit.lst", "visit"), ("a_flt.fits,b_flt.fits", "a"), ("plain.fits", "plain")],
)
def test_trailer_names_follow_runastrodriz(name, root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert trailer_location(name) == (tmp_path, root)


def test_list_file_groups_flt_and_flc(visit):
    directory, _, _ = visit
    listfile = directory / "mine.lst"
    listfile.write_text("\n".join(p.name for p in sorted(directory.glob("*_fl?.fits"))), encoding="utf-8")
    resolved = resolve_input(f"@{listfile}")
    assert [(plan.kind, plan.product.name, len(plan.inputs)) for plan in resolved.plans] == [
        ("flc", "mine_drc.fits", 2), ("flt", "mine_drz.fits", 2)]
    assert resolved.copies[0] == listfile


def test_association_without_a_complete_set_is_an_input_error(visit):
    directory, _, asn = visit
    flt, flc = sorted(directory.glob("*_flt.fits")), sorted(directory.glob("*_flc.fits"))
    flt[0].unlink()
    flc[1].unlink()
    with pytest.raises(InputError, match="neither all their FLT nor all their FLC"):
        resolve_input(asn)


def test_product_from_other_inputs_is_not_complete(flt_only):
    directory, product, asn = flt_only
    result = drizrun.process(asn, num_cores=1, settings=FAST)
    inputs = result.runs[0].inputs
    assert check_product(result.products[0], inputs) is None
    assert "made from other inputs" in check_product(result.products[0], inputs[:1])
    os.utime(inputs[0], ns=(result.products[0].stat().st_mtime_ns + 10**9,) * 2)
    assert "changed after" in check_product(result.products[0], inputs)
    result.products[0].write_bytes(b"not fits")
    assert "does not open as FITS" in check_product(result.products[0], inputs)


def test_move_across_file_systems_copies_then_renames(tmp_path, monkeypatch):
    source, target = tmp_path / "a.fits", tmp_path / "out" / "a.fits"
    target.parent.mkdir()
    source.write_bytes(b"product")
    real_replace = os.replace

    def cross_device(src, dst):
        if Path(src) == source:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_replace(src, dst)

    monkeypatch.setattr(workdir.os, "replace", cross_device)
    assert workdir.move_atomic(source, target) == target
    assert target.read_bytes() == b"product" and not source.exists()
    assert os.listdir(target.parent) == ["a.fits"]


def test_move_failure_is_one_processing_error(tmp_path):
    with pytest.raises(ProcessingError, match="cannot move"):
        workdir.move_atomic(tmp_path / "missing.fits", tmp_path / "x.fits")


def test_capture_records_info_without_changing_what_handlers_see():
    logger = logging.getLogger("drizrun")
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    keep = Keep()
    saved = (logger.level, list(logger.handlers), logger.propagate)
    logger.handlers = [keep]
    logger.setLevel(logging.WARNING)
    try:
        with LogCapture() as capture:
            logging.getLogger("drizrun.stage.x").info("quiet detail")
            logging.getLogger("drizrun").warning("loud")
        assert seen == ["loud"]
        assert any(line.endswith("drizrun.stage.x: quiet detail") for line in capture.lines)
        assert len(capture.warnings) == 1 and capture.warnings[0].endswith("drizrun: loud")
        assert logger.handlers == [keep] and logger.level == logging.WARNING
    finally:
        logger.setLevel(saved[0])
        logger.handlers = saved[1]
        logger.propagate = saved[2]


@pytest.mark.parametrize("argument", ["output", "clean", "nonsense"])
def test_process_refuses_arguments_it_sets_or_does_not_know(flt_only, argument):
    _, product, asn = flt_only
    with pytest.raises(UsageError, match=argument):
        drizrun.process(asn, **{argument: 1})
    assert "FAILED: " in _last_section(asn.parent / f"{product}.tra")


@pytest.mark.parametrize("argv", [[], ["-n", "0", "x_asn.fits"], ["a", "b", "c"], ["--bogus", "x"]])
def test_usage_errors_exit_2_with_one_line(argv, capsys):
    status = pipeline_cli.main(argv)
    _, err = capsys.readouterr()
    assert status == 2
    assert err.count("drizrun-pipeline: error:") == 1 and "Traceback" not in err


def test_missing_input_exits_2(tmp_path, capsys):
    status, _, err = _main(capsys, str(tmp_path / "gone_asn.fits"))
    assert status == 2
    assert "does not exist" in err


def test_b_is_accepted(flt_only, capsys):
    directory, product, asn = flt_only
    status, _, _ = _main(capsys, "-b", "-i", str(asn))
    assert status == 0
    assert (directory / f"{product}_drz.fits").is_file()
