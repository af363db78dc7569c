"""The ``payven`` command: demo, emulator, token, pay, query, query-batch.

Credentials come from the ``PAYVEN_*`` environment variables (``PAYVEN_CLIENT_ID``,
``PAYVEN_CLIENT_SECRET``, ``PAYVEN_SLUG``, ``PAYVEN_ENVIRONMENT``,
``PAYVEN_IDENTITY_URL``, ``PAYVEN_VPOS_URL``), or ``--emulator`` runs the command
against a Payven emulator started in this process.

Results are JSON on stdout (JSON Lines for ``query-batch``), so they compose with jq;
messages and progress go to stderr. Exit codes: 0 success, 1 the API or the network
said no (a declined payment, an unknown transaction, a timeout...), 2 a usage error
(bad arguments, missing credentials, invalid input), 130 interrupted.

Card numbers print masked; secrets never print. ``payven token`` prints the access
token, since handing it to other tools is its purpose, but never the refresh token.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import enum
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, NoReturn, TextIO

import attrs

from ._client import PayvenClient
from ._validate import check_pay
from ._version import __version__
from .errors import (
    APIError,
    ConfigurationError,
    PaymentDeclinedError,
    PaymentOutcomeUnknown,
    PayvenError,
    ValidationError,
)
from .models import Card, CheckoutSessionRequest, Money, PayRequest, QueryOutcome

__all__ = ["main"]

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_EXPIRY_RE = re.compile(r"^(\d{1,2})/(\d{2}|\d{4})$")


class UsageError(Exception):
    """The user asked for something that cannot work: exit 2, no traceback."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise UsageError(message)


# --- JSON output --------------------------------------------------------------------------


def to_json(value: Any) -> Any:
    """JSON-ready data for a model: snake_case keys, enums by value, ISO timestamps.

    Integral ``Decimal`` values print as integers, others as strings (never as a float).
    ``unknown_fields`` and ``decode_problems`` appear only when there are some.
    """
    if attrs.has(type(value)):
        out: dict[str, Any] = {}
        for field in attrs.fields(type(value)):
            item = getattr(value, field.name)
            if field.name in ("unknown_fields", "decode_problems") and not item:
                continue
            out[field.name] = to_json(item)
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    return value


def error_json(error: PayvenError) -> dict[str, Any]:
    """A payven error as JSON: its kind, code, status and message (already redacted)."""
    out: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    if isinstance(error, APIError):
        out.update(
            status=error.status,
            code=error.code,
            correlation_id=error.correlation_id,
        )
        if error.provider_error_code is not None:
            out["provider_error_code"] = error.provider_error_code
        if error.errors is not None:
            out["errors"] = to_json(error.errors)
    if isinstance(error, PaymentDeclinedError) and error.result is not None:
        out["transaction_id"] = error.result.transaction_id
    if isinstance(error, PaymentOutcomeUnknown):
        out.update(idempotency_key=error.idempotency_key, external_id=error.external_id)
    if isinstance(error, ValidationError):
        out["problems"] = [{"field": p.field, "message": p.message} for p in error.problems]
    return out


def _print_json(data: Any, stream: TextIO, *, pretty: bool = True) -> None:
    if pretty:
        text = json.dumps(data, indent=2, ensure_ascii=False)
    else:
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    stream.write(text + "\n")
    stream.flush()


# --- argument types -----------------------------------------------------------------------


def _minor_units(text: str) -> int:
    if not re.fullmatch(r"\d+", text.strip()):
        raise argparse.ArgumentTypeError(
            f"{text!r}: give the amount in minor units (kuruş) as a whole number, "
            "e.g. 15000 for 150.00 TRY"
        )
    return int(text)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not between 0 and 65535")
    return value


def _expiry(text: str) -> tuple[str, str]:
    match = _EXPIRY_RE.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError("expected MM/YYYY, e.g. 12/2030")
    return match.group(1), match.group(2)


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("the timeout must be positive")
    return value


# --- the parser ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``payven`` command."""
    parser = _Parser(
        prog="payven",
        description="Payven virtual-POS client: try the API, or run a local emulator of it.",
        epilog="Credentials come from PAYVEN_CLIENT_ID, PAYVEN_CLIENT_SECRET and PAYVEN_SLUG "
        "(and PAYVEN_ENVIRONMENT, PAYVEN_IDENTITY_URL, PAYVEN_VPOS_URL), "
        "or use --emulator. Exit codes: 0 ok, 1 API or network error, 2 usage error.",
    )
    parser.add_argument("--version", action="version", version=f"payven {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    demo = commands.add_parser("demo", help="run the whole story against an in-process emulator")
    demo.add_argument(
        "--batch-size", type=_positive_int, default=3000, help="ids in the batch query"
    )
    demo.add_argument("--concurrency", type=_positive_int, default=64)

    emulator = commands.add_parser("emulator", help="serve a Payven emulator until Ctrl-C")
    emulator.add_argument("--port", type=_port, default=0, help="port on 127.0.0.1 (0: any free)")
    emulator.add_argument("--slug", default="emulator")
    emulator.add_argument("--client-id", default="pvk_test_emulator")
    emulator.add_argument(
        "--client-secret", default=None, help="default: a random one, printed at start"
    )
    emulator.add_argument(
        "--token-ttl", type=_positive_int, default=300, help="access-token lifetime in seconds"
    )
    emulator.add_argument(
        "--rate-limit",
        type=int,
        default=10_000,
        help="requests per second before 429 (0: no limit and no X-RateLimit headers)",
    )

    def api_command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument(
            "--emulator",
            action="store_true",
            help="run against a Payven emulator started in this process",
        )
        sub.add_argument("--environment", choices=("sandbox", "production"), default=None)
        sub.add_argument("--timeout", type=_timeout, default=None, help="seconds per request")
        return sub

    api_command("token", "print an access token (JSON)")

    pay = api_command("pay", "pay a checkout session (created first unless --session)")
    pay.add_argument("--session", default=None, help="checkout session id to pay")
    pay.add_argument(
        "--amount", type=_minor_units, required=True, help="minor units: 15000 = 150.00 TRY"
    )
    pay.add_argument("--currency", default="TRY")
    pay.add_argument("--installment", type=_positive_int, default=1)
    pay.add_argument(
        "--card-number",
        default="4546711234567894",
        help="default: the sandbox test card 4546711234567894 (a number given here is "
        "visible to other local users; use test cards)",
    )
    pay.add_argument("--card-expiry", type=_expiry, default=("12", "2030"), metavar="MM/YYYY")
    pay.add_argument("--card-cvv", default="000")
    pay.add_argument("--card-holder", default="Test Kullanici")
    pay.add_argument("--external-id", default=None, help="your order id")
    pay.add_argument("--description", default=None)
    pay.add_argument("--idempotency-key", default=None, help="default: a fresh UUID")

    query = api_command("query", "query one payment (Payven's record and the bank's)")
    query.add_argument("transaction_id", metavar="ID")
    query.add_argument("--order-id", default=None)

    batch = api_command("query-batch", "query many payments; ids one per line, JSON Lines out")
    batch.add_argument("source", metavar="FILE", help="a file of transaction ids, or - for stdin")
    batch.add_argument("--concurrency", type=_positive_int, default=32)
    batch.add_argument("--ordered", action="store_true", help="print in input order")
    progress = batch.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="always draw the progress bar on stderr (default: when stderr is a terminal)",
    )
    progress.add_argument("--no-progress", dest="progress", action="store_false")
    return parser


# --- commands -----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _client(
    args: argparse.Namespace, seed_ids: Sequence[str] = ()
) -> AsyncIterator[PayvenClient]:
    """The client the command runs on: the real service, or an in-process emulator."""
    options: dict[str, Any] = {}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    if args.environment is not None:
        options["environment"] = args.environment
    if not args.emulator:
        async with PayvenClient(**options) as client:
            yield client
        return
    from .testing import PayvenEmulator

    async with PayvenEmulator() as emu:
        # So the command can be tried offline: the ids asked about exist, approved.
        known = [i for i in dict.fromkeys(seed_ids) if _UUID_RE.match(i)]
        emu.seed_payments(ids=known)
        async with emu.client(**options) as client:
            yield client


async def _cmd_token(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    async with _client(args) as client:
        token = await client.token()
    _print_json(
        {
            "access_token": token.access_token,
            "token_type": token.token_type,
            "expires_in": token.expires_in,
            "scope": token.scope,
        },
        out,
    )
    return EXIT_OK


async def _cmd_pay(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    month, year = args.card_expiry
    request = PayRequest(
        amount=Money(args.amount, args.currency),
        card=Card(args.card_holder, args.card_number, month, year, args.card_cvv),
        installment=args.installment,
        external_id=args.external_id,
        description=args.description,
    )
    # Check the card before creating a session for it.
    check_pay(args.session or "new-session", request)
    async with _client(args) as client:
        session_id = args.session
        if session_id is None:
            session = await client.create_checkout_session(
                CheckoutSessionRequest(
                    amount=args.amount,
                    currency=args.currency,
                    allowed_installments=[args.installment] if args.installment > 1 else None,
                    external_id=args.external_id,
                    description=args.description,
                )
            )
            session_id = session.session_id or ""
            err.write(f"payven: created checkout session {session_id}\n")
        try:
            result = await client.pay(session_id, request, idempotency_key=args.idempotency_key)
        except PayvenError as error:
            raise _WithContext(error, {"session_id": session_id}) from error
    _print_json({"session_id": session_id, **to_json(result)}, out)
    return EXIT_OK


async def _cmd_query(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    async with _client(args, [args.transaction_id]) as client:
        result = await client.query(args.transaction_id, order_id=args.order_id)
    _print_json(to_json(result), out)
    return EXIT_OK


def _read_ids(source: str) -> list[str]:
    try:
        if source == "-":
            lines = sys.stdin.read().splitlines()
        else:
            with open(source, encoding="utf-8") as handle:
                lines = handle.read().splitlines()
    except OSError as error:
        raise UsageError(f"cannot read {source}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{source} is not UTF-8 text") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


async def _cmd_query_batch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._progress import ProgressBar

    ids = _read_ids(args.source)
    bar = ProgressBar(len(ids), err, animate=args.progress)
    show_bar = args.progress is not False
    failures = 0

    def progress(outcome: QueryOutcome) -> None:
        bar.update(failed=outcome.error is not None)

    async with _client(args, ids) as client:
        try:
            async for outcome in client.query_many(
                ids, concurrency=args.concurrency, ordered=args.ordered, progress=progress
            ):
                line: dict[str, Any] = {"transaction_id": outcome.transaction_id}
                if outcome.error is not None:
                    failures += 1
                    line["error"] = error_json(outcome.error)
                else:
                    line["result"] = to_json(outcome.result)
                _print_json(line, out, pretty=False)
        finally:
            if show_bar:
                bar.close()
    if failures:
        err.write(f"payven: {failures} of {len(ids)} queries failed\n")
        return EXIT_API_ERROR
    return EXIT_OK


async def _cmd_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._demo import run_demo

    await run_demo(out, batch_size=args.batch_size, concurrency=args.concurrency)
    return EXIT_OK


async def _cmd_emulator(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .testing import PayvenEmulator

    if args.rate_limit < 0:
        raise UsageError("--rate-limit must be 0 (no limit) or more")
    emulator = PayvenEmulator(
        port=args.port,
        slug=args.slug,
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_ttl=args.token_ttl,
        rate_limit=args.rate_limit or None,
    )
    try:
        await emulator.start()
    except OSError as error:
        err.write(f"payven: cannot listen on 127.0.0.1:{args.port}: {error.strerror or error}\n")
        return EXIT_API_ERROR
    try:
        out.write(
            f"url={emulator.url}\nclient_id={emulator.client_id}\n"
            f"client_secret={emulator.client_secret}\nslug={emulator.slug}\n"
        )
        out.flush()
        err.write(
            "payven: the Payven emulator is serving; press Ctrl-C to stop. To use it:\n"
            f"  export PAYVEN_IDENTITY_URL={emulator.url} PAYVEN_VPOS_URL={emulator.url} "
            f"PAYVEN_SLUG={emulator.slug} PAYVEN_CLIENT_ID={emulator.client_id} "
            "PAYVEN_CLIENT_SECRET=<client_secret above>\n"
        )
        err.flush()
        await _until_stopped()
    finally:
        await emulator.stop()
    err.write("payven: emulator stopped\n")
    return EXIT_OK


async def _until_stopped() -> None:
    """Wait for SIGINT or SIGTERM (Ctrl-C)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not main thread
            pass
    try:
        await stop.wait()
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


class _WithContext(Exception):
    """A payven error plus fields to print next to it (the session a pay was for)."""

    def __init__(self, error: PayvenError, context: dict[str, Any]) -> None:
        super().__init__(str(error))
        self.error = error
        self.context = context


Command = Callable[[argparse.Namespace, TextIO, TextIO], Coroutine[Any, Any, int]]

_COMMANDS: dict[str, Command] = {
    "demo": _cmd_demo,
    "emulator": _cmd_emulator,
    "token": _cmd_token,
    "pay": _cmd_pay,
    "query": _cmd_query,
    "query-batch": _cmd_query_batch,
}


def _describe(error: PayvenError) -> str:
    if isinstance(error, PaymentOutcomeUnknown):
        return f"outcome unknown: {error} (idempotency key {error.idempotency_key})"
    return str(error)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``payven`` command; returns the exit code."""
    out, err = sys.stdout, sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return asyncio.run(_COMMANDS[args.command](args, out, err))
    except UsageError as error:
        err.write(f"payven: error: {error}\n")
        return EXIT_USAGE
    except (ConfigurationError, ValidationError) as error:
        err.write(f"payven: error: {error}\n")
        return EXIT_USAGE
    except _WithContext as wrapped:
        return _report(wrapped.error, out, err, wrapped.context)
    except PayvenError as error:
        return _report(error, out, err, {})
    except KeyboardInterrupt:
        err.write("payven: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (payven query-batch ids.txt | head): stop quietly.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_API_ERROR


def _report(error: PayvenError, out: TextIO, err: TextIO, context: dict[str, Any]) -> int:
    if isinstance(error, (ConfigurationError, ValidationError)):
        err.write(f"payven: error: {error}\n")
        return EXIT_USAGE
    _print_json({**context, "error": error_json(error)}, out)
    err.write(f"payven: {_describe(error)}\n")
    return EXIT_API_ERROR


if __name__ == "__main__":
    sys.exit(main())
