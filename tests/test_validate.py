"""Input validation: every problem listed at once, before any network I/O."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from payven_async import (
    Address,
    BasketItem,
    Buyer,
    Card,
    CheckoutSessionRequest,
    Money,
    OperationType,
    PayRequest,
    PayvenClient,
    ValidationError,
)
from payven_async._operations import PAY
from payven_async._validate import _charge_problems, _urls, check_pay, luhn_valid

from .fake_server import FakePayven

GOOD_CARD = Card("Test Kullanici", "4546711234567894", "12", "2030", "000")


def fields(error: ValidationError) -> set[str]:
    return {problem.field for problem in error.problems}


def test_a_valid_request_passes() -> None:
    """The docs' example card and a positive TRY amount raise nothing."""
    check_pay("sess-1", PayRequest(amount=Money(15000), card=GOOD_CARD))


def test_every_problem_is_listed_in_one_error() -> None:
    """One ValidationError names each bad field, not just the first."""
    request = PayRequest(
        amount=Money(0, "try"),
        card=Card("", "4546711234567895", "13", "2019", "12"),
        installment=0,
        basket_items=[BasketItem("", "Pen", -1, 0)],
    )
    with pytest.raises(ValidationError) as caught:
        check_pay("", request, today=date(2026, 11, 22))
    assert fields(caught.value) == {
        "session_id",
        "amount.amount",
        "amount.currency",
        "card.holder_name",
        "card.number",
        "card.expire_month",
        "card.cvv",
        "installment",
        "basket_items[0].id",
        "basket_items[0].price",
        "basket_items[0].quantity",
    }
    assert "11 problems" in str(caught.value)


def test_error_text_never_echoes_card_data() -> None:
    """Validation messages name fields but never repeat the number or the CVV."""
    request = PayRequest(amount=Money(1), card=Card("A", "4546711234567895", "12", "2030", "98"))
    with pytest.raises(ValidationError) as caught:
        check_pay("s", request)
    assert "4546711234567895" not in str(caught.value)
    assert "card.number" in str(caught.value)
    assert "Luhn" in str(caught.value)


@pytest.mark.parametrize(
    ("today", "expired"),
    [(date(2030, 12, 31), False), (date(2031, 1, 1), True), (date(2026, 1, 1), False)],
)
def test_expiry_is_valid_through_its_month(today: date, expired: bool) -> None:
    """A card expiring 12/2030 is good until the end of December 2030."""
    request = PayRequest(amount=Money(1), card=GOOD_CARD)
    if expired:
        with pytest.raises(ValidationError, match="expired"):
            check_pay("s", request, today=today)
    else:
        check_pay("s", request, today=today)


@pytest.mark.parametrize("amount", [Decimal("150.00"), 150.0, True, -5])
def test_amount_must_be_a_positive_int(amount: object) -> None:
    """Decimals, floats, bools and negatives are refused as minor-unit amounts."""
    with pytest.raises(ValidationError) as caught:
        check_pay("s", PayRequest(amount=Money(amount), card=GOOD_CARD))  # type: ignore[arg-type]
    assert fields(caught.value) == {"amount.amount"}


def test_a_basket_item_may_have_no_id() -> None:
    """BasketItem(None, ...) passes the fast test and the rules, and is sent without an id."""
    from payven_async._converters import encode
    from payven_async._validate import _charge_is_plainly_valid

    item = BasketItem("ITEM-1", "Kitap", 10000)
    assert (item.id, item.name, item.price, item.quantity) == ("ITEM-1", "Kitap", 10000, 1)
    request = PayRequest(
        amount=Money(15000), card=GOOD_CARD, basket_items=[BasketItem(None, "Kitap", 10000), item]
    )
    assert _charge_is_plainly_valid(request, date(2026, 5, 10), ())
    assert _charge_problems(request, date(2026, 5, 10)) == []
    check_pay("s", request)
    for style, key in (("camel", "basketItems"), ("snake", "basket_items")):
        sent = encode(request, style)[key]
        assert sent == [
            {"name": "Kitap", "price": 10000, "quantity": 1},
            {"id": "ITEM-1", "name": "Kitap", "price": 10000, "quantity": 1},
        ]


@pytest.mark.parametrize("number", ["4546711234567894", "5500000000000004", "79927398713"])
def test_luhn_accepts_valid_numbers(number: str) -> None:
    """Known-valid numbers pass the Luhn check."""
    assert luhn_valid(number)


def test_luhn_rejects_a_single_digit_change() -> None:
    """Changing one digit breaks the Luhn check."""
    assert not luhn_valid("4546711234567895")


def digits_of(block: int) -> dict[int, str]:
    """A translation table from ASCII digits to those of another Unicode digit block."""
    return str.maketrans("0123456789", "".join(chr(block + value) for value in range(10)))


FULL_WIDTH = digits_of(0xFF10)
ARABIC_INDIC = digits_of(0x0660)


@pytest.mark.parametrize(
    "number",
    [
        "",
        "4546-7112",
        "4546711234567894".translate(FULL_WIDTH),
        "4546711234567894".translate(ARABIC_INDIC),
    ],
)
def test_luhn_fails_anything_but_ascii_digits(number: str) -> None:
    """Empty strings, separators and non-ASCII digits never pass the Luhn check."""
    assert not luhn_valid(number)


def test_luhn_matches_the_textbook_definition() -> None:
    """Digit strings of every length from 1 to 19 get the textbook Luhn answer."""

    def textbook(digits: str) -> bool:
        total = 0
        for position, char in enumerate(reversed(digits)):
            value = int(char) * (2 if position % 2 else 1)
            total += value - 9 if value > 9 else value
        return total % 10 == 0

    for length in range(1, 20):
        for seed in range(200):
            digits = str(seed * 7919 + length * 104729).zfill(length)[-length:]
            assert luhn_valid(digits) is textbook(digits), digits


def test_non_ascii_digits_are_refused_in_card_fields() -> None:
    """Full-width or Arabic-Indic digits pass str.isdigit() but are not card digits."""
    card = Card(
        "Test Kullanici",
        "4546711234567894".translate(FULL_WIDTH),
        "12".translate(FULL_WIDTH),
        "2030".translate(ARABIC_INDIC),
        "000".translate(FULL_WIDTH),
    )
    with pytest.raises(ValidationError) as caught:
        check_pay("s", PayRequest(amount=Money(15000), card=card), today=date(2026, 11, 22))
    assert fields(caught.value) == {
        "card.number",
        "card.expire_month",
        "card.expire_year",
        "card.cvv",
    }


async def test_invalid_pay_makes_no_network_call(
    client: PayvenClient, fake_payven: FakePayven
) -> None:
    """A bad request fails before the token or the pay endpoint is contacted."""
    bad = PayRequest(amount=Money(-1), card=GOOD_CARD)
    with pytest.raises(ValidationError):
        await client.pay("sess", bad)
    with pytest.raises(ValidationError, match="transaction_id"):
        await client.query("")
    with pytest.raises(ValidationError, match="currency"):
        await client.create_checkout_session(CheckoutSessionRequest(amount=1, currency="lira"))
    assert fake_payven.requests == []


async def test_ids_with_whitespace_or_control_characters_are_refused(client: PayvenClient) -> None:
    """Path ids may not carry spaces, newlines or control characters."""
    for bad in ("a b", "a\nb", "x\x00", "é" * 200):
        with pytest.raises(ValidationError, match="transaction_id"):
            await client.query(bad)


# --- the fast test and the rules agree --------------------------------------------------------

# Each field's values: the first valid, the rest a mix of valid and invalid.
TEXT = [None, "Ayşe Yılmaz", "", "plain", "bad \ud800 text", 5, b"bytes", "   "]
ID = [None, "ORDER-1001", "a b", "", "x" * 129, "sipariş-1", 7, "id\x00", "ok.id_~"]
URL = [None, "https://shop.example/cb", "http://x", "ftp://x", "https://x/\ud800", 3]
FIELDS: dict[str, list[Any]] = {
    "holder": ["Test Kullanici", "", "Ayşe", 4, "   ", "a\ud800"],
    "number": [
        "4546711234567894",
        "4546711234567895",
        "4546 7112 3456 7894",
        "45467112345678941234567",
        "454671123456789x",
        "4546711234567894".translate(FULL_WIDTH),
    ],
    "month": ["12", "01", "13", "1", "ab", 12],
    "year": ["2030", "2019", "30", "20x0", 2030],
    "cvv": ["000", "1234", "12", "abc", 123, "000".translate(ARABIC_INDIC)],
    "amount": [15000, 1, 0, -1, 2**63, True, 1.5],
    "currency": ["TRY", "USD", "EUR", "try", "TRYX", None],
    "installment": [1, 3, 0, "1", True],
    "external_id": ID,
    "basket_id": ID,
    "description": TEXT,
    "buyer_name": TEXT,
    "buyer_email": TEXT,
    "buyer": ["model", None, "not a buyer"],
    "city": TEXT,
    "address": ["model", None, 5],
    "item_id": ["ITEM-1", None, "", "   ", 5, "x\ud800"],
    "item_name": ["Kitap", "", 7, "Kalem \ud800"],
    "item_price": [10000, 0, -1, 2**63, 1.5],
    "item_quantity": [1, 2, 0, True],
    "items": ["list", None, "tuple", "not a list"],
    "callback_url": URL,
    "cancel_url": URL,
    "operation_type": [OperationType.SALE, OperationType.PRE_AUTH, OperationType.REFUND, "Sale"],
    "extra": [None, {"a": "b"}, {"a": 1}],
}


@st.composite
def pay_requests(draw: st.DrawFn) -> PayRequest:
    """A full seed-000 pay request with up to three fields changed, to a valid or an
    invalid value: most requests are a step or two from the usual, valid one."""
    changed = draw(st.sets(st.sampled_from(sorted(FIELDS)), max_size=3))
    value = {name: draw(st.sampled_from(FIELDS[name])) if name in changed else FIELDS[name][0]
             for name in FIELDS}  # fmt: skip
    item = BasketItem(
        value["item_id"], value["item_name"], value["item_price"], value["item_quantity"]
    )
    items = {"list": [item, BasketItem("ITEM-2", "Kalem", 2500, 2)], "tuple": (item,)}
    return PayRequest(
        amount=Money(value["amount"], value["currency"]),
        card=Card(value["holder"], value["number"], value["month"], value["year"], value["cvv"]),
        installment=value["installment"],
        external_id=value["external_id"],
        basket_id=value["basket_id"],
        description=value["description"],
        buyer=(
            Buyer(name=value["buyer_name"], email=value["buyer_email"], identity_number="1")
            if value["buyer"] == "model"
            else value["buyer"]
        ),
        billing_address=(
            Address(city=value["city"], address="Levent")
            if value["address"] == "model"
            else value["address"]
        ),
        shipping_address=Address(city="İstanbul"),
        basket_items=items.get(value["items"], value["items"]),
        callback_url=value["callback_url"],
        cancel_url=value["cancel_url"],
        operation_type=value["operation_type"],
        extra_properties=value["extra"],
    )


def rules_find(request: PayRequest) -> set[str]:
    """The fields the rules find fault with, one by one (no fast test)."""
    problems = _charge_problems(request, date.today())
    _urls(request, ("callback_url", "cancel_url", "return_url"), problems)
    return {problem.field for problem in problems}


@settings(max_examples=600, deadline=None)
@given(request=pay_requests())
def test_a_pay_is_refused_before_io_exactly_when_the_rules_find_a_problem(
    request: PayRequest,
) -> None:
    """The fast test and the encoder refuse what the rules refuse, and name the same fields."""
    try:
        PAY.prepare("https://vpos.example", "sess-1", body=request)
    except ValidationError as error:
        refused = {problem.field for problem in error.problems}
    else:
        refused = set()
    assert refused == rules_find(request)
