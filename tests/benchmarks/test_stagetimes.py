"""The per-stage timing table of the visit benchmark."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def stagetimes():
    spec = importlib.util.spec_from_file_location("stagetimes", BENCHMARKS / "stagetimes.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["stagetimes"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("stagetimes", None)


# The end of an AstroDrizzle log, in the layout drizzlepac prints it.
LOG_TAIL = """\
[INFO    ] ==== Processing Step 'Final Drizzle' finished at 01:41:34.139 (22/11/2026)
[INFO    ]
   --------------------          --------------------
                   Step          Elapsed time
   --------------------          --------------------

[INFO    ]    Initialization                1.1764 sec
[INFO    ]    Static Mask                   0.6879 sec
[INFO    ]    Subtract Sky                  1.3255 sec
[INFO    ]    Separate Drizzle              3.4256 sec
[INFO    ]    Create Median                 1.3737 sec
[INFO    ]    Blot                          4.9549 sec
[INFO    ]    Driz_CR                       5.1168 sec
[INFO    ]    Final Drizzle                 7.7238 sec
[INFO    ]    ====================          ====================
[INFO    ]    Total                         25.7845 sec
"""
# drizzlepac ends every step line with a space
LOG_TAIL = "\n".join(line + " " if line.endswith(" sec") else line for line in LOG_TAIL.splitlines())


def test_astrodrizzle_steps_map_to_drizrun_stages(stagetimes):
    times = stagetimes.astrodrizzle_step_times(LOG_TAIL)
    assert times == pytest.approx({
        "other": 1.1764, "static": 0.6879, "sky": 1.3255, "sep": 3.4256,
        "median": 1.3737, "blot": 4.9549, "cr": 5.1168, "final": 7.7238,
    })
    # the total line is not a step
    assert sum(times.values()) == pytest.approx(25.7845, abs=1e-3)


def test_log_without_table_gives_no_times(stagetimes):
    assert stagetimes.astrodrizzle_step_times("[INFO    ] Blot started\nTraceback ...\n") == {}


def test_drizrun_times_put_the_rest_in_other(stagetimes):
    history = [["static", "ok", 1.0], ["sky", "ok", 2.5], ["final", "ok", 4.0]]
    times = stagetimes.drizrun_stage_times(history, total_seconds=10.0)
    assert times == pytest.approx({"static": 1.0, "sky": 2.5, "final": 4.0, "other": 2.5})


def test_table_lines_up_both_tools(stagetimes, tmp_path):
    (tmp_path / "astrodrizzle.log").write_text(LOG_TAIL)
    ad = stagetimes.read_astrodrizzle_times(tmp_path)
    table = stagetimes.format_stage_times({"drizrun": {"sep": 1.5, "other": 0.25}, "AstroDrizzle": ad})
    rows = {line.split()[0]: line.split()[1:] for line in table.splitlines()[1:]}
    assert rows["sep"] == ["1.50", "3.43"]
    assert rows["static"] == ["-", "0.69"]
    assert list(rows) == list(stagetimes.STAGES)
    assert stagetimes.format_stage_times({"drizrun": {}}) == ""
