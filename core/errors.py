"""Exceptions raised by drizrun.

Every error a user can cause derives from :class:`DrizrunError` and carries an
``exit_status``: 2 for usage and configuration errors (the command line, a
config file, the plugin set-up, the stage list), 1 for processing errors (a
stage failed on the data). The command line prints ``str(error)`` as one line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ConfigError",
    "DrizrunError",
    "InputError",
    "PluginLoadError",
    "PluginLoadWarning",
    "ProcessingError",
    "RegistryError",
    "StageError",
    "StageOrderError",
    "UsageError",
    "closest",
]


class DrizrunError(Exception):
    """Base class of every error drizrun reports to its user."""

    exit_status: int = 1


class UsageError(DrizrunError):
    """The command line or the library call was used wrongly."""

    exit_status = 2


class ConfigError(UsageError):
    """A configuration file, ``--set`` value or parameter is invalid."""


class InputError(UsageError):
    """An input name cannot be resolved to readable FITS files."""


class PluginLoadError(UsageError):
    """A plugin could not be imported or implements an unknown hook."""


class RegistryError(UsageError):
    """Two plugins registered the same name, or a name is unknown."""


class StageOrderError(UsageError):
    """The requested stage list cannot be satisfied or ordered."""


class ProcessingError(DrizrunError):
    """A stage failed while processing data."""

    exit_status = 1


class StageError(ProcessingError):
    """A stage raised an unexpected exception.

    Parameters
    ----------
    stage : str
        Name of the stage that failed.
    cause : BaseException
        The original exception (also chained as ``__cause__``).
    """

    def __init__(self, stage: str, cause: BaseException) -> None:
        self.stage = stage
        self.cause = cause
        detail = str(cause) or type(cause).__name__
        super().__init__(f"stage {stage!r} failed: {type(cause).__name__}: {detail}")


class PluginLoadWarning(UserWarning):
    """A third-party plugin failed to load and was skipped."""


def closest(word: str, choices: Iterable[str]) -> str:
    """Return a ``" (did you mean 'x'?)"`` hint, or an empty string.

    Parameters
    ----------
    word : str
        The misspelt name.
    choices : iterable of str
        The valid names.

    Returns
    -------
    str
        The hint, ready to append to an error message.
    """
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""
