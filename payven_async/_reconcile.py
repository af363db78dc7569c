"""``reconcile``: query every transaction and compare three views of it.

The three views of a payment are the merchant's own record (an :class:`ExpectedRecord`,
when the caller gives them), Payven's record (the query answer's ``internal``) and the
bank's (its ``external``). :func:`reconcile_items` feeds the ids to ``query_many`` (so
its concurrency, rate limit and shared token apply) and turns each
:class:`~payven_async.QueryOutcome` into one :class:`ReconciliationItem` with the named
:class:`Mismatch` es found.

Which ids: the ones given, or listed for a date window, then every id of the expected
records that was not among them (a payment the merchant recorded but the window did
not list is reported too, usually as unknown to Payven). Each id taken gets exactly
one item; a failed query is an item carrying its error. Memory stays flat: an id's
expected record is moved aside when the id is taken and dropped when its item is
yielded, so only the window of ids in flight is held besides the caller's records.

A value is compared only when both sides state it (the bank may leave
``captured_amount`` out, the merchant its status). Statuses are compared by what they
mean, not by spelling: each side's vocabulary differs (Payven writes ``completed``,
the bank ``approved``), so each status is mapped to a class (:func:`status_class`).
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Callable,
    Container,
    Iterable,
    Iterator,
    Mapping,
)
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from ._deferred import Pending, slot_of
from .errors import NotFoundError, PayvenError, Problem
from .models import PaymentQuery, PaymentQueryDetail, QueryOutcome, _Model

if TYPE_CHECKING:
    from ._batch import TransactionIds

__all__ = [
    "ExpectedRecord",
    "Mismatch",
    "MismatchKind",
    "ReconciliationItem",
    "check_reconcile",
    "reconcile_items",
    "status_class",
]

#: The sides of a comparison, as :attr:`Mismatch.between` names them.
MERCHANT, PAYVEN, BANK = "merchant", "payven", "bank"


class MismatchKind(enum.Enum):
    """What disagrees about one transaction. The values are the names printed."""

    #: The status classes differ (merchant vs Payven, or Payven vs the bank).
    STATUS = "status"
    #: The amounts differ (merchant vs Payven, or Payven vs the bank).
    AMOUNT = "amount"
    #: Payven's and the bank's ``captured_amount`` differ.
    CAPTURED_AMOUNT = "captured_amount"
    #: The currencies differ (merchant vs Payven, or Payven vs the bank).
    CURRENCY = "currency"
    #: ``external_query_available`` is true, but the answer has no bank record.
    EXTERNAL_MISSING = "external_missing"
    #: Payven does not know the transaction (the query answered 404).
    UNKNOWN_TO_PAYVEN = "unknown_to_payven"
    #: Expected records were given, and none is for this transaction.
    UNKNOWN_TO_MERCHANT = "unknown_to_merchant"


@attrs.frozen(repr=False, eq=False)
class ExpectedRecord(_Model):
    """What the merchant's own books say of a transaction; ``None`` is "not stated".

    ``amount`` is in integer minor units, as everywhere.
    """

    amount: int | None = None
    currency: str | None = None
    status: str | None = None


@attrs.frozen(repr=False, eq=False)
class Mismatch(_Model):
    """One disagreement: its kind, the two sides compared and their values.

    ``between`` is a pair of ``"merchant"``, ``"payven"``, ``"bank"``; it is empty for
    the kinds about one side only (unknown to Payven, unknown to the merchant).
    """

    kind: MismatchKind
    between: tuple[str, ...] = ()
    values: tuple[Any, ...] = ()

    def __str__(self) -> str:
        if not self.values:
            return self.kind.value
        sides = ", ".join(
            f"{side} {value}" for side, value in zip(self.between, self.values, strict=True)
        )
        return f"{self.kind.value} differs: {sides}"


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class ReconciliationItem(_Model):
    """One transaction's reconciliation: the three views and what disagrees.

    ``expected`` is the merchant's record (``None`` when none was given for it);
    ``internal`` (Payven's) and ``external`` (the bank's) come from ``query``, the
    query answer (``None`` when there is none). ``error`` is set when the query failed
    for another reason than an unknown transaction; nothing could then be compared,
    and ``mismatches`` is empty.
    """

    transaction_id: str
    expected: ExpectedRecord | None = None
    query: PaymentQuery | None = None
    mismatches: tuple[Mismatch, ...] = ()
    error: PayvenError | None = None

    @property
    def internal(self) -> PaymentQueryDetail | None:
        """Payven's record of the transaction (the query answer's ``internal``)."""
        return None if self.query is None else self.query.internal

    @property
    def external(self) -> PaymentQueryDetail | None:
        """The bank's record of the transaction (the query answer's ``external``)."""
        return None if self.query is None else self.query.external

    @property
    def external_query_available(self) -> bool | None:
        """Whether Payven could ask the bank (``None`` without a query answer)."""
        return None if self.query is None else self.query.external_query_available

    @property
    def ok(self) -> bool:
        """True when the query succeeded and every view agrees."""
        return self.error is None and not self.mismatches

    @property
    def kinds(self) -> frozenset[MismatchKind]:
        """The kinds of the mismatches found."""
        return frozenset(mismatch.kind for mismatch in self.mismatches)


# --- comparing ----------------------------------------------------------------------------

_CLASSES = {
    "approved": (
        "approved",
        "completed",
        "authorized",
        "authorised",
        "success",
        "succeeded",
        "successful",
        "captured",
        "paid",
        "settled",
    ),
    "declined": ("declined", "failed", "rejected", "denied", "error"),
    "canceled": ("canceled", "cancelled", "voided", "void", "reversed"),
    "refunded": ("refunded",),
    "pending": ("pending", "processing", "created", "pending_3ds"),
}
_CLASS_OF = {name: cls for cls, names in _CLASSES.items() for name in names}


def status_class(status: str) -> str:
    """What a status means, whoever wrote it: ``approved``, ``declined``, ``canceled``,
    ``refunded``, ``pending``, or the status itself (lower case) when it is none of those.

    >>> status_class("completed"), status_class("APPROVED"), status_class("failed")
    ('approved', 'approved', 'declined')
    """
    found = _CLASS_OF.get(status)  # the usual word, as it is
    if found is not None:
        return found
    folded = status.strip().lower().replace("-", "_").replace(" ", "_")
    found = _CLASS_OF.get(folded)
    if found is not None:
        return found
    if folded.endswith("_processing"):
        return "pending"
    return folded


#: What is compared of a detail record: (status, amount, captured_amount, currency).
_Facts = tuple[Any, Any, Any, Any]
#: The slots behind ``PaymentQuery.internal`` and ``.external``, read without decoding.
_SLOTS = {name: slot_of(PaymentQuery, name) for name in ("internal", "external")}


def _facts(query: PaymentQuery, name: str) -> _Facts | None:
    """The compared fields of ``query.internal`` or ``.external``, or None without one.

    The detail records are decoded on first access (``_deferred``), and decoding both
    cost more than the rest of a reconciliation item (37 of 48 us per id, measured).
    When the record is a plain snake_case object whose four fields have the types the
    decoder would give them anyway, they are read from it as they are; anything else
    is decoded as usual.
    """
    value = _SLOTS[name].__get__(query, PaymentQuery)
    if value is None:
        return None
    if type(value) is Pending:
        data = value.data
        try:
            status = data["status"]
            amount = data["amount"]
            captured = data["captured_amount"]
            currency = data["currency"]
        except KeyError:
            pass  # spelled otherwise, or left out: the decoder knows every spelling
        else:
            # An int captured amount compares equal to its Decimal; it becomes one only
            # if it is reported (_differences).
            if (
                (status is None or type(status) is str)
                and (amount is None or type(amount) is int)
                and (currency is None or type(currency) is str)
                and (captured is None or type(captured) is int or type(captured) is Decimal)
            ):
                return status, amount, captured, currency
        value = getattr(query, name)  # decoded now, and kept
        if value is None:
            return None
    return value.status, value.amount, value.captured_amount, value.currency


def _same_currency(left: str, right: str) -> bool:
    return left == right or left.strip().upper() == right.strip().upper()


def _differences(
    found: list[Mismatch], pair: tuple[str, str], left: _Facts, right: _Facts, captured: bool
) -> None:
    """Append the mismatches between two sides' facts; ``captured``: compare that too."""
    status, other_status = left[0], right[0]
    if (
        status is not None
        and other_status is not None
        and status != other_status
        and status_class(status) != status_class(other_status)
    ):
        found.append(Mismatch(MismatchKind.STATUS, pair, (status, other_status)))
    if left[1] is not None and right[1] is not None and left[1] != right[1]:
        found.append(Mismatch(MismatchKind.AMOUNT, pair, (left[1], right[1])))
    if captured and left[2] is not None and right[2] is not None and left[2] != right[2]:
        values = (Decimal(left[2]), Decimal(right[2]))
        found.append(Mismatch(MismatchKind.CAPTURED_AMOUNT, pair, values))
    currency, other_currency = left[3], right[3]
    if (
        currency is not None
        and other_currency is not None
        and not _same_currency(currency, other_currency)
    ):
        found.append(Mismatch(MismatchKind.CURRENCY, pair, (currency, other_currency)))


def compare(
    outcome: QueryOutcome, expected: ExpectedRecord | None, *, merchant_known: bool | None
) -> ReconciliationItem:
    """The item for one outcome; ``merchant_known`` is None when no records were given."""
    transaction_id = outcome.transaction_id
    found: list[Mismatch] = []
    if merchant_known is False:
        found.append(Mismatch(MismatchKind.UNKNOWN_TO_MERCHANT))
    query = outcome.result
    if query is None:
        if isinstance(outcome.error, NotFoundError):
            found.append(Mismatch(MismatchKind.UNKNOWN_TO_PAYVEN))
            return ReconciliationItem(
                transaction_id=transaction_id, expected=expected, mismatches=tuple(found)
            )
        return ReconciliationItem(
            transaction_id=transaction_id, expected=expected, error=outcome.error
        )
    try:
        internal = _facts(query, "internal")
        external = _facts(query, "external")
    except PayvenError as exc:  # a malformed detail record
        return ReconciliationItem(transaction_id=transaction_id, expected=expected, error=exc)
    if expected is not None:
        # The merchant's record against Payven's (the bank's when Payven's is absent).
        ours = internal if internal is not None else external
        if ours is not None:
            side = PAYVEN if internal is not None else BANK
            mine = (expected.status, expected.amount, None, expected.currency)
            _differences(found, (MERCHANT, side), mine, ours, captured=False)
    if internal is not None and external is not None:
        _differences(found, (PAYVEN, BANK), internal, external, captured=True)
    elif external is None and query.external_query_available:
        found.append(Mismatch(MismatchKind.EXTERNAL_MISSING, (PAYVEN, BANK)))
    return ReconciliationItem(
        transaction_id=transaction_id,
        expected=expected,
        query=query,
        mismatches=tuple(found) if found else (),
    )


# --- checking the arguments ---------------------------------------------------------------


def check_reconcile(
    transaction_ids: Any, start_date: Any, end_date: Any, expected: Any
) -> list[Problem]:
    """Every problem with what ``reconcile`` was asked to do (no I/O)."""
    problems: list[Problem] = []
    window = start_date is not None or end_date is not None
    if transaction_ids is not None and window:
        problems.append(
            Problem("transaction_ids", "give transaction ids or a date window, not both")
        )
    if transaction_ids is None and not window and expected is None:
        problems.append(
            Problem(
                "transaction_ids",
                "give transaction ids, a date window (start_date, end_date) or expected records",
            )
        )
    if isinstance(transaction_ids, (str, bytes)):
        problems.append(Problem("transaction_ids", "must be an iterable of ids, not one string"))
    elif transaction_ids is not None and not isinstance(transaction_ids, (Iterable, AsyncIterable)):
        problems.append(Problem("transaction_ids", "must be an iterable or async iterable of ids"))
    for name, value in (("start_date", start_date), ("end_date", end_date)):
        if value is not None and not isinstance(value, date):
            problems.append(Problem(name, f"must be a date or datetime, got {value!r}"))
    if (
        isinstance(start_date, date)
        and isinstance(end_date, date)
        and type(start_date) is type(end_date)
        and start_date > end_date
    ):
        problems.append(Problem("end_date", "must not be before start_date"))
    if expected is not None:
        if not isinstance(expected, Mapping):
            problems.append(Problem("expected", "must map transaction ids to ExpectedRecord"))
        else:
            bad = 0
            for key, record in expected.items():
                problem = _record_problem(key, record)
                if problem is not None:
                    problems.append(Problem(f"expected[{key!r}]", problem))
                    bad += 1
                    if bad == 10:  # enough to see the pattern
                        break
    return problems


def _record_problem(key: Any, record: Any) -> str | None:
    if not isinstance(key, str) or not isinstance(record, ExpectedRecord):
        return "must map a str id to an ExpectedRecord"
    amount = record.amount
    if amount is not None and (type(amount) is not int or amount < 0):
        return f"amount must be whole minor units (an int >= 0), got {amount!r}"
    for name in ("currency", "status"):
        value = getattr(record, name)
        if value is not None and not isinstance(value, str):
            return f"{name} must be a str, got {value!r}"
    return None


# --- the stream ---------------------------------------------------------------------------


class _Books:
    """The expected records not yet taken, and those of the ids in flight."""

    def __init__(self, expected: Mapping[str, ExpectedRecord] | None, skip: Container[str]) -> None:
        self.given = expected is not None
        self.untaken: dict[str, ExpectedRecord] = {
            key: record for key, record in (expected or {}).items() if key not in skip
        }
        self.in_flight: dict[str, ExpectedRecord | None] = {}

    def take(self, transaction_id: str) -> None:
        if self.given:
            record = self.untaken.pop(transaction_id, None)
            if record is not None or transaction_id not in self.in_flight:
                self.in_flight[transaction_id] = record

    def leftovers(self) -> Iterator[str]:
        """The expected ids never taken, each moved in flight as it is handed out."""
        untaken = self.untaken
        while untaken:
            transaction_id = next(iter(untaken))
            self.in_flight[transaction_id] = untaken.pop(transaction_id)
            yield transaction_id

    def settle(self, outcome: QueryOutcome) -> ReconciliationItem:
        if not self.given:
            return compare(outcome, None, merchant_known=None)
        record = self.in_flight.pop(outcome.transaction_id, None)
        return compare(outcome, record, merchant_known=record is not None)


def _ids_then_leftovers(
    ids: TransactionIds | None, books: _Books, skip: Container[str] | None
) -> TransactionIds:
    if isinstance(ids, AsyncIterable):

        async def both_async() -> AsyncGenerator[str, None]:
            async for transaction_id in ids:
                if skip is not None and transaction_id in skip:
                    continue
                books.take(transaction_id)
                yield transaction_id
            for transaction_id in books.leftovers():
                yield transaction_id

        return both_async()

    def both() -> Iterator[str]:
        if ids is not None:
            if skip is not None:
                ids_left: Iterable[str] = (i for i in ids if i not in skip)
            else:
                ids_left = ids
            if books.given:
                for transaction_id in ids_left:
                    books.take(transaction_id)
                    yield transaction_id
            else:
                yield from ids_left
        yield from books.leftovers()

    return both()


QueryMany = Callable[["TransactionIds"], AsyncGenerator[QueryOutcome, None]]


def reconcile_items(
    query_many: QueryMany,
    ids: TransactionIds | None,
    expected: Mapping[str, ExpectedRecord] | None,
    progress: Callable[[ReconciliationItem], None] | None = None,
    skip: Container[str] | None = None,
) -> AsyncGenerator[ReconciliationItem, None]:
    """One :class:`ReconciliationItem` per id of ``ids`` and of ``expected`` not in it,
    except those in ``skip``.

    ``query_many`` is called now (so its arguments are checked now); the items come
    as the answers do.
    """
    books = _Books(expected, skip or ())
    outcomes = query_many(_ids_then_leftovers(ids, books, skip))

    async def items() -> AsyncGenerator[ReconciliationItem, None]:
        async with contextlib.aclosing(outcomes):
            async for outcome in outcomes:
                item = books.settle(outcome)
                if progress is not None:
                    progress(item)
                yield item

    return items()
