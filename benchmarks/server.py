"""A cheap loopback Payven stand-in for the benchmarks, run in its own process.

It speaks just enough HTTP/1.1 (keep-alive, ``Content-Length`` bodies, no chunked
requests) to answer the three routes the benchmarks call, each with a fixed answer
serialised once at start-up:

- ``POST /api/v1/auth/{slug}/token`` -> a token (``expires_in: 300``);
- ``GET  /api/v1/payments/{id}/query`` -> the ~1.3 KB generation-B query answer of
  ``tests/fake_server.query_answer()`` (or a tiny one with ``--small-query``);
- ``POST /api/v1/checkout/sessions/{id}/pay`` -> the generation-A success envelope.

Being a raw ``asyncio.Protocol`` with pre-built answers, it spends a few microseconds
per request, on another core than the client: the client, not the server, is what
the benchmarks measure.

Run it alone with ``python benchmarks/server.py [--small-query]``: it prints
``PORT <n>`` once it listens on 127.0.0.1 and serves until killed. From Python, use
:class:`ServerProcess`, which does exactly that in a child process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "SLUG", "TRANSACTION_ID", "ServerProcess"]

CLIENT_ID = "pvk_bench_client"
CLIENT_SECRET = "sk_bench_secret"
SLUG = "acme"
TRANSACTION_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"


# --- the answers (shapes copied from tests/fake_server.py, frozen here so that numbers
# --- stay comparable across versions of the tests) -------------------------------

TOKEN_ANSWER: dict[str, Any] = {
    "access_token": "bench-access-token-0123456789abcdef",
    "refresh_token": "bench-refresh-token-0123456789abcdef",
    "expires_in": 300,
    "refresh_expires_in": 1800,
    "token_type": "Bearer",
    "scope": "openid",
}

_DETAIL: dict[str, Any] = {
    "status": "completed",
    "operation_type": "sale",
    "amount": 15000,
    "net_amount": 14850,
    "currency": "TRY",
    "installment_count": 1,
    "is3_d_secure": False,
    "provider_transaction_id": "PRV-1",
    "auth_code": "123456",
    "host_reference": "HR-1",
    "masked_card_number": "454671******7894",
    "card_brand": "Bonus",
    "card_holder_name": "Test Kullanici",
    "bank_code": "0046",
    "transaction_status": "completed",
    "charge_type": "Sale",
    "settlement_id": None,
    "captured_amount": 150.1,
    "error_code": None,
    "error_message": None,
    "processed_at": "2023-11-07T05:31:56Z",
    "completed_at": "2023-11-07T05:31:57.1234567+03:00",
    "created_at": "2023-11-07T05:31:55Z",
}

#: The generation-B query answer: ~50 fields, internal and external detail records.
QUERY_ANSWER: dict[str, Any] = {
    "transaction_id": TRANSACTION_ID,
    "status": "completed",
    "is_success": True,
    "message": "ok",
    "external_query_available": True,
    "internal": _DETAIL,
    "external": dict(_DETAIL, status="approved"),
}

#: A minimal query answer, for the memory runs (100k queries should not take minutes).
SMALL_QUERY_ANSWER: dict[str, Any] = {
    "transaction_id": TRANSACTION_ID,
    "status": "completed",
    "is_success": True,
}

#: The generation-A pay envelope.
PAY_ANSWER: dict[str, Any] = {
    "message": "İşlem başarılı",
    "isSuccess": True,
    "code": "200",
    "data": {
        "transactionId": TRANSACTION_ID,
        "status": "completed",
        "isSuccess": True,
        "message": "Approved",
        "errorCode": None,
        "providerErrorCode": None,
        "extraProperties": {"auth_code": "123456"},
    },
}


def http_answer(body: Any, status: str = "200 OK") -> bytes:
    """A complete HTTP/1.1 keep-alive answer carrying ``body`` as compact JSON."""
    payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    head = (
        f"HTTP/1.1 {status}\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(payload)}\r\n"
        "X-Correlation-Id: bench-0001\r\n"
        "\r\n"
    )
    return head.encode("ascii") + payload


NOT_FOUND = http_answer(
    {"status": 404, "code": "not_found", "title": "no such route"}, "404 Not Found"
)


# --- the protocol --------------------------------------------------------------------


class _HTTP(asyncio.Protocol):
    """One connection: parse each request head, skip its body, write the fixed answer."""

    def __init__(self, routes: dict[bytes, bytes]) -> None:
        self._routes = routes  # last path segment -> full answer
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        # A loop, because a client may send several requests in one segment.
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end])
            length = _content_length(head)
            if len(buffer) < end + 4 + length:
                return  # the body has not fully arrived yet
            del buffer[: end + 4 + length]
            target = head.split(b" ", 2)[1].split(b"?", 1)[0]
            answer = self._routes.get(target.rsplit(b"/", 1)[-1], NOT_FOUND)
            assert self._transport is not None
            self._transport.write(answer)


def _content_length(head: bytes) -> int:
    start = head.lower().find(b"\r\ncontent-length:")
    if start < 0:
        return 0
    start += len(b"\r\ncontent-length:")
    stop = head.find(b"\r\n", start)
    return int(head[start : stop if stop >= 0 else len(head)])


async def serve(small_query: bool = False, port: int = 0) -> None:
    """Listen on 127.0.0.1, print ``PORT <n>`` and serve until cancelled."""
    routes = {
        b"token": http_answer(TOKEN_ANSWER),
        b"query": http_answer(SMALL_QUERY_ANSWER if small_query else QUERY_ANSWER),
        b"pay": http_answer(PAY_ANSWER),
    }
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _HTTP(routes), "127.0.0.1", port, backlog=1024, reuse_address=True
    )
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


# --- running it from the benchmark runner -------------------------------------------


class ServerProcess:
    """The server in a child process: ``with ServerProcess() as server: server.url``."""

    def __init__(self, *, small_query: bool = False) -> None:
        self.small_query = small_query
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> ServerProcess:
        args = [sys.executable, str(Path(__file__).resolve())]
        if self.small_query:
            args.append("--small-query")
        self._process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        line = self._process.stdout.readline().split()
        if len(line) != 2 or line[0] != "PORT":
            self._process.kill()
            raise RuntimeError(f"the benchmark server did not start (said {line!r})")
        self.url = f"http://127.0.0.1:{line[1]}"
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            if self._process.stdout is not None:
                self._process.stdout.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small-query", action="store_true", help="answer queries tersely")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    options = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(options.small_query, options.port))


if __name__ == "__main__":
    main()
