"""A nightly reconciliation fanned out over worker processes that share one token and
one rate limit through Redis.

    pip install 'payven[redis]'
    python examples/fleet_reconciliation.py --emulator            # try it offline
    REDIS_URL=redis://redis:6379/0 python examples/fleet_reconciliation.py ids.txt

Every worker process builds its own ``PayvenClient`` (clients are never shared across
processes) on the same ``RedisTokenStore`` and ``RedisRateLimiter``: the fleet asks the
identity service for one token, not one per process (it allows about 10 token calls a
minute per IP), and stays under one request rate together; a 429 seen by one worker
pauses them all. Each worker queries its share of the ids with ``query_many`` and sends
back a summary; the parent adds them up.

With ``--emulator`` a Payven emulator runs in this process with payments to find
(and a redis-server is expected at ``REDIS_URL``, default ``redis://127.0.0.1:6379/0``);
otherwise credentials come from ``PAYVEN_CLIENT_ID``, ``PAYVEN_CLIENT_SECRET``,
``PAYVEN_SLUG`` (and ``PAYVEN_ENVIRONMENT``) and the ids from a file, one per line.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import multiprocessing
import os
import sys
from typing import Any

from payven_async import PayvenClient
from payven_async.stores import RedisRateLimiter, RedisTokenStore

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
#: Requests per second for the whole fleet (keep under your plan's limit).
FLEET_RATE = 100


def reconcile(job: tuple[list[str], dict[str, Any]]) -> dict[str, Any]:
    """One worker process: query its ids, return counts by status and the failures."""
    ids, client_options = job

    async def run() -> dict[str, Any]:
        store = RedisTokenStore(REDIS_URL, prefix="reconciliation")
        limiter = RedisRateLimiter(REDIS_URL, rate=FLEET_RATE, prefix="reconciliation")
        statuses: collections.Counter[str] = collections.Counter()
        failed: list[str] = []
        async with PayvenClient(
            **client_options, token_store=store, rate_limiter=limiter
        ) as client:
            async for outcome in client.query_many(ids, concurrency=16):
                if outcome.result is not None:
                    statuses[outcome.result.status or "unknown"] += 1
                else:
                    failed.append(outcome.transaction_id)
        return {"pid": os.getpid(), "statuses": statuses, "failed": failed}

    return asyncio.run(run())


def fan_out(ids: list[str], client_options: dict[str, Any], workers: int) -> None:
    """Split ``ids`` over ``workers`` processes and print the reconciled totals."""
    shares = [(ids[number::workers], client_options) for number in range(workers)]
    # "spawn": every worker starts clean (with "fork" the clients would be fork-safe
    # too, but nothing of the parent's is needed here).
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        reports = pool.map(reconcile, shares)
    totals: collections.Counter[str] = collections.Counter()
    failed: list[str] = []
    for report in reports:
        totals.update(report["statuses"])
        failed.extend(report["failed"])
    print(f"{len(ids)} payments over {workers} processes:")
    for status, count in totals.most_common():
        print(f"  {status:<12} {count}")
    print(f"  {'no answer':<12} {len(failed)} (query these again later)")


def main() -> None:
    parser = argparse.ArgumentParser(description="Reconcile payments over worker processes.")
    parser.add_argument("ids", nargs="?", help="a file of transaction ids, one per line")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--emulator", action="store_true", help="run against an emulator")
    parser.add_argument("--payments", type=int, default=2000, help="with --emulator")
    options = parser.parse_args()
    if options.emulator:
        from payven_async.testing import SyncPayvenEmulator

        with SyncPayvenEmulator() as emu:
            count = options.payments
            ids: list[str] = emu.seed_payments(count, declined=range(0, count, 50))
            fan_out(ids, dict(emu.credentials()), options.workers)
            print(f"token calls the identity service saw: {emu.calls['token']}")
        return
    if options.ids is None:
        sys.exit("give a file of transaction ids, or --emulator")
    with open(options.ids, encoding="utf-8") as source:
        ids = [line.strip() for line in source if line.strip()]
    fan_out(ids, {}, options.workers)


if __name__ == "__main__":
    main()
