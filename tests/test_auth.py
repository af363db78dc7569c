"""The token manager: caching, refresh-ahead, rotation, fallback, single flight, sane expiry.

Token requests run through the real call pipeline on the in-memory transport.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from payven_async import Answer, MemoryTransport, Request
from payven_async._auth import DEFAULT_LIFETIME, TokenManager
from payven_async._config import build_config
from payven_async._pipeline import Pipeline
from payven_async._responses import decode_token
from payven_async.errors import DecodeError

from .fake_server import make_jwt

WALL = 1_800_000_000.0


def reply(body: Any, status: int = 200) -> Answer:
    return Answer.of(status, json.dumps(body).encode())


class FakeIdentity:
    """Answers token and refresh calls in order, recording each one."""

    def __init__(self, expires_in: Any = 300) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.expires_in = expires_in
        self.refresh_fails = False
        self.gate: asyncio.Event | None = None
        self.issued = 0

    async def handle(self, request: Request) -> Answer:
        assert request.body is not None
        self.calls.append((request.call, json.loads(request.body)))
        if self.gate is not None:
            await self.gate.wait()
        if request.call == "refresh" and self.refresh_fails:
            return reply({"code": "invalid_refresh_token"}, status=401)
        self.issued += 1
        return reply(
            {
                "access_token": f"access-{self.issued}",
                "refresh_token": f"refresh-{self.issued}",
                "expires_in": self.expires_in,
                "refresh_expires_in": 1800,
            }
        )

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.calls]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def manager(identity: FakeIdentity, clock: Clock) -> TokenManager:
    """A token manager whose requests run through a pipeline answered by ``identity``."""
    config = build_config(
        client_id="cid",
        client_secret="csecret",
        slug="acme",
        environment=None,
        identity_url=None,
        vpos_url=None,
        timeout=None,
        max_retries=None,
        environ={},
    )
    pipeline = Pipeline(config, MemoryTransport(identity.handle))
    return TokenManager(config, pipeline.run, clock=clock, wall_clock=lambda: WALL)


async def test_token_is_cached_until_renewal_is_due() -> None:
    """Calls within the token's life reuse it; the first call sends client credentials."""
    identity, clock = FakeIdentity(), Clock()
    tokens = manager(identity, clock)
    assert await tokens.access_token() == "access-1"
    clock.now += 239
    assert await tokens.access_token() == "access-1"
    assert identity.calls == [("token", {"client_id": "cid", "client_secret": "csecret"})]


async def test_renewal_uses_the_rotating_refresh_token_60s_ahead() -> None:
    """At expiry minus 60 s the refresh endpoint is called with the latest refresh token."""
    identity, clock = FakeIdentity(), Clock()
    tokens = manager(identity, clock)
    await tokens.access_token()
    clock.now += 241
    assert await tokens.access_token() == "access-2"
    clock.now += 241
    assert await tokens.access_token() == "access-3"
    assert identity.calls[1:] == [
        ("refresh", {"refresh_token": "refresh-1"}),
        ("refresh", {"refresh_token": "refresh-2"}),
    ]


async def test_failed_refresh_falls_back_to_client_credentials() -> None:
    """When refresh is refused, a fresh client-credentials token is fetched."""
    identity, clock = FakeIdentity(), Clock()
    tokens = manager(identity, clock)
    await tokens.access_token()
    identity.refresh_fails = True
    clock.now += 300
    assert await tokens.access_token() == "access-2"
    assert identity.kinds() == ["token", "refresh", "token"]


async def test_concurrent_callers_share_one_token_request() -> None:
    """Fifty cold callers cause exactly one token request."""
    identity, clock = FakeIdentity(), Clock()
    identity.gate = asyncio.Event()
    tokens = manager(identity, clock)
    waiters = [asyncio.create_task(tokens.access_token()) for _ in range(50)]
    await asyncio.sleep(0)
    identity.gate.set()
    assert set(await asyncio.gather(*waiters)) == {"access-1"}
    assert identity.kinds() == ["token"]


async def test_callers_keep_using_a_valid_token_while_it_is_renewed() -> None:
    """During refresh-ahead, other callers get the still-valid token without waiting."""
    identity, clock = FakeIdentity(), Clock()
    tokens = manager(identity, clock)
    await tokens.access_token()
    clock.now += 250
    identity.gate = asyncio.Event()
    renewing = asyncio.create_task(tokens.access_token())
    await asyncio.sleep(0)
    assert await tokens.access_token() == "access-1"
    identity.gate.set()
    assert await renewing == "access-2"


@pytest.mark.parametrize("expires_in", [0, -5, 10**9, None, "soon"])
async def test_nonsense_expiry_uses_the_jwt_exp_claim(expires_in: Any) -> None:
    """A nonsense expires_in falls back to the JWT's exp, never to a call per request."""
    identity, clock = FakeIdentity(), Clock()
    record = identity.handle

    async def handle(request: Request) -> Answer:
        await record(request)
        return reply({"access_token": make_jwt(WALL + 600), "expires_in": expires_in})

    identity.handle = handle  # type: ignore[method-assign]
    tokens = manager(identity, clock)
    for _ in range(20):
        await tokens.access_token()
        clock.now += 10
    assert len(identity.calls) == 1  # 200 s of calls, within the JWT's 540 s renewal point


@pytest.mark.parametrize("expires_in", [0, -1, 10**12])
async def test_nonsense_expiry_without_jwt_uses_a_sane_default(expires_in: int) -> None:
    """An opaque token with a nonsense lifetime is kept for the default lifetime."""
    identity, clock = FakeIdentity(expires_in=expires_in), Clock()
    tokens = manager(identity, clock)
    await tokens.access_token()
    clock.now += DEFAULT_LIFETIME - 61
    await tokens.access_token()
    assert identity.kinds() == ["token"]
    clock.now += 2
    await tokens.access_token()
    assert identity.kinds() == ["token", "refresh"]


async def test_short_lived_tokens_renew_halfway_not_constantly() -> None:
    """A 30 s token is renewed after 15 s, not on every call."""
    identity, clock = FakeIdentity(expires_in=30), Clock()
    tokens = manager(identity, clock)
    for _ in range(14):
        await tokens.access_token()
        clock.now += 1
    assert identity.kinds() == ["token"]


async def test_invalidate_drops_exactly_the_refused_token() -> None:
    """A stale 401 for an old token does not throw away a newer one."""
    identity, clock = FakeIdentity(), Clock()
    tokens = manager(identity, clock)
    first = await tokens.access_token()
    tokens.invalidate(first)
    second = await tokens.access_token()
    assert second == "access-2"
    tokens.invalidate(first)  # a late 401 from a request that used the first token
    assert await tokens.access_token() == "access-2"
    assert len(identity.calls) == 2


async def test_reprs_hide_secret_and_tokens() -> None:
    """Neither the manager's repr nor its token's shows the secret or the token values."""
    identity, clock = FakeIdentity(), Clock()
    tokens = manager(identity, clock)
    token = await tokens.current_token()
    for text in (repr(tokens), repr(token)):
        assert "csecret" not in text
        assert "access-1" not in text
        assert "refresh-1" not in text


@pytest.mark.parametrize(
    "body",
    [
        {"access_token": "t", "expires_in": 300},
        {"token": {"access_token": "t", "expires_in": 300}, "challenge": None},
        {"data": {"access_token": "t", "expires_in": 300}},
        {
            "isSuccess": True,
            "code": "200",
            "message": None,
            "data": {"accessToken": "t", "expiresIn": 300},
        },
        {"data": {"token": {"access_token": "t", "expires_in": 300}}},
    ],
)
def test_token_answers_decode_flat_nested_or_enveloped(body: dict[str, Any]) -> None:
    """Flat, token-nested, data-enveloped and camelCase token answers all decode."""
    token = decode_token(reply(body))
    assert token.access_token == "t"
    assert token.expires_in == 300


def test_token_answer_without_access_token_is_a_decode_error() -> None:
    """An answer carrying no access token is refused."""
    with pytest.raises(DecodeError):
        decode_token(reply({"token_type": "Bearer"}))
