"""Seeding a day of payments, some with chosen disagreements between Payven and the bank.

The query answer carries two records of a payment: Payven's (``internal``) and the
bank's (``external``, see :func:`~payven_async.testing._answers.query_result`). A seeded
mismatch makes the bank's record differ from Payven's in one chosen way, through the
payment's :attr:`~payven_async.testing.PaymentRecord.bank_view` (or
``bank_record_missing``), so a reconciliation has something to find:

====================  ===========================================================
kind                  the bank's record says
====================  ===========================================================
``status``            ``declined``, while Payven says ``completed``
``amount``            one lira (100 kuruş) more than Payven's amount
``captured_amount``   one lira less captured than Payven's
``currency``          ``USD`` (``EUR`` for a payment in USD)
``external_missing``  nothing: the record is absent, ``external_query_available``
                      still true
====================  ===========================================================

Only approved payments get a mismatch; they are spread evenly over the seeded ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import attrs

from ._ledger import Ledger
from ._records import PaymentRecord

__all__ = ["SEEDABLE_MISMATCHES", "SeededPayments", "seed_payments"]

#: Banks close the day in Turkish time (UTC+3 all year round), as the ledger does.
_TURKEY = timezone(timedelta(hours=3))

#: The mismatch kinds :func:`seed_payments` can plant (``MismatchKind`` values).
SEEDABLE_MISMATCHES = ("status", "amount", "captured_amount", "currency", "external_missing")


class SeededPayments(list[str]):
    """The seeded transaction ids, in order (a list), and what was planted in them.

    ``mismatches`` maps each transaction id given a mismatch to its kind (one of
    :data:`SEEDABLE_MISMATCHES`); ``day`` is the day they were dated on, if one was
    asked for.
    """

    def __init__(self, ids: Sequence[str], mismatches: Mapping[str, str], day: date | None) -> None:
        super().__init__(ids)
        self.mismatches: dict[str, str] = dict(mismatches)
        self.day = day


def _kind_name(kind: Any) -> str:
    name = getattr(kind, "value", kind)  # a MismatchKind, or its value
    if name not in SEEDABLE_MISMATCHES:
        raise ValueError(
            f"cannot seed a {kind!r} mismatch; choose from {', '.join(SEEDABLE_MISMATCHES)}"
        )
    return str(name)


def _plant(record: PaymentRecord, kind: str) -> None:
    if kind == "external_missing":
        record.bank_record_missing = True
        return
    view: dict[str, Any]
    if kind == "status":
        view = {"status": "declined", "transaction_status": "declined"}
    elif kind == "amount":
        view = {"amount": record.amount + 100, "net_amount": record.amount + 100}
    elif kind == "captured_amount":
        view = {"captured_amount": max(record.charged_amount - 100, 0)}
    else:
        view = {"currency": "EUR" if record.currency == "USD" else "USD"}
    record.bank_view = view


def _date(record: PaymentRecord, moment: datetime) -> None:
    record.created_at = moment
    record.history[:] = [attrs.evolve(step, timestamp=moment) for step in record.history]


def seed_payments(
    ledger: Ledger,
    count: int | None = None,
    *,
    amount: int = 15000,
    currency: str = "TRY",
    declined: Sequence[int] = (),
    ids: Sequence[str] | None = None,
    day: date | None = None,
    mismatches: Mapping[Any, int] | None = None,
) -> SeededPayments:
    """Put payments straight into ``ledger`` (no HTTP), dated on ``day`` if given.

    ``mismatches`` maps a kind (a name of :data:`SEEDABLE_MISMATCHES` or a
    ``MismatchKind``) to how many payments get it. ``day`` spreads the payments evenly
    over that bank day (Turkish time, as
    :func:`~payven_async.testing._ledger.settlement_day` and the listing's date filters
    count it). Raises ``ValueError`` (before seeding anything) for an unknown
    kind or more mismatches than approved payments.
    """
    planned = [
        name
        for kind, how_many in (mismatches or {}).items()
        for name in [_kind_name(kind)] * how_many
    ]
    total = len(ids) if ids is not None else count
    if total is None or total < 0:
        raise ValueError("pass a count >= 0, or ids")
    declined_at = set(declined)
    approved_positions = [index for index in range(total) if index not in declined_at]
    if len(planned) > len(approved_positions):
        raise ValueError(
            f"{len(planned)} mismatches asked for, but only {len(approved_positions)} "
            "approved payments to plant them in"
        )
    created = ledger.seed(count, amount=amount, currency=currency, declined=declined, ids=ids)
    planted: dict[str, str] = {}
    if planned:
        # Spread evenly: the k-th planned mismatch goes to the k/len-th approved payment.
        stride = len(approved_positions) / len(planned)
        for k, kind in enumerate(planned):
            transaction_id = created[approved_positions[int(k * stride)]]
            _plant(ledger.payments[transaction_id], kind)
            planted[transaction_id] = kind
    if day is not None:
        start = datetime.combine(day, time(), tzinfo=_TURKEY).astimezone(timezone.utc)
        step = 86_400_000_000 // max(len(created), 1)
        for index, transaction_id in enumerate(created):
            _date(ledger.payments[transaction_id], start + timedelta(microseconds=index * step))
    return SeededPayments(created, planted, day)
