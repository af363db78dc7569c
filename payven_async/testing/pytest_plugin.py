"""pytest fixtures for a running Payven emulator, loaded automatically (entry point ``pytest11``).

Name a fixture and get a running emulator on loopback, fresh for each test:

- ``payven_emulator``: a running :class:`~payven_async.testing.PayvenEmulator`;
- ``payven_client``: an async :class:`~payven_async.PayvenClient` pointed at it;
- ``payven_sync_emulator`` / ``payven_sync_client``: the same for blocking code
  (:class:`~payven_async.testing.SyncPayvenEmulator`, ``payven_sync.PayvenClient``);
- ``payven_env`` / ``payven_sync_env``: the ``PAYVEN_*`` variables set (through
  ``monkeypatch``) to point at that emulator, for code that builds its own client
  with ``PayvenClient()``; the value is the mapping set.

After a test that passed, every answer or fault scripted on the emulator's ``faults``
(``answer_next``, ``fail_next``, ``drop_next``...) must have been used: one still
waiting fails the test, naming it (the call it was meant for never came). Call
``emu.faults.clear()`` to drop what a test scripted but does not need.

Override ``payven_emulator_options`` to pass arguments to the emulator::

    @pytest.fixture
    def payven_emulator_options():
        return {"token_ttl": 60, "rate_limit": 5}

The async fixtures need pytest-asyncio (strict or auto mode); without it they fail
with a message saying so, and the sync ones still work. Nothing heavy is imported
until a fixture is used.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import pytest

if TYPE_CHECKING:
    import payven_sync

    from .._client import PayvenClient
    from ._emulator import PayvenEmulator, SyncPayvenEmulator

__all__ = [
    "payven_client",
    "payven_emulator",
    "payven_emulator_options",
    "payven_env",
    "payven_sync_client",
    "payven_sync_emulator",
    "payven_sync_env",
]

#: The variables the ``*_env`` fixtures remove first: a developer's own must not leak in.
_VARIABLES = (
    "PAYVEN_CLIENT_ID",
    "PAYVEN_CLIENT_SECRET",
    "PAYVEN_SLUG",
    "PAYVEN_ENVIRONMENT",
    "PAYVEN_IDENTITY_URL",
    "PAYVEN_VPOS_URL",
)
#: The fixtures whose emulator's scripted faults are checked after the test.
_EMULATOR_FIXTURES = ("payven_emulator", "payven_sync_emulator")

F = TypeVar("F", bound=Callable[..., Any])


def _async_fixture(function: F) -> F:
    """``pytest_asyncio.fixture``, or a fixture explaining that pytest-asyncio is missing."""
    try:
        import pytest_asyncio
    except ImportError:  # pragma: no cover - exercised only without pytest-asyncio

        @functools.wraps(function)
        def missing(*args: Any, **kwargs: Any) -> NoReturn:
            pytest.fail(
                f"the {function.__name__} fixture needs pytest-asyncio "
                "(pip install pytest-asyncio); or use the payven_sync_* fixtures",
                pytrace=False,
            )

        return pytest.fixture(missing)  # type: ignore[return-value]
    return pytest_asyncio.fixture(function)  # type: ignore[return-value]


@pytest.fixture
def payven_emulator_options() -> dict[str, Any]:
    """Keyword arguments for the emulator fixtures; override it to configure them."""
    return {}


@_async_fixture
async def payven_emulator(
    payven_emulator_options: dict[str, Any],
) -> AsyncIterator[PayvenEmulator]:
    """A running PayvenEmulator on 127.0.0.1, fresh for each test."""
    from ._emulator import PayvenEmulator

    async with PayvenEmulator(**payven_emulator_options) as emulator:
        yield emulator


@_async_fixture
async def payven_client(payven_emulator: PayvenEmulator) -> AsyncIterator[PayvenClient]:
    """An async PayvenClient pointed at ``payven_emulator``, closed after the test."""
    async with payven_emulator.client() as client:
        yield client


@pytest.fixture
def payven_sync_emulator(
    payven_emulator_options: dict[str, Any],
) -> Iterator[SyncPayvenEmulator]:
    """A running SyncPayvenEmulator (served from a thread), fresh for each test."""
    from ._emulator import SyncPayvenEmulator

    with SyncPayvenEmulator(**payven_emulator_options) as emulator:
        yield emulator


@pytest.fixture
def payven_sync_client(
    payven_sync_emulator: SyncPayvenEmulator,
) -> Iterator[payven_sync.PayvenClient]:
    """A blocking payven_sync.PayvenClient pointed at ``payven_sync_emulator``."""
    with payven_sync_emulator.client() as client:
        yield client


def _set_environ(monkeypatch: pytest.MonkeyPatch, values: Mapping[str, str]) -> dict[str, str]:
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return dict(values)


@pytest.fixture
def payven_env(payven_emulator: PayvenEmulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The ``PAYVEN_*`` variables pointing at ``payven_emulator``, set for this test.

    For code that constructs its own ``PayvenClient()`` (as moto's credentials do for
    boto3); the variables are restored after the test.
    """
    return _set_environ(monkeypatch, payven_emulator.environ())


@pytest.fixture
def payven_sync_env(
    payven_sync_emulator: SyncPayvenEmulator, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The ``PAYVEN_*`` variables pointing at ``payven_sync_emulator``, set for this test."""
    return _set_environ(monkeypatch, payven_sync_emulator.emulator.environ())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After a test that passed, fail it when its emulator has scripted faults left."""
    result = yield
    funcargs: dict[str, Any] = getattr(item, "funcargs", {})
    for name in _EMULATOR_FIXTURES:
        emulator = funcargs.get(name)
        if emulator is not None:
            try:
                emulator.faults.assert_all_used()
            except AssertionError as error:
                pytest.fail(f"{name}: {error}", pytrace=False)
    return result
