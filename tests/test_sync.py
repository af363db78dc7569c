"""The blocking client over loopback: threads, one token, the loop refusal, closing, streaming.

The fake server runs in a thread of its own (tests/sync_server.py). No test measures
time: waits are for events, bounded by a generous safety valve.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

import payven_async
from payven_sync import (
    Card,
    ClientClosedError,
    ConfigurationError,
    Money,
    NotFoundError,
    PaymentQuery,
    PaymentResult,
    PayRequest,
    PayvenClient,
    PayvenError,
    QueryOutcome,
    RunningEventLoopError,
    Token,
    ValidationError,
)

from .fake_server import CLIENT_ID, CLIENT_SECRET, SLUG, TRANSACTION_ID, query_answer
from .sync_server import Gate, ThreadedFakePayven, wait_until, without_hanging


@pytest.fixture
def server() -> Iterator[ThreadedFakePayven]:
    """A FakePayven on 127.0.0.1, served from its own thread."""
    with ThreadedFakePayven() as running:
        yield running


def make_client(server: ThreadedFakePayven) -> PayvenClient:
    """A blocking client for the fake server, without retries."""
    return PayvenClient(
        CLIENT_ID,
        CLIENT_SECRET,
        SLUG,
        identity_url=server.url,
        vpos_url=server.url,
        max_retries=0,
    )


@pytest.fixture
def client(server: ThreadedFakePayven) -> Iterator[PayvenClient]:
    """A blocking client for the fake server, closed after the test."""
    with make_client(server) as payven:
        yield payven


def ids(n: int, prefix: str = "tx") -> list[str]:
    return [f"{prefix}-{i:04d}" for i in range(n)]


async def not_found(request: web.Request) -> web.StreamResponse:
    body = {"type": "t", "title": "t", "status": 404, "code": "payment_not_found"}
    return web.json_response(body, status=404, content_type="application/problem+json")


def hold_all_but(first: set[str], gate: Gate) -> Any:
    """A query handler that answers ids in ``first`` at once and holds the rest at ``gate``."""

    async def handle(request: web.Request) -> web.StreamResponse:
        transaction_id = request.match_info["tid"]
        if transaction_id not in first:
            await gate.wait()
        return web.json_response(query_answer(transaction_id))

    return handle


def portal_task_count(client: PayvenClient) -> int:
    """Tasks alive in the client's loop, besides the one counting (a white-box peek)."""
    loop = client._portal._loop
    assert loop is not None

    async def count() -> int:
        return len(asyncio.all_tasks()) - 1

    return asyncio.run_coroutine_threadsafe(count(), loop).result()


def in_flight(client: PayvenClient) -> int:
    """Calls of this client running right now (a white-box peek)."""
    return client._portal._active


CARD = Card("Test Kullanici", "4546711234567894", "12", "2030", "000")


# --- construction and plain calls --------------------------------------------------------


def test_construction_opens_no_thread(server: ThreadedFakePayven) -> None:
    """Constructing (and entering) a client starts no thread; the first call starts one."""
    before = threading.active_count()
    with make_client(server) as client:
        assert threading.active_count() == before
        client.token()
        assert threading.active_count() == before + 1
    assert threading.active_count() == before


def test_configuration_errors_surface_at_construction() -> None:
    """A missing credential raises ConfigurationError in the constructor, without a thread."""
    before = threading.active_count()
    with pytest.raises(ConfigurationError, match="client_secret"):
        PayvenClient(CLIENT_ID, None, SLUG)
    assert threading.active_count() == before


def test_pay_and_query_return_the_async_models(
    client: PayvenClient, server: ThreadedFakePayven
) -> None:
    """pay, query and token work without await and return payven_async's own models."""
    result = client.pay("sess-1", PayRequest(amount=Money(15000), card=CARD))
    query = client.query(result.transaction_id or "")
    token = client.token()
    assert isinstance(result, PaymentResult)
    assert isinstance(query, payven_async.PaymentQuery)
    assert isinstance(token, Token)
    assert result.transaction_id == TRANSACTION_ID
    assert query.internal is not None
    assert query.internal.amount == 15000
    assert len(server.fake.calls("/token")) == 1


def test_errors_are_the_async_errors(client: PayvenClient, server: ThreadedFakePayven) -> None:
    """API and validation errors raise the same classes as the async client."""
    server.fake.overrides["query"] = not_found
    with pytest.raises(NotFoundError):
        client.query(TRANSACTION_ID)
    with pytest.raises(ValidationError):
        client.query("")
    assert len(server.fake.calls("/query")) == 1


def test_threads_share_one_client_and_one_token(
    client: PayvenClient, server: ThreadedFakePayven
) -> None:
    """12 threads calling one cold client at once run concurrently and cause one token request."""
    gate = Gate(server)

    async def held_token(request: web.Request) -> web.StreamResponse:
        await gate.wait()
        return web.json_response(server.fake.issue_token())

    server.fake.overrides["token"] = held_token
    threads_count = 12
    results: list[PaymentQuery] = []
    errors: list[BaseException] = []

    def work(number: int) -> None:
        try:
            results.append(client.query(f"tx-{number}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    # Open the gate only once every call is in flight, all waiting on the one token.
    wait_until(lambda: in_flight(client) == threads_count, "every call to be in flight")
    wait_until(lambda: gate.held == 1, "the token request to be held")
    gate.open()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(str(r.transaction_id) for r in results) == sorted(
        f"tx-{n}" for n in range(threads_count)
    )
    assert len(server.fake.calls("/token")) == 1
    assert {r.headers["Authorization"] for r in server.fake.calls("/query")} == {"Bearer access-1"}
    assert not gate.gave_way


# --- the running-loop refusal --------------------------------------------------------------


def test_refused_inside_a_running_loop_before_any_use(server: ThreadedFakePayven) -> None:
    """Called inside asyncio.run, a fresh client raises at once, pointing to payven_async."""
    before = threading.active_count()
    client = make_client(server)

    async def main() -> None:
        with pytest.raises(RunningEventLoopError, match="payven_async"):
            client.query(TRANSACTION_ID)
        with pytest.raises(RunningEventLoopError):
            client.query_many([TRANSACTION_ID])
        client.close()  # nothing started, so closing does not block: allowed

    asyncio.run(main())
    assert threading.active_count() == before
    assert server.fake.requests == []


def test_refused_inside_a_running_loop_after_use(
    client: PayvenClient, server: ThreadedFakePayven
) -> None:
    """With its portal running, the client still refuses callers in a loop, and stays usable."""
    client.query(TRANSACTION_ID)

    async def main() -> None:
        for call in (
            lambda: client.query(TRANSACTION_ID),
            lambda: client.token(),
            lambda: client.query_many([TRANSACTION_ID]),
            client.close,
        ):
            with pytest.raises(RunningEventLoopError) as caught:
                call()
            assert isinstance(caught.value, PayvenError)

    asyncio.run(main())
    assert client.query(TRANSACTION_ID).transaction_id == TRANSACTION_ID
    assert len(server.fake.calls("/query")) == 2


def test_refused_in_the_clients_own_loop(client: PayvenClient) -> None:
    """A progress hook (run in the client's loop) calling the client raises, never deadlocks."""

    def progress(outcome: QueryOutcome) -> None:
        client.query(outcome.transaction_id)

    with pytest.raises(RunningEventLoopError):
        without_hanging(lambda: list(client.query_many(ids(3), progress=progress)))
    assert client.query(TRANSACTION_ID).transaction_id == TRANSACTION_ID


# --- closing -------------------------------------------------------------------------------


def test_close_is_idempotent_and_final(server: ThreadedFakePayven) -> None:
    """close() twice is fine; afterwards every method raises ClientClosedError saying so."""
    client = make_client(server)
    client.query(TRANSACTION_ID)
    client.close()
    client.close()
    for call in (
        lambda: client.query(TRANSACTION_ID),
        lambda: client.pay("sess-1", PayRequest(amount=Money(15000), card=CARD)),
        client.token,
        lambda: client.query_many([TRANSACTION_ID]),
    ):
        with pytest.raises(ClientClosedError, match="closed"):
            call()


def test_context_manager_closes_and_joins(server: ThreadedFakePayven) -> None:
    """Leaving the with block closes the client and its thread is gone."""
    before = threading.active_count()
    with make_client(server) as client:
        client.query(TRANSACTION_ID)
    assert threading.active_count() == before
    with pytest.raises(ClientClosedError):
        client.query(TRANSACTION_ID)


def test_close_of_an_unused_client_starts_nothing(server: ThreadedFakePayven) -> None:
    """Closing a client that never made a call starts no thread, and it is closed for good."""
    before = threading.active_count()
    client = make_client(server)
    client.close()
    assert threading.active_count() == before
    with pytest.raises(ClientClosedError):
        client.token()
    assert server.fake.requests == []


def test_close_lets_calls_in_flight_finish(server: ThreadedFakePayven) -> None:
    """A call in flight when close() begins completes normally; close returns after it."""
    client = make_client(server)
    gate = Gate(server)
    server.fake.overrides["query"] = hold_all_but(set(), gate)
    results: list[PaymentQuery] = []
    caller = threading.Thread(target=lambda: results.append(client.query(TRANSACTION_ID)))
    caller.start()
    wait_until(lambda: gate.held == 1, "the query to reach the server")
    closer = threading.Thread(target=client.close)
    closer.start()
    wait_until(lambda: client._portal.closed, "close() to begin")
    assert closer.is_alive()  # it waits for the call in flight
    gate.open()
    caller.join()
    closer.join()
    assert [r.transaction_id for r in results] == [TRANSACTION_ID]
    assert not gate.gave_way


def test_close_stops_a_query_many_being_consumed(server: ThreadedFakePayven) -> None:
    """close() from another thread wakes a consumer blocked in query_many with ClientClosedError."""
    before = threading.active_count()
    client = make_client(server)
    gate = Gate(server)
    server.fake.overrides["query"] = hold_all_but({"tx-0000"}, gate)
    seen: list[str] = []
    failures: list[BaseException] = []

    def consume() -> None:
        try:
            for outcome in client.query_many(ids(20), concurrency=4):
                seen.append(outcome.transaction_id)
        except ClientClosedError as exc:
            failures.append(exc)

    consumer = threading.Thread(target=consume)
    consumer.start()
    wait_until(lambda: seen == ["tx-0000"] and gate.held == 4, "one outcome and 4 held queries")
    client.close()
    consumer.join()
    assert len(failures) == 1
    assert "closed" in str(failures[0])
    wait_until(lambda: gate.held == 0, "the held queries to be abandoned")
    assert threading.active_count() == before
    assert not gate.gave_way


def test_close_inside_the_loop_body_ends_the_iteration(server: ThreadedFakePayven) -> None:
    """Closing the client between two outcomes ends the iteration with ClientClosedError."""
    before = threading.active_count()
    client = make_client(server)
    iterator = client.query_many(ids(50), concurrency=4)
    assert next(iterator).ok
    client.close()
    with pytest.raises(ClientClosedError):
        list(iterator)  # the outcomes it already holds, then the error
    assert threading.active_count() == before


def test_no_thread_is_left_behind(server: ThreadedFakePayven) -> None:
    """After calls, threads and a finished query_many, close() restores the thread count."""
    before = threading.active_count()
    client = make_client(server)
    workers = [threading.Thread(target=client.query, args=(TRANSACTION_ID,)) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(list(client.query_many(ids(40), concurrency=8))) == 40
    client.close()
    assert threading.active_count() == before


def test_a_dropped_client_stops_its_thread(server: ThreadedFakePayven) -> None:
    """A used client dropped without close() is closed when collected: no thread, no warning."""
    before = threading.active_count()
    client = make_client(server)
    client.query(TRANSACTION_ID)
    del client
    gc.collect()
    assert threading.active_count() == before


# --- query_many --------------------------------------------------------------------------


def test_query_many_yields_one_outcome_per_id(
    client: PayvenClient, server: ThreadedFakePayven
) -> None:
    """A plain iterator with one outcome per id; failures are outcomes carrying their error."""

    async def flaky(request: web.Request) -> web.StreamResponse:
        transaction_id = request.match_info["tid"]
        if transaction_id.endswith("7"):
            return await not_found(request)
        return web.json_response(query_answer(transaction_id))

    server.fake.overrides["query"] = flaky
    wanted = ids(100)
    iterator = client.query_many(iter(wanted), concurrency=16)
    assert iter(iterator) is iterator
    outcomes = list(iterator)
    assert sorted(o.transaction_id for o in outcomes) == wanted
    failed = {o.transaction_id for o in outcomes if o.error is not None}
    assert failed == {i for i in wanted if i.endswith("7")}
    assert all(isinstance(o.error, NotFoundError) for o in outcomes if o.error is not None)
    assert len(server.fake.calls("/token")) == 1


def test_threads_run_query_many_side_by_side(
    client: PayvenClient, server: ThreadedFakePayven
) -> None:
    """Four threads each iterating their own query_many on one client all get every outcome."""
    got: dict[int, list[str]] = {}

    def consume(number: int) -> None:
        wanted = ids(40, prefix=f"t{number}")
        got[number] = sorted(o.transaction_id for o in client.query_many(wanted, concurrency=4))

    threads = [threading.Thread(target=consume, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == {n: ids(40, prefix=f"t{n}") for n in range(4)}
    assert len(server.fake.calls("/token")) == 1


def test_query_many_ordered(client: PayvenClient) -> None:
    """ordered=True is passed through: outcomes come in input order."""
    wanted = ids(60)
    got = [o.transaction_id for o in client.query_many(wanted, concurrency=8, ordered=True)]
    assert got == wanted


def test_query_many_checks_its_arguments_at_the_call(client: PayvenClient) -> None:
    """Bad batch settings raise from the call itself, before any iteration."""
    with pytest.raises(ValidationError, match="concurrency"):
        client.query_many(ids(3), concurrency=0)


def test_query_many_raises_with_fail_fast(client: PayvenClient, server: ThreadedFakePayven) -> None:
    """With fail_fast=True the first failure is raised from the iterator."""
    server.fake.overrides["query"] = not_found
    with pytest.raises(NotFoundError):
        list(client.query_many(ids(5), fail_fast=True))


def test_query_many_streams_outcomes_as_they_arrive(
    client: PayvenClient, server: ThreadedFakePayven
) -> None:
    """The first outcome is yielded while the rest of the batch is still held in the server."""
    gate = Gate(server)
    server.fake.overrides["query"] = hold_all_but({"tx-0000"}, gate)
    iterator = client.query_many(ids(10), concurrency=10)
    first = next(iterator)
    assert first.transaction_id == "tx-0000"
    assert not gate.gave_way  # the other nine were still held when it came
    gate.open()
    rest = list(iterator)
    assert sorted(o.transaction_id for o in rest) == ids(10)[1:]
    assert not gate.gave_way


def test_closing_the_iterator_stops_its_queries(
    client: PayvenClient, server: ThreadedFakePayven
) -> None:
    """close() on the iterator cancels the queries in flight and leaves no task running."""
    client.token()
    baseline = portal_task_count(client)
    gate = Gate(server)
    server.fake.overrides["query"] = hold_all_but({"tx-0000"}, gate)
    iterator = client.query_many(ids(1000), concurrency=8)
    assert next(iterator).transaction_id == "tx-0000"
    wait_until(lambda: gate.held == 8, "8 queries held")
    iterator.close()
    assert portal_task_count(client) == baseline
    wait_until(lambda: gate.held == 0, "the server to see the held queries abandoned")
    assert gate.entered < 1000
    assert not gate.gave_way
    gate.open()
    assert client.query(TRANSACTION_ID).transaction_id == TRANSACTION_ID


def test_breaking_out_of_the_loop_stops_its_queries(
    client: PayvenClient, server: ThreadedFakePayven
) -> None:
    """break out of a for loop over query_many, and the queries still running are stopped."""
    client.token()
    baseline = portal_task_count(client)
    gate = Gate(server)
    server.fake.overrides["query"] = hold_all_but({"tx-0000"}, gate)
    for outcome in client.query_many(ids(1000), concurrency=8):
        assert outcome.transaction_id == "tx-0000"
        wait_until(lambda: gate.held == 8, "8 queries held")
        break
    assert portal_task_count(client) == baseline
    wait_until(lambda: gate.held == 0, "the server to see the held queries abandoned")
    assert not gate.gave_way


def test_an_iterator_never_started_needs_no_cleanup(
    client: PayvenClient, server: ThreadedFakePayven
) -> None:
    """A query_many iterator created and dropped unstarted sends nothing and warns nothing."""
    iterator = client.query_many(ids(10))
    del iterator
    gc.collect()
    assert server.fake.calls("/query") == []
