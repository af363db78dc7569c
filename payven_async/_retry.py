"""When to retry and how long to wait: small, pure policy, bounded by attempts and time.

Retried: connection errors, timeouts, 429 and 500/502/503/504. Never retried: any other
answer (a 4xx is the caller's to fix, a decline is final). Whether a *call* may be
retried at all (a pay only with an ``Idempotency-Key``) is the caller's decision; this
module only knows faults and clocks.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

import attrs

from .errors import APIError, PayvenError, RateLimitError, ServerError, TransportError

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "parse_retry_after"]

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - now()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def is_retryable(error: PayvenError) -> bool:
    """True for faults that a retry may cure."""
    if isinstance(error, TransportError):
        return True
    if isinstance(error, (RateLimitError, ServerError)):
        return isinstance(error, APIError) and error.status in RETRYABLE_STATUSES
    return False


@attrs.frozen
class RetryPolicy:
    """Exponential backoff with full jitter, ``Retry-After`` honoured up to a cap.

    ``max_retries`` counts retries after the first attempt; ``deadline`` bounds one
    logical call, all attempts and waits included. With ``jitter`` (token requests),
    a ``Retry-After`` wait gets a random extra of up to half of it (at least a second's
    spread): processes told the same ``Retry-After`` by the identity service then do
    not come back together and use up its per-minute allowance again at once.
    """

    max_retries: int = 2
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    deadline: float = 120.0
    random: Callable[[], float] = attrs.field(default=random.random, repr=False)

    def backoff(
        self, retry_number: int, retry_after: float | None = None, *, jitter: bool = False
    ) -> float:
        """How long to wait before retry number ``retry_number`` (1-based)."""
        if retry_after is not None:
            wait = min(retry_after, self.max_retry_after)
            if jitter:
                wait += max(1.0, wait / 2) * self.random()
            return wait
        ceiling = min(self.max_delay, self.base_delay * (2 ** (retry_number - 1)))
        return float(ceiling * self.random())

    def next_delay(
        self, error: PayvenError, retry_number: int, elapsed: float, *, jitter: bool = False
    ) -> float | None:
        """The wait before retry ``retry_number`` after ``error``, or None to give up.

        ``jitter`` spreads a ``Retry-After`` wait (for token requests).

        Gives up when the fault is not retryable, the retries are used up, or waiting
        would cross the deadline.
        """
        if retry_number > self.max_retries or not is_retryable(error):
            return None
        retry_after = error.retry_after if isinstance(error, APIError) else None
        delay = self.backoff(retry_number, retry_after, jitter=jitter)
        if elapsed + delay >= self.deadline:
            return None
        return delay
