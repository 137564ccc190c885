"""Bad and hostile inputs through the command line.

Every case runs ``drizrun`` on a small simulated WFC3/UVIS visit (two
exposures of two 64 x 128 chips) with one thing broken, and checks that the
run ends with one clear error line (no traceback), the documented exit status
(2 for bad input or usage, 1 for a processing failure, 130/143 for SIGINT and
SIGTERM), inputs byte-identical to what they were, and no half-written product
(no temporary ``.part`` file, no incomplete ``_drz.fits``). Where a failure can
be recovered from (full disk, interruption), a rerun completes.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from drizrun.core.cli import main
from drizrun.core.simulate import simulate
from drizrun.core.testing import default_sigint

TESTS = Path(__file__).resolve().parents[1]
FAST = ["--set", "sep.kernel=turbo", "--set", "final.kernel=turbo"]


@pytest.fixture(scope="module")
def visit(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The simulated exposures (never modified: each test works on copies)."""
    sim = simulate("WFC3/UVIS", 2, tmp_path_factory.mktemp("visit"), seed=5, chip_shape=(64, 128))
    return [Path(p) for p in sim.exposures]


@pytest.fixture
def inputs(visit: list[Path], tmp_path: Path) -> list[Path]:
    """Fresh copies of the visit's exposures in ``tmp_path/in``."""
    target = tmp_path / "in"
    target.mkdir()
    return [Path(shutil.copy(path, target)) for path in visit]


def _hashes(paths: list[Path]) -> dict[Path, str]:
    return {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}


def _drizrun(capsys: pytest.CaptureFixture[str], files: list[Path], out: Path, *extra: str) -> tuple[int, str]:
    status = main([*FAST, "--output", str(out / "v"), *extra, *map(str, files)])
    return status, capsys.readouterr().err


def _leftovers(*directories: Path) -> list[Path]:
    """Temporary files of the atomic writer left in the directories."""
    return [p for d in directories if d.exists() for p in d.rglob("*.part")]


def _assert_failed_cleanly(status: int, err: str, expected: int, message: str, out: Path, files: list[Path],
                           before: dict[Path, str]) -> None:
    assert status == expected, err
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("drizrun: error:")]
    assert len(errors) == 1, err
    assert message in errors[0], errors[0]
    assert _hashes(files) == before
    assert _leftovers(out, files[0].parent) == []
    assert not (out / "v_drz.fits").exists()


def _assert_complete_product(path: Path) -> None:
    """The product opens, its checksums verify and its science pixels with weight are finite."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fits.open(path, checksum=True) as hdul:
            sci, wht = hdul["SCI"].data, hdul["WHT"].data
            assert sci.shape == wht.shape
            assert (wht > 0).any()
            assert np.isfinite(sci[wht > 0]).all()
            assert np.isfinite(wht).all()


# --- broken files ------------------------------------------------------------


def _edit(change: Callable[[fits.HDUList], None]) -> Callable[[list[Path]], None]:
    def apply(files: list[Path]) -> None:
        with fits.open(files[0]) as hdul:
            copy = fits.HDUList([hdu.copy() for hdu in hdul])
        change(copy)
        copy.writeto(files[0], overwrite=True)

    return apply


def _bytes(change: Callable[[bytearray], bytes | bytearray]) -> Callable[[list[Path]], None]:
    def apply(files: list[Path]) -> None:
        files[0].write_bytes(bytes(change(bytearray(files[0].read_bytes()))))

    return apply


def _card_value(data: bytearray, keyword: bytes, start: int, garbage: bytes) -> bytearray:
    at = data.index(keyword.ljust(8) + b"=", start)
    data[at + 10 : at + 10 + len(garbage)] = garbage
    return data


def _break_primary_end(data: bytearray) -> bytearray:
    at = data.index(b"END" + b" " * 77)
    data[at : at + 3] = b"XYZ"
    return data


def _set_all(ext: tuple[str, int], value: float) -> Callable[[fits.HDUList], None]:
    def change(hdul: fits.HDUList) -> None:
        hdul[ext].data = np.full_like(hdul[ext].data, value)

    return change


def _nan_exposure(hdul: fits.HDUList) -> None:
    for ver in (1, 2):
        hdul["SCI", ver].data = np.full_like(hdul["SCI", ver].data, np.nan)


def _rename_sci(hdul: fits.HDUList) -> None:
    for ver in (1, 2):
        hdul["SCI", ver].header["EXTNAME"] = "IMG"


def _delete_dq(hdul: fits.HDUList) -> None:
    del hdul[hdul.index_of(("DQ", 2))]


def _shrink(name: str) -> Callable[[fits.HDUList], None]:
    def change(hdul: fits.HDUList) -> None:
        hdul[name, 1].data = hdul[name, 1].data[:32]

    return change


def _primary(**cards: object) -> Callable[[fits.HDUList], None]:
    def change(hdul: fits.HDUList) -> None:
        hdul[0].header.update(cards)

    return change


def _bunit(hdul: fits.HDUList) -> None:
    hdul["SCI", 1].header["BUNIT"] = "JY/BEAM"


BAD = [
    ("truncated in half", _bytes(lambda b: b[: len(b) // 2]), "the file is truncated"),
    ("truncated on a block boundary", _bytes(lambda b: b[: len(b) // 2 // 2880 * 2880]), "the file is truncated"),
    ("garbage primary card", _bytes(lambda b: b"\xff" * 80 + b[80:]), "is not a FITS file"),
    ("garbage in an extension header", _bytes(lambda b: _card_value(b, b"NAXIS1", 2880, b"  ?? garbage ??")),
     "is damaged"),
    ("primary header without END", _bytes(_break_primary_end), "[0]: the primary header is damaged"),
    ("no SCI extension", _edit(_rename_sci), "no SCI extension"),
    ("SCI without DQ", _edit(_delete_dq), "[DQ,2]: extension missing"),
    ("DQ shape differs from SCI", _edit(_shrink("DQ")), "[DQ,1]: shape (32, 128) does not match"),
    ("ERR shape differs from SCI", _edit(_shrink("ERR")), "[ERR,1]: shape (32, 128) does not match"),
    ("one chip all NaN", _edit(_set_all(("SCI", 2), np.nan)), "[SCI,2]: every science pixel is NaN"),
    ("one exposure all NaN", _edit(_nan_exposure), "[SCI,1]: every science pixel is NaN"),
    ("one chip all inf", _edit(_set_all(("SCI", 1), np.inf)), "[SCI,1]: every science pixel is NaN or infinite"),
    ("zero EXPTIME", _edit(_primary(EXPTIME=0.0)), "[0]: EXPTIME = 0.0"),
    ("negative EXPTIME", _edit(_primary(EXPTIME=-30.0)), "[0]: EXPTIME = -30.0"),
    ("unknown BUNIT", _edit(_bunit), "[SCI,1]: unknown BUNIT 'JY/BEAM'"),
]


@pytest.mark.parametrize(("damage", "message"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_input_exits_2_with_one_line(capsys, inputs, tmp_path, damage, message):
    damage(inputs)
    before = _hashes(inputs)
    out = tmp_path / "out"
    status, err = _drizrun(capsys, inputs, out)
    _assert_failed_cleanly(status, err, 2, message, out, inputs, before)
    assert inputs[0].name in err


def _move(degrees_ra: float = 0.0, degrees_dec: float = 0.0) -> Callable[[fits.HDUList], None]:
    def change(hdul: fits.HDUList) -> None:
        for ver in (1, 2):
            hdul["SCI", ver].header["CRVAL1"] += degrees_ra
            hdul["SCI", ver].header["CRVAL2"] += degrees_dec

    return change


@pytest.mark.parametrize(
    ("offset", "message"),
    [((40.0, 0.0), "above the limit of 1000 Mpix"), ((0.0, 0.5), "the inputs lie far apart on the sky")],
    ids=["40 degrees: frame guard", "half a degree: sparse frame"],
)
def test_exposures_far_apart_are_refused_before_allocating_the_frame(capsys, inputs, tmp_path, offset, message):
    _edit(_move(*offset))([inputs[1], inputs[0]])
    before = _hashes(inputs)
    out = tmp_path / "out"
    started = time.perf_counter()
    status, err = _drizrun(capsys, inputs, out)
    _assert_failed_cleanly(status, err, 2, message, out, inputs, before)
    assert time.perf_counter() - started < 30
    assert not list(out.glob("*_single_*.fits"))  # refused before any drizzle


# --- hostile pixel values: processed, with finite results ---------------------


def _random_bytes_in_data(files: list[Path]) -> None:
    with fits.open(files[0]) as hdul:
        start = hdul["SCI", 1].fileinfo()["datLoc"]
    data = bytearray(files[0].read_bytes())
    data[start + 4000 : start + 12000] = np.random.default_rng(0).bytes(8000)
    files[0].write_bytes(bytes(data))


def _sprinkle(hdul: fits.HDUList) -> None:
    rng = np.random.default_rng(1)
    for ver in (1, 2):
        sci = hdul["SCI", ver].data
        u = rng.random(sci.shape)
        sci[u < 0.05] = np.nan
        sci[(u > 0.5) & (u < 0.53)] = np.inf
        sci[(u > 0.6) & (u < 0.62)] = -np.inf


def _non_ascii_card(data: bytearray) -> bytearray:
    at = data.index(b"EXPNAME =", 2880)
    data[at : at + 80] = bytes(range(128, 208))
    return data


HOSTILE = [
    ("random bytes in the SCI data", _random_bytes_in_data),
    ("NaN and inf pixels sprinkled", _edit(_sprinkle)),
    ("non-ASCII bytes in a header card", _bytes(_non_ascii_card)),
]


@pytest.mark.parametrize("damage", [case[1] for case in HOSTILE], ids=[case[0] for case in HOSTILE])
def test_hostile_pixels_give_a_finite_product(capsys, inputs, tmp_path, damage):
    damage(inputs)
    before = _hashes(inputs)
    out = tmp_path / "out"
    status, err = _drizrun(capsys, inputs, out)
    assert status == 0, err
    assert "Traceback" not in err
    assert _hashes(inputs) == before
    assert _leftovers(out, inputs[0].parent) == []
    _assert_complete_product(out / "v_drz.fits")


# --- where the output goes ---------------------------------------------------


def test_output_below_a_regular_file_exits_2(capsys, inputs, tmp_path):
    blocker = tmp_path / "plain"
    blocker.write_text("not a directory")
    before = _hashes(inputs)
    status, err = _drizrun(capsys, inputs, blocker / "sub")
    _assert_failed_cleanly(status, err, 2, "cannot create output directory", blocker / "sub", inputs, before)
    assert blocker.read_text() == "not a directory"


def test_output_directory_without_write_permission_exits_2(capsys, inputs, tmp_path):
    out = tmp_path / "locked"
    out.mkdir()
    out.chmod(0o555)
    try:
        if os.access(out, os.W_OK):
            pytest.skip("running as a user (root) whom permissions do not stop from writing")
        before = _hashes(inputs)
        status, err = _drizrun(capsys, inputs, out)
        _assert_failed_cleanly(status, err, 2, "is not writable", out, inputs, before)
        assert list(out.iterdir()) == []
    finally:
        out.chmod(0o755)


def test_disk_full_while_writing_the_product_exits_1_and_a_rerun_completes(capsys, inputs, tmp_path,
                                                                           monkeypatch):
    real_writeto = fits.HDUList.writeto

    def half_then_full(self, target, *args, **kwargs):
        name = str(getattr(target, "name", target))
        if "_drz.fits" not in name:
            return real_writeto(self, target, *args, **kwargs)
        # the disk fills up half way through the product (written to a path or a file object)
        content = io.BytesIO()
        real_writeto(self, content, *args, **kwargs)
        half = content.getvalue()[: len(content.getvalue()) // 2]
        if hasattr(target, "write"):
            target.write(half)
        else:
            Path(target).write_bytes(half)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), name)

    monkeypatch.setattr(fits.HDUList, "writeto", half_then_full)
    before = _hashes(inputs)
    out = tmp_path / "out"
    status, err = _drizrun(capsys, inputs, out)
    _assert_failed_cleanly(status, err, 1, f"disk full while writing {out / 'v_drz.fits'}", out, inputs, before)

    monkeypatch.setattr(fits.HDUList, "writeto", real_writeto)
    status, err = _drizrun(capsys, inputs, out)
    assert status == 0, err
    assert _hashes(inputs) == before
    assert _leftovers(out) == []
    _assert_complete_product(out / "v_drz.fits")


@pytest.fixture
def small_tmpfs(tmp_path: Path):
    """A 160 kB tmpfs (needs permission to mount; skipped otherwise)."""
    mount = shutil.which("mount")
    if mount is None:
        pytest.skip("no mount command")
    point = tmp_path / "tmpfs"
    point.mkdir()
    done = subprocess.run([mount, "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(point)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", str(point)], check=True)


def test_really_full_disk_exits_1_and_a_rerun_with_room_completes(capsys, inputs, small_tmpfs):
    before = _hashes(inputs)
    out = small_tmpfs / "out"
    status, err = _drizrun(capsys, inputs, out)
    assert status == 1, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("drizrun: error:")]
    assert len(errors) == 1 and "disk full while writing" in errors[0], err
    assert _hashes(inputs) == before
    assert _leftovers(out) == []
    assert not (out / "v_drz.fits").exists()
    for path in out.glob("*.fits"):  # whatever was written before the disk filled up is complete
        with fits.open(path, checksum=True) as hdul:
            hdul.verify("exception")

    subprocess.run(["mount", "-o", "remount,size=4m", str(small_tmpfs)], check=True)
    status, err = _drizrun(capsys, inputs, out)
    assert status == 0, err
    assert _leftovers(out) == []
    _assert_complete_product(out / "v_drz.fits")


# --- interruption ------------------------------------------------------------


def _start(args: list[str], delay: float) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p),
        "DRIZRUN_ROBUSTNESS_SLOW": str(delay),
    }
    code = "import sys; from drizrun.core.cli import main; sys.exit(main())"
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)


@pytest.mark.parametrize(("sig", "status", "word"), [(signal.SIGINT, 130, "interrupted"),
                                                     (signal.SIGTERM, 143, "terminated")],
                         ids=["SIGINT", "SIGTERM"])
def test_signal_mid_stage_leaves_no_partial_product_and_a_rerun_completes(inputs, tmp_path, sig, status, word):
    out = tmp_path / "out"
    before = _hashes(inputs)
    args = ["-p", "robustness.slow_stage", *FAST, "--stages", "static,sky,sep,slowstage,median,blot,cr,final",
            "--output", str(out / "v"), *map(str, inputs)]
    proc = _start(args, 60)
    deadline = time.monotonic() + 60
    while not _leftovers(out):  # the slow stage is half way through its file
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the slow stage never started writing"
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == status, err
    assert "Traceback" not in err
    assert f"drizrun: {word}; no partial product was left behind" in err.splitlines()[-1]
    assert _leftovers(out) == []
    assert not (out / "v_slow.dat").exists()
    assert not (out / "v_drz.fits").exists()
    assert _hashes(inputs) == before

    rerun = _start(args, 0)
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert (out / "v_slow.dat").stat().st_size == 200_000
    assert _leftovers(out) == []
    assert _hashes(inputs) == before
    _assert_complete_product(out / "v_drz.fits")
