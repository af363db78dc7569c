"""The payment operations against the published OpenAPI files (jsonschema).

- Every request body the client sends for direct and 3-D Secure payments, refund, void
  and capture (captured on its way to the transport, every field filled) validates
  against generation B's request schema, with ``Content-Type: application/json`` and
  an ``Idempotency-Key``.
- Every answer the emulator gives on those routes validates against B's documented
  response (errors as ``ProblemDetails``).
- Every answer shape the spec documents decodes: B's raw snake_case bodies and A's
  camelCase ``{message, isSuccess, code, data}`` envelopes, generated from the schemas
  with every property filled (and again with every nullable one null), decode with no
  key left over in ``unknown_fields``; the spec's error examples map to error classes.

The OpenAPI 3.0 quirks are read as :mod:`tests.test_emulator_openapi` explains.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import Any

import aiohttp
import attrs
import jsonschema
import pytest

from payven_async import (
    Address,
    Answer,
    APIError,
    BasketItem,
    Buyer,
    CaptureRequest,
    CheckoutSessionRequest,
    InvalidRequestError,
    MemoryTransport,
    Money,
    NotFoundError,
    OperationType,
    PaymentDeclinedError,
    PaymentHistory,
    PaymentHistoryEntry,
    PaymentRequest,
    PaymentResult,
    PayRequest,
    PayvenClient,
    RateLimitError,
    RefundReasonCode,
    RefundRequest,
    Request,
    ServerError,
    ThreeDSInitRequest,
    Timeout,
    VoidRequest,
)
from payven_async._json import dumps
from payven_async._responses import decode_answer, error_from_payload
from payven_async.errors import (
    AuthenticationError,
    IdempotencyConflictError,
    PermissionDeniedError,
)
from payven_async.testing import PayvenEmulator

from .emulator_support import APPROVED, Raw, card
from .test_emulator_openapi import Spec, _problem, _ref_in, _resolve
from .test_emulator_operations import paid, payment_body

B = "vpos-b"
A = "vpos-a"
PAYMENTS = "/api/v1/payments"
INIT = "/api/v1/payments/3d/init"
COMPLETE = "/api/v1/payments/3d/complete"
PAYMENT = "/api/v1/payments/{transaction_id}"
REFUND = "/api/v1/payments/{transaction_id}/refund"
VOID = "/api/v1/payments/{transaction_id}/void"
CAPTURE = "/api/v1/payments/{transaction_id}/capture"
HISTORY = "/api/v1/payments/{transaction_id}/history"
UUID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"


@pytest.fixture(scope="module")
def specs() -> dict[str, Spec]:
    """The two published vpos documents, normalised."""
    return {name: Spec(name) for name in (A, B)}


@attrs.define
class Sent:
    """One vpos request as the client handed it to the transport, and its answer."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: Any
    answer: Answer | None = None


@attrs.define
class Recorder:
    """A client whose vpos requests (bodies included) are recorded on their way out."""

    client: PayvenClient
    emu: PayvenEmulator
    sent: list[Sent] = attrs.Factory(list)

    def last(self) -> Sent:
        """The most recent request."""
        return self.sent[-1]


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    """A client of a fresh emulator whose vpos requests and answers are recorded.

    The spy sits at the transport, so that it sees exactly the bytes sent and every
    answer, errors included (token requests are not recorded).
    """
    async with PayvenEmulator() as emu, emu.client(max_retries=0) as client:
        record = Recorder(client, emu)
        transport = client._transport
        original = transport.send

        async def spy(request: Request, timeout: Timeout) -> Answer:
            answer = await original(request, timeout)
            if "/api/v1/payments" in request.url:
                body = json.loads(request.body) if request.body else None
                headers = dict(request.headers)
                headers.pop("Authorization", None)
                record.sent.append(Sent(request.method, request.url, headers, body, answer))
            return answer

        transport.send = spy  # type: ignore[method-assign]
        yield record


def _full_payment_fields() -> dict[str, Any]:
    return {
        "external_id": "ORDER-1001",
        "basket_id": "BASKET-1",
        "description": "Sipariş ödemesi",
        "buyer": Buyer(
            id="cust-1",
            name="Ahmet",
            surname="Yılmaz",
            email="a@example.com",
            phone="+905551112233",
            ip_address="85.105.10.10",
            identity_number="11111111110",
        ),
        "billing_address": Address(
            contact_name="Ahmet Yılmaz",
            city="İstanbul",
            country="TR",
            address="Maslak",
            postal_code="34485",
        ),
        "shipping_address": Address(city="Ankara"),
        "basket_items": [BasketItem("SKU-1", "Kulaklık", 7500, 2)],
        "extra_properties": {"channel": "web"},
    }


def _check_request(specs: dict[str, Spec], sent: Sent, path: str) -> None:
    assert sent.method == "POST"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Idempotency-Key"]
    specs[B].request("POST", path, "application/json", sent.body)


def _check_answer(specs: dict[str, Spec], sent: Sent, method: str, path: str) -> None:
    assert sent.answer is not None
    body = json.loads(sent.answer.body)
    media = sent.answer.headers["Content-Type"]
    specs[B].response(method, path, sent.answer.status, media, body)


# --- what the client sends (and what the emulator answers) -----------------------------------


@pytest.mark.parametrize("operation", [OperationType.SALE, OperationType.PRE_AUTH])
async def test_direct_payment_bodies_validate_against_create_payment_request(
    specs: dict[str, Spec], recorder: Recorder, operation: OperationType
) -> None:
    """create_payment with every field filled sends a valid CreatePaymentRequest."""
    minimal = PaymentRequest(amount=Money(15000), card=card())
    full = PaymentRequest(
        amount=Money(15000), card=card(), installment=3, operation_type=operation,
        **_full_payment_fields(),
    )  # fmt: skip
    for request in (minimal, full):
        await recorder.client.create_payment(request)
        _check_request(specs, recorder.last(), PAYMENTS)
        _check_answer(specs, recorder.last(), "POST", PAYMENTS)
    assert recorder.last().body["operation_type"] == operation.value


async def test_a_basket_item_without_an_id_is_sent_without_one(
    specs: dict[str, Spec], recorder: Recorder
) -> None:
    """BasketItem(None, ...) is sent without an id, schema-valid, and the emulator charges it."""
    items = [BasketItem(None, "Defter", 7500), BasketItem("SKU-1", "Kalem", 2500, 2)]
    await recorder.client.create_payment(
        PaymentRequest(amount=Money(12500), card=card(), basket_items=items)
    )
    sent = recorder.last()
    _check_request(specs, sent, PAYMENTS)
    _check_answer(specs, sent, "POST", PAYMENTS)
    assert [sorted(item) for item in sent.body["basket_items"]] == [
        ["name", "price", "quantity"],
        ["id", "name", "price", "quantity"],
    ]
    session = await recorder.client.create_checkout_session(CheckoutSessionRequest(amount=12500))
    assert session.session_id is not None
    paid_session = await recorder.client.pay(
        session.session_id,
        PayRequest(amount=Money(12500), card=card(), basket_items=items),
    )
    assert paid_session.is_success


async def test_3ds_bodies_validate_against_init3d_and_manual_complete(
    specs: dict[str, Spec], recorder: Recorder
) -> None:
    """init_3ds sends a valid Init3DRequest; complete_3ds a valid ManualCompleteRequest."""
    request = ThreeDSInitRequest(
        amount=Money(15000),
        card=card(),
        callback_url="https://shop.example/cb",
        cancel_url="https://shop.example/cancel",
        return_url="https://shop.example/return",
        **_full_payment_fields(),
    )
    started = await recorder.client.init_3ds(request)
    _check_request(specs, recorder.last(), INIT)
    _check_answer(specs, recorder.last(), "POST", INIT)
    assert started.transaction_id is not None
    for verify in (True, False):
        if not verify:
            again = await recorder.client.init_3ds(request)
            assert again.transaction_id is not None
            started = again
        assert started.transaction_id is not None
        await recorder.client.complete_3ds(started.transaction_id, need_verification=verify)
        _check_request(specs, recorder.last(), COMPLETE)
        _check_answer(specs, recorder.last(), "POST", COMPLETE)
        assert recorder.last().body == {
            "transaction_id": started.transaction_id,
            "need_verification": verify,
        }


@pytest.mark.parametrize("reason_code", [None, *RefundReasonCode])
async def test_refund_bodies_validate_against_refund_transaction_request(
    specs: dict[str, Spec], recorder: Recorder, reason_code: RefundReasonCode | None
) -> None:
    """refund sends a flat int amount and every reason code as the spec names it."""
    paid = await recorder.client.create_payment(PaymentRequest(amount=Money(15000), card=card()))
    assert paid.transaction_id is not None
    request = RefundRequest(
        amount=5000,
        currency="TRY",
        reason="Müşteri talebi",
        reason_code=reason_code,
        extra_properties={"ticket": "T-1"},
    )
    await recorder.client.refund(paid.transaction_id, request)
    sent = recorder.last()
    _check_request(specs, sent, REFUND)
    _check_answer(specs, sent, "POST", REFUND)
    assert sent.body["transaction_id"] == paid.transaction_id
    assert type(sent.body["amount"]) is int
    if reason_code is not None:
        assert sent.body["reason_code"] == reason_code.value
    await recorder.client.refund(paid.transaction_id, RefundRequest(amount=100))
    _check_request(specs, recorder.last(), REFUND)


async def test_void_and_capture_bodies_validate(specs: dict[str, Spec], recorder: Recorder) -> None:
    """void (with and without a body model) and capture (nested amount) send valid bodies."""
    client = recorder.client
    sale = await client.create_payment(PaymentRequest(amount=Money(15000), card=card()))
    assert sale.transaction_id is not None
    await client.void(sale.transaction_id)
    _check_request(specs, recorder.last(), VOID)
    _check_answer(specs, recorder.last(), "POST", VOID)
    assert recorder.last().body == {"transaction_id": sale.transaction_id}
    held = await client.create_payment(
        PaymentRequest(amount=Money(15000), card=card(), operation_type=OperationType.PRE_AUTH)
    )
    assert held.transaction_id is not None
    await client.capture(
        held.transaction_id,
        CaptureRequest(amount=Money(14750), reason="kargo", extra_properties={"a": "b"}),
    )
    _check_request(specs, recorder.last(), CAPTURE)
    _check_answer(specs, recorder.last(), "POST", CAPTURE)
    assert recorder.last().body["amount"] == {"amount": 14750, "currency": "TRY"}
    await client.void(held.transaction_id, VoidRequest(reason="iptal", extra_properties={"x": "y"}))
    _check_request(specs, recorder.last(), VOID)
    _check_answer(specs, recorder.last(), "POST", VOID)


async def test_get_payment_and_history_answers_validate(
    specs: dict[str, Spec], recorder: Recorder
) -> None:
    """GET /payments/{id} answers PaymentStatusDto and /history answers OrderHistoryDto."""
    client = recorder.client
    sale = await client.create_payment(PaymentRequest(amount=Money(15000), card=card()))
    assert sale.transaction_id is not None
    await client.refund(sale.transaction_id, RefundRequest(amount=100))
    started = await client.init_3ds(
        ThreeDSInitRequest(amount=Money(15000), card=card(), callback_url="https://x.example")
    )
    for result in (sale, started):
        assert result.transaction_id is not None
        await client.get_payment(result.transaction_id)
        _check_answer(specs, recorder.last(), "GET", PAYMENT)
        await client.get_payment_history(result.transaction_id)
        _check_answer(specs, recorder.last(), "GET", HISTORY)


async def test_operation_errors_are_documented_problem_details(
    specs: dict[str, Spec], recorder: Recorder
) -> None:
    """404, 409 and 422 answers of the operation routes are documented ProblemDetails."""
    client = recorder.client
    paid = await client.create_payment(PaymentRequest(amount=Money(15000), card=card()))
    tid = paid.transaction_id
    assert tid is not None
    attempts: list[tuple[str, Any]] = [
        (REFUND, lambda: client.refund(UUID, RefundRequest(amount=100))),
        (REFUND, lambda: client.refund(tid, RefundRequest(amount=99999))),
        (CAPTURE, lambda: client.capture(tid, CaptureRequest(amount=Money(100)))),
        (VOID, lambda: client.void(UUID)),
        (HISTORY, lambda: client.get_payment_history(UUID)),
        (
            PAYMENTS,
            lambda: client.create_payment(
                PaymentRequest(amount=Money(15000), card=card("4546717000000051"))
            ),
        ),
        (REFUND, lambda: client.refund(tid, RefundRequest(amount=100), idempotency_key="k")),
        (REFUND, lambda: client.refund(tid, RefundRequest(amount=200), idempotency_key="k")),
    ]
    for path, call in attempts:
        with contextlib.suppress(APIError):
            await call()
        sent = recorder.last()
        assert sent.answer is not None
        if sent.answer.status == 200:
            continue
        method = "GET" if path == HISTORY else "POST"
        documented = specs[B].operation(method, path)["responses"]
        assert str(sent.answer.status) in documented, (path, sent.answer.status)
        _problem(specs, sent.answer.status, sent.answer.headers, json.loads(sent.answer.body))
    statuses = sorted({s.answer.status for s in recorder.sent if s.answer is not None})
    assert {404, 409, 422} <= set(statuses)


# --- every answer shape in the spec decodes -----------------------------------------------------


def instance(spec: Spec, node: Any, *, nulls: bool = False, branch: int = 0) -> Any:
    """A JSON value the (normalised) schema ``node`` documents, every property filled.

    With ``nulls``, every nullable value is null instead. ``branch`` picks the anyOf
    alternative (PaymentOperationResultDto or PaymentStatusDto). Doubles are integral
    (kuruş) except where the test sets its own.
    """
    node = _resolve(spec.doc, node)
    if "allOf" in node:
        merged: dict[str, Any] = {}
        for part in node["allOf"]:
            value = instance(spec, part, nulls=nulls, branch=branch)
            if not isinstance(value, dict):
                return value
            merged.update(value)
        return merged
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if _resolve(spec.doc, o).get("type") != "null"]
        if nulls and len(options) < len(node["anyOf"]):
            return None
        return instance(spec, options[min(branch, len(options) - 1)], nulls=nulls, branch=branch)
    kind = node.get("type")
    if isinstance(kind, list):
        if nulls and "null" in kind:
            return None
        kind = next(k for k in kind if k != "null")
    if "enum" in node:
        return next(value for value in node["enum"] if value is not None)
    if kind == "object" or "properties" in node:
        properties = node.get("properties", {})
        if properties:
            return {k: instance(spec, v, nulls=nulls, branch=branch) for k, v in properties.items()}
        extra = node.get("additionalProperties")
        return {"key": instance(spec, extra)} if isinstance(extra, dict) and extra else {}
    if kind == "array":
        return [instance(spec, node["items"], nulls=nulls, branch=branch)]
    if kind == "string":
        return {
            "uuid": UUID,
            "date-time": "2026-05-05T10:00:00.123+03:00",
            "date": "2026-05-05",
        }.get(node.get("format", ""), "text")
    if kind == "integer":
        return 15000
    if kind == "number":
        return 15000.0
    if kind == "boolean":
        return True
    raise AssertionError(f"no instance for {node}")


def _answer_schema(spec: Spec, method: str, path: str) -> Any:
    content = spec.operation(method, path)["responses"]["200"]["content"]
    (schema,) = {json.dumps(c["schema"], sort_keys=True) for c in content.values()}
    return json.loads(schema)


def _decode(payload: Any, cls: type[Any]) -> Any:
    return decode_answer(Answer.of(200, dumps(payload)), cls)


def _no_leftovers(model: Any) -> None:
    """No key of the answer ended in ``unknown_fields``, at any depth."""
    assert model.unknown_fields == {}, model.unknown_fields
    for field in attrs.fields(type(model)):
        value = getattr(model, field.name)
        for item in value if isinstance(value, list) else [value]:
            if attrs.has(type(item)) and hasattr(item, "unknown_fields"):
                _no_leftovers(item)


_B_ANSWERS = [
    ("POST", PAYMENTS, PaymentResult),
    ("POST", INIT, PaymentResult),
    ("POST", COMPLETE, PaymentResult),
    ("GET", PAYMENT, PaymentResult),
    ("POST", REFUND, PaymentResult),
    ("POST", VOID, PaymentResult),
    ("POST", CAPTURE, PaymentResult),
    ("GET", HISTORY, PaymentHistory),
]
_A_PATHS = {
    PAYMENTS: ("POST", "/api/v1/Payments"),
    INIT: ("POST", "/api/v1/Payments/3d/init"),
    COMPLETE: ("POST", "/api/v1/Payments/3d/complete"),
    PAYMENT: ("GET", "/api/v1/Payments/{transactionId}"),
    REFUND: ("POST", "/api/v1/Payments/{transactionId}/refund"),
    VOID: ("POST", "/api/v1/Payments/{transactionId}/void"),
    CAPTURE: ("POST", "/api/v1/Payments/{transactionId}/capture"),
    HISTORY: ("POST", "/api/v1/Payments/{transactionId}/history"),
}


@pytest.mark.parametrize(("generation", "nulls", "branch"), [
    (B, False, 0), (B, False, 1), (B, True, 1), (A, False, 0), (A, False, 1), (A, True, 1),
])  # fmt: skip
@pytest.mark.parametrize(("method", "path", "cls"), _B_ANSWERS)
def test_every_documented_answer_shape_decodes(
    specs: dict[str, Spec],
    generation: str,
    nulls: bool,
    branch: int,
    method: str,
    path: str,
    cls: type[Any],
) -> None:
    """B raw and A envelope answers, all fields or all nullable ones null, decode fully."""
    spec = specs[generation]
    if generation == A:
        method, path = _A_PATHS[path]
    schema = _answer_schema(spec, method, path)
    payload = instance(spec, schema, nulls=nulls, branch=branch)
    spec.validate(_ref(spec, schema), payload)
    if generation == A:
        assert set(payload) == {"message", "isSuccess", "code", "data"}
        if nulls:
            # The envelope's nullable ``data`` came out null: fill it, with its own
            # nullable fields null, and check the envelope again.
            data_schema = _resolve(spec.doc, schema)["properties"]["data"]
            options = [
                option
                for option in data_schema.get("anyOf", [data_schema])
                if _resolve(spec.doc, option).get("type") != "null"
            ]
            payload["data"] = instance(
                spec, options[min(branch, len(options) - 1)], nulls=True, branch=branch
            )
            spec.validate(_ref(spec, schema), payload)
    decoded = _decode(payload, cls)
    _no_leftovers(decoded)
    data = payload["data"] if generation == A else payload
    if cls is PaymentResult:
        assert decoded.transaction_id == UUID
        assert decoded.is_success is True
        if branch == 1 and not nulls:
            assert (decoded.amount, decoded.is_3d_secure) == (15000, True)
            assert decoded.created is not None
            assert decoded.created.utcoffset() is not None
    else:
        assert decoded.original_amount == 15000
        entries = decoded.internal_history
        if data.get("internalHistory", data.get("internal_history")) is None:
            assert entries == []
        else:
            assert isinstance(entries[0], PaymentHistoryEntry)
            if not nulls:
                assert entries[0].amount == Decimal(15000)


def _ref(spec: Spec, schema: Any) -> Any:
    return _ref_in(spec.uri, schema)


def test_history_amounts_are_exact_decimals(specs: dict[str, Spec]) -> None:
    """A history entry's double amount becomes an exact Decimal, without float noise."""
    entry = {"timestamp": "2026-05-05T10:00:00+03:00", "status": "refunded", "amount": 0.1}
    body = {"transaction_id": UUID, "internal_history": [entry], "external_history": None}
    specs[B].component("OrderHistoryDto", body)
    history = _decode(body, PaymentHistory)
    assert history.internal_history[0].amount == Decimal("0.1")
    assert history.external_history == []


def test_3ds_redirects_decode_from_either_generation(specs: dict[str, Spec]) -> None:
    """redirect_url / redirect_method / html_content come from extra_properties, A or B."""
    extra = {
        "redirect_url": "https://acs.bank.example/3ds",
        "redirect_method": "POST",
        "html_content": "<form></form>",
    }
    b_body = {"transaction_id": UUID, "status": "three_d_secure_init_processing",
              "is_success": True, "extra_properties": extra}  # fmt: skip
    a_data = {"transactionId": UUID, "isSuccess": True, "extraProperties": extra}
    a_body = {"message": None, "isSuccess": True, "code": "200", "data": a_data}
    specs[B].component("PaymentOperationResultDto", b_body)
    specs[A].component("PaymentOperationResultDtoApiResponseDto", a_body)
    for body in (b_body, a_body):
        result = _decode(body, PaymentResult)
        assert (result.redirect_url, result.redirect_method, result.html_content) == (
            extra["redirect_url"],
            "POST",
            "<form></form>",
        )
    bare = _decode({"transaction_id": UUID, "redirectUrl": "https://acs.example"}, PaymentResult)
    assert (bare.redirect_url, bare.html_content) == ("https://acs.example", None)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("BadRequest", InvalidRequestError),
        ("Unauthorized", AuthenticationError),
        ("Forbidden", PermissionDeniedError),
        ("NotFound", NotFoundError),
        ("Conflict", IdempotencyConflictError),
        ("UnprocessableEntity", PaymentDeclinedError),
        ("TooManyRequests", RateLimitError),
        ("ServerError", ServerError),
        ("ServiceUnavailable", ServerError),
    ],
)
def test_the_specs_error_examples_map_to_error_classes(
    specs: dict[str, Spec], response: str, expected: type[APIError]
) -> None:
    """Each documented problem example of the operation routes becomes its error class."""
    (content,) = specs[B].raw["components"]["responses"][response]["content"].values()
    example = content["example"]
    error = error_from_payload(example["status"], example)
    assert type(error) is expected
    assert error.code == example["code"]
    if response == "UnprocessableEntity":
        assert error.provider_error_code == "51"


async def test_generation_a_envelopes_drive_the_money_moving_helper() -> None:
    """An A envelope: isSuccess true decodes, a declined result raises, a failed one errors."""
    answers = [
        {"message": "ok", "isSuccess": True, "code": "200",
         "data": {"transactionId": UUID, "status": "refunded", "isSuccess": True}},
        {"message": "red", "isSuccess": False, "code": "422",
         "data": {"transactionId": UUID, "status": "failed", "isSuccess": False,
                  "errorCode": "bank_declined", "providerErrorCode": "05"}},
        {"message": "Tutar aşıldı", "isSuccess": False, "code": "REFUND_EXCEEDS_ORIGINAL",
         "data": None},
    ]  # fmt: skip

    def canned(request: Request) -> Answer:
        if request.call == "token":
            return Answer.from_json({"access_token": "t", "expires_in": 300})
        return Answer.of(200, dumps(answers.pop(0)), {"Content-Type": "application/json; ver=1.0"})

    client = PayvenClient("id", "secret", "acme", max_retries=0, transport=MemoryTransport(canned))
    assert (await client.refund(UUID, RefundRequest(amount=100))).status == "refunded"
    with pytest.raises(PaymentDeclinedError) as declined:
        await client.refund(UUID, RefundRequest(amount=100))
    assert (declined.value.code, declined.value.provider_error_code) == ("bank_declined", "05")
    with pytest.raises(APIError) as failed:
        await client.refund(UUID, RefundRequest(amount=100))
    assert failed.value.code == "refund_exceeds_original"
    assert APPROVED not in str(failed.value)


# --- what fuzzing against the specs found (issue 18) ------------------------------------------


@pytest.fixture
async def raw() -> AsyncIterator[Raw]:
    """Raw HTTP access to a fresh emulator."""
    async with PayvenEmulator() as emu, aiohttp.ClientSession() as http:
        yield Raw(emu, http)


def _refused(specs: dict[str, Spec], status: int, headers: Any, problem: Any) -> set[str]:
    """The fields a 400 validation problem names (checked as a documented ProblemDetails)."""
    assert (status, problem["code"]) == (400, "validation_failed"), problem
    _problem(specs, status, headers, problem)
    return set(problem["errors"])


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (PAYMENTS, payment_body(amount=2**70), "amount.amount"),
        (INIT, payment_body(amount=2**70, callback_url="https://x.example"), "amount.amount"),
        (REFUND, {"amount": 2**70}, "amount"),
        (CAPTURE, {"amount": {"amount": 2**70, "currency": "TRY"}}, "amount.amount"),
    ],
)
async def test_amounts_above_int64_are_refused_by_every_operation(
    specs: dict[str, Spec], raw: Raw, path: str, body: dict[str, Any], field: str
) -> None:
    """2**70 kuruş in any operation's body is a 400 naming the amount; no money moves."""
    held = await paid(raw, operation_type="PreAuth")
    before = raw.emu.ledger.payment(held)
    status, headers, problem = await raw.json("POST", path.format(transaction_id=held), body=body)
    assert _refused(specs, status, headers, problem) == {field}
    after = raw.emu.ledger.payment(held)
    assert (after.status, after.net_amount, len(after.history)) == (
        before.status,
        before.net_amount,
        len(before.history),
    )
    assert len(raw.emu.ledger) == 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (PAYMENTS, payment_body(description="\ud800"), "description"),
        (REFUND, {"amount": 100, "reason": "iade \udfff"}, "reason"),
        (VOID, {"reason": "\ud800"}, "reason"),
        (CAPTURE, {"amount": {"amount": 100, "currency": "TRY"}, "reason": "\ud800"}, "reason"),
    ],
)
async def test_a_lone_surrogate_is_refused_before_any_operation(
    specs: dict[str, Spec], raw: Raw, path: str, body: dict[str, Any], field: str
) -> None:
    """A lone surrogate in an operation's body is a 400 naming the field; nothing moves."""
    held = await paid(raw, operation_type="PreAuth")
    specs[B].request("POST", path, "application/json", body)  # schema-valid: a string
    status, headers, problem = await raw.json(
        "POST", path.format(transaction_id=held), raw_body=json.dumps(body).encode()
    )
    assert _refused(specs, status, headers, problem) == {field}
    assert raw.emu.ledger.payment(held).status == "authorized"
    assert len(raw.emu.ledger) == 1


@pytest.mark.parametrize("path", [REFUND, VOID, CAPTURE])
async def test_a_null_transaction_id_in_the_body_is_refused(
    specs: dict[str, Spec], raw: Raw, path: str
) -> None:
    """The body's transaction_id is a (uuid) string, not nullable: null is a 400."""
    body: dict[str, Any] = {"transaction_id": None}
    if path != VOID:
        body["amount"] = 100 if path == REFUND else {"amount": 100, "currency": "TRY"}
    with pytest.raises(jsonschema.ValidationError):
        specs[B].request("POST", path, "application/json", body)
    held = await paid(raw, operation_type="PreAuth")
    status, headers, problem = await raw.json("POST", path.format(transaction_id=held), body=body)
    assert _refused(specs, status, headers, problem) == {"transaction_id"}
    assert raw.emu.ledger.payment(held).status == "authorized"


async def test_a_history_transaction_id_that_is_not_a_uuid_is_refused(
    specs: dict[str, Spec], raw: Raw
) -> None:
    """B's history takes an optional ?transaction_id= (format uuid): any other value is 400."""
    tid = await paid(raw)
    path = HISTORY.format(transaction_id=tid)
    status, headers, problem = await raw.json("GET", f"{path}?transaction_id=nope")
    assert _refused(specs, status, headers, problem) == {"transaction_id"}
    status, headers, history = await raw.json("GET", f"{path}?transaction_id={tid}&order_id=1")
    specs[B].response("GET", HISTORY, status, headers["Content-Type"], history)


@pytest.mark.parametrize("path", [PAYMENTS, INIT])
async def test_spec_valid_basket_items_are_accepted_by_the_payments(
    specs: dict[str, Spec], raw: Raw, path: str
) -> None:
    """A double price and an item without an id (both as the spec allows) are accepted."""
    items = [
        {"id": "SKU-1", "name": "Kalem", "price": 75.5, "quantity": 2},
        {"name": "Defter", "price": 7500, "quantity": 1},
    ]
    body = payment_body(basket_items=items)
    if path == INIT:
        body["callback_url"] = "https://shop.example/cb"
    specs[B].request("POST", path, "application/json", body)
    status, headers, answer = await raw.json("POST", path, body=body)
    assert status == 200, answer
    specs[B].response("POST", path, status, headers["Content-Type"], answer)


async def test_operation_requests_without_a_body_name_what_they_need(
    specs: dict[str, Spec], raw: Raw
) -> None:
    """A body-less operation is an empty object: a 400 naming required fields, or a void."""
    tid = await paid(raw, operation_type="PreAuth")
    expected = {
        PAYMENTS: {"amount", "card", "installment"},
        INIT: {"amount", "card", "installment", "callback_url"},
        COMPLETE: {"transaction_id"},
        REFUND: {"amount"},
        CAPTURE: {"amount"},
    }
    for path, fields in expected.items():
        assert not specs[B].operation("POST", path)["requestBody"].get("required", False)
        status, headers, problem = await raw.json("POST", path.format(transaction_id=tid))
        assert _refused(specs, status, headers, problem) == fields, path
    status, headers, voided = await raw.json("POST", VOID.format(transaction_id=tid))
    specs[B].response("POST", VOID, status, headers["Content-Type"], voided)
    assert voided["status"] == "canceled"
