"""The terminal progress line."""

from __future__ import annotations

import io

from drizrun.core.progress import Progress, TerminalProgress


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_line_shows_stage_count_rate_and_time_left():
    clock = _Clock()
    stream = io.StringIO()
    progress = TerminalProgress(stream, clock=clock)
    progress.start("final", 8)
    clock.now += 4.0
    progress.advance(2)
    assert progress.line() == "[final] 2/8 chips  0.50 chips/s  ~12 s left"
    progress.advance(6)
    assert "left" not in progress.line()
    progress.finish()
    text = stream.getvalue()
    assert text.startswith("\r[final] 0/8 chips") and text.endswith("\r")


def test_default_progress_is_silent():
    progress = Progress()
    progress.start("sep", 3, "exposure")
    progress.advance()
    progress.finish()
