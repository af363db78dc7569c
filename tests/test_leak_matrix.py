"""The leak matrix: card data, tokens and the client secret never leave the library.

Rows are failure kinds (a decline that echoes the card, an HTML 500 that quotes the
body, a timeout, a token answer that cannot be decoded, ...), each reproduced against
a small loopback server that echoes what it was sent; columns are where text leaves
(``str``, ``repr``, the exception's attributes walked recursively, chained causes, the
formatted traceback, the traceback with every frame's locals as error trackers render
it, every logger at DEBUG). The command line has rows of its own (stdout and stderr).
A new leak path is one row.

The card is written the ways people write it (``4546 7112 3456 7894``,
``4546-7112-3456-7894``) in free-text fields too, so a leak is caught whatever its
spelling: any Luhn-valid run of 13 to 19 digits with single space or dash separators,
the CVV as a standalone number, the client secret, and any token the server issued.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import traceback
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import attrs
import pytest
from aiohttp import web

import payven_sync
from payven_async import Answer, Card, Money, PayRequest, PayvenClient
from payven_async._redact import SecretText
from payven_async._responses import decode_token
from payven_async._validate import luhn_valid
from payven_async.cli import main

from .conftest import leaks
from .fake_server import CLIENT_ID, CLIENT_SECRET, SLUG, FakePayven, make_jwt
from .sync_server import ThreadedFakePayven

PAN = "4546711234567894"
SPACED_PAN = "4546 7112 3456 7894"
DASHED_PAN = "4546-7112-3456-7894"
CVV = "837"
SESSION_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"

# Any Luhn-valid card number, with or without single space/dash separators.
_GROUPED_DIGITS = re.compile(r"(?<![0-9])(?:[0-9][ -]?){12,18}[0-9](?![0-9])")
# The CVV standing alone (not inside a longer number, an id or a decimal).
_CVV = re.compile(rf"(?<![0-9A-Za-z.]){CVV}(?![0-9A-Za-z])")


# Not leaks, though the suite's guard would flag them: a variable named bearer in a
# traceback's source lines, and a float's many decimals (an elapsed time in a frame).
_BEARER_NAME = re.compile(r"(?i)\bbearer\s+[^A-Za-z0-9._~+/*-]")
_LONG_FLOAT = re.compile(r"\b[0-9]+\.[0-9]{6,}")
# Nor is a UUID, whose digits may run 13 long, Luhn-valid, across its dashes.
_UUID = re.compile(r"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")


def found_in(text: str) -> list[str]:
    """What in ``text`` is card data, a token or the secret."""
    text = _UUID.sub("<uuid>", _LONG_FLOAT.sub("<float>", _BEARER_NAME.sub("<name>", text)))
    found = leaks(text)
    found += [
        run
        for run in _GROUPED_DIGITS.findall(text)
        if luhn_valid(run.replace(" ", "").replace("-", ""))
    ]
    found += _CVV.findall(text)
    return found


def pay_request() -> PayRequest:
    """A payment whose free-text fields repeat the card number, spaced and dashed."""
    return PayRequest(
        amount=Money(15000, "TRY"),
        card=Card("Test Kullanici", SPACED_PAN, "12", "2030", CVV),
        external_id="ORDER-1001",
        description=f"card {SPACED_PAN} paid",
        extra_properties={"note": DASHED_PAN, "card": PAN},
    )


# --- the echoing server ------------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _text(request: web.Request) -> str:
    return (await request.read()).decode()


def _problem(status: int, code: str) -> Handler:
    """Problem+json quoting the request body in its detail, errors and an extension."""

    async def handle(request: web.Request) -> web.StreamResponse:
        sent = await request.json()
        body = {
            "type": "about:blank",
            "title": "rejected",
            "status": status,
            "code": code,
            "detail": f"rejected {await _text(request)}",
            "errors": {"card.number": [f"bad {sent['card']['number']}"], "card.cvv": [CVV]},
            "request": sent,
        }
        if status == 422:
            body["provider_error_code"] = "05"
        return web.json_response(body, status=status, content_type="application/problem+json")

    return handle


async def _decline(request: web.Request) -> web.StreamResponse:
    """A 200 envelope saying the payment was declined, echoing the card everywhere."""
    sent = await request.json()
    return web.json_response(
        {
            "message": f"declined {SPACED_PAN}",
            "isSuccess": True,
            "code": "200",
            "data": {
                "transactionId": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
                "status": "failed",
                "isSuccess": False,
                "message": f"card {sent['card']['number']} cvv {CVV} declined",
                "errorCode": "do_not_honor",
                "providerErrorCode": "05",
                "extraProperties": {"card": sent["card"]["number"], "cvv": CVV},
                "echo": sent,
            },
        }
    )


async def _failed_envelope(request: web.Request) -> web.StreamResponse:
    """A 200 generation-A envelope saying ``isSuccess: false``, with the body as data."""
    return web.json_response(
        {"message": f"failed {await _text(request)}", "isSuccess": False, "code": "bad_request"}
    )


async def _html_500(request: web.Request) -> web.StreamResponse:
    """A proxy's HTML error page quoting the body."""
    page = f"<html><body><h1>500</h1><pre>{await _text(request)}</pre></body></html>"
    return web.Response(status=500, text=page, content_type="text/html")


async def _broken_json(request: web.Request) -> web.StreamResponse:
    """A 200 whose JSON is cut short after quoting the body."""
    return web.Response(text='{"data": ' + await _text(request), content_type="application/json")


async def _wrong_shape(request: web.Request) -> web.StreamResponse:
    """A 200 that is JSON but not a payment result: the body, in a list."""
    return web.json_response({"isSuccess": True, "data": [await request.json()]})


async def _stall(request: web.Request) -> web.StreamResponse:
    """Read the body, then answer too late."""
    await request.read()
    await asyncio.sleep(30)
    return web.json_response({})


async def _reset(request: web.Request) -> web.StreamResponse:
    """Read the body, then drop the connection."""
    await request.read()
    assert request.transport is not None
    request.transport.close()
    return web.Response()


async def _unauthorized(request: web.Request) -> web.StreamResponse:
    """Refuse every bearer, quoting it."""
    return web.json_response(
        {"code": "invalid_token", "detail": f"refused {request.headers['Authorization']}"},
        status=401,
    )


async def _token_refused(request: web.Request) -> web.StreamResponse:
    """Refuse the credentials, quoting the token request's body."""
    return web.json_response(
        {"code": "invalid_credentials", "detail": f"bad {await _text(request)}"}, status=401
    )


async def _token_garbled(request: web.Request) -> web.StreamResponse:
    """A token answer cut short: the new tokens are in it, and the request's secrets."""
    text = json.dumps({"access_token": "access-77", "refresh_token": "refresh-77"})
    return web.Response(text=text[:-1] + ", " + await _text(request))


async def _token_wrong_shape(request: web.Request) -> web.StreamResponse:
    """JSON that is not a token: the request's body and new tokens, in a list."""
    return web.json_response(
        [{"access_token": "access-78", "refresh_token": "refresh-78"}, await request.json()]
    )


# --- scenarios (rows) ----------------------------------------------------------------------


@attrs.frozen
class Setup:
    """What a scenario runs against: the server and a client's options."""

    fake: FakePayven
    url: str

    def client(self, **options: Any) -> PayvenClient:
        """A client of the echoing server (no retries unless asked)."""
        options.setdefault("max_retries", 0)
        return PayvenClient(
            CLIENT_ID, CLIENT_SECRET, SLUG, identity_url=self.url, vpos_url=self.url, **options
        )


async def pay_answered_by(
    setup: Setup, handler: Handler, *, cold: bool = False, **options: Any
) -> None:
    """Pay once with the pay route answered by ``handler``, holding a token already (the
    usual call), or fetching it first (``cold``)."""
    async with setup.client(**options) as client:
        if not cold:
            await client.token()
        setup.fake.overrides["pay"] = handler
        await client.pay(SESSION_ID, pay_request())


async def sync_pay_answered_by(setup: Setup, handler: Handler) -> None:
    """Pay once through the blocking facade (from a worker thread: this is a loop)."""
    setup.fake.overrides["pay"] = handler

    def pay() -> None:
        with payven_sync.PayvenClient(
            CLIENT_ID,
            CLIENT_SECRET,
            SLUG,
            identity_url=setup.url,
            vpos_url=setup.url,
            max_retries=0,
            timeout=0.2,
        ) as client:
            client.pay(SESSION_ID, pay_request())

    await asyncio.to_thread(pay)


async def misconfigured(setup: Setup, *, from_environment: bool) -> None:
    """A client whose URL is refused, its secret passed or read from PAYVEN_CLIENT_SECRET."""
    secret = {} if from_environment else {"client_secret": CLIENT_SECRET}
    saved = os.environ.get("PAYVEN_CLIENT_SECRET")
    os.environ["PAYVEN_CLIENT_SECRET"] = CLIENT_SECRET
    try:
        PayvenClient(client_id=CLIENT_ID, slug=SLUG, identity_url="ftp://nowhere", **secret)
    finally:
        if saved is None:
            del os.environ["PAYVEN_CLIENT_SECRET"]
        else:
            os.environ["PAYVEN_CLIENT_SECRET"] = saved


async def pay_refused(setup: Setup) -> None:
    """No server listens: connecting fails."""
    async with PayvenClient(
        CLIENT_ID,
        CLIENT_SECRET,
        SLUG,
        identity_url=setup.url,
        vpos_url="http://127.0.0.1:1",
        max_retries=0,
    ) as client:
        await client.pay(SESSION_ID, pay_request())


async def pay_invalid(setup: Setup) -> None:
    """A request that fails validation (expired card, one-digit CVV) and quotes the PAN."""
    request = pay_request()
    request.card.expire_year = "2001"
    request.card.cvv = "8"
    async with setup.client() as client:
        await client.pay(SESSION_ID, request)


async def token_answered_by(setup: Setup, handler: Handler) -> None:
    """The first call fails getting its token."""
    setup.fake.overrides["token"] = handler
    async with setup.client() as client:
        await client.pay(SESSION_ID, pay_request())


async def refresh_answered_by(setup: Setup, handler: Handler) -> None:
    """A token is held (with a refresh token); its renewal's answers cannot be read."""
    async with setup.client() as client:
        await client.token()
        setup.fake.overrides["refresh"] = handler
        setup.fake.overrides["token"] = handler
        client._tokens._renew_at = 0.0  # due for renewal now
        await client.pay(SESSION_ID, pay_request())


SCENARIOS: dict[str, Callable[[Setup], Awaitable[None]]] = {
    "validation error": pay_invalid,
    "configuration error, secret passed": lambda s: misconfigured(s, from_environment=False),
    "configuration error, secret in the environment": lambda s: misconfigured(
        s, from_environment=True
    ),
    "400 echoing the body": lambda s: pay_answered_by(s, _problem(400, "validation_failed")),
    "403 echoing the body": lambda s: pay_answered_by(s, _problem(403, "merchant_inactive")),
    "409 echoing the body": lambda s: pay_answered_by(s, _problem(409, "idempotency_key_in_use")),
    "422 decline echoing the body": lambda s: pay_answered_by(s, _problem(422, "do_not_honor")),
    "200 decline echoing the card": lambda s: pay_answered_by(s, _decline),
    "200 failed envelope": lambda s: pay_answered_by(s, _failed_envelope),
    "HTML 500 quoting the body": lambda s: pay_answered_by(s, _html_500),
    "HTML 500, retried": lambda s: pay_answered_by(s, _html_500, max_retries=1),
    "200 with broken JSON": lambda s: pay_answered_by(s, _broken_json),
    "200 of the wrong shape": lambda s: pay_answered_by(s, _wrong_shape),
    "timeout": lambda s: pay_answered_by(s, _stall, timeout=0.2),
    "timeout, token fetched first": lambda s: pay_answered_by(s, _stall, cold=True, timeout=0.2),
    "connection dropped": lambda s: pay_answered_by(s, _reset),
    "connection refused": pay_refused,
    "payven_sync, 400 echoing the body": lambda s: sync_pay_answered_by(
        s, _problem(400, "validation_failed")
    ),
    "payven_sync, 200 decline echoing the card": lambda s: sync_pay_answered_by(s, _decline),
    "payven_sync, timeout": lambda s: sync_pay_answered_by(s, _stall),
    "401 on every bearer": lambda s: pay_answered_by(s, _unauthorized),
    "400, token fetched first": lambda s: pay_answered_by(
        s, _problem(400, "validation_failed"), cold=True
    ),
    "token refused": lambda s: token_answered_by(s, _token_refused),
    "token answer garbled": lambda s: token_answered_by(s, _token_garbled),
    "token answer of the wrong shape": lambda s: token_answered_by(s, _token_wrong_shape),
    "refresh answers garbled": lambda s: refresh_answered_by(s, _token_garbled),
    "refresh answers of the wrong shape": lambda s: refresh_answered_by(s, _token_wrong_shape),
}


@attrs.define
class Failure:
    """What a scenario left behind: the exception and every log line, at DEBUG."""

    error: BaseException
    logs: list[str]


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))


@contextlib.contextmanager
def every_logger_at_debug() -> Iterator[_Capture]:
    """Capture every logger's records at DEBUG (with tracebacks) while inside."""
    capture = _Capture()
    root = logging.getLogger()
    previous = root.level
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    levels = [logger.level for logger in loggers]
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(previous)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedFakePayven]:
    """The echoing server, in a thread of its own (the CLI rows run their own loop)."""
    with ThreadedFakePayven() as threaded:
        yield threaded


async def fail(name: str, server: ThreadedFakePayven) -> Failure:
    """Run scenario ``name``; return the exception it raised and the logs."""
    server.fake.overrides.clear()
    setup = Setup(server.fake, server.url)
    with every_logger_at_debug() as capture:
        try:
            await SCENARIOS[name](setup)
        except Exception as exc:  # the very thing under test
            error: BaseException = exc
        else:
            pytest.fail(f"{name}: no exception")
    return Failure(error, capture.texts)


# --- where text leaves (columns) --------------------------------------------------------------


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception chained to it (causes and contexts)."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]


def _everything_in(value: Any, seen: set[int] | None = None) -> Iterator[str]:
    """The text of ``value`` and of everything it holds, recursively (attributes of
    exceptions and models, mappings, sequences, bytes)."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, (str, int, float)) or value is None:
        yield str(value)
        return
    if isinstance(value, (bytes, bytearray)):
        yield bytes(value).decode("utf-8", "replace")
        return
    yield repr(value)
    if isinstance(value, BaseException):
        yield str(value)
        yield from _everything_in(value.args, seen)
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _everything_in(key, seen)
            yield from _everything_in(item, seen)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _everything_in(item, seen)
    if attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            yield from _everything_in(getattr(value, field.name), seen)
    with contextlib.suppress(TypeError):
        for item in vars(value).values():
            yield from _everything_in(item, seen)


def _frames_locals(error: BaseException) -> Iterator[str]:
    """Every frame's locals, as ``capture_locals=True`` renders them (Sentry's default),
    in the whole chain; frames of this test module hold the card on purpose."""
    rendered = traceback.TracebackException.from_exception(error, capture_locals=True)
    todo = [rendered]
    while todo:
        current = todo.pop()
        for frame in current.stack:
            if "/tests/" in frame.filename:
                continue
            for name, shown in (frame.locals or {}).items():
                yield f"{frame.filename}:{frame.lineno} {frame.name}: {name} = {shown}"
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]


def _library_frames_locals_of(failure: Failure) -> Iterator[str]:
    return _frames_locals(failure.error)


COLUMNS: dict[str, Callable[[Failure], Iterator[str]]] = {
    "str": lambda f: iter([str(f.error)]),
    "repr": lambda f: iter([repr(f.error)]),
    "vars": lambda f: _everything_in(vars(f.error)),
    "chained causes": lambda f: (
        text for e in _chain(f.error) for text in (str(e), repr(e), *_everything_in(vars(e)))
    ),
    "formatted traceback": lambda f: iter(traceback.format_exception(f.error)),
    "traceback with locals": _library_frames_locals_of,
    "logs at DEBUG": lambda f: iter(f.logs),
}


@pytest.mark.parametrize("column", list(COLUMNS))
@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_no_card_data_or_secret_leaves_through(
    scenario: str, column: str, server: ThreadedFakePayven
) -> None:
    """Whatever the failure, no text leaving the library holds card data, a token or the secret."""
    failure = await fail(scenario, server)
    found = [(text, hit) for text in COLUMNS[column](failure) for hit in found_in(text)]
    assert not found, f"{scenario} / {column}: {found[:3]}"


# --- request models ------------------------------------------------------------------------


@pytest.mark.parametrize("render", [repr, str])
def test_request_models_mask_numbers_in_free_text(render: Callable[[object], str]) -> None:
    """A card number in description or extra_properties, spaced or dashed, is masked."""
    request = pay_request()
    assert found_in(render(request)) == []
    assert found_in(render(request.card)) == []


# --- the command line ----------------------------------------------------------------------


async def _approved_echoing(request: web.Request) -> web.StreamResponse:
    """An approval that echoes the card it charged."""
    sent = await request.json()
    return web.json_response(
        {
            "isSuccess": True,
            "data": {
                "transactionId": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
                "status": "completed",
                "isSuccess": True,
                "message": f"approved {SPACED_PAN}",
                "extraProperties": {"card": sent["card"]["number"], "cvv": CVV},
                "echo": sent,
            },
        }
    )


CLI_ROWS: dict[str, Handler | None] = {
    "200 approved echoing the card": _approved_echoing,
    "400 echoing the body": _problem(400, "validation_failed"),
    "200 decline echoing the card": _decline,
    "HTML 500 quoting the body": _html_500,
    "422 decline echoing the body": _problem(422, "do_not_honor"),
    "validation error": None,
}


@pytest.mark.parametrize("row", list(CLI_ROWS))
def test_payven_pay_prints_no_card_data(
    row: str,
    server: ThreadedFakePayven,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``payven pay``'s JSON on stdout and its stderr hold no card data or secret."""
    server.fake.overrides.clear()
    handler = CLI_ROWS[row]
    if handler is not None:
        server.fake.overrides["pay"] = handler
    for name, value in {
        "PAYVEN_CLIENT_ID": CLIENT_ID,
        "PAYVEN_CLIENT_SECRET": CLIENT_SECRET,
        "PAYVEN_SLUG": SLUG,
        "PAYVEN_IDENTITY_URL": server.url,
        "PAYVEN_VPOS_URL": server.url,
    }.items():
        monkeypatch.setenv(name, value)
    argv = ["pay", "--session", SESSION_ID, "--amount", "15000", "--timeout", "5"]
    argv += ["--card-number", SPACED_PAN, "--card-cvv", CVV if handler else "8"]
    argv += ["--description", f"card {DASHED_PAN}"]
    with every_logger_at_debug() as capture:
        code = main(argv)
    out, err = capsys.readouterr()
    # 0 approved; 2 for the caller's own mistakes (invalid input, a 400); 1 otherwise.
    expected = 0 if row.startswith("200 approved") else 2 if row.startswith(("400", "valid")) else 1
    assert code == expected
    assert found_in(out) == [], out
    assert found_in(err) == [], err
    assert [hit for text in capture.texts for hit in found_in(text)] == []


def test_the_matrix_detects_each_spelling() -> None:
    """The matrix's detector flags the card number in every spelling, the CVV and tokens."""
    for text in (PAN, SPACED_PAN, DASHED_PAN, f"cvv {CVV}", "access-3", make_jwt(1)):
        assert found_in(f"x {text} y"), text
    safe = "454671******7894 amount 15000 port 58370 key a837b-0.837 0.2207977939997363"
    safe += " key 4a716881-4937-445e-9aeb-126230a0e6c5"
    assert found_in(safe + "\n    bearer = valid_bearer()") == []


def test_tokens_and_the_secret_travel_with_masked_reprs() -> None:
    """A decoded token's values and the configured secret are SecretText: repr '***'."""
    answer = Answer.from_json({"access_token": "access-5", "refresh_token": "refresh-5"})
    token = decode_token(answer)
    config = PayvenClient(CLIENT_ID, CLIENT_SECRET, SLUG).config
    for value in (token.access_token, token.refresh_token, config.client_secret):
        assert isinstance(value, SecretText)
        assert found_in(repr({"value": value})) == []
