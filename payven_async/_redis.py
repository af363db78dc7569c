"""The token store and the rate limiter on Redis, for a fleet (``pip install 'payven[redis]'``).

Built on redis-py's ``redis.asyncio``. Every operation that must be atomic across
processes is one Redis command or one Lua script (run atomically by Redis):

- the renewal lock is ``SET key handle NX PX lock_timeout``, released by a script
  that deletes it only if it still holds this handle, so a lock that lapsed and was
  taken by another is never released by the first;
- a refused token is removed by a script comparing its fingerprint first
  (compare-and-delete), so a 401 in one process never drops the newer token another
  just published;
- the rate limit is GCRA (the generic cell rate algorithm) in one script: each request
  reserves the next slot of a shared schedule and is told how long to wait for it. One
  round trip per request, no polling, no herd of waiters retrying at once, and the
  time is Redis's own (``TIME``), so the clocks of many hosts never disagree. A pause
  (after a 429) is a second key holding the time until which nobody starts.

The rate limit is a Lua script rather than the ``limits`` library: ``limits`` answers
"may I, now?" and would have every waiting request poll Redis, needs a second Redis
client library for its async storage, and has no shared pause; GCRA with a reservation
is twenty lines of Lua that answer "when?".

Connections: built from a URL, a store opens one ``redis.asyncio`` client per event
loop (a ``payven_sync`` client has a loop of its own) and a closing client lets go of
its loop's connections (:meth:`release`); a caller's own client is used as it is and
never closed. After ``os.fork()`` the child opens its own.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
import uuid
import weakref
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from . import _fork
from .stores import MemoryRateLimiter, StoreError

__all__ = ["RedisRateLimiter", "RedisTokenStore"]

logger = logging.getLogger("payven.stores")

_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_DISCARD = """
local value = redis.call('GET', KEYS[1])
if value and string.sub(value, 1, string.len(ARGV[1])) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS: schedule (theoretical arrival time, µs), pause-until (µs).
# ARGV: interval between requests (µs), burst tolerance (µs).
# Returns {1, wait µs} for a reserved slot, {0, wait µs} while a pause is on (no slot).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return {0, paused - now} end
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat),
           'PX', math.floor((next_tat - now) / 1000) + 1000)
local wait = tat - tonumber(ARGV[2]) - now
if wait < 0 then wait = 0 end
return {1, wait}
"""

# KEYS: pause-until (µs). ARGV: seconds of pause, in µs. A later pause wins.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > current then
  redis.call('SET', KEYS[1], string.format('%.0f', until_),
             'PX', math.ceil(tonumber(ARGV[1]) / 1000))
  return 1
end
return 0
"""

#: What redis-py raises when Redis cannot be reached or answers an error.
_FAILURES = (RedisError, OSError, asyncio.TimeoutError)

#: Seconds after a failure before the store is tried again.
RETRY_STORE_AFTER = 60.0


class _Connections:
    """One ``redis.asyncio`` client per event loop (or the caller's, as it is)."""

    def __init__(self, url: str | None, client: Any, socket_timeout: float) -> None:
        if (url is None) == (client is None):
            raise ValueError("pass a Redis URL or client=, exactly one of them")
        self._url = url
        self._client = client
        self._socket_timeout = socket_timeout
        self._per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        _fork.after_fork_in_child(self)

    def get(self) -> Any:
        if self._client is not None:
            return self._client
        loop = asyncio.get_running_loop()
        client = self._per_loop.get(loop)
        if client is None:
            assert self._url is not None
            # Short timeouts: a store that does not answer must not hold calls up.
            client = aioredis.Redis.from_url(
                self._url,
                socket_timeout=self._socket_timeout,
                socket_connect_timeout=self._socket_timeout,
            )
            self._per_loop[loop] = client
        return client

    async def release(self) -> None:
        if self._client is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        client = self._per_loop.pop(loop, None)
        if client is not None:
            await client.aclose()

    def _after_fork(self) -> None:
        _fork.abandon(*self._per_loop.values())
        self._per_loop = weakref.WeakKeyDictionary()


def _failed(exc: BaseException) -> StoreError:
    # The type only: redis' messages may carry host names, and a URL its password.
    return StoreError(f"Redis: {type(exc).__name__}")


class RedisTokenStore:
    """The token store of a fleet, on Redis: one token, one renewer, for every process.

    :param url: a Redis URL (``redis://host:6379/0``, ``rediss://`` for TLS); the store
        then manages its own connections.
    :param client: or a ``redis.asyncio.Redis`` of yours, used as it is (one event
        loop), never closed by the store.
    :param prefix: the start of every key the store writes.
    :param lock_timeout: seconds the renewal lock lasts: a renewer that dies frees it
        then, and another process renews.
    :param socket_timeout: seconds to wait for Redis before falling back to a token of
        this process's own.

    What is stored, under ``{prefix}:token:{name}`` (``name`` a keyed hash of the
    credentials): the access token, its refresh token, their expiry times, type and
    scope, sealed (encrypted and authenticated with keys derived from the client
    secret, which is never stored), for as long as the access token lives, no longer.
    The lock ``{prefix}:lock:{name}`` holds a random handle.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: aioredis.Redis | None = None,
        prefix: str = "payven",
        lock_timeout: float = 10.0,
        socket_timeout: float = 2.0,
    ) -> None:
        if not lock_timeout > 0:
            raise ValueError("lock_timeout must be a positive number of seconds")
        self._connections = _Connections(url, client, socket_timeout)
        self.prefix = prefix
        self.lock_timeout = float(lock_timeout)

    def __repr__(self) -> str:
        return f"<RedisTokenStore prefix={self.prefix!r} lock_timeout={self.lock_timeout}>"

    async def read(self, key: str) -> bytes | None:
        """The sealed token published under ``key``, or None."""
        try:
            value = await self._connections.get().get(f"{self.prefix}:token:{key}")
        except _FAILURES as exc:
            raise _failed(exc) from exc
        if value is None:
            return None
        if isinstance(value, str):  # a caller's client with decode_responses=True
            value = value.encode("ascii", "replace")
        _, _, sealed = bytes(value).partition(b":")
        try:
            return base64.b64decode(sealed, validate=True)
        except ValueError:
            return None

    async def publish(self, key: str, sealed: bytes, fingerprint: str, ttl: float) -> None:
        """Publish a sealed token for ``ttl`` seconds."""
        value = fingerprint.encode("ascii") + b":" + base64.b64encode(sealed)
        milliseconds = max(1, int(ttl * 1000))
        try:
            await self._connections.get().set(f"{self.prefix}:token:{key}", value, px=milliseconds)
        except _FAILURES as exc:
            raise _failed(exc) from exc

    async def discard(self, key: str, fingerprint: str) -> bool:
        """Remove the token under ``key`` if it is still the one ``fingerprint`` names."""
        try:
            removed = await self._connections.get().eval(
                _DISCARD, 1, f"{self.prefix}:token:{key}", fingerprint + ":"
            )
        except _FAILURES as exc:
            raise _failed(exc) from exc
        return bool(removed)

    async def lock(self, key: str) -> str | None:
        """Take the renewal lock for ``lock_timeout`` seconds, or None if it is held."""
        handle = uuid.uuid4().hex
        try:
            taken = await self._connections.get().set(
                f"{self.prefix}:lock:{key}",
                handle,
                nx=True,
                px=max(1, int(self.lock_timeout * 1000)),
            )
        except _FAILURES as exc:
            raise _failed(exc) from exc
        return handle if taken else None

    async def unlock(self, key: str, handle: str) -> None:
        """Release the lock if ``handle`` still holds it."""
        try:
            await self._connections.get().eval(_UNLOCK, 1, f"{self.prefix}:lock:{key}", handle)
        except _FAILURES as exc:
            raise _failed(exc) from exc

    async def release(self) -> None:
        """Close this event loop's connections (the store stays usable)."""
        with contextlib.suppress(*_FAILURES):  # closing a connection to a Redis that is gone
            await self._connections.release()


class RedisRateLimiter:
    """A request rate and a pause shared, through Redis, by every process holding one.

    :param url: a Redis URL, or ``client=`` a ``redis.asyncio.Redis`` of yours.
    :param rate: requests per second, for the whole fleet.
    :param burst: requests that may start at once after a quiet spell (default: a
        tenth of a second's worth, at least 1).
    :param name: names the limit, so that several can share one Redis.

    When Redis cannot be reached, each process limits itself to ``rate`` (one warning)
    and tries Redis again a minute later.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        rate: float,
        burst: int | None = None,
        client: aioredis.Redis | None = None,
        prefix: str = "payven",
        name: str = "default",
        socket_timeout: float = 2.0,
    ) -> None:
        if not (isinstance(rate, (int, float)) and rate > 0):
            raise ValueError("rate must be a positive number of requests per second")
        burst = max(1, int(rate / 10)) if burst is None else burst
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self._connections = _Connections(url, client, socket_timeout)
        self.rate = float(rate)
        self.burst = burst
        interval = 1_000_000 / self.rate
        self._args = (int(interval), int((burst - 1) * interval))
        self._keys = (f"{prefix}:rate:{name}", f"{prefix}:pause:{name}")
        self._fallback = MemoryRateLimiter(rate)
        self._down_until = 0.0
        self._warned = False

    def __repr__(self) -> str:
        return f"<RedisRateLimiter rate={self.rate} burst={self.burst} key={self._keys[0]!r}>"

    async def acquire(self) -> None:
        """Wait for this request's slot of the shared schedule (and any pause)."""
        while True:
            if time.monotonic() < self._down_until:
                await self._fallback.acquire()
                return
            try:
                reserved, wait = await self._connections.get().eval(
                    _RESERVE, 2, *self._keys, *self._args
                )
            except _FAILURES as exc:
                self._unavailable(exc)
                continue
            if wait > 0:
                await asyncio.sleep(int(wait) / 1_000_000)
            if reserved:
                return

    async def pause(self, seconds: float) -> None:
        """Hold every process's requests back for ``seconds`` from now."""
        self._fallback.pause_for(seconds)
        microseconds = int(min(max(seconds, 0.0), 300.0) * 1_000_000)
        if microseconds <= 0:
            return
        if time.monotonic() < self._down_until:
            return
        try:
            await self._connections.get().eval(_PAUSE, 1, self._keys[1], microseconds)
        except _FAILURES as exc:
            self._unavailable(exc)

    async def release(self) -> None:
        """Close this event loop's connections (the limiter stays usable)."""
        with contextlib.suppress(*_FAILURES):
            await self._connections.release()

    def _unavailable(self, exc: BaseException) -> None:
        self._down_until = time.monotonic() + RETRY_STORE_AFTER
        if self._warned:
            logger.debug("rate limiter store still unavailable (%s)", type(exc).__name__)
            return
        self._warned = True
        logger.warning(
            "rate limiter store unavailable (%s); this process limits itself alone "
            "and tries again in %.0f s",
            type(exc).__name__,
            RETRY_STORE_AFTER,
        )
