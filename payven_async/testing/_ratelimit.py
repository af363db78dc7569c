"""Per-second rate limiting with the API's ``X-RateLimit-*`` headers, and the token
route's per-minute limit.

A fixed one-second window on the emulator's clock: ``X-RateLimit-Limit`` is the
number of requests allowed per second, ``X-RateLimit-Remaining`` what is left in
this second, ``X-RateLimit-Reset`` the Unix time the window resets. Past the limit
the answer is ``429 rate_limit_exceeded`` with ``Retry-After`` (seconds).

The token route has a limit of its own (:class:`MinuteLimit`): the documented 10 calls
a minute per IP, over a sliding minute, answered the same way when exceeded.
"""

from __future__ import annotations

import collections
import math

import attrs

from ._clock import Clock

__all__ = ["MinuteLimit", "RateDecision", "RateLimiter"]


@attrs.frozen
class RateDecision:
    """Whether one request may pass, and the headers that say so."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        """The ``X-RateLimit-*`` headers (and ``Retry-After`` when refused)."""
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class RateLimiter:
    """Counts requests per second; ``limit=None`` turns limiting (and the headers) off."""

    def __init__(self, clock: Clock, limit: int | None) -> None:
        self._clock = clock
        self.limit = limit
        self._window = -1
        self._count = 0
        #: How many requests were refused.
        self.refused = 0

    def __repr__(self) -> str:
        return f"<RateLimiter limit={self.limit} refused={self.refused}>"

    def hit(self) -> RateDecision | None:
        """Count one request; None when limiting is off."""
        limit = self.limit
        if limit is None:
            return None
        now = self._clock.now()
        window = math.floor(now)
        if window != self._window:
            self._window = window
            self._count = 0
        self._count += 1
        reset = window + 1
        allowed = self._count <= limit
        if not allowed:
            self.refused += 1
        return RateDecision(
            allowed=allowed,
            limit=limit,
            remaining=max(0, limit - self._count),
            reset=reset,
            retry_after=max(1, math.ceil(reset - now)),
        )


class MinuteLimit:
    """A sliding one-minute window of calls to one route (the identity service's token
    route allows about 10 a minute per IP); ``limit=None`` turns it off.

    On the emulator's clock, so a test can move a minute forward instead of waiting.
    """

    def __init__(self, clock: Clock, limit: int | None) -> None:
        self._clock = clock
        self.limit = limit
        self._calls: collections.deque[float] = collections.deque()
        #: How many calls were refused.
        self.refused = 0

    def __repr__(self) -> str:
        return f"<MinuteLimit limit={self.limit} refused={self.refused}>"

    def hit(self) -> RateDecision | None:
        """Count one call; None when it may pass (or limiting is off), else the refusal."""
        limit = self.limit
        if limit is None:
            return None
        now = self._clock.now()
        calls = self._calls
        while calls and calls[0] <= now - 60.0:
            calls.popleft()
        if len(calls) < limit:
            calls.append(now)
            return None
        # Refused calls do not count: a client that waits as told gets through.
        self.refused += 1
        reset = calls[0] + 60.0
        return RateDecision(
            allowed=False,
            limit=limit,
            remaining=0,
            reset=math.ceil(reset),
            retry_after=max(1, math.ceil(reset - now)),
        )
