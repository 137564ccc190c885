"""Built-in plugin ``wfc3``: the WFC3/UVIS and WFC3/IR detectors.

Default parameters follow the HAP single-visit (SVM) parameter files shipped
with drizzlepac, post-2012 variants (``svm_parameters/wfc3/{uvis,ir}``):
WFC3/UVIS uses one row for N = 1, one for N = 2-5 and one for N >= 6; WFC3/IR
one for N = 1, N = 2-3 and N >= 4. See ``docs/instruments.md`` for the table.

DQ flags (WFC3 Data Handbook): 4 bad detector pixel, 16 hot, 64 warm,
256 full-well saturation, 512 bad flat, 2048 A-to-D saturation (UVIS) /
signal in zero read (IR), 4096 cosmic ray found by drizzling.
"""

from __future__ import annotations

from typing import Any

from drizrun.core.hookspecs import hookimpl
from drizrun.core.hst import DefaultsRow, HSTDetector
from drizrun.core.instrument import ChipLayout

__all__ = ["WFC3_IR", "WFC3_UVIS", "drizrun_identify_instrument", "drizrun_register_instruments"]

_SVM = "drizzlepac HAP SVM parameters"

WFC3_UVIS = HSTDetector(
    instrume="WFC3",
    detector="UVIS",
    description='WFC3 UVIS channel: two 4096x2051 CCDs, 0.0396"/px, electrons',
    chips=(
        ChipLayout(extver=1, ccdchip=2, shape=(2051, 4096), cte_direction=-1),
        ChipLayout(extver=2, ccdchip=1, shape=(2051, 4096), cte_direction=1),
    ),
    pixel_scale=0.0396,
    native_bunit="ELECTRONS",
    good_bits=336,
    saturation_flags=256 | 2048,
    hot_pixel_flags=16,
    bad_pixel_flags=4,
    defaults=(
        DefaultsRow(
            1,
            {
                "sky": {"method": "globalmin+match", "bits": 80},
                "sep": {"kernel": "square", "bits": 336},
                "median": {"combine_type": "minmed", "combine_nhigh": 1},
                "cr": {"snr": (3.5, 3.0), "scale": (1.5, 1.2)},
                "final": {"kernel": "square", "pixfrac": 1.0, "bits": 65535},
            },
            f"{_SVM} wfc3/uvis n1",
        ),
        DefaultsRow(
            2,
            {
                "sky": {"method": "globalmin+match", "bits": 80},
                "sep": {"kernel": "square", "bits": 336},
                "median": {"combine_type": "minmed", "combine_nhigh": 1},
                "cr": {"snr": (3.5, 3.0), "scale": (1.5, 1.2)},
                "final": {"kernel": "square", "pixfrac": 1.0, "bits": 336},
            },
            f"{_SVM} wfc3/uvis n2",
        ),
        DefaultsRow(
            6,
            {
                "sky": {"method": "globalmin+match", "bits": 80},
                "sep": {"kernel": "square", "bits": 336},
                "median": {"combine_type": "median", "combine_nhigh": 1},
                "cr": {"snr": (3.5, 3.0), "scale": (1.2, 0.7)},
                "final": {"kernel": "square", "pixfrac": 0.8, "bits": 336},
            },
            f"{_SVM} wfc3/uvis n6",
        ),
    ),
)

WFC3_IR = HSTDetector(
    instrume="WFC3",
    detector="IR",
    description='WFC3 IR channel: one 1014x1014 HgCdTe array, 0.128"/px, electrons/s',
    chips=(ChipLayout(extver=1, ccdchip=None, shape=(1014, 1014), cte_direction=0),),
    pixel_scale=0.1283,
    native_bunit="ELECTRONS/S",
    good_bits=528,
    saturation_flags=256,
    hot_pixel_flags=16,
    bad_pixel_flags=4,
    defaults=(
        DefaultsRow(
            1,
            {
                "sky": {"method": "globalmin+match", "bits": 16},
                "sep": {"kernel": "square", "bits": 16},
                "median": {"combine_type": "minmed", "combine_nhigh": 1},
                "cr": {"snr": (5.0, 4.0), "scale": (3.0, 2.4)},
                "final": {"kernel": "square", "pixfrac": 1.0, "bits": 528},
            },
            f"{_SVM} wfc3/ir n1",
        ),
        DefaultsRow(
            2,
            {
                "sky": {"method": "globalmin+match", "bits": 16},
                "sep": {"kernel": "turbo", "bits": 65535},
                "median": {"combine_type": "minmed", "combine_nhigh": 1},
                "cr": {"snr": (5.0, 4.0), "scale": (3.0, 2.4)},
                "final": {"kernel": "square", "pixfrac": 1.0, "bits": 528},
            },
            f"{_SVM} wfc3/ir n2",
        ),
        DefaultsRow(
            4,
            {
                "sky": {"method": "globalmin+match", "bits": 16},
                "sep": {"kernel": "turbo", "bits": 528},
                "median": {"combine_type": "median", "combine_nhigh": 1},
                "cr": {"snr": (5.0, 4.0), "scale": (3.0, 2.4)},
                "final": {"kernel": "square", "pixfrac": 1.0, "bits": 528},
            },
            f"{_SVM} wfc3/ir n4",
        ),
    ),
)

_DETECTORS = (WFC3_UVIS, WFC3_IR)


@hookimpl(tryfirst=True)
def drizrun_register_instruments(registry: Any) -> None:
    """Register ``WFC3/UVIS`` and ``WFC3/IR``."""
    for detector in _DETECTORS:
        registry.add(detector)


@hookimpl
def drizrun_identify_instrument(header: Any, path: str, registry: Any) -> Any:
    """Claim headers with INSTRUME = WFC3 and DETECTOR = UVIS or IR."""
    for detector in _DETECTORS:
        if detector.identify(header) and detector.name in registry:
            return registry[detector.name]
    return None
