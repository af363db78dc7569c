"""The client's checks of the reconciliation resource's request bodies, in English.

Each returns every problem it finds (an empty list: the body may be sent), as the
checks of :mod:`._validate` do; the operation rows of :mod:`._operations` name them.
The models are read by attribute only, so this module imports none of them.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from . import _rules as rules
from .errors import Problem

__all__ = [
    "bulk_resolve_problems",
    "cancel_problems",
    "finalize_problems",
    "resolve_detail_problems",
    "start_reconciliation_problems",
]


def _member(field: str, value: Any, enum_name: str, problems: list[Problem]) -> None:
    if not (isinstance(value, enum.Enum) and type(value).__name__ == enum_name):
        problems.append(Problem(field, f"must be a {enum_name}, got {value!r}"))


def _aware(field: str, value: Any, problems: list[Problem]) -> bool:
    if not isinstance(value, datetime):
        problems.append(Problem(field, f"must be a datetime, got {type(value).__name__}"))
        return False
    if value.utcoffset() is None:
        problems.append(Problem(field, "must carry a timezone offset"))
        return False
    return True


def _text(field: str, value: Any, problems: list[Problem]) -> None:
    if value is not None:
        code = rules.text(value)
        if code is not None:
            problems.append(Problem(field, rules.CODES[code]))


def _identifier(field: str, value: Any, problems: list[Problem]) -> None:
    if value is not None:
        code = rules.identifier(value)
        if code is not None:
            problems.append(Problem(field, rules.CODES[code]))


def _non_negative(field: str, value: Any, problems: list[Problem]) -> None:
    if not (rules.is_int(value) and 0 <= value <= rules.INT64_MAX):
        problems.append(Problem(field, f"must be an int >= 0 (minor units), got {value!r}"))


def start_reconciliation_problems(request: Any) -> list[Problem]:
    """A ``StartReconciliationRequest``: its enums, an aware period (a ``CUSTOM`` one
    needs its end, after its start), ids, and each bank transaction."""
    problems: list[Problem] = []
    _member("scope", request.scope, "ReconciliationScope", problems)
    _member("period", request.period, "ReconciliationPeriod", problems)
    start_ok = _aware("period_start", request.period_start, problems)
    end = request.period_end
    if end is None:
        if getattr(request.period, "name", None) == "CUSTOM":
            problems.append(Problem("period_end", "is required for a CUSTOM period"))
    elif _aware("period_end", end, problems) and start_ok and end < request.period_start:
        problems.append(Problem("period_end", "must not be before period_start"))
    _identifier("connector_config_id", request.connector_config_id, problems)
    _identifier("merchant_id", request.merchant_id, problems)
    lines = request.bank_transactions
    if lines is not None:
        if isinstance(lines, (str, bytes)) or not isinstance(lines, Sequence):
            problems.append(Problem("bank_transactions", "must be a list of BankTransaction"))
            return problems
        for index, line in enumerate(lines):
            where = f"bank_transactions[{index}]"
            if type(line).__name__ != "BankTransaction":
                problems.append(Problem(where, "must be a BankTransaction"))
                continue
            _non_negative(f"{where}.amount", line.amount, problems)
            for name in ("bank_transaction_id", "merchant_external_id", "auth_code"):
                _identifier(f"{where}.{name}", getattr(line, name), problems)
            _text(f"{where}.status", line.status, problems)
            if line.transaction_date is not None:
                _aware(f"{where}.transaction_date", line.transaction_date, problems)
    return problems


def resolve_detail_problems(request: Any, prefix: str = "") -> list[Problem]:
    """A ``ResolveReconciliationDetailRequest``: an action, and what it needs
    (``ADJUST_AMOUNT`` an ``adjusted_amount``, ``FORCE_STATUS`` an ``applied_status``)."""
    problems: list[Problem] = []
    _member(f"{prefix}action", request.action, "ReconciliationResolutionAction", problems)
    action = getattr(request.action, "name", None)
    if request.adjusted_amount is not None:
        _non_negative(f"{prefix}adjusted_amount", request.adjusted_amount, problems)
    elif action == "ADJUST_AMOUNT":
        problems.append(Problem(f"{prefix}adjusted_amount", "is required to ADJUST_AMOUNT"))
    if request.applied_status is not None:
        _member(f"{prefix}applied_status", request.applied_status, "TransactionStatus", problems)
    elif action == "FORCE_STATUS":
        problems.append(Problem(f"{prefix}applied_status", "is required to FORCE_STATUS"))
    _text(f"{prefix}remarks", request.remarks, problems)
    return problems


def bulk_resolve_problems(request: Any) -> list[Problem]:
    """A bulk resolve: at least one item, each a detail id and a resolution."""
    problems: list[Problem] = []
    items = request.items
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence) or not items:
        return [Problem("items", "must be a non-empty list of BulkResolveItem")]
    for index, item in enumerate(items):
        where = f"items[{index}]"
        if type(item).__name__ != "BulkResolveItem":
            problems.append(Problem(where, "must be a BulkResolveItem"))
            continue
        code = rules.identifier(item.detail_id)
        if code is not None:
            problems.append(Problem(f"{where}.detail_id", rules.CODES[code]))
        if type(item.request).__name__ != "ResolveReconciliationDetailRequest":
            problems.append(
                Problem(f"{where}.request", "must be a ResolveReconciliationDetailRequest")
            )
        else:
            problems += resolve_detail_problems(item.request, f"{where}.request.")
    return problems


def finalize_problems(request: Any) -> list[Problem]:
    """A finalize: free-text ``notes``, a boolean ``force_partial``."""
    problems: list[Problem] = []
    _text("notes", request.notes, problems)
    if not isinstance(request.force_partial, bool):
        problems.append(Problem("force_partial", "must be True or False"))
    return problems


def cancel_problems(request: Any) -> list[Problem]:
    """A cancel: a free-text ``reason``."""
    problems: list[Problem] = []
    _text("reason", request.reason, problems)
    return problems
