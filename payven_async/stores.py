"""Sharing one token and one rate limit between clients, processes and hosts.

A client keeps its access token in memory and limits nothing by default, which is
right for one process. A fleet (gunicorn or Celery workers, several hosts running one
reconciliation) shares instead:

- a **token store** (``PayvenClient(token_store=...)``): the clients read the current
  token from it, exactly one of them renews it (under the store's lock, which lapses
  by itself if its holder dies), and the others wait for the token it publishes
  instead of calling the identity service, which allows about 10 token calls a minute
  per IP. A 401 removes the shared token only if it is still the one that was refused.
- a **rate limiter** (``PayvenClient(rate_limiter=...)``): every call, ``query_many``'s
  too, waits for its turn; a 429 or ``X-RateLimit-Remaining: 0`` seen by one client
  pauses every client sharing the limiter until the time the server named.

In-process: :class:`MemoryTokenStore` and :class:`MemoryRateLimiter` (share one among
the clients of one process). Fleet-wide, on Redis (``pip install 'payven[redis]'``):
:class:`~payven_async._redis.RedisTokenStore` and
:class:`~payven_async._redis.RedisRateLimiter`, loaded on first use.

A store or limiter that cannot be reached never fails a payment: the client logs one
warning (without secrets) and goes on with a token of its own, or a limit of its own,
trying the store again a minute later.

Both protocols are small, so another backend is a class with these methods; values
handed to a token store are already sealed (see :mod:`payven_async._sealing`), so a
store never sees a token in clear.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from . import _fork
from ._throttle import Throttle

if TYPE_CHECKING:
    from ._redis import RedisRateLimiter, RedisTokenStore

__all__ = [
    "MemoryRateLimiter",
    "MemoryTokenStore",
    "RateLimiter",
    "RedisRateLimiter",
    "RedisTokenStore",
    "StoreError",
    "TokenStore",
]


class StoreError(Exception):
    """A token store or rate limiter could not be reached or answered nonsense.

    Raised by stores to the client, which then falls back to per-process tokens and
    limits; it never reaches the caller of a payment.
    """


@runtime_checkable
class TokenStore(Protocol):
    """Where the clients of a fleet find the current token, and who may renew it.

    ``key`` names one set of credentials (a keyed hash of them); values are sealed
    bytes; ``fingerprint`` is a keyed hash of the access token inside. Methods raise
    :class:`StoreError` when the store cannot be reached.
    """

    #: Seconds a renewal lock lasts unless released: a holder that died frees it then.
    lock_timeout: float

    async def read(self, key: str) -> bytes | None:
        """The sealed token published under ``key``, or None."""

    async def publish(self, key: str, sealed: bytes, fingerprint: str, ttl: float) -> None:
        """Publish a sealed token for ``ttl`` seconds (never longer than it lives)."""

    async def discard(self, key: str, fingerprint: str) -> bool:
        """Remove the token under ``key`` only if it is still the one ``fingerprint``
        names (compare-and-delete); True if removed."""

    async def lock(self, key: str) -> str | None:
        """Take the renewal lock for ``lock_timeout`` seconds: a handle, or None if
        another holds it."""

    async def unlock(self, key: str, handle: str) -> None:
        """Release the lock if ``handle`` still holds it."""

    async def release(self) -> None:
        """Let go of the connections this event loop holds (a closing client calls it);
        the store stays usable."""


@runtime_checkable
class RateLimiter(Protocol):
    """One request rate, and one pause, shared by every client that holds it."""

    async def acquire(self) -> None:
        """Wait until one more request may start: the rate allows it and no pause is on."""

    async def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` from now (a later pause wins)."""

    async def release(self) -> None:
        """Let go of the connections this event loop holds (a closing client calls it)."""


class MemoryTokenStore:
    """A token store in this process's memory: the clients holding it share one token.

    Useful for several clients in one process (threads with ``payven_sync`` clients
    each, or async clients for different tasks); every process has its own.
    """

    def __init__(
        self, *, lock_timeout: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not lock_timeout > 0:
            raise ValueError("lock_timeout must be a positive number of seconds")
        self.lock_timeout = float(lock_timeout)
        self._clock = clock
        # A threading lock: sync clients call from the loops of different threads.
        self._mutex = threading.Lock()
        self._values: dict[str, tuple[bytes, str, float]] = {}
        self._locks: dict[str, tuple[str, float]] = {}
        _fork.after_fork_in_child(self)

    def _after_fork(self) -> None:
        # Another thread may have held the mutex at the fork; the child's is new. Its
        # renewal locks belong to the parent's tasks, which do not run here.
        self._mutex = threading.Lock()
        self._locks.clear()

    def __repr__(self) -> str:
        return f"<MemoryTokenStore tokens={len(self._values)}>"

    async def read(self, key: str) -> bytes | None:
        """The sealed token published under ``key``, or None."""
        with self._mutex:
            entry = self._values.get(key)
            if entry is None or entry[2] <= self._clock():
                return None
            return entry[0]

    async def publish(self, key: str, sealed: bytes, fingerprint: str, ttl: float) -> None:
        """Publish a sealed token for ``ttl`` seconds."""
        with self._mutex:
            self._values[key] = (sealed, fingerprint, self._clock() + ttl)

    async def discard(self, key: str, fingerprint: str) -> bool:
        """Remove the token under ``key`` if it is still the one ``fingerprint`` names."""
        with self._mutex:
            entry = self._values.get(key)
            if entry is not None and entry[1] == fingerprint:
                del self._values[key]
                return True
            return False

    async def lock(self, key: str) -> str | None:
        """Take the renewal lock for ``lock_timeout`` seconds, or None if it is held."""
        with self._mutex:
            now = self._clock()
            held = self._locks.get(key)
            if held is not None and held[1] > now:
                return None
            handle = uuid.uuid4().hex
            self._locks[key] = (handle, now + self.lock_timeout)
            return handle

    async def unlock(self, key: str, handle: str) -> None:
        """Release the lock if ``handle`` still holds it."""
        with self._mutex:
            held = self._locks.get(key)
            if held is not None and held[0] == handle:
                del self._locks[key]

    async def release(self) -> None:
        """Nothing to let go of."""


class MemoryRateLimiter(Throttle):
    """A rate limit (requests per second) and a pause shared by this process's clients.

    ``rate=None`` limits nothing but still shares the pauses the server asks for.
    """

    def __init__(self, rate: float | None = None) -> None:
        super().__init__(rate)

    def __repr__(self) -> str:
        rate = 1.0 / self._interval if self._interval else None
        return f"<MemoryRateLimiter rate={rate}>"

    async def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` from now (a later pause wins)."""
        self.pause_for(seconds)

    async def release(self) -> None:
        """Nothing to let go of."""


def __getattr__(name: str) -> Any:
    # The Redis classes import redis-py, an optional extra: only when asked for.
    if name in ("RedisTokenStore", "RedisRateLimiter"):
        from . import _redis

        value = getattr(_redis, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
