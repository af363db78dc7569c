"""The emulator against the published OpenAPI files, so that it cannot drift from the real API.

Answers are validated with jsonschema against the operation's documented response
(status and content type), requests against the documented request body. Pay is
generation A (``sanal-pos-f0c680f.json``); token, refresh, query, checkout sessions,
get payment and problem details are generation B (``*-51d6999.json``).

The files are OpenAPI 3.0, whose schema dialect is not quite JSON Schema; before
validating, :func:`normalise` makes these documented readings explicit:

- ``nullable: true`` admits ``null`` (OpenAPI 3.0 semantics);
- an ``allOf`` of closed objects (``PaymentStatusDto`` = ``PaymentOperationResultDto``
  + more fields, each ``additionalProperties: false``) is merged into one closed
  object: read literally, no object could satisfy both halves; a part that is itself
  such an ``allOf`` (``TransactionDetailDto`` over ``TransactionDto``) is merged first;
- generation A declares enums as ``type: integer`` while listing names (``Sale``,
  ``PreAuth``; fact sheet section 2): the names are what the seed sends, so the
  listed names are accepted (and the integers, which the emulator also accepts);
- every ``oneOf`` in these files unions overlapping shapes (``PaymentStatusDto``
  extends ``PaymentOperationResultDto`` with optional fields; ``ProblemDetails`` and
  ``HttpValidationProblemDetails`` are both open objects), so no instance could match
  exactly one: each is read as ``anyOf``, "one of these shapes";
- B's ``404``/``422`` on some operations are typed ``application/json`` while the
  guides (and B's shared responses) answer errors as ``application/problem+json``.
  The emulator answers every error as problem+json; those are validated against
  ``ProblemDetails`` / ``HttpValidationProblemDetails`` directly.

The published OpenAPI files are kept in ``tests/data/openapi`` (copied unchanged from
the docs' source), so these tests always run; set ``PAYVEN_OPENAPI_DIR`` to check
against another copy.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from payven_async import CheckoutPaymentMode, CheckoutSessionRequest, OperationType, PayRequest
from payven_async._converters import encode
from payven_async.testing import PayvenEmulator
from payven_async.testing._answers import ProblemError
from payven_async.testing._checks import check_card_request

from .emulator_support import APPROVED, INSUFFICIENT, Raw, pay_body, pay_request

_DIR = Path(os.environ.get("PAYVEN_OPENAPI_DIR") or Path(__file__).parent / "data" / "openapi")
SPEC_FILES = {
    "vpos-a": "sanal-pos-f0c680f.json",
    "vpos-b": "sanal-pos-51d6999.json",
    "identity-b": "identity-51d6999.json",
}


# --- OpenAPI 3.0 -> JSON Schema -------------------------------------------------------------


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _merged_allof(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any] | None:
    """One closed object for an allOf of closed objects; None when that is not the shape."""
    parts = [_resolve(spec, part) for part in node["allOf"]]
    # A part that is itself an allOf of closed objects (TransactionDetailDto extends
    # TransactionDto, which extends ExtraPropertiesDto) is that merged object.
    parts = [(_merged_allof(spec, part) or part) if "allOf" in part else part for part in parts]
    if len(parts) < 2 or not all(
        part.get("type") == "object" and part.get("additionalProperties") is False for part in parts
    ):
        return None
    merged: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
    required: list[str] = []
    for part in parts:
        merged["properties"].update(part.get("properties", {}))
        required += part.get("required", [])
    if required:
        merged["required"] = required
    return merged


def normalise(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``spec`` whose schemas mean, under JSON Schema draft 7, what OpenAPI 3.0 says."""
    original = spec

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        node = {key: walk(value) for key, value in node.items()}
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf")
        if "allOf" in node:
            merged = _merged_allof(original, node)
            if merged is not None:
                rest = {k: v for k, v in node.items() if k != "allOf"}
                node = {**rest, **walk(merged)}
        enum = node.get("enum")
        if node.get("type") == "integer" and enum and all(isinstance(v, str) for v in enum):
            node = {k: v for k, v in node.items() if k != "type"}
            node["enum"] = [*enum, *range(len(enum))]
        if node.pop("nullable", False):
            if "type" in node:
                node["type"] = [node["type"], "null"]
                if "enum" in node:
                    node["enum"] = [*node["enum"], None]
            else:
                node = {"anyOf": [node, {"type": "null"}]}
        return node

    return {
        **spec,
        "components": walk(copy.deepcopy(spec.get("components", {}))),
        "paths": walk(copy.deepcopy(spec["paths"])),
    }


_FORMATS = jsonschema.FormatChecker()


@_FORMATS.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            raise ValueError("a date-time needs an offset")
    return True


class Spec:
    """One normalised OpenAPI document and validators for its schemas."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.raw: dict[str, Any] = json.loads((_DIR / SPEC_FILES[name]).read_text("utf-8"))
        self.doc = normalise(self.raw)
        self.uri = f"urn:payven:{name}"
        self.registry: Registry[Any] = Registry().with_resource(
            self.uri, Resource.from_contents(self.doc, default_specification=DRAFT7)
        )

    def validate(self, schema: dict[str, Any], instance: Any) -> None:
        """Validate ``instance`` against ``schema``, whose ``$ref``s point into this document."""
        validator = jsonschema.Draft7Validator(
            schema, registry=self.registry, format_checker=_FORMATS
        )
        validator.validate(instance)

    def component(self, name: str, instance: Any) -> None:
        """Validate against ``#/components/schemas/<name>``."""
        self.validate({"$ref": f"{self.uri}#/components/schemas/{name}"}, instance)

    def operation(self, method: str, path: str) -> dict[str, Any]:
        """The operation object of ``method path``."""
        operation: dict[str, Any] = self.doc["paths"][path][method.lower()]
        return operation

    def response(self, method: str, path: str, status: int, content_type: str, body: Any) -> None:
        """Validate an answer against the documented response for its status and type."""
        responses = self.operation(method, path)["responses"]
        assert str(status) in responses, f"{self.name}: {status} is not documented for {path}"
        response = _resolve(self.doc, responses[str(status)])
        content = response.get("content", {})
        assert content_type in content, (
            f"{self.name}: {content_type} is not documented for {status} of {path}: "
            f"{sorted(content)}"
        )
        self.validate(_ref_in(self.uri, content[content_type]["schema"]), body)

    def request(self, method: str, path: str, content_type: str, body: Any) -> None:
        """Validate a request body against the documented request body."""
        content = self.operation(method, path)["requestBody"]["content"]
        assert content_type in content, f"{content_type} is not accepted by {path}"
        self.validate(_ref_in(self.uri, content[content_type]["schema"]), body)


def _ref_in(uri: str, schema: Any) -> Any:
    """Rewrite local ``#/...`` refs of an operation's schema to point into ``uri``."""
    if isinstance(schema, dict):
        return {
            key: (
                f"{uri}{value}" if key == "$ref" and value.startswith("#") else _ref_in(uri, value)
            )
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_ref_in(uri, item) for item in schema]
    return schema


@pytest.fixture(scope="module")
def specs() -> dict[str, Spec]:
    """The three published documents this emulator follows, normalised."""
    return {name: Spec(name) for name in SPEC_FILES}


@pytest.fixture
async def raw(payven_emulator: PayvenEmulator) -> AsyncIterator[Raw]:
    """Raw HTTP access to the plugin's emulator."""
    async with aiohttp.ClientSession() as http:
        yield Raw(payven_emulator, http)


PAY_A = "/api/v1/checkout/sessions/{sessionId}/pay"
PAY_B = "/api/v1/checkout/sessions/{session_id}/pay"
SESSIONS_B = "/api/v1/checkout/sessions"
SESSION_B = "/api/v1/checkout/sessions/{session_id}"
QUERY_B = "/api/v1/payments/{transaction_id}/query"
PAYMENT_B = "/api/v1/payments/{transaction_id}"
TOKEN_B = "/api/v1/auth/{slug}/token"
REFRESH_B = "/api/v1/auth/{slug}/refresh"


def _media(headers: Any) -> str:
    return str(headers["Content-Type"])


def _problem(specs: dict[str, Spec], status: int, headers: Any, body: Any) -> None:
    assert _media(headers) == "application/problem+json"
    schema = "HttpValidationProblemDetails" if "errors" in body else "ProblemDetails"
    specs["vpos-b"].component(schema, body)
    assert body["status"] == status
    assert body["type"] == f"https://docs.payven.com.tr/errors/{body['code']}"
    assert body["correlation_id"] == headers["X-Correlation-Id"]


# --- the normaliser itself -------------------------------------------------------------------


def test_normalise_reads_nullable_and_closed_allof(specs: dict[str, Spec]) -> None:
    """nullable admits null; PaymentStatusDto merges into one closed object."""
    vpos = specs["vpos-b"]
    vpos.component(
        "TransactionQueryDto",
        {"transaction_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a", "status": None},
    )
    status = vpos.doc["components"]["schemas"]["PaymentStatusDto"]
    assert status["additionalProperties"] is False
    assert {"transaction_id", "amount", "basket_id"} <= set(status["properties"])
    with pytest.raises(jsonschema.ValidationError):
        vpos.component("PaymentStatusDto", {"transaction_id": "x", "unexpected": 1})


# --- requests the client sends ----------------------------------------------------------------


def test_the_pay_body_the_client_sends_is_a_generation_a_init3d_request(
    specs: dict[str, Spec],
) -> None:
    """encode(PayRequest, camel) with every field filled validates against A's Init3DRequest."""
    from payven_async import Address, BasketItem, Buyer

    request = pay_request(
        external_id="ORDER-1",
        basket_id="B-1",
        description="d",
        buyer=Buyer(id="1", name="A", surname="B", email="a@b.c", ip_address="127.0.0.1"),
        billing_address=Address(contact_name="A B", city="İstanbul", country="TR"),
        shipping_address=Address(address="Cd. 1", postal_code="34000"),
        basket_items=[BasketItem("SKU-1", "Kulaklık", 7500, 2)],
        callback_url="https://example.com/cb",
        cancel_url="https://example.com/cancel",
        return_url="https://example.com/return",
        operation_type=OperationType.PRE_AUTH,
        extra_properties={"k": "v"},
    )
    specs["vpos-a"].request("POST", PAY_A, "application/json; ver=1.0", encode(request, "camel"))


def test_the_session_body_the_client_sends_is_a_generation_b_request(
    specs: dict[str, Spec],
) -> None:
    """encode(CheckoutSessionRequest, snake) validates against B's CreateCheckoutSessionRequest."""
    request = CheckoutSessionRequest(
        amount=15000,
        merchant_name="Acme",
        allowed_installments=[1, 3],
        metadata={"a": "b"},
        payment_mode=CheckoutPaymentMode.THREE_D_SECURE,
        allow_pre_auth=False,
        success_url="https://example.com/ok",
    )
    specs["vpos-b"].request("POST", SESSIONS_B, "application/json", encode(request, "snake"))


def test_the_token_bodies_are_generation_b_requests(specs: dict[str, Spec]) -> None:
    """The token and refresh bodies the client sends validate against B's identity schemas."""
    identity = specs["identity-b"]
    identity.component("ClientCredentialsRequest", {"client_id": "a", "client_secret": "b"})
    identity.component("RefreshRequest", {"refresh_token": "r"})


# --- what the emulator accepts ------------------------------------------------------------------

_MUTATIONS = st.sampled_from(
    [
        ("drop", "externalId"),
        ("drop", "installment"),
        ("drop", "operationType"),
        ("drop", "card"),
        ("set", "installment", 3),
        ("set", "installment", "3"),
        ("set", "installment", 2.5),
        ("set", "operationType", "PreAuth"),
        ("set", "operationType", 1),
        ("set", "operationType", "pre_auth"),
        ("set", "description", None),
        ("set", "description", 5),
        ("set", "extraProperties", {"a": "b"}),
        ("set", "extraProperties", {"a": 1}),
        ("set", "basketItems", [{"id": "1", "name": "n", "price": 7500, "quantity": 2}]),
        ("set", "basketItems", [{"id": "1", "name": "n", "price": 75.5, "quantity": 2}]),
        ("set", "basketItems", [{"name": "n", "price": 1, "quantity": 1, "sku": "x"}]),
        ("set", "basketItems", [{"name": "n", "price": 75.5, "quantity": 2}]),
        ("set", "basketItems", [{"id": None, "name": "n", "price": -0.5, "quantity": 1}]),
        ("set", "unknownField", 1),
        ("set", "external_id", "snake"),
        ("amount", "amount", 15000),
        ("amount", "amount", "15000"),
        ("amount", "amount", 150.0),
        ("amount", "amount", 2**70),
        ("amount", "currency", None),
        ("amount", "extra", 1),
        ("card", "number", 4546711234567894),
        ("card", "expireMonth", 12),
        ("card", "cvv", None),
        ("card", "holder_name", "snake"),
    ]
)


def _mutate(body: dict[str, Any], mutation: tuple[Any, ...]) -> None:
    kind, key, *value = mutation
    if kind == "drop":
        body.pop(key, None)
    elif kind == "set":
        body[key] = value[0]
    elif isinstance(body.get(kind), dict):
        body[kind][key] = value[0]


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations=st.lists(_MUTATIONS, max_size=4))
def test_every_pay_body_the_emulator_accepts_is_valid_generation_a(
    specs: dict[str, Spec], mutations: list[tuple[Any, ...]]
) -> None:
    """Whatever pay body the emulator's strict check accepts validates against Init3DRequest."""
    body = pay_body()
    for mutation in mutations:
        _mutate(body, mutation)
    rejected: ProblemError | None = None
    try:
        check_card_request(
            copy.deepcopy(body), PayRequest, style="camel", today=datetime.now().date()
        )
    except ProblemError as error:
        rejected = error
    if rejected is not None:
        assert (rejected.status, rejected.code) == (400, "validation_failed")
        return
    specs["vpos-a"].request("POST", PAY_A, "application/json; ver=1.0", body)


async def test_a_schema_invalid_pay_body_is_refused_over_http(
    specs: dict[str, Spec], raw: Raw
) -> None:
    """A body the schema rejects (an extra key) is refused by the route with a 400 problem."""
    body = {**pay_body(), "surprise": True}
    with pytest.raises(jsonschema.ValidationError):
        specs["vpos-a"].request("POST", PAY_A, "application/json; ver=1.0", body)
    session_id = await raw.new_session()
    status, headers, answer = await raw.pay(session_id, body)
    assert status == 400
    _problem(specs, status, headers, json.loads(answer))


# --- answers -----------------------------------------------------------------------------------


async def test_token_and_refresh_answers_match_identity_b(specs: dict[str, Spec], raw: Raw) -> None:
    """Token and refresh answer KeycloakTokenResult, application/json; ver=1.0."""
    credentials = {"client_id": raw.emu.client_id, "client_secret": raw.emu.client_secret}
    status, headers, token = await raw.json(
        "POST", f"/api/v1/auth/{raw.emu.slug}/token", body=credentials, auth=False
    )
    specs["identity-b"].response("POST", TOKEN_B, status, _media(headers), token)
    status, headers, refreshed = await raw.json(
        "POST",
        f"/api/v1/auth/{raw.emu.slug}/refresh",
        body={"refresh_token": token["refresh_token"]},
        auth=False,
    )
    specs["identity-b"].response("POST", REFRESH_B, status, _media(headers), refreshed)


async def test_identity_errors_are_problem_details(specs: dict[str, Spec], raw: Raw) -> None:
    """Bad credentials, unknown realm and bad refresh answer ProblemDetails."""
    for path, body in (
        (f"/api/v1/auth/{raw.emu.slug}/token", {"client_id": "x", "client_secret": "y"}),
        ("/api/v1/auth/nope/token", {"client_id": "x", "client_secret": "y"}),
        (f"/api/v1/auth/{raw.emu.slug}/refresh", {"refresh_token": "gone"}),
    ):
        status, headers, problem = await raw.json("POST", path, body=body, auth=False)
        assert status in (401, 404)
        _problem(specs, status, headers, problem)
        specs["identity-b"].component("ProblemDetails", problem)


async def test_pay_answers_match_generation_a(specs: dict[str, Spec], raw: Raw) -> None:
    """Approved and declined pay answers validate as A's PaymentOperationResultDtoApiResponseDto."""
    for number in (APPROVED, INSUFFICIENT):
        session_id = await raw.new_session()
        status, headers, body = await raw.pay(session_id, pay_body(number))
        specs["vpos-a"].response("POST", PAY_A, status, _media(headers), json.loads(body))


async def test_session_answers_match_generation_b(specs: dict[str, Spec], raw: Raw) -> None:
    """Create answers 201 CreateCheckoutSessionResponse; get answers CheckoutSessionData."""
    status, headers, created = await raw.json(
        "POST",
        "/api/v1/checkout/sessions",
        body={
            "amount": 15000,
            "currency": "TRY",
            "allowed_installments": [1, 3],
            "payment_mode": "ThreeDSecure",
            "metadata": {"order": "1001"},
        },
    )
    specs["vpos-b"].response("POST", SESSIONS_B, status, _media(headers), created)
    session_id = created["session_id"]
    status, headers, data = await raw.json("GET", f"/api/v1/checkout/sessions/{session_id}")
    specs["vpos-b"].response("GET", SESSION_B, status, _media(headers), data)
    await raw.pay(session_id, pay_body())
    status, headers, paid = await raw.json("GET", f"/api/v1/checkout/sessions/{session_id}")
    specs["vpos-b"].response("GET", SESSION_B, status, _media(headers), paid)
    assert paid["status"] == "completed"


async def test_query_and_get_payment_answers_match_generation_b(
    specs: dict[str, Spec], raw: Raw
) -> None:
    """Query answers TransactionQueryDto and get answers PaymentStatusDto, for both outcomes."""
    for number in (APPROVED, INSUFFICIENT):
        session_id = await raw.new_session()
        _, _, paid = await raw.pay(session_id, pay_body(number))
        transaction_id = json.loads(paid)["data"]["transactionId"]
        status, headers, query = await raw.json("GET", f"/api/v1/payments/{transaction_id}/query")
        specs["vpos-b"].response("GET", QUERY_B, status, _media(headers), query)
        status, headers, payment = await raw.json("GET", f"/api/v1/payments/{transaction_id}")
        specs["vpos-b"].response("GET", PAYMENT_B, status, _media(headers), payment)


async def test_query_answers_with_seeded_mismatches_match_generation_b(
    specs: dict[str, Spec], raw: Raw
) -> None:
    """A seeded bank-side disagreement (or a missing bank record) is still a TransactionQueryDto."""
    kinds = ("status", "amount", "captured_amount", "currency", "external_missing")
    seeded = raw.emu.seed_payments(5, mismatches=dict.fromkeys(kinds, 1))
    assert sorted(seeded.mismatches.values()) == sorted(kinds)
    for transaction_id in seeded:
        status, headers, query = await raw.json("GET", f"/api/v1/payments/{transaction_id}/query")
        specs["vpos-b"].response("GET", QUERY_B, status, _media(headers), query)
        missing = seeded.mismatches[transaction_id] == "external_missing"
        assert (query["external"] is None) == missing


async def test_error_answers_are_problem_details(specs: dict[str, Spec], raw: Raw) -> None:
    """Every error the vpos routes give is a documented status with a ProblemDetails body."""
    session_id = await raw.new_session()
    await raw.pay(session_id, pay_body())
    cases: list[tuple[str, str, str, Any, bool]] = [
        ("GET", f"/api/v1/payments/{session_id}/query", QUERY_B, None, True),  # 404
        ("GET", "/api/v1/payments/x", PAYMENT_B, None, True),  # 404
        ("POST", f"/api/v1/checkout/sessions/{session_id}/pay", PAY_B, pay_body(), True),  # 409
        ("POST", "/api/v1/checkout/sessions/none/pay", PAY_B, pay_body(), True),  # 404
        ("POST", SESSIONS_B, SESSIONS_B, {"amount": "x"}, True),  # 400
        ("GET", f"/api/v1/payments/{session_id}/query", QUERY_B, None, False),  # 401
    ]
    for method, path, documented, body, auth in cases:
        status, headers, problem = await raw.json(method, path, body=body, auth=auth)
        assert str(status) in specs["vpos-b"].operation(method, documented)["responses"], path
        _problem(specs, status, headers, problem)
    raw.emu.faults.fail_next("query", status=503)
    raw.emu.faults.fail_next("query", status=429)
    for expected in (503, 429):
        status, headers, problem = await raw.json("GET", "/api/v1/payments/x/query")
        assert status == expected
        specs["vpos-b"].response("GET", QUERY_B, status, _media(headers), problem)
        _problem(specs, status, headers, problem)


# --- what fuzzing against the specs found (issue 18) ------------------------------------------


async def _pay_raw(raw: Raw, session_id: str, data: bytes) -> tuple[int, Any, Any]:
    status, headers, answer = await raw.request(
        "POST",
        f"/api/v1/checkout/sessions/{session_id}/pay",
        raw_body=data,
        content_type="application/json; ver=1.0",
    )
    return status, headers, json.loads(answer)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda body: body.update(description="\ud800"), "description"),
        (lambda body: body["card"].update(holderName="Ay\udfffe"), "card.holderName"),
        (
            lambda body: body.update(
                basketItems=[{"id": "1", "name": "Kalem \ud800", "price": 100, "quantity": 1}]
            ),
            "basketItems[0].name",
        ),
        (lambda body: body.update(extraProperties={"k\ud800": "v"}), "extraProperties.k\\ud800"),
    ],
)
async def test_a_lone_surrogate_is_refused_before_anything_is_charged(
    specs: dict[str, Spec], raw: Raw, change: Any, field: str
) -> None:
    """A lone surrogate in a pay body's value or key is a 400 naming it; nothing is charged."""
    body = pay_body()
    change(body)
    specs["vpos-a"].request("POST", PAY_A, "application/json; ver=1.0", body)  # schema-valid
    session_id = await raw.new_session()
    status, headers, problem = await _pay_raw(raw, session_id, json.dumps(body).encode())
    assert (status, problem["code"]) == (400, "validation_failed"), problem
    _problem(specs, status, headers, problem)
    assert set(problem["errors"]) == {field}
    _, _, session = await raw.json("GET", f"/api/v1/checkout/sessions/{session_id}")
    assert (session["status"], session["attempt_count"]) == ("open", 0)
    assert len(raw.emu.ledger) == 0


async def test_a_surrogate_sent_as_utf8_bytes_and_in_a_session_body_is_refused(
    specs: dict[str, Spec], raw: Raw
) -> None:
    """A surrogate sent as raw UTF-8 bytes, or in a create-session body, is refused too."""
    session_id = await raw.new_session()
    data = json.dumps(pay_body(description="SURROGATE"), ensure_ascii=False).encode()
    status, headers, problem = await _pay_raw(
        raw, session_id, data.replace(b"SURROGATE", b"\xed\xa0\x80")
    )
    assert status == 400
    _problem(specs, status, headers, problem)
    assert set(problem["errors"]) == {"description"}
    sessions = len(raw.emu.ledger.sessions)
    status, headers, problem = await raw.json(
        "POST",
        SESSIONS_B,
        raw_body=b'{"amount": 15000, "currency": "TRY", "description": "\\ud800"}',
    )
    assert str(status) in specs["vpos-b"].operation("POST", SESSIONS_B)["responses"]
    _problem(specs, status, headers, problem)
    assert set(problem["errors"]) == {"description"}
    assert len(raw.emu.ledger.sessions) == sessions
    assert len(raw.emu.ledger) == 0


async def test_amounts_above_int64_are_refused_by_pay_and_create_session(
    specs: dict[str, Spec], raw: Raw
) -> None:
    """2**70 kuruş in pay or create-session is a 400 naming the amount; nothing recorded."""
    session_id = await raw.new_session()
    status, headers, problem = await raw.pay(session_id, pay_body(amount=2**70))
    body = json.loads(problem)
    assert status == 400
    _problem(specs, status, headers, body)
    assert set(body["errors"]) == {"amount.amount"}
    status, headers, body = await raw.json(
        "POST", SESSIONS_B, body={"amount": 2**70, "currency": "TRY"}
    )
    assert status == 400
    _problem(specs, status, headers, body)
    assert set(body["errors"]) == {"amount"}
    assert len(raw.emu.ledger.sessions) == 1
    assert len(raw.emu.ledger) == 0


@pytest.mark.parametrize(
    "items",
    [
        [{"id": "SKU-1", "name": "Kalem", "price": 75.5, "quantity": 2}],
        [{"name": "Kalem", "price": 7500, "quantity": 2}],
        [{"id": None, "name": "Kalem", "price": 0.5, "quantity": 1}],
    ],
)
async def test_spec_valid_basket_items_are_accepted_by_pay(
    specs: dict[str, Spec], raw: Raw, items: list[dict[str, Any]]
) -> None:
    """A double price (the spec's type) and an item without an id (optional) are charged."""
    body = pay_body()
    body["basketItems"] = items
    specs["vpos-a"].request("POST", PAY_A, "application/json; ver=1.0", body)
    session_id = await raw.new_session()
    status, headers, answer = await raw.pay(session_id, body)
    assert status == 200, answer
    specs["vpos-a"].response("POST", PAY_A, status, _media(headers), json.loads(answer))
    assert len(raw.emu.ledger.charges()) == 1


async def test_basket_prices_are_checked_as_the_numbers_sent(
    specs: dict[str, Spec], raw: Raw
) -> None:
    """A negative price, or one above int64 (an int or a double), is a 400 naming the price."""
    session_id = await raw.new_session()
    for price in (-1, -0.5, 2**70, 1e30):
        item = {"id": "1", "name": "Kalem", "price": price, "quantity": 1}
        status, headers, answer = await raw.pay(session_id, pay_body() | {"basketItems": [item]})
        problem = json.loads(answer)
        assert status == 400, price
        _problem(specs, status, headers, problem)
        assert set(problem["errors"]) == {"basketItems[0].price"}, price
    assert len(raw.emu.ledger) == 0


async def test_a_request_without_a_body_is_read_as_an_empty_object(
    specs: dict[str, Spec], raw: Raw
) -> None:
    """No body (none is required) is an empty object judged by the route, not invalid JSON."""
    for name, path in (("vpos-a", PAY_A), ("vpos-b", PAY_B), ("vpos-b", SESSIONS_B)):
        assert not specs[name].operation("POST", path)["requestBody"].get("required", False)
    assert not specs["identity-b"].operation("POST", TOKEN_B)["requestBody"].get("required")
    session_id = await raw.new_session()
    for path in (f"/api/v1/checkout/sessions/{session_id}/pay", SESSIONS_B):
        status, headers, problem = await raw.json("POST", path)
        assert (status, problem["code"]) == (400, "validation_failed"), problem
        _problem(specs, status, headers, problem)
    assert set(problem["errors"]) == {"amount", "currency"}  # B's required fields
    status, headers, problem = await raw.json(
        "POST", f"/api/v1/auth/{raw.emu.slug}/token", auth=False
    )
    assert (status, problem["code"]) == (401, "invalid_credentials")
    _problem(specs, status, headers, problem)
    assert len(raw.emu.ledger) == 0


@pytest.mark.parametrize("value", ["nope", "", "3c90c3cc0d444b5088888dd25736052a", "3c90c3cc"])
async def test_a_query_transaction_id_that_is_not_a_uuid_is_refused(
    specs: dict[str, Spec], raw: Raw, value: str
) -> None:
    """B's query takes an optional ?transaction_id= (format uuid): any other value is 400."""
    (parameter,) = [
        p
        for p in specs["vpos-b"].operation("GET", QUERY_B)["parameters"]
        if (p["name"], p["in"]) == ("transaction_id", "query")
    ]
    assert parameter["schema"] == {"type": "string", "format": "uuid"}
    session_id = await raw.new_session()
    _, _, paid = await raw.pay(session_id, pay_body())
    transaction_id = json.loads(paid)["data"]["transactionId"]
    path = f"/api/v1/payments/{transaction_id}/query"
    status, headers, problem = await raw.json("GET", path + f"?transaction_id={value}")
    assert (status, problem["code"]) == (400, "validation_failed"), problem
    _problem(specs, status, headers, problem)
    assert set(problem["errors"]) == {"transaction_id"}
    status, headers, query = await raw.json(
        "GET", path + f"?transaction_id={transaction_id}&order_id=ORDER-1"
    )
    specs["vpos-b"].response("GET", QUERY_B, status, _media(headers), query)


async def _exchange(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as it is over a fresh socket; the answer read until the server closes."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 30)  # a safety net, not a timing
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split()[1]), headers, body


#: Requests aiohttp's parser refuses before any route runs, by what is wrong.
UNREADABLE = {
    "request line": b"GET /api/v1/health?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "header value": b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: "
    + b"a" * 9000
    + b"\r\n\r\n",
    "header count": b"GET /api/v1/health HTTP/1.1\r\n"
    + b"".join(b"X-%d: 1\r\n" % n for n in range(200))
    + b"\r\n",
    "path byte": b"GET /api/v1/payments/\xff/query HTTP/1.1\r\nHost: x\r\n\r\n",
}


@pytest.mark.parametrize("wrong", sorted(UNREADABLE))
async def test_a_request_the_parser_refuses_is_answered_as_a_problem(
    specs: dict[str, Spec],
    raw: Raw,
    wrong: str,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """An over-8190-byte or unreadable request: a 400 problem, one log line, no stderr."""
    caplog.set_level(logging.DEBUG)
    status, headers, body = await _exchange(raw.emu.url, UNREADABLE[wrong])
    problem = json.loads(body)
    assert (status, problem["code"]) == (400, "bad_request")
    _problem(specs, status, headers, problem)
    refusals = [r for r in caplog.records if r.name.startswith(("payven", "aiohttp"))]
    assert [(r.name, r.levelno, r.exc_info) for r in refusals] == [
        ("payven.emulator", logging.INFO, None)
    ]
    assert "\n" not in refusals[0].getMessage()
    assert capfd.readouterr().err == ""
    status, _, _ = await raw.request("GET", "/api/v1/health", auth=False)
    assert status == 200  # the emulator serves on


def test_an_unreadable_request_prints_nothing_where_logging_is_not_configured() -> None:
    """Unconfigured logging prints nothing for an oversize header; at INFO, one line."""
    script = textwrap.dedent(
        """
        import asyncio, logging, sys
        from payven_async.testing import PayvenEmulator
        from tests.test_emulator_openapi import UNREADABLE, _exchange

        async def main():
            async with PayvenEmulator() as emu:
                status, _, _ = await _exchange(emu.url, UNREADABLE["header value"])
                assert status == 400, status
                if sys.argv[1] == "info":
                    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
                    status, _, _ = await _exchange(emu.url, UNREADABLE["request line"])
                    assert status == 400, status

        asyncio.run(main())
        """
    )
    root = Path(__file__).parent.parent
    for level, expected in (("none", 0), ("info", 1)):
        result = subprocess.run(  # noqa: S603 - our own script
            [sys.executable, "-W", "error", "-c", script, level],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        lines = result.stderr.splitlines()
        assert len(lines) == expected, result.stderr
        assert all(line.startswith("payven.emulator: ") for line in lines)
