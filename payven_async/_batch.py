"""Bounded-concurrency streaming fan-out for ``query_many``.

``concurrency`` workers pull ids from one shared iterator, lazily; an id is only taken
when a slot of the window is free, and a slot is freed once the consumer has taken
its outcome. So however large the input, at most ``window`` ids are taken and not yet
yielded, and memory stays flat. With ``ordered=True`` the same window is the reorder
buffer.

Every id gets exactly one outcome; a failure is an outcome carrying its error, unless
the caller asked for ``fail_fast``. Closing or cancelling the consumer cancels every
worker and waits for them, so no task is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
)
from typing import TypeAlias

from .errors import PayvenError
from .models import PaymentQuery, QueryFailed, QueryOutcome, QuerySucceeded

__all__ = ["ProgressHook", "TransactionIds", "stream_outcomes"]

TransactionIds: TypeAlias = "Iterable[str] | AsyncIterable[str]"
ProgressHook = Callable[[QueryOutcome], None]
QueryOne = Callable[[str], Awaitable[PaymentQuery]]


class _Source:
    """Hands out (index, id) pairs from a sync or async iterable, one caller at a time.

    For a sync iterable, :meth:`take` needs no lock: ``next()`` runs to completion
    without yielding to the event loop, so no other worker can run in between. An
    async iterable may suspend inside ``anext()``, so :meth:`next` serialises callers.
    """

    def __init__(self, ids: TransactionIds) -> None:
        self._sync: Iterator[str] | None = None
        self._async: AsyncIterator[str] | None = None
        self._lock: asyncio.Lock | None = None
        if isinstance(ids, AsyncIterable):
            self._async = aiter(ids)
            self._lock = asyncio.Lock()
        else:
            self._sync = iter(ids)
        self.is_sync = self._sync is not None
        self._index = 0
        self.exhausted = False

    def take(self) -> tuple[int, str] | None:
        """The next (index, id) of a sync iterable, or None when it is exhausted."""
        if self.exhausted:
            return None
        assert self._sync is not None
        try:
            item = next(self._sync)
        except (StopIteration, StopAsyncIteration):
            self.exhausted = True
            return None
        index = self._index
        self._index += 1
        return index, item

    async def next(self) -> tuple[int, str] | None:
        """The next (index, id) of either kind of iterable, or None when it is exhausted."""
        if self._lock is None:
            return self.take()
        async with self._lock:
            if self.exhausted:
                return None
            assert self._async is not None
            try:
                item = await anext(self._async)
            except (StopIteration, StopAsyncIteration):
                self.exhausted = True
                return None
            index = self._index
            self._index += 1
            return index, item


class _Failed:
    """A worker hit an error that is not a query outcome (the input iterator raised, or a bug)."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


_Entry: TypeAlias = "tuple[int, QueryOutcome] | _Failed | None"


class _Window:
    """How many more ids the workers may take before the consumer catches up.

    A lean semaphore. ``asyncio.Semaphore.acquire`` is a coroutine that scans its
    waiters on every call, and this is paid once per id; here taking a slot is a
    counter test, and only a worker that finds no slot free waits (on a future).
    """

    __slots__ = ("_waiters", "free")

    def __init__(self, size: int) -> None:
        self.free = size
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def wait(self) -> None:
        """Wait until a slot may be free (the caller tests ``free`` again)."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._wake_one()  # woken, then cancelled: the free slot is another's
            raise

    def release(self) -> None:
        """Give a slot back, and wake one waiting worker, if any."""
        self.free += 1
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


class _Outbox:
    """What the workers hand to the one consumer, in the order they hand it.

    A deque and a single wake-up future: the consumer is the only reader, so
    ``asyncio.Queue``'s bookkeeping (getters, putters, ``task_done``) would be paid
    per outcome for nothing.
    """

    __slots__ = ("_waiter", "entries")

    def __init__(self) -> None:
        self.entries: deque[_Entry] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def put(self, entry: _Entry) -> None:
        """Hand over one entry; wakes the consumer if it is waiting."""
        self.entries.append(entry)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        """Wait until :meth:`put` is called (the caller tests ``entries`` again)."""
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None


async def stream_outcomes(
    query_one: QueryOne,
    transaction_ids: TransactionIds,
    *,
    concurrency: int,
    ordered: bool = False,
    fail_fast: bool = False,
    progress: ProgressHook | None = None,
) -> AsyncGenerator[QueryOutcome, None]:
    """Yield one :class:`QueryOutcome` per input id, at most ``concurrency`` in flight."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be an int >= 1, got {concurrency!r}")
    source = _Source(transaction_ids)
    window = _Window(concurrency * 2)
    outbox = _Outbox()

    async def worker() -> None:
        try:
            while True:
                while window.free <= 0:  # the consumer lags behind: wait for it
                    await window.wait()
                window.free -= 1
                try:
                    item = source.take() if source.is_sync else await source.next()
                except Exception as exc:  # noqa: BLE001 - handed to the consumer, re-raised there
                    window.release()
                    outbox.put(_Failed(exc))
                    return
                if item is None:
                    window.release()
                    return
                index, transaction_id = item
                try:
                    outcome: QueryOutcome = QuerySucceeded(
                        str(transaction_id), await query_one(transaction_id)
                    )
                except PayvenError as exc:
                    outcome = QueryFailed(str(transaction_id), exc)
                except Exception as exc:  # noqa: BLE001 - never lose it: the consumer re-raises
                    outbox.put(_Failed(exc))
                    return
                outbox.put((index, outcome))
                # Let every answer that is already in be handled before this worker
                # sends its next request. Requests then leave in bursts, one per turn of
                # the event loop, as in a gather loop, rather than one between every two
                # answers, each of which (on loopback) wakes a server that went idle.
                # It costs instructions (mostly young garbage collections) but saves
                # more kernel time: measured 0.87x -> 0.93-0.98x the gather loop's rate.
                await asyncio.sleep(0)
        finally:
            outbox.put(None)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    running = len(workers)
    pending: dict[int, QueryOutcome] = {}
    next_index = 0
    entries = outbox.entries
    try:
        while running:
            if not entries:
                await outbox.wait()
                continue
            entry = entries.popleft()
            if entry is None:
                running -= 1
                continue
            if isinstance(entry, _Failed):
                raise entry.error
            index, outcome = entry
            if not ordered:
                ready = [outcome]
            else:
                pending[index] = outcome
                ready = []
                while next_index in pending:
                    ready.append(pending.pop(next_index))
                    next_index += 1
            for outcome in ready:
                if fail_fast and outcome.error is not None:
                    raise outcome.error
                if progress is not None:
                    progress(outcome)
                yield outcome
                window.release()
    finally:
        for task in workers:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*workers, return_exceptions=True)
