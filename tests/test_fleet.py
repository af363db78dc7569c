"""A fleet of processes on one real Redis: one token, one rate limit, a dead lock holder.

Every process is a spawned interpreter with its own client (``tests.fleet_support``);
the emulator runs in this process's thread and counts what reaches it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from multiprocessing.pool import Pool
from typing import Any

import pytest
import redis

from payven_async.testing import SyncPayvenEmulator
from tests.fleet_support import hold_lock_and_hang, query_worker, rate_worker
from tests.redis_support import redis_prefix, redis_server, redis_url

__all__ = ["redis_prefix", "redis_server", "redis_url"]  # the fixtures, for pytest

FLEET = 16


@pytest.fixture(scope="module")
def fleet_pool() -> Iterator[Pool]:
    """16 worker processes, started once for this module.

    Forked by a fork server that has imported the workers' modules once (16 spawned
    interpreters importing them each cost seconds of CPU); the fork server itself is a
    fresh interpreter, so no thread of pytest's is ever forked.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.fleet_support"])
    with context.Pool(FLEET) as pool:
        yield pool


def _tasks(
    emu: SyncPayvenEmulator, ids: list[str], parties: int, **common: Any
) -> list[dict[str, Any]]:
    barrier = f"{common['prefix']}:barrier"
    return [
        {
            **common,
            "credentials": dict(emu.credentials()),
            "ids": ids[number::parties],
            "barrier": barrier,
            "parties": parties,
        }
        for number in range(parties)
    ]


def test_sixteen_processes_on_one_store_make_at_most_two_token_calls(
    fleet_pool: Pool, redis_url: str, redis_prefix: str
) -> None:
    """16 processes, 800 queries, one RedisTokenStore: <= 2 token calls, no 429 on it."""
    with SyncPayvenEmulator() as emu:
        ids = emu.seed_payments(800)
        tasks = _tasks(emu, ids, FLEET, redis_url=redis_url, prefix=redis_prefix, store=True)
        results = fleet_pool.map(query_worker, tasks, chunksize=1)
    assert len({result["pid"] for result in results}) == FLEET
    assert [error for result in results for error in result["errors"]] == []
    assert sum(result["ok"] for result in results) == 800
    assert emu.calls["token"] <= 2
    assert emu.token_calls_refused == 0


def test_sixteen_processes_without_a_store_overrun_the_token_limit(
    fleet_pool: Pool, redis_url: str, redis_prefix: str
) -> None:
    """The same fleet without a store: every process asks for a token, and gets 429s."""
    with SyncPayvenEmulator() as emu:
        ids = emu.seed_payments(800)
        tasks = _tasks(emu, ids, FLEET, redis_url=redis_url, prefix=redis_prefix, store=False)
        results = fleet_pool.map(query_worker, tasks, chunksize=1)
    assert len({result["pid"] for result in results}) == FLEET
    assert emu.calls["token"] > 10
    assert emu.token_calls_refused > 0
    assert "RateLimitError" in {error for result in results for error in result["errors"]}


def test_eight_processes_share_one_rate_limit(
    fleet_pool: Pool, redis_url: str, redis_prefix: str
) -> None:
    """8 processes on a RedisRateLimiter of 200/s: the emulator sees 200/s +-10% over 5 s."""
    rate, parties = 200, 8
    with SyncPayvenEmulator() as emu:
        ids = emu.seed_payments(200) * 8  # 1600 queries: 8 s at the limit
        tasks = _tasks(emu, ids, parties, redis_url=redis_url, prefix=redis_prefix, rate=rate)
        pending = fleet_pool.map_async(rate_worker, tasks, chunksize=1)
        deadline = time.monotonic() + 60
        while emu.calls["query"] < 150:  # every process is past its start
            assert time.monotonic() < deadline, "the fleet never got going"
            time.sleep(0.01)
        first, started = emu.calls["query"], time.monotonic()
        time.sleep(5.0)
        last, ended = emu.calls["query"], time.monotonic()
        results = pending.get(120)
    assert sum(result["ok"] for result in results) == len(ids)
    assert last < len(ids), "the window must close before the fleet is done"
    measured = (last - first) / (ended - started)
    assert rate * 0.9 <= measured <= rate * 1.1, measured


def test_a_killed_lock_holder_does_not_stop_the_others(
    fleet_pool: Pool, redis_url: str, redis_prefix: str
) -> None:
    """kill -9 of the process renewing under the lock: the others renew once it lapses."""
    lock_timeout = 2.0
    with SyncPayvenEmulator() as emu:
        ids = emu.seed_payments(40)
        emu.faults.delay_next("token", 120)  # the holder's token call never ends
        credentials = dict(emu.credentials())
        holder = multiprocessing.get_context("forkserver").Process(
            target=hold_lock_and_hang,
            args=(
                {
                    "redis_url": redis_url,
                    "prefix": redis_prefix,
                    "lock_timeout": lock_timeout,
                    "credentials": credentials,
                },
            ),
        )
        holder.start()
        client = redis.Redis.from_url(redis_url)
        try:
            deadline = time.monotonic() + 60
            while emu.calls["token"] < 1:  # the holder is mid-renewal, holding the lock
                assert time.monotonic() < deadline, "the holder never asked for a token"
                time.sleep(0.01)
            (lock,) = client.keys(f"{redis_prefix}:lock:*")
            assert 0 < client.pttl(lock) <= lock_timeout * 1000
            os.kill(holder.pid, signal.SIGKILL)  # type: ignore[arg-type]
            holder.join()
            tasks = _tasks(emu, ids, 4, redis_url=redis_url, prefix=redis_prefix, store=True)
            results = fleet_pool.map(query_worker, tasks, chunksize=1)
        finally:
            client.close()
            if holder.is_alive():
                holder.kill()
                holder.join()
    assert [error for result in results for error in result["errors"]] == []
    assert sum(result["ok"] for result in results) == 40
    assert emu.calls["token"] == 2  # the dead holder's, and one renewal for the others
