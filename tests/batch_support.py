"""Helpers for tests of query_many's task hygiene."""

from __future__ import annotations

import asyncio


def running_batch_workers() -> list[asyncio.Task[object]]:
    """query_many worker tasks that are still alive in the running loop."""
    return [
        task
        for task in asyncio.all_tasks()
        if "stream_outcomes" in getattr(task.get_coro(), "__qualname__", "") and not task.done()
    ]
