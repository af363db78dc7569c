"""Measurements that need a process of their own; run.py starts this script.

``callgrind``: run under ``valgrind --tool=callgrind --collect-atstart=no
--toggle-collect=closure_fcn --dump-after=closure_fcn``. Each measured batch runs
inside a ctypes callback, whose C trampoline (``closure_fcn`` in ``_ctypes``) is what
callgrind switches collection on for; nothing else in the process calls it. So each
batch's instructions, and only them, land in a dump file of their own (part 1, 2, ...),
in the order this script prints the batches' labels.

``memory``: the peak RSS growth of one ``query_many`` over N ids from a generator,
after a warm-up, printed as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import resource
from pathlib import Path
from typing import Any

from contenders import (
    CONTENDERS,
    payven_query_many,
    transaction_ids,
    workload,
    workload_calls,
)
from server import CLIENT_ID, CLIENT_SECRET, SLUG

from payven_async import PayvenClient

WARMUP_CALLS = 64


def run_in_callback(function: Any) -> None:
    """Call ``function`` from C through a ctypes trampoline: callgrind counts just that.

    ctypes swallows a callback's exception, so it is carried out and raised here.
    """
    errors: list[BaseException] = []

    def trampoline() -> None:
        try:
            function()
        except BaseException as exc:
            errors.append(exc)

    ctypes.CFUNCTYPE(None)(trampoline)()
    if errors:
        raise errors[0]


def callgrind(url: str, configs: list[str], calls: int, rounds: int) -> None:
    """Measure each ``contender:op:concurrency[:calls]`` config ``rounds`` times, interleaved."""
    loop = asyncio.new_event_loop()
    contenders = {}
    plans = []
    for config in configs:
        name, op, concurrency, *count = config.split(":")
        plans.append((config, name, op, int(concurrency), int(count[0]) if count else calls))
        if name not in contenders:
            contenders[name] = CONTENDERS[name](url)
            loop.run_until_complete(contenders[name].start())
    for _, name, op, concurrency, _ in plans:
        # Warm-up: connections opened, decoders generated, caches filled.
        loop.run_until_complete(workload(contenders[name], op, WARMUP_CALLS, concurrency))
    # What is alive now lives on: freeze it, so that a full collection (whose cost is
    # the size of the heap, not of the work measured) cannot land in one batch and
    # not another. Young-generation collections of each batch's garbage still count.
    gc.collect()
    gc.freeze()
    for _ in range(rounds):
        for config, name, op, concurrency, count in plans:
            batch = workload(contenders[name], op, count, concurrency)
            gc.collect()
            done = workload_calls(op, count, concurrency)
            print(json.dumps({"config": config, "calls": done}), flush=True)
            run_in_callback(lambda: loop.run_until_complete(batch))  # noqa: B023
    gc.unfreeze()
    for contender in contenders.values():
        loop.run_until_complete(contender.aclose())
    loop.close()


def _peak_rss_kib() -> int:
    """The high-water mark of this process's RSS (VmHWM), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _current_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def _reset_peak_rss() -> bool:
    """Set the RSS high-water mark to the current RSS, where the kernel allows it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def memory(url: str, count: int, concurrency: int) -> None:
    """Peak RSS growth over one ``query_many`` of ``count`` ids; prints JSON."""

    async def main() -> dict[str, Any]:
        async with PayvenClient(
            CLIENT_ID, CLIENT_SECRET, SLUG, identity_url=url, vpos_url=url
        ) as client:
            # Warm up: token, a full pool of connections, decoders built, caches filled.
            await payven_query_many(client, transaction_ids(4 * concurrency), concurrency)
            gc.collect()
            before = _current_rss_kib()
            reset = _reset_peak_rss()
            done = await payven_query_many(client, transaction_ids(count), concurrency)
            peak = _peak_rss_kib()
            return {
                "count": done,
                "before_kib": before,
                "peak_kib": peak,
                "growth_kib": peak - before,
                "peak_was_reset": reset,
            }

    print(json.dumps(asyncio.run(main())))


def main() -> None:
    parser = argparse.ArgumentParser()
    modes = parser.add_subparsers(dest="mode", required=True)
    grind = modes.add_parser("callgrind")
    grind.add_argument("--url", required=True)
    grind.add_argument("--calls", type=int, required=True)
    grind.add_argument("--rounds", type=int, default=2)
    grind.add_argument("configs", nargs="+", help="contender:op:concurrency")
    mem = modes.add_parser("memory")
    mem.add_argument("--url", required=True)
    mem.add_argument("--count", type=int, required=True)
    mem.add_argument("--concurrency", type=int, default=64)
    options = parser.parse_args()
    if options.mode == "callgrind":
        callgrind(options.url, options.configs, options.calls, options.rounds)
    else:
        memory(options.url, options.count, options.concurrency)


if __name__ == "__main__":
    main()
