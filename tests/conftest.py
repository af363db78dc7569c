"""Shared fixtures: a loopback fake Payven and a client pointed at it."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web

from payven_async import PayvenClient, PayvenError
from payven_async._validate import luhn_valid

from .fake_server import CLIENT_ID, CLIENT_SECRET, SLUG, FakePayven


@pytest.fixture(autouse=True)
def _no_payven_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's own PAYVEN_* variables out of every test."""
    for name in (
        "PAYVEN_CLIENT_ID",
        "PAYVEN_CLIENT_SECRET",
        "PAYVEN_SLUG",
        "PAYVEN_ENVIRONMENT",
        "PAYVEN_IDENTITY_URL",
        "PAYVEN_VPOS_URL",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def fake_payven() -> AsyncIterator[FakePayven]:
    """A FakePayven served on 127.0.0.1 on a free port."""
    fake = FakePayven()
    # Handlers of requests whose client went away are cancelled, and shutdown does not
    # wait a minute for a handler a test left stalled on purpose.
    runner = web.AppRunner(fake.app(), handler_cancellation=True, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        await runner.cleanup()


@pytest.fixture
async def client(fake_payven: FakePayven) -> AsyncIterator[PayvenClient]:
    """A PayvenClient talking to the fake server, without retry back-off delays."""
    async with PayvenClient(
        CLIENT_ID,
        CLIENT_SECRET,
        SLUG,
        identity_url=fake_payven.url,
        vpos_url=fake_payven.url,
        max_retries=0,
    ) as payven:
        yield payven


# --- nothing secret leaves the library ------------------------------------------------

_EMULATOR_SECRET = re.compile(r"sk_test_[A-Za-z0-9_-]{8,}")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.")
_FAKE_TOKEN = re.compile(r"\b(?:access|refresh)-\d+\b")
_CVV_PAIR = re.compile(r"(?i)cvv[\"'\s:=]+\d{3,4}")
_BEARER = re.compile(r"(?i)bearer\s+[^\s*]")
_DIGIT_RUN = re.compile(r"(?<!\d)\d{13,19}(?!\d)")


def leaks(text: str, secrets: tuple[str, ...] = (CLIENT_SECRET,)) -> list[str]:
    """What in ``text`` looks like a card number, CVV, secret or token."""
    found = [secret for secret in secrets if secret and secret in text]
    found += _JWT.findall(text) + _FAKE_TOKEN.findall(text) + _CVV_PAIR.findall(text)
    found += _BEARER.findall(text) + _EMULATOR_SECRET.findall(text)
    found += [run for run in _DIGIT_RUN.findall(text) if luhn_valid(run)]
    return found


@pytest.fixture(autouse=True)
def _no_secret_leaves_the_library(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any test whose payven logs (at DEBUG) or payven errors carry secret data."""
    texts: list[str] = []
    raised: list[PayvenError] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            texts.append(self.format(record))

    original_init = PayvenError.__init__

    def recording_init(self: PayvenError, *args: object, **kwargs: object) -> None:
        original_init(self, *args, **kwargs)
        raised.append(self)

    monkeypatch.setattr(PayvenError, "__init__", recording_init)
    handler = Capture(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    logger = logging.getLogger("payven")
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
    texts += [text for error in raised for text in (str(error), repr(error))]
    found = [leak for text in texts for leak in leaks(text)]
    assert not found, f"secret data left the library: {found}"
