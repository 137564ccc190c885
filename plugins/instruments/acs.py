"""Built-in plugin ``acs``: the ACS/WFC, ACS/HRC and ACS/SBC detectors.

ACS/WFC defaults follow the HAP single-visit (SVM) parameter files shipped with
drizzlepac (``svm_parameters/acs/wfc``): one row for N = 1, N = 2-5 and
N >= 6. ACS/HRC, a CCD calibrated by the same pipeline, uses the ACS/WFC rows
(an assumption: its own parameter files were not tabulated). ACS/SBC, a
photon-counting MAMA without cosmic rays or read noise, uses AstroDrizzle's
generic defaults (``astrodrizzle.cfg``).

DQ flags (ACS Data Handbook): 4 bad detector pixel, 16 hot, 64 warm,
256 full-well saturation, 512 bad flat, 2048 A-to-D saturation,
4096 cosmic ray found by drizzling.
"""

from __future__ import annotations

from typing import Any

from drizrun.core.hookspecs import hookimpl
from drizrun.core.hst import DefaultsRow, HSTDetector
from drizrun.core.instrument import ChipLayout

__all__ = ["ACS_HRC", "ACS_SBC", "ACS_WFC", "drizrun_identify_instrument", "drizrun_register_instruments"]

_SVM = "drizzlepac HAP SVM parameters"

_WFC_ROWS = (
    DefaultsRow(
        1,
        {
            "sky": {"method": "globalmin+match", "bits": 16},
            "sep": {"kernel": "turbo", "bits": 336},
            "median": {"combine_type": "minmed", "combine_nhigh": 1},
            "cr": {"snr": (3.5, 3.0), "scale": (1.5, 1.2)},
            "final": {"kernel": "square", "pixfrac": 1.0, "bits": 65535},
        },
        f"{_SVM} acs/wfc n1",
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
        f"{_SVM} acs/wfc n2",
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
        f"{_SVM} acs/wfc n6",
    ),
)

ACS_WFC = HSTDetector(
    instrume="ACS",
    detector="WFC",
    description='ACS Wide Field Channel: two 4096x2048 CCDs, 0.05"/px, electrons',
    chips=(
        ChipLayout(extver=1, ccdchip=2, shape=(2048, 4096), cte_direction=-1),
        ChipLayout(extver=2, ccdchip=1, shape=(2048, 4096), cte_direction=1),
    ),
    pixel_scale=0.05,
    native_bunit="ELECTRONS",
    good_bits=336,
    saturation_flags=256 | 2048,
    hot_pixel_flags=16,
    bad_pixel_flags=4,
    defaults=_WFC_ROWS,
)

ACS_HRC = HSTDetector(
    instrume="ACS",
    detector="HRC",
    description='ACS High Resolution Channel: one 1024x1024 CCD, 0.025"/px, electrons',
    chips=(ChipLayout(extver=1, ccdchip=1, shape=(1024, 1024), cte_direction=-1),),
    pixel_scale=0.025,
    native_bunit="ELECTRONS",
    good_bits=336,
    saturation_flags=256 | 2048,
    hot_pixel_flags=16,
    bad_pixel_flags=4,
    defaults=tuple(DefaultsRow(row.min_inputs, row.params, row.source + " (used for HRC)") for row in _WFC_ROWS),
    cte_by_amp={"A": 1, "B": 1, "C": -1, "D": -1},
)

ACS_SBC = HSTDetector(
    instrume="ACS",
    detector="SBC",
    description='ACS Solar Blind Channel: one 1024x1024 MAMA, 0.032"/px, counts, no read noise',
    chips=(ChipLayout(extver=1, ccdchip=None, shape=(1024, 1024), cte_direction=0),),
    pixel_scale=0.032,
    native_bunit="COUNTS",
    good_bits=0,
    saturation_flags=256,
    hot_pixel_flags=16,
    bad_pixel_flags=4,
    defaults=(
        DefaultsRow(
            1,
            {
                "sky": {"method": "localmin", "bits": 0},
                "sep": {"kernel": "turbo", "bits": 0},
                "median": {"combine_type": "minmed", "combine_nhigh": 0},
                "cr": {"snr": (3.5, 3.0), "scale": (1.2, 0.7)},
                "final": {"kernel": "square", "pixfrac": 1.0, "bits": 0},
            },
            "AstroDrizzle generic defaults (astrodrizzle.cfg)",
        ),
    ),
    has_gain_keywords=False,
)

_DETECTORS = (ACS_WFC, ACS_HRC, ACS_SBC)


@hookimpl(tryfirst=True)
def drizrun_register_instruments(registry: Any) -> None:
    """Register ``ACS/WFC``, ``ACS/HRC`` and ``ACS/SBC``."""
    for detector in _DETECTORS:
        registry.add(detector)


@hookimpl
def drizrun_identify_instrument(header: Any, path: str, registry: Any) -> Any:
    """Claim headers with INSTRUME = ACS and DETECTOR = WFC, HRC or SBC."""
    for detector in _DETECTORS:
        if detector.identify(header) and detector.name in registry:
            return registry[detector.name]
    return None
