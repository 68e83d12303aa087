"""A plain text progress bar for long command-line work (catalog import, training)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Redraws one line on a terminal; prints a few milestones when output is not a terminal."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.started = time.perf_counter()
        self._last_pct = -1
        self._tty = self.stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        """Report ``done`` of ``total``."""
        pct = int(100 * done / total) if total else 100
        if pct == self._last_pct or (not self._tty and pct % 25 and pct != 100):
            return
        self._last_pct = pct
        filled = self.width * pct // 100
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.perf_counter() - self.started
        line = f"{self.label} [{bar}] {pct:3d}% {done:,}/{total:,} ({elapsed:.1f} s)"
        end = "\n" if pct >= 100 or not self._tty else ""
        self.stream.write(("\r" if self._tty else "") + line + end)
        self.stream.flush()
