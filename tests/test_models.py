"""Models: money in minor units, masked card reprs, normalised card fields, lazy loading."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from typing import Any

import attrs
import pytest

import payven_async
import payven_sync
from payven_async import (
    Address,
    Buyer,
    Card,
    Money,
    PaymentQuery,
    PaymentResult,
    PayRequest,
    QueryFailed,
    QueryOutcome,
    QuerySucceeded,
    RefundRequest,
    Token,
    models,
)
from payven_async._validate import check_pay
from payven_async.errors import NotFoundError, ValidationError

PAN = "4546711234567894"


def test_money_from_decimal_converts_to_minor_units() -> None:
    """Decimal("150.00") TRY is 15000 kuruş, exactly."""
    assert Money.from_decimal(Decimal("150.00")) == Money(15000, "TRY")
    assert Money.from_decimal(Decimal("0.1"), "EUR") == Money(10, "EUR")
    assert Money.from_decimal("19.99") == Money(1999)
    assert Money.from_decimal(7) == Money(700)


def test_money_from_decimal_refuses_floats_and_hidden_rounding() -> None:
    """Floats are refused, and so are amounts finer than the currency's minor unit."""
    with pytest.raises(TypeError, match="float"):
        Money.from_decimal(150.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="decimal places"):
        Money.from_decimal(Decimal("150.005"))


def test_money_to_decimal_is_exact() -> None:
    """Minor units convert back to an exact major-unit Decimal."""
    assert Money(15000).to_decimal() == Decimal("150.00")
    assert str(Money(1999).to_decimal()) == "19.99"


def test_card_repr_masks_the_number_and_hides_the_cvv() -> None:
    """A card prints as 454671******7894 and never shows its CVV."""
    card = Card("Test Kullanici", PAN, "12", "2030", "987")
    for text in (repr(card), str(card), repr(PayRequest(amount=Money(1), card=card))):
        assert PAN not in text
        assert "987" not in text
        assert "454671******7894" in text


def test_reprs_read_as_attrs_reprs_with_hidden_and_omitted_fields() -> None:
    """Name(field=value, ...) in declaration order; hidden fields show ***, and fields
    declared repr=False (unknown_fields) are left out."""
    assert repr(Money(15000)) == "Money(amount=15000, currency='TRY')"
    assert repr(Card("Ali Veli", PAN, "1", "30", "987")) == (
        "Card(holder_name='Ali Veli', number=454671******7894, expire_month='01', "
        "expire_year='2030', cvv=***)"
    )
    result = PaymentResult(transaction_id="t-1", is_success=True, unknown_fields={"x": 1})
    assert repr(result) == (
        "PaymentResult(transaction_id='t-1', status=None, is_success=True, message=None, "
        "error_code=None, provider_error_code=None, extra_properties={}, amount=None, "
        "currency=None, is_3d_secure=None, created=None, basket_id=None)"
    )
    assert repr(RefundRequest(amount=500)) == (
        "RefundRequest(amount=500, currency=None, reason=None, reason_code=None, "
        "extra_properties=None)"
    )


def test_models_compare_and_hash_by_class_and_fields() -> None:
    """Equal fields and the same class: equal, with equal hashes; anything else differs."""
    assert Money(15000) == Money(15000, "TRY")
    assert hash(Money(15000)) == hash(Money(15000, "TRY"))
    assert Money(15000) != Money(15000, "EUR")
    assert Money(15000) != Money(15001)
    assert Money(15000) != (15000, "TRY")
    assert len({Money(1), Money(1), Money(2)}) == 2
    assert Buyer(name="A") != Address(contact_name="A")
    assert PaymentResult(transaction_id="t") == PaymentResult(transaction_id="t")
    assert PaymentResult(transaction_id="t", extra_properties={"a": "1"}) != PaymentResult(
        transaction_id="t"
    )
    with pytest.raises(TypeError, match="unhashable"):
        hash(PaymentResult(transaction_id="t"))  # a mapping field: unhashable, as in attrs


def test_request_models_are_mutable_and_unhashable_answers_are_frozen() -> None:
    """Requests can be changed before they are sent (so cannot hash); answers and Money cannot."""
    request = PayRequest(amount=Money(15000), card=Card("A", PAN, "12", "2030", "000"))
    request.installment = 3
    assert request.installment == 3
    with pytest.raises(TypeError, match="unhashable"):
        hash(request)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        Money(1).amount = 2  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        PaymentResult(transaction_id="t").status = "x"  # type: ignore[misc]


def test_a_card_field_assigned_later_is_sent_as_it_is_and_checked() -> None:
    """Only the constructor normalises; a pasted number assigned later fails validation."""
    card = Card("A", PAN, "12", "2030", "000")
    card.number = "4546 7112-3456 7894"
    assert card.number == "4546 7112-3456 7894"
    with pytest.raises(ValidationError, match=r"card\.number"):
        check_pay("s", PayRequest(amount=Money(15000), card=card))


def test_card_fields_are_normalised() -> None:
    """Pasted spaces are stripped, one-digit months padded, two-digit years widened."""
    card = Card("A", "4546 7112-3456 7894", 3, 30, "000")
    assert card.number == PAN
    assert card.expire_month == "03"
    assert card.expire_year == "2030"


def test_buyer_repr_hides_the_identity_number() -> None:
    """The T.C. identity number of a buyer never reaches a repr."""
    buyer = Buyer(name="Ayşe", identity_number="11111111110")
    assert "11111111110" not in repr(buyer)
    assert "Ayşe" in repr(buyer)


def test_token_repr_hides_both_tokens() -> None:
    """Access and refresh tokens are hidden from a Token's repr."""
    token = Token(access_token="eyJsecret.access.token", refresh_token="refresh-secret")
    assert "eyJsecret" not in repr(token)
    assert "refresh-secret" not in repr(token)


def test_query_outcome_reports_success() -> None:
    """QueryOutcome is QuerySucceeded (ok, a result) or QueryFailed (not ok, an error)."""
    error = NotFoundError("404", status=404)
    result = PaymentQuery(transaction_id="t")
    succeeded = QuerySucceeded("t", result)
    failed = QueryFailed("t", error)
    assert (succeeded.ok, succeeded.result, succeeded.error) == (True, result, None)
    assert (failed.ok, failed.result, failed.error) == (False, None, error)
    assert isinstance(succeeded, QueryOutcome)
    assert isinstance(failed, QueryOutcome)
    assert repr(failed).startswith("QueryFailed(transaction_id='t', error=")


def test_importing_the_packages_does_not_build_the_operation_models() -> None:
    """The payment operations' models load on first use, from any public name, once."""
    code = "\n".join(
        [
            "import sys, payven_async, payven_sync",
            "assert 'payven_async._operation_models' not in sys.modules",
            "from payven_async.models import RefundRequest",
            "assert 'payven_async._operation_models' in sys.modules",
            "import payven_async.models as models",
            "assert payven_async.RefundRequest is RefundRequest is payven_sync.RefundRequest",
            "assert models.PaymentHistory is payven_async.PaymentHistory",
        ]
    )
    # Our own interpreter running a literal program: nothing untrusted reaches it.
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("module", [models, payven_async, payven_sync])
def test_lazily_loaded_names_are_listed_and_unknown_names_still_fail(module: Any) -> None:
    """dir() lists every exported name; a name nobody exports raises AttributeError."""
    assert set(module.__all__) <= set(dir(module))
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    with pytest.raises(AttributeError, match="NoSuchModel"):
        module.NoSuchModel  # noqa: B018 - the attribute access is the test


def test_every_operation_model_is_reachable_lazily() -> None:
    """The lazily loaded names are exactly what _operation_models defines, and public."""
    from payven_async import _operation_models
    from payven_async._lazy import homed_in

    lazy = set(homed_in("payven_async._operation_models"))
    assert set(_operation_models.__all__) == lazy
    assert set(models.__all__) & set(payven_async.__all__) >= lazy
