"""``PayvenClient``: composes configuration, tokens, transport, retries and the wire format."""

from __future__ import annotations

import asyncio
import os
import ssl
import time
import uuid
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
from ._redact import redact_text
from ._responses import decode_answer, error_from_answer, normalise_code
from ._retry import RetryPolicy
from ._throttle import Throttle
from ._transport import Answer, Transport
from ._wire import dumps, encode
from .errors import (
    APIError,
    DecodeError,
    PaymentDeclinedError,
    PaymentOutcomeUnknown,
    PayvenError,
    RateLimitError,
    ServerError,
    TransportError,
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
# Answers after which a pay may have charged although we never learnt the outcome.
_AMBIGUOUS_PAY_STATUSES = frozenset({500, 502, 504})


class PayvenClient:
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
        _validate.check_pay(session_id, request)
        key = idempotency_key if idempotency_key is not None else str(uuid.uuid4())
        _validate.raise_if(_validate.check_id("idempotency_key", key))
        url = f"{self._config.vpos_url}/api/v1/checkout/sessions/{quote(session_id, safe='')}/pay"
        headers = {**_JSON_V1, "Idempotency-Key": key}
        body = dumps(encode(request, "camel"))
        try:
            answer = await self._vpos(
                "POST", url, headers=headers, body=body, timeout=timeout, max_retries=max_retries
            )
            result = decode_answer(answer, PaymentResult, secrets=self._tokens.secrets)
        except (TransportError, ServerError, DecodeError) as exc:
            # DecodeError: a 2xx arrived but we cannot read it, so we cannot tell either.
            if _maybe_charged(exc):
                raise PaymentOutcomeUnknown(
                    f"the pay request was sent but its outcome is unknown ({exc}); "
                    "call pay again with the same idempotency_key, or query the payment",
                    idempotency_key=key,
                    external_id=request.external_id,
                ) from exc
            raise
        if not result.is_success:
            raise _declined(result, answer.correlation_id, self._tokens.secrets)
        return result

    async def query(
        self,
        transaction_id: str,
        *,
        order_id: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
    ) -> PaymentQuery:
        """Query a payment: Payven's record and the bank's (``GET /payments/{id}/query``)."""
        return await self._query(
            transaction_id, order_id=order_id, timeout=timeout, max_retries=max_retries
        )

    async def _query(
        self,
        transaction_id: str,
        *,
        order_id: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        throttle: Throttle | None = None,
    ) -> PaymentQuery:
        problems = _validate.check_id("transaction_id", transaction_id)
        if order_id is not None:
            problems += _validate.check_id("order_id", order_id)
        _validate.raise_if(problems)
        url = f"{self._config.vpos_url}/api/v1/payments/{quote(transaction_id, safe='')}/query"
        if order_id is not None:
            url += f"?order_id={quote(order_id, safe='')}"
        answer = await self._vpos(
            "GET", url, timeout=timeout, max_retries=max_retries, throttle=throttle
        )
        return decode_answer(answer, PaymentQuery, secrets=self._tokens.secrets)

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
        key = idempotency_key if idempotency_key is not None else str(uuid.uuid4())
        _validate.raise_if(_validate.check_id("idempotency_key", key))
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
        """Send an authenticated vpos request with retries; a 401 renews the token once."""
        limits = self._timeout(timeout)
        renewed = False

        async def attempt(number: int, remaining: float) -> Answer:
            nonlocal renewed
            while True:
                token = await self._tokens.access_token()
                answer = await self._transport.send(
                    method,
                    url,
                    headers={**(headers or {}), "Authorization": f"Bearer {token}"},
                    body=body,
                    timeout=_within(limits, remaining),
                    attempt=number,
                )
                if throttle is not None:
                    throttle.observe(answer.headers)
                if answer.status == 401 and not renewed:
                    renewed = True
                    self._tokens.invalidate(token)
                    continue
                return self._check(answer)

        return await self._with_retries(attempt, max_retries=max_retries, throttle=throttle)

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

    async def _with_retries(
        self,
        attempt: Callable[[int, float], Awaitable[Answer]],
        *,
        max_retries: int | None = None,
        throttle: Throttle | None = None,
    ) -> Answer:
        """Run ``attempt`` until it succeeds or the retry policy gives up.

        In a batch, a 429's wait is not slept here but handed to the shared throttle,
        so that all workers pause once together.
        """
        policy = self._retry
        if max_retries is not None:
            _validate.raise_if(_validate.check_retries(max_retries))
            policy = attrs.evolve(policy, max_retries=max_retries)
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


def _maybe_charged(error: PayvenError) -> bool:
    if isinstance(error, DecodeError):
        return True
    if isinstance(error, TransportError):
        return error.request_sent
    return isinstance(error, APIError) and error.status in _AMBIGUOUS_PAY_STATUSES


def _declined(
    result: PaymentResult, correlation_id: str | None, secrets: tuple[str, ...]
) -> PaymentDeclinedError:
    code = normalise_code(result.error_code)
    label = code or "declined"
    detail = redact_text(result.message or "the payment was declined", secrets)
    provider = f", bank code {result.provider_error_code}" if result.provider_error_code else ""
    return PaymentDeclinedError(
        f"payment {label}{provider}: {detail}",
        status=200,
        code=code,
        detail=detail,
        provider_error_code=result.provider_error_code,
        correlation_id=correlation_id,
        result=result,
    )
