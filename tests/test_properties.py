"""Property-based tests: any answer decodes or raises a PayvenError; models round-trip."""

from __future__ import annotations

import functools
import json
from datetime import timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from multidict import CIMultiDict, CIMultiDictProxy

from payven_async import (
    Address,
    BasketItem,
    Buyer,
    Card,
    CheckoutPaymentMode,
    CheckoutSession,
    CheckoutSessionRequest,
    Money,
    OperationType,
    PaymentQuery,
    PaymentQueryDetail,
    PaymentResult,
    PayRequest,
    PayvenError,
    Token,
)
from payven_async._converters import (
    _assemble,
    converter,
    encode,
    encode_text,
    strict_converter,
    structure,
)
from payven_async._http import Answer
from payven_async._json import to_json_text
from payven_async._responses import decode_answer, decode_token, error_from_answer
from payven_async.errors import APIError, DecodeError

RESPONSE_MODELS = [PaymentResult, PaymentQuery, CheckoutSession]
MANY = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(
                [
                    "data",
                    "isSuccess",
                    "is_success",
                    "internal",
                    "external",
                    "amount",
                    "captured_amount",
                    "processed_at",
                    "operation_type",
                    "transaction_id",
                    "extra_properties",
                    "token",
                    "access_token",
                    "expires_in",
                    "x",
                ]
            )
            | st.text(max_size=8),
            children,
            max_size=6,
        )
    ),
    max_leaves=25,
)


def answer(status: int, body: bytes) -> Answer:
    return Answer(status, CIMultiDictProxy(CIMultiDict()), body)


def read_everything(model: Any) -> None:
    """Read every attribute of a model and of the models in it, and its repr: parts
    decoded on first access (a query's detail records) are decoded here."""
    for field in attrs.fields(type(model)):
        value = getattr(model, field.name)
        if attrs.has(type(value)):
            read_everything(value)
    repr(model)


@MANY
@given(payload=json_values, model=st.sampled_from(RESPONSE_MODELS))
def test_any_json_answer_decodes_or_raises_a_payven_error(payload: Any, model: type) -> None:
    """Every JSON value as a 200 body gives a model whose every attribute reads, or a
    PayvenError (on decoding, or when a lazily decoded part is first read), nothing else."""
    body = json.dumps(payload).encode()
    try:
        result: Any = decode_answer(answer(200, body), model)
        read_everything(result)
    except PayvenError:
        return
    assert isinstance(result, model)


@MANY
@given(body=st.binary(max_size=200), model=st.sampled_from(RESPONSE_MODELS))
def test_any_bytes_answer_decodes_or_raises_a_payven_error(body: bytes, model: type) -> None:
    """Every byte string as a 200 body gives a model whose every attribute reads, or a
    PayvenError, nothing else."""
    try:
        result: Any = decode_answer(answer(200, body), model)
        read_everything(result)
    except PayvenError:
        return
    assert isinstance(result, model)


def spellings_of(models: list[type]) -> list[str]:
    """Every field name of ``models`` in snake, camel, .NET and Pascal case, upper case."""
    keys = set()
    for model in models:
        for field in attrs.fields(model):
            head, *rest = field.name.split("_")
            camel = head + "".join(part.title() for part in rest)
            dotnet = camel.replace("3d", "3D")
            keys.update({field.name, camel, dotnet, "is3_d_secure", camel[:1].upper() + camel[1:]})
            keys.add(field.name.upper())
    return sorted(keys)


DECODED_MODELS = [*RESPONSE_MODELS, PaymentQueryDetail, Token]
field_keys = st.sampled_from(spellings_of(DECODED_MODELS)) | st.text(max_size=8)


def outcome(decode: Any, payload: Any) -> Any:
    """What decoding ``payload`` gives, fully read: the model, or the error's type and text."""
    try:
        result = decode(payload)
        read_everything(result)
    except Exception as exc:
        return type(exc), str(exc)
    return result


@functools.cache
def cattrs_only(style: Any) -> Any:
    """A lenient converter that builds every class with cattrs' generated code, the
    classes ``_fastpath`` writes by hand too."""
    return _assemble(style, False, by_hand=False)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), model=st.sampled_from(DECODED_MODELS))
def test_hand_decoders_agree_with_cattrs_generated_code(data: Any, model: type) -> None:
    """A model's decoder (hand-generated for the hot answers) gives exactly what cattrs'
    generated code gives (the same model, or the same error) for any object of any key
    spellings."""
    # Mostly the model's own keys, so that the hand path's usual answer comes up often.
    keys = st.sampled_from(spellings_of([model])) | field_keys
    payload = data.draw(st.dictionaries(keys, json_values, max_size=10), label="payload")
    decoder = converter("snake").get_structure_hook(model)
    general = cattrs_only("snake").get_structure_hook(model)
    assert outcome(lambda data: decoder(data, model), payload) == outcome(
        lambda data: general(data, model), payload
    )


@settings(max_examples=1000, deadline=None)
@given(
    status=st.integers(400, 599),
    body=st.binary(max_size=100) | json_values.map(lambda v: json.dumps(v).encode()),
)
def test_any_error_answer_becomes_an_api_error(status: int, body: bytes) -> None:
    """Every 4xx/5xx answer, whatever its body, maps to an APIError with that status."""
    error = error_from_answer(answer(status, body))
    assert isinstance(error, APIError)
    assert error.status == status


@settings(max_examples=1000, deadline=None)
@given(payload=json_values)
def test_any_token_answer_decodes_or_raises_a_payven_error(payload: Any) -> None:
    """Token answers of any shape give a Token or a PayvenError."""
    try:
        token = decode_token(answer(200, json.dumps(payload).encode()))
    except PayvenError:
        return
    assert token.access_token


# --- round trips ------------------------------------------------------------------------

texts = st.text(min_size=1, max_size=12)
optional_texts = st.none() | texts
aware_datetimes = st.none() | st.datetimes(timezones=st.just(timezone.utc))
decimals = st.none() | st.decimals(allow_nan=False, allow_infinity=False, places=4)
ints = st.integers(-(2**63), 2**63)

cards = st.builds(
    Card,
    holder_name=texts,
    number=st.from_regex(r"[0-9]{13,19}", fullmatch=True),
    expire_month=st.sampled_from([f"{m:02d}" for m in range(1, 13)]),
    expire_year=st.from_regex(r"20[0-9]{2}", fullmatch=True),
    cvv=st.from_regex(r"[0-9]{3,4}", fullmatch=True),
)
addresses = st.none() | st.builds(
    Address,
    contact_name=optional_texts,
    city=optional_texts,
    country=optional_texts,
    address=optional_texts,
    postal_code=optional_texts,
)
pay_requests = st.builds(
    PayRequest,
    amount=st.builds(Money, st.integers(1, 10**12), st.sampled_from(["TRY", "USD"])),
    card=cards,
    installment=st.integers(1, 12),
    external_id=optional_texts,
    basket_id=optional_texts,
    description=optional_texts,
    buyer=st.none()
    | st.builds(Buyer, id=optional_texts, name=optional_texts, ip_address=optional_texts),
    billing_address=addresses,
    shipping_address=addresses,
    basket_items=st.none()
    | st.lists(
        st.builds(BasketItem, st.none() | texts, texts, st.integers(0, 10**9), st.integers(1, 99)),
        max_size=3,
    ),
    callback_url=optional_texts,
    cancel_url=optional_texts,
    return_url=optional_texts,
    operation_type=st.sampled_from(OperationType),
    extra_properties=st.none() | st.dictionaries(texts, texts, max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(request=pay_requests, style=st.sampled_from(["camel", "snake"]))
def test_pay_requests_round_trip_through_the_strict_converter(
    request: PayRequest, style: Any
) -> None:
    """What the client encodes, the strict decoder reads back identically, in both styles."""
    assert strict_converter(style).structure(encode(request, style), PayRequest) == request


@settings(max_examples=300, deadline=None)
@given(request=pay_requests, style=st.sampled_from(["camel", "snake"]))
def test_hand_encoders_agree_with_cattrs_generated_code(request: PayRequest, style: Any) -> None:
    """The pay body's hand-generated encoder sends exactly what cattrs' generated code
    sends, in both key styles."""
    assert encode(request, style) == cattrs_only(style).unstructure(request)


@settings(max_examples=300, deadline=None)
@given(request=pay_requests, style=st.sampled_from(["camel", "snake"]))
def test_text_encoders_write_what_the_json_module_writes(request: PayRequest, style: Any) -> None:
    """The pay body's encoder straight to JSON text writes exactly the text that
    ``json``'s encoder writes for the encoded dict, and that is cattrs' generated
    dict (whose key order differs), in both key styles."""
    text = encode_text(request, style)
    assert text == to_json_text(encode(request, style))
    assert json.loads(text) == cattrs_only(style).unstructure(request)


class _Text(str):
    """A str subclass: the encoder writes it as text."""


class _Number(int):
    """An int subclass: the encoder writes it as a number."""


#: Values of any type, for any field: what callers could put there before validation.
odd_values = (
    st.none()
    | texts
    | st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=2)
    | st.integers()
    | st.booleans()
    | st.floats()
    | st.decimals(allow_nan=False)
    | st.builds(_Text, texts)
    | st.builds(_Number, st.integers())
    | st.sampled_from(OperationType)
    | st.lists(texts, max_size=2)
    | st.tuples(texts)
    | st.dictionaries(texts, texts, max_size=2)
)


def written(encode_body: Any) -> Any:
    """The text ``encode_body()`` gives, or the type of the exception it raises."""
    try:
        return encode_body()
    except Exception as exc:
        return type(exc)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), request=pay_requests, style=st.sampled_from(["camel", "snake"]))
def test_text_encoders_write_any_value_as_the_json_module_does(
    data: Any, request: PayRequest, style: Any
) -> None:
    """With a value of any type in any field of the pay body or of a model inside it,
    the text encoder writes what ``json`` writes for the dict, or fails as it fails."""
    models = [request, request.amount, request.card]
    models += [model for model in (request.buyer, request.billing_address) if model is not None]
    models += list(request.basket_items or ())
    for _ in range(data.draw(st.integers(1, 3))):
        model = data.draw(st.sampled_from(models))
        name = data.draw(st.sampled_from([field.name for field in attrs.fields(type(model))]))
        object.__setattr__(model, name, data.draw(odd_values))  # no converter, no check
    expected = written(lambda: to_json_text(encode(request, style)))
    assert written(lambda: encode_text(request, style)) == expected


@settings(max_examples=200, deadline=None)
@given(
    request=st.builds(
        CheckoutSessionRequest,
        amount=st.integers(1, 10**12),
        currency=st.just("TRY"),
        allowed_installments=st.none() | st.lists(st.integers(1, 12), max_size=4),
        description=optional_texts,
        metadata=st.none() | st.dictionaries(texts, texts, max_size=3),
        payment_mode=st.none() | st.sampled_from(CheckoutPaymentMode),
        allow_pre_auth=st.none() | st.booleans(),
    )
)
def test_checkout_session_requests_round_trip(request: CheckoutSessionRequest) -> None:
    """Create-session requests survive encode + strict decode."""
    assert (
        strict_converter("snake").structure(encode(request, "snake"), CheckoutSessionRequest)
        == request
    )


details = st.builds(
    PaymentQueryDetail,
    status=optional_texts,
    operation_type=st.none() | st.sampled_from(OperationType),
    amount=st.none() | ints,
    net_amount=st.none() | ints,
    installment_count=st.none() | st.integers(0, 36),
    is_3d_secure=st.none() | st.booleans(),
    masked_card_number=optional_texts,
    captured_amount=decimals,
    processed_at=aware_datetimes,
    completed_at=aware_datetimes,
    unknown_fields=st.just({}),
)
queries = st.builds(
    PaymentQuery,
    transaction_id=optional_texts,
    status=optional_texts,
    is_success=st.booleans(),
    message=optional_texts,
    external_query_available=st.booleans(),
    internal=st.none() | details,
    external=st.none() | details,
    unknown_fields=st.just({}),
)
results = st.builds(
    PaymentResult,
    transaction_id=texts,
    is_success=st.booleans(),
    error_code=optional_texts,
    extra_properties=st.dictionaries(texts, st.none() | texts, max_size=3),
    # Generation A's double amount: integral (an int) or with a fraction (a Decimal).
    amount=st.none() | ints | st.decimals(allow_nan=False, allow_infinity=False, places=2),
    created=aware_datetimes,
    unknown_fields=st.just({}),
)
sessions = st.builds(
    CheckoutSession,
    session_id=texts,
    expires_at=aware_datetimes,
    amount=st.none() | ints,
    allowed_installments=st.none() | st.lists(st.integers(1, 12), max_size=3),
    metadata=st.none() | st.dictionaries(texts, texts, max_size=2),
    payment_mode=st.none() | st.sampled_from(CheckoutPaymentMode),
    is_test_session=st.none() | st.booleans(),
    unknown_fields=st.just({}),
)
tokens = st.builds(
    Token,
    access_token=texts,
    refresh_token=optional_texts,
    expires_in=st.none() | st.integers(0, 10**6),
    unknown_fields=st.just({}),
)


@settings(max_examples=300, deadline=None)
@given(
    model=st.one_of(queries, results, sessions, tokens), style=st.sampled_from(["camel", "snake"])
)
def test_response_models_round_trip_through_the_converter(model: Any, style: Any) -> None:
    """Every response model unstructured in either key style decodes back to itself."""
    data = json.loads(json.dumps(converter(style).unstructure(model)))
    assert structure(data, type(model)) == model


@settings(max_examples=500, deadline=None)
@given(
    model=st.one_of(queries, results),
    style=st.sampled_from(["camel", "snake"]),
    change=st.sampled_from(["none", "value", "null", "key"]),
    data=st.data(),
)
def test_hand_decoders_agree_with_cattrs_generated_code_on_answers(
    model: Any, style: Any, change: str, data: Any
) -> None:
    """On answers of the hand-decoded models' own shape (as sent, or with one value of
    any type, one null or one more key of any spelling) the hand decoder gives what
    cattrs' generated code gives."""
    payload = json.loads(json.dumps(converter(style).unstructure(model)))
    if change == "key":
        payload[data.draw(field_keys, label="key")] = data.draw(json_values, label="value")
    elif change != "none":
        key = data.draw(st.sampled_from(sorted(payload)), label="key")
        payload[key] = None if change == "null" else data.draw(json_values, label="value")
    cls = type(model)
    decoder = converter("snake").get_structure_hook(cls)
    general = cattrs_only("snake").get_structure_hook(cls)
    assert outcome(lambda answer: decoder(answer, cls), payload) == outcome(
        lambda answer: general(answer, cls), payload
    )


def test_decimal_round_trip_is_exact() -> None:
    """A Decimal captured amount is written as text and read back unchanged."""
    detail = PaymentQueryDetail(captured_amount=Decimal("150.10"))
    assert structure(converter("snake").unstructure(detail), PaymentQueryDetail) == detail


@pytest.mark.parametrize("model", [PaymentQuery])
def test_empty_object_decodes_to_defaults(model: type) -> None:
    """An empty JSON object is a valid (if uninformative) answer for a response model
    whose every field is optional."""
    assert structure({}, model) == model()


@pytest.mark.parametrize(
    ("model", "required"),
    [(PaymentResult, "transaction_id"), (CheckoutSession, "session_id"), (Token, "access_token")],
)
def test_an_answer_without_a_required_field_is_a_decode_error(model: type, required: str) -> None:
    """An answer without the field every successful answer has (empty, or that field
    null) is a DecodeError naming it, never a model with None there."""
    for payload in ({}, {required: None}, {"status": "completed"}):
        with pytest.raises(DecodeError, match=f"{model.__name__}: missing {required}"):
            structure(payload, model)
