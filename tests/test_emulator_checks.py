"""The emulator's body checks on their own: the shared rules, phrased in Turkish, both styles."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from payven_async import PaymentRequest, PayRequest
from payven_async._converters import encode
from payven_async._rules import CODES
from payven_async.testing._answers import ProblemError
from payven_async.testing._checks import (
    MESSAGES,
    check_card_request,
    check_complete_3ds,
    check_refund,
    check_session_request,
)

from .emulator_support import APPROVED, CVV, pay_request

TODAY = date(2026, 5, 10)
B_REQUIRED = ("amount", "amount.currency", "card", "installment")


def body(style: str, **card: Any) -> dict[str, Any]:
    """The client's body for an approved pay, in ``style``, with card fields replaced."""
    encoded: dict[str, Any] = encode(pay_request(), style)
    if style == "snake":
        encoded["installment"] = 1
    encoded["card"].update(card)
    return encoded


def errors_of(call: Any) -> dict[str, list[str]]:
    """The 400 validation problem's errors ``call`` raises."""
    with pytest.raises(ProblemError) as caught:
        call()
    assert (caught.value.status, caught.value.code) == (400, "validation_failed")
    assert caught.value.errors is not None
    return dict(caught.value.errors)


def test_every_rule_code_is_phrased_in_turkish() -> None:
    """Each code payven_async._rules can return has a message in the emulator's table."""
    assert set(CODES) <= set(MESSAGES)
    assert all(message.strip() for message in MESSAGES.values())


@pytest.mark.parametrize(
    ("card", "field", "code"),
    [
        ({"number": "4546711234567895"}, "number", "card_luhn"),
        ({"number": "4546 7112 3456 7894"}, "number", "card_number_format"),
        ({"cvv": "12"}, "cvv", "cvv_format"),
        ({"expire_month": "13"}, "expire_month", "expire_month_format"),
        ({"expire_year": "2020"}, "expire_year", "card_expired"),
        ({"holder_name": "  "}, "holder_name", "empty"),
    ],
)
def test_one_checker_for_both_styles(card: dict[str, str], field: str, code: str) -> None:
    """A card rule breaks the same way in generation A (camelCase) and B (snake_case)."""
    camel_field = "".join(
        part if i == 0 else part.title() for i, part in enumerate(field.split("_"))
    )
    camel_card = {camel_field if k == field else k: v for k, v in card.items()}
    errors_a = errors_of(
        lambda: check_card_request(
            body("camel", **camel_card), PayRequest, style="camel", today=TODAY
        )
    )
    errors_b = errors_of(
        lambda: check_card_request(
            body("snake", **card), PaymentRequest, style="snake", today=TODAY, required=B_REQUIRED
        )
    )
    assert errors_a == {f"card.{camel_field}": [MESSAGES[code]]}
    assert errors_b == {f"card.{field}": [MESSAGES[code]]}
    assert APPROVED not in str(errors_a) + str(errors_b)
    assert CVV not in str(errors_a) + str(errors_b)


def test_the_emulator_policy_comes_after_the_rules() -> None:
    """Minimum amount, TRY only and at most 12 installments are the emulator's own codes."""
    encoded = body("snake")
    encoded["amount"] = {"amount": 99, "currency": "EUR"}
    encoded["installment"] = 13
    errors = errors_of(
        lambda: check_card_request(
            encoded, PaymentRequest, style="snake", today=TODAY, required=B_REQUIRED
        )
    )
    assert errors == {
        "amount.amount": [MESSAGES["amount_below_minimum"]],
        "amount.currency": [MESSAGES["currency_not_supported"]],
        "installment": [MESSAGES["installment_above_maximum"]],
    }


def test_generation_b_requires_what_its_schema_requires() -> None:
    """Missing top-level fields are reported first; a missing currency with the field rules."""
    encoded = body("snake")
    del encoded["installment"]
    assert errors_of(
        lambda: check_card_request(
            encoded, PaymentRequest, style="snake", today=TODAY, required=B_REQUIRED
        )
    ) == {"installment": [MESSAGES["required"]]}
    encoded = body("snake")
    del encoded["amount"]["currency"]
    assert errors_of(
        lambda: check_card_request(
            encoded, PaymentRequest, style="snake", today=TODAY, required=B_REQUIRED
        )
    ) == {"amount.currency": [MESSAGES["required"]]}


def test_generation_a_defaults_what_it_may_leave_out() -> None:
    """Generation A may leave out installment and currency, and give the operation's index."""
    encoded = body("camel")
    del encoded["installment"]
    del encoded["amount"]["currency"]
    encoded["operationType"] = 1
    pay = check_card_request(encoded, PayRequest, style="camel", today=TODAY)
    assert (pay.installment, pay.amount.currency, pay.operation_type.value) == (1, "TRY", "PreAuth")


def test_session_refund_and_complete_bodies_use_the_same_rules() -> None:
    """Session amounts and installments, refund amounts and 3-D Secure ids go through the rules."""
    assert errors_of(
        lambda: check_session_request(
            {"amount": 15000, "currency": "TRY", "allowed_installments": [1, 0]}
        )
    ) == {"allowed_installments[1]": [MESSAGES["installment_range"]]}
    assert errors_of(lambda: check_refund({"amount": 0}, "tx")) == {
        "amount": [MESSAGES["not_positive"]]
    }
    assert errors_of(lambda: check_refund({"amount": 1, "transaction_id": "other"}, "tx")) == {
        "transaction_id": [MESSAGES["path_mismatch"]]
    }
    assert errors_of(lambda: check_complete_3ds({"transaction_id": ""})) == {
        "transaction_id": [MESSAGES["empty"]]
    }
    assert check_refund({"amount": 100, "reason_code": "customer_request"}, "tx").amount == 100
