"""The emulator's payment-operation routes over raw HTTP: strict bodies, idempotency, ledger
rules at their edges, history, webhooks, and the old routes sharing the same ledger."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from payven_async import verify_webhook
from payven_async._converters import encode
from payven_async.testing import PayvenEmulator
from payven_async.testing._faults import ROUTES

from .emulator_support import APPROVED, INSUFFICIENT, Raw, card, pay_body
from .test_emulator_webhooks import SECRET, Receiver, receiver  # noqa: F401 - the fixture

TID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"


def payment_body(number: str = APPROVED, amount: int = 15000, **fields: Any) -> dict[str, Any]:
    """A generation-B CreatePaymentRequest body, as the client sends it."""
    return {
        "amount": {"amount": amount, "currency": "TRY"},
        "installment": 1,
        "card": encode(card(number), "snake"),
        "operation_type": "Sale",
        **fields,
    }


@pytest.fixture
async def raw() -> AsyncIterator[Raw]:
    """Raw HTTP access to a fresh emulator."""
    async with PayvenEmulator() as emu, aiohttp.ClientSession() as http:
        yield Raw(emu, http)


async def paid(raw: Raw, **fields: Any) -> str:
    """A completed direct payment's transaction id."""
    status, _, body = await raw.json("POST", "/api/v1/payments", body=payment_body(**fields))
    assert status == 200, body
    transaction_id: str = body["transaction_id"]
    return transaction_id


async def test_the_new_routes_can_be_faulted() -> None:
    """Every operation route is a fault target."""
    assert {
        "create_payment",
        "init_3ds",
        "complete_3ds",
        "refund_payment",
        "void_payment",
        "capture_payment",
        "payment_history",
    } <= set(ROUTES)


# --- strict bodies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/payments", {**payment_body(), "surprise": 1}, "$"),
        ("/api/v1/payments", {**payment_body(), "operationType": "Sale"}, "$"),
        ("/api/v1/payments", {k: v for k, v in payment_body().items() if k != "installment"}, None),
        ("/api/v1/payments", payment_body(amount=99), "amount.amount"),
        ("/api/v1/payments", {**payment_body(), "amount": {"amount": "150"}}, "amount.amount"),
        ("/api/v1/payments", {**payment_body(), "callback_url": "https://x"}, "$"),
        ("/api/v1/payments/3d/init", payment_body(), "callback_url"),
        ("/api/v1/payments/3d/complete", {"need_verification": True}, "transaction_id"),
        ("/api/v1/payments/3d/complete", {"transaction_id": TID, "x": 1}, "x"),
        (f"/api/v1/payments/{TID}/refund", {"reason": "r"}, "amount"),
        (f"/api/v1/payments/{TID}/refund", {"amount": 1.5}, "amount"),
        (f"/api/v1/payments/{TID}/refund", {"amount": 100, "reason": "r" * 501}, "reason"),
        (f"/api/v1/payments/{TID}/refund", {"amount": 100, "reason_code": "Whim"}, "$"),
        (
            f"/api/v1/payments/{TID}/refund",
            {"amount": 100, "transaction_id": "other"},
            "transaction_id",
        ),
        (f"/api/v1/payments/{TID}/capture", {"amount": 100}, "amount"),
        (f"/api/v1/payments/{TID}/capture", {"reason": "r"}, "amount"),
        (f"/api/v1/payments/{TID}/void", {"reasons": "r"}, "$"),
    ],
)
async def test_bodies_off_the_schema_are_400_validation_failed(
    raw: Raw, path: str, body: dict[str, Any], field: str | None
) -> None:
    """Wrong keys, types or rules answer 400 validation_failed naming the field."""
    status, headers, problem = await raw.json("POST", path, body=body)
    assert (status, problem["code"]) == (400, "validation_failed"), problem
    assert headers["Content-Type"] == "application/problem+json"
    if field is not None:
        assert field in problem["errors"]
    assert len(raw.emu.ledger) == 0


async def test_the_operation_routes_need_a_bearer_token(raw: Raw) -> None:
    """Without Authorization every operation route answers 401."""
    for method, path in (
        ("POST", "/api/v1/payments"),
        ("POST", "/api/v1/payments/3d/init"),
        ("POST", f"/api/v1/payments/{TID}/refund"),
        ("GET", f"/api/v1/payments/{TID}/history"),
    ):
        status, _, problem = await raw.json(method, path, body={}, auth=False)
        assert (status, problem["code"]) == (401, "unauthorized")


async def test_a_snake_reason_code_and_an_empty_void_body_are_accepted(raw: Raw) -> None:
    """The guides' customer_request spelling is accepted; a void may have no body at all."""
    tid = await paid(raw)
    status, _, body = await raw.json(
        "POST",
        f"/api/v1/payments/{tid}/refund",
        body={"amount": 100, "reason_code": "customer_request"},
    )
    assert status == 200, body
    other = await paid(raw)
    status, _, body = await raw.json("POST", f"/api/v1/payments/{other}/void")
    assert (status, body["status"]) == (200, "canceled")


# --- idempotency ------------------------------------------------------------------------------


async def test_the_same_key_and_body_replay_and_a_different_body_conflicts(raw: Raw) -> None:
    """A repeated refund replays (Idempotent-Replayed) without refunding; another body is 409."""
    tid = await paid(raw)
    path = f"/api/v1/payments/{tid}/refund"
    headers = {"Idempotency-Key": f"refund-{tid}-1"}
    first = await raw.json("POST", path, body={"amount": 5000}, headers=headers)
    second = await raw.json("POST", path, body={"amount": 5000}, headers=headers)
    assert first[0] == second[0] == 200
    assert first[2] == second[2]
    assert second[1]["Idempotent-Replayed"] == "true"
    assert raw.emu.ledger.payments[tid].refunded_amount == 5000
    status, _, problem = await raw.json("POST", path, body={"amount": 4000}, headers=headers)
    assert (status, problem["code"]) == (409, "idempotency_key_in_use")


async def test_a_refused_body_leaves_the_key_free(raw: Raw) -> None:
    """A 400 is not stored: the fixed body under the same key is carried out."""
    tid = await paid(raw)
    path = f"/api/v1/payments/{tid}/refund"
    headers = {"Idempotency-Key": "k-1"}
    status, _, _ = await raw.json("POST", path, body={"amount": "x"}, headers=headers)
    assert status == 400
    status, _, _ = await raw.json("POST", path, body={"amount": 100}, headers=headers)
    assert status == 200


async def test_a_ledger_refusal_is_replayed_too(raw: Raw) -> None:
    """A 422 answer is the key's answer: the same request later gets the same 422."""
    tid = await paid(raw)
    path = f"/api/v1/payments/{tid}/refund"
    headers = {"Idempotency-Key": "too-much"}
    first = await raw.json("POST", path, body={"amount": 99999}, headers=headers)
    second = await raw.json("POST", path, body={"amount": 99999}, headers=headers)
    assert first[0] == second[0] == 422
    assert second[2]["code"] == "refund_exceeds_original"


# --- ledger rules at their edges -----------------------------------------------------------------


def _seconds_until(emu: PayvenEmulator, hour: int, minute: int) -> float:
    """Seconds from the emulator's now to the next hour:minute UTC."""
    now = emu.clock.utcnow()
    target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    delta = (target - now).total_seconds()
    return delta if delta > 0 else delta + 24 * 3600


async def test_void_follows_the_turkish_bank_day(raw: Raw) -> None:
    """Paid 23:59 Turkish time: voidable until midnight there, refused two minutes later."""
    raw.emu.clock.freeze()
    raw.emu.clock.advance(_seconds_until(raw.emu, 20, 59))  # 23:59 in Turkey (UTC+3)
    early, late = await paid(raw), await paid(raw)
    status, _, _ = await raw.json("POST", f"/api/v1/payments/{early}/void", body={})
    assert status == 200
    raw.emu.clock.advance(120)  # 00:01 in Turkey, still 21:01 UTC the same UTC day
    status, _, problem = await raw.json("POST", f"/api/v1/payments/{late}/void", body={})
    assert (status, problem["code"]) == (422, "void_not_allowed_after_settlement")


async def test_capture_is_allowed_up_to_exactly_24_hours(raw: Raw) -> None:
    """A pre-auth captured 24 h to the second after it was made is still captured."""
    raw.emu.clock.freeze()
    tid = await paid(raw, operation_type="PreAuth")
    raw.emu.clock.advance(24 * 3600)
    await raw.get_token()  # the old one expired meanwhile
    status, _, body = await raw.json(
        "POST",
        f"/api/v1/payments/{tid}/capture",
        body={"amount": {"amount": 15000, "currency": "TRY"}},
    )
    assert (status, body["status"]) == (200, "completed")


async def test_a_direct_decline_is_a_422_problem_and_a_failed_record(raw: Raw) -> None:
    """422 with the card's code and provider_error_code; the ledger keeps the failed attempt."""
    status, _, problem = await raw.json("POST", "/api/v1/payments", body=payment_body(INSUFFICIENT))
    assert (status, problem["code"], problem["provider_error_code"]) == (
        422,
        "insufficient_funds",
        "51",
    )
    (record,) = raw.emu.ledger
    assert (record.status, record.is_success) == ("failed", False)


async def test_session_payments_share_the_ledger_with_the_operations(raw: Raw) -> None:
    """A checkout-session pay (generation A route) can be refunded and its history read."""
    session_id = await raw.new_session()
    _, _, answer = await raw.pay(session_id, pay_body())
    tid = json.loads(answer)["data"]["transactionId"]
    status, _, body = await raw.json(
        "POST", f"/api/v1/payments/{tid}/refund", body={"amount": 15000}
    )
    assert (status, body["status"]) == (200, "refunded")
    status, _, history = await raw.json("GET", f"/api/v1/payments/{tid}/history")
    assert status == 200
    assert [step["status"] for step in history["internal_history"]] == ["completed", "refunded"]
    assert history["net_amount"] == 0


async def test_history_of_a_3ds_payment_shows_each_step(raw: Raw) -> None:
    """init then complete: two steps, the 3DS fields filled; the bank page is served."""
    status, _, started = await raw.json(
        "POST",
        "/api/v1/payments/3d/init",
        body=payment_body(callback_url="https://shop.example/cb"),
    )
    assert status == 200
    tid = started["transaction_id"]
    redirect = started["extra_properties"]["redirect_url"]
    page_status, _, page = await raw.request("GET", redirect.removeprefix(raw.emu.url), auth=False)
    assert page_status == 200
    assert tid.encode() in page
    await raw.json("POST", "/api/v1/payments/3d/complete", body={"transaction_id": tid})
    _, _, history = await raw.json("GET", f"/api/v1/payments/{tid}/history")
    steps = [(s["previous_status"], s["status"]) for s in history["internal_history"]]
    assert steps == [
        (None, "three_d_secure_init_processing"),
        ("three_d_secure_init_processing", "completed"),
    ]
    assert all(s["eci"] == "05" for s in history["internal_history"])


async def test_history_of_an_unknown_payment_is_404(raw: Raw) -> None:
    """payment_not_found for an id the ledger never saw."""
    status, _, problem = await raw.json("GET", f"/api/v1/payments/{TID}/history")
    assert (status, problem["code"]) == (404, "payment_not_found")


# --- webhooks ----------------------------------------------------------------------------------


async def test_refund_void_and_capture_send_signed_events(receiver: Receiver) -> None:  # noqa: F811
    """refund.completed, capture.completed and void.completed, each verifiable, with amounts."""
    async with (
        PayvenEmulator(webhook_url=receiver.url, webhook_secret=SECRET) as emu,
        aiohttp.ClientSession() as http,
    ):
        raw = Raw(emu, http)
        sale = await paid(raw)
        await raw.json("POST", f"/api/v1/payments/{sale}/refund", body={"amount": 2500})
        held = await paid(raw, operation_type="PreAuth")
        await raw.json(
            "POST",
            f"/api/v1/payments/{held}/capture",
            body={"amount": {"amount": 10000, "currency": "TRY"}},
        )
        await raw.json("POST", f"/api/v1/payments/{held}/void", body={})
        await emu.webhooks.drain()
        now = emu.clock.now()
    events = [
        verify_webhook(delivery.body, delivery.headers, SECRET, now=now)
        for delivery in receiver.received
    ]
    seen = sorted((e.type, e.data.transaction_id, e.data.amount, e.data.status) for e in events)
    assert seen == sorted(
        [
            ("payment.completed", sale, 15000, "completed"),
            ("refund.completed", sale, 2500, "completed"),
            ("payment.authorized", held, 15000, "authorized"),
            ("capture.completed", held, 10000, "completed"),
            ("void.completed", held, 10000, "canceled"),
        ]
    )
