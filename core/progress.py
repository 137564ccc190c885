"""Progress of a run: which stage, how many chips, how fast, how long left.

Stages report through ``ctx.progress``: ``start(stage, total, unit)`` once,
``advance()`` after each piece of work. The command line shows a
:class:`TerminalProgress` line on standard error when it is a terminal and
``-q`` is not given; everywhere else (library use, pipes, logs) the run gets a
:class:`Progress`, which does nothing.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

__all__ = ["Progress", "TerminalProgress"]


class Progress:
    """Progress reporting that does nothing (the default)."""

    def start(self, stage: str, total: int, unit: str = "chip") -> None:
        """A stage begins ``total`` pieces of work of one ``unit``."""

    def advance(self, count: int = 1) -> None:
        """``count`` more pieces are done."""

    def finish(self) -> None:
        """The current stage is done."""


class TerminalProgress(Progress):
    """One self-overwriting status line on a terminal.

    Parameters
    ----------
    stream : file, optional
        Where to write (default standard error).
    clock : callable, optional
        Time source in seconds (for tests).
    """

    def __init__(self, stream: TextIO | None = None, clock: object = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self._clock = clock if callable(clock) else time.monotonic
        self._lock = threading.Lock()
        self._stage = ""
        self._unit = "chip"
        self._total = 0
        self._done = 0
        self._started = 0.0
        self._width = 0

    def start(self, stage: str, total: int, unit: str = "chip") -> None:
        """Show a new stage."""
        with self._lock:
            self._stage, self._total, self._unit, self._done = stage, max(0, int(total)), unit, 0
            self._started = self._clock()
            self._draw()

    def advance(self, count: int = 1) -> None:
        """Count finished pieces and redraw."""
        with self._lock:
            self._done = min(self._total, self._done + count) if self._total else self._done + count
            self._draw()

    def finish(self) -> None:
        """Clear the line."""
        with self._lock:
            if self._width:
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.flush()
            self._width = 0

    def line(self) -> str:
        """The status text as it would be drawn now."""
        elapsed = max(self._clock() - self._started, 1e-9)
        units = self._unit + ("s" if self._total != 1 else "")
        text = f"[{self._stage}] {self._done}/{self._total} {units}"
        if self._done:
            rate = self._done / elapsed
            text += f"  {rate:.2f} {self._unit}s/s"
            if self._total > self._done:
                text += f"  ~{(self._total - self._done) / rate:.0f} s left"
        return text

    def _draw(self) -> None:
        text = self.line()
        pad = max(0, self._width - len(text))
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self._width = len(text)
