"""Recording what the ``drizrun`` logger and Python warnings say during a pipeline run.

The records go into the trailer. The logger is lowered to INFO while the
capture lasts, but its handlers (and those above it) still receive only what
they received before, so a program's own logging set-up is not changed.
"""

from __future__ import annotations

import logging
import warnings
from types import TracebackType

__all__ = ["LogCapture"]

_FORMAT = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")


class _Collect(logging.Handler):
    def __init__(self, lines: list[str], warned: list[str]) -> None:
        super().__init__(logging.INFO)
        self.lines = lines
        self.warned = warned

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a bad format string must not stop the run
            text = f"{record.levelname} {record.name}: {record.msg!r} {record.args!r}"
        self.lines.append(text)
        if record.levelno >= logging.WARNING:
            self.warned.append(text)


class _Forward(logging.Handler):
    """Passes on what the logger would have passed on before the capture."""

    def __init__(self, logger: logging.Logger, threshold: int, handlers: list[logging.Handler],
                 propagate: bool) -> None:
        super().__init__(logging.NOTSET)
        self.logger = logger
        self.threshold = threshold
        self.handlers = handlers
        self.propagate = propagate

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < self.threshold:
            return
        for handler in self.handlers:
            if record.levelno >= handler.level:
                handler.handle(record)
        if self.propagate and self.logger.parent is not None:
            self.logger.parent.callHandlers(record)


class LogCapture:
    """Context manager collecting the ``drizrun`` logger's records and Python warnings.

    Attributes
    ----------
    lines : list of str
        Every record at INFO or above, formatted, in order.
    warnings : list of str
        Records at WARNING or above, and Python warnings, formatted.
    """

    def __init__(self, name: str = "drizrun") -> None:
        self.logger = logging.getLogger(name)
        self.lines: list[str] = []
        self.warnings: list[str] = []
        self._python: list[warnings.WarningMessage] = []

    def __enter__(self) -> LogCapture:
        logger = self.logger
        self._saved = (logger.level, list(logger.handlers), logger.propagate)
        threshold = logger.getEffectiveLevel()
        collect = _Collect(self.lines, self.warnings)
        collect.setFormatter(_FORMAT)
        forward = _Forward(logger, threshold, list(logger.handlers), logger.propagate)
        logger.handlers = [collect, forward]
        logger.propagate = False
        logger.setLevel(min(threshold, logging.INFO))
        self._catcher = warnings.catch_warnings(record=True)
        self._python = self._catcher.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._catcher.__exit__(exc_type, exc, tb)
        level, handlers, propagate = self._saved
        self.logger.handlers = handlers
        self.logger.propagate = propagate
        self.logger.setLevel(level)
        for message in self._python:
            self.warnings.append(f"{message.category.__name__}: {message.message} ({message.filename}:"
                                 f"{message.lineno})")
            warnings.warn_explicit(message.message, message.category, message.filename, message.lineno)
