"""A small hand-written progress bar for the command line (no dependencies).

On a terminal it redraws one line in place, at most ten times a second::

    [##############----------------]  1412/3000  47%  2210/s  3 failed

Anywhere else (a pipe, a file, a CI log) it stays silent until :meth:`close`, which
writes the final line once, so logs get one summary instead of a wall of ``\\r``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["ProgressBar"]


class ProgressBar:
    """Counts finished items (and failures) against an optional total."""

    def __init__(
        self,
        total: int | None,
        stream: TextIO,
        *,
        animate: bool | None = None,
        width: int = 30,
        prefix: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self._stream = stream
        self._animate = _is_terminal(stream) if animate is None else animate
        self._width = width
        self._prefix = prefix
        self._clock = clock
        self._started = clock()
        self._last_draw = float("-inf")
        self._closed = False

    def update(self, count: int = 1, *, failed: bool = False) -> None:
        """Record ``count`` finished items; ``failed`` counts them as failures too."""
        self.done += count
        if failed:
            self.failed += count
        if self._animate:
            now = self._clock()
            if now - self._last_draw >= 0.1 or self.done == self.total:
                self._last_draw = now
                self._stream.write("\r" + self.render())
                self._stream.flush()

    def render(self) -> str:
        """The bar as one line of text (no line ending)."""
        elapsed = max(self._clock() - self._started, 1e-9)
        rate = f"{self.done / elapsed:.0f}/s"
        failed = f"  {self.failed} failed" if self.failed else ""
        if self.total:
            filled = min(self._width, self._width * self.done // self.total)
            bar = "#" * filled + "-" * (self._width - filled)
            percent = 100 * self.done // self.total
            digits = len(str(self.total))
            counts = f"{self.done:>{digits}}/{self.total} {percent:>3}%"
            return f"{self._prefix}[{bar}] {counts}  {rate}{failed}"
        return f"{self._prefix}{self.done} done  {rate}{failed}"

    def close(self) -> None:
        """Draw the final state and end the line. Idempotent."""
        if self._closed:
            return
        self._closed = True
        start = "\r" if self._animate else ""
        self._stream.write(start + self.render() + "\n")
        self._stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
