"""``reconcile`` against ``query_many`` alone, over 100,000 seeded transactions.

    python benchmarks/reconcile.py                   # 100k seeded, 9 rounds, 10-15 minutes
    python benchmarks/reconcile.py --count 20000     # smaller

Not part of ``run.py``'s sections (nor of its ``cg`` run): it needs an emulator seeded
with the transactions, which takes its own process. Three processes: the emulator
(``serve``: seeded with ``--count`` payments, a few with planted mismatches, their ids
written to a file), and the client (``throughput``, then ``memory`` twice in fresh
processes).

- throughput: each round runs ``query_many``, ``reconcile`` and ``reconcile`` with the
  merchant's expected record of each id (the heavier case) over the same 20,000 ids,
  in rotating order, at the same concurrency; the rounds walk through all the seeded
  ids. Rates are medians over the rounds, ratios the median of each round's own ratio.
  The emulator, in its own process, costs more per request than either client, so the
  wall-clock rate is mostly the server's; the client's CPU seconds per id show what
  ``reconcile`` adds to ``query_many``.
- memory: the peak RSS growth of one ``reconcile`` over the first 10k and over 100k
  ids (read lazily from the file, no expected records), each in a fresh process.

Nothing here is a test: no timing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from child import _current_rss_kib, _peak_rss_kib, _reset_peak_rss
from run import machine

from payven_async import ExpectedRecord, PayvenClient
from payven_async.testing import PayvenEmulator

HERE = Path(__file__).resolve().parent
CHUNK = 20_000  # ids per throughput round; the rounds walk through all of them
PLANTED = {
    "status": 20,
    "amount": 20,
    "captured_amount": 20,
    "currency": 20,
    "external_missing": 20,
}


# --- the emulator process --------------------------------------------------------------


def serve(count: int, ids_path: str) -> None:
    """Seed ``count`` payments, write their ids, print the settings, serve until SIGTERM."""

    emu = PayvenEmulator(rate_limit=None)
    seeded = emu.seed_payments(count, declined=range(0, count, 97), mismatches=PLANTED)
    Path(ids_path).write_text("".join(f"{tid}\n" for tid in seeded))

    async def main() -> None:
        async with emu:
            print(json.dumps(dict(emu.credentials())), flush=True)
            stop = asyncio.Event()
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
            await stop.wait()

    asyncio.run(main())


# --- the client processes --------------------------------------------------------------


def _ids(path: str, limit: int | None = None) -> Iterator[str]:
    with open(path, encoding="utf-8") as handle:
        for index, line in enumerate(handle):
            if limit is not None and index >= limit:
                return
            yield line.rstrip("\n")


async def _query_many(client: PayvenClient, ids: list[str], concurrency: int) -> int:
    done = 0
    async for _ in client.query_many(ids, concurrency=concurrency):
        done += 1
    return done


async def _reconcile(
    client: PayvenClient,
    ids: list[str],
    concurrency: int,
    expected: dict[str, ExpectedRecord] | None,
) -> int:
    done = 0
    async for _ in client.reconcile(ids, expected=expected, concurrency=concurrency):
        done += 1
    return done


def throughput(settings: dict[str, str], ids_path: str, rounds: int, concurrency: int) -> None:
    """Rounds of query_many and reconcile (without and with expected records) over
    chunks of the ids, in rotating order; prints JSON of each round."""
    ids = list(_ids(ids_path))
    chunk = min(len(ids), CHUNK)
    expected = {tid: ExpectedRecord(15000, "TRY", None) for tid in ids}
    names = ["query_many", "reconcile", "reconcile_expected"]

    async def main() -> dict[str, Any]:
        results: dict[str, list[dict[str, float]]] = {name: [] for name in names}
        async with PayvenClient(**settings) as client:
            await _query_many(client, ids[: 4 * concurrency], concurrency)  # warm up
            for round_number in range(rounds):
                start = (round_number * chunk) % len(ids)
                part = ids[start : start + chunk]
                books = {tid: expected[tid] for tid in part}  # the chunk's own records
                shift = round_number % len(names)
                for name in names[shift:] + names[:shift]:
                    gc.collect()
                    cpu, wall = time.process_time(), time.perf_counter()
                    if name == "query_many":
                        done = await _query_many(client, part, concurrency)
                    else:
                        with_books = books if name == "reconcile_expected" else None
                        done = await _reconcile(client, part, concurrency, with_books)
                    wall = time.perf_counter() - wall
                    cpu = time.process_time() - cpu
                    assert done == len(part), (name, done)
                    results[name].append(
                        {"per_second": done / wall, "cpu_us_per_id": 1e6 * cpu / done}
                    )
        return results

    print(json.dumps(asyncio.run(main())))


def memory(settings: dict[str, str], ids_path: str, count: int, concurrency: int) -> None:
    """Peak RSS growth over one reconcile of the first ``count`` ids; prints JSON."""

    async def main() -> dict[str, Any]:
        async with PayvenClient(**settings) as client:
            warm = list(_ids(ids_path, 4 * concurrency))
            async for _ in client.reconcile(warm, concurrency=concurrency):
                pass
            gc.collect()
            before = _current_rss_kib()
            reset = _reset_peak_rss()
            done = 0
            async for _ in client.reconcile(_ids(ids_path, count), concurrency=concurrency):
                done += 1
            peak = _peak_rss_kib()
            return {"count": done, "growth_kib": peak - before, "peak_was_reset": reset}

    print(json.dumps(asyncio.run(main())))


# --- the driver ------------------------------------------------------------------------


def _child(*args: str) -> dict[str, Any]:
    command = [sys.executable, str(HERE / "reconcile.py"), *args]
    run = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def drive(count: int, rounds: int, concurrency: int, small: int) -> None:
    """Run the emulator, then the client processes; print the table."""
    with tempfile.TemporaryDirectory() as folder:
        ids_path = str(Path(folder) / "ids.txt")
        server = subprocess.Popen(
            [sys.executable, str(HERE / "reconcile.py"), "serve", str(count), ids_path],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            settings = server.stdout.readline().strip()
            rates = _child("throughput", settings, ids_path, str(rounds), str(concurrency))
            grown = {
                n: _child("memory", settings, ids_path, str(n), str(concurrency))
                for n in (small, count)
            }
        finally:
            server.terminate()
            server.wait(timeout=30)

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in rates[name])

    def ratio(name: str, key: str) -> float:
        # The median of each round's own ratio: the host's drift skews it far less.
        pairs = zip(rates[name], rates["query_many"], strict=True)
        return statistics.median(r[key] / q[key] for r, q in pairs)

    small_mb = grown[small]["growth_kib"] / 1024
    large_mb = grown[count]["growth_kib"] / 1024
    chunk = min(count, CHUNK)
    print(f"reconcile benchmark: {machine()}")
    print(
        f"{count:,} seeded transactions; throughput: {rounds} rounds of {chunk:,} ids each "
        f"(walking through all of them), concurrency {concurrency}; medians"
    )
    print(f"  {'contender':<32}{'ids/s':>8}{'x query_many':>14}{'CPU us/id':>11}{'x':>7}")
    for name, label in (
        ("query_many", "query_many"),
        ("reconcile", "reconcile(ids)"),
        ("reconcile_expected", "reconcile(ids, expected=...)"),
    ):
        print(
            f"  {label:<32}{med(name, 'per_second'):>8,.0f}{ratio(name, 'per_second'):>13.2f}x"
            f"{med(name, 'cpu_us_per_id'):>11,.0f}{ratio(name, 'cpu_us_per_id'):>6.2f}x"
        )
    print("  (throughput goal: reconcile >= 0.9x query_many)")
    print(
        f"  peak RSS growth of reconcile(ids from a file): {count:,} ids +{large_mb:.1f} MB, "
        f"{small:,} ids +{small_mb:.1f} MB, difference {large_mb - small_mb:+.1f} MB "
        "(goal: flat, a few MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    modes = parser.add_subparsers(dest="mode")
    serve_mode = modes.add_parser("serve")
    serve_mode.add_argument("count", type=int)
    serve_mode.add_argument("ids")
    rate_mode = modes.add_parser("throughput")
    memory_mode = modes.add_parser("memory")
    for sub in (rate_mode, memory_mode):
        sub.add_argument("settings")
        sub.add_argument("ids")
        sub.add_argument("number", type=int)
        sub.add_argument("concurrency", type=int)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--concurrency", type=int, default=64)
    options = parser.parse_args()
    if options.mode == "serve":
        serve(options.count, options.ids)
    elif options.mode == "throughput":
        throughput(json.loads(options.settings), options.ids, options.number, options.concurrency)
    elif options.mode == "memory":
        memory(json.loads(options.settings), options.ids, options.number, options.concurrency)
    else:
        drive(options.count, options.rounds, options.concurrency, options.small)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
