"""Shared fixtures: a loopback fake Payven and a client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from payven_async import PayvenClient

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
