"""The batch throttle: a token bucket and one shared pause for every worker."""

from __future__ import annotations

import asyncio

import pytest

from payven_async._throttle import MAX_PAUSE, Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pause_is_shared_and_the_later_pause_wins() -> None:
    """Two pauses do not add up; the one ending later is kept, and it is capped."""
    clock = Clock()
    throttle = Throttle(clock=clock)
    throttle.pause_for(5)
    throttle.pause_for(2)
    assert throttle.paused_until == 105.0
    throttle.pause_for(10**6)
    assert throttle.paused_until == 100.0 + MAX_PAUSE


def test_rate_limit_headers_pause_until_reset() -> None:
    """X-RateLimit-Remaining 0 pauses until X-RateLimit-Reset (a Unix time)."""
    clock = Clock()
    throttle = Throttle(clock=clock, wall_clock=lambda: 1_800_000_000.0)
    throttle.observe({"X-RateLimit-Remaining": "3", "X-RateLimit-Reset": "1800000009"})
    assert throttle.paused_until == 0.0
    throttle.observe({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1800000009"})
    assert throttle.paused_until == 109.0


def test_small_reset_values_are_seconds_from_now() -> None:
    """A reset of 2 means two seconds from now, not the year 1970."""
    clock = Clock()
    throttle = Throttle(clock=clock)
    throttle.observe({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2"})
    assert throttle.paused_until == 102.0


async def test_acquire_waits_out_a_pause() -> None:
    """acquire() does not return while the batch is paused."""
    throttle = Throttle()
    throttle.pause_for(0.05)
    waiter = asyncio.create_task(throttle.acquire())
    await asyncio.sleep(0)
    assert not waiter.done()
    await asyncio.wait_for(waiter, timeout=5)


async def test_token_bucket_spaces_requests() -> None:
    """At 4 requests per second, requests beyond the burst wait for refills."""
    clock = Clock()
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    throttle = Throttle(4, clock=clock)
    monkey = pytest.MonkeyPatch()
    monkey.setattr(asyncio, "sleep", fake_sleep)
    try:
        for _ in range(8):
            await throttle.acquire()
    finally:
        monkey.undo()
    assert clock.now == pytest.approx(101.0)
    assert sum(slept) == pytest.approx(1.0)


def test_rate_limit_must_be_positive() -> None:
    """A zero or negative rate limit is refused."""
    with pytest.raises(ValueError, match="rate_limit"):
        Throttle(0)
