"""Whether a product is complete: it exists, opens as FITS, and was made from the same inputs.

The final stage writes one ``D###DATA = 'file[SCI,N]'`` keyword per drizzled
chip into the product's primary header; the product was made from the same
inputs when those keywords name exactly the input files, and none of the inputs
has been modified since the product was written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

__all__ = ["check_product"]

_DATA_KEY = re.compile(r"^D\d{3}DATA$")


def check_product(product: Path, inputs: Sequence[Path]) -> str | None:
    """Say why a product is not complete.

    Parameters
    ----------
    product : Path
        The drizzled product.
    inputs : sequence of Path
        The files it should have been made from.

    Returns
    -------
    str or None
        None when the product is complete, else the reason it is not.
    """
    from astropy.io import fits

    if not product.is_file():
        return f"{product.name} does not exist"
    try:
        with fits.open(product, memmap=False) as hdul:
            primary = hdul[0].header
            names = [hdu.name for hdu in hdul]
    except (OSError, ValueError, TypeError, IndexError) as exc:
        return f"{product.name} does not open as FITS ({exc})"
    if "SCI" not in names:
        return f"{product.name} has no SCI extension"
    made_from = {str(value).split("[", 1)[0].strip() for key, value in primary.items() if _DATA_KEY.match(key)}
    expected = {path.name for path in inputs}
    if made_from != expected:
        missing, extra = sorted(expected - made_from), sorted(made_from - expected)
        detail = "; ".join(
            part for part in (f"lacks {', '.join(missing)}" if missing else "",
                              f"also has {', '.join(extra)}" if extra else "") if part
        )
        return f"{product.name} was made from other inputs ({detail})"
    written = product.stat().st_mtime_ns
    newer = [path.name for path in inputs if path.stat().st_mtime_ns > written]
    if newer:
        return f"{', '.join(newer)} changed after {product.name} was written"
    return None
