"""payven_sync mirrors payven_async: the same names, the same objects, the same methods."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import payven_async
import payven_sync

#: Names only the blocking facade has: errors only a blocking call can raise.
#: Async names and their blocking counterparts.
RENAMED = {"aclose": "close"}


def public_members(cls: type) -> dict[str, Any]:
    """The public attributes of a class (methods and properties), by name."""
    return {name: value for name, value in inspect.getmembers(cls) if not name.startswith("_")}


def parameters(function: Any, *, drop: tuple[str, ...] = ("self",)) -> list[tuple[Any, ...]]:
    """Each parameter as (name, kind, default, annotation), without the dropped names."""
    return [
        (p.name, p.kind, p.default, p.annotation)
        for p in inspect.signature(function).parameters.values()
        if p.name not in drop
    ]


def test_all_lists_are_identical() -> None:
    """payven_sync exports exactly the names payven_async exports."""
    assert payven_sync.__all__ == payven_async.__all__


def test_all_is_sorted_and_complete() -> None:
    """payven_sync.__all__ is sorted, without duplicates, and every name resolves."""
    assert payven_sync.__all__ == sorted(set(payven_sync.__all__))
    for name in payven_sync.__all__:
        assert hasattr(payven_sync, name), name


@pytest.mark.parametrize("name", sorted(set(payven_async.__all__) - {"PayvenClient"}))
def test_reexports_are_the_same_objects(name: str) -> None:
    """Every model, enum, error and helper is the very object payven_async exports."""
    assert getattr(payven_sync, name) is getattr(payven_async, name)


def test_client_is_its_own_class() -> None:
    """payven_sync.PayvenClient is the blocking class, not the async one."""
    assert not issubclass(payven_sync.PayvenClient, payven_async.PayvenClient)
    assert hasattr(payven_sync.PayvenClient, "__enter__")
    assert not hasattr(payven_sync.PayvenClient, "__aenter__")


@pytest.mark.parametrize(
    "error", [payven_sync.ClientClosedError, payven_sync.RunningEventLoopError]
)
def test_closed_and_loop_errors_are_payven_and_runtime_errors(error: type[Exception]) -> None:
    """`except PayvenError` (and `except RuntimeError`) catch the closed and loop errors."""
    assert issubclass(error, payven_async.PayvenError)
    assert issubclass(error, RuntimeError)


def test_constructor_matches_the_async_one_minus_session() -> None:
    """Same constructor parameters (names, kinds, defaults, annotations) except session."""
    expected = parameters(payven_async.PayvenClient.__init__, drop=("self", "session"))
    assert parameters(payven_sync.PayvenClient.__init__) == expected


def test_same_public_methods_and_properties() -> None:
    """Every public async method or property has a blocking twin, and nothing more."""
    async_names = {RENAMED.get(name, name) for name in public_members(payven_async.PayvenClient)}
    assert set(public_members(payven_sync.PayvenClient)) == async_names


def test_methods_take_the_same_parameters() -> None:
    """Each blocking method's parameters equal the async method's: names, kinds, defaults."""
    sync_members = public_members(payven_sync.PayvenClient)
    for name, member in public_members(payven_async.PayvenClient).items():
        twin = sync_members[RENAMED.get(name, name)]
        if isinstance(member, property):
            assert isinstance(twin, property), name
            continue
        assert parameters(twin) == parameters(member), name


def test_methods_return_the_same_types_without_await() -> None:
    """A blocking method returns what the async one awaits; an async iterator, a generator."""
    sync_members = public_members(payven_sync.PayvenClient)
    for name, member in public_members(payven_async.PayvenClient).items():
        twin = sync_members[RENAMED.get(name, name)]
        if isinstance(member, property):
            continue
        assert not inspect.iscoroutinefunction(twin), name
        assert not inspect.isasyncgenfunction(twin), name
        returns = str(inspect.signature(member).return_annotation)
        if returns.startswith("AsyncIterator["):
            returns = f"Generator[{returns[len('AsyncIterator[') : -1]}, None, None]"
        if returns.startswith("AsyncGenerator[") and returns.endswith(", None]"):
            returns = f"Generator[{returns[len('AsyncGenerator[') : -len(', None]')]}, None, None]"
        assert str(inspect.signature(twin).return_annotation) == returns, name


def test_methods_carry_the_async_docstrings() -> None:
    """help() on a blocking method shows the async method's documentation."""
    sync_members = public_members(payven_sync.PayvenClient)
    for name, member in public_members(payven_async.PayvenClient).items():
        twin = sync_members[RENAMED.get(name, name)]
        if name in RENAMED or isinstance(member, property):
            continue
        assert twin.__doc__ is not None
        assert twin.__doc__.startswith(inspect.cleandoc(member.__doc__ or "")), name
        assert twin.__module__ == "payven_sync._client"


def test_the_blocking_client_runs_on_an_in_memory_transport() -> None:
    """payven_sync takes the same transport= and runs the whole pipeline on it, no socket."""
    calls: list[str] = []

    def handler(request: payven_async.Request) -> payven_async.Answer:
        calls.append(request.call)
        if request.call == "token":
            return payven_async.Answer.from_json({"access_token": "t", "expires_in": 300})
        return payven_async.Answer.from_json({"transaction_id": "t-1", "status": "completed"})

    transport = payven_sync.MemoryTransport(handler)
    with payven_sync.PayvenClient("cid", "csecret", "acme", transport=transport) as client:
        assert client.query("t-1").status == "completed"
    assert calls == ["token", "query"]
    assert transport.closed
