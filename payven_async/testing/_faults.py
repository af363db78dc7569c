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

Malformed and truncated answers, like ``after_charge`` drops, are produced after the
route did its work: a pay (or refund, void, capture...) has moved the money, and its
idempotency key holds the real answer.
"""

from __future__ import annotations

import enum
import random
from collections import deque
from collections.abc import Iterable, Mapping

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


class FaultKind(enum.Enum):
    """What a scripted fault does."""

    ERROR = "error"
    DROP_BEFORE = "drop_before"
    DROP_AFTER = "drop_after"
    MALFORMED = "malformed"
    TRUNCATED = "truncated"
    DELAY = "delay"


@attrs.frozen
class Fault:
    """One fault for one request."""

    kind: FaultKind
    status: int = 500
    seconds: float = 0.0

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
