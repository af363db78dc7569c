"""query_many: lazy, bounded, one outcome per id, ordered on demand, polite, cancellable."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web

from payven_async import NotFoundError, PayvenClient, ServerError, ValidationError
from payven_async._batch import _Window, stream_outcomes
from payven_async.models import PaymentQuery

from .batch_support import running_batch_workers
from .fake_server import FakePayven, query_answer


def ids(n: int) -> list[str]:
    return [f"tx-{i:05d}" for i in range(n)]


def problem(status: int, code: str, **headers: str) -> web.Response:
    body = {"type": "t", "title": "t", "status": status, "code": code}
    return web.json_response(
        body, status=status, content_type="application/problem+json", headers=headers
    )


async def test_every_id_gets_exactly_one_outcome_despite_failures(
    client: PayvenClient, fake_payven: FakePayven
) -> None:
    """n ids in, n outcomes out, each id once, failures carried as errors."""

    async def flaky(request: web.Request) -> web.StreamResponse:
        number = int(request.match_info["tid"].rsplit("-", 1)[1])
        if number % 7 == 0:
            return problem(404, "payment_not_found")
        if number % 5 == 0:
            return problem(500, "internal_server_error")
        return web.json_response(query_answer(request.match_info["tid"]))

    fake_payven.overrides["query"] = flaky
    wanted = ids(300)
    outcomes = [o async for o in client.query_many(iter(wanted), concurrency=16)]
    assert sorted(o.transaction_id for o in outcomes) == wanted
    by_id = {o.transaction_id: o for o in outcomes}
    assert isinstance(by_id["tx-00007"].error, NotFoundError)
    assert isinstance(by_id["tx-00005"].error, ServerError)
    assert by_id["tx-00001"].result is not None
    assert by_id["tx-00001"].result.transaction_id == "tx-00001"
    assert all((o.result is None) != (o.error is None) for o in outcomes)


async def test_ordered_mode_yields_in_input_order(
    client: PayvenClient, fake_payven: FakePayven
) -> None:
    """With ordered=True outcomes come in input order even when answers do not."""
    shuffle = random.Random(7)

    async def jittery(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(shuffle.random() / 200)
        return web.json_response(query_answer(request.match_info["tid"]))

    fake_payven.overrides["query"] = jittery
    wanted = ids(120)
    got = [o.transaction_id async for o in client.query_many(wanted, concurrency=12, ordered=True)]
    assert got == wanted


async def test_the_input_is_consumed_lazily(client: PayvenClient) -> None:
    """A huge generator is pulled only as far as the concurrency window allows."""
    pulled = 0

    def endless() -> Iterator[str]:
        nonlocal pulled
        while True:
            pulled += 1
            yield f"tx-{pulled}"

    concurrency = 4
    outcomes = client.query_many(endless(), concurrency=concurrency)
    taken = 0
    async for _ in outcomes:
        taken += 1
        if taken == 10:
            break
    await outcomes.aclose()  # type: ignore[attr-defined]
    assert pulled <= taken + 2 * concurrency + 1


async def test_a_stalled_consumer_holds_the_workers_back_then_gets_every_outcome() -> None:
    """While the consumer dawdles, workers wait for window slots; none is lost after."""
    pulled = 0

    def counted(n: int) -> Iterator[str]:
        nonlocal pulled
        for transaction_id in ids(n):
            pulled += 1
            yield transaction_id

    async def query_one(transaction_id: str) -> PaymentQuery:
        await asyncio.sleep(0)
        return PaymentQuery(transaction_id=transaction_id)

    concurrency = 3
    outcomes = stream_outcomes(query_one, counted(50), concurrency=concurrency)
    got = [(await anext(outcomes)).transaction_id]
    for _ in range(20):  # many turns of the loop: every worker runs into the window
        await asyncio.sleep(0)
    assert pulled == 2 * concurrency  # the window; the yielded id holds its slot until resumed
    got += [outcome.transaction_id async for outcome in outcomes]
    assert sorted(got) == ids(50)
    assert running_batch_workers() == []


async def test_a_woken_then_cancelled_window_waiter_passes_its_slot_on() -> None:
    """A worker cancelled just after being given a slot must not strand the others."""
    window = _Window(0)
    first = asyncio.create_task(window.wait())
    second = asyncio.create_task(window.wait())
    await asyncio.sleep(0)  # both are waiting now
    window.release()  # wakes the first ...
    first.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, timeout=1)
    assert window.free == 1


async def test_async_iterables_are_accepted(client: PayvenClient) -> None:
    """An async generator of ids works like a plain iterable."""

    async def source() -> AsyncIterator[str]:
        for transaction_id in ids(25):
            await asyncio.sleep(0)
            yield transaction_id

    got = sorted([o.transaction_id async for o in client.query_many(source(), concurrency=5)])
    assert got == ids(25)


async def test_invalid_ids_become_error_outcomes(client: PayvenClient) -> None:
    """A malformed id is an outcome with a ValidationError, not the end of the batch."""
    outcomes = [o async for o in client.query_many(["tx-1", "", "bad id"], concurrency=2)]
    errors = {o.transaction_id: o.error for o in outcomes if o.error is not None}
    assert set(errors) == {"", "bad id"}
    assert all(isinstance(error, ValidationError) for error in errors.values())


async def test_fail_fast_raises_the_first_error(
    client: PayvenClient, fake_payven: FakePayven
) -> None:
    """fail_fast=True turns the first failed outcome into an exception."""

    async def missing(request: web.Request) -> web.StreamResponse:
        return problem(404, "payment_not_found")

    fake_payven.overrides["query"] = missing
    with pytest.raises(NotFoundError):
        async for _ in client.query_many(ids(50), concurrency=4, fail_fast=True):
            pass


async def test_progress_hook_sees_every_outcome(client: PayvenClient) -> None:
    """The progress callback is called once per outcome, before it is yielded."""
    seen: list[str] = []
    yielded = [
        o.transaction_id
        async for o in client.query_many(
            ids(40), concurrency=8, progress=lambda o: seen.append(o.transaction_id)
        )
    ]
    assert seen == yielded
    assert sorted(seen) == ids(40)


async def test_a_failing_input_iterator_raises_after_cleanup() -> None:
    """An exception from the caller's iterator surfaces, and no worker outlives it."""

    def broken() -> Iterator[str]:
        yield "tx-1"
        raise RuntimeError("input broke")

    async def query_one(transaction_id: str) -> PaymentQuery:
        return PaymentQuery(transaction_id=transaction_id)

    with pytest.raises(RuntimeError, match="input broke"):
        async for _ in stream_outcomes(query_one, broken(), concurrency=3):
            pass
    assert running_batch_workers() == []


async def test_breaking_out_stops_every_worker_and_frees_connections(
    client: PayvenClient, fake_payven: FakePayven
) -> None:
    """Leaving the loop early cancels all workers and leaves no connection checked out."""
    release = asyncio.Event()

    async def slow_after_first(request: web.Request) -> web.StreamResponse:
        if request.match_info["tid"] != "tx-00000":
            await release.wait()
        return web.json_response(query_answer(request.match_info["tid"]))

    fake_payven.overrides["query"] = slow_after_first
    outcomes = client.query_many(ids(1000), concurrency=8, ordered=True)
    async for outcome in outcomes:
        assert outcome.transaction_id == "tx-00000"
        break
    await outcomes.aclose()  # type: ignore[attr-defined]
    release.set()
    assert running_batch_workers() == []
    session = client._transport._session
    assert session is not None
    assert not session.connector._acquired  # type: ignore[union-attr]
    assert len(fake_payven.calls("/query")) <= 1 + 2 * 8


async def test_cancelling_the_consumer_cancels_the_batch(
    client: PayvenClient, fake_payven: FakePayven
) -> None:
    """Cancelling the task that iterates stops the batch promptly and completely."""
    started = asyncio.Event()

    async def stall(request: web.Request) -> web.StreamResponse:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    fake_payven.overrides["query"] = stall

    async def consume() -> None:
        async for _ in client.query_many(ids(100), concurrency=6):
            pass

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert running_batch_workers() == []
    session = client._transport._session
    assert session is not None
    assert not session.connector._acquired  # type: ignore[union-attr]


async def test_a_429_pauses_the_whole_batch_once(fake_payven: FakePayven) -> None:
    """After one 429, no worker sends anything until its Retry-After has passed."""
    loop = asyncio.get_running_loop()
    concurrency = 4
    arrived = 0
    everyone_in = asyncio.Event()
    window_end: float | None = None
    early: list[str] = []

    async def limiter(request: web.Request) -> web.StreamResponse:
        nonlocal arrived, window_end
        transaction_id = request.match_info["tid"]
        arrived += 1
        if window_end is None:
            if arrived >= concurrency:
                everyone_in.set()
            await everyone_in.wait()
            if transaction_id == "tx-00000" and window_end is None:
                # A short Retry-After (the header may carry a fraction): the client's
                # pause is real time, and the test's point is that nobody sends in it.
                window_end = loop.time() + 0.3
                return problem(429, "rate_limit_exceeded", **{"Retry-After": "0.3"})
            # Answer the others only once the client has surely seen the 429.
            await asyncio.sleep(0.2)
        elif loop.time() < window_end:
            early.append(transaction_id)
            return problem(429, "rate_limit_exceeded", **{"Retry-After": "0.3"})
        return web.json_response(query_answer(transaction_id))

    fake_payven.overrides["query"] = limiter
    async with PayvenClient(
        "id", "secret", "acme", identity_url=fake_payven.url, vpos_url=fake_payven.url
    ) as payven:
        outcomes = [o async for o in payven.query_many(ids(12), concurrency=concurrency)]
    assert sorted(o.transaction_id for o in outcomes) == ids(12)
    assert all(o.ok for o in outcomes)
    assert early == []
    queried = [call.path.split("/")[4] for call in fake_payven.calls("/query")]
    assert queried.count("tx-00000") == 2  # the rate-limited id was retried, once


def test_bad_batch_settings_are_refused_at_the_call(client: PayvenClient) -> None:
    """concurrency < 1 and a non-positive rate limit are refused before anything starts."""
    with pytest.raises(ValidationError) as caught:
        client.query_many(ids(3), concurrency=0, rate_limit=-1)
    assert {problem.field for problem in caught.value.problems} == {"concurrency", "rate_limit"}
