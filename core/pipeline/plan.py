"""What one pipeline INPUT stands for: its trailer, its product runs, its files.

The INPUT of ``drizrun-pipeline`` is what runastrodriz takes, plus lists:

* an association table ``<root>_asn.fits``: its exposure members; when every
  member has an FLT file, one run makes ``<product>_drz.fits``, and when every
  member has an FLC file, another makes ``<product>_drc.fits``;
* ``<root>_raw.fits`` (which need not exist): ``<root>_flt.fits`` into
  ``<root>_drz.fits`` and ``<root>_flc.fits`` into ``<root>_drc.fits``, each
  when present;
* one FLT or FLC file: that file into ``<root>_drz.fits`` or ``<root>_drc.fits``;
* ``@listfile`` or a comma-separated list of files (globs and association
  tables allowed, as for ``drizrun``): the FLT files into ``<root>_drz.fits``
  and the FLC files into ``<root>_drc.fits``, where ``<root>`` is the list
  file's name without extension, or the root of the first file of a comma list.

The trailer is ``<root>.tra`` beside INPUT, ``<root>`` being INPUT's name up to
``_asn`` or ``_raw``, else up to its last ``_``, as runastrodriz names it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import attrs

from ..errors import InputError
from ..exposure import file_kind
from ..inputs import expand_inputs, is_association

__all__ = ["PipelineInput", "ProductPlan", "resolve_input", "trailer_location"]

log = logging.getLogger("drizrun.pipeline")

_EXTENSIONS = (".gz", ".fits", ".fit", ".fts")


@attrs.frozen
class ProductPlan:
    """One drizrun run of the pipeline: FLT files into ``_drz``, FLC files into ``_drc``.

    Attributes
    ----------
    kind : str
        ``"flt"`` or ``"flc"`` (``""`` for files named otherwise, drizzled into ``_drz``).
    inputs : tuple of Path
        The exposures, in INPUT's directory.
    product : Path
        The product it makes, in INPUT's directory.
    """

    kind: str
    inputs: tuple[Path, ...]
    product: Path

    @property
    def label(self) -> str:
        """``"4 FLT file(s) -> x_drz.fits"``."""
        return f"{len(self.inputs)} {(self.kind or 'input').upper()} file(s) -> {self.product.name}"


@attrs.frozen
class PipelineInput:
    """INPUT resolved into runs.

    Attributes
    ----------
    source : str
        INPUT as given.
    root : str
        Root of the trailer.
    directory : Path
        INPUT's directory: where the trailer and the products go.
    product_root : str
        Root of the products (the association's product name, else ``root``).
    plans : tuple of ProductPlan
        One per product.
    copies : tuple of Path
        Every file a run in NEWPATH needs (the association table or list file
        and the exposures).
    """

    source: str
    root: str
    directory: Path
    product_root: str
    plans: tuple[ProductPlan, ...]
    copies: tuple[Path, ...]

    @property
    def trailer(self) -> Path:
        """``<directory>/<root>.tra``."""
        return self.directory / f"{self.root}.tra"


def _strip_extension(name: str) -> str:
    for ext in _EXTENSIONS:
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
    return name


def _items(in_file: str) -> list[str]:
    return [part.strip() for part in in_file.split(",") if part.strip()]


def trailer_location(in_file: str | os.PathLike[str]) -> tuple[Path, str]:
    """Return the directory and root of INPUT's trailer, from its name alone.

    Parameters
    ----------
    in_file : str or path
        INPUT as given.

    Returns
    -------
    tuple of (Path, str)
        INPUT's directory (absolute) and the trailer root.

    Raises
    ------
    InputError
        When INPUT is empty.
    """
    items = _items(os.fspath(in_file))
    if not items:
        raise InputError("no INPUT given")
    first = items[0].removeprefix("@")
    path = Path(first).absolute()
    name = path.name
    if items[0].startswith("@"):
        return path.parent, name.rsplit(".", 1)[0] or name
    lowered = name.lower()
    for marker in ("_asn", "_raw"):
        if marker in lowered:
            return path.parent, name[: lowered.index(marker)]
    stem = _strip_extension(name)
    cut = stem.rfind("_")
    return path.parent, stem[:cut] if cut > 0 else stem


def resolve_input(in_file: str | os.PathLike[str]) -> PipelineInput:
    """Resolve INPUT into product runs.

    Parameters
    ----------
    in_file : str or path
        An association table, a ``_raw``, FLT or FLC file name, ``@listfile``
        or a comma-separated list.

    Returns
    -------
    PipelineInput

    Raises
    ------
    InputError
        When a file is missing, is not FITS, or an association has neither a
        complete FLT nor a complete FLC set.
    """
    source = os.fspath(in_file)
    directory, root = trailer_location(source)
    items = _items(source)
    if len(items) == 1 and not items[0].startswith("@"):
        path = Path(items[0]).absolute()
        if is_association(path):
            return _association(source, path, directory, root)
        if "_raw" in path.name.lower():
            return _raw(source, directory, root)
    listfile = [Path(items[0][1:]).absolute()] if len(items) == 1 and items[0].startswith("@") else []
    files = expand_inputs(items).files
    groups: dict[str, list[Path]] = {}
    for path in files:
        groups.setdefault(file_kind(path), []).append(path)
    plans = tuple(_plan(kind, members, directory, root) for kind, members in sorted(groups.items()))
    return PipelineInput(source=source, root=root, directory=directory, product_root=root, plans=plans,
                         copies=_unique_names((*listfile, *files)))


def _plan(kind: str, inputs: list[Path] | tuple[Path, ...], directory: Path, product_root: str) -> ProductPlan:
    suffix = "_drc.fits" if kind == "flc" else "_drz.fits"
    return ProductPlan(kind=kind, inputs=tuple(inputs), product=directory / f"{product_root}{suffix}")


def _association(source: str, asn: Path, directory: Path, root: str) -> PipelineInput:
    expanded = expand_inputs([str(asn)])
    product_root = expanded.product or root
    members = [_strip_extension(path.name)[:-4] for path in expanded.files]
    sets = {kind: [asn.parent / f"{member}_{kind}.fits" for member in members] for kind in ("flt", "flc")}
    present = {kind: [path for path in paths if path.is_file()] for kind, paths in sets.items()}
    complete = [kind for kind in ("flt", "flc") if len(present[kind]) == len(members)]
    if not complete:
        raise InputError(
            f"association {asn.name}: the members have neither all their FLT nor all their FLC files in "
            f"{asn.parent} ({len(present['flt'])} FLT and {len(present['flc'])} FLC of {len(members)})"
        )
    for kind in ("flt", "flc"):
        if kind not in complete and present[kind]:
            log.warning("association %s: only %d of %d %s files are present; no %s product is made",
                        asn.name, len(present[kind]), len(members), kind.upper(),
                        "_drc" if kind == "flc" else "_drz")
    plans = tuple(_plan(kind, sets[kind], directory, product_root) for kind in complete)
    files = [path for plan in plans for path in plan.inputs]
    return PipelineInput(source=source, root=root, directory=directory, product_root=product_root, plans=plans,
                         copies=_unique_names((asn, *files)))


def _raw(source: str, directory: Path, root: str) -> PipelineInput:
    plans = tuple(
        _plan(kind, [directory / f"{root}_{kind}.fits"], directory, root)
        for kind in ("flt", "flc")
        if (directory / f"{root}_{kind}.fits").is_file()
    )
    if not plans:
        raise InputError(f"{source}: neither {root}_flt.fits nor {root}_flc.fits is in {directory}")
    for plan in plans:
        expand_inputs([str(plan.inputs[0])])  # checks the FITS signature
    return PipelineInput(source=source, root=root, directory=directory, product_root=root, plans=plans,
                         copies=tuple(plan.inputs[0] for plan in plans))


def _unique_names(paths: tuple[Path, ...]) -> tuple[Path, ...]:
    unique = tuple(dict.fromkeys(paths))
    seen: dict[str, Path] = {}
    for path in unique:
        other = seen.setdefault(path.name, path)
        if other != path:
            raise InputError(f"two inputs share the file name {path.name} ({other.parent} and {path.parent})")
    return unique
