"""``PayvenClient``: composes configuration, the transport and the call pipeline.

Every method is the same two steps: the operation's row of the table checks the
arguments and builds the request (:meth:`~payven_async._operations.Operation.prepare`,
before any I/O), and the pipeline runs it (:meth:`~payven_async._pipeline.Pipeline.run`:
token, retries, deadline, outcome). The methods exist to be typed and documented.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Container,
    Iterable,
    Mapping,
)
from datetime import date
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from . import _logging, _operations as ops, _validate as validate
from ._aiohttp import AiohttpTransport
from ._batch import ProgressHook, TransactionIds, stream_outcomes
from ._client_listing import DEFAULT_PAGE_SIZE, ListingMethods
from ._config import ClientConfig, Environment, Timeout, build_config
from ._pipeline import OnRetry, Pipeline
from ._redact import SecretText
from ._throttle import Throttle
from ._transport import Transport
from .errors import ConfigurationError
from .models import (
    CheckoutSession,
    CheckoutSessionRequest,
    PaymentQuery,
    PaymentResult,
    PayRequest,
    QueryOutcome,
    Token,
)
from .stores import RateLimiter, TokenStore

if TYPE_CHECKING:
    import aiohttp

    from ._listing_models import Transaction
    from ._operation_models import (
        CaptureRequest,
        PaymentHistory,
        PaymentRequest,
        RefundRequest,
        ThreeDSInitRequest,
        VoidRequest,
    )
    from ._reconcile import ExpectedRecord, ReconciliationItem
    from ._webhook_models import (
        Acknowledged,
        WebhookDeliveryLogList,
        WebhookSubscription,
        WebhookSubscriptionList,
        WebhookSubscriptionRequest,
    )

__all__ = ["PayvenClient"]

T = TypeVar("T")


class PayvenClient(ListingMethods):
    """The async Payven client.

    Construct it with credentials (or ``PAYVEN_*`` environment variables) and use it as
    an async context manager, or call :meth:`aclose` when done. Constructing it opens
    nothing; the HTTP session is created on first use. The access token is fetched,
    cached and renewed automatically.

    Pass ``session=`` to use your own ``aiohttp.ClientSession``; the client then never
    closes it. TLS certificates are always verified; ``ssl_context=`` or ``ca_bundle=``
    (a PEM file) change what is trusted, never whether.

    ``timeout`` is seconds per HTTP attempt (or a :class:`Timeout` with ``total`` and
    ``connect``; defaults 30 s and 10 s); ``max_retries`` is how many times a failed
    call is retried on faults a retry may cure (default 2). Both can be overridden per
    call, and the override reaches the token request the call may need.

    ``on_retry`` is a hook (or several) called with a
    :class:`~payven_async.RetryDetails` before every retry, e.g. to log or count them.
    ``transport`` replaces HTTP altogether, e.g. with a
    :class:`~payven_async.MemoryTransport` that answers from a function in tests.

    ``token_store`` shares one access token with other clients and processes, and
    ``rate_limiter`` one request rate (every call's, ``query_many``'s too) and the
    pauses the server asks for: see :mod:`payven_async.stores` (``RedisTokenStore``
    and ``RedisRateLimiter`` for a fleet). Both are the caller's; closing the client
    only lets go of the connections it used.

    ``proxy`` is an HTTP proxy's URL (``http://user:pass@proxy:3128``) for every
    request; ``trust_env=True`` lets aiohttp read ``HTTPS_PROXY`` / ``HTTP_PROXY`` /
    ``NO_PROXY`` (and ``~/.netrc``) from the environment, which is ignored otherwise.
    With ``session=`` none of ``ssl_context``, ``ca_bundle``, ``proxy``, ``trust_env``
    may be given: your session's settings apply, so they would be ignored (a
    :class:`ConfigurationError` says so).

    ``instrument=True`` (or a ``tracer_provider`` / ``meter_provider``) makes a span
    per call and records metrics through OpenTelemetry (``pip install
    'payven[otel]'``); the global providers are used unless you pass your own.

    Every method takes ``extra_headers``, headers of yours for that call (a tenant
    id, your own ``X-Correlation-Id``); it may not set ``Authorization``,
    ``Idempotency-Key``, ``Content-Type``, ``Content-Length`` or ``Host``.
    Results and errors carry ``.meta`` (:class:`~payven_async.ResponseMeta`).
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
        session: aiohttp.ClientSession | None = None,
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
        if client_secret is not None:  # masked in this frame's locals (a ConfigurationError)
            client_secret = SecretText(client_secret)
        self._config: ClientConfig = build_config(
            client_id=client_id,
            client_secret=client_secret,
            slug=slug,
            environment=environment,
            identity_url=identity_url,
            vpos_url=vpos_url,
            timeout=timeout,
            max_retries=max_retries,
            ssl_context=ssl_context,
            ca_bundle=ca_bundle,
        )
        _logging.configure_from_env()
        if session is not None:
            # Your session decides its own TLS and proxies: these would be ignored.
            given = [
                name
                for name, value in (
                    ("ssl_context", ssl_context),
                    ("ca_bundle", ca_bundle),
                    ("proxy", proxy),
                    ("trust_env", trust_env or None),
                    ("transport", transport),
                )
                if value is not None
            ]
            if given:
                raise ConfigurationError(
                    f"session= is your own aiohttp session: configure it yourself instead "
                    f"of passing {', '.join(n + '=' for n in given)}"
                )
        if transport is None:
            transport = AiohttpTransport(
                self._config,
                session,
                connection_limit=connection_limit,
                proxy=validate.proxy_url(proxy),
                trust_env=trust_env,
            )
        self._transport = transport
        hooks = () if on_retry is None else (on_retry,) if callable(on_retry) else on_retry
        self._pipeline = Pipeline(
            self._config,
            transport,
            on_retry=hooks,
            token_store=token_store,
            rate_limiter=rate_limiter,
        )
        self._shared = tuple(s for s in (token_store, rate_limiter) if s is not None)
        if instrument or tracer_provider is not None or meter_provider is not None:
            from ._telemetry import Telemetry  # only then: OpenTelemetry is an extra

            self._pipeline.telemetry = Telemetry(tracer_provider, meter_provider)
        self._tokens = self._pipeline.tokens
        self._vpos_url = self._config.vpos_url

    def __repr__(self) -> str:
        config: ClientConfig | None = getattr(self, "_config", None)
        if config is None:  # __init__ failed: error trackers still render its frame
            return "<PayvenClient (not configured)>"
        return (
            f"<PayvenClient client_id={config.client_id!r} slug={config.slug!r} "
            f"environment={config.environment!r} vpos_url={config.vpos_url!r}>"
        )

    @property
    def config(self) -> ClientConfig:
        """The resolved settings (the client secret is hidden from its repr)."""
        return self._config

    # --- lifetime ---------------------------------------------------------------

    async def __aenter__(self) -> PayvenClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session (unless it is the caller's). Idempotent."""
        self._pipeline.closed = True
        await self._transport.aclose()
        for shared in self._shared:  # the connections this loop holds, not the store
            await shared.release()

    # --- checkout -----------------------------------------------------------------

    async def pay(
        self,
        session_id: str,
        request: PayRequest,
        *,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> PaymentResult:
        """Pay a checkout session with a card (``POST /checkout/sessions/{id}/pay``).

        Every attempt carries the same ``Idempotency-Key`` (yours, or a fresh UUID for
        this call), so a retried pay never charges twice.

        Raises :class:`PaymentDeclinedError` when the payment is declined, and
        :class:`PaymentOutcomeUnknown` when it was sent but no answer could be had.
        """
        # prepare and run written out, not through _call: a Python call less per pay.
        prepared = ops.PAY.prepare(
            self._vpos_url,
            session_id,
            body=request,
            idempotency_key=idempotency_key,
            authorization=self._tokens.valid_bearer(),
            extra_headers=extra_headers,
        )
        return await self._pipeline.run(ops.PAY, prepared, timeout=timeout, max_retries=max_retries)

    async def query(
        self,
        transaction_id: str,
        *,
        order_id: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> PaymentQuery:
        """Query a payment: Payven's record and the bank's (``GET /payments/{id}/query``)."""
        # prepare and run written out, not through _call: a Python call less per query.
        prepared = ops.QUERY.prepare(
            self._vpos_url,
            transaction_id,
            query=None if order_id is None else {"order_id": order_id},
            authorization=self._tokens.valid_bearer(),
            extra_headers=extra_headers,
        )
        return await self._pipeline.run(
            ops.QUERY, prepared, timeout=timeout, max_retries=max_retries
        )

    async def create_checkout_session(
        self,
        request: CheckoutSessionRequest,
        *,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> CheckoutSession:
        """Create a hosted-checkout session (``POST /checkout/sessions``) to pay."""
        return await self._call(
            ops.CREATE_CHECKOUT_SESSION,
            body=request,
            idempotency_key=idempotency_key,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def get_checkout_session(
        self,
        session_id: str,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> CheckoutSession:
        """Fetch a checkout session and its status (``GET /checkout/sessions/{id}``)."""
        return await self._call(
            ops.GET_CHECKOUT_SESSION,
            session_id,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    def query_many(
        self,
        transaction_ids: TransactionIds,
        *,
        concurrency: int = 32,
        ordered: bool = False,
        rate_limit: float | None = None,
        fail_fast: bool = False,
        progress: ProgressHook | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncGenerator[QueryOutcome, None]:
        """Query many payments concurrently, yielding one :class:`QueryOutcome` per id.

        ``transaction_ids`` may be any iterable or async iterable; it is consumed lazily.
        At most ``concurrency`` queries are in flight. Outcomes come as they complete,
        or in input order with ``ordered=True``. A failed query is an outcome carrying
        its error; with ``fail_fast=True`` the first error is raised instead.
        ``progress`` is called with each outcome before it is yielded.

        ``rate_limit`` caps the batch at that many requests per second. When the server
        answers 429, or reports ``X-RateLimit-Remaining: 0``, the whole batch pauses
        once until the time it names, then goes on; the ids concerned are retried.

        ``extra_headers`` go with every query of the batch (checked once, up front).
        """
        problems = validate.check_batch(concurrency, rate_limit)
        if max_retries is not None:
            problems += validate.retries_problems(max_retries)
        if extra_headers is not None:
            ops.extra_headers_problems(extra_headers, problems)
        validate.raise_if(problems)
        throttle = Throttle(rate_limit)
        self._transport.reserve(concurrency)
        run, query, vpos_url, tokens = self._pipeline.run, ops.QUERY, self._vpos_url, self._tokens

        def query_one(transaction_id: str) -> Awaitable[PaymentQuery]:
            # Not an async def: the coroutine is run's own, one frame less per id.
            bearer = tokens.valid_bearer()
            prepared = query.prepare(
                vpos_url, transaction_id, authorization=bearer, extra_headers=extra_headers
            )
            return run(query, prepared, timeout=timeout, max_retries=max_retries, throttle=throttle)

        return stream_outcomes(
            query_one,
            transaction_ids,
            concurrency=concurrency,
            ordered=ordered,
            fail_fast=fail_fast,
            progress=progress,
        )

    def reconcile(
        self,
        transaction_ids: TransactionIds | None = None,
        *,
        start_date: date | None = None,
        end_date: date | None = None,
        expected: Mapping[str, ExpectedRecord] | None = None,
        concurrency: int = 32,
        rate_limit: float | None = None,
        page_size: int | None = None,
        progress: Callable[[ReconciliationItem], None] | None = None,
        skip: Container[str] | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncGenerator[ReconciliationItem, None]:
        """Query every transaction and report where the three views of it disagree.

        Give ``transaction_ids`` (any iterable or async iterable), or a date window
        (``start_date``, ``end_date``) whose transactions are listed, or neither and
        only ``expected``: the merchant's own records, transaction id ->
        :class:`ExpectedRecord`. Every id of ``expected`` that was not among the ids
        is queried too, after them.

        Yields one :class:`ReconciliationItem` per transaction, as the answers come:
        the merchant's record, Payven's (``internal``) and the bank's (``external``),
        and the :class:`Mismatch` es found (see :class:`MismatchKind`). A query that
        failed is an item carrying its ``error``, never a gap. The queries run through
        :meth:`query_many`: ``concurrency``, ``rate_limit``, ``timeout`` and
        ``max_retries`` mean the same (``extra_headers`` too, also on the listing), and
        one token serves them all. ``page_size`` is
        the listing's page size for a date window. ``progress`` is called with each
        item before it is yielded. ``skip`` holds ids already reconciled (a set, say,
        when resuming an interrupted run): they are neither queried nor reported.
        Memory stays flat in the number of transactions (besides ``expected`` and
        ``skip`` themselves). Give each id once: an id given twice is queried twice.
        """
        from ._reconcile import check_reconcile, reconcile_items

        problems = check_reconcile(transaction_ids, start_date, end_date, expected)
        problems += validate.check_batch(concurrency, rate_limit)
        validate.raise_if(problems)
        ids: TransactionIds | None = transaction_ids
        if start_date is not None or end_date is not None:
            # Called here, not inside the generator: its arguments are checked now.
            listing = self.list_transactions(
                start_date=start_date,
                end_date=end_date,
                page_size=DEFAULT_PAGE_SIZE if page_size is None else page_size,
                timeout=timeout,
                max_retries=max_retries,
                extra_headers=extra_headers,
            )
            ids = _transaction_ids(listing)

        def query_many(source: TransactionIds) -> AsyncGenerator[QueryOutcome, None]:
            return self.query_many(
                source,
                concurrency=concurrency,
                rate_limit=rate_limit,
                timeout=timeout,
                max_retries=max_retries,
                extra_headers=extra_headers,
            )

        return reconcile_items(query_many, ids, expected, progress, skip)

    async def token(self) -> Token:
        """The current access token, fetched or renewed first if needed."""
        return await self._tokens.current_token()

    # --- payments ---------------------------------------------------------------------

    async def create_payment(
        self,
        request: PaymentRequest,
        *,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> PaymentResult:
        """Take a direct (Non-3D) payment, or a pre-auth (``POST /payments``).

        Every attempt carries the same ``Idempotency-Key`` (yours, or a fresh UUID for
        this call), so a retried payment never charges twice.

        Raises :class:`PaymentDeclinedError` when it is declined, and
        :class:`PaymentOutcomeUnknown` when it was sent but no answer could be had.
        """
        return await self._call(
            ops.CREATE_PAYMENT,
            body=request,
            idempotency_key=idempotency_key,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def init_3ds(
        self,
        request: ThreeDSInitRequest,
        *,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> PaymentResult:
        """Start a 3-D Secure payment (``POST /payments/3d/init``).

        The answer's status is ``three_d_secure_init_processing``; send the customer to
        the bank: render :attr:`PaymentResult.html_content` when there is one, else
        redirect to :attr:`PaymentResult.redirect_url` (with
        :attr:`PaymentResult.redirect_method`). The bank sends the customer back to
        ``callback_url``; then :meth:`complete_3ds` (or :meth:`get_payment`) tells the
        outcome.

        Raises :class:`PaymentDeclinedError` when it is refused, and
        :class:`PaymentOutcomeUnknown` when it was sent but no answer could be had.
        """
        return await self._call(
            ops.INIT_3DS,
            body=request,
            idempotency_key=idempotency_key,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def complete_3ds(
        self,
        transaction_id: str,
        *,
        need_verification: bool = True,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> PaymentResult:
        """Complete a 3-D Secure payment after the bank's page (``POST /payments/3d/complete``).

        Payven normally completes it by itself when the bank calls back; call this to
        complete it by hand. ``need_verification`` asks Payven to verify the 3-D Secure
        authentication first. The answer's status is ``completed`` (``authorized`` for
        a pre-auth).

        Raises :class:`PaymentDeclinedError` when the bank declines it, and
        :class:`PaymentOutcomeUnknown` when it was sent but no answer could be had.
        """
        from ._operation_models import ThreeDSCompleteRequest

        return await self._call(
            ops.COMPLETE_3DS,
            body=ThreeDSCompleteRequest(
                transaction_id=transaction_id, need_verification=need_verification
            ),
            idempotency_key=idempotency_key,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def get_payment(
        self,
        transaction_id: str,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> PaymentResult:
        """A payment's current state as Payven records it (``GET /payments/{id}``).

        Returns the ``PaymentStatusDto`` shape: ``amount``, ``currency``,
        ``is_3d_secure``, ``created`` and ``basket_id`` filled. A failed payment is not
        an error here: its ``is_success`` is False, with ``error_code`` and
        ``provider_error_code`` set. Raises :class:`NotFoundError` for an unknown id.
        """
        return await self._call(
            ops.GET_PAYMENT,
            transaction_id,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def get_payment_history(
        self,
        transaction_id: str,
        *,
        order_id: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> PaymentHistory:
        """A payment's steps, oldest first (``GET /payments/{id}/history``)."""
        return await self._call(
            ops.GET_PAYMENT_HISTORY,
            transaction_id,
            query={"order_id": order_id},
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    # --- after the payment ------------------------------------------------------------

    async def refund(
        self,
        transaction_id: str,
        request: RefundRequest,
        *,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> PaymentResult:
        """Refund part or all of a payment (``POST /payments/{id}/refund``).

        ``request.amount`` (minor units) is always sent: less than what is left is a
        partial refund (several may follow), exactly what is left a full one (the
        status becomes ``refunded``). ``extra_properties`` of the answer carry
        ``refund_amount`` and ``remaining_refundable`` where the connector fills them.
        Pass a business ``idempotency_key`` such as ``refund-{transaction_id}-{n}`` to
        make the refund safe to repeat across restarts too.

        Raises :class:`InvalidRequestError` (``code`` ``refund_exceeds_original``,
        ``payment_not_refundable``, ...) when the ledger refuses it,
        :class:`PaymentDeclinedError` when the bank declines it, and
        :class:`PaymentOutcomeUnknown` when it was sent but no answer could be had.
        """
        return await self._call(
            ops.REFUND,
            transaction_id,
            body=request,
            idempotency_key=idempotency_key,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def void(
        self,
        transaction_id: str,
        request: VoidRequest | None = None,
        *,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> PaymentResult:
        """Cancel a whole payment before the day's settlement (``POST /payments/{id}/void``).

        Also releases an uncaptured pre-auth. The status becomes ``canceled``. After
        settlement, refund instead.

        Raises :class:`InvalidRequestError` (``code`` ``payment_already_voided``,
        ``void_not_allowed_after_settlement``, ...) when the ledger refuses it,
        :class:`PaymentDeclinedError` when the bank declines it, and
        :class:`PaymentOutcomeUnknown` when it was sent but no answer could be had.
        """
        return await self._call(
            ops.VOID,
            transaction_id,
            body=request,
            idempotency_key=idempotency_key,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def capture(
        self,
        transaction_id: str,
        request: CaptureRequest,
        *,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> PaymentResult:
        """Turn a pre-auth into a charge (``POST /payments/{id}/capture``).

        ``request.amount`` is at most the authorised amount; the rest is released. One
        capture per pre-auth, within 24 hours of it.

        Raises :class:`InvalidRequestError` (``code`` ``payment_already_captured``,
        ``pre_auth_expired``, ``capture_amount_exceeds_authorization``,
        ``payment_not_pre_auth``, ...) when the ledger refuses it,
        :class:`PaymentDeclinedError` when the bank declines it, and
        :class:`PaymentOutcomeUnknown` when it was sent but no answer could be had.
        """
        return await self._call(
            ops.CAPTURE,
            transaction_id,
            body=request,
            idempotency_key=idempotency_key,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    # --- webhook subscriptions ---------------------------------------------------------

    async def create_webhook(
        self,
        request: WebhookSubscriptionRequest,
        *,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> WebhookSubscription:
        """Subscribe a URL to webhook events (``POST /webhooks``).

        The answer's ``secret`` (``whsec_…``) signs the deliveries: store it now, it is
        shown once (``verify_webhook`` reads it from ``PAYVEN_WEBHOOK_SECRET`` too).
        """
        return await self._call(
            ops.CREATE_WEBHOOK,
            body=request,
            idempotency_key=idempotency_key,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def list_webhooks(
        self,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> WebhookSubscriptionList:
        """The account's webhook subscriptions (``GET /webhooks``), iterable."""
        return await self._call(
            ops.LIST_WEBHOOKS, timeout=timeout, max_retries=max_retries, extra_headers=extra_headers
        )

    async def get_webhook(
        self,
        webhook_id: str,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> WebhookSubscription:
        """One webhook subscription (``GET /webhooks/{id}``); NotFoundError if unknown."""
        return await self._call(
            ops.GET_WEBHOOK,
            webhook_id,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def update_webhook(
        self,
        webhook_id: str,
        request: WebhookSubscriptionRequest,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Acknowledged:
        """Replace a subscription's URL, events, description, retries (``PUT /webhooks/{id}``).

        The service answers 204 with no body: the result only carries ``.meta``.
        """
        return await self._call(
            ops.UPDATE_WEBHOOK,
            webhook_id,
            body=request,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def delete_webhook(
        self,
        webhook_id: str,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Acknowledged:
        """Delete a subscription (``DELETE /webhooks/{id}``). Never retried: a repeat
        that had worked would answer 404."""
        return await self._call(
            ops.DELETE_WEBHOOK,
            webhook_id,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def rotate_webhook_secret(
        self,
        webhook_id: str,
        *,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> WebhookSubscription:
        """A new signing secret (``POST /webhooks/{id}/rotate-secret``), in ``secret``.

        The old secret stays valid for 24 hours: verify with both meanwhile
        (``verify_webhook(body, headers, [new, old])``).
        """
        return await self._call(
            ops.ROTATE_WEBHOOK_SECRET,
            webhook_id,
            idempotency_key=idempotency_key,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def list_webhook_deliveries(
        self,
        webhook_id: str,
        *,
        page: int | None = None,
        page_size: int | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> WebhookDeliveryLogList:
        """A page of a subscription's delivery attempts (``GET /webhooks/{id}/deliveries``)."""
        validate.raise_if(validate.page_problems(page, page_size))
        return await self._call(
            ops.LIST_WEBHOOK_DELIVERIES,
            webhook_id,
            query={
                "page": None if page is None else str(page),
                "page_size": None if page_size is None else str(page_size),
            },
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    # --- plumbing -----------------------------------------------------------------

    def _call(
        self,
        operation: ops.Operation[T],
        *ids: Any,
        body: Any = None,
        query: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None,
        max_retries: int | None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Awaitable[T]:
        """Prepare ``operation``'s request (checked, before any I/O) and run it.

        Not an async def: it returns the pipeline's coroutine, one frame less per call.
        """
        prepared = operation.prepare(
            self._vpos_url,
            *ids,
            body=body,
            query=query,
            idempotency_key=idempotency_key,
            authorization=self._tokens.valid_bearer(),
            extra_headers=extra_headers,
        )
        return self._pipeline.run(operation, prepared, timeout=timeout, max_retries=max_retries)


async def _transaction_ids(listing: AsyncIterator[Transaction]) -> AsyncGenerator[str, None]:
    """The ids of the listed transactions, page after page."""
    async for transaction in listing:
        yield transaction.id
