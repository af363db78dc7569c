"""``PayvenClient``: composes configuration, tokens, transport, retries and the wire format."""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import TypeVar
from urllib.parse import quote

import aiohttp
import attrs

from . import _validate
from ._auth import TokenManager
from ._batch import ProgressHook, TransactionIds, stream_outcomes
from ._config import ClientConfig, Environment, Timeout, build_config
from ._converters import encode
from ._json import dumps
from ._operations import PaymentOperations, idempotency_key_for
from ._responses import decode_answer, error_from_answer
from ._retry import RetryPolicy
from ._throttle import Throttle
from ._transport import Answer, Transport
from .errors import (
    PayvenError,
    RateLimitError,
)
from .models import (
    CheckoutSession,
    CheckoutSessionRequest,
    PaymentQuery,
    PaymentResult,
    PayRequest,
    QueryOutcome,
    Token,
)

__all__ = ["PayvenClient"]

T = TypeVar("T")

# Generation A (the pay seed) wants the versioned media type; generation B plain JSON.
_JSON_V1 = {"Content-Type": "application/json; ver=1.0"}
_JSON = {"Content-Type": "application/json"}


class PayvenClient(PaymentOperations):
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
    call.
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
    ) -> None:
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
        self._transport = Transport(self._config, session, connection_limit=connection_limit)
        self._retry = RetryPolicy(max_retries=self._config.max_retries)
        self._tokens = TokenManager(self._config, self._post_identity)

    def __repr__(self) -> str:
        config = self._config
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
        await self._transport.aclose()

    # --- the API ------------------------------------------------------------------

    async def pay(
        self,
        session_id: str,
        request: PayRequest,
        *,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
    ) -> PaymentResult:
        """Pay a checkout session with a card (``POST /checkout/sessions/{id}/pay``).

        Every attempt carries the same ``Idempotency-Key`` (yours, or a fresh UUID for
        this call), so a retried pay never charges twice.

        Raises :class:`PaymentDeclinedError` when the payment is declined, and
        :class:`PaymentOutcomeUnknown` when it was sent but no answer could be had.
        """
        segment = _validate.check_pay(session_id, request)
        key = idempotency_key_for(idempotency_key)
        return await self._move_money(
            f"{self._config.vpos_url}/api/v1/checkout/sessions/{segment}/pay",
            encode(request, "camel"),
            key=key,
            what="payment",
            call="pay",
            external_id=request.external_id,
            timeout=timeout,
            max_retries=max_retries,
            # The pay seed (generation A) sends the versioned media type.
            content_type=_JSON_V1,
        )

    async def query(
        self,
        transaction_id: str,
        *,
        order_id: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
    ) -> PaymentQuery:
        """Query a payment: Payven's record and the bank's (``GET /payments/{id}/query``)."""
        # Not a call to _query(): one coroutine frame less on every call.
        url = self._query_url(transaction_id, order_id)
        answer = await self._vpos("GET", url, timeout=timeout, max_retries=max_retries)
        return decode_answer(answer, PaymentQuery, secrets=self._tokens.secrets)

    async def _query(
        self,
        transaction_id: str,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        throttle: Throttle | None = None,
    ) -> PaymentQuery:
        """:meth:`query` for a batch, whose requests share ``throttle``."""
        url = self._query_url(transaction_id, None)
        answer = await self._vpos(
            "GET", url, timeout=timeout, max_retries=max_retries, throttle=throttle
        )
        return decode_answer(answer, PaymentQuery, secrets=self._tokens.secrets)

    def _query_url(self, transaction_id: str, order_id: str | None) -> str:
        """The query URL for valid ids; raises a ValidationError for bad ones."""
        if order_id is None and _validate.plain_id(transaction_id):  # the usual query
            return f"{self._config.vpos_url}/api/v1/payments/{transaction_id}/query"
        problems = _validate.check_id("transaction_id", transaction_id)
        if order_id is not None:
            problems += _validate.check_id("order_id", order_id)
        _validate.raise_if(problems)
        segment = _validate.path_segment(transaction_id)
        url = f"{self._config.vpos_url}/api/v1/payments/{segment}/query"
        if order_id is not None:
            url += f"?order_id={quote(order_id, safe='')}"
        return url

    async def create_checkout_session(
        self,
        request: CheckoutSessionRequest,
        *,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
    ) -> CheckoutSession:
        """Create a hosted-checkout session (``POST /checkout/sessions``) to pay."""
        _validate.check_checkout_session_request(request)
        key = idempotency_key_for(idempotency_key)
        url = f"{self._config.vpos_url}/api/v1/checkout/sessions"
        headers = {**_JSON, "Idempotency-Key": key}
        body = dumps(encode(request, "snake"))
        answer = await self._vpos(
            "POST", url, headers=headers, body=body, timeout=timeout, max_retries=max_retries
        )
        return decode_answer(answer, CheckoutSession, secrets=self._tokens.secrets)

    async def get_checkout_session(
        self,
        session_id: str,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
    ) -> CheckoutSession:
        """Fetch a checkout session and its status (``GET /checkout/sessions/{id}``)."""
        _validate.raise_if(_validate.check_id("session_id", session_id))
        url = f"{self._config.vpos_url}/api/v1/checkout/sessions/{quote(session_id, safe='')}"
        answer = await self._vpos("GET", url, timeout=timeout, max_retries=max_retries)
        return decode_answer(answer, CheckoutSession, secrets=self._tokens.secrets)

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
        """
        _validate.raise_if(_validate.check_batch(concurrency, rate_limit))
        if max_retries is not None:
            _validate.raise_if(_validate.check_retries(max_retries))
        throttle = Throttle(rate_limit)
        self._transport.ensure_capacity(concurrency)

        def query_one(transaction_id: str) -> Awaitable[PaymentQuery]:
            return self._query(
                transaction_id, timeout=timeout, max_retries=max_retries, throttle=throttle
            )

        return stream_outcomes(
            query_one,
            transaction_ids,
            concurrency=concurrency,
            ordered=ordered,
            fail_fast=fail_fast,
            progress=progress,
        )

    async def token(self) -> Token:
        """The current access token, fetched or renewed first if needed."""
        return await self._tokens.current_token()

    # --- plumbing -----------------------------------------------------------------

    def _timeout(self, timeout: float | Timeout | None) -> Timeout:
        if timeout is None:
            return self._config.timeout
        if isinstance(timeout, Timeout):
            return timeout
        return Timeout(
            total=float(timeout), connect=min(float(timeout), self._config.timeout.connect)
        )

    async def _vpos(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: float | Timeout | None,
        max_retries: int | None,
        throttle: Throttle | None = None,
    ) -> Answer:
        """Send an authenticated vpos request with retries; a 401 renews the token once.

        The same loop as :meth:`_with_retries` around one attempt, written out inline
        because this is every API call's hot path: no closure, no ``await`` for a
        token that is still valid or for a throttle with nothing to wait for. In a
        batch, a 429's wait is handed to the shared throttle instead of slept here.
        """
        limits = self._config.timeout if timeout is None else self._timeout(timeout)
        policy = self._retry if max_retries is None else self._policy(max_retries)
        tokens = self._tokens
        send = self._transport.send
        renewed = False
        started = time.monotonic()
        # No attempt outlasts the call's deadline; a retry's limits are cut to what is
        # left of it (below).
        attempt_timeout = _within(limits, policy.deadline)
        number = 1
        while True:
            if throttle is not None and throttle.must_wait():
                await throttle.acquire()
            try:
                while True:  # one attempt: a 401 renews the token and replays, once per call
                    token = tokens.valid_token() or await tokens.access_token()
                    authorization = f"Bearer {token}"
                    answer = await send(
                        method,
                        url,
                        headers={**headers, "Authorization": authorization}
                        if headers
                        else {"Authorization": authorization},
                        body=body,
                        timeout=attempt_timeout,
                        attempt=number,
                    )
                    if throttle is not None:
                        throttle.observe(answer.headers)
                    if answer.status != 401 or renewed:
                        break
                    renewed = True
                    tokens.invalidate(token)
                if answer.status >= 400:
                    raise error_from_answer(answer, secrets=tokens.secrets)
                return answer
            except PayvenError as exc:
                delay = policy.next_delay(exc, number, time.monotonic() - started)
                if delay is None:
                    raise
                if throttle is not None and isinstance(exc, RateLimitError):
                    throttle.pause_for(delay)
                    delay = 0.0
            number += 1
            if delay:
                await asyncio.sleep(delay)
            attempt_timeout = _within(limits, policy.deadline - (time.monotonic() - started))

    async def _post_identity(self, path: str, body: bytes) -> Answer:
        """Send an identity request (token, refresh) with retries; never authenticated."""
        url = f"{self._config.identity_url}{path}"
        limits = self._config.timeout

        async def attempt(number: int, remaining: float) -> Answer:
            answer = await self._transport.send(
                "POST",
                url,
                headers=_JSON,
                body=body,
                timeout=_within(limits, remaining),
                attempt=number,
            )
            return self._check(answer)

        return await self._with_retries(attempt)

    def _check(self, answer: Answer) -> Answer:
        if answer.status >= 400:
            raise error_from_answer(answer, secrets=self._tokens.secrets)
        return answer

    def _policy(self, max_retries: int | None) -> RetryPolicy:
        """The client's retry policy, with a per-call ``max_retries`` (checked) if given."""
        if max_retries is None:
            return self._retry
        _validate.raise_if(_validate.check_retries(max_retries))
        return attrs.evolve(self._retry, max_retries=max_retries)

    async def _with_retries(
        self,
        attempt: Callable[[int, float], Awaitable[Answer]],
        *,
        max_retries: int | None = None,
        throttle: Throttle | None = None,
    ) -> Answer:
        """Run ``attempt`` until it succeeds or the retry policy gives up.

        In a batch, a 429's wait is not slept here but handed to the shared throttle,
        so that all workers pause once together. (:meth:`_vpos` inlines this loop.)
        """
        policy = self._policy(max_retries)
        started = time.monotonic()
        number = 1
        while True:
            if throttle is not None:
                await throttle.acquire()
            try:
                return await attempt(number, policy.deadline - (time.monotonic() - started))
            except PayvenError as exc:
                delay = policy.next_delay(exc, number, time.monotonic() - started)
                if delay is None:
                    raise
                if throttle is not None and isinstance(exc, RateLimitError):
                    throttle.pause_for(delay)
                    delay = 0.0
            number += 1
            if delay:
                await asyncio.sleep(delay)


def _within(limits: Timeout, remaining: float) -> Timeout:
    """Shorten an attempt's timeout so that it cannot outlast the call's deadline."""
    if remaining >= limits.total:
        return limits
    total = max(remaining, 0.001)
    return Timeout(total=total, connect=min(limits.connect, total))
