"""payven_sync against blocking HTTP by hand: per-call cost, and query_many against a loop.

Run it with ``python benchmarks/sync_vs_requests.py`` (needs the ``bench`` extra:
requests and httpx). It starts the cheap loopback server of ``benchmarks/server.py``
in a child process, so the server's CPU is not the client's, and measures:

(a) sequential calls, one at a time: ``payven_sync.PayvenClient.query`` against a
    ``requests.Session`` (and an ``httpx.Client``) doing the same GET with the same
    headers and decoding the same JSON answer (``json.loads``; payven decodes into its
    attrs models). Goal: payven_sync per call <= 1.0 x requests.
(b) a batch of ids: ``payven_sync`` ``query_many`` (concurrency 32 and 64) against a
    sequential loop of ``payven_sync`` ``query`` over the same ids; once against the
    instant loopback server (where both are bound by the client's CPU) and once against
    a server that answers each request after ``--latency-ms`` (5 ms by default, far
    less than a real payment API's), where a loop waits out every answer in turn.

Contenders run interleaved, round after round, and each figure is the median over the
rounds. Wall time is what a blocking caller waits; CPU time is this process's (every
thread of it, so the portal's loop thread counts against payven_sync).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import requests
from server import (
    CLIENT_ID,
    CLIENT_SECRET,
    QUERY_ANSWER,
    SLUG,
    TOKEN_ANSWER,
    TRANSACTION_ID,
    ServerProcess,
    http_answer,
)

import payven_sync

USER_AGENT = "payven-benchmark/1"


class Contender:
    """Something that makes one query, blocking; ``close()`` when done."""

    name = ""

    def query(self, transaction_id: str) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class PayvenSync(Contender):
    """payven_sync.PayvenClient, as documented."""

    name = "payven_sync"

    def __init__(self, url: str) -> None:
        self.client = payven_sync.PayvenClient(
            CLIENT_ID, CLIENT_SECRET, SLUG, identity_url=url, vpos_url=url
        )
        self.client.query(TRANSACTION_ID)  # fetches the token, opens a connection

    def query(self, transaction_id: str) -> Any:
        return self.client.query(transaction_id)

    def close(self) -> None:
        self.client.close()


def _token(post: Callable[..., Any], url: str) -> dict[str, str]:
    answer = post(
        f"{url}/api/v1/auth/{SLUG}/token",
        json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {json.loads(answer.content)['access_token']}"}


class HandRequests(Contender):
    """requests.Session + json: token fetched once, dicts out."""

    name = "requests"

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        self.session.headers.update(_token(self.session.post, url))

    def query(self, transaction_id: str) -> Any:
        url = f"{self.url}/api/v1/payments/{transaction_id}/query"
        response = self.session.get(url, timeout=30)
        if response.status_code != 200:
            raise RuntimeError(f"query answered {response.status_code}")
        return json.loads(response.content)

    def close(self) -> None:
        self.session.close()


class HandHttpx(Contender):
    """httpx.Client + json: token fetched once, dicts out."""

    name = "httpx"

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.Client(
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"}, timeout=30
        )
        self.client.headers.update(_token(self.client.post, url))

    def query(self, transaction_id: str) -> Any:
        response = self.client.get(f"{self.url}/api/v1/payments/{transaction_id}/query")
        if response.status_code != 200:
            raise RuntimeError(f"query answered {response.status_code}")
        return json.loads(response.content)

    def close(self) -> None:
        self.client.close()


def timed(run: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) that ``run()`` took."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def sequential(contender: Contender, calls: int) -> Callable[[], None]:
    def run() -> None:
        query = contender.query
        for _ in range(calls):
            query(TRANSACTION_ID)

    return run


def batch(client: payven_sync.PayvenClient, ids: list[str], concurrency: int) -> Callable[[], None]:
    def run() -> None:
        count = sum(1 for outcome in client.query_many(ids, concurrency=concurrency) if outcome.ok)
        if count != len(ids):
            raise RuntimeError(f"{len(ids) - count} queries failed")

    return run


def sequential_loop(client: payven_sync.PayvenClient, ids: list[str]) -> Callable[[], None]:
    def run() -> None:
        for transaction_id in ids:
            client.query(transaction_id)

    return run


def measure(runs: dict[str, Callable[[], object]], rounds: int) -> dict[str, tuple[float, float]]:
    """Median (wall, cpu) per name; the runs interleaved, a warm-up round first."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    for number in range(rounds + 1):
        for name, run in runs.items():
            sample = timed(run)
            if number:  # round 0 warms up (connections, caches, code paths)
                samples[name].append(sample)
    return {
        name: (
            statistics.median(wall for wall, _ in values),
            statistics.median(cpu for _, cpu in values),
        )
        for name, values in samples.items()
    }


def table(title: str, rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(f"\n{title}")
    for index, row in enumerate(rows):
        print("  " + "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  " + "  ".join("-" * width for width in widths))


# --- a slow server: the same answers, each sent after a fixed delay -------------------


class _SlowHTTP(asyncio.Protocol):
    """One keep-alive connection; each answer is written ``delay`` seconds after its request."""

    def __init__(self, delay: float) -> None:
        self._delay = delay
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._answers = {b"token": http_answer(TOKEN_ANSWER), b"query": http_answer(QUERY_ANSWER)}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self._buffer[:end]).lower()
            length = 0
            if b"content-length:" in head:
                length = int(head.split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
            if len(self._buffer) < end + 4 + length:
                return
            del self._buffer[: end + 4 + length]
            route = head.split(b" ", 2)[1].split(b"?", 1)[0].rsplit(b"/", 1)[-1]
            asyncio.get_running_loop().call_later(self._delay, self._write, self._answers[route])

    def _write(self, answer: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(answer)


async def _serve_slowly(delay: float) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _SlowHTTP(delay), "127.0.0.1", 0, backlog=1024)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


@contextmanager
def slow_server(latency_ms: float) -> Iterator[str]:
    """The slow server in a child process; yields its URL."""
    script = str(Path(__file__).resolve())
    args = [sys.executable, script, "--serve-latency-ms", str(latency_ms)]
    with subprocess.Popen(args, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        try:
            port = process.stdout.readline().split()[1]
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()


# --- the runs ------------------------------------------------------------------------


def batch_table(url: str, ids: list[str], rounds: int, title: str) -> None:
    with payven_sync.PayvenClient(
        CLIENT_ID, CLIENT_SECRET, SLUG, identity_url=url, vpos_url=url
    ) as client:
        client.query(TRANSACTION_ID)
        results = measure(
            {
                "sequential query loop": sequential_loop(client, ids),
                "query_many concurrency=32": batch(client, ids, 32),
                "query_many concurrency=64": batch(client, ids, 64),
            },
            rounds,
        )
    base_wall, _ = results["sequential query loop"]
    rows = [("payven_sync", "wall/id", "ids/s", "speed-up", "CPU/id")]
    for name, (wall, cpu) in results.items():
        rows.append(
            (
                name,
                f"{wall / len(ids) * 1e6:.0f} us",
                f"{len(ids) / wall:.0f}",
                f"{base_wall / wall:.2f}x",
                f"{cpu / len(ids) * 1e6:.0f} us",
            )
        )
    table(title, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500, help="sequential calls per round")
    parser.add_argument("--ids", type=int, default=2000, help="ids per batch round")
    parser.add_argument("--slow-ids", type=int, default=500, help="ids per slow-server round")
    parser.add_argument("--latency-ms", type=float, default=5.0, help="slow server's delay")
    parser.add_argument("--rounds", type=int, default=7, help="measured rounds (median)")
    parser.add_argument("--serve-latency-ms", type=float, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve_latency_ms is not None:  # the child process of slow_server()
        with suppress(KeyboardInterrupt):
            asyncio.run(_serve_slowly(options.serve_latency_ms / 1000))
        return

    with ServerProcess() as server:
        contenders: list[Contender] = [
            PayvenSync(server.url),
            HandRequests(server.url),
            HandHttpx(server.url),
        ]
        try:
            results = measure(
                {c.name: sequential(c, options.calls) for c in contenders}, options.rounds
            )
        finally:
            for contender in contenders:
                contender.close()
        base_wall, base_cpu = results["requests"]
        rows = [("client", "wall/call", "x requests", "CPU/call", "x requests")]
        for name, (wall, cpu) in results.items():
            rows.append(
                (
                    name,
                    f"{wall / options.calls * 1e6:.0f} us",
                    f"{wall / base_wall:.2f}",
                    f"{cpu / options.calls * 1e6:.0f} us",
                    f"{cpu / base_cpu:.2f}",
                )
            )
        table(
            f"(a) sequential query, {options.calls} calls x {options.rounds} rounds, medians",
            rows,
        )

        ids = [f"tx-{i:06d}" for i in range(options.ids)]
        batch_table(
            server.url,
            ids,
            options.rounds,
            f"(b) {options.ids} ids x {options.rounds} rounds, instant loopback server, medians",
        )
    with slow_server(options.latency_ms) as url:
        ids = [f"tx-{i:06d}" for i in range(options.slow_ids)]
        batch_table(
            url,
            ids,
            options.rounds,
            f"(c) {options.slow_ids} ids x {options.rounds} rounds, server answering after "
            f"{options.latency_ms:g} ms, medians",
        )


if __name__ == "__main__":
    main()
