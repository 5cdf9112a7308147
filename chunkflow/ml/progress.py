"""A one-line progress display for training: step, loss and throughput in rows/s.

On a terminal the line is redrawn in place (``\\r``) at most ten times a
second; elsewhere (logs, CI) a line is printed about every tenth of the run,
so logs stay short. ``Progress(enabled=None)`` shows it only when the stream
is a terminal, as tqdm does; ``False`` is the quiet mode.
"""
from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    """``update(step, loss, rows)`` after each step; ``close(message)`` at the end."""

    def __init__(self, total=None, enabled=None, stream=None, label="step"):
        self.stream = sys.stderr if stream is None else stream
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = tty if enabled is None else bool(enabled)
        self.inplace = tty
        self.total, self.label = total, label
        self.start = self.last_draw = time.perf_counter()
        self.rows = 0
        self.line = ""

    def update(self, step: int, loss: float, rows: int = 0, extra: str = ""):
        """Record a finished step that read ``rows`` rows and reached ``loss``."""
        self.rows += rows
        if not self.enabled:
            return
        now = time.perf_counter()
        elapsed = max(now - self.start, 1e-9)
        total = f"/{self.total}" if self.total is not None else ""
        rate = f"  {_si(self.rows / elapsed)} rows/s" if self.rows else ""
        self.line = f"{self.label} {step}{total}  loss {loss:.6g}{rate}  {elapsed:.1f}s{extra}"
        if self.inplace:
            if now - self.last_draw >= 0.1 or (self.total is not None and step >= self.total):
                self.stream.write("\r" + self.line.ljust(78))
                self.stream.flush()
                self.last_draw = now
        elif self.total is None or step % max(1, self.total // 10) == 0 or step >= self.total:
            self.stream.write(self.line + "\n")
            self.stream.flush()

    def close(self, message: str = ""):
        """Finish the display (the in-place line stays; ``message`` goes below it)."""
        if not self.enabled:
            return
        if self.inplace and self.line:
            self.stream.write("\r" + self.line.ljust(78) + "\n")
        if message:
            self.stream.write(message + "\n")
        self.stream.flush()


def _si(value: float) -> str:
    """``value`` with a k/M/G suffix: ``1234567 -> '1.23M'``."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g}{unit}"
    return f"{value:.3g}"
