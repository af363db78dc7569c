"""``Idempotency-Key`` handling: replay the first answer, refuse a different body.

The same key with the same request (method, path and body) replays the stored
answer with ``Idempotent-Replayed: true``; the same key with a different request is
``409 idempotency_key_in_use``. Keys are scoped per route (the docs' "tenant +
endpoint") and kept for 24 hours of emulator time. A request still in flight holds
its key: a concurrent duplicate waits for it and then replays its answer.

Only answers the route produced after the body was accepted are stored: a body that
fails validation leaves the key free, so the caller can fix it and retry.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable

import attrs

from ._clock import Clock

__all__ = ["DEFAULT_TTL", "IdempotencyConflict", "IdempotencyStore", "StoredAnswer"]

DEFAULT_TTL = 24 * 3600.0


@attrs.frozen
class StoredAnswer:
    """An answer as it went out the first time."""

    status: int
    content_type: str
    body: bytes


class IdempotencyConflict(Exception):
    """The key was used before with a different request."""


@attrs.define
class _Entry:
    fingerprint: str
    expires_at: float
    lock: asyncio.Lock = attrs.field(factory=asyncio.Lock)
    answer: StoredAnswer | None = None


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same" for idempotency."""
    digest = hashlib.sha256()
    digest.update(method.encode())
    digest.update(b"\0")
    digest.update(path.encode())
    digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()


class IdempotencyStore:
    """Answers by (route, key)."""

    def __init__(self, clock: Clock, ttl: float = DEFAULT_TTL) -> None:
        self._clock = clock
        self.ttl = ttl
        self._entries: dict[tuple[str, str], _Entry] = {}
        #: How many answers were replayed.
        self.replays = 0

    def __repr__(self) -> str:
        return f"<IdempotencyStore keys={len(self._entries)} replays={self.replays}>"

    def __len__(self) -> int:
        return len(self._entries)

    async def run(
        self,
        route: str,
        key: str,
        request_fingerprint: str,
        produce: Callable[[], Awaitable[StoredAnswer]],
    ) -> tuple[StoredAnswer, bool]:
        """The answer for this key: replayed (``True``) or produced now (``False``)."""
        now = self._clock.now()
        entry = self._entries.get((route, key))
        if entry is not None and entry.expires_at <= now and not entry.lock.locked():
            entry = None
        if entry is None:
            entry = _Entry(request_fingerprint, now + self.ttl)
            self._entries[(route, key)] = entry
        if entry.fingerprint != request_fingerprint:
            raise IdempotencyConflict(key)
        async with entry.lock:
            if entry.answer is not None:
                self.replays += 1
                return entry.answer, True
            try:
                answer = await produce()
            except BaseException:
                # No answer to keep (a bug, or the request was cancelled): free the key.
                if self._entries.get((route, key)) is entry:
                    del self._entries[(route, key)]
                raise
            entry.answer = answer
            return answer, False

    def clear(self) -> None:
        """Forget every key."""
        self._entries.clear()
