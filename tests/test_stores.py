"""Token stores and rate limiters in one process: memory, real Redis, and Redis down."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
import redis.asyncio as aioredis

from payven_async._sealing import Sealer
from payven_async.stores import (
    MemoryRateLimiter,
    MemoryTokenStore,
    RateLimiter,
    RedisRateLimiter,
    RedisTokenStore,
    TokenStore,
)
from payven_async.testing import PayvenEmulator
from tests.redis_support import free_port, redis_prefix, redis_server, redis_url

__all__ = ["redis_prefix", "redis_server", "redis_url"]  # the fixtures, for pytest


def test_the_stores_keep_to_their_protocols() -> None:
    """Memory and Redis implementations satisfy the TokenStore and RateLimiter protocols."""
    assert isinstance(MemoryTokenStore(), TokenStore)
    assert isinstance(RedisTokenStore("redis://127.0.0.1:1/0"), TokenStore)
    assert isinstance(MemoryRateLimiter(10), RateLimiter)
    assert isinstance(RedisRateLimiter("redis://127.0.0.1:1/0", rate=10), RateLimiter)


def test_sealed_tokens_open_only_with_the_same_credentials() -> None:
    """A sealed value hides its text, opens with the same secret, and refuses any other."""
    sealer = Sealer("sk_secret", "client\x00slug")
    sealed = sealer.seal(b"eyJ.access.token")
    assert b"access" not in sealed
    assert sealer.open(sealed) == b"eyJ.access.token"
    assert Sealer("sk_other", "client\x00slug").open(sealed) is None
    assert sealer.open(sealed[:-1] + bytes([sealed[-1] ^ 1])) is None
    assert sealer.fingerprint("a") != sealer.fingerprint("b")


async def test_clients_sharing_a_memory_store_share_one_token(
    payven_emulator: PayvenEmulator,
) -> None:
    """Three clients on one MemoryTokenStore make one token call between them."""
    store = MemoryTokenStore()
    ids = payven_emulator.seed_payments(3)
    clients = [payven_emulator.client(token_store=store) for _ in range(3)]
    try:
        for client, transaction_id in zip(clients, ids, strict=True):
            await client.query(transaction_id)
    finally:
        for client in clients:
            await client.aclose()
    assert payven_emulator.calls["token"] == 1


async def test_a_401_replaces_the_shared_token_once(payven_emulator: PayvenEmulator) -> None:
    """After the server revokes tokens, one client renews; the other takes the new token."""
    store = MemoryTokenStore()
    (transaction_id,) = payven_emulator.seed_payments(1)
    async with (
        payven_emulator.client(token_store=store) as first,
        payven_emulator.client(token_store=store) as second,
    ):
        await first.query(transaction_id)
        await second.query(transaction_id)
        payven_emulator.revoke_tokens()
        await first.query(transaction_id)  # 401, drops the shared token, renews
        await second.query(transaction_id)  # 401, finds the new one published
    assert payven_emulator.calls["token"] == 2


async def test_redis_holds_the_token_sealed_and_no_longer_than_it_lives(
    payven_emulator: PayvenEmulator, redis_url: str, redis_prefix: str
) -> None:
    """What Redis holds names neither the token nor the secret, and expires with the token."""
    store = RedisTokenStore(redis_url, prefix=redis_prefix)
    async with payven_emulator.client(token_store=store) as client:
        token = await client.token()
    raw = aioredis.Redis.from_url(redis_url)
    try:
        keys = await raw.keys(f"{redis_prefix}:*")
        assert [key.decode().split(":")[1] for key in keys] == ["token"]
        value = await raw.get(keys[0])
        ttl = await raw.pttl(keys[0])
    finally:
        await raw.aclose()
    assert token.access_token.encode() not in value
    assert token.refresh_token is not None
    assert token.refresh_token.encode() not in value
    assert payven_emulator.client_secret.encode() not in value
    assert payven_emulator.client_id.encode() not in keys[0]
    assert 0 < ttl <= 300_000


async def test_redis_compare_and_delete_spares_a_newer_token(
    redis_url: str, redis_prefix: str
) -> None:
    """discard() removes the token only while it is still the one named."""
    store = RedisTokenStore(redis_url, prefix=redis_prefix)
    try:
        await store.publish("k", b"old", "fp-old", 60)
        await store.publish("k", b"new", "fp-new", 60)
        assert await store.discard("k", "fp-old") is False
        assert await store.read("k") == b"new"
        assert await store.discard("k", "fp-new") is True
        assert await store.read("k") is None
    finally:
        await store.release()


async def test_redis_lock_is_exclusive_and_released_only_by_its_holder(
    redis_url: str, redis_prefix: str
) -> None:
    """One holder at a time; a stale handle never releases another holder's lock."""
    store = RedisTokenStore(redis_url, prefix=redis_prefix, lock_timeout=5)
    try:
        handle = await store.lock("k")
        assert handle is not None
        assert await store.lock("k") is None
        await store.unlock("k", "not-the-handle")
        assert await store.lock("k") is None
        await store.unlock("k", handle)
        assert await store.lock("k") is not None
    finally:
        await store.release()


async def test_a_429_pauses_every_client_sharing_a_redis_limiter(
    payven_emulator: PayvenEmulator, redis_url: str, redis_prefix: str
) -> None:
    """A 429 seen by one client becomes a pause in Redis that holds other processes back."""
    raw = aioredis.Redis.from_url(redis_url)
    pause_key = f"{redis_prefix}:pause:default"
    seen: list[int] = []

    class Watched(RedisRateLimiter):
        async def pause(self, seconds: float) -> None:
            await super().pause(seconds)
            seen.append(await raw.pttl(pause_key))

    limiter = Watched(redis_url, rate=1000, prefix=redis_prefix)
    (transaction_id,) = payven_emulator.seed_payments(1)
    # A short Retry-After: the pause lives in Redis, on Redis's clock, which no test moves.
    payven_emulator.faults.answer_next("query", 429, headers={"Retry-After": "0.2"})
    try:
        async with payven_emulator.client(rate_limiter=limiter) as client:
            await client.query(transaction_id)  # 429, a pause in Redis, then retried
        assert len(seen) == 1
        assert 0 < seen[0] <= 200
        # Another process's limiter, same Redis: held back while a pause is on.
        other = RedisRateLimiter(redis_url, rate=1000, prefix=redis_prefix)
        await limiter.pause(30)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(other.acquire(), 0.3)
        await raw.delete(pause_key)
        await other.acquire()
        await other.release()
    finally:
        await raw.aclose()
        await limiter.release()
    assert payven_emulator.calls["query"] == 2


async def test_ratelimit_remaining_zero_pauses_a_memory_limiter(
    payven_emulator: PayvenEmulator,
) -> None:
    """X-RateLimit-Remaining: 0 on an answer pauses the limiter shared by the clients."""
    limiter = MemoryRateLimiter()
    ids = payven_emulator.seed_payments(2)
    payven_emulator.rate_limit = 2
    payven_emulator.clock.freeze()  # one window: the token, then the query leaves 0
    async with payven_emulator.client(rate_limiter=limiter) as client:
        await client.query(ids[0])
    assert limiter.pauses == 1


async def test_redis_down_degrades_to_per_process_tokens_with_one_warning(
    payven_emulator: PayvenEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """No Redis: calls succeed on a token of their own; one warning, no secret in any log."""
    url = f"redis://:hunter2-password@127.0.0.1:{free_port()}/0"
    store = RedisTokenStore(url)
    ids = payven_emulator.seed_payments(3)
    with caplog.at_level(logging.DEBUG, logger="payven"):
        async with payven_emulator.client(token_store=store) as client:
            await client.query(ids[0])
            token = (await client.token()).access_token
            payven_emulator.revoke_tokens()
            await client.query(ids[1])  # a 401: renewed without the store, no new warning
            await client.query(ids[2])
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "token store unavailable (Redis: ConnectionError)" in warnings[0].getMessage()
    for text in (record.getMessage() for record in caplog.records):
        assert payven_emulator.client_secret not in text
        assert token not in text
        assert "hunter2" not in text
    assert payven_emulator.calls["token"] == 2


async def test_redis_down_degrades_to_a_per_process_limit_with_one_warning(
    payven_emulator: PayvenEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """No Redis for the limiter: calls succeed, limited in-process; one warning, no secret."""
    url = f"redis://:hunter2-password@127.0.0.1:{free_port()}/0"
    limiter = RedisRateLimiter(url, rate=1000)
    ids = payven_emulator.seed_payments(3)
    with caplog.at_level(logging.DEBUG, logger="payven"):
        async with payven_emulator.client(rate_limiter=limiter) as client:
            for transaction_id in ids:
                await client.query(transaction_id)
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "rate limiter store unavailable (ConnectionError)" in warnings[0].getMessage()
    for text in (record.getMessage() for record in caplog.records):
        assert payven_emulator.client_secret not in text
        assert "hunter2" not in text


class _CountingLimiter:
    """A RateLimiter that lets everything through and counts what asked."""

    def __init__(self) -> None:
        self.acquired = 0
        self.paused: list[float] = []
        self.released = 0

    async def acquire(self) -> None:
        self.acquired += 1

    async def pause(self, seconds: float) -> None:
        self.paused.append(seconds)

    async def release(self) -> None:
        self.released += 1


async def test_the_rate_limiter_is_asked_by_every_api_call_and_query_many(
    payven_emulator: PayvenEmulator,
) -> None:
    """Each API request (single calls and query_many's) waits for the limiter; token
    requests do not; closing the client releases it."""
    limiter = _CountingLimiter()
    ids = payven_emulator.seed_payments(5)
    async with payven_emulator.client(rate_limiter=limiter) as client:
        await client.query(ids[0])
        assert limiter.acquired == 1
        outcomes = [outcome async for outcome in client.query_many(ids, concurrency=2)]
    assert all(outcome.ok for outcome in outcomes)
    assert limiter.acquired == 6
    assert payven_emulator.calls["token"] == 1
    assert limiter.released == 1


def test_sync_clients_share_a_store_and_close_its_connections(
    redis_url: str, redis_prefix: str
) -> None:
    """payven_sync clients (each with its own loop) share one RedisTokenStore: one token."""
    from payven_async.testing import SyncPayvenEmulator

    store = RedisTokenStore(redis_url, prefix=redis_prefix)
    limiter = RedisRateLimiter(redis_url, rate=500, prefix=redis_prefix)
    with SyncPayvenEmulator() as emu:
        ids = emu.seed_payments(4)
        with (
            emu.client(token_store=store, rate_limiter=limiter) as first,
            emu.client(token_store=store, rate_limiter=limiter) as second,
        ):
            first.query(ids[0])
            second.query(ids[1])
            assert [outcome.ok for outcome in second.query_many(ids[2:])] == [True, True]
        assert emu.calls["token"] == 1


async def test_only_the_renewing_client_uses_the_shared_refresh_token(
    redis_url: str, redis_prefix: str
) -> None:
    """When the shared token is due, one client refreshes with the published refresh
    token and the other takes the result: one token call, one refresh, in all."""
    async with PayvenEmulator(token_ttl=4) as emu:  # renewed after 2 s (half its life)
        (transaction_id,) = emu.seed_payments(1)
        store = RedisTokenStore(redis_url, prefix=redis_prefix)
        async with emu.client(token_store=store) as first, emu.client(token_store=store) as second:
            await first.query(transaction_id)
            await second.query(transaction_id)
            before = (await first.token()).access_token
            emu.clock.advance(2.1)  # past the renewal point, before the expiry
            await first.query(transaction_id)
            await second.query(transaction_id)
            after = (await second.token()).access_token
    assert after != before
    assert (emu.calls["token"], emu.calls["refresh"]) == (1, 1)


async def test_a_callers_redis_client_is_used_as_it_is_and_left_open(
    payven_emulator: PayvenEmulator, redis_url: str, redis_prefix: str
) -> None:
    """client= (even one decoding answers to str) serves the store; the client stays open."""
    mine = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        store = RedisTokenStore(client=mine, prefix=redis_prefix)
        async with (
            payven_emulator.client(token_store=store) as first,
            payven_emulator.client(token_store=store) as second,
        ):
            await first.token()
            await second.token()
        assert await mine.ping()
    finally:
        await mine.aclose()
    assert payven_emulator.calls["token"] == 1


def test_a_store_takes_a_url_or_a_client_not_both() -> None:
    """RedisTokenStore and RedisRateLimiter refuse both or neither of url and client."""
    with pytest.raises(ValueError, match="exactly one"):
        RedisTokenStore()
    with pytest.raises(ValueError, match="exactly one"):
        RedisRateLimiter("redis://127.0.0.1:1/0", rate=1, client=object())  # refused unused


class _BrokenPublish(MemoryTokenStore):
    """A store that fails unexpectedly (not a StoreError) while publishing a token."""

    async def publish(self, key: str, sealed: bytes, fingerprint: str, ttl: float) -> None:
        raise RuntimeError("the store broke")


async def test_a_store_failing_mid_publish_leaves_no_token_in_any_frames_locals(
    payven_emulator: PayvenEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error tracker rendering every frame's locals finds neither token nor secret."""
    import traceback

    issued: list[str] = []
    issue = payven_emulator.tokens.issue

    def recording_issue() -> dict[str, Any]:
        pair = issue()
        issued.extend((pair["access_token"], pair["refresh_token"]))
        return pair

    monkeypatch.setattr(payven_emulator.tokens, "issue", recording_issue)
    async with payven_emulator.client(token_store=_BrokenPublish()) as client:
        with pytest.raises(RuntimeError) as caught:
            await client.token()
    stack = traceback.TracebackException.from_exception(caught.value, capture_locals=True).stack
    library = [frame for frame in stack if "payven_async" in frame.filename]
    assert "_publish" in [frame.name for frame in library]  # the frame that held the token
    rendered = "".join(repr(frame.locals) for frame in library)
    assert issued
    for token in issued:
        assert token not in rendered
    assert payven_emulator.client_secret not in rendered
