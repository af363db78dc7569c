"""Every answer the published schemas allow decodes: property tests over both generations.

For every payment operation the client decodes (each row of ``_operations.OPERATIONS``
whose answer is a payment model: token, pay, query, checkout sessions, payments, 3-D
Secure, history, refund, void, capture) and every read-side and reconciliation one
(the lists, their pages and items, a transaction and its history, a trace, the
reconciliation resource), the test generates answers from the
documented 2xx response schema of generation A (``*-f0c680f.json``: camelCase,
``{message, isSuccess, code, data}`` envelope) and of generation B (``*-51d6999.json``:
snake_case, raw), and decodes each as the client does, enveloped and bare (the client
takes both in either generation). Every one gives its model, every value placed:
nothing lands in ``decode_problems`` at any depth, and the fields the schema filled
are there.

The schemas are read as :mod:`tests.test_emulator_openapi` normalises them (OpenAPI 3.0
``nullable``, closed ``allOf`` merged, ``oneOf`` as ``anyOf``, A's integer enums with
names), with ``$ref``s resolved inline. The answers come from :func:`values_of`, a
small strategy builder for the JSON Schema keywords these documents use (``type``,
``properties``, ``required``, ``additionalProperties``, ``items``, ``enum``,
``anyOf``, and the ``uuid``, ``date``, ``date-time``, ``int32`` and ``int64`` formats; an
``allOf`` of objects is merged into one object when the refs are inlined); each
generated answer is checked against its schema with ``jsonschema`` first, so the
builder cannot drift into answers the schema refuses. ``hypothesis-jsonschema`` would
do the generating, but its last release (0.23.1) fails with the Hypothesis this suite
runs (6.170: ``'many' object has no attribute 'more'``): it would pin Hypothesis back.

One reading is ours, and tested on its own below: the schemas require no property at
all, but a field that every successful answer has is required by the model
(``PaymentResult.transaction_id``, ``CheckoutSession.session_id``,
``Token.access_token``, the ``id`` of a listed transaction, refund, settlement,
chargeback, reconciliation or reconciliation detail, at any depth), and an envelope's
``data`` by the client; so those are required (not null, not empty) in the generated
answers, and an answer without one is a ``DecodeError`` (for pay,
``PaymentOutcomeUnknown``). An envelope whose ``data`` is a JSON array (a
transaction's history in A) says ``isSuccess: true``: one that says false holds no
record to decode, and is the error it says it is.

Generation A types ``PaymentStatusDto.amount`` as a double: its pay status variant
with a fractional amount is generated explicitly, decoded, and paid through the client.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Mapping
from datetime import timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args

import attrs
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from payven_async import (
    Answer,
    Card,
    DecodeError,
    MemoryTransport,
    Money,
    PaymentDeclinedError,
    PaymentOutcomeUnknown,
    PaymentResult,
    PayRequest,
    PayvenClient,
    Request,
    Token,
)
from payven_async._hooks import is_sequence, spellings, strip_optional
from payven_async._json import dumps
from payven_async._operations import OPERATIONS, ModelRef
from payven_async._responses import decode_answer, decode_token

from .test_emulator_openapi import normalise

_DIR = Path(__file__).parent / "data" / "openapi"
A, B = "A", "B"
FILES = {
    (A, "identity"): "identity-f0c680f.json",
    (B, "identity"): "identity-51d6999.json",
    (A, "vpos"): "sanal-pos-f0c680f.json",
    (B, "vpos"): "sanal-pos-51d6999.json",
}

#: Where each operation's answer is documented, per generation: (method, path, status).
#: Generation A's identity has no token endpoint: its login answers the same
#: KeycloakTokenResult envelope, so the token answer is read from there.
DOCUMENTED: dict[str, dict[str, tuple[str, str, str]]] = {
    "token": {
        A: ("post", "/api/v{version}/auth/{slug}/login", "200"),
        B: ("post", "/api/v1/auth/{slug}/token", "200"),
    },
    "refresh": {
        A: ("post", "/api/v{version}/auth/{slug}/refresh", "200"),
        B: ("post", "/api/v1/auth/{slug}/refresh", "200"),
    },
    "pay": {
        A: ("post", "/api/v1/checkout/sessions/{sessionId}/pay", "200"),
        B: ("post", "/api/v1/checkout/sessions/{session_id}/pay", "200"),
    },
    "query": {
        A: ("post", "/api/v1/Payments/{transactionId}/query", "200"),
        B: ("get", "/api/v1/payments/{transaction_id}/query", "200"),
    },
    "create_checkout_session": {
        A: ("post", "/api/v1/checkout/sessions", "200"),
        B: ("post", "/api/v1/checkout/sessions", "201"),
    },
    "get_checkout_session": {
        A: ("get", "/api/v1/checkout/sessions/{sessionId}", "200"),
        B: ("get", "/api/v1/checkout/sessions/{session_id}", "200"),
    },
    "create_payment": {
        A: ("post", "/api/v1/Payments", "200"),
        B: ("post", "/api/v1/payments", "200"),
    },
    "init_3ds": {
        A: ("post", "/api/v1/Payments/3d/init", "200"),
        B: ("post", "/api/v1/payments/3d/init", "200"),
    },
    "complete_3ds": {
        A: ("post", "/api/v1/Payments/3d/complete", "200"),
        B: ("post", "/api/v1/payments/3d/complete", "200"),
    },
    "get_payment": {
        A: ("get", "/api/v1/Payments/{transactionId}", "200"),
        B: ("get", "/api/v1/payments/{transaction_id}", "200"),
    },
    "get_payment_history": {
        A: ("post", "/api/v1/Payments/{transactionId}/history", "200"),
        B: ("get", "/api/v1/payments/{transaction_id}/history", "200"),
    },
    "refund": {
        A: ("post", "/api/v1/Payments/{transactionId}/refund", "200"),
        B: ("post", "/api/v1/payments/{transaction_id}/refund", "200"),
    },
    "void": {
        A: ("post", "/api/v1/Payments/{transactionId}/void", "200"),
        B: ("post", "/api/v1/payments/{transaction_id}/void", "200"),
    },
    "capture": {
        A: ("post", "/api/v1/Payments/{transactionId}/capture", "200"),
        B: ("post", "/api/v1/payments/{transaction_id}/capture", "200"),
    },
}
_RECONCILIATION = "/api/v1/reconciliations/{id}"
#: The read side and reconciliation: the same paths in both generations but the trace's
#: and a detail id's spelling; only B's start answers 201.
DOCUMENTED.update(
    {
        name: {A: ("get", path, "200"), B: ("get", path, "200")}
        for name, path in {
            "list_transactions": "/api/v1/transactions",
            "get_transaction": "/api/v1/transactions/{id}",
            "get_transaction_history": "/api/v1/transactions/{id}/histories",
            "list_refunds": "/api/v1/refunds",
            "list_settlements": "/api/v1/settlements",
            "list_chargebacks": "/api/v1/chargebacks",
            "list_reconciliations": "/api/v1/reconciliations",
            "get_reconciliation": _RECONCILIATION,
            "list_reconciliation_details": f"{_RECONCILIATION}/details",
        }.items()
    }
)
DOCUMENTED.update(
    {
        "get_trace": {
            A: ("get", "/api/v1/Trace/{correlationId}", "200"),
            B: ("get", "/api/v1/trace/{correlation_id}", "200"),
        },
        "start_reconciliation": {
            A: ("post", "/api/v1/reconciliations/start", "200"),
            B: ("post", "/api/v1/reconciliations/start", "201"),
        },
        "resolve_reconciliation_detail": {
            A: ("post", f"{_RECONCILIATION}/details/{{detailId}}/resolve", "200"),
            B: ("post", f"{_RECONCILIATION}/details/{{detail_id}}/resolve", "200"),
        },
        **{
            name: {A: ("post", path, "200"), B: ("post", path, "200")}
            for name, path in {
                "bulk_resolve_reconciliation_details": f"{_RECONCILIATION}/details/bulk-resolve",
                "finalize_reconciliation": f"{_RECONCILIATION}/finalize",
                "cancel_reconciliation": f"{_RECONCILIATION}/cancel",
            }.items()
        },
    }
)

# --- answers from a schema -------------------------------------------------------------------

_OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
#: Strings of the formats the documents use, as RFC 3339 and RFC 4122 spell them.
FORMATS: dict[str, st.SearchStrategy[str]] = {
    "uuid": st.uuids().map(str),
    "date-time": st.datetimes(timezones=_OFFSETS).map(lambda moment: moment.isoformat()),
    "date": st.dates().map(lambda day: day.isoformat()),
}
INTEGERS: dict[str, st.SearchStrategy[int]] = {
    "int32": st.integers(-(2**31), 2**31 - 1),
    "int64": st.integers(-(2**63), 2**63 - 1),
}
#: A JSON number: integral, or a double as json writes a float (its shortest text).
NUMBERS = st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
ANY_JSON = st.none() | st.booleans() | st.integers() | st.text(max_size=10)


def values_of(node: dict[str, Any]) -> st.SearchStrategy[Any]:
    """JSON values that the (normalised, inlined) schema ``node`` allows."""
    if "enum" in node:
        return st.sampled_from(node["enum"])
    if "anyOf" in node:
        return st.one_of([values_of(option) for option in node["anyOf"]])
    kind = node.get("type")
    if isinstance(kind, list):
        return st.one_of([values_of({**node, "type": one}) for one in kind])
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return INTEGERS.get(node.get("format", ""), st.integers())
    if kind == "number":
        return NUMBERS
    if kind == "string":
        text = st.text(min_size=node.get("minLength", 0), max_size=12)
        return FORMATS.get(node.get("format", ""), text)
    if kind == "array":
        return st.lists(values_of(node.get("items", {})), max_size=3)
    if kind == "object" or "properties" in node:
        properties = node.get("properties", {})
        extra = node.get("additionalProperties")
        if not properties and isinstance(extra, dict):
            return st.dictionaries(st.text(max_size=8), values_of(extra), max_size=3)
        required = set(node.get("required", []))
        return st.fixed_dictionaries(
            {key: values_of(value) for key, value in properties.items() if key in required},
            optional={
                key: values_of(value) for key, value in properties.items() if key not in required
            },
        )
    return ANY_JSON


def _json_ready(payload: Any) -> Any:
    """``payload`` as it reads after the wire, numbers as Python's json gives them."""
    return json.loads(json.dumps(payload))


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Answers that ``schema`` allows, each checked against it with jsonschema."""

    def checked(payload: Any) -> Any:
        jsonschema.validate(_json_ready(payload), schema)
        return payload

    return values_of(schema).map(checked)


#: A few seconds a schema: the answers are wide (up to some 40 keys, nested records).
SCHEMA_EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@functools.cache
def document(generation: str, service: str) -> dict[str, Any]:
    """One published document, normalised to JSON Schema draft 7's meaning."""
    raw = json.loads((_DIR / FILES[generation, service]).read_text("utf-8"))
    normalised: dict[str, Any] = normalise(raw)
    return normalised


def inline(doc: dict[str, Any], node: Any, stack: tuple[str, ...] = ()) -> Any:
    """``node`` with every ``$ref`` into ``doc`` replaced by what it points to."""
    if isinstance(node, list):
        return [inline(doc, item, stack) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        assert ref not in stack, f"recursive schema at {ref}"
        target: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        return inline(doc, target, (*stack, ref))
    node = {key: inline(doc, value, stack) for key, value in node.items()}
    parts = node.pop("allOf", None)
    if parts is None:
        return node
    if len(parts) == 1:  # a wrapper (for a description, say): the one schema
        return {**node, **parts[0]}
    # An allOf of objects (what is left of one after normalise): one object.
    assert all(part.get("type") == "object" for part in parts), parts
    merged: dict[str, Any] = {**node, "type": "object", "properties": {}}
    required: list[str] = []
    for part in parts:
        merged["properties"].update(part.get("properties", {}))
        required += part.get("required", [])
    if all(part.get("additionalProperties") is False for part in parts):
        merged["additionalProperties"] = False
    if required:
        merged["required"] = required
    return merged


def _branches(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The alternatives of an ``anyOf`` other than null, or the node itself."""
    options = node.get("anyOf")
    if options is None:
        return [node]
    return [option for option in options if option.get("type") != "null"]


def _not_null(node: dict[str, Any]) -> dict[str, Any]:
    """``node`` without the null that ``nullable`` admitted."""
    if "anyOf" in node:
        rest = _branches(node)
        return rest[0] if len(rest) == 1 else {**node, "anyOf": rest}
    kind = node.get("type")
    if isinstance(kind, list) and "null" in kind:
        kinds = [k for k in kind if k != "null"]
        return {**node, "type": kinds[0] if len(kinds) == 1 else kinds}
    return node


def _present(node: dict[str, Any]) -> dict[str, Any]:
    """``node`` neither null nor, for a string, empty."""
    node = _not_null(node)
    return {**node, "minLength": 1} if node.get("type") == "string" else node


def require(node: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """``node`` (an object, or an anyOf of objects) with the properties spelling ``names``
    required, not null and not empty."""
    if "anyOf" in node:
        return {**node, "anyOf": [require(option, names) for option in _branches(node)]}
    properties = node.get("properties", {})
    keys = [key for name in names for key in spellings(name) if key in properties]
    if not keys:
        return node
    return {
        **node,
        "properties": {
            key: _present(value) if key in keys else value for key, value in properties.items()
        },
        "required": sorted({*node.get("required", []), *keys}),
    }


def record_of(tp: Any) -> Any:
    """The attrs class of a field (or an answer) typed ``X``, ``X | None`` or
    ``Sequence[X]``; None for any other type."""
    tp = strip_optional(tp)
    if is_sequence(tp):
        tp = strip_optional((get_args(tp) or (Any,))[0])
    return tp if isinstance(tp, type) and attrs.has(tp) else None


def require_records(node: dict[str, Any], model: type[Any]) -> dict[str, Any]:
    """``node`` with ``model``'s required fields required (:func:`require`), and so on
    down for the records in it: an array's items, an object's fields typed as a model or
    a sequence of them. Nulls the schema allows are kept below the top."""
    if "anyOf" in node:
        return {**node, "anyOf": [require_records(option, model) for option in node["anyOf"]]}
    kind = node.get("type")
    if "array" in (kind if isinstance(kind, list) else [kind]) and "items" in node:
        return {**node, "items": require_records(node["items"], model)}
    if not node.get("properties"):
        return node
    node = require(node, required_fields(model))
    properties = dict(node["properties"])
    attrs.resolve_types(model)
    for field in attrs.fields(model):
        inner = record_of(field.type)
        for key in spellings(field.name) if inner is not None else ():
            if key in properties:
                properties[key] = require_records(properties[key], inner)
    return {**node, "properties": properties}


def is_envelope(node: dict[str, Any]) -> bool:
    """Whether ``node`` is generation A's ``{message, isSuccess, code, data}`` object."""
    return {"data", "isSuccess"} <= set(node.get("properties", {}))


def model_of(name: str) -> Any:
    """The model the client decodes operation ``name``'s answer into (a class, or
    ``list[X]`` for an answer that is a JSON array of ``X``)."""
    response: Any = OPERATIONS[name].response
    if type(response) is ModelRef:
        response = response.get()
    return response


def required_fields(model: type[Any]) -> list[str]:
    """The fields of ``model`` that an answer must have."""
    return [field.name for field in attrs.fields(model) if field.default is attrs.NOTHING]


def answer_schema(name: str, generation: str) -> dict[str, Any]:
    """The documented success answer of operation ``name`` in ``generation``, refs inlined,
    with the model's required fields (and an envelope's ``data``) required."""
    service = OPERATIONS[name].service
    doc = document(generation, service)
    method, path, status = DOCUMENTED[name][generation]
    content = doc["paths"][path][method]["responses"][status]["content"]
    schemas = {json.dumps(media["schema"], sort_keys=True) for media in content.values()}
    assert len(schemas) == 1, f"{name} {generation}: one schema for every media type"
    schema: dict[str, Any] = inline(doc, json.loads(schemas.pop()))
    record = record_of(model_of(name))
    if is_envelope(schema):
        data = require_records(_not_null(schema["properties"]["data"]), record)
        properties = {**schema["properties"], "data": data}
        if data.get("type") == "array":
            # A failed envelope whose data holds no record is the error it says it is
            # (_responses): an array answer is a success only when it does not say no.
            properties["isSuccess"] = {"enum": [True]}
        return require({**schema, "properties": properties}, ["data"])
    return require_records(schema, record)


def decode(name: str, payload: Any) -> Any:
    """Decode a 200 answer carrying ``payload`` as the client decodes ``name``'s answers."""
    answer = Answer.of(200, dumps(payload))
    model = model_of(name)
    if model is Token:
        return decode_token(answer)
    return decode_answer(answer, model)


def enveloped(payload: Any) -> bool:
    """Whether ``payload`` is one of generation A's envelopes (no key is required)."""
    return "data" in payload and payload.keys() <= {"message", "isSuccess", "code", "data"}


def variants(payload: Any) -> list[Any]:
    """``payload`` as generated and the other way the client accepts it: an envelope's
    ``data`` bare, or a bare answer inside a successful envelope."""
    if enveloped(payload):
        return [payload, payload["data"]]
    return [payload, {"message": None, "isSuccess": True, "code": None, "data": payload}]


def all_placed(model: Any, where: str = "answer") -> None:
    """Every value of ``model``, and of the models in it, was placed in its field."""
    assert not model.decode_problems, f"{where}: {dict(model.decode_problems)}"
    for field in attrs.fields(type(model)):
        value = getattr(model, field.name)  # decodes what is decoded on first access
        for item in value if isinstance(value, list) else [value]:
            if attrs.has(type(item)) and hasattr(item, "decode_problems"):
                all_placed(item, f"{where}.{field.name}")
    repr(model)


def fields_of(data: Mapping[str, Any], model: type[Any]) -> dict[str, Any]:
    """The values of ``data`` by the name of the field of ``model`` they fill."""
    names = {key: field.name for field in attrs.fields(model) for key in spellings(field.name)}
    return {names[key]: value for key, value in data.items() if key in names}


def check_answer(name: str, payload: Any) -> None:
    """Each way of sending ``payload`` decodes fully, with the required fields it has."""
    record = record_of(model_of(name))
    for body in variants(payload):
        model = decode(name, body)
        data = body["data"] if enveloped(body) else body
        if isinstance(model, list):  # a JSON array of records (a transaction's history)
            assert len(model) == len(data)
            for item in model:
                assert isinstance(item, record)
                all_placed(item)
            continue
        assert isinstance(model, record)
        all_placed(model)
        for field, value in fields_of(data, type(model)).items():
            if field in required_fields(type(model)):
                assert getattr(model, field) == value
            if field == "amount" and isinstance(model, PaymentResult):
                exact = Decimal(json.dumps(value))  # what the wire says, exactly
                assert type(model.amount) in (int, Decimal)
                assert model.amount == exact


def _generated(name: str, generation: str) -> st.SearchStrategy[Any]:
    return from_schema(answer_schema(name, generation))


CASES = [(name, generation) for name in DOCUMENTED for generation in (A, B)]


#: The answer models of the payment operations, which this module covers, besides every
#: model of the read side and of reconciliation (``_listing_models``).
PAYMENT_MODELS = ("Token", "PaymentResult", "PaymentQuery", "CheckoutSession", "PaymentHistory")
LISTING_MODELS = "payven_async._listing_models"


def test_every_operation_the_client_decodes_has_documented_answers() -> None:
    """The table covers every operation answered with a payment, read-side or
    reconciliation model, and each schema builds."""
    covered = {
        name
        for name in OPERATIONS
        if (record := record_of(model_of(name))) is not None
        and (record.__name__ in PAYMENT_MODELS or record.__module__ == LISTING_MODELS)
    }
    assert set(DOCUMENTED) == covered
    for name, generation in CASES:
        assert answer_schema(name, generation)


@pytest.mark.parametrize(("name", "generation"), CASES)
def test_every_schema_valid_answer_decodes(name: str, generation: str) -> None:
    """Answers generated from the operation's documented schema decode into its model,
    enveloped and bare, with every value placed."""

    @SCHEMA_EXAMPLES
    @given(payload=_generated(name, generation))
    def check(payload: Any) -> None:
        check_answer(name, payload)

    check()


# --- generation A's double amount ---------------------------------------------------------------

fractional = st.decimals(
    min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2
).filter(lambda amount: amount != amount.to_integral_value())


def status_variant(payload: dict[str, Any], amount: Decimal) -> dict[str, Any]:
    """A pay envelope whose data is generation A's PaymentStatusDto, with ``amount``
    (a double on the wire: its digits, exactly)."""
    data = dict(payload["data"], amount=float(amount))
    return {**payload, "data": data}


STATUS_A = "PaymentStatusDto"


def _status_envelopes() -> st.SearchStrategy[dict[str, Any]]:
    """Generation A pay answers whose data is the status variant (it has an amount)."""
    schema = answer_schema("pay", A)
    data = schema["properties"]["data"]
    (status,) = [o for o in _branches(data) if "amount" in o.get("properties", {})]
    only_status = {**schema, "properties": {**schema["properties"], "data": status}}
    return from_schema(require(only_status, ["data"]))


@SCHEMA_EXAMPLES
@given(payload=_status_envelopes(), amount=fractional)
def test_the_pay_status_variant_with_a_fractional_amount_decodes(
    payload: dict[str, Any], amount: Decimal
) -> None:
    """Generation A's pay answer whose data is PaymentStatusDto with a fractional double
    amount (150.5) decodes, enveloped and bare, to the exact Decimal amount."""
    answer = status_variant(payload, amount)
    jsonschema.validate(_json_ready(answer), answer_schema("pay", A))
    check_answer("pay", answer)
    result = decode("pay", answer)
    assert result.amount == amount
    assert type(result.amount) is Decimal


def _pay(handler: Callable[[Request], Answer]) -> PaymentResult:
    """Pay once, through a client whose transport answers with ``handler``."""

    async def main() -> PaymentResult:
        transport = MemoryTransport(handler)
        async with PayvenClient("id", "secret", "acme", transport=transport, max_retries=0) as c:
            card = Card("Test Kullanici", "4546711234567894", "12", "2030", "000")
            return await c.pay("sess-1", PayRequest(amount=Money(15050), card=card))

    return asyncio.run(main())


def _answering(pay_answer: Any) -> Callable[[Request], Answer]:
    def handler(request: Request) -> Answer:
        if request.call == "token":
            return Answer.from_json({"access_token": "t", "expires_in": 300})
        return Answer.from_json(pay_answer)

    return handler


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=_status_envelopes(), amount=fractional)
def test_a_completed_charge_with_a_fractional_amount_is_a_result(
    payload: dict[str, Any], amount: Decimal
) -> None:
    """pay, answered with A's status variant carrying a fractional amount and saying it
    succeeded, returns the result (never PaymentOutcomeUnknown)."""
    answer = status_variant(payload, amount)
    answer["isSuccess"] = True
    answer["data"]["isSuccess"] = True
    result = _pay(_answering(answer))
    assert result.transaction_id == answer["data"]["transactionId"]
    assert result.amount == amount


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=_generated("pay", A) | _generated("pay", B))
def test_no_schema_valid_pay_answer_is_an_unknown_outcome(payload: Any) -> None:
    """Through the client, every schema-valid pay answer is a result, or a decline when
    it says so (is_success false, or an error code); never PaymentOutcomeUnknown."""
    data = payload["data"] if enveloped(payload) else payload
    flag = data.get("isSuccess", data.get("is_success"))
    if flag is None and enveloped(payload):
        flag = payload.get("isSuccess")
    codes = [*spellings_of("error_code"), *spellings_of("provider_error_code")]
    said_no = flag is False or (flag is None and any(data.get(key) is not None for key in codes))
    declined: PaymentDeclinedError | None = None
    try:
        result = _pay(_answering(payload))
    except PaymentDeclinedError as error:
        declined = error
    if declined is None:
        assert result.is_success is True
        assert not said_no
    else:
        assert declined.result is not None
        assert declined.result.is_success is False
        assert said_no


def spellings_of(name: str) -> list[str]:
    """The keys a field may come under."""
    return spellings(name)


@pytest.mark.parametrize(
    ("answer", "success"),
    [
        ({"transactionId": "t-1", "status": "completed"}, True),
        ({"isSuccess": True, "data": {"transactionId": "t-1", "status": "completed"}}, True),
        ({"data": {"transactionId": "t-1", "status": "completed"}}, True),
        ({"isSuccess": False, "data": {"transactionId": "t-1", "status": "failed"}}, False),
        ({"transactionId": "t-1", "status": "failed", "isSuccess": False}, False),
        ({"transaction_id": "t-1", "status": "failed", "error_code": "bank_declined"}, False),
        ({"transactionId": "t-1", "status": "failed", "providerErrorCode": "51"}, False),
    ],
)
def test_a_pay_answer_that_does_not_say_it_failed_is_a_result(answer: Any, success: bool) -> None:
    """A 2xx pay answer with a transaction id and a status that states no is_success
    (generation B keeps it only for a transition: 2xx is success) and no error code is
    the result, is_success true; one that says it failed is a decline."""
    if success:
        result = _pay(_answering(answer))
        assert (result.transaction_id, result.is_success) == ("t-1", True)
    else:
        with pytest.raises(PaymentDeclinedError):
            _pay(_answering(answer))


def test_a_value_of_an_unexpected_type_does_not_make_a_charge_unknown() -> None:
    """A 2xx pay answer with a transaction id and a status, and a value of a type no
    field takes, is the result; the value is kept and reported."""
    answer = {
        "message": None,
        "isSuccess": True,
        "code": None,
        "data": {
            "transactionId": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
            "status": "completed",
            "isSuccess": True,
            "amount": {"value": 150.5},
            "created": 20260505,
            "is3DSecure": "sometimes",
        },
    }
    result = _pay(_answering(answer))
    assert result.status == "completed"
    assert (result.amount, result.created, result.is_3d_secure) == (None, None, None)
    assert result.unknown_fields == {
        "amount": {"value": Decimal("150.5")},
        "created": 20260505,
        "is3DSecure": "sometimes",
    }
    assert set(result.decode_problems) == {"amount", "created", "is_3d_secure"}


def test_an_unreadable_is_success_is_an_unknown_outcome_not_a_decline() -> None:
    """A pay answer whose is_success cannot be read says nothing of the charge: it is
    PaymentOutcomeUnknown (resolved by the same key), never a decline."""
    answer = {"transactionId": "t-1", "status": "completed", "isSuccess": {"maybe": True}}
    with pytest.raises(PaymentOutcomeUnknown) as caught:
        _pay(_answering(answer))
    assert caught.value.transaction_id == "t-1"
    assert caught.value.idempotency_key


@pytest.mark.parametrize(
    "answer",
    [
        {"status": "completed", "isSuccess": True},
        {"transactionId": None, "status": "completed", "isSuccess": True},
        {"message": "ok", "isSuccess": True, "code": None, "data": None},
    ],
)
def test_a_pay_answer_without_a_transaction_id_is_an_unknown_outcome(answer: Any) -> None:
    """A pay answer without the transaction id every successful answer has (the
    schemas require nothing) cannot be used: PaymentOutcomeUnknown, whose key resolves it."""
    with pytest.raises(PaymentOutcomeUnknown) as caught:
        _pay(_answering(answer))
    assert isinstance(caught.value.__cause__, DecodeError)
