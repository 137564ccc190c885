"""Expanding the INPUT arguments into a list of FITS files.

Accepted forms, freely mixed:

* a FITS file name (``j8bt06nyq_flt.fits``, also ``.fits.gz``);
* a glob (``"*_flc.fits"``), expanded in sorted order;
* ``@listfile``: a text file with one input per line (blank lines and ``#``
  comments ignored; names relative to the list file's directory);
* an association table (``*_asn.fits``): its exposure members (``MEMTYPE``
  starting with ``EXP``) as ``<member>_flc.fits`` when present, else
  ``<member>_flt.fits``, beside the table; its ``PROD-*`` member names the
  default output root.

Nothing is read beyond the FITS signature and, for association tables, the
member table; each problem is one message naming the argument.
"""

from __future__ import annotations

import glob
import gzip
from collections.abc import Iterable
from pathlib import Path

import attrs

from .errors import InputError

__all__ = ["InputSet", "expand_inputs", "is_association"]

_FITS_SIGNATURE = b"SIMPLE  ="
_GLOB_CHARS = set("*?[")


@attrs.frozen
class InputSet:
    """The expanded inputs.

    Attributes
    ----------
    files : tuple of Path
        Every input file, in order, without duplicates.
    product : str or None
        Output root named by an association table, if any.
    """

    files: tuple[Path, ...]
    product: str | None = None


def is_association(path: Path) -> bool:
    """Whether a file name is that of an association table (``*_asn.fits``)."""
    name = path.name.lower()
    return name.endswith("_asn.fits") or name.endswith("_asn.fits.gz")


def expand_inputs(items: Iterable[str], *, cwd: Path | None = None) -> InputSet:
    """Expand INPUT arguments into FITS files.

    Parameters
    ----------
    items : iterable of str
        File names, globs, ``@listfile`` names and association tables.
    cwd : Path, optional
        Directory relative names are taken in (default: the current one).

    Returns
    -------
    InputSet

    Raises
    ------
    InputError
        When an argument matches nothing, names a missing or non-FITS file, or
        an association table is unreadable or lists a missing member.
    """
    base = Path.cwd() if cwd is None else Path(cwd)
    files: list[Path] = []
    products: list[str] = []
    for item in items:
        _expand_one(item, base, files, products, depth=0)
    if not files:
        raise InputError("no input files given")
    unique = list(dict.fromkeys(path.resolve() for path in files))
    return InputSet(files=tuple(unique), product=products[0] if products else None)


def _expand_one(item: str, base: Path, files: list[Path], products: list[str], depth: int) -> None:
    if depth > 8:
        raise InputError(f"{item!r}: list files nested too deeply")
    if item.startswith("@"):
        _expand_listfile(Path(item[1:]) if Path(item[1:]).is_absolute() else base / item[1:], files, products, depth)
        return
    path = Path(item) if Path(item).is_absolute() else base / item
    if _GLOB_CHARS & set(item):
        matches = sorted(glob.glob(str(path)))
        if not matches:
            raise InputError(f"no file matches {item!r}")
        for match in matches:
            _add_file(Path(match), item, files, products)
        return
    _add_file(path, item, files, products)


def _expand_listfile(listfile: Path, files: list[Path], products: list[str], depth: int) -> None:
    try:
        lines = listfile.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"list file {listfile} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read list file {listfile}: {exc}") from exc
    entries = [line.split("#", 1)[0].strip() for line in lines]
    entries = [entry.split()[0] for entry in entries if entry]
    if not entries:
        raise InputError(f"list file {listfile} names no inputs")
    for entry in entries:
        _expand_one(entry, listfile.parent, files, products, depth + 1)


def _add_file(path: Path, item: str, files: list[Path], products: list[str]) -> None:
    if not path.exists():
        raise InputError(f"input {item!r} does not exist")
    if not path.is_file():
        raise InputError(f"input {item!r} is not a file")
    _check_fits_signature(path)
    if is_association(path):
        members, product = _read_association(path)
        files.extend(members)
        if product:
            products.append(product)
        return
    files.append(path)


def _check_fits_signature(path: Path) -> None:
    try:
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rb") as handle:
            head = handle.read(len(_FITS_SIGNATURE))
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    if head != _FITS_SIGNATURE:
        raise InputError(f"{path} is not a FITS file (it does not start with SIMPLE =)")


def _read_association(path: Path) -> tuple[list[Path], str | None]:
    from astropy.io import fits

    try:
        with fits.open(path) as hdul:
            table = hdul[1].data
            names = [str(n).strip() for n in table["MEMNAME"]]
            types = [str(t).strip().upper() for t in table["MEMTYPE"]]
    except (OSError, IndexError, KeyError, TypeError, ValueError) as exc:
        raise InputError(
            f"association table {path} is unreadable: needs a table with MEMNAME and MEMTYPE ({exc})"
        ) from exc
    members = []
    product = None
    for name, memtype in zip(names, types, strict=True):
        if memtype.startswith("EXP"):
            members.append(_member_file(path.parent, name, path))
        elif memtype.startswith("PROD") and product is None:
            product = name.lower()
    if not members:
        raise InputError(f"association table {path} lists no exposures (MEMTYPE EXP-*)")
    return members, product


def _member_file(directory: Path, name: str, asn: Path) -> Path:
    for suffix in ("_flc.fits", "_flt.fits"):
        candidate = directory / f"{name.lower()}{suffix}"
        if candidate.is_file():
            return candidate
    raise InputError(
        f"association {asn.name} lists {name}, but neither {name.lower()}_flc.fits nor "
        f"{name.lower()}_flt.fits is in {directory}"
    )
