"""Token calls and wall time of a fleet of processes, with and without a shared token store.

    .venv/bin/python benchmarks/fleet.py                  # 16 processes x 50 queries
    .venv/bin/python benchmarks/fleet.py --processes 32 --queries 100

Each process has its own ``PayvenClient`` and queries its share of the ids (concurrency
8), all starting together (a barrier in Redis); the wall time runs from that start to
the last process's end. The emulator runs in this process with
the identity service's documented limit of 10 token calls a minute (429 with
``Retry-After`` past it), so without a store the processes that are refused wait as
told, and with a ``RedisTokenStore`` they share one token. Needs ``redis-server`` on
PATH (one is started on a free loopback port) or ``--redis-url``. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import multiprocessing
import platform
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis

from payven_async import PayvenClient
from payven_async.stores import RedisTokenStore
from payven_async.testing import SyncPayvenEmulator


def _worker(task: dict[str, Any]) -> dict[str, Any]:
    client = redis.Redis.from_url(task["redis_url"])
    client.incr(task["barrier"])
    while int(client.get(task["barrier"]) or 0) < task["parties"]:
        time.sleep(0.005)
    client.close()
    started = time.time()  # all processes are up: the wall time counts from here

    async def main() -> dict[str, Any]:
        store = RedisTokenStore(task["redis_url"], prefix=task["prefix"]) if task["store"] else None
        ok = 0
        async with PayvenClient(**task["credentials"], token_store=store) as payven:
            async for outcome in payven.query_many(task["ids"], concurrency=8):
                ok += outcome.error is None
        return {"ok": ok, "started": started, "ended": time.time()}

    return asyncio.run(main())


@contextmanager
def _redis(url: str | None) -> Iterator[str]:
    if url is not None:
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("needs redis-server on PATH, or --redis-url")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                if redis.Redis(port=port).ping():
                    break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait()


def _run(pool: Any, redis_url: str, processes: int, queries: int, store: bool) -> dict[str, Any]:
    prefix = f"payven-bench-{uuid.uuid4().hex[:8]}"
    with SyncPayvenEmulator() as emu:
        ids = emu.seed_payments(queries * processes)
        tasks = [
            {
                "redis_url": redis_url,
                "prefix": prefix,
                "barrier": f"{prefix}:barrier",
                "parties": processes,
                "credentials": dict(emu.credentials()),
                "ids": ids[number::processes],
                "store": store,
            }
            for number in range(processes)
        ]
        results = pool.map(_worker, tasks, chunksize=1)
        wall = max(result["ended"] for result in results) - min(
            result["started"] for result in results
        )
    return {
        "token calls": emu.calls["token"],
        "refused (429)": emu.token_calls_refused,
        "queries ok": sum(result["ok"] for result in results),
        "wall": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=16)
    parser.add_argument("--queries", type=int, default=50, help="per process")
    parser.add_argument("--redis-url", default=None)
    options = parser.parse_args()
    print(
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"{multiprocessing.cpu_count()} x {platform.machine()}, Python {platform.python_version()}"
    )
    context = multiprocessing.get_context("forkserver")
    with _redis(options.redis_url) as url, context.Pool(options.processes) as pool:
        rows = [
            (
                label,
                _run(pool, url, options.processes, options.queries, store),
            )
            for label, store in (("RedisTokenStore", True), ("no store", False))
        ]
    print(f"{'fleet':>34} | {'token calls':>11} | {'429 on token':>12} | {'queries ok':>10} | wall")
    for label, row in rows:
        fleet = f"{options.processes} processes x {options.queries}, {label}"
        print(
            f"{fleet:>34} | {row['token calls']:>11} | {row['refused (429)']:>12} | "
            f"{row['queries ok']:>10} | {row['wall']:.2f} s"
        )


if __name__ == "__main__":
    main()
