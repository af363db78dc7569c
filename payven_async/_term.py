"""Colours for the command line's messages on a terminal (ANSI, no dependencies).

Colour is used only when the stream is a terminal, ``TERM`` is not ``dumb``, and
``NO_COLOR`` (https://no-color.org) is unset or empty; ``FORCE_COLOR`` (non-empty)
turns it on anywhere. Results on stdout are never coloured: they are JSON for tools.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO

__all__ = ["BOLD", "DIM", "GREEN", "RED", "YELLOW", "paint", "wants_colour"]

RED = "31"
GREEN = "32"
YELLOW = "33"
BOLD = "1"
DIM = "2"


def wants_colour(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Whether messages written to ``stream`` should be coloured."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    if env.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def paint(text: str, *styles: str, enabled: bool = True) -> str:
    """``text`` wrapped in the ANSI ``styles`` (and a reset), or as it is when not enabled."""
    if not enabled or not styles or not text:
        return text
    return f"\x1b[{';'.join(styles)}m{text}\x1b[0m"
