"""The retry policy: what is retried, how long it waits, and when it gives up."""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import format_datetime

import pytest

from payven_async._retry import RetryPolicy, is_retryable, parse_retry_after
from payven_async.errors import (
    AuthenticationError,
    DecodeError,
    InvalidRequestError,
    PaymentDeclinedError,
    PayvenConnectionError,
    PayvenError,
    PayvenTimeoutError,
    RateLimitError,
    ServerError,
)


def server(status: int, retry_after: float | None = None) -> ServerError:
    return ServerError(str(status), status=status, retry_after=retry_after)


@pytest.mark.parametrize(
    "error",
    [
        PayvenConnectionError("reset"),
        PayvenTimeoutError("slow"),
        RateLimitError("429", status=429),
        server(500),
        server(502),
        server(503),
        server(504),
    ],
)
def test_transient_faults_are_retryable(error: PayvenError) -> None:
    """Connection errors, timeouts, 429 and 500/502/503/504 may be retried."""
    assert is_retryable(error)


@pytest.mark.parametrize(
    "error",
    [
        server(501),
        InvalidRequestError("400", status=400),
        AuthenticationError("401", status=401),
        PaymentDeclinedError("declined", status=422),
        DecodeError("garbage"),
    ],
)
def test_final_answers_are_not_retried(error: PayvenError) -> None:
    """Client errors, declines, 501 and undecodable answers are never retried."""
    assert not is_retryable(error)


def test_backoff_is_exponential_with_full_jitter() -> None:
    """The ceiling doubles per retry up to max_delay; jitter scales it from 0 to 1."""
    top = RetryPolicy(base_delay=0.5, max_delay=4.0, random=lambda: 1.0)
    assert [top.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    bottom = RetryPolicy(base_delay=0.5, random=lambda: 0.0)
    assert bottom.backoff(3) == 0.0


def test_retry_after_wins_over_backoff_up_to_a_cap() -> None:
    """The server's Retry-After is used as it is, but never beyond max_retry_after."""
    policy = RetryPolicy(max_retry_after=30.0, random=lambda: 1.0)
    assert policy.next_delay(server(503, retry_after=7.0), 1, 0.0) == 7.0
    assert policy.next_delay(server(503, retry_after=3600.0), 1, 0.0) == 30.0


def test_attempts_are_bounded() -> None:
    """After max_retries retries the policy gives up."""
    policy = RetryPolicy(max_retries=2, random=lambda: 0.5)
    error = PayvenConnectionError("reset")
    assert policy.next_delay(error, 1, 0.0) is not None
    assert policy.next_delay(error, 2, 0.0) is not None
    assert policy.next_delay(error, 3, 0.0) is None


def test_the_overall_deadline_is_respected() -> None:
    """A wait that would cross the deadline is not taken."""
    policy = RetryPolicy(max_retries=10, deadline=10.0)
    assert policy.next_delay(server(503, retry_after=4.0), 1, 5.0) == 4.0
    assert policy.next_delay(server(503, retry_after=4.0), 1, 6.5) is None


def test_retry_after_parses_seconds_and_http_dates() -> None:
    """Retry-After is read as delta-seconds or as an HTTP date."""
    now = datetime(2026, 11, 22, 12, 0, 0, tzinfo=timezone.utc).timestamp()
    later = format_datetime(datetime(2026, 11, 22, 12, 0, 30, tzinfo=timezone.utc), usegmt=True)
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after(later, now=lambda: now) == 30.0
    assert parse_retry_after("Sun, 22 Nov 2026 11:00:00 GMT", now=lambda: now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("-3") == 0.0


def test_identity_retry_after_waits_get_jitter() -> None:
    """With jitter (token calls) a Retry-After wait gets up to half again on top, at
    least a second's spread; without it the wait is exactly Retry-After."""
    top = RetryPolicy(random=lambda: 1.0)
    bottom = RetryPolicy(random=lambda: 0.0)
    limited = RateLimitError("429", status=429, retry_after=10.0)
    assert top.next_delay(limited, 1, 0.0) == 10.0
    assert top.next_delay(limited, 1, 0.0, jitter=True) == 15.0
    assert bottom.next_delay(limited, 1, 0.0, jitter=True) == 10.0
    short = RateLimitError("429", status=429, retry_after=1.0)
    assert top.next_delay(short, 1, 0.0, jitter=True) == 2.0
