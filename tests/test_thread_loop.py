"""ThreadLoop: an async context manager served from a thread's own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator

import pytest

from payven_async.testing._thread_loop import ThreadLoop


class Served:
    """Records, from inside the served context, which thread entered and left it."""

    def __init__(self, *, fail_entering: bool = False, fail_leaving: bool = False) -> None:
        self.fail_entering = fail_entering
        self.fail_leaving = fail_leaving
        self.entered_in: str | None = None
        self.left = threading.Event()
        self.hold: asyncio.Event | None = None

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[Served]:
        """Enter (or fail to), then leave (or fail to)."""
        self.entered_in = threading.current_thread().name
        if self.hold is not None:
            await self.hold.wait()
        if self.fail_entering:
            raise OSError("address in use")
        try:
            yield self
        finally:
            self.left.set()
            if self.fail_leaving:
                raise ValueError("could not close")


def threads_named(name: str) -> list[threading.Thread]:
    """The live threads called ``name``."""
    return [thread for thread in threading.enumerate() if thread.name == name]


def test_start_enters_in_a_named_daemon_thread_and_stop_joins_it() -> None:
    """start() returns what the context entered as, served from a daemon thread; stop() joins."""
    served = Served()
    loop = ThreadLoop(served.serving, name="tl-basic")
    assert loop.start(timeout=30) is served
    assert served.entered_in == "tl-basic"
    (thread,) = threads_named("tl-basic")
    assert thread.daemon
    assert loop.running
    loop.stop()
    assert served.left.is_set()
    assert not loop.running
    assert not threads_named("tl-basic")


def test_an_error_entering_is_raised_by_start_with_the_thread_joined() -> None:
    """What entering raised comes out of start(); no thread is left and it can start again."""
    served = Served(fail_entering=True)
    loop = ThreadLoop(served.serving, name="tl-enter-error")
    with pytest.raises(OSError, match="address in use"):
        loop.start(timeout=30)
    assert not loop.running
    assert not threads_named("tl-enter-error")
    served.fail_entering = False
    assert loop.start(timeout=30) is served
    loop.stop()


def test_an_error_leaving_is_raised_by_stop() -> None:
    """What leaving raised comes out of stop(), after the thread is joined."""
    loop = ThreadLoop(Served(fail_leaving=True).serving, name="tl-leave-error")
    loop.start(timeout=30)
    with pytest.raises(ValueError, match="could not close"):
        loop.stop()
    assert not threads_named("tl-leave-error")


def test_start_twice_is_refused_and_stop_is_idempotent() -> None:
    """A second start() while running is a RuntimeError; stop() twice is fine."""
    loop = ThreadLoop(Served().serving, name="tl-twice", what="the thing")
    loop.stop()  # never started: nothing to do
    loop.start(timeout=30)
    with pytest.raises(RuntimeError, match="the thing is already running"):
        loop.start(timeout=30)
    loop.stop()
    loop.stop()


def test_a_start_that_times_out_is_still_ended_by_stop() -> None:
    """start(timeout) raises RuntimeError when not serving in time; stop() then ends the thread."""
    served = Served()
    served.hold = asyncio.Event()  # never set: entering waits until the loop stops
    loop = ThreadLoop(served.serving, name="tl-slow")
    with pytest.raises(RuntimeError, match="did not start in time"):
        loop.start(timeout=0.05)
    assert loop.running
    loop.stop()  # cancels the entering still under way
    assert served.entered_in == "tl-slow"
    assert not served.left.is_set()
    assert not threads_named("tl-slow")


def test_call_awaits_in_the_loop_and_returns_or_raises() -> None:
    """call() runs the coroutine in the loop's thread and hands back its result or error."""
    loop = ThreadLoop(Served().serving, name="tl-call")
    loop.start(timeout=30)
    try:

        async def where() -> str:
            return threading.current_thread().name

        async def fail() -> None:
            raise KeyError("boom")

        assert loop.call(where, timeout=30) == "tl-call"
        with pytest.raises(KeyError, match="boom"):
            loop.call(fail, timeout=30)
    finally:
        loop.stop()


def test_a_call_that_times_out_is_cancelled() -> None:
    """call(timeout) raises TimeoutError and cancels the coroutine in the loop."""
    cancelled = threading.Event()
    loop = ThreadLoop(Served().serving, name="tl-timeout")
    loop.start(timeout=30)
    try:

        async def forever() -> None:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise

        with pytest.raises(TimeoutError):
            loop.call(forever, timeout=0.05)
        assert cancelled.wait(30)
    finally:
        loop.stop()


def test_call_soon_runs_in_the_loop_thread() -> None:
    """call_soon() schedules a plain function in the loop, from another thread."""
    ran_in: list[str] = []
    done = threading.Event()
    loop = ThreadLoop(Served().serving, name="tl-soon")
    loop.start(timeout=30)
    try:
        loop.call_soon(lambda: (ran_in.append(threading.current_thread().name), done.set()))
        assert done.wait(30)
        assert ran_in == ["tl-soon"]
    finally:
        loop.stop()


def test_calls_into_a_stopped_loop_are_refused() -> None:
    """call() and call_soon() on a loop that is not running raise RuntimeError."""

    async def nothing() -> None:
        """Never awaited."""

    loop = ThreadLoop(Served().serving, name="tl-stopped", what="the thing")
    with pytest.raises(RuntimeError, match="the thing is not running"):
        loop.call(nothing)
    with pytest.raises(RuntimeError, match="the thing is not running"):
        loop.call_soon(print)
