"""AstroDrizzle's parameter names and what replaces each in drizrun.

:data:`ASTRODRIZZLE_NAMES` maps every parameter of AstroDrizzle's
configuration (``astrodrizzle.cfg``, drizzlepac 3.x) to a drizrun
``stage.key`` parameter, a stage (a step switched on by listing it in
``--stages``), a command-line option, or nothing (with the reason). The stage
reference (``docs/stages.md``) shows the same table, and a test checks that
every ``stage.key`` named here exists.
"""

from __future__ import annotations

import attrs

__all__ = ["ASTRODRIZZLE_NAMES", "Replacement", "parameter_targets"]


@attrs.frozen
class Replacement:
    """What replaces one AstroDrizzle parameter.

    Attributes
    ----------
    kind : str
        ``"param"`` (a ``stage.key`` parameter), ``"stage"`` (list the stage in
        ``--stages`` or leave it out), ``"option"`` (a command-line option) or
        ``"none"``.
    target : str
        The parameter, stage or option; for ``"none"`` the reason.
    """

    kind: str = attrs.field(validator=attrs.validators.in_(("param", "stage", "option", "none")))
    target: str


def _p(target: str) -> Replacement:
    return Replacement("param", target)


def _frame(prefix: str, stage: str) -> dict[str, Replacement]:
    keys = ("refimage", "rot", "scale", "outnx", "outny", "ra", "dec", "crpix1", "crpix2")
    table = {f"{prefix}_{key}": _p(f"{stage}.{key}") for key in keys}
    table[f"{prefix}_wcs"] = _p(f"{stage}.wcs")
    return table


#: AstroDrizzle parameter → its drizrun replacement.
ASTRODRIZZLE_NAMES: dict[str, Replacement] = {
    # general
    "output": Replacement("option", "--output"),
    "runfile": Replacement("none", "the log goes to stderr (-v for more, -q for less)"),
    "wcskey": Replacement("none", "the primary WCS of each input is used"),
    "proc_unit": Replacement("none", "drizrun always works in electrons and electrons/s"),
    "coeffs": Replacement("none", "the distortion in the WCS (SIP, D2IM, NPOL) is always applied"),
    "context": _p("final.context"),
    "clean": Replacement("option", "--clean"),
    "group": Replacement("none", "every SCI extension of every input is used"),
    "in_memory": Replacement("option", "--in-memory"),
    "num_cores": Replacement("option", "--num-cores"),
    "updatewcs": Replacement("none", "inputs are never modified; their WCS is used as it is"),
    "restore": Replacement("none", "inputs are never modified, so there is nothing to restore"),
    "preserve": Replacement("none", "inputs are never modified, so no copy is needed"),
    "overwrite": Replacement("none", "inputs are never modified"),
    "build": Replacement("none", "the product is always one multi-extension file"),
    "resetbits": Replacement("none", "input DQ arrays are never modified (see cr.update_input_dq)"),
    "steps": Replacement("option", "--stages"),
    # static mask
    "static": Replacement("stage", "static"),
    "static_sig": _p("static.static_sig"),
    # sky
    "skysub": _p("sky.subtract"),
    "skymethod": _p("sky.method"),
    "skystat": _p("sky.statistic"),
    "skywidth": _p("sky.binwidth"),
    "skylower": _p("sky.lower"),
    "skyupper": _p("sky.upper"),
    "skyclip": _p("sky.nclip"),
    "skylsigma": _p("sky.lsigma"),
    "skyusigma": _p("sky.usigma"),
    "skymask_cat": Replacement("none", "source masks come from DQ flags and the static mask"),
    "use_static": _p("sky.use_static"),
    "sky_bits": _p("sky.bits"),
    "skyuser": _p("sky.user_value"),
    "skyfile": _p("sky.user_file"),
    # separate drizzle
    "driz_separate": Replacement("stage", "sep"),
    "driz_sep_kernel": _p("sep.kernel"),
    "driz_sep_wt_scl": Replacement("none", "single drizzles are weighted by exposure time"),
    "driz_sep_pixfrac": _p("sep.pixfrac"),
    "driz_sep_fillval": _p("sep.fillval"),
    "driz_sep_bits": _p("sep.bits"),
    "driz_sep_compress": Replacement("none", "single drizzles are written uncompressed"),
    **_frame("driz_sep", "sep"),
    # median
    "median": Replacement("stage", "median"),
    "median_newmasks": Replacement("none", "the median always masks by weight (median.combine_maskpt)"),
    "combine_maskpt": _p("median.combine_maskpt"),
    "combine_type": _p("median.combine_type"),
    "combine_nsigma": _p("median.combine_nsigma"),
    "combine_nlow": _p("median.combine_nlow"),
    "combine_nhigh": _p("median.combine_nhigh"),
    "combine_lthresh": _p("median.combine_lthresh"),
    "combine_hthresh": _p("median.combine_hthresh"),
    "combine_grow": _p("median.combine_grow"),
    "combine_bufsize": _p("median.combine_bufsize"),
    # blot
    "blot": Replacement("stage", "blot"),
    "blot_interp": _p("blot.interp"),
    "blot_sinscl": Replacement("none", "no sinc interpolant (it gave wrong results in drizzle)"),
    "blot_addsky": _p("blot.addsky"),
    "blot_skyval": _p("blot.skyval"),
    # cosmic rays
    "driz_cr": Replacement("stage", "cr"),
    "driz_cr_corr": _p("cr.corr"),
    "driz_cr_snr": _p("cr.snr"),
    "driz_cr_grow": _p("cr.grow"),
    "driz_cr_ctegrow": _p("cr.ctegrow"),
    "driz_cr_scale": _p("cr.scale"),
    # final drizzle
    "driz_combine": Replacement("stage", "final"),
    "final_wht_type": _p("final.wht_type"),
    "final_kernel": _p("final.kernel"),
    "final_wt_scl": _p("final.wt_scl"),
    "final_pixfrac": _p("final.pixfrac"),
    "final_fillval": _p("final.fillval"),
    "final_maskval": Replacement("none", "WHT is 0 where nothing landed"),
    "final_bits": _p("final.bits"),
    "final_units": _p("final.units"),
    **_frame("final", "final"),
}


def parameter_targets() -> list[str]:
    """Every ``stage.key`` the table names."""
    return [r.target for r in ASTRODRIZZLE_NAMES.values() if r.kind == "param"]
