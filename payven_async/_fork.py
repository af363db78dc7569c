"""After ``os.fork()``: objects tied to the parent's event loop or threads start afresh.

A forked child has one thread (the one that forked): a client's event-loop thread,
its aiohttp session, its connection pools and any lock held at the moment of the fork
are the parent's, and using them in the child hangs or fails. Objects that hold such
things register here; in the child, right after the fork, each one's ``_after_fork``
drops them, so that the next call builds new ones. ``os.register_at_fork`` costs
nothing on the call path (no process-id test per call).

The parent's objects must be neither closed (their loop does not run in the child)
nor collected (an aiohttp session or a redis connection warns when collected open),
so they are kept in :data:`_ABANDONED` for the child's lifetime: a small, one-off leak
per fork.
"""

from __future__ import annotations

import os
import weakref
from typing import Any, Protocol

__all__ = ["abandon", "after_fork_in_child"]


class _Forkable(Protocol):
    def _after_fork(self) -> None: ...


_FORKABLE: weakref.WeakSet[Any] = weakref.WeakSet()
_ABANDONED: list[object] = []


def after_fork_in_child(obj: _Forkable) -> None:
    """Call ``obj._after_fork()`` in the child of every later fork while ``obj`` lives."""
    _FORKABLE.add(obj)


def abandon(*objects: object) -> None:
    """Keep the parent's ``objects`` referenced, never closed nor collected, in a child."""
    _ABANDONED.extend(obj for obj in objects if obj is not None)


def _in_child() -> None:
    for obj in list(_FORKABLE):
        obj._after_fork()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_in_child)
