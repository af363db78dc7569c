"""FakePayven served from its own thread and event loop, for the blocking client's tests.

The ``fake_payven`` fixture runs in the test's event loop, which a sync test does not
have (and a blocking call would stall). :class:`ThreadedFakePayven` runs the same app
in a background thread with a loop of its own (a
:class:`~payven_async.testing._thread_loop.ThreadLoop`); :class:`Gate` lets a test hold chosen
requests inside the server until it opens the gate.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any, TypeVar

import pytest

from payven_async.testing._thread_loop import ThreadLoop

from .fake_server import FakePayven, serving

#: A safety valve, never a measurement: how long a helper waits before giving up.
PATIENCE = 30.0

T = TypeVar("T")


def wait_until(predicate: Callable[[], bool], what: str) -> None:
    """Poll ``predicate`` until it holds; fail the test (instead of hanging) if it never does."""
    deadline = time.monotonic() + PATIENCE
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.001)


def without_hanging(function: Callable[[], T]) -> T:
    """Run ``function`` in a helper thread and return (or raise) what it does.

    A guard for code that would deadlock if broken: the test fails after
    :data:`PATIENCE` seconds instead of hanging the suite.
    """
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(function())
        except BaseException as exc:
            failure.append(exc)

    helper = threading.Thread(target=run, name="without-hanging", daemon=True)
    helper.start()
    helper.join(PATIENCE)
    if helper.is_alive():
        pytest.fail("the call hung (deadlocked?)")
    if failure:
        raise failure[0]
    return outcome[0]


class ThreadedFakePayven:
    """``with ThreadedFakePayven() as server:`` serves a FakePayven on 127.0.0.1."""

    def __init__(self, fake: FakePayven | None = None) -> None:
        self.fake = fake if fake is not None else FakePayven()
        self._thread = ThreadLoop(self._serving, name="fake-payven")

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self.fake.url

    def __enter__(self) -> ThreadedFakePayven:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._thread.stop()

    def call_soon(self, function: Callable[..., Any], *args: Any) -> None:
        """Run ``function(*args)`` in the server's loop (thread-safe)."""
        self._thread.call_soon(function, *args)

    @contextlib.asynccontextmanager
    async def _serving(self) -> AsyncIterator[None]:
        async with serving(self.fake.app()) as url:
            self.fake.url = url
            yield


class Gate:
    """Holds requests in the server until the test opens it.

    ``held`` counts the requests waiting right now. If the test never opens the gate it
    opens by itself after :data:`PATIENCE` seconds and records it in ``gave_way``, so a
    broken client fails a test instead of hanging it.
    """

    def __init__(self, server: ThreadedFakePayven) -> None:
        self._server = server
        self._event = asyncio.Event()
        self.held = 0
        self.entered = 0
        self.gave_way = False

    async def wait(self) -> None:
        """Wait (in the server's loop) until the gate is open."""
        self.held += 1
        self.entered += 1
        try:
            await asyncio.wait_for(self._event.wait(), PATIENCE)
        except asyncio.TimeoutError:
            self.gave_way = True
            self._event.set()
        finally:
            self.held -= 1

    def open(self) -> None:
        """Let every held request (and every later one) through."""
        self._server.call_soon(self._event.set)
