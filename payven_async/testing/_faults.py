"""Faults on demand: latency, error rates, dropped connections, broken bodies.

Set them when constructing the emulator (``PayvenEmulator(faults=Faults(latency=0.05))``)
or while it runs (``emu.faults.drop_next("pay", after_charge=True, times=2)``).

Routes are named ``token``, ``refresh``, ``create_session``, ``get_session``, ``pay``,
``query``, ``get_payment``, ``create_payment``, ``init_3ds``, ``complete_3ds``,
``refund_payment``, ``void_payment``, ``capture_payment``, ``payment_history``, and
the read side's and reconciliation's (``list_transactions``, ``get_transaction``,
``transaction_history``, ``list_refunds``, ``list_settlements``, ``list_chargebacks``,
``get_trace``, ``start_reconciliation``, ``list_reconciliations``,
``get_reconciliation``, ``list_reconciliation_details``,
``resolve_reconciliation_detail``, ``bulk_resolve_reconciliation_details``,
``finalize_reconciliation``, ``cancel_reconciliation``); ``"*"`` means every route.

- ``latency`` (seconds) is added to every answer; ``route_latency`` per route.
- ``error_rates`` maps a route to the probability of answering with one of
  ``error_statuses`` (500, 503, 429 by default; 429 and 503 carry ``Retry-After``)
  instead of doing the work. ``seed`` makes the dice repeatable.
- Scripted faults hit the next calls of a route, in order, one per call:
  ``fail_next`` (an error status, nothing done), ``drop_next`` (the connection is
  closed without an answer, before the work is done or, with ``after_charge=True``,
  after it is done and recorded), ``malform_next`` (the answer's body is cut short
  into invalid JSON), ``truncate_next`` (the answer announces its full length but
  the connection closes halfway), and ``delay_next``.
- ``answer_next`` scripts any answer instead of the work: a status (401, 403, 409,
  422, ... or a 2xx) with a chosen error ``code`` (a problem+json like the API's), or
  a body of your own.

``unmet()`` lists the scripted faults no call has used yet, and ``assert_all_used()``
fails with that list: the pytest plugin calls it after each test that used an
emulator fixture, so a fault scripted for a call that never came is a failed test.

Malformed and truncated answers, like ``after_charge`` drops, are produced after the
route did its work: a pay (or refund, void, capture...) has moved the money, and its
idempotency key holds the real answer.
"""

from __future__ import annotations

import enum
import random
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

__all__ = ["ROUTES", "Fault", "FaultKind", "Faults"]

#: The routes faults can target.
ROUTES = (
    "token",
    "refresh",
    "create_session",
    "get_session",
    "pay",
    "query",
    "get_payment",
    "create_payment",
    "init_3ds",
    "complete_3ds",
    "refund_payment",
    "void_payment",
    "capture_payment",
    "payment_history",
    "list_transactions",
    "get_transaction",
    "transaction_history",
    "list_refunds",
    "list_settlements",
    "list_chargebacks",
    "get_trace",
    "start_reconciliation",
    "list_reconciliations",
    "get_reconciliation",
    "list_reconciliation_details",
    "resolve_reconciliation_detail",
    "bulk_resolve_reconciliation_details",
    "finalize_reconciliation",
    "cancel_reconciliation",
)
_ANY = "*"
_ERROR_STATUSES = (500, 502, 503, 504, 429)
DEFAULT_ERROR_STATUSES = (500, 503, 429)

#: The code a scripted answer carries when none is chosen (the API's generic codes).
DEFAULT_CODES: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "resource_not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "session_expired",
    422: "unprocessable_entity",
    429: "rate_limit_exceeded",
    500: "internal_server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


class FaultKind(enum.Enum):
    """What a scripted fault does."""

    ERROR = "error"
    DROP_BEFORE = "drop_before"
    DROP_AFTER = "drop_after"
    MALFORMED = "malformed"
    TRUNCATED = "truncated"
    DELAY = "delay"
    ANSWER = "answer"


@attrs.frozen(eq=False)
class Fault:
    """One fault for one request.

    A scripted answer (``ANSWER``) carries its ``code``, ``detail`` and field ``errors``
    (a problem+json is built from them) or its own ``body``, and extra ``headers``.
    """

    kind: FaultKind
    status: int = 500
    seconds: float = 0.0
    code: str | None = None
    detail: str | None = None
    errors: Mapping[str, list[str]] | None = None
    body: Any = None
    headers: Mapping[str, str] = attrs.field(factory=dict)

    def describe(self) -> str:
        """A short text for an unmet-fault message, e.g. ``answer 409 conflict``."""
        if self.kind is FaultKind.ANSWER:
            return f"answer {self.status}" + (f" {self.code}" if self.code else "")
        if self.kind is FaultKind.ERROR:
            return f"error {self.status}"
        if self.kind is FaultKind.DELAY:
            return f"delay {self.seconds:g}s"
        return str(self.kind.value)

    @property
    def after_work(self) -> bool:
        """True for faults applied to the answer after the route did its work."""
        return self.kind in (FaultKind.DROP_AFTER, FaultKind.MALFORMED, FaultKind.TRUNCATED)


def _check_route(route: str) -> str:
    if route != _ANY and route not in ROUTES:
        raise ValueError(f"unknown route {route!r}; use one of {', '.join(ROUTES)} or '*'")
    return route


def _check_rates(rates: Mapping[str, float]) -> dict[str, float]:
    checked = {}
    for route, rate in rates.items():
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"error rate for {route!r} must be between 0 and 1, got {rate!r}")
        checked[_check_route(route)] = float(rate)
    return checked


def _check_statuses(statuses: Iterable[int]) -> tuple[int, ...]:
    checked = tuple(statuses)
    if not checked or any(status not in _ERROR_STATUSES for status in checked):
        raise ValueError(f"error statuses must be among {_ERROR_STATUSES}, got {checked!r}")
    return checked


@attrs.define
class Faults:
    """The faults an emulator injects. Safe to change while it runs."""

    latency: float = 0.0
    route_latency: dict[str, float] = attrs.field(factory=dict)
    error_rates: dict[str, float] = attrs.field(factory=dict, converter=_check_rates)
    error_statuses: tuple[int, ...] = attrs.field(
        default=DEFAULT_ERROR_STATUSES, converter=_check_statuses
    )
    seed: int | None = None
    _random: random.Random = attrs.field(init=False, repr=False)
    _scripted: dict[str, deque[Fault]] = attrs.field(init=False, factory=dict, repr=False)
    #: How many faults were injected, by kind.
    injected: dict[str, int] = attrs.field(init=False, factory=dict)

    def __attrs_post_init__(self) -> None:
        self._random = random.Random(self.seed)
        for route in self.route_latency:
            _check_route(route)

    # --- scripting ------------------------------------------------------------------

    def fail_next(self, route: str, *, status: int = 500, times: int = 1) -> None:
        """The next ``times`` calls of ``route`` answer ``status`` and do nothing."""
        _check_statuses((status,))
        self._script(route, Fault(FaultKind.ERROR, status=status), times)

    def drop_next(self, route: str, *, after_charge: bool = False, times: int = 1) -> None:
        """The next ``times`` calls of ``route`` lose their connection without an answer.

        With ``after_charge=True`` the work is done (a pay charges and is recorded under
        its idempotency key) before the connection drops.
        """
        kind = FaultKind.DROP_AFTER if after_charge else FaultKind.DROP_BEFORE
        self._script(route, Fault(kind), times)

    def malform_next(self, route: str, *, times: int = 1) -> None:
        """The next ``times`` answers of ``route`` carry a body cut into invalid JSON."""
        self._script(route, Fault(FaultKind.MALFORMED), times)

    def truncate_next(self, route: str, *, times: int = 1) -> None:
        """The next ``times`` answers of ``route`` stop halfway through their body."""
        self._script(route, Fault(FaultKind.TRUNCATED), times)

    def delay_next(self, route: str, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` answers of ``route`` come ``seconds`` late."""
        self._script(route, Fault(FaultKind.DELAY, seconds=float(seconds)), times)

    def answer_next(
        self,
        route: str,
        status: int,
        *,
        code: str | None = None,
        detail: str | None = None,
        errors: Mapping[str, list[str]] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``route`` get this answer, and nothing is done.

        Without ``body`` the answer is the API's problem+json with ``status``, ``code``
        (by default the generic one for the status: ``unauthorized``, ``forbidden``,
        ``conflict``, ``unprocessable_entity``...), ``detail`` and field ``errors``.
        With ``body`` (a JSON-ready value, or ``str``/``bytes`` sent as they are) that
        body is the answer, as ``application/json``. ``headers`` are added either way
        (``Retry-After``, say).

        >>> emu.faults.answer_next("refund_payment", 422, code="refund_exceeds_original")
        >>> emu.faults.answer_next("query", 401, code="invalid_token", times=2)
        """
        if not 200 <= status <= 599:
            raise ValueError(f"status must be between 200 and 599, got {status!r}")
        if body is not None and (code, detail, errors) != (None, None, None):
            raise ValueError("pass body= or code=/detail=/errors=, not both")
        if body is None and status < 400:
            raise ValueError(f"a {status} answer needs its body=")
        if body is None and code is None:
            code = DEFAULT_CODES.get(
                status, "bad_request" if status < 500 else "internal_server_error"
            )
        fault = Fault(
            FaultKind.ANSWER,
            status=status,
            code=code,
            detail=detail,
            errors=dict(errors) if errors is not None else None,
            body=body,
            headers=dict(headers or {}),
        )
        self._script(route, fault, times)

    def set_error_rate(
        self, route: str, rate: float, *, statuses: Iterable[int] | None = None
    ) -> None:
        """Answer ``rate`` (0..1) of the calls of ``route`` with an error status."""
        self.error_rates = {**self.error_rates, route: rate}
        if statuses is not None:
            self.error_statuses = _check_statuses(statuses)

    def clear(self) -> None:
        """Remove every fault: no latency, no error rates, nothing scripted."""
        self.latency = 0.0
        self.route_latency = {}
        self.error_rates = {}
        self._scripted.clear()

    def pending(self, route: str = _ANY) -> int:
        """How many scripted faults are still waiting for ``route`` (all, for ``"*"``)."""
        if route == _ANY:
            return sum(len(queue) for queue in self._scripted.values())
        return len(self._scripted.get(_check_route(route), ()))

    def unmet(self) -> list[str]:
        """The scripted faults no call has used yet, e.g. ``["query: answer 409 conflict x2"]``."""
        lines = []
        for route, queue in self._scripted.items():
            counts: dict[str, int] = {}
            for fault in queue:
                counts[fault.describe()] = counts.get(fault.describe(), 0) + 1
            for text, count in counts.items():
                lines.append(f"{route}: {text}" + (f" x{count}" if count > 1 else ""))
        return lines

    def assert_all_used(self) -> None:
        """Fail (``AssertionError``) when a scripted fault is still waiting for its call.

        :raises AssertionError: listing each route's unmet faults.
        """
        unmet = self.unmet()
        if unmet:
            raise AssertionError(
                "scripted emulator answers were never used (the calls did not come): "
                + "; ".join(unmet)
            )

    def _script(self, route: str, fault: Fault, times: int) -> None:
        if times < 1:
            raise ValueError("times must be >= 1")
        queue = self._scripted.setdefault(_check_route(route), deque())
        queue.extend([fault] * times)

    # --- used by the emulator -----------------------------------------------------------

    def delay_for(self, route: str) -> float:
        """Seconds to add to this call's answer."""
        return self.latency + self.route_latency.get(route, self.route_latency.get(_ANY, 0.0))

    def take(self, route: str) -> Fault | None:
        """The fault for this call of ``route``, if any (scripted first, then the dice)."""
        for name in (route, _ANY):
            queue = self._scripted.get(name)
            if queue:
                fault = queue.popleft()
                self._count(fault)
                return fault
        rate = self.error_rates.get(route, self.error_rates.get(_ANY, 0.0))
        if rate and self._random.random() < rate:
            fault = Fault(FaultKind.ERROR, status=self._random.choice(self.error_statuses))
            self._count(fault)
            return fault
        return None

    def _count(self, fault: Fault) -> None:
        self.injected[fault.kind.value] = self.injected.get(fault.kind.value, 0) + 1
