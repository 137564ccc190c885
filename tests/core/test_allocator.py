"""How the process gets memory (drizrun.core.allocator) and the commands' --release-memory and --huge-pages."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import textwrap

import pytest

from drizrun.core import allocator
from drizrun.core import cli as drizrun_cli
from drizrun.core.pipeline import cli as pipeline_cli

on_glibc = pytest.mark.skipif(
    not (sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"),
    reason="mallopt and /proc/self/statm need Linux with glibc",
)

# Allocates, touches and frees a 256 MiB array, then allocates one of the same
# size again, printing the resident memory (MiB) at each step.
_PROBE = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    from drizrun.core.allocator import retain_freed_memory

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    applied = retain_freed_memory() if sys.argv[1] == "retain" else None
    before = rss()
    a = np.ones(2**25)  # 256 MiB, every page touched
    held = rss()
    del a
    freed = rss()
    b = np.ones(2**25)
    again = rss()
    print(json.dumps(dict(applied=applied, before=before, held=held, freed=freed, again=again)))
    """
)


def _probe(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@on_glibc
def test_uses_glibc_agrees_with_the_platform_module():
    assert allocator.uses_glibc()


@on_glibc
def test_freed_memory_stays_in_the_process_and_is_reused():
    kept = _probe("retain")
    assert kept["applied"] is True
    assert kept["held"] - kept["before"] > 200
    # Freed, the array's pages stay resident ...
    assert kept["held"] - kept["freed"] < 16
    # ... and the next array of the same size takes them instead of new ones.
    assert kept["again"] - kept["freed"] < 16


@on_glibc
def test_without_it_glibc_gives_a_large_freed_array_back():
    default = _probe("default")
    assert default["held"] - default["freed"] > 200
    assert default["again"] - default["freed"] > 200


def test_other_c_libraries_are_left_alone(monkeypatch):
    monkeypatch.setattr(allocator, "uses_glibc", lambda: False)
    assert allocator.retain_freed_memory() is False


on_linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="transparent huge pages are Linux's")

# Makes a 64 MiB array (NumPy asks for huge pages for it) and reports the huge
# pages the process holds, with or without avoid_huge_pages() first.
_HUGE_PROBE = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from drizrun.core.allocator import avoid_huge_pages, huge_pages_disabled

    if sys.argv[1] == "avoid":
        applied = avoid_huge_pages()
    else:  # the system's default, not a setting inherited from the test process
        import ctypes
        applied = None
        ctypes.CDLL(None).prctl(41, 0, 0, 0, 0)  # PR_SET_THP_DISABLE, 0
    a = np.ones(2**23)  # 64 MiB, every page touched
    with open("/proc/self/smaps_rollup") as f:
        huge = [int(line.split()[1]) for line in f if line.startswith("AnonHugePages:")][0] / 1024
    # whether the kernel may back the array's mapping with huge pages (does not depend on
    # finding free huge pages at the moment)
    eligible, inside = None, False
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                low, high = (int(x, 16) for x in head.split("-"))
                inside = low <= a.ctypes.data + a.nbytes // 2 < high  # the middle: NumPy advises whole huge pages
            elif inside and head == "THPeligible:":
                eligible = line.split()[1] == "1"
    print(json.dumps(dict(applied=applied, disabled=huge_pages_disabled(), huge_mib=huge, eligible=eligible)))
    """
)


def _huge_probe(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _HUGE_PROBE, mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _system_thp_mode() -> str:
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            text = f.read()
    except OSError:
        return "never"
    return text[text.index("[") + 1:text.index("]")]


@on_linux
def test_avoid_huge_pages_keeps_large_arrays_in_small_pages():
    avoided = _huge_probe("avoid")
    assert avoided["applied"] is True and avoided["disabled"] is True
    assert avoided["huge_mib"] == 0
    assert avoided["eligible"] in (False, None)  # None: a kernel without THPeligible (before 5.0)


@on_linux
@pytest.mark.skipif(_system_thp_mode() == "never", reason="the system gives no transparent huge pages at all")
def test_without_it_numpy_arrays_get_huge_pages():
    default = _huge_probe("default")
    assert default["disabled"] is False
    # the control: the probe would see huge pages (NumPy asks for them for large arrays)
    if default["eligible"] is None:
        assert default["huge_mib"] > 0
    else:
        assert default["eligible"] is True


def test_systems_without_the_setting_are_left_alone(monkeypatch):
    monkeypatch.setattr(allocator, "_prctl", lambda: None)
    assert allocator.avoid_huge_pages() is False
    assert allocator.huge_pages_disabled() is None


#: Each memory setting the commands apply, and the option that leaves it out.
_SETTINGS = {"retain_freed_memory": "--release-memory", "avoid_huge_pages": "--huge-pages"}


def _record_settings(monkeypatch, module) -> dict[str, list[int]]:
    calls: dict[str, list[int]] = {name: [] for name in _SETTINGS}
    for name in _SETTINGS:
        monkeypatch.setattr(module, name, lambda name=name: calls[name].append(1) or True)
    return calls


@pytest.mark.parametrize("left_out", [None, *_SETTINGS])
def test_drizrun_command_applies_the_memory_settings_not_left_out(monkeypatch, capsys, left_out):
    calls = _record_settings(monkeypatch, drizrun_cli)
    flags = [_SETTINGS[left_out]] if left_out else []
    assert drizrun_cli.main([*flags, "--version"]) == 0
    assert {name: len(made) for name, made in calls.items()} == {name: int(name != left_out) for name in _SETTINGS}


@pytest.mark.parametrize("left_out", [None, *_SETTINGS])
def test_pipeline_command_applies_the_memory_settings_not_left_out(monkeypatch, tmp_path, capsys, left_out):
    calls = _record_settings(monkeypatch, pipeline_cli)
    flags = [_SETTINGS[left_out]] if left_out else []
    status = pipeline_cli.main([*flags, "-q", str(tmp_path / "missing_asn.fits")])
    assert status != 0  # the input does not exist; the settings came first
    assert {name: len(made) for name, made in calls.items()} == {name: int(name != left_out) for name in _SETTINGS}
