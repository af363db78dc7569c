"""The call pipeline: the one loop that every request goes through, identity and vpos alike.

For one logical call (a prepared :class:`~payven_async._http.Request` and its row of the
operation table) :meth:`Pipeline.run`:

1. waits for the batch's throttle, if any (a client-side rate limit, or a pause the
   server asked for), and for the client's shared rate limiter, if any (``rate_limiter=``,
   see :mod:`payven_async.stores`), for vpos rows;
2. for a vpos row, takes the cached access token or renews it (that renewal is itself
   a run of the token row, under this call's options and deadline) and adds it;
3. sends the request through the transport, within this attempt's timeout, which is
   cut so that no attempt outlasts the call's deadline;
4. on a 401, drops exactly the token that was refused, renews once, and replays once;
5. turns an error status into the matching exception, or decodes the answer;
6. on a failure, asks the pure :class:`~payven_async._retry.RetryPolicy` whether and
   when to try again (the one place that asks it), tells the ``on_retry`` hooks, and
   waits; a 429 in a batch pauses the whole batch instead;
7. classifies what a money-moving row ends with: a decline raises
   :class:`~payven_async.errors.PaymentDeclinedError`; an answer that never came, or
   cannot be read, raises :class:`~payven_async.errors.PaymentOutcomeUnknown`
   carrying the idempotency key.

This is the hot path of every call, so the usual case is written out: no closure, no
``await`` for a token that is still valid or a throttle with nothing to wait for, and
no clock arithmetic before a first attempt.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from . import _validate as validate
from ._auth import TokenManager
from ._config import ClientConfig, Timeout
from ._http import Answer, Request
from ._meta import meta_of, store_meta, store_meta_in_items
from ._operations import ModelRef, Operation, Retry
from ._redact import scrub
from ._responses import (
    decode_answer,
    decode_token,
    error_from_answer,
    outcome_unknown,
    request_secrets,
    unsuccessful,
)
from ._retry import RetryPolicy
from ._throttle import Throttle, server_pause
from ._transport import Transport
from .errors import ClientClosedError, PayvenError, Problem, RateLimitError, ValidationError
from .models import Token
from .stores import RateLimiter, TokenStore

if TYPE_CHECKING:
    from ._telemetry import Telemetry

__all__ = ["OnRetry", "Pipeline", "RetryDetails"]

T = TypeVar("T")

logger = logging.getLogger("payven.retry")


@attrs.frozen
class RetryDetails:
    """What an ``on_retry`` hook is told before the pipeline waits and tries again.

    ``call`` names the operation (``"pay"``, ``"query"``, ``"token"``, ...);
    ``retry_number`` counts from 1 for the first retry; ``wait_for`` is the wait about
    to start and ``waited_so_far`` the time the call has taken until now, in seconds;
    ``caused_by`` is the error that the retry answers.
    """

    call: str
    retry_number: int
    wait_for: float
    waited_so_far: float
    caused_by: PayvenError
    idempotency_key: str | None = None


#: A hook told of every retry, as stamina's ``on_retry`` hooks are.
OnRetry = Callable[[RetryDetails], object]


class Pipeline:
    """Runs calls for one client: its transport, its token, its retry policy, its hooks."""

    def __init__(
        self,
        config: ClientConfig,
        transport: Transport,
        *,
        on_retry: Iterable[OnRetry] = (),
        token_store: TokenStore | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        self._transport = transport
        self._limits = config.timeout
        self._policy = RetryPolicy(max_retries=config.max_retries)
        self._on_retry = tuple(on_retry)
        #: The client's token: renewed through :meth:`run` like any other request.
        self.tokens = TokenManager(config, self.run, store=token_store)
        #: The rate limit shared with other clients (and processes), if any.
        self.limiter = rate_limiter
        #: Set when the client closes: later attempts raise ClientClosedError.
        self.closed = False
        #: Spans and metrics (``instrument=True``), or None: one test per call when off.
        self.telemetry: Telemetry | None = None

    @property
    def policy(self) -> RetryPolicy:
        """The client's retry policy (a per-call ``max_retries`` overrides its count)."""
        return self._policy

    @policy.setter
    def policy(self, policy: RetryPolicy) -> None:
        self._policy = policy

    async def run(
        self,
        operation: Operation[T],
        request: Request,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        throttle: Throttle | None = None,
        started: float | None = None,
        traced: bool = False,
    ) -> T:
        """Send ``request`` until it succeeds or may not be tried again; return its model.

        ``timeout`` and ``max_retries`` override the client's for this call, and reach
        the token renewal the call may need; ``started`` (a monotonic time) is when the
        call began, for a run inside another (a renewal), whose deadline it shares.

        The result's (or the error's) ``meta`` tells the exchange: correlation id,
        status, headers, attempts, elapsed time. ``traced`` is the telemetry's own
        re-entry, inside the span it opened for the call.
        """
        if self.telemetry is not None and not traced:
            return await self.telemetry.run(  # type: ignore[no-any-return]
                self.run,
                operation,
                request,
                timeout=timeout,
                max_retries=max_retries,
                throttle=throttle,
                started=started,
            )
        limits = self._limits if timeout is None else _limits_for(timeout, self._limits)
        policy = self._policy if max_retries is None else self._policy_for(max_retries)
        if started is None:
            started = time.monotonic()
            left = policy.deadline
        else:  # a renewal inside a call: what is left of the call's deadline
            left = policy.deadline - (time.monotonic() - started)
        attempt_timeout = limits if left >= limits.total else _within(limits, left)
        tokens: TokenManager | None
        limiter: RateLimiter | None
        if operation.authenticated:
            tokens, limiter = self.tokens, self.limiter
        else:  # identity rows: the token store guards those, not the API's rate limit
            tokens = limiter = None
        send = self._transport.send
        renewed = False
        number = 1
        fresh = True  # nothing awaited since the request was prepared
        while True:
            if self.closed:
                raise ClientClosedError("this PayvenClient is closed; create a new client")
            if throttle is not None and throttle.must_wait():
                if self.telemetry is not None:
                    self.telemetry.event("payven.throttle_wait", {"payven.call": request.call})
                await throttle.acquire()
                fresh = False
            if limiter is not None:
                await limiter.acquire()
                fresh = False
            if tokens is None:
                wire = request if number == 1 else request._replace(attempt=number)
            elif fresh and "Authorization" in request.headers:
                # Prepared a moment ago with the token then valid, and nothing awaited
                # since: it is still the current one (a 401 would tell otherwise).
                wire = request
            else:
                # Outside the try below: a renewal has had its own retries.
                bearer = tokens.valid_bearer() or await tokens.bearer(
                    timeout=timeout, max_retries=max_retries, started=started
                )
                wire = request.authorized(bearer, number)
            fresh = False
            answer: Answer | None = None
            try:
                answer = await send(wire, attempt_timeout)
                if throttle is not None:
                    throttle.observe(answer.headers)
                if limiter is not None:
                    pause = server_pause(answer.headers)
                    if pause:
                        await limiter.pause(pause)  # every process sharing it waits
                status = answer.status
                if status == 401 and tokens is not None and not renewed:
                    renewed = True  # once per call: drop exactly that token, then replay
                    logger.info(
                        "%s: the server refused the access token (401); renewing it and "
                        "sending again (correlation id %s)",
                        request.call,
                        answer.correlation_id,
                    )
                    tokens.invalidate(wire.headers["Authorization"].removeprefix("Bearer "))
                    continue
                if status >= 400:
                    raise error_from_answer(
                        answer, secrets=request_secrets(request, self.tokens.secrets)
                    )
                response: Any = operation.response
                if type(response) is ModelRef:
                    response = response.get()
                result: Any = (
                    decode_token(answer)
                    if response is Token
                    else decode_answer(answer, response, secrets=self.tokens.secrets, sent=request)
                )
            except PayvenError as error:
                # The finished frames below this one (decoding, building the error) held
                # the answer and what it echoed: an error tracker would send their locals.
                scrub(error)
                elapsed = time.monotonic() - started
                delay = (
                    None
                    if operation.retry is Retry.NEVER
                    else policy.next_delay(
                        error, number, elapsed, jitter=operation.retry is Retry.IDENTITY
                    )
                )
                if delay is None:
                    meta = meta_of(wire, answer, number, elapsed)
                    if request.moves_money:
                        unknown = outcome_unknown(request, operation.label, error)
                        if unknown is not None:
                            unknown.meta = meta
                            raise unknown from error
                    error.meta = meta
                    raise
                self._retrying(request, number, delay, elapsed, error)
                if isinstance(error, RateLimitError) and (
                    throttle is not None or limiter is not None
                ):
                    logger.info("%s: rate limited (429); pausing %.2f s", request.call, delay)
                    if self.telemetry is not None:
                        self.telemetry.event("payven.throttle_pause", {"payven.delay": delay})
                    if throttle is not None:
                        throttle.pause_for(delay)  # the whole batch waits, once
                    if limiter is not None:
                        await limiter.pause(delay)  # every client sharing it waits
                    delay = 0.0
            else:
                if request.moves_money and not result.is_success:
                    outcome = unsuccessful(
                        operation.label,
                        request,
                        answer,
                        result,
                        request_secrets(request, self.tokens.secrets),
                    )
                    if isinstance(outcome, PayvenError):
                        del result  # what the service said, unredacted: not a local here
                        outcome.meta = meta_of(wire, answer, number, time.monotonic() - started)
                        raise outcome
                    result = outcome
                # What .meta is built from, on first read (see _meta): a tuple, a store.
                exchange = (
                    answer,
                    number,
                    time.monotonic() - started,
                    wire.headers.get("X-Correlation-Id"),
                    request.call,
                    request.idempotency_key,
                )
                try:
                    store_meta(result, exchange)
                except TypeError:
                    # Not an answer model: a plain list of them (a transaction's
                    # history), whose entries each tell the exchange they came in.
                    store_meta_in_items(result, exchange)
                return result  # type: ignore[no-any-return]
            number += 1
            if delay:
                await asyncio.sleep(delay)
            attempt_timeout = _within(limits, policy.deadline - (time.monotonic() - started))

    def _policy_for(self, max_retries: int) -> RetryPolicy:
        """The client's retry policy with a per-call ``max_retries`` (checked first)."""
        validate.raise_if(validate.retries_problems(max_retries))
        return attrs.evolve(self._policy, max_retries=max_retries)

    def _retrying(
        self, request: Request, number: int, delay: float, elapsed: float, error: PayvenError
    ) -> None:
        """Log a retry and tell the hooks; a failing hook is logged, never fatal."""
        logger.info("retrying %s in %.2f s (retry %d) after %s", request.call, delay, number, error)
        if self.telemetry is not None:
            self.telemetry.retried(request.call, number, delay, error)
        if not self._on_retry:
            return
        details = RetryDetails(
            call=request.call,
            retry_number=number,
            wait_for=delay,
            waited_so_far=elapsed,
            caused_by=error,
            idempotency_key=request.idempotency_key,
        )
        for hook in self._on_retry:
            try:
                hook(details)
            except Exception:
                logger.warning("on_retry hook %r failed", hook, exc_info=True)


def _limits_for(timeout: float | Timeout, defaults: Timeout) -> Timeout:
    """A per-call ``timeout`` as limits: seconds for the whole attempt, or a Timeout."""
    if isinstance(timeout, Timeout):
        limits = timeout
    elif isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        seconds = float(timeout)
        limits = Timeout(total=seconds, connect=min(seconds, defaults.connect))
    else:
        raise ValidationError([Problem("timeout", "must be seconds or a Timeout")])
    if not (limits.total > 0 and limits.connect > 0):
        raise ValidationError([Problem("timeout", "must be positive")])
    return limits


def _within(limits: Timeout, remaining: float) -> Timeout:
    """Shorten an attempt's timeout so that it cannot outlast the call's deadline."""
    if remaining >= limits.total:
        return limits
    total = max(remaining, 0.001)
    return Timeout(total=total, connect=min(limits.connect, total))
