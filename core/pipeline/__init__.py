"""The pipeline driver: runastrodriz's processing of one INPUT on drizrun's stages.

:func:`process` (``drizrun-pipeline`` on the command line) drizzles the FLT
files of an association, exposure or list into ``_drz`` and its FLC files into
``_drc``, skips products already complete, can work in a separate directory
(NEWPATH), and appends what it did to the trailer ``<root>.tra``.
"""

from __future__ import annotations

from .driver import PipelineResult, ProductRun, process

__all__ = ["PipelineResult", "ProductRun", "process"]
