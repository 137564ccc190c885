"""The run context every stage receives."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import attrs
import pluggy

from .artifacts import ArtifactStore
from .config import RunConfig
from .progress import Progress
from .registry import InstrumentRegistry, KernelRegistry

__all__ = ["ProvenanceRecord", "RunContext"]


@attrs.frozen
class ProvenanceRecord:
    """What one stage did, for the product headers and the run summary.

    Attributes
    ----------
    stage : str
        Stage name.
    plugin : str
        Plugin that provides the stage.
    distribution : str
        Its distribution and version (``"drizrun 0.1.0"``).
    params : dict
        The stage's parameters as plain values.
    status : str
        ``"ok"`` or ``"skipped"``.
    elapsed : float or None
        Wall time in seconds.
    message : str
        The stage's summary line.
    """

    stage: str
    plugin: str
    distribution: str
    params: dict[str, Any]
    status: str
    elapsed: float | None
    message: str


@attrs.define(eq=False)
class RunContext:
    """Shared state of one run, handed to every stage.

    Attributes
    ----------
    config : RunConfig
        The resolved configuration (inputs, output root, parameters, flags).
    artifacts : ArtifactStore
        Named results stages pass to each other (``ctx.artifacts.get("median")``).
    kernels : KernelRegistry
        Registered array kernels (``ctx.kernels.get("deriv", "abs_deriv")``).
    instruments : InstrumentRegistry
        Registered instruments.
    pm : pluggy.PluginManager
        The session's plugin manager (to call hooks from a stage).
    log : logging.Logger
        The run's logger; stages log through ``ctx.stage_logger(name)``.
    products : list of Path
        Files the user keeps, in the order written.
    history : list of ProvenanceRecord
        One record per finished stage.
    stash : dict
        Scratch space for plugins; key it by something unique to your plugin.
    progress : Progress
        Where stages report how far they are (``ctx.progress.start(name,
        n_chips)``, then ``ctx.progress.advance()`` per chip); shown on a
        terminal by the command line, silent otherwise.
    """

    config: RunConfig
    artifacts: ArtifactStore
    kernels: KernelRegistry
    instruments: InstrumentRegistry
    pm: pluggy.PluginManager
    log: logging.Logger = attrs.field(factory=lambda: logging.getLogger("drizrun"))
    products: list[Path] = attrs.field(factory=list)
    history: list[ProvenanceRecord] = attrs.field(factory=list)
    stash: dict[Any, Any] = attrs.field(factory=dict)
    progress: Progress = attrs.field(factory=Progress)
    _exposures: tuple[Any, ...] | None = attrs.field(default=None, init=False, repr=False)

    @property
    def inputs(self) -> tuple[Path, ...]:
        """The input files."""
        return self.config.inputs

    @property
    def exposures(self) -> tuple[Any, ...]:
        """The inputs as :class:`~drizrun.core.exposure.Exposure` records, read on first use.

        Each file is checked and described once (headers, WCS with its full
        distortion, units, gain, read noise); pixels are read only when a
        stage asks a chip for them.
        """
        if self._exposures is None:
            from .exposure import read_exposure

            name = self.config.instrument
            instrument = self.instruments[name] if name is not None and name in self.instruments else None
            self._exposures = tuple(read_exposure(path, instrument) for path in self.inputs)
        return self._exposures

    def output_path(self, suffix: str) -> Path:
        """Return ``<output dir>/<output root><suffix>`` (``suffix="_drz.fits"``)."""
        return self.config.output_dir / f"{self.config.output_root}{suffix}"

    def add_product(self, path: str | Path) -> None:
        """Record a file the user keeps (listed in the run summary)."""
        self.products.append(Path(path))

    def stage_logger(self, stage: str) -> logging.Logger:
        """Return the logger for a stage (``drizrun.stage.<name>``)."""
        return logging.getLogger(f"drizrun.stage.{stage}")
