"""An event loop in a thread of its own, serving something until told to stop.

:class:`~payven_async.testing.SyncPayvenEmulator` serves the emulator from one, and the
test suite serves its fake server and its blocking webhook receiver the same way:

>>> loop = ThreadLoop(lambda: PayvenEmulator(), name="payven-emulator")
>>> emulator = loop.start()         # entered in the thread's loop; start errors raise here
>>> loop.call(emulator.webhooks.drain, timeout=30)  # run a coroutine there, from here
>>> loop.stop()                     # exited there, thread joined; stop errors raise here

What is served is an async context manager: entering it starts serving, leaving it
stops. Its loop is created by the thread and closed when it ends.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Generic, TypeVar

__all__ = ["ThreadLoop"]

T = TypeVar("T")
R = TypeVar("R")


class ThreadLoop(Generic[T]):
    """Serves ``serving()`` (an async context manager) from a daemon thread's event loop.

    :param serving: makes the context manager to enter, once per :meth:`start`.
    :param name: the thread's name.
    :param what: how errors name what is served (``"the emulator"``); ``name`` if None.

    One :meth:`start` at a time; after :meth:`stop` it can be started again.
    """

    def __init__(
        self,
        serving: Callable[[], AbstractAsyncContextManager[T]],
        *,
        name: str,
        what: str | None = None,
    ) -> None:
        self._serving = serving
        self.name = name
        self._what = what or name
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_now: Callable[[], None] | None = None
        self._stop_requested = False
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<ThreadLoop {self.name!r} {state}>"

    @property
    def running(self) -> bool:
        """True from :meth:`start` until :meth:`stop`."""
        return self._thread is not None

    def start(self, timeout: float | None = None) -> T:
        """Start the thread and enter ``serving()`` in its loop; return what it entered as.

        :raises RuntimeError: already running, or not serving within ``timeout`` seconds
            (then :meth:`stop` still ends it).
        :raises BaseException: whatever entering raised (the thread is joined first).
        """
        if self._thread is not None:
            raise RuntimeError(f"{self._what} is already running")
        self._ready.clear()
        self._error = None
        self._stop_requested = False
        entered: list[T] = []
        thread = threading.Thread(target=self._run, args=(entered,), name=self.name, daemon=True)
        self._thread = thread
        thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"{self._what} did not start in time")
        if not entered:  # entering failed: the thread is ending with the error
            thread.join()
            self._thread = None
            raise self._take_error() or RuntimeError(f"{self._what} was stopped while starting")
        return entered[0]

    def stop(self) -> None:
        """Leave ``serving()`` in the loop and join the thread. Idempotent.

        Entering still under way (after a :meth:`start` that timed out) is cancelled.

        :raises BaseException: whatever leaving raised.
        """
        thread, self._thread = self._thread, None
        if thread is None:
            return
        with self._lock:
            self._stop_requested = True
            if self._loop is not None and self._stop_now is not None:
                self._loop.call_soon_threadsafe(self._stop_now)
        thread.join()
        error = self._take_error()
        if error is not None:
            raise error

    def call(self, function: Callable[[], Awaitable[R]], timeout: float | None = None) -> R:
        """Await ``function()`` in the loop and return (or raise) its result, from any thread.

        :raises RuntimeError: not running.
        :raises TimeoutError: not done within ``timeout`` seconds (it is then cancelled).
        """
        loop = self._loop
        if loop is None:
            raise RuntimeError(f"{self._what} is not running")

        async def run() -> R:
            return await function()

        future = asyncio.run_coroutine_threadsafe(run(), loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"{self._what}: the call did not finish in time") from None

    def call_soon(self, function: Callable[..., Any], *args: Any) -> None:
        """Schedule ``function(*args)`` in the loop, from any thread.

        :raises RuntimeError: not running.
        """
        loop = self._loop
        if loop is None:
            raise RuntimeError(f"{self._what} is not running")
        loop.call_soon_threadsafe(function, *args)

    # --- in the thread ------------------------------------------------------------------

    def _run(self, entered: list[T]) -> None:
        try:
            asyncio.run(self._main(entered))
        except asyncio.CancelledError as error:
            if not self._stop_requested:  # cancelled by stop(): no error of its own
                self._error = error
        except BaseException as error:  # noqa: BLE001 - raised again by start() or stop()
            self._error = error
        finally:
            self._ready.set()

    async def _main(self, entered: list[T]) -> None:
        main = asyncio.current_task()
        assert main is not None
        stop = asyncio.Event()

        def stop_now() -> None:  # in the loop: stop serving, or stop entering
            if entered:
                stop.set()
            else:
                main.cancel()

        with self._lock:
            self._loop, self._stop_now = asyncio.get_running_loop(), stop_now
            if self._stop_requested:
                stop_now()
        try:
            async with self._serving() as value:
                entered.append(value)
                self._ready.set()
                await stop.wait()
        finally:
            with self._lock:
                self._loop = self._stop_now = None

    def _take_error(self) -> BaseException | None:
        error, self._error = self._error, None
        return error
