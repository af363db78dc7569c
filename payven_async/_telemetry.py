"""OpenTelemetry spans and metrics for a client's calls (``pip install 'payven[otel]'``).

Loaded only when a client is built with ``instrument=True`` (or a ``tracer_provider=``
/ ``meter_provider=``): without it nothing of OpenTelemetry is imported, and the
pipeline pays one ``is None`` test a call.

Each logical call is one span, ``payven.<call>`` (``payven.pay``, ``payven.query``,
...), of kind CLIENT, opened in the caller's context, so it is a child of the caller's
current span. Its events: ``payven.attempt`` for each HTTP attempt, ``payven.retry``
(reason and delay) before each retry, ``payven.token_renewal`` when the call had to
renew the access token (the renewal is a ``payven.token`` or ``payven.refresh`` span
of its own, inside), ``payven.throttle_wait`` / ``payven.throttle_pause`` when a
batch's rate limit held it. Its attributes: the HTTP method and status, the
correlation id, the attempts, ``Idempotent-Replayed``.

Metrics (meter ``payven``): ``payven.client.calls`` (counter, by call and outcome),
``payven.client.retries`` (counter, by call), ``payven.client.rate_limited`` (429
answers, by call) and ``payven.client.duration`` (histogram, seconds, by call and
outcome).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from ._version import __version__
from .errors import ConfigurationError, PayvenError, RateLimitError
from .models import ResponseMeta

__all__ = ["Telemetry"]

Run = Callable[..., Coroutine[Any, Any, Any]]


class Telemetry:
    """A client's tracer and instruments; the pipeline calls it when it is not None."""

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        try:
            from opentelemetry import metrics, trace
        except ImportError as exc:
            raise ConfigurationError(
                "instrument=True needs OpenTelemetry: pip install 'payven[otel]'"
            ) from exc
        self._trace = trace
        self._client_kind = trace.SpanKind.CLIENT
        self._tracer = trace.get_tracer("payven", __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter("payven", __version__, meter_provider=meter_provider)
        self._calls = meter.create_counter(
            "payven.client.calls", unit="{call}", description="Logical calls made"
        )
        self._retries = meter.create_counter(
            "payven.client.retries", unit="{retry}", description="Retries of calls"
        )
        self._rate_limited = meter.create_counter(
            "payven.client.rate_limited", unit="{answer}", description="429 answers received"
        )
        self._duration = meter.create_histogram(
            "payven.client.duration", unit="s", description="Duration of logical calls"
        )

    async def run(
        self,
        run: Run,
        operation: Any,
        request: Any,
        *,
        timeout: Any,
        max_retries: int | None,
        throttle: Any,
        started: float | None,
    ) -> Any:
        """Run one call (``run`` is the pipeline's) inside a span of its own."""
        call = request.call
        if started is not None:  # a token renewal made for the call whose span is current
            self.event("payven.token_renewal", {"payven.call": call})
        attributes = {"payven.call": call, "http.request.method": request.method}
        with self._tracer.start_as_current_span(
            f"payven.{call}", kind=self._client_kind, attributes=attributes
        ) as span:
            span.add_event("payven.attempt", {"payven.attempt": 1})
            began = time.monotonic()
            try:
                result = await run(
                    operation,
                    request,
                    timeout=timeout,
                    max_retries=max_retries,
                    throttle=throttle,
                    started=started,
                    traced=True,
                )
            except PayvenError as error:
                outcome = type(error).__name__
                self._finish(span, call, error.meta, outcome, time.monotonic() - began)
                if isinstance(error, RateLimitError):
                    self._rate_limited.add(1, {"payven.call": call})
                raise
            self._finish(span, call, getattr(result, "meta", None), "ok", time.monotonic() - began)
            return result

    def _finish(
        self, span: Any, call: str, meta: ResponseMeta | None, outcome: str, elapsed: float
    ) -> None:
        if meta is not None:
            if meta.status is not None:
                span.set_attribute("http.response.status_code", meta.status)
            if meta.correlation_id is not None:
                span.set_attribute("payven.correlation_id", meta.correlation_id)
            span.set_attribute("payven.attempts", meta.attempts)
            span.set_attribute("payven.idempotent_replayed", meta.idempotent_replayed)
        span.set_attribute("payven.outcome", outcome)
        labels = {"payven.call": call, "payven.outcome": outcome}
        self._calls.add(1, labels)
        self._duration.record(elapsed, labels)

    def retried(self, call: str, number: int, delay: float, error: PayvenError) -> None:
        """A retry is about to wait ``delay`` seconds, after attempt ``number`` failed."""
        reason = type(error).__name__
        self.event(
            "payven.retry",
            {"payven.retry.reason": reason, "payven.retry.delay": delay, "payven.attempt": number},
        )
        self.event("payven.attempt", {"payven.attempt": number + 1})
        self._retries.add(1, {"payven.call": call, "payven.retry.reason": reason})
        if isinstance(error, RateLimitError):
            self._rate_limited.add(1, {"payven.call": call})

    def event(self, name: str, attributes: Mapping[str, Any]) -> None:
        """Add an event to the current span (the call's)."""
        self._trace.get_current_span().add_event(name, dict(attributes))
