"""Measurements that need a process of their own; run.py starts this script.

``callgrind``: run under ``valgrind --tool=callgrind --collect-atstart=no
--toggle-collect=closure_fcn --dump-after=closure_fcn``. Each measured batch runs
inside a ctypes callback, whose C trampoline (``closure_fcn`` in ``_ctypes``) is what
callgrind switches collection on for; nothing else in the process calls it. So each
batch's instructions, and only them, land in a dump file of their own (part 1, 2, ...),
in the order this script prints the batches' labels.

``layers``: like ``callgrind``, but each batch is one layer of a call on its own (the
URL and its validation, the retry and token layer, the transport, the converter, the
models) or the hand-written piece it replaces; run.py turns them into the (p) rows.

``memory``: the peak RSS growth of one ``query_many`` over N ids from a generator,
after a warm-up, printed as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import logging
import resource
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from contenders import (
    CONTENDERS,
    SESSION_ID,
    HandAiohttp,
    hand_pay_body,
    pay_request,
    payven_query_many,
    transaction_ids,
    workload,
    workload_calls,
)
from server import CLIENT_ID, CLIENT_SECRET, SLUG, TRANSACTION_ID

from payven_async import Answer, PaymentQuery, PaymentResult, PayvenClient, Request
from payven_async._aiohttp import logger as http_logger
from payven_async._converters import encode, encode_text
from payven_async._json import dumps
from payven_async._operations import QUERY, new_idempotency_key
from payven_async._responses import decode_answer
from payven_async._validate import check_pay

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


def layers(url: str, calls: int) -> None:
    """Instructions of each layer of ``query`` and ``pay``, and of the hand-written
    pieces they stand for, one batch each (run under callgrind like :func:`callgrind`)."""
    loop = asyncio.new_event_loop()
    client = PayvenClient(CLIENT_ID, CLIENT_SECRET, SLUG, identity_url=url, vpos_url=url)
    hand = HandAiohttp(url)
    loop.run_until_complete(client.query(TRANSACTION_ID))  # token, connection
    loop.run_until_complete(hand.start())
    assert hand.session is not None
    session = hand.session
    query_url = f"{url}/api/v1/payments/{TRANSACTION_ID}/query"
    pay_url = f"{url}/api/v1/checkout/sessions/{SESSION_ID}/pay"
    request = pay_request()
    auth = hand.auth
    transport = client._transport
    pipeline = client._pipeline
    limits = client.config.timeout
    bearer = client._pipeline.tokens.valid_bearer()
    prepared_query = QUERY.prepare(url, TRANSACTION_ID, authorization=bearer)
    # What the client sends (its correlation id too), so that "run" less "send" is the
    # pipeline alone.
    query_request = prepared_query
    # Real answers of the loopback server, to decode.
    query_answer = loop.run_until_complete(transport.send(query_request, limits))
    pay_answer = loop.run_until_complete(
        transport.send(
            Request(
                "POST",
                pay_url,
                {**auth, "Content-Type": "application/json; ver=1.0"},
                dumps(encode(request, "camel")),
                "pay",
            ),
            limits,
        )
    )

    async def hand_exchange() -> bytes:
        async with session.get(query_url, headers=auth) as response:
            return await response.read()

    def repeat(call: Callable[[], Any]) -> Callable[[], None]:
        def batch() -> None:
            for _ in range(calls):
                call()

        return batch

    def repeat_awaited(call: Callable[[], Awaitable[Any]]) -> Callable[[], None]:
        async def batch() -> None:
            for _ in range(calls):
                await call()

        return lambda: loop.run_until_complete(batch())

    awaited: dict[str, Callable[[], Awaitable[Any]]] = {
        "query": lambda: client.query(TRANSACTION_ID),
        "hand query": lambda: hand.query(TRANSACTION_ID),
        "run": lambda: pipeline.run(QUERY, prepared_query),
        "send": lambda: transport.send(query_request, limits),
        "hand exchange": hand_exchange,
        "pay": lambda: client.pay(SESSION_ID, pay_request()),
        "hand pay": hand.pay,
        "awaited nothing": _nothing,
    }
    plain: dict[str, Callable[[], Any]] = {
        "query request": lambda: QUERY.prepare(url, TRANSACTION_ID, authorization=bearer),
        "hand query URL": lambda: f"{url}/api/v1/payments/{TRANSACTION_ID}/query",
        "logging check": lambda: http_logger.isEnabledFor(logging.DEBUG),
        "decode query": lambda: decode_answer(query_answer, PaymentQuery),
        "hand decode query": lambda: json.loads(query_answer.body),
        "models": pay_request,
        "hand body": hand_pay_body,
        "validation": lambda: check_pay(SESSION_ID, request),
        "key": new_idempotency_key,
        "hand key": lambda: str(uuid.uuid4()),
        "encode": lambda: encode_text(request, "camel").encode(),  # what Operation.prepare does
        "hand encode": lambda: json.dumps(hand_pay_body(), separators=(",", ":")).encode(),
        "decode pay": lambda: decode_answer(pay_answer, PaymentResult),
        "hand decode pay": lambda: _hand_decode_pay(pay_answer),
        "nothing": lambda: None,
    }
    # Each batch names the empty batch of its kind, whose cost run.py takes off it.
    batches = {name: (repeat_awaited(call), "awaited nothing") for name, call in awaited.items()}
    batches.update({name: (repeat(call), "nothing") for name, call in plain.items()})
    for batch, _ in batches.values():  # warm-up: decoders generated, caches filled
        batch()
    gc.collect()
    gc.freeze()
    for name, (batch, empty) in batches.items():
        gc.collect()
        print(json.dumps({"config": name, "calls": calls, "empty": empty}), flush=True)
        run_in_callback(batch)
    gc.unfreeze()
    loop.run_until_complete(client.aclose())
    loop.run_until_complete(hand.aclose())
    loop.close()


async def _nothing() -> None:
    """The batch loop's own cost, which run.py takes off every awaited piece."""


def _hand_decode_pay(answer: Answer) -> Any:
    """What ``HandAiohttp.pay`` does with the answer's body."""
    data = json.loads(answer.body)["data"]
    if not data["isSuccess"]:
        raise RuntimeError("declined")
    return data


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
    split = modes.add_parser("layers")
    split.add_argument("--url", required=True)
    split.add_argument("--calls", type=int, required=True)
    mem = modes.add_parser("memory")
    mem.add_argument("--url", required=True)
    mem.add_argument("--count", type=int, required=True)
    mem.add_argument("--concurrency", type=int, default=64)
    options = parser.parse_args()
    if options.mode == "callgrind":
        callgrind(options.url, options.configs, options.calls, options.rounds)
    elif options.mode == "layers":
        layers(options.url, options.calls)
    else:
        memory(options.url, options.count, options.concurrency)


if __name__ == "__main__":
    main()
