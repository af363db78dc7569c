"""``PayvenClient``: composes configuration, tokens, transport, retries and the wire format."""

from __future__ import annotations

import asyncio
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp

from . import _validate
from ._auth import TokenManager
from ._batch import ProgressHook, TransactionIds, stream_outcomes
from ._config import ClientConfig, Environment, Timeout, build_config
from ._redact import redact_text
from ._responses import decode_answer, error_from_answer, normalise_code
from ._retry import RetryPolicy
from ._transport import Answer, Transport
from ._wire import dumps, encode
from .errors import (
    APIError,
    PaymentDeclinedError,
    PaymentOutcomeUnknown,
    PayvenError,
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
    closes it.
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
            answer = await self._vpos("POST", url, headers=headers, body=body, timeout=timeout)
        except (TransportError, ServerError) as exc:
            if _maybe_charged(exc):
                raise PaymentOutcomeUnknown(
                    f"the pay request was sent but its outcome is unknown ({exc}); "
                    "call pay again with the same idempotency_key, or query the payment",
                    idempotency_key=key,
                    external_id=request.external_id,
                ) from exc
            raise
        result = decode_answer(answer, PaymentResult, secrets=self._tokens.secrets)
        if not result.is_success:
            raise _declined(result, self._tokens.secrets)
        return result

    async def query(
        self,
        transaction_id: str,
        *,
        order_id: str | None = None,
        timeout: float | Timeout | None = None,
    ) -> PaymentQuery:
        """Query a payment: Payven's record and the bank's (``GET /payments/{id}/query``)."""
        problems = _validate.check_id("transaction_id", transaction_id)
        if order_id is not None:
            problems += _validate.check_id("order_id", order_id)
        _validate.raise_if(problems)
        url = f"{self._config.vpos_url}/api/v1/payments/{quote(transaction_id, safe='')}/query"
        if order_id is not None:
            url += f"?order_id={quote(order_id, safe='')}"
        answer = await self._vpos("GET", url, timeout=timeout)
        return decode_answer(answer, PaymentQuery, secrets=self._tokens.secrets)

    async def create_checkout_session(
        self,
        request: CheckoutSessionRequest,
        *,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
    ) -> CheckoutSession:
        """Create a hosted-checkout session (``POST /checkout/sessions``) to pay."""
        _validate.check_checkout_session_request(request)
        key = idempotency_key if idempotency_key is not None else str(uuid.uuid4())
        _validate.raise_if(_validate.check_id("idempotency_key", key))
        url = f"{self._config.vpos_url}/api/v1/checkout/sessions"
        headers = {**_JSON, "Idempotency-Key": key}
        body = dumps(encode(request, "snake"))
        answer = await self._vpos("POST", url, headers=headers, body=body, timeout=timeout)
        return decode_answer(answer, CheckoutSession, secrets=self._tokens.secrets)

    async def get_checkout_session(
        self, session_id: str, *, timeout: float | Timeout | None = None
    ) -> CheckoutSession:
        """Fetch a checkout session and its status (``GET /checkout/sessions/{id}``)."""
        _validate.raise_if(_validate.check_id("session_id", session_id))
        url = f"{self._config.vpos_url}/api/v1/checkout/sessions/{quote(session_id, safe='')}"
        answer = await self._vpos("GET", url, timeout=timeout)
        return decode_answer(answer, CheckoutSession, secrets=self._tokens.secrets)

    async def query_many(
        self,
        transaction_ids: TransactionIds,
        *,
        concurrency: int = 32,
        ordered: bool = False,
        fail_fast: bool = False,
        progress: ProgressHook | None = None,
    ) -> AsyncIterator[QueryOutcome]:
        """Query many payments concurrently, yielding one :class:`QueryOutcome` per id.

        ``transaction_ids`` may be any iterable or async iterable; it is consumed lazily.
        At most ``concurrency`` queries are in flight. Outcomes come as they complete,
        or in input order with ``ordered=True``. A failed query is an outcome carrying
        its error; with ``fail_fast=True`` the first error is raised instead.
        ``progress`` is called with each outcome before it is yielded.
        """
        async for outcome in stream_outcomes(
            self.query,
            transaction_ids,
            concurrency=concurrency,
            ordered=ordered,
            fail_fast=fail_fast,
            progress=progress,
        ):
            yield outcome

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
    ) -> Answer:
        """Send an authenticated vpos request with retries; a 401 renews the token once."""
        limits = self._timeout(timeout)
        renewed = False

        async def attempt(number: int) -> Answer:
            nonlocal renewed
            while True:
                token = await self._tokens.access_token()
                answer = await self._transport.send(
                    method,
                    url,
                    headers={**(headers or {}), "Authorization": f"Bearer {token}"},
                    body=body,
                    timeout=limits,
                    attempt=number,
                )
                if answer.status == 401 and not renewed:
                    renewed = True
                    self._tokens.invalidate(token)
                    continue
                return self._check(answer)

        return await self._with_retries(attempt)

    async def _post_identity(self, path: str, body: bytes) -> Answer:
        """Send an identity request (token, refresh) with retries; never authenticated."""
        url = f"{self._config.identity_url}{path}"
        limits = self._config.timeout

        async def attempt(number: int) -> Answer:
            answer = await self._transport.send(
                "POST", url, headers=_JSON, body=body, timeout=limits, attempt=number
            )
            return self._check(answer)

        return await self._with_retries(attempt)

    def _check(self, answer: Answer) -> Answer:
        if answer.status >= 400:
            raise error_from_answer(answer, secrets=self._tokens.secrets)
        return answer

    async def _with_retries(self, attempt: Any) -> Answer:
        started = time.monotonic()
        number = 1
        while True:
            try:
                result: Answer = await attempt(number)
                return result
            except PayvenError as exc:
                delay = self._retry.next_delay(exc, number, time.monotonic() - started)
                if delay is None:
                    raise
            number += 1
            await asyncio.sleep(delay)


def _maybe_charged(error: PayvenError) -> bool:
    if isinstance(error, TransportError):
        return error.request_sent
    return isinstance(error, APIError) and error.status in _AMBIGUOUS_PAY_STATUSES


def _declined(result: PaymentResult, secrets: tuple[str, ...]) -> PaymentDeclinedError:
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
        result=result,
    )
