"""One event-loop thread per sync client: starting it, calling into it, closing it.

Modelled on starlette's TestClient: ``anyio.from_thread.start_blocking_portal`` is
entered on first use and kept open on an ``ExitStack`` until :meth:`Portal.close`. So
one loop serves every call a client makes, from any number of threads, and the aiohttp
session (created by the async client on its first request, inside that loop) lives in
that loop for the client's whole life. Constructing a :class:`Portal` starts nothing.

The portal owns the thread and the loop; single calls hop into the loop with
``asyncio.run_coroutine_threadsafe``, which costs one wake-up each way, where
``BlockingPortal.call`` costs two (it first waits for the task to be spawned, then for
its result); on a loopback request that difference is a measurable share of the cost
of a call (see ``benchmarks/sync_vs_requests.py``). Because those tasks do not belong
to the portal's task group, the portal counts them itself and drains them on close.

After ``os.fork()`` the child has none of the parent's threads: the portal forgets the
parent's loop (without touching it) and starts its own on the child's first call, and
the async client drops its session the same way (see ``payven_async._fork``).

Closing, in order: refuse new calls; stop every ``query_many`` stream still open (its
consumer gets :class:`ClientClosedError`); wait for the calls in flight to finish; close
the async client inside the loop; stop the portal and join its thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Generator
from typing import Any, Generic, ParamSpec, TypeVar

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from payven_async import ClientClosedError, RunningEventLoopError, _fork

__all__ = ["Portal", "refuse_in_event_loop"]

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R")

#: Items a ``query_many`` stream holds between the loop and the consuming thread.
STREAM_BUFFER = 64
#: Most items handed to the consuming thread per hop (all that are ready, up to this).
STREAM_BATCH = 256


_LOOP_MESSAGE = (
    "payven_sync.PayvenClient was called from a thread that runs an event loop; a "
    "blocking call there would stall the loop. In async code use "
    "payven_async.PayvenClient and await its methods (or move the blocking call to a "
    "worker thread, e.g. with asyncio.to_thread)."
)
_CLOSED_MESSAGE = "this payven_sync.PayvenClient is closed; create a new client"


def refuse_in_event_loop() -> None:
    """Raise :class:`RunningEventLoopError` when this thread runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RunningEventLoopError(_LOOP_MESSAGE)


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _name_thread_and_get_loop() -> asyncio.AbstractEventLoop:
    # Runs in the portal's thread: a recognisable name helps in thread dumps.
    threading.current_thread().name = "payven-sync-portal"
    return asyncio.get_running_loop()


class Portal:
    """The event-loop thread of one sync client: started on first use, stopped by close().

    ``shutdown`` (the async client's ``aclose``) runs inside the loop when closing,
    before the loop stops. Safe to use from many threads at once.
    """

    def __init__(self, shutdown: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._shutdown = shutdown
        # One lock guards the lazy start, the closed flag, the count of calls in flight
        # and the registry of open streams, so close() never misses one of them.
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._active = 0
        self._closed = False
        self._stopped = threading.Event()
        self._stack: contextlib.ExitStack | None = None
        self._portal: BlockingPortal | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._streams: weakref.WeakSet[_Stream[Any]] = weakref.WeakSet()
        _fork.after_fork_in_child(self)

    def _after_fork(self) -> None:
        """In a forked child: forget the parent's loop thread, which does not exist here.

        Its objects are kept, untouched (closing would wait for a loop that never runs);
        the locks are new, since another thread may have held them at the fork.
        """
        if self._loop is None:
            return
        _fork.abandon(self._stack, self._portal, self._loop)
        self._stack = self._portal = self._loop = None
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._active = 0
        self._streams = weakref.WeakSet()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has begun."""
        return self._closed

    # --- calls ----------------------------------------------------------------------

    def _enter(self) -> asyncio.AbstractEventLoop:
        """Count one call in flight, starting the portal if needed; the loop to run it on."""
        refuse_in_event_loop()
        with self._lock:
            if self._closed:
                raise ClientClosedError(_CLOSED_MESSAGE)
            loop = self._loop if self._loop is not None else self._start()
            self._active += 1
            return loop

    def _leave(self) -> None:
        with self._lock:
            self._active -= 1
            if self._active == 0 and self._closed:
                self._idle.notify_all()

    def _start(self) -> asyncio.AbstractEventLoop:
        """Start the portal thread (with the lock held)."""
        stack = contextlib.ExitStack()
        try:
            portal = stack.enter_context(start_blocking_portal("asyncio"))
            loop = portal.call(_name_thread_and_get_loop)
        except BaseException:
            stack.close()
            raise
        self._stack, self._portal, self._loop = stack, portal, loop
        return loop

    def call(
        self, function: Callable[P, Coroutine[Any, Any, R]], /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run ``function(*args, **kwargs)`` in the loop and wait for its result here."""
        loop = self._enter()
        try:
            coroutine = function(*args, **kwargs)
            try:
                future = asyncio.run_coroutine_threadsafe(coroutine, loop)
            except BaseException:
                coroutine.close()  # never scheduled: no "never awaited" warning
                raise
            try:
                return future.result()
            except BaseException:
                # Interrupted while waiting (KeyboardInterrupt): stop the call in the loop
                # too. A no-op when the call itself raised.
                future.cancel()
                raise
        finally:
            self._leave()

    # --- streams --------------------------------------------------------------------

    def iterate(
        self,
        keepalive: object,
        function: Callable[P, AsyncIterator[T]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Generator[T, None, None]:
        """Iterate ``function(*args, **kwargs)`` in the loop, yielding its items here.

        ``function`` is called now, inside the loop (so it checks its arguments at once,
        and whatever state it touches belongs to the loop); its items come as the async
        iterator produces them, from the first ``next()`` on. Closing the returned
        generator (``close()``, or dropping it) stops the async iterator and waits for it
        to wind down. ``keepalive`` (the sync client) stays referenced meanwhile.
        """

        async def open_() -> AsyncIterator[T]:
            return function(*args, **kwargs)

        return self._consume(keepalive, self.call(open_))

    def _consume(self, keepalive: object, iterator: AsyncIterator[T]) -> Generator[T, None, None]:
        # A generator: nothing below runs (nothing is started) until the first next().
        stream = _Stream(iterator)
        loop = self._enter()
        try:
            with self._lock:
                self._streams.add(stream)
            stream.start(loop)
        finally:
            self._leave()
        try:
            while True:
                batch = self.call(stream.take)
                if batch is None:
                    return
                yield from batch
        finally:
            self._stop_stream(stream)

    def _stop_stream(self, stream: _Stream[Any]) -> None:
        """Stop a stream its consumer left (finished, broke off, or was collected)."""
        with self._lock:
            self._streams.discard(stream)
            if self._closed or stream.settled:
                # close() stops every registered stream itself (and waits for them).
                return
            loop = self._loop
            assert loop is not None
            if _in_event_loop():
                # Collected in a thread that runs a loop (possibly ours): never block here.
                loop.call_soon_threadsafe(stream.abort_now)
                return
            self._active += 1
        try:
            asyncio.run_coroutine_threadsafe(stream.shutdown(), loop).result()
        finally:
            self._leave()

    def _abort_streams(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            asyncio.run_coroutine_threadsafe(stream.shutdown(), loop).result()

    # --- closing --------------------------------------------------------------------

    def close(self) -> None:
        """Stop streams, drain calls, close the async client in the loop, join the thread.

        Idempotent; a second caller waits for the first to finish. Refused (with
        :class:`RunningEventLoopError`) from a thread that runs an event loop once the
        portal has started, since closing blocks.
        """
        with self._lock:
            first = not self._closed
            if first:
                if self._loop is not None:
                    refuse_in_event_loop()
                self._closed = True
            loop, portal, stack = self._loop, self._portal, self._stack
        if not first:
            if loop is not None and not _in_event_loop():
                self._stopped.wait()
            return
        if loop is None or portal is None or stack is None:
            self._stopped.set()
            return
        try:
            # Wake consumers blocked in query_many first; they hold calls in flight.
            self._abort_streams(loop)
            with self._lock:
                self._idle.wait_for(lambda: self._active == 0)
            # Streams started while the first pass ran are registered by now.
            self._abort_streams(loop)
            portal.call(self._shutdown)
        finally:
            try:
                stack.close()  # stops the portal and joins its thread
            finally:
                self._stopped.set()

    def close_abandoned(self) -> None:
        """Close for a client that was collected, or is alive at exit, without close()."""
        if self._loop is None or self._closed:
            return
        if _in_event_loop():
            # Closing blocks; in a loop thread (maybe ours) it must happen elsewhere.
            threading.Thread(target=self.close, name="payven-sync-close", daemon=True).start()
        else:
            self.close()


class _Stream(Generic[T]):
    """One async iterator run in the portal's loop, its items taken by one other thread.

    A task in the loop (the pump) iterates the async iterator and sends each item into a
    bounded memory stream; the consumer takes them in batches, one hop per batch: as soon
    as one item is ready, every ready item up to :data:`STREAM_BATCH`. So items stream as
    they come, and the bounded buffer pushes back on the async iterator when the consumer
    is slow. Everything below except :meth:`start` and :attr:`settled` runs in the loop.
    """

    def __init__(self, iterator: AsyncIterator[T]) -> None:
        self._iterator = iterator
        self._send: MemoryObjectSendStream[T] | None = None
        self._receive: MemoryObjectReceiveStream[T] | None = None
        self._task: asyncio.Task[None] | None = None
        self._pump_done = asyncio.Event()
        self._error: Exception | None = None
        self._aborted = False
        #: True once both ends are closed and the pump is done: nothing left to stop.
        self.settled = False

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the pump (called from the consuming thread)."""
        self._send, self._receive = anyio.create_memory_object_stream[T](STREAM_BUFFER)
        asyncio.run_coroutine_threadsafe(self._pump(), loop)

    async def _pump(self) -> None:
        assert self._send is not None
        assert self._receive is not None
        self._task = asyncio.current_task()
        try:
            if self._aborted:  # stopped before it ever ran
                return
            iterator = self._iterator
            try:
                async for item in iterator:
                    await self._send.send(item)
            finally:
                if isinstance(iterator, AsyncGenerator):
                    # Runs the generator's own cleanup (query_many cancels and awaits its
                    # workers) before this task ends; a no-op when it is exhausted.
                    await iterator.aclose()
        except anyio.BrokenResourceError:
            pass  # the consumer's end is closed: it does not want more
        except Exception as exc:  # noqa: BLE001 - handed to the consumer, raised there
            self._error = exc
        finally:
            self._send.close()
            if self._aborted:
                self._receive.close()
                self.settled = True
            self._pump_done.set()

    async def take(self) -> list[T] | None:
        """The next items (at least one), or None at the end; raises what the pump hit."""
        receive = self._receive
        assert receive is not None
        try:
            items = [await receive.receive()]
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            receive.close()
            self.settled = self._pump_done.is_set()
            if self._aborted:
                raise ClientClosedError(
                    "the client was closed while this query_many was running"
                ) from None
            error, self._error = self._error, None
            if error is not None:
                raise error from None
            return None
        while len(items) < STREAM_BATCH:
            try:
                items.append(receive.receive_nowait())
            except (anyio.WouldBlock, anyio.EndOfStream):
                break
        return items

    def abort_now(self) -> None:
        """Stop the pump without waiting for it (from the loop's own thread)."""
        self._aborted = True
        if self._pump_done.is_set():
            if self._receive is not None:
                self._receive.close()
            self.settled = True
        elif self._task is not None:
            # One-shot asyncio cancellation: the async iterator's cleanup then runs
            # undisturbed (query_many cancels its workers and awaits them).
            self._task.cancel()
        # Else the pump has not run yet; it sees _aborted and ends at once.

    async def shutdown(self) -> None:
        """Stop the pump and wait until it is done and both ends are closed."""
        self.abort_now()
        await self._pump_done.wait()
        if self._receive is not None:
            self._receive.close()
        self.settled = True
