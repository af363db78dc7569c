"""A small hand-written progress bar for the command line (no dependencies).

On a terminal it redraws one line in place, at most ten times a second::

    [##############----------------]  1412/3000  47%  2210/s  ETA 0.7s  3 failed

(coloured when the terminal takes colour, see :mod:`payven_async._term`). Made with
``animate=False`` it stays silent until :meth:`close`, which writes the final line
once. The commands draw it when stderr is a terminal or ``--progress`` asks (then it
redraws in place even into a pipe) and write nothing of it otherwise
(:func:`bar_wanted`). :meth:`clear` erases a drawn bar, for a run that stops early
(its reader went away).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TextIO

from ._term import GREEN, RED, paint, wants_colour

__all__ = ["ProgressBar", "bar_wanted", "is_terminal"]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


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
        colour: bool | None = None,
    ) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self._stream = stream
        self._animate = is_terminal(stream) if animate is None else animate
        self._colour = wants_colour(stream) if colour is None else colour
        self._drawn = 0  # characters of the line on screen, for clear()
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
                self._draw("\r")

    def render(self) -> str:
        """The bar as one line of text (no line ending)."""
        return self._render(colour=False)

    def _render(self, *, colour: bool) -> str:
        elapsed = max(self._clock() - self._started, 1e-9)
        speed = self.done / elapsed
        rate = f"{speed:.0f}/s"
        failed = paint(f"  {self.failed} failed", RED, enabled=colour) if self.failed else ""
        if self.total:
            filled = min(self._width, self._width * self.done // self.total)
            bar = paint("#" * filled, GREEN, enabled=colour) + "-" * (self._width - filled)
            percent = 100 * self.done // self.total
            digits = len(str(self.total))
            counts = f"{self.done:>{digits}}/{self.total} {percent:>3}%"
            if self.done >= self.total:
                timing = f"  in {_duration(elapsed)}"
            elif self.done:
                timing = f"  ETA {_duration((self.total - self.done) / speed)}"
            else:
                timing = "  ETA -:--"
            return f"{self._prefix}[{bar}] {counts}  {rate}{timing}{failed}"
        return f"{self._prefix}{self.done} done  {rate}{failed}"

    def close(self) -> None:
        """Draw the final state and end the line. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._draw("\r" if self._animate else "", end="\n")

    def clear(self) -> None:
        """Erase the bar drawn on the terminal, and write nothing more. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._animate and self._drawn:
            self._stream.write("\r" + " " * self._drawn + "\r")
            self._stream.flush()

    def _draw(self, start: str, end: str = "") -> None:
        colour = self._colour and self._animate
        line = self._render(colour=colour)
        # Colour codes take no room on screen: clear() blanks the visible width.
        self._drawn = len(_ANSI.sub("", line))
        self._stream.write(start + line + end)
        self._stream.flush()


def _duration(seconds: float) -> str:
    """``3.2s`` under ten seconds, then ``0:12``, ``12:34``, ``1:02:03``."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def bar_wanted(stream: TextIO, asked: bool | None) -> bool:
    """Whether a command draws its bar on ``stream``: as ``--progress`` /
    ``--no-progress`` ask (``asked``), else when the stream is a terminal; a command
    that draws none writes nothing of it, not even a final line."""
    return is_terminal(stream) if asked is None else asked


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (False for anything without ``isatty``)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
