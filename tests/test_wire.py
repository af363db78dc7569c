"""The wire converter: what we send matches the seeds; every documented variant decodes."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import types
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from payven_async import (
    Address,
    BasketItem,
    Buyer,
    Card,
    CheckoutPaymentMode,
    CheckoutSession,
    CheckoutSessionRequest,
    DecodeError,
    Money,
    OperationType,
    PaymentQuery,
    PaymentQueryDetail,
    PaymentResult,
    PayRequest,
    Token,
)
from payven_async._converters import converter, encode, strict_converter, structure
from payven_async._deferred import decode_on_first_access
from payven_async._hooks import to_amount
from payven_async._json import decode_json, dumps
from payven_async._responses import unwrap_envelope

DATA = Path(__file__).parent / "data"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def full_pay_request() -> PayRequest:
    address = Address(
        contact_name="Ayşe Yılmaz",
        city="İstanbul",
        country="Turkey",
        address="Bağdat Cad. 1",
        postal_code="34710",
    )
    return PayRequest(
        external_id="ORDER-1001",
        basket_id="BASKET-1",
        amount=Money(15000, "TRY"),
        installment=1,
        card=Card("Test Kullanici", "4546711234567894", "12", "2030", "000"),
        description="Sipariş ödemesi",
        buyer=Buyer(
            id="B-1",
            name="Ayşe",
            surname="Yılmaz",
            email="ayse@example.com",
            phone="+905551112233",
            ip_address="85.34.78.112",
            identity_number="11111111110",
        ),
        billing_address=address,
        shipping_address=address,
        basket_items=[BasketItem("I-1", "Kalem", 15000, 1)],
        callback_url="https://shop.example/callback",
        cancel_url="https://shop.example/cancel",
        return_url="https://shop.example/return",
        operation_type=OperationType.SALE,
        extra_properties={},
    )


def read_everything(model: Any) -> None:
    """Read every attribute of a model and of the models in it (decoding lazy parts)."""
    for field in attrs.fields(type(model)):
        value = getattr(model, field.name)
        if attrs.has(type(value)):
            read_everything(value)


def key_shape(value: Any) -> Any:
    """The tree of keys and JSON types of a value, with leaf values replaced by types."""
    if isinstance(value, dict):
        return {key: key_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [key_shape(item) for item in value]
    return type(value).__name__


def test_pay_body_has_exactly_the_seed_000_keys_and_types() -> None:
    """A fully filled PayRequest encodes to the seed's camelCase key tree and JSON types."""
    seed = load("seed_000_pay_request.json")
    sent = json.loads(dumps(encode(full_pay_request(), "camel")))
    assert set(sent) == set(seed)
    assert key_shape(sent) == key_shape(seed)
    assert sent["operationType"] == "Sale" == seed["operationType"]
    assert sent["amount"] == {"amount": 15000, "currency": "TRY"}


def test_pay_body_leaves_none_fields_out() -> None:
    """Fields that are None are not sent at all, not sent as null."""
    request = PayRequest(amount=Money(100), card=Card("A B", "4546711234567894", "1", "30", "123"))
    sent = json.loads(dumps(encode(request, "camel")))
    assert sent == {
        "amount": {"amount": 100, "currency": "TRY"},
        "card": {
            "holderName": "A B",
            "number": "4546711234567894",
            "expireMonth": "01",
            "expireYear": "2030",
            "cvv": "123",
        },
        "installment": 1,
        "operationType": "Sale",
    }


def test_every_operation_type_is_sent_by_its_api_name() -> None:
    """OperationType members go on the wire as the API's PascalCase names."""
    sent = {
        member: encode(
            PayRequest(
                amount=Money(1),
                card=Card("A", "4546711234567894", "12", "2030", "000"),
                operation_type=member,
            ),
            "camel",
        )["operationType"]
        for member in OperationType
    }
    assert sent == {
        OperationType.SALE: "Sale",
        OperationType.PRE_AUTH: "PreAuth",
        OperationType.POST_AUTH: "PostAuth",
        OperationType.VOID: "Void",
        OperationType.REFUND: "Refund",
        OperationType.RECURRING: "Recurring",
    }


def test_checkout_session_request_is_flat_snake_case() -> None:
    """Create-session bodies use generation B: snake_case keys and a flat amount."""
    request = CheckoutSessionRequest(
        amount=15000,
        currency="TRY",
        allowed_installments=[1, 3],
        external_id="ORDER-1",
        payment_mode=CheckoutPaymentMode.THREE_D_SECURE,
        allow_pre_auth=False,
        metadata={"k": "v"},
    )
    assert encode(request, "snake") == {
        "amount": 15000,
        "currency": "TRY",
        "allowed_installments": [1, 3],
        "external_id": "ORDER-1",
        "metadata": {"k": "v"},
        "payment_mode": "ThreeDSecure",
        "allow_pre_auth": False,
    }


def test_strict_converter_round_trips_the_pay_body() -> None:
    """The emulator's strict decoder reads back exactly what the client sends."""
    request = full_pay_request()
    decoded = strict_converter("camel").structure(encode(request, "camel"), PayRequest)
    assert decoded == request


def test_strict_converter_forbids_extra_and_snake_keys() -> None:
    """Strict decoding names unexpected keys instead of ignoring them."""
    body = encode(full_pay_request(), "camel")
    body["surprise"] = 1
    with pytest.raises(DecodeError, match="surprise"):
        strict_converter("camel").structure(body, PayRequest)
    snake = encode(full_pay_request(), "snake")
    with pytest.raises(DecodeError, match="external_id"):
        strict_converter("camel").structure(snake, PayRequest)


def test_strict_converter_reports_missing_required_fields() -> None:
    """A body without the required card is rejected by the strict decoder."""
    body = encode(full_pay_request(), "camel")
    del body["card"]
    with pytest.raises(DecodeError, match="card"):
        strict_converter("camel").structure(body, PayRequest)


def test_seed_000_answer_decodes_through_the_envelope() -> None:
    """The pay seed's envelope answer unwraps into a PaymentResult."""
    data, envelope = unwrap_envelope(load("seed_000_pay_response.json"))
    assert envelope is not None
    assert envelope["isSuccess"] is True
    result = structure(data, PaymentResult)
    assert result.transaction_id == "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    assert result.is_success is True
    assert result.error_code == "<string>"
    assert result.extra_properties == {}


def test_seed_001_answer_decodes_every_detail_field() -> None:
    """The query seed decodes with exact ints, Decimal captured amounts, aware datetimes."""
    query = structure(load("seed_001_query_response.json"), PaymentQuery)
    assert query.transaction_id == "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    assert query.external_query_available is True
    for detail in (query.internal, query.external):
        assert detail is not None
        assert detail.amount == 123
        assert type(detail.amount) is int
        assert detail.captured_amount == Decimal(123)
        assert detail.is_3d_secure is True
        assert detail.processed_at == datetime(2023, 11, 7, 5, 31, 56, tzinfo=timezone.utc)
        assert detail.unknown_fields == {}
    assert query.unknown_fields == {}


def camel_query_envelope() -> dict[str, Any]:
    """Generation A's query answer: camelCase inside the envelope."""
    return {
        "message": None,
        "isSuccess": True,
        "code": "200",
        "data": {
            "transactionId": "t-1",
            "status": "Completed",
            "isSuccess": True,
            "externalQueryAvailable": False,
            "internal": {
                "operationType": "PreAuth",
                "amount": 15000,
                "netAmount": 14850,
                "is3DSecure": True,
                "capturedAmount": 150.1,
                "processedAt": "2026-05-03T10:00:00+03:00",
            },
            "external": None,
        },
    }


def test_camel_case_envelope_variant_decodes() -> None:
    """Generation A's camelCase enveloped query decodes into the same model."""
    data, _ = unwrap_envelope(camel_query_envelope())
    query = structure(data, PaymentQuery)
    assert query.transaction_id == "t-1"
    assert query.external is None
    internal = query.internal
    assert internal is not None
    assert internal.operation_type is OperationType.PRE_AUTH
    assert internal.net_amount == 14850
    assert internal.is_3d_secure is True
    assert internal.captured_amount == Decimal("150.1")
    assert internal.processed_at is not None
    assert internal.processed_at.utcoffset() == timedelta(hours=3)


@pytest.mark.parametrize("key", ["is3_d_secure", "is3DSecure", "is_3d_secure", "Is3DSecure"])
def test_every_spelling_of_is_3d_secure_decodes(key: str) -> None:
    """The spec's, the guides' and the .NET spellings of the 3DS flag are one field."""
    query = structure({"internal": {key: True}}, PaymentQuery)
    assert query.internal is not None
    assert query.internal.is_3d_secure is True


@pytest.mark.parametrize(
    ("spelling", "member"),
    [
        ("Sale", OperationType.SALE),
        ("sale", OperationType.SALE),
        ("SALE", OperationType.SALE),
        (0, OperationType.SALE),
        ("0", OperationType.SALE),
        ("PreAuth", OperationType.PRE_AUTH),
        ("pre_auth", OperationType.PRE_AUTH),
        ("PRE_AUTH", OperationType.PRE_AUTH),
        (1, OperationType.PRE_AUTH),
        ("post_auth", OperationType.POST_AUTH),
        (5, OperationType.RECURRING),
    ],
)
def test_enums_decode_in_any_spelling(spelling: Any, member: OperationType) -> None:
    """Enum values decode from PascalCase, snake, upper, and integer spellings."""
    query = structure({"internal": {"operation_type": spelling}}, PaymentQuery)
    assert query.internal is not None
    assert query.internal.operation_type is member


def test_unknown_enum_values_are_kept() -> None:
    """An operation type the client does not know stays, as text, instead of failing."""
    query = structure({"internal": {"operation_type": "instant_refund"}}, PaymentQuery)
    assert query.internal is not None
    assert query.internal.operation_type == "instant_refund"
    session = structure({"session_id": "s", "payment_mode": "non3_d"}, CheckoutSession)
    assert session.payment_mode is CheckoutPaymentMode.NON_3D
    other = structure({"session_id": "s", "payment_mode": "apple_pay"}, CheckoutSession)
    assert other.payment_mode == "apple_pay"


def test_doubles_become_decimals_without_float_noise() -> None:
    """A JSON double like 0.1 or 150.10 becomes exactly that Decimal."""
    payload = decode_json(
        b'{"internal": {"captured_amount": 0.1}, "external": {"captured_amount": 150.10}}'
    )
    query = structure(payload, PaymentQuery)
    assert query.internal is not None
    assert query.internal.captured_amount == Decimal("0.1")
    assert query.external is not None
    assert query.external.captured_amount == Decimal("150.10")


def test_big_integers_stay_exact() -> None:
    """int64 (and larger) amounts decode without loss."""
    big = 2**63 - 1
    payload = decode_json(
        f'{{"internal": {{"amount": {big}, "net_amount": {big * 10 + 7}}}}}'.encode()
    )
    query = structure(payload, PaymentQuery)
    assert query.internal is not None
    assert query.internal.amount == big
    assert query.internal.net_amount == big * 10 + 7


def test_integral_double_amount_decodes_as_int() -> None:
    """Generation A's double-typed amount (15000.0) still decodes to an exact int."""
    result = structure(
        decode_json(b'{"transactionId": "t", "amount": 15000.0, "isSuccess": true}'), PaymentResult
    )
    assert result.amount == 15000
    assert type(result.amount) is int


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (15000, 15000),
        (Decimal("15000.00"), 15000),
        (Decimal("150.50"), Decimal("150.50")),
        (0.1, Decimal("0.1")),
        (15000.0, 15000),
        ("150.5", Decimal("150.5")),
        (" 42 ", 42),
    ],
)
def test_to_amount_gives_the_int_when_integral_else_the_exact_decimal(
    value: Any, expected: int | Decimal
) -> None:
    """An amount either generation may send is the int when integral, else the exact
    Decimal, never a float."""
    amount = to_amount(value)
    assert amount == expected
    assert type(amount) is type(expected)


@pytest.mark.parametrize("value", [True, None, "twelve", Decimal("NaN"), Decimal("Infinity"), {}])
def test_to_amount_refuses_what_is_not_a_number(value: Any) -> None:
    """A boolean, text that is not a number, NaN, infinity or an object is a DecodeError."""
    with pytest.raises(DecodeError):
        to_amount(value)


def test_fractional_double_amount_decodes_as_an_exact_decimal() -> None:
    """Generation A's double-typed amount with a fraction (150.5) is the exact Decimal,
    never a float, and refused nowhere."""
    result = structure(
        decode_json(b'{"transactionId": "t", "amount": 150.5, "isSuccess": true}'), PaymentResult
    )
    assert result.amount == Decimal("150.5")
    assert type(result.amount) is Decimal
    assert result.decode_problems == {}


def test_unknown_fields_are_kept_at_every_level() -> None:
    """Keys the models do not know are kept in unknown_fields, never dropped."""
    query = structure(
        {"transaction_id": "t", "risk_score": 12, "internal": {"amount": 1, "acquirer": "X"}},
        PaymentQuery,
    )
    assert query.unknown_fields == {"risk_score": 12}
    assert query.internal is not None
    assert query.internal.unknown_fields == {"acquirer": "X"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-11-07T05:31:56Z", datetime(2023, 11, 7, 5, 31, 56, tzinfo=timezone.utc)),
        (
            "2023-11-07T05:31:56.1234567Z",
            datetime(2023, 11, 7, 5, 31, 56, 123456, tzinfo=timezone.utc),
        ),
        (
            "2023-11-07T08:31:56+03:00",
            datetime(2023, 11, 7, 8, 31, 56, tzinfo=timezone(timedelta(hours=3))),
        ),
        ("2023-11-07T05:31:56", datetime(2023, 11, 7, 5, 31, 56, tzinfo=timezone.utc)),
        (
            "2023-11-07 05:31:56.5+0000",
            datetime(2023, 11, 7, 5, 31, 56, 500000, tzinfo=timezone.utc),
        ),
    ],
)
def test_timestamps_decode_timezone_aware(text: str, expected: datetime) -> None:
    """.NET's 7-digit fractions, Z, offsets and offset-less UTC all give aware datetimes."""
    query = structure({"internal": {"processed_at": text}}, PaymentQuery)
    assert query.internal is not None
    assert query.internal.processed_at == expected
    assert query.internal.processed_at.tzinfo is not None


@pytest.mark.parametrize("payload", [[], "text", None, 12])
def test_an_answer_that_is_not_an_object_raises_decode_error(payload: Any) -> None:
    """An answer that is not a JSON object is a DecodeError, never a foreign exception."""
    with pytest.raises(DecodeError):
        read_everything(structure(payload, PaymentQuery))


@pytest.mark.parametrize(
    ("payload", "where", "field", "key"),
    [
        ({"internal": "not an object"}, [], "internal", "internal"),
        ({"internal": {"amount": "twelve"}}, ["internal"], "amount", "amount"),
        ({"internal": {"amount": 1.5}}, ["internal"], "amount", "amount"),
        ({"internal": {"processedAt": "yesterday"}}, ["internal"], "processed_at", "processedAt"),
        ({"is_success": "perhaps"}, [], "is_success", "is_success"),
        ({"internal": {"captured_amount": {"value": 1}}}, ["internal"], "captured_amount",
         "captured_amount"),
    ],
)  # fmt: skip
def test_a_value_of_a_wrong_type_is_kept_and_reported(
    payload: Any, where: list[str], field: str, key: str
) -> None:
    """A value of a type its field cannot take is kept in unknown_fields under the key it
    came with and named in decode_problems (what was wrong, not the value); the field
    keeps its default and the rest of the answer decodes."""
    query = structure({"transaction_id": "t-1", **payload}, PaymentQuery)
    read_everything(query)
    assert query.transaction_id == "t-1"
    model: Any = query
    for name in where:
        model = getattr(model, name)
    assert model.unknown_fields == {key: (payload[where[0]] if where else payload)[key]}
    assert list(model.decode_problems) == [field]
    assert "expected " in model.decode_problems[field]
    assert getattr(model, field) == attrs.fields_dict(type(model))[field].default


def test_invalid_json_raises_decode_error() -> None:
    """A body that is not JSON is a DecodeError chained to the JSON error."""
    with pytest.raises(DecodeError) as caught:
        decode_json(b"<html>502 Bad Gateway</html>")
    assert isinstance(caught.value.__cause__, ValueError)


def test_envelope_detection_needs_data_and_a_success_flag() -> None:
    """Only a body with data and isSuccess (any spelling), or with data and no key but
    the envelope's, is treated as an envelope."""
    assert unwrap_envelope({"isSuccess": True, "data": {"a": 1}}) == (
        {"a": 1},
        {"isSuccess": True, "data": {"a": 1}},
    )
    assert unwrap_envelope({"is_success": False, "data": None})[0] is None
    raw = {"transaction_id": "t", "is_success": True}
    assert unwrap_envelope(raw) == (raw, None)
    assert unwrap_envelope({"data": {"a": 1}, "message": "ok"}) == (
        {"a": 1},
        {"data": {"a": 1}, "message": "ok"},
    )
    other = {"data": {"a": 1}, "transaction_id": "t"}
    assert unwrap_envelope(other) == (other, None)


def test_checkout_session_answers_of_both_generations_decode() -> None:
    """The 201 raw snake answer and the enveloped camelCase answer give the same session."""
    snake = structure(
        {
            "session_id": "abc",
            "checkout_url": "https://vpos.payven.com.tr/checkout.html?session=abc",
            "expires_at": "2026-11-22T10:30:00Z",
        },
        CheckoutSession,
    )
    data, _ = unwrap_envelope(
        {
            "isSuccess": True,
            "data": {
                "sessionId": "abc",
                "checkoutUrl": "https://vpos.payven.com.tr/checkout.html?session=abc",
                "expiresAt": "2026-11-22T10:30:00Z",
            },
        }
    )
    camel = structure(data, CheckoutSession)
    assert snake == camel
    assert snake.expires_at == datetime(2026, 11, 22, 10, 30, tzinfo=timezone.utc)


# --- detail records decoded on first access ------------------------------------------


def query_with_details() -> dict[str, Any]:
    detail = {"amount": 15000, "is3_d_secure": True, "processed_at": "2023-11-07T05:31:56Z"}
    return {"transaction_id": "t-1", "internal": detail, "external": dict(detail, amount=1)}


def test_detail_records_are_decoded_once_on_first_access() -> None:
    """A query's detail records decode when first read, and the same object comes back."""
    query = structure(query_with_details(), PaymentQuery)
    internal = query.internal
    assert isinstance(internal, PaymentQueryDetail)
    assert internal.amount == 15000
    assert internal.is_3d_secure is True
    assert query.internal is internal
    assert query.external is not None
    assert query.external.amount == 1


def test_lazy_query_compares_prints_and_evolves_like_a_constructed_one() -> None:
    """A decoded query equals, prints like and evolves like one built by its constructor."""
    detail = PaymentQueryDetail(
        amount=15000,
        is_3d_secure=True,
        processed_at=datetime(2023, 11, 7, 5, 31, 56, tzinfo=timezone.utc),
    )
    built = PaymentQuery(
        transaction_id="t-1", internal=detail, external=attrs.evolve(detail, amount=1)
    )
    assert built.internal is detail
    assert structure(query_with_details(), PaymentQuery) == built
    assert built == structure(query_with_details(), PaymentQuery)
    assert repr(structure(query_with_details(), PaymentQuery)) == repr(built)
    assert "internal=PaymentQueryDetail(status=None, operation_type=None, amount=15000" in repr(
        built
    )
    evolved = attrs.evolve(structure(query_with_details(), PaymentQuery), status="done")
    assert evolved == attrs.evolve(built, status="done")
    assert copy.deepcopy(structure(query_with_details(), PaymentQuery)) == built
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.internal = None  # type: ignore[misc]


def test_a_bad_value_in_a_detail_record_is_reported_when_the_record_is_read() -> None:
    """A detail record's value of a wrong type is kept and reported in the record, which
    decodes when first read, once; the rest of the answer is untouched."""
    query = structure(
        {"transaction_id": "t-1", "internal": {"amount": "twelve"}, "external": None}, PaymentQuery
    )
    assert query.transaction_id == "t-1"
    assert query.external is None
    internal = query.internal
    assert internal is not None
    assert query.internal is internal
    assert internal.amount is None
    assert internal.unknown_fields == {"amount": "twelve"}
    assert internal.decode_problems == {"amount": "expected an integer, got str"}
    assert "twelve" not in repr(query)
    kept = structure({"internal": ["not", "an", "object"]}, PaymentQuery)
    assert kept.internal is None
    assert kept.unknown_fields == {"internal": ["not", "an", "object"]}


# --- the wire layer's modules: cattrs' code, hand code where measured, built lazily -------


def test_importing_the_package_imports_no_cattrs_and_installs_no_descriptor() -> None:
    """cattrs is imported when a converter is first built, not with the package; the
    descriptor for a query's detail records is installed then too, not by the models."""
    code = "\n".join(
        [
            "import sys, types",
            "import payven_async",
            "from payven_async import PaymentQuery",
            "assert 'cattrs' not in sys.modules",
            "slot = PaymentQuery.__dict__['internal']",
            "assert isinstance(slot, types.MemberDescriptorType), slot",
            "from payven_async._converters import structure",
            "query = structure({'internal': {'amount': 1}}, PaymentQuery)",
            "assert 'cattrs' in sys.modules",
            "assert type(PaymentQuery.__dict__['internal']).__name__ == 'DecodedOnFirstAccess'",
            "assert query.internal.amount == 1",
        ]
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_installing_the_descriptor_twice_keeps_one() -> None:
    """decode_on_first_access on an already installed field leaves it as it is."""
    structure({}, PaymentQuery)  # builds the decoder, which installs the descriptor
    installed = PaymentQuery.__dict__["internal"]
    decode_on_first_access(PaymentQuery, "internal")
    assert PaymentQuery.__dict__["internal"] is installed
    assert isinstance(installed.slot, types.MemberDescriptorType)


def test_hand_generated_code_serves_only_the_measured_classes() -> None:
    """PaymentResult's and PaymentQuery's decoders and the pay body's encoders are
    _fastpath's (the budget needs them); other classes get cattrs' generated code."""
    lenient = converter("snake")
    for cls in (PaymentResult, PaymentQuery):
        assert lenient.get_structure_hook(cls).__code__.co_filename.startswith(
            "<payven generated decoder"
        )
    for cls in (PaymentQueryDetail, CheckoutSession, Token):
        assert not lenient.get_structure_hook(cls).__code__.co_filename.startswith("<payven")
    for request_type in (PayRequest, Card, Money, Buyer, Address, BasketItem):
        encoder = converter("camel").get_unstructure_hook(request_type)
        assert encoder.__code__.co_filename.startswith("<payven generated encoder")
    encoder = converter("snake").get_unstructure_hook(CheckoutSessionRequest)
    assert encoder.__code__.co_filename.startswith("<cattrs generated unstructure")


def test_converters_are_built_once_a_kind() -> None:
    """Each converter is built once; lenient and strict, camel and snake are four."""
    kinds = [converter("snake"), converter("camel"), strict_converter("snake")]
    kinds.append(strict_converter("camel"))
    assert len({id(kind) for kind in kinds}) == 4
    assert converter() is converter("snake")
    assert strict_converter("camel") is kinds[3]


def test_cattrs_encoded_requests_send_fields_at_non_none_defaults() -> None:
    """A cattrs-encoded request leaves None fields out but sends installment=1 and
    operationType=Sale, which equal their defaults."""
    from payven_async import PaymentRequest

    request = PaymentRequest(
        amount=Money(100), card=Card("A B", "4546711234567894", "1", "30", "123")
    )
    sent = encode(request, "camel")
    assert sent["installment"] == 1
    assert sent["operationType"] == "Sale"
    assert set(sent) == {"amount", "card", "installment", "operationType"}


def test_strict_converter_refuses_unknown_enum_values_and_null_required_fields() -> None:
    """Strictly, an enum value the API does not define, or null for a required field,
    is a DecodeError; null for an optional field is its default."""
    body = encode(full_pay_request(), "camel")
    with pytest.raises(DecodeError, match="OperationType"):
        strict_converter("camel").structure({**body, "operationType": "sale"}, PayRequest)
    with pytest.raises(DecodeError, match="missing card"):
        strict_converter("camel").structure({**body, "card": None}, PayRequest)
    decoded = strict_converter("camel").structure(
        {**body, "installment": None, "description": None}, PayRequest
    )
    assert decoded.installment == 1
    assert decoded.description is None


def test_strict_converter_names_the_outer_unexpected_keys_first() -> None:
    """An extra key at the top is named even when a nested object has one too."""
    body = encode(full_pay_request(), "camel")
    body["buyer"]["nickname"] = "x"
    body["surprise"] = 1
    with pytest.raises(DecodeError, match="PayRequest: unexpected keys surprise"):
        strict_converter("camel").structure(body, PayRequest)
    del body["surprise"]
    with pytest.raises(DecodeError, match="Buyer: unexpected keys nickname"):
        strict_converter("camel").structure(body, PayRequest)


def test_answers_in_pascal_case_and_with_unknown_keys_decode_alike() -> None:
    """PascalCase keys and unknown keys take the general (cattrs) path and give what the
    usual spelling gives, unknown keys kept."""
    camel = structure({"transactionId": "t", "isSuccess": True}, PaymentResult)
    pascal = structure({"TransactionId": "t", "IsSuccess": True, "Risk": 1}, PaymentResult)
    assert attrs.evolve(pascal, unknown_fields={}) == camel
    assert pascal.unknown_fields == {"Risk": 1}
