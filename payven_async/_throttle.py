"""Rate-limit politeness shared by every worker of one batch.

- An optional client-side limit in requests per second (a token bucket).
- One shared pause: when the server says "slow down" (a 429 with ``Retry-After``, or
  ``X-RateLimit-Remaining: 0`` with ``X-RateLimit-Reset``), *every* worker waits until
  the same moment, instead of each worker hitting the server to learn it on its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

__all__ = ["Throttle", "server_pause"]

# Never pause a batch for longer than this on the strength of one header.
MAX_PAUSE = 300.0


class Throttle:
    """Decides when the next request of a batch may start."""

    def __init__(
        self,
        rate_limit: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if rate_limit is not None and not rate_limit > 0:
            raise ValueError(
                f"rate_limit must be a positive number of requests per second, got {rate_limit!r}"
            )
        self._interval = 1.0 / rate_limit if rate_limit else 0.0
        # A bucket of one second's worth of requests (at least one) allows small bursts.
        self._capacity = max(1.0, rate_limit or 1.0)
        self._tokens = self._capacity
        self._refilled_at = clock()
        self._paused_until = 0.0
        self._clock = clock
        self._wall_clock = wall_clock
        #: How many times the whole batch was paused by the server (for tests and stats).
        self.pauses = 0

    @property
    def paused_until(self) -> float:
        """The monotonic time before which no request starts."""
        return self._paused_until

    def must_wait(self) -> bool:
        """Whether :meth:`acquire` has anything to do: False when there is no rate limit
        and no pause on, so that a request may start without awaiting it."""
        return bool(self._interval) or (
            self._paused_until > 0.0 and self._clock() < self._paused_until
        )

    async def acquire(self) -> None:
        """Wait until both the shared pause and the rate limit allow one more request."""
        while True:
            now = self._clock()
            if now < self._paused_until:
                await asyncio.sleep(self._paused_until - now)
                continue
            if not self._interval:
                return
            self._tokens = min(
                self._capacity, self._tokens + (now - self._refilled_at) / self._interval
            )
            self._refilled_at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            await asyncio.sleep((1 - self._tokens) * self._interval)

    def pause_for(self, seconds: float) -> None:
        """Hold every worker back for ``seconds`` from now (a later pause wins)."""
        until = self._clock() + min(max(seconds, 0.0), MAX_PAUSE)
        if until > self._paused_until:
            self._paused_until = until
            self.pauses += 1

    def observe(self, headers: Mapping[str, str]) -> None:
        """Honour ``X-RateLimit-Remaining: 0`` until ``X-RateLimit-Reset`` (Unix seconds)."""
        wait = server_pause(headers, self._wall_clock)
        if wait > 0:
            self.pause_for(wait)


def server_pause(headers: Mapping[str, str], wall_clock: Callable[[], float] = time.time) -> float:
    """Seconds to pause for when an answer says ``X-RateLimit-Remaining: 0`` (until its
    ``X-RateLimit-Reset``, Unix seconds), else 0."""
    remaining = headers.get("X-RateLimit-Remaining")
    if remaining is None or remaining.strip() not in ("0", "0.0"):
        return 0.0
    reset = headers.get("X-RateLimit-Reset")
    try:
        value = float(reset) if reset is not None else 1.0
    except ValueError:
        value = 1.0
    # The docs say a Unix timestamp; a small number can only be seconds from now.
    wait = value - wall_clock() if value > 1_000_000_000 else value
    return max(wait, 0.0)
