"""Worker functions run in other processes by the fleet tests (importable, for spawn).

Each worker builds its own client (its own token cache, its own event loop) and meets
the others at a barrier kept in Redis before it starts, so that N tasks of a pool are
N different processes working at the same time.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import redis

from payven_async import PayvenClient
from payven_async.stores import RedisRateLimiter, RedisTokenStore

__all__ = ["barrier", "hold_lock_and_hang", "query_worker", "rate_worker"]


def barrier(redis_url: str, key: str, parties: int, timeout: float = 60.0) -> None:
    """Wait until ``parties`` processes have reached the barrier named ``key``."""
    client = redis.Redis.from_url(redis_url)
    try:
        client.incr(key)
        client.expire(key, 300)
        deadline = time.monotonic() + timeout
        while int(client.get(key) or 0) < parties:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {client.get(key)!r} of {parties} reached {key}")
            time.sleep(0.01)
    finally:
        client.close()


def query_worker(task: dict[str, Any]) -> dict[str, Any]:
    """Query ``task["ids"]`` through a client of this process; counts and errors."""
    barrier(task["redis_url"], task["barrier"], task["parties"])

    async def main() -> dict[str, Any]:
        store = (
            RedisTokenStore(task["redis_url"], prefix=task["prefix"], lock_timeout=5.0)
            if task["store"]
            else None
        )
        ok, errors = 0, []
        async with PayvenClient(**task["credentials"], token_store=store, max_retries=0) as client:
            async for outcome in client.query_many(task["ids"], concurrency=4):
                if outcome.error is None:
                    ok += 1
                else:
                    errors.append(type(outcome.error).__name__)
            made = client._tokens.requests_made
        return {"pid": os.getpid(), "ok": ok, "errors": errors, "token_requests": made}

    return asyncio.run(main())


def rate_worker(task: dict[str, Any]) -> dict[str, Any]:
    """Query ``task["ids"]`` as fast as a shared RedisRateLimiter allows."""
    barrier(task["redis_url"], task["barrier"], task["parties"])

    async def main() -> dict[str, Any]:
        limiter = RedisRateLimiter(
            task["redis_url"], rate=task["rate"], prefix=task["prefix"], name="fleet"
        )
        ok = 0
        async with PayvenClient(**task["credentials"], rate_limiter=limiter) as client:
            await client.token()
            async for outcome in client.query_many(task["ids"], concurrency=8):
                ok += outcome.error is None
        return {"pid": os.getpid(), "ok": ok}

    return asyncio.run(main())


def hold_lock_and_hang(task: dict[str, Any]) -> None:
    """Start a renewal through the store (the emulator holds its token call) and hang."""

    async def main() -> None:
        store = RedisTokenStore(
            task["redis_url"], prefix=task["prefix"], lock_timeout=task["lock_timeout"]
        )
        async with PayvenClient(**task["credentials"], token_store=store, timeout=600) as client:
            await client.token()

    asyncio.run(main())
