"""Models: money in minor units, masked card reprs, normalised card fields."""

from __future__ import annotations

from decimal import Decimal

import pytest

from payven_async import Buyer, Card, Money, PayRequest, QueryOutcome, Token
from payven_async.errors import NotFoundError

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
    """QueryOutcome.ok tells a result from an error."""
    error = NotFoundError("404", status=404)
    assert QueryOutcome("t").ok is True
    assert QueryOutcome("t", error=error).ok is False
