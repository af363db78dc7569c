"""Instructions per call of the hot path's pieces, one by one, under callgrind.

    .venv/bin/python benchmarks/snippets.py              # every piece
    .venv/bin/python benchmarks/snippets.py validate     # the pieces whose name has this

The numbers the code's comments quote (the fast validation, the hand-generated
decoders and encoders, the request value, the JSON codec) come from here. Each piece
is a call with no I/O; it runs ``CALLS`` times inside a ctypes callback, which is what
callgrind counts (see child.py), and the count is divided by ``CALLS``. The cost of an
empty call (``nothing``) is in every figure: take it off to compare a piece alone.
Needs valgrind.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contenders import SESSION_ID, TRANSACTION_ID, hand_pay_body, pay_request
from server import PAY_ANSWER, QUERY_ANSWER

from payven_async import Answer, PaymentQuery, PaymentResult
from payven_async._converters import encode, encode_text, structure
from payven_async._json import decode_json, dumps
from payven_async._operations import PAY, QUERY, new_idempotency_key
from payven_async._responses import decode_answer
from payven_async._validate import pay_problems

CALLS = 200
BASE = "http://127.0.0.1:1"


def pieces() -> dict[str, Callable[[], Any]]:
    """Every measured piece, by name, each built on the benchmark's own data."""
    request = pay_request()
    body = encode(request, "camel")
    query_body = json.dumps(QUERY_ANSWER).encode()
    pay_body = json.dumps(PAY_ANSWER).encode()
    query_data = decode_json(query_body)
    pay_data = decode_json(pay_body)["data"]
    pay_answer = Answer.of(200, pay_body)

    def query_with_details() -> PaymentQuery:
        query = structure(query_data, PaymentQuery)
        _ = query.internal, query.external
        return query

    return {
        "nothing": lambda: None,
        "models: the full seed-000 PayRequest": pay_request,
        "models: the hand-written dict": hand_pay_body,
        "validate: pay_problems": lambda: pay_problems(request),
        "request: QUERY.prepare": lambda: QUERY.prepare(BASE, TRANSACTION_ID, authorization="B"),
        "request: PAY.prepare": lambda: PAY.prepare(
            BASE, SESSION_ID, body=request, authorization="B"
        ),
        "request: idempotency key": new_idempotency_key,
        "encode: PayRequest to data": lambda: encode(request, "camel"),
        "encode: data to JSON bytes": lambda: dumps(body),
        "encode: PayRequest to JSON text": lambda: encode_text(request, "camel"),
        "encode: json.dumps of the dict": lambda: json.dumps(hand_pay_body()).encode(),
        "decode: query answer JSON": lambda: decode_json(query_body),
        "decode: json.loads of it": lambda: json.loads(query_body),
        "decode: PaymentQuery": lambda: structure(query_data, PaymentQuery),
        "decode: PaymentQuery, both details read": query_with_details,
        "decode: PaymentResult": lambda: structure(pay_data, PaymentResult),
        "decode: the pay answer, whole": lambda: decode_answer(pay_answer, PaymentResult),
    }


def run_pieces(names: list[str]) -> None:
    """Inside callgrind: run each piece CALLS times in a ctypes callback, in order."""
    chosen = pieces()
    for name in names:  # warm-up: decoders generated, caches filled
        for _ in range(50):
            chosen[name]()
    gc.collect()
    gc.freeze()
    for name in names:
        piece = chosen[name]

        def batch(piece: Callable[[], Any] = piece) -> None:
            for _ in range(CALLS):
                piece()

        print(json.dumps(name), flush=True)
        ctypes.CFUNCTYPE(None)(batch)()


def main() -> None:
    """Measure the pieces whose names contain the argument (all without one)."""
    if sys.argv[1:2] == ["--inside"]:
        run_pieces(sys.argv[2:])
        return
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        sys.exit("valgrind not found")
    wanted = sys.argv[1] if len(sys.argv) > 1 else ""
    names = [name for name in pieces() if wanted in name or name == "nothing"]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "cg.out"
        command = [
            valgrind,
            "--tool=callgrind",
            "--collect-atstart=no",
            "--toggle-collect=closure_fcn",
            "--dump-after=closure_fcn",
            f"--callgrind-out-file={out}",
            sys.executable,
            __file__,
            "--inside",
            *names,
        ]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        printed = subprocess.run(
            command, capture_output=True, text=True, check=True, env=env
        ).stdout
        labels = [json.loads(line) for line in printed.splitlines()]
        for number, label in enumerate(labels, start=1):
            dump = Path(f"{out}.{number}").read_text(encoding="utf-8", errors="replace")
            total = next(
                int(line.split()[1])
                for line in dump.splitlines()
                if line.startswith(("summary:", "totals:"))
            )
            print(f"{label:45} {total / CALLS / 1000:8.1f}k")


if __name__ == "__main__":
    main()
