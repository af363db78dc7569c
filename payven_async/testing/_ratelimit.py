"""Per-second rate limiting with the API's ``X-RateLimit-*`` headers.

A fixed one-second window on the emulator's clock: ``X-RateLimit-Limit`` is the
number of requests allowed per second, ``X-RateLimit-Remaining`` what is left in
this second, ``X-RateLimit-Reset`` the Unix time the window resets. Past the limit
the answer is ``429 rate_limit_exceeded`` with ``Retry-After`` (seconds).
"""

from __future__ import annotations

import math

import attrs

from ._clock import Clock

__all__ = ["RateDecision", "RateLimiter"]


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
