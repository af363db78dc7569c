"""The blocking ``PayvenClient``: every method a one-line bridge to the async client.

No business logic lives here. A bridge is built from the async method itself, so mypy
and pyright see the real parameters (a ``ParamSpec`` carries them over) and
``inspect.signature`` / ``help()`` show them too; only ``await`` is gone.
"""

from __future__ import annotations

import inspect
import os
import ssl
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Iterable
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

from payven_async import PayvenClient as AsyncPayvenClient, Timeout, Transport
from payven_async._config import ClientConfig, Environment
from payven_async._pipeline import OnRetry
from payven_async.stores import RateLimiter, TokenStore

from ._portal import Portal

__all__ = ["PayvenClient"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


def _like(
    bridge: Callable[..., Any], method: Callable[..., Any], returns: str | None, note: str = ""
) -> None:
    """Give ``bridge`` the name, docstring and signature of the async ``method``."""
    bridge.__name__ = method.__name__
    bridge.__qualname__ = f"PayvenClient.{method.__name__}"
    bridge.__doc__ = inspect.cleandoc(method.__doc__ or "") + note
    bridge.__module__ = __name__
    signature = inspect.signature(method)
    if returns is not None:
        signature = signature.replace(return_annotation=returns)
    bridge.__signature__ = signature  # type: ignore[attr-defined]


def _bridge(
    method: Callable[Concatenate[AsyncPayvenClient, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[PayvenClient, P], R]:
    """A blocking method that runs the async ``method`` in the client's portal."""

    def bridge(self: PayvenClient, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._portal.call(method, self._client, *args, **kwargs)

    _like(bridge, method, None)
    return bridge


def _bridge_iter(
    method: Callable[Concatenate[AsyncPayvenClient, P], AsyncIterator[T]],
) -> Callable[Concatenate[PayvenClient, P], Generator[T, None, None]]:
    """A method returning a plain generator over the async iterator ``method`` returns.

    A generator, so that ``close()`` (which stops the async iterator) is part of its type.
    """

    def bridge(
        self: PayvenClient, /, *args: P.args, **kwargs: P.kwargs
    ) -> Generator[T, None, None]:
        return self._portal.iterate(self, method, self._client, *args, **kwargs)

    returns = _generator_of(str(inspect.signature(method).return_annotation))
    _like(bridge, method, returns, _ITERATOR_NOTE)
    return bridge


def _generator_of(annotation: str) -> str:
    """``AsyncIterator[X]`` (or ``AsyncGenerator[X, None]``) -> ``Generator[X, None, None]``."""
    for prefix in ("AsyncIterator[", "AsyncGenerator["):
        if annotation.startswith(prefix) and annotation.endswith("]"):
            item = annotation[len(prefix) : -1].split(",", 1)[0].strip()
            return f"Generator[{item}, None, None]"
    return annotation


_ITERATOR_NOTE = """

In ``payven_sync`` the ids are read, and ``progress`` is called, in the client's
event-loop thread: keep both quick, and do not call the client from them. Close the
iterator to stop early (``close()``, or iterate inside ``contextlib.closing(...)``):
the queries still running are cancelled and awaited."""


class PayvenClient:
    """The blocking Payven client: the same API as ``payven_async.PayvenClient``, no ``await``.

    Use it as a context manager, or call :meth:`close` when done. Constructing it opens
    nothing: the first call starts one event-loop thread (an anyio blocking portal),
    which serves every call of this client until :meth:`close`. One client may be shared
    by many threads; their calls run concurrently in that loop and share one token.

    Do not call it from a thread that runs an event loop (it raises
    :class:`~payven_sync.RunningEventLoopError`); use ``payven_async`` there.
    """

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        slug: str | None = None,
        *,
        environment: Environment | None = None,
        identity_url: str | None = None,
        vpos_url: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        ssl_context: ssl.SSLContext | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
        connection_limit: int = 100,
        on_retry: OnRetry | Iterable[OnRetry] | None = None,
        transport: Transport | None = None,
        token_store: TokenStore | None = None,
        rate_limiter: RateLimiter | None = None,
        proxy: str | None = None,
        trust_env: bool = False,
        instrument: bool = False,
        tracer_provider: Any = None,
        meter_provider: Any = None,
    ) -> None:
        # Built here, in the caller's thread, so that configuration errors surface now.
        # It opens nothing: its aiohttp session is created by its first request, which
        # runs inside the portal's loop.
        self._client = AsyncPayvenClient(
            client_id,
            client_secret,
            slug,
            environment=environment,
            identity_url=identity_url,
            vpos_url=vpos_url,
            timeout=timeout,
            max_retries=max_retries,
            ssl_context=ssl_context,
            ca_bundle=ca_bundle,
            connection_limit=connection_limit,
            on_retry=on_retry,
            transport=transport,
            token_store=token_store,
            rate_limiter=rate_limiter,
            proxy=proxy,
            trust_env=trust_env,
            instrument=instrument,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )
        self._portal = Portal(self._client.aclose)
        # A client dropped (or alive at exit) without close() still stops its thread.
        self._finalizer = weakref.finalize(self, self._portal.close_abandoned)

    def __repr__(self) -> str:
        return f"<payven_sync.{repr(self._client)[1:]}"

    @property
    def config(self) -> ClientConfig:
        """The resolved settings (the client secret is hidden from its repr)."""
        return self._client.config

    # --- lifetime ---------------------------------------------------------------

    def __enter__(self) -> PayvenClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the client: its HTTP session, then its event-loop thread. Idempotent.

        Open ``query_many`` iterators are stopped (after the outcomes they already hold
        they raise :class:`~payven_sync.ClientClosedError`), calls in flight are allowed
        to finish, and later calls raise :class:`~payven_sync.ClientClosedError`.
        """
        self._portal.close()
        self._finalizer.detach()

    # --- the API: one line each ---------------------------------------------------

    pay = _bridge(AsyncPayvenClient.pay)
    query = _bridge(AsyncPayvenClient.query)
    create_checkout_session = _bridge(AsyncPayvenClient.create_checkout_session)
    get_checkout_session = _bridge(AsyncPayvenClient.get_checkout_session)
    token = _bridge(AsyncPayvenClient.token)
    query_many = _bridge_iter(AsyncPayvenClient.query_many)
    reconcile = _bridge_iter(AsyncPayvenClient.reconcile)
    create_payment = _bridge(AsyncPayvenClient.create_payment)
    init_3ds = _bridge(AsyncPayvenClient.init_3ds)
    complete_3ds = _bridge(AsyncPayvenClient.complete_3ds)
    get_payment = _bridge(AsyncPayvenClient.get_payment)
    get_payment_history = _bridge(AsyncPayvenClient.get_payment_history)
    refund = _bridge(AsyncPayvenClient.refund)
    void = _bridge(AsyncPayvenClient.void)
    capture = _bridge(AsyncPayvenClient.capture)
    create_webhook = _bridge(AsyncPayvenClient.create_webhook)
    list_webhooks = _bridge(AsyncPayvenClient.list_webhooks)
    get_webhook = _bridge(AsyncPayvenClient.get_webhook)
    update_webhook = _bridge(AsyncPayvenClient.update_webhook)
    delete_webhook = _bridge(AsyncPayvenClient.delete_webhook)
    rotate_webhook_secret = _bridge(AsyncPayvenClient.rotate_webhook_secret)
    list_webhook_deliveries = _bridge(AsyncPayvenClient.list_webhook_deliveries)
    list_transactions = _bridge_iter(AsyncPayvenClient.list_transactions)
    get_transaction = _bridge(AsyncPayvenClient.get_transaction)
    get_transaction_history = _bridge(AsyncPayvenClient.get_transaction_history)
    get_trace = _bridge(AsyncPayvenClient.get_trace)
    list_refunds = _bridge_iter(AsyncPayvenClient.list_refunds)
    list_settlements = _bridge_iter(AsyncPayvenClient.list_settlements)
    list_chargebacks = _bridge_iter(AsyncPayvenClient.list_chargebacks)
    start_reconciliation = _bridge(AsyncPayvenClient.start_reconciliation)
    list_reconciliations = _bridge_iter(AsyncPayvenClient.list_reconciliations)
    get_reconciliation = _bridge(AsyncPayvenClient.get_reconciliation)
    list_reconciliation_details = _bridge_iter(AsyncPayvenClient.list_reconciliation_details)
    resolve_reconciliation_detail = _bridge(AsyncPayvenClient.resolve_reconciliation_detail)
    bulk_resolve_reconciliation_details = _bridge(
        AsyncPayvenClient.bulk_resolve_reconciliation_details
    )
    finalize_reconciliation = _bridge(AsyncPayvenClient.finalize_reconciliation)
    cancel_reconciliation = _bridge(AsyncPayvenClient.cancel_reconciliation)
