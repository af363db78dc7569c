"""The ``payven`` command: demo, emulator, token, pay, query, query-batch, reconcile.

Credentials come from the ``PAYVEN_*`` environment variables (``PAYVEN_CLIENT_ID``,
``PAYVEN_CLIENT_SECRET``, ``PAYVEN_SLUG``, ``PAYVEN_ENVIRONMENT``,
``PAYVEN_IDENTITY_URL``, ``PAYVEN_VPOS_URL``), or ``--emulator`` runs the command
against a Payven emulator started in this process.

Results are JSON on stdout (JSON Lines for ``query-batch``), so they compose with jq;
messages and progress go to stderr (coloured on a terminal, unless ``NO_COLOR`` is
set). Every failure prints ``{"error": {...}}`` on stdout and one line on stderr,
never a traceback (:func:`fail` does both; a new command uses it too); Ctrl-C prints
only its stderr line. Exit codes: 0
success, 1 the API or the network said no (a declined payment, an unknown
transaction, a timeout...), 2 a usage error (bad arguments, missing credentials,
invalid input, or a request the service refused with 400 as invalid), 130 interrupted.

Options are checked for spelling before argparse reads them (:func:`check_spelling`):
a mistyped ``--ammount 15000`` is refused with "did you mean --amount?" instead of
``15000`` being taken for the next positional argument (a file name, an id).

Card numbers print masked; secrets never print. ``payven token`` prints the access
token, since handing it to other tools is its purpose, but never the refresh token.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import enum
import functools
import json
import os
import re
import shlex
import signal
import sys
import textwrap
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

import attrs

from ._client import PayvenClient
from ._redact import SecretText, redact_data, redact_text
from ._term import BOLD, DIM, RED, paint, wants_colour
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

if TYPE_CHECKING:
    from .testing import PayvenEmulator
    from .testing._seeding import SeededPayments

__all__ = ["main"]

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_EXPIRY_RE = re.compile(r"^(\d{1,2})/(\d{2}|\d{4})$")
_NUMBER_RE = re.compile(r"^-\d")  # a negative number is a value, not an option


EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 the API or the network said no (a decline, an unknown id, a "
    "timeout); 2 a usage error (bad arguments, missing credentials, invalid input, or a "
    "request the service refused as invalid, a 400); 130 interrupted (Ctrl-C)."
)
CREDENTIALS_HELP = (
    "Credentials come from PAYVEN_CLIENT_ID, PAYVEN_CLIENT_SECRET and PAYVEN_SLUG (and "
    "PAYVEN_ENVIRONMENT, PAYVEN_IDENTITY_URL, PAYVEN_VPOS_URL), or add --emulator to "
    "run against an in-process emulator."
)


class UsageError(Exception):
    """The user asked for something that cannot work: exit 2, no traceback.

    ``prog`` is the (sub)command whose ``--help`` explains it; ``suggestion`` the
    option or command the user probably meant.
    """

    def __init__(self, message: str, *, prog: str = "payven", suggestion: str | None = None):
        super().__init__(message)
        self.prog = prog
        self.suggestion = suggestion


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # No usage block on stderr: a failure is one line there (the hint names --help).
        raise UsageError(message, prog=self.prog)


class _HelpFormatter(argparse.HelpFormatter):
    """Appends "(default: X)" to an option's help when it has a default worth showing,
    and wraps each paragraph of a description or epilog on its own."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            action.option_strings
            and not any(default is nothing for nothing in (None, False, True, argparse.SUPPRESS))
            and "default" not in text
        ):
            text += " (default: %(default)s)"
        return text

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n\n".join(
            textwrap.fill(paragraph, width, initial_indent=indent, subsequent_indent=indent)
            for paragraph in text.split("\n\n")
        )


# --- JSON output --------------------------------------------------------------------------


def to_json(value: Any, *, drop_none: bool = False) -> Any:
    """JSON-ready data for a model: snake_case keys, enums by value, ISO timestamps.

    Integral ``Decimal`` values print as integers, others as strings (never as a float).
    ``unknown_fields`` and ``decode_problems`` appear only when there are some. With
    ``drop_none`` a model's fields that are ``None`` (the answer did not carry them) are
    left out.
    """
    if attrs.has(type(value)):
        out: dict[str, Any] = {}
        for field in attrs.fields(type(value)):
            item = getattr(value, field.name)
            if field.name in ("unknown_fields", "decode_problems") and not item:
                continue
            if drop_none and item is None:
                continue
            out[field.name] = to_json(item, drop_none=drop_none)
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, Mapping):
        return {str(key): to_json(item, drop_none=drop_none) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(item, drop_none=drop_none) for item in value]
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
            out["errors"] = _redacted(to_json(error.errors))
    if isinstance(error, PaymentDeclinedError) and error.result is not None:
        out["transaction_id"] = error.result.transaction_id
    if isinstance(error, PaymentOutcomeUnknown):
        out.update(idempotency_key=error.idempotency_key, external_id=error.external_id)
    if isinstance(error, ValidationError):
        out["problems"] = [{"field": p.field, "message": p.message} for p in error.problems]
    return out


def _redacted(value: Any) -> Any:
    """``value`` with every text passed through the redactor (servers echo input back)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    return value


def field_messages(errors: Any) -> list[str]:
    """A server's field-level validation errors as ``field: message`` texts (redacted).

    Takes both shapes the API uses: a mapping of field to messages, and a list of
    ``{field, message}`` objects.
    """
    found: list[str] = []
    if isinstance(errors, dict):
        for field, messages in errors.items():
            for message in messages if isinstance(messages, list) else [messages]:
                found.append(f"{field}: {message}")
    elif isinstance(errors, list):
        for item in errors:
            if isinstance(item, dict):
                field = item.get("field") or item.get("Field") or item.get("name") or "?"
                message = item.get("message") or item.get("Message") or item.get("code")
                found.append(f"{field}: {message}")
            else:
                found.append(str(item))
    return [redact_text(text) for text in found]


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


def _positive(name: str, unit: str) -> Callable[[str], float]:
    """An argument type for a positive number of ``unit`` (the ``name`` in messages)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of {unit}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{name} must be positive")
        return value

    return parse


_timeout = _positive("the timeout", "seconds")
_rate = _positive("the rate limit", "requests")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a date, YYYY-MM-DD") from None


def _seed_mismatches(text: str) -> dict[str, int]:
    from .testing._seeding import SEEDABLE_MISMATCHES

    chosen: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, _, count = part.partition("=")
        if kind not in SEEDABLE_MISMATCHES or not count.strip().isdigit():
            raise argparse.ArgumentTypeError(
                f"{part!r}: expected KIND=COUNT, KIND one of {', '.join(SEEDABLE_MISMATCHES)}"
            )
        chosen[kind] = int(count)
    return chosen


# --- the parser ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``payven`` command."""
    parser = _Parser(
        prog="payven",
        description="Payven virtual-POS client: try the API, or run a local emulator of it.",
        epilog=f"{CREDENTIALS_HELP}\n\n{EXIT_CODES_HELP}",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"payven {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    # Every subcommand's --help shows the defaults and the exit codes.
    add_command = functools.partial(
        commands.add_parser, formatter_class=_HelpFormatter, epilog=EXIT_CODES_HELP
    )

    demo = add_command("demo", help="run the whole story against an in-process emulator")
    demo.add_argument(
        "--batch-size", type=_positive_int, default=3000, help="ids in the batch query"
    )
    demo.add_argument(
        "--concurrency", type=_positive_int, default=64, help="batch queries in flight at once"
    )

    emulator = add_command(
        "emulator",
        help="serve a Payven emulator until Ctrl-C",
        description="Serve a Payven emulator on 127.0.0.1 until Ctrl-C. It prints its "
        "settings and the export lines that point the PAYVEN_* variables at it; give "
        "--port and --client-secret for values that stay the same between runs.",
    )
    emulator.add_argument("--port", type=_port, default=0, help="port on 127.0.0.1 (0: any free)")
    emulator.add_argument("--slug", default="emulator", help="the realm (tenant) slug")
    emulator.add_argument("--client-id", default="pvk_test_emulator", help="the API key id")
    emulator.add_argument(
        "--client-secret",
        type=SecretText,  # masked in the parsed arguments' repr (a traceback's locals)
        default=None,
        help="the API key secret (default: a random one)",
    )
    emulator.add_argument(
        "--webhook-url",
        default=None,
        help="send a signed webhook event for every payment to this URL",
    )
    emulator.add_argument(
        "--webhook-secret",
        type=SecretText,
        default=None,
        help="the secret signing those events (default: a random whsec_...)",
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
    emulator.add_argument(
        "--token-limit",
        type=int,
        default=10,
        help="token calls allowed per minute before 429, as documented (0: no limit)",
    )

    emulator.add_argument(
        "--seed", type=int, default=0, metavar="N", help="put N payments in the ledger at start"
    )
    emulator.add_argument(
        "--seed-day", type=_day, default=None, metavar="YYYY-MM-DD", help="date them on that day"
    )
    emulator.add_argument(
        "--seed-mismatches",
        type=_seed_mismatches,
        default=None,
        metavar="KIND=N,...",
        help="plant Payven/bank disagreements, e.g. status=2,amount=1 (kinds: status, "
        "amount, captured_amount, currency, external_missing) (default: none)",
    )
    emulator.add_argument(
        "--seed-ids", default=None, metavar="FILE", help="write the seeded ids to FILE"
    )

    def api_command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = add_command(name, help=help_text, epilog=f"{CREDENTIALS_HELP}\n\n{EXIT_CODES_HELP}")
        sub.add_argument(
            "--emulator",
            action="store_true",
            help="run against a Payven emulator started in this process",
        )
        sub.add_argument(
            "--environment",
            choices=("sandbox", "production"),
            default=None,
            help="which Payven hosts to call (default: PAYVEN_ENVIRONMENT, else sandbox)",
        )
        sub.add_argument(
            "--timeout",
            type=_timeout,
            default=None,
            help="seconds one HTTP attempt may take (default: 30)",
        )
        return sub

    api_command("token", "print an access token (JSON)")

    pay = api_command("pay", "pay a checkout session (created first unless --session)")
    pay.add_argument("--session", default=None, help="checkout session id to pay")
    pay.add_argument(
        "--amount", type=_minor_units, required=True, help="minor units: 15000 = 150.00 TRY"
    )
    pay.add_argument("--currency", default="TRY", help="ISO 4217 code; the API takes TRY")
    pay.add_argument(
        "--installment", type=_positive_int, default=1, help="number of installments (1: none)"
    )
    pay.add_argument(
        "--card-number",
        type=SecretText,  # masked in the parsed arguments' repr (a traceback's locals)
        default="4546711234567894",
        help="default: the sandbox test card 4546711234567894 (a number given here is "
        "visible to other local users; use test cards)",
    )
    pay.add_argument(
        "--card-expiry",
        type=_expiry,
        default="12/2030",
        metavar="MM/YYYY",
        help="the card's expiry month and year",
    )
    pay.add_argument("--card-cvv", type=SecretText, default="000", help="the card's security code")
    pay.add_argument("--card-holder", default="Test Kullanici", help="the name on the card")
    pay.add_argument("--external-id", default=None, help="your order id")
    pay.add_argument("--description", default=None, help="a note kept with the payment")
    pay.add_argument(
        "--idempotency-key", default=None, help="the pay's key (default: a fresh UUID)"
    )

    query = api_command("query", "query one payment (Payven's record and the bank's)")
    query.add_argument("transaction_id", metavar="ID", help="the payment's transaction id")
    query.add_argument(
        "--order-id",
        default=None,
        help="the payment's order id (external id), sent to the bank's status query",
    )

    batch = api_command("query-batch", "query many payments; ids one per line, JSON Lines out")
    batch.add_argument("source", metavar="FILE", help="a file of transaction ids, or - for stdin")
    batch.add_argument(
        "--concurrency", type=_positive_int, default=32, help="queries in flight at once"
    )
    batch.add_argument("--ordered", action="store_true", help="print in input order")
    progress = batch.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="always draw the progress bar on stderr (default: when stderr is a terminal)",
    )
    progress.add_argument(
        "--no-progress", dest="progress", action="store_false", help="never draw it"
    )

    reconcile = api_command(
        "reconcile", "query every transaction and report where the three views disagree"
    )
    which = reconcile.add_mutually_exclusive_group()
    which.add_argument("--ids", default=None, metavar="FILE", help="transaction ids, or - (stdin)")
    which.add_argument(
        "--from",
        dest="start_date",
        type=_day,
        default=None,
        metavar="YYYY-MM-DD",
        help="reconcile the transactions listed from this day...",
    )
    reconcile.add_argument(
        "--to", dest="end_date", type=_day, default=None, metavar="YYYY-MM-DD", help="...to this"
    )
    reconcile.add_argument(
        "--expected",
        default=None,
        metavar="FILE.csv",
        help="your records: columns transaction_id, amount (minor units), currency, status",
    )
    reconcile.add_argument(
        "--concurrency", type=_positive_int, default=32, help="queries in flight at once"
    )
    reconcile.add_argument(
        "--rate-limit", type=_rate, default=None, metavar="N", help="requests per second at most"
    )
    reconcile.add_argument(
        "--checkpoint",
        default=None,
        metavar="FILE",
        help="record finished items in FILE; run the same command again to resume",
    )
    reconcile.add_argument(
        "--format",
        choices=("jsonl", "csv"),
        default="jsonl",
        help="JSON Lines, or CSV with one column per compared field (default: jsonl)",
    )
    shown = reconcile.add_mutually_exclusive_group()
    shown.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="always draw the progress bar on stderr (default: when stderr is a terminal)",
    )
    shown.add_argument("--no-progress", dest="progress", action="store_false", help="never draw it")
    return parser


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _suggest(word: str, choices: Sequence[str]) -> str | None:
    import difflib  # only when something is mistyped

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def check_spelling(parser: argparse.ArgumentParser, argv: Sequence[str]) -> None:
    """Refuse an unknown command or option before argparse reads ``argv``.

    argparse would report ``--ammount`` only after taking the value behind it for the
    next positional argument (``query-batch --concurency 8 ids.txt`` reads a file named
    ``8``); here the unknown option is the error, with the closest known one suggested.
    Options taking a value skip that value; ``--`` ends the check; an abbreviation
    argparse accepts (``--amo``) passes.

    :raises UsageError: naming the unknown option or command, and a suggestion.
    """
    commands = _subcommands(parser)
    current = parser
    index = 0
    while index < len(argv):
        word = argv[index]
        index += 1
        if word == "--":
            return
        if word.startswith("-") and word != "-" and not _NUMBER_RE.match(word):
            name = word.split("=", 1)[0]
            known = current._option_string_actions
            if name.startswith("--"):
                matches = [option for option in known if option.startswith(name)]
            else:
                matches = [name] if name in known else []
            if not matches:
                longs = [option for option in known if option.startswith("--")]
                suggestion = _suggest(name, longs)
                where = f"for {current.prog}" if current is not parser else "before the command"
                message = f"unknown option {name} {where}"
                owners = [
                    command
                    for command, sub in commands.items()
                    if current is parser and name in sub._option_string_actions
                ]
                if owners:  # payven --emulator token
                    given = next((w for w in argv[index:] if w in commands), owners[0])
                    message += f"; it goes after the command: payven {given} {name}"
                elif suggestion is not None:
                    message += f"; did you mean {suggestion}?"
                raise UsageError(message, prog=current.prog, suggestion=suggestion)
            action = known.get(name) or (known[matches[0]] if len(matches) == 1 else None)
            if action is not None and action.nargs != 0 and "=" not in word:
                index += 1  # its value, whatever it looks like
        elif current is parser and commands:
            if word not in commands:
                suggestion = _suggest(word, list(commands))
                message = f"invalid choice: {word!r} (choose from {', '.join(commands)})"
                if suggestion is not None:
                    message += f"; did you mean {suggestion}?"
                raise UsageError(message, suggestion=suggestion)
            current = commands[word]


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
        _require_credentials(f"payven {args.command}")
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


def _require_credentials(prog: str) -> None:
    """Say the command line's ways to give credentials, not the constructor's arguments."""
    missing = [
        name
        for name in ("PAYVEN_CLIENT_ID", "PAYVEN_CLIENT_SECRET", "PAYVEN_SLUG")
        if not os.environ.get(name)
    ]
    if missing:
        raise UsageError(
            f"no credentials: set {', '.join(missing)} (see payven emulator for a local "
            "Payven), or add --emulator to run against an in-process emulator",
            prog=prog,
        )


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
        # str(): the checks want plain text; the card masks them in its own repr.
        card=Card(args.card_holder, str(args.card_number), month, year, str(args.card_cvv)),
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
        # What the answer may echo of the card is masked in whatever this prints.
        sent = (args.card_number, args.card_cvv)
        try:
            result = await client.pay(session_id, request, idempotency_key=args.idempotency_key)
        except PayvenError as error:
            # One stderr line for a failure: the session id is in the error JSON.
            raise _WithContext(error, {"session_id": session_id}, sent) from error
    if args.session is None:
        say(err, f"created checkout session {session_id}", style=(DIM,))
    # The pay answer carries few fields: print what it says, not nulls for the rest.
    data = {"session_id": session_id, **to_json(result, drop_none=True)}
    _print_json(redact_data(data, sent), out)
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
        raise UsageError(
            f"cannot read {source}: {error.strerror or error}", prog="payven query-batch"
        ) from None
    except UnicodeDecodeError:
        raise UsageError(f"{source} is not UTF-8 text", prog="payven query-batch") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


async def _cmd_query_batch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._progress import ProgressBar, bar_wanted

    ids = _read_ids(args.source)
    show_bar = bar_wanted(err, args.progress)  # as --help says
    failures = 0

    def progress(outcome: QueryOutcome) -> None:
        bar.update(failed=outcome.error is not None)

    async with _client(args, ids) as client:
        # Started once the client is ready: the rate and the ETA count queries only.
        bar = ProgressBar(len(ids), err, animate=show_bar)
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
        except BrokenPipeError:
            bar.clear()  # the reader went away (| head): leave no half-drawn bar behind
            raise
        finally:
            if show_bar:
                bar.close()
    if failures:
        say(err, f"{failures} of {len(ids)} queries failed", style=(RED,))
        return EXIT_API_ERROR
    return EXIT_OK


async def _cmd_reconcile(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._reconcile_cmd import InputError, read_expected, run

    window = args.start_date is not None or args.end_date is not None
    if args.ids is None and not window and args.expected is None:
        raise UsageError(
            "say which transactions: --ids FILE, --from/--to, or --expected",
            prog="payven reconcile",
        )
    if args.end_date is not None and args.ids is not None:
        raise UsageError("--to goes with --from, not with --ids", prog="payven reconcile")
    try:
        # Each transaction once, however often the file names it.
        ids = list(dict.fromkeys(_read_ids(args.ids))) if args.ids is not None else None
        expected = read_expected(args.expected) if args.expected is not None else None
        # With --emulator, every id asked about (given or expected) exists, approved.
        async with _client(args, [*(ids or ()), *(expected or ())]) as client:
            return await run(args, client, ids, expected, out, err)
    except InputError as error:
        raise UsageError(str(error), prog="payven reconcile") from None


async def _cmd_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._demo import run_demo

    await run_demo(out, batch_size=args.batch_size, concurrency=args.concurrency)
    return EXIT_OK


async def _cmd_emulator(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .testing import PayvenEmulator

    if args.rate_limit < 0:
        raise UsageError("--rate-limit must be 0 (no limit) or more", prog="payven emulator")
    emulator = PayvenEmulator(
        port=args.port,
        slug=args.slug,
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_ttl=args.token_ttl,
        rate_limit=args.rate_limit or None,
        token_calls_per_minute=args.token_limit or None,
    )
    webhook_secret = None
    if args.webhook_url is not None:
        try:
            webhook_secret = emulator.webhooks.subscribe(
                args.webhook_url, args.webhook_secret
            ).secret
        except ValueError as error:
            raise UsageError(f"--webhook-url: {error}", prog="payven emulator") from None
    if args.seed < 0:
        raise UsageError("--seed must be 0 or more", prog="payven emulator")
    seeded = _seed(emulator, args) if args.seed else None
    try:
        await emulator.start()
    except OSError as error:
        reason = f"cannot listen on 127.0.0.1:{args.port}: {error.strerror or error}"
        return fail(out, err, {"type": "OSError", "message": reason}, reason, EXIT_API_ERROR)
    try:
        out.write(emulator_settings(emulator, webhook_secret))
        out.flush()
        say(
            err,
            "the Payven emulator is serving; press Ctrl-C to stop. Paste the lines above "
            "into a shell to point the PAYVEN_* variables at it (the secret is this local "
            "emulator's own, not a real credential).",
        )
        if seeded is not None:
            _report_seeded(seeded, err)
        await _until_stopped()
    finally:
        await emulator.stop()
    say(err, "emulator stopped")
    return EXIT_OK


def emulator_settings(emulator: PayvenEmulator, webhook_secret: str | None = None) -> str:
    """What ``payven emulator`` prints: ``name=value`` settings, then ``export`` lines.

    Every line is shell (values quoted where needed), so the whole block can be pasted
    as it is; ``PAYVEN_WEBHOOK_SECRET`` is there when webhooks are sent.
    """
    settings = {
        "url": emulator.url,
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "slug": emulator.slug,
    }
    variables = dict(emulator.environ())
    if webhook_secret is not None:
        settings["webhook_secret"] = webhook_secret
        variables["PAYVEN_WEBHOOK_SECRET"] = webhook_secret
    lines = [f"{name}={shlex.quote(value)}" for name, value in settings.items()]
    lines.append("# this local emulator's own credentials (not real ones); paste to use them:")
    lines += [f"export {name}={shlex.quote(value)}" for name, value in variables.items()]
    return "\n".join(lines) + "\n"


def _seed(emulator: PayvenEmulator, args: argparse.Namespace) -> SeededPayments:
    """Seed the emulator as asked, and write the ids where asked (before it serves)."""
    try:
        seeded = emulator.seed_payments(
            args.seed, day=args.seed_day, mismatches=args.seed_mismatches or None
        )
    except ValueError as error:
        raise UsageError(str(error), prog="payven emulator") from None
    if args.seed_ids is not None:
        try:
            with open(args.seed_ids, "w", encoding="utf-8") as handle:
                handle.writelines(f"{transaction_id}\n" for transaction_id in seeded)
        except OSError as error:
            raise UsageError(
                f"cannot write {args.seed_ids}: {error.strerror or error}", prog="payven emulator"
            ) from None
    return seeded


def _report_seeded(seeded: SeededPayments, err: TextIO) -> None:
    """Say what was seeded."""
    kinds = Counter(seeded.mismatches.values())
    planted = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())) or "none"
    day = f" on {seeded.day}" if seeded.day is not None else ""
    say(err, f"seeded {len(seeded)} payments{day}; mismatches: {planted}")


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

    def __init__(
        self, error: PayvenError, context: dict[str, Any], secrets: tuple[str, ...] = ()
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.context = context
        #: Values the output must not show (the card the command sent).
        self.secrets = secrets


Command = Callable[[argparse.Namespace, TextIO, TextIO], Coroutine[Any, Any, int]]

_COMMANDS: dict[str, Command] = {
    "demo": _cmd_demo,
    "emulator": _cmd_emulator,
    "token": _cmd_token,
    "pay": _cmd_pay,
    "query": _cmd_query,
    "query-batch": _cmd_query_batch,
    "reconcile": _cmd_reconcile,
}


def _describe(error: PayvenError) -> str:
    if isinstance(error, PaymentOutcomeUnknown):
        return f"outcome unknown: {error} (idempotency key {error.idempotency_key})"
    if isinstance(error, APIError):
        fields = field_messages(error.errors)
        if fields:  # the title alone ("validation failed") does not say what to fix
            label = f"{error.status} {error.code}" if error.code else str(error.status)
            notes = [text for text in (error.detail or error.title, error.correlation_id) if text]
            if error.correlation_id:
                notes[-1] = f"correlation id {error.correlation_id}"
            return f"{label}: {'; '.join(fields)}" + (f" ({'; '.join(notes)})" if notes else "")
    return str(error)


# --- reporting ----------------------------------------------------------------------------


def _one_line(text: str) -> str:
    """``text`` on one line: a multi-line message's lines (``  - item``) joined by ``; ``."""
    lines = [line.strip().removeprefix("- ") for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):
        return lines[0] + " " + "; ".join(lines[1:])
    return "; ".join(lines)


def say(err: TextIO, text: str, *, style: tuple[str, ...] = ()) -> None:
    """One line on stderr, ``payven: text``, coloured when stderr is a terminal."""
    err.write(paint(f"payven: {_one_line(text)}", *style, enabled=wants_colour(err)) + "\n")
    err.flush()


def fail(
    out: TextIO,
    err: TextIO,
    error: dict[str, Any],
    line: str,
    exit_code: int,
    context: dict[str, Any] | None = None,
) -> int:
    """Report a failure the one way: ``{"error": error}`` (after ``context``'s fields) on
    stdout, ``line`` as one line on stderr; returns ``exit_code``."""
    _print_json({**(context or {}), "error": error}, out)
    say(err, line, style=(RED, BOLD) if exit_code == EXIT_USAGE else (RED,))
    return exit_code


def usage_failure(out: TextIO, err: TextIO, error: UsageError) -> int:
    """Report a usage error (exit 2), naming the ``--help`` that explains it."""
    data: dict[str, Any] = {"type": "UsageError", "message": str(error)}
    line = f"error: {error}"
    if error.suggestion is not None:
        data["suggestion"] = error.suggestion
    else:
        line += f" (see {error.prog} --help)"
    return fail(out, err, data, line, EXIT_USAGE)


def _exit_code(error: PayvenError) -> int:
    """2 for the user's own mistakes (input, configuration, a 400 refusal), else 1."""
    if isinstance(error, (ConfigurationError, ValidationError)):
        return EXIT_USAGE
    if isinstance(error, APIError) and error.status == 400:
        return EXIT_USAGE
    return EXIT_API_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``payven`` command; returns the exit code."""
    out, err = sys.stdout, sys.stderr
    parser = build_parser()
    try:
        arguments = sys.argv[1:] if argv is None else list(argv)
        check_spelling(parser, arguments)
        args = parser.parse_args(arguments)
        return asyncio.run(_COMMANDS[args.command](args, out, err))
    except UsageError as error:
        return usage_failure(out, err, error)
    except _WithContext as wrapped:
        return _report(wrapped.error, out, err, wrapped.context, wrapped.secrets)
    except PayvenError as error:
        return _report(error, out, err, {})
    except KeyboardInterrupt:
        # Only the stderr line: stdout may be a JSON Lines stream cut mid-way, which a
        # trailing error object would corrupt for the reader still consuming it.
        say(err, "interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (payven query-batch ids.txt | head): what it wanted, it
        # got. Stop quietly, as cat or grep do; stdout goes to /dev/null so that the
        # interpreter's last flush does not complain either.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


#: The client's words for a setting, and the command line's (which has no arguments
#: for the URLs: they come from the environment).
_CLI_WORDS = (
    ("(argument environment= or PAYVEN_ENVIRONMENT)", "(--environment or PAYVEN_ENVIRONMENT)"),
    ("identity_url=", "PAYVEN_IDENTITY_URL="),
    ("vpos_url=", "PAYVEN_VPOS_URL="),
)


def _report(
    error: PayvenError,
    out: TextIO,
    err: TextIO,
    context: dict[str, Any],
    secrets: tuple[str, ...] = (),
) -> int:
    code = _exit_code(error)
    # Errors are redacted when made; this masks the card this command sent, too.
    data = redact_data(error_json(error), secrets)
    line = redact_text(_describe(error), secrets)
    if isinstance(error, ConfigurationError):
        for client_words, cli_words in _CLI_WORDS:
            line = line.replace(client_words, cli_words)
        data["message"] = line
    if code == EXIT_USAGE:
        line = f"error: {line}"
    return fail(out, err, data, line, code, context)


if __name__ == "__main__":
    sys.exit(main())
