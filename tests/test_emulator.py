"""The emulator's behaviour over loopback HTTP: tokens, sessions, pay, ledger, cards,
idempotency, rate limits, correlation ids, faults, the sync twin and the pytest plugin."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import subprocess
import sys
import textwrap
import threading
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from payven_async import (
    AuthenticationError,
    CheckoutSessionRequest,
    ConflictError,
    IdempotencyConflictError,
    InvalidRequestError,
    NotFoundError,
    PaymentDeclinedError,
    PayvenClient,
    PayvenTimeoutError,
    RateLimitError,
)
from payven_async._validate import luhn_valid
from payven_async.testing import (
    TEST_CARDS,
    FaultKind,
    Faults,
    PayvenEmulator,
    SyncPayvenEmulator,
)

from .emulator_support import APPROVED, CVV, INSUFFICIENT, Raw, pay_body, pay_request


@pytest.fixture
async def raw(payven_emulator: PayvenEmulator) -> AsyncIterator[Raw]:
    """Raw HTTP access to the plugin's emulator."""
    async with aiohttp.ClientSession() as http:
        yield Raw(payven_emulator, http)


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


async def _session(client: PayvenClient, amount: int = 15000, **fields: Any) -> str:
    session = await client.create_checkout_session(
        CheckoutSessionRequest(amount=amount, currency="TRY", **fields)
    )
    assert session.session_id is not None
    return session.session_id


# --- tokens -------------------------------------------------------------------------------


async def test_token_is_a_jwt_with_the_configured_lifetime() -> None:
    """The token route issues an HS256 JWT whose exp is iat + token_ttl, and says so."""
    async with PayvenEmulator(token_ttl=120) as emu, emu.client() as client:
        token = await client.token()
    claims = _claims(token.access_token)
    assert token.expires_in == 120
    assert token.token_type == "Bearer"
    assert claims["exp"] - claims["iat"] == 120
    assert claims["sub"] == emu.client_id
    assert token.refresh_token


async def test_wrong_credentials_get_401_invalid_credentials(raw: Raw) -> None:
    """A wrong secret is a 401 problem with code invalid_credentials."""
    status, headers, body = await raw.json(
        "POST",
        f"/api/v1/auth/{raw.emu.slug}/token",
        body={"client_id": raw.emu.client_id, "client_secret": "nope"},
        auth=False,
    )
    assert status == 401
    assert headers["Content-Type"] == "application/problem+json"
    assert body["code"] == "invalid_credentials"
    assert "nope" not in json.dumps(body)


async def test_client_with_a_wrong_secret_raises_authentication_error(
    payven_emulator: PayvenEmulator,
) -> None:
    """The client maps the identity 401 to AuthenticationError."""
    async with payven_emulator.client(client_secret="wrong", max_retries=0) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.token()
    assert caught.value.code == "invalid_credentials"


async def test_unknown_slug_is_404_realm_not_found(raw: Raw) -> None:
    """A token request for another tenant slug is 404 realm_not_found."""
    status, _, body = await raw.json(
        "POST",
        "/api/v1/auth/other/token",
        body={"client_id": raw.emu.client_id, "client_secret": raw.emu.client_secret},
        auth=False,
    )
    assert (status, body["code"]) == (404, "realm_not_found")


async def test_token_body_with_extra_keys_is_a_validation_problem(raw: Raw) -> None:
    """ClientCredentialsRequest forbids extra keys: 400 validation_failed."""
    status, _, body = await raw.json(
        "POST",
        f"/api/v1/auth/{raw.emu.slug}/token",
        body={"client_id": raw.emu.client_id, "client_secret": raw.emu.client_secret, "x": 1},
        auth=False,
    )
    assert (status, body["code"]) == (400, "validation_failed")
    assert "x" in body["errors"]


async def test_expired_token_gets_401_token_expired(raw: Raw) -> None:
    """Past its exp (on the emulator's clock) a token is refused with 401 token_expired."""
    await raw.get_token()
    raw.emu.clock.advance(301)
    status, headers, body = await raw.json("GET", "/api/v1/payments/x/query")
    assert status == 401
    assert body["code"] == "token_expired"
    assert headers["Content-Type"] == "application/problem+json"
    assert "WWW-Authenticate" in headers


async def test_missing_bearer_is_401_unauthorized(raw: Raw) -> None:
    """Pay and query need a Bearer token; without one they answer 401 unauthorized."""
    session_id = await raw.new_session()
    raw.token = ""
    for method, path in (
        ("POST", f"/api/v1/checkout/sessions/{session_id}/pay"),
        ("GET", "/api/v1/payments/x/query"),
        ("GET", "/api/v1/payments/x"),
        ("POST", "/api/v1/checkout/sessions"),
    ):
        status, _, body = await raw.json(method, path, body=pay_body(), auth=False)
        assert (status, body["code"]) == (401, "unauthorized"), path


async def test_a_forged_token_is_401_invalid_token(raw: Raw) -> None:
    """A token not signed by this emulator is refused with invalid_token."""
    await raw.get_token()
    head, claims, _ = raw.token.split(".")
    raw.token = f"{head}.{claims}.forged"
    status, _, body = await raw.json("GET", "/api/v1/payments/x/query")
    assert (status, body["code"]) == (401, "invalid_token")


async def test_refresh_rotates_the_refresh_token(raw: Raw) -> None:
    """A refresh returns a new pair, and the old refresh token no longer works."""
    path = f"/api/v1/auth/{raw.emu.slug}/refresh"
    status, _, first = await raw.json(
        "POST",
        f"/api/v1/auth/{raw.emu.slug}/token",
        body={"client_id": raw.emu.client_id, "client_secret": raw.emu.client_secret},
        auth=False,
    )
    old = first["refresh_token"]
    status, _, second = await raw.json("POST", path, body={"refresh_token": old}, auth=False)
    assert status == 200
    assert second["refresh_token"] != old
    status, _, again = await raw.json("POST", path, body={"refresh_token": old}, auth=False)
    assert (status, again["code"]) == (401, "invalid_refresh_token")


async def test_expired_refresh_token_is_refused(raw: Raw) -> None:
    """A refresh token past refresh_ttl gets 401 invalid_refresh_token."""
    status, _, pair = await raw.json(
        "POST",
        f"/api/v1/auth/{raw.emu.slug}/token",
        body={"client_id": raw.emu.client_id, "client_secret": raw.emu.client_secret},
        auth=False,
    )
    raw.emu.clock.advance(raw.emu.tokens.refresh_ttl + 1)
    status, _, body = await raw.json(
        "POST",
        f"/api/v1/auth/{raw.emu.slug}/refresh",
        body={"refresh_token": pair["refresh_token"]},
        auth=False,
    )
    assert (status, body["code"]) == (401, "invalid_refresh_token")


async def test_revoked_tokens_are_refused(raw: Raw) -> None:
    """revoke_tokens() makes every issued access token invalid."""
    await raw.get_token()
    raw.emu.revoke_tokens()
    status, _, body = await raw.json("GET", "/api/v1/payments/x/query")
    assert (status, body["code"]) == (401, "invalid_token")


# --- checkout sessions --------------------------------------------------------------------


async def test_session_lives_thirty_minutes_and_allows_three_attempts(
    payven_client: PayvenClient,
) -> None:
    """A new session is open, expires 30 minutes after creation, and allows 3 attempts."""
    session_id = await _session(payven_client, merchant_name="Acme", allowed_installments=[1, 3])
    session = await payven_client.get_checkout_session(session_id)
    assert session.status == "open"
    assert session.created_at is not None
    assert session.expires_at is not None
    assert (session.expires_at - session.created_at).total_seconds() == 1800
    assert (session.attempt_count, session.max_attempts) == (0, 3)
    assert session.merchant_name == "Acme"
    assert list(session.allowed_installments or []) == [1, 3]


async def test_expired_session_cannot_be_paid(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient
) -> None:
    """After 30 minutes a session reads as expired and a pay gets 410 session_expired."""
    session_id = await _session(payven_client)
    payven_emulator.clock.advance(1801)
    assert (await payven_client.get_checkout_session(session_id)).status == "expired"
    with pytest.raises(NotFoundError) as caught:
        await payven_client.pay(session_id, pay_request())
    assert (caught.value.status, caught.value.code) == (410, "session_expired")


async def test_session_fails_after_three_declined_attempts(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient
) -> None:
    """Three declines fail the session; a fourth pay is refused with max_attempts_exceeded."""
    session_id = await _session(payven_client)
    for _ in range(3):
        with pytest.raises(PaymentDeclinedError):
            await payven_client.pay(session_id, pay_request(INSUFFICIENT))
    session = await payven_client.get_checkout_session(session_id)
    assert (session.status, session.attempt_count) == ("failed", 3)
    with pytest.raises(ConflictError) as caught:
        await payven_client.pay(session_id, pay_request())
    assert caught.value.code == "max_attempts_exceeded"
    assert len(payven_emulator.ledger.charges()) == 0


async def test_a_paid_session_is_closed(payven_client: PayvenClient) -> None:
    """After an approved pay the session is completed and a new pay is 409 session_closed."""
    session_id = await _session(payven_client)
    result = await payven_client.pay(session_id, pay_request())
    session = await payven_client.get_checkout_session(session_id)
    assert (session.status, session.transaction_id) == ("completed", result.transaction_id)
    with pytest.raises(ConflictError) as caught:
        await payven_client.pay(session_id, pay_request())
    assert caught.value.code == "session_closed"


async def test_pay_must_match_the_session(payven_client: PayvenClient) -> None:
    """A different amount or an installment the session does not allow is a 422."""
    session_id = await _session(payven_client, allowed_installments=[1, 3])
    with pytest.raises(InvalidRequestError) as amount:
        await payven_client.pay(session_id, pay_request(amount=14999))
    with pytest.raises(InvalidRequestError) as installment:
        await payven_client.pay(session_id, pay_request(installment=6))
    assert (amount.value.status, amount.value.code) == (422, "session_amount_mismatch")
    assert installment.value.code == "session_installment_not_allowed"
    assert (await payven_client.pay(session_id, pay_request(installment=3))).is_success


async def test_unknown_session_is_404(payven_client: PayvenClient) -> None:
    """Pay and get on a session that does not exist are 404 session_not_found."""
    with pytest.raises(NotFoundError) as pay:
        await payven_client.pay("no-such-session", pay_request())
    with pytest.raises(NotFoundError) as get:
        await payven_client.get_checkout_session("no-such-session")
    assert pay.value.code == get.value.code == "session_not_found"


async def test_create_session_rejects_bad_bodies(raw: Raw) -> None:
    """Session bodies are strict snake_case: a camelCase key or a float amount is refused."""
    for body, field in (
        ({"amount": 15000, "currency": "TRY", "merchantName": "x"}, "$"),
        ({"amount": 150.5, "currency": "TRY"}, "amount"),
        (
            {"amount": 15000, "currency": "TRY", "allowed_installments": ["3"]},
            "allowed_installments[0]",
        ),
        ({"amount": 15000, "currency": "USD"}, "currency"),
        ({"amount": 50, "currency": "TRY"}, "amount"),
    ):
        status, headers, problem = await raw.json("POST", "/api/v1/checkout/sessions", body=body)
        assert (status, problem["code"]) == (400, "validation_failed"), body
        assert field in problem["errors"], problem
        assert headers["Content-Type"] == "application/problem+json"


# --- pay body checks ----------------------------------------------------------------------


async def test_pay_answers_in_the_generation_a_envelope(raw: Raw) -> None:
    """An approved pay is a 200 envelope, application/json; ver=1.0, camelCase data."""
    session_id = await raw.new_session()
    status, headers, body = await raw.pay(session_id, pay_body())
    answer = json.loads(body)
    assert status == 200
    assert headers["Content-Type"] == "application/json; ver=1.0"
    assert set(answer) == {"message", "isSuccess", "code", "data"}
    assert answer["isSuccess"] is True
    assert answer["data"]["isSuccess"] is True
    assert answer["data"]["status"] == "completed"
    assert set(answer["data"]) == {
        "transactionId",
        "status",
        "isSuccess",
        "message",
        "errorCode",
        "providerErrorCode",
        "extraProperties",
    }


async def test_a_decline_is_an_envelope_with_data_is_success_false(raw: Raw) -> None:
    """A decline is 200, envelope isSuccess true, data.isSuccess false, with both codes."""
    session_id = await raw.new_session()
    status, _, body = await raw.pay(session_id, pay_body(INSUFFICIENT))
    answer = json.loads(body)
    assert status == 200
    assert answer["isSuccess"] is True
    data = answer["data"]
    assert (data["isSuccess"], data["status"]) == (False, "failed")
    assert (data["errorCode"], data["providerErrorCode"]) == ("insufficient_funds", "51")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda body: body.update(surprise=1), "$"),
        (lambda body: body["card"].update(pan="x"), "$"),
        (lambda body: body.pop("card"), "$"),
        (lambda body: body.update(operationType="sale"), "$"),
        (lambda body: body["amount"].update(amount=150.0), "amount.amount"),
        (lambda body: body["amount"].update(amount=99), "amount.amount"),
        (lambda body: body["amount"].update(currency="EUR"), "amount.currency"),
        (lambda body: body["card"].update(number="4546711234567895"), "card.number"),
        (lambda body: body["card"].update(number="4546 7112 3456 7894"), "card.number"),
        (lambda body: body["card"].update(expireYear="2020"), "card.expireYear"),
        (lambda body: body["card"].update(expireMonth="13"), "card.expireMonth"),
        (lambda body: body["card"].update(cvv="12"), "card.cvv"),
        (lambda body: body.update(installment=0), "installment"),
        (lambda body: body.update(operationType="Refund"), "operationType"),
    ],
)
async def test_bad_pay_bodies_get_the_400_validation_problem(
    raw: Raw, change: Any, field: str
) -> None:
    """Each bad pay body is a 400 validation_failed problem naming the field, never the card."""
    session_id = await raw.new_session()
    body = pay_body()
    change(body)
    status, headers, answer = await raw.request(
        "POST",
        f"/api/v1/checkout/sessions/{session_id}/pay",
        body=body,
        content_type="application/json; ver=1.0",
    )
    problem = json.loads(answer)
    assert status == 400
    assert headers["Content-Type"] == "application/problem+json"
    assert problem["code"] == "validation_failed"
    assert field in problem["errors"], problem["errors"]
    assert APPROVED not in answer.decode()
    assert len(raw.emu.ledger) == 0


async def test_pay_accepts_operation_type_as_generation_a_integer(raw: Raw) -> None:
    """Generation A types OperationType as enum<integer>: 0 (Sale) is accepted too."""
    session_id = await raw.new_session()
    status, _, _ = await raw.pay(session_id, {**pay_body(), "operationType": 0})
    assert status == 200


async def test_pay_needs_a_json_content_type(raw: Raw) -> None:
    """A pay body sent as text/plain is 415 unsupported_media_type."""
    session_id = await raw.new_session()
    status, _, body = await raw.json(
        "POST",
        f"/api/v1/checkout/sessions/{session_id}/pay",
        body=pay_body(),
        content_type="text/plain",
    )
    assert (status, body["code"]) == (415, "unsupported_media_type")


async def test_pay_with_invalid_json_is_400_invalid_json(raw: Raw) -> None:
    """A body that is not JSON is 400 invalid_json."""
    session_id = await raw.new_session()
    status, _, body = await raw.json(
        "POST", f"/api/v1/checkout/sessions/{session_id}/pay", raw_body=b"{nope"
    )
    assert (status, body["code"]) == (400, "invalid_json")


# --- test cards and the ledger ------------------------------------------------------------


def test_every_test_card_is_luhn_valid() -> None:
    """The documented test cards pass the client's own Luhn check."""
    assert all(luhn_valid(number) for number in TEST_CARDS)
    assert "4546711234567894" in TEST_CARDS


@pytest.mark.parametrize("number", sorted(TEST_CARDS))
async def test_test_cards_decide_the_outcome(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient, number: str
) -> None:
    """Each test card gets its documented answer, and the ledger records it."""
    expected = TEST_CARDS[number]
    session_id = await _session(payven_client)
    if expected.approved:
        result = await payven_client.pay(session_id, pay_request(number))
        assert result.status == "completed"
        transaction_id = result.transaction_id
    else:
        with pytest.raises(PaymentDeclinedError) as caught:
            await payven_client.pay(session_id, pay_request(number))
        assert caught.value.code == expected.error_code
        assert caught.value.provider_error_code == expected.provider_error_code
        assert caught.value.result is not None
        transaction_id = caught.value.result.transaction_id
    record = payven_emulator.ledger.payments[transaction_id or ""]
    assert record.is_success is expected.approved
    assert record.error_code == expected.error_code


async def test_any_other_luhn_valid_card_is_approved(payven_client: PayvenClient) -> None:
    """A Luhn-valid number outside the table (here a Mastercard) is approved."""
    session_id = await _session(payven_client)
    result = await payven_client.pay(session_id, pay_request("5105105105105100"))
    assert result.is_success


async def test_query_returns_what_the_pay_charged(payven_client: PayvenClient) -> None:
    """The query's internal record is the charge: amount, card mask, auth code, status."""
    session_id = await _session(payven_client, amount=24990)
    result = await payven_client.pay(
        session_id, pay_request(amount=24990, external_id="ORDER-7", installment=1)
    )
    query = await payven_client.query(result.transaction_id or "")
    assert query.transaction_id == result.transaction_id
    assert query.is_success
    assert query.external_query_available
    assert query.internal is not None
    assert query.external is not None
    assert (query.internal.amount, query.internal.currency) == (24990, "TRY")
    assert query.internal.masked_card_number == "454671******7894"
    assert query.internal.auth_code == result.extra_properties["auth_code"]
    assert (query.internal.status, query.external.status) == ("completed", "approved")
    assert query.internal.captured_amount == 24990


async def test_a_declined_payment_is_queryable(payven_client: PayvenClient) -> None:
    """A declined attempt is in the ledger too, failed, with its codes."""
    session_id = await _session(payven_client)
    with pytest.raises(PaymentDeclinedError) as caught:
        await payven_client.pay(session_id, pay_request(INSUFFICIENT))
    assert caught.value.result is not None
    query = await payven_client.query(caught.value.result.transaction_id or "")
    assert query.internal is not None
    assert query.external is not None
    assert (query.status, query.is_success) == ("failed", False)
    assert query.internal.error_code == "insufficient_funds"
    assert query.external.error_code == "51"


async def test_get_payment_answers_payment_status(raw: Raw) -> None:
    """GET /payments/{id} answers the generation-B PaymentStatusDto of the charge."""
    session_id = await raw.new_session()
    _, _, paid = await raw.pay(session_id, pay_body(basket_id="B-1"))
    transaction_id = json.loads(paid)["data"]["transactionId"]
    status, headers, body = await raw.json("GET", f"/api/v1/payments/{transaction_id}")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert (body["transaction_id"], body["amount"], body["currency"]) == (
        transaction_id,
        15000,
        "TRY",
    )
    assert (body["basket_id"], body["is3_d_secure"]) == ("B-1", False)


async def test_unknown_transaction_is_404_payment_not_found(raw: Raw) -> None:
    """Query and get of an unknown transaction are 404 payment_not_found."""
    for path in (
        "/api/v1/payments/3c90c3cc-0d44-4b50-8888-8dd25736052a/query",
        "/api/v1/payments/3c90c3cc-0d44-4b50-8888-8dd25736052a",
    ):
        status, _, body = await raw.json("GET", path)
        assert (status, body["code"]) == (404, "payment_not_found")


async def test_the_ledger_keeps_no_card_number_or_cvv(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient
) -> None:
    """Records keep the masked number only; no record, repr or request log holds PAN or CVV."""
    session_id = await _session(payven_client)
    await payven_client.pay(session_id, pay_request())
    record = next(iter(payven_emulator.ledger))
    dumped = repr(record.__dict__ if hasattr(record, "__dict__") else record)
    text = dumped + repr(payven_emulator.ledger.payments) + repr(payven_emulator.requests)
    assert APPROVED not in text
    assert f"'{CVV}'" not in text
    assert record.masked_card_number == "454671******7894"


def test_seed_payments_fills_the_ledger() -> None:
    """seed_payments adds approved payments, declined at the given positions, or given ids."""
    emu = PayvenEmulator()
    ids = emu.seed_payments(5, declined=[1])
    assert len(ids) == len(set(ids)) == 5
    assert [emu.ledger.payments[i].is_success for i in ids] == [True, False, True, True, True]
    chosen = ["3c90c3cc-0d44-4b50-8888-8dd25736052a"]
    assert emu.seed_payments(ids=chosen) == chosen
    assert chosen[0] in emu.ledger.payments


# --- idempotency --------------------------------------------------------------------------


async def test_same_key_same_body_replays_the_answer(raw: Raw) -> None:
    """The same key and body replay the first answer byte for byte, marked as replayed."""
    session_id = await raw.new_session()
    first = await raw.pay(session_id, pay_body(), key="order-1")
    second = await raw.pay(session_id, pay_body(), key="order-1")
    assert first[0] == second[0] == 200
    assert "Idempotent-Replayed" not in first[1]
    assert second[1]["Idempotent-Replayed"] == "true"
    assert first[2] == second[2]
    assert first[1]["X-Correlation-Id"] != second[1]["X-Correlation-Id"]
    assert len(raw.emu.ledger.charges()) == 1


async def test_same_key_different_body_is_409(raw: Raw) -> None:
    """The same key with a different body is 409 idempotency_key_in_use; nothing is charged."""
    session_id = await raw.new_session()
    await raw.pay(session_id, pay_body(), key="order-2")
    status, _, body = await raw.pay(session_id, pay_body(description="other"), key="order-2")
    assert (status, json.loads(body)["code"]) == (409, "idempotency_key_in_use")
    assert len(raw.emu.ledger) == 1


async def test_client_sees_idempotency_conflict_error(payven_client: PayvenClient) -> None:
    """The client maps the 409 to IdempotencyConflictError."""
    session_id = await _session(payven_client)
    await payven_client.pay(session_id, pay_request(), idempotency_key="k")
    with pytest.raises(IdempotencyConflictError):
        await payven_client.pay(session_id, pay_request(external_id="x"), idempotency_key="k")


async def test_a_rejected_body_does_not_use_up_the_key(raw: Raw) -> None:
    """A 400 body leaves its key free: the corrected body with the same key is charged."""
    session_id = await raw.new_session()
    bad = pay_body()
    bad["card"]["cvv"] = "1"
    assert (await raw.pay(session_id, bad, key="order-3"))[0] == 400
    status, headers, _ = await raw.pay(session_id, pay_body(), key="order-3")
    assert status == 200
    assert "Idempotent-Replayed" not in headers


async def test_a_decline_is_replayed_too(raw: Raw) -> None:
    """A declined answer is stored under its key: a retry replays the decline, one attempt."""
    session_id = await raw.new_session()
    first = await raw.pay(session_id, pay_body(INSUFFICIENT), key="order-4")
    second = await raw.pay(session_id, pay_body(INSUFFICIENT), key="order-4")
    assert first[2] == second[2]
    assert raw.emu.ledger.sessions[session_id].attempt_count == 1


async def test_concurrent_duplicates_charge_once(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient
) -> None:
    """Five concurrent pays with one key: one charge, five identical results."""
    session_id = await _session(payven_client)
    results = await asyncio.gather(
        *(payven_client.pay(session_id, pay_request(), idempotency_key="same") for _ in range(5))
    )
    assert len({result.transaction_id for result in results}) == 1
    assert len(payven_emulator.ledger.charges()) == 1
    assert payven_emulator.idempotency.replays == 4


async def test_create_session_is_idempotent(raw: Raw) -> None:
    """Creating a session twice with one key gives the same session, replayed."""
    body = {"amount": 15000, "currency": "TRY"}
    headers = {"Idempotency-Key": "session-1"}
    first = await raw.json("POST", "/api/v1/checkout/sessions", body=body, headers=headers)
    second = await raw.json("POST", "/api/v1/checkout/sessions", body=body, headers=headers)
    assert first[0] == second[0] == 201
    assert first[2] == second[2]
    assert second[1]["Idempotent-Replayed"] == "true"
    assert len(raw.emu.ledger.sessions) == 1


async def test_keys_expire_after_a_day(raw: Raw) -> None:
    """After 24 hours (emulator time) a key may be reused for a new request."""
    session_id = await raw.new_session()
    await raw.pay(session_id, pay_body(), key="order-5")
    raw.emu.clock.advance(24 * 3600 + 1)
    await raw.get_token()
    other = await raw.new_session()
    status, headers, _ = await raw.pay(other, pay_body(), key="order-5")
    assert status == 200
    assert "Idempotent-Replayed" not in headers


# --- rate limits and correlation ids -------------------------------------------------------


async def test_every_answer_carries_rate_limit_headers(raw: Raw) -> None:
    """X-RateLimit-Limit/Remaining/Reset are on successes and errors alike."""
    for path in ("/api/v1/payments/x/query", f"/api/v1/auth/{raw.emu.slug}/token"):
        _, headers, _ = await raw.request("GET", path)
        assert headers["X-RateLimit-Limit"] == "10000"
        assert int(headers["X-RateLimit-Remaining"]) >= 0
        assert int(headers["X-RateLimit-Reset"]) > 0


async def test_past_the_rate_the_answer_is_429_with_retry_after(raw: Raw) -> None:
    """With the clock frozen, the request past the limit is 429 rate_limit_exceeded."""
    await raw.get_token()
    raw.emu.clock.freeze()
    raw.emu.clock.advance(1)  # a fresh one-second window that never rolls over
    raw.emu.rate_limit = 3
    answers = [await raw.json("GET", "/api/v1/payments/x/query") for _ in range(4)]
    statuses = [status for status, _, _ in answers]
    assert statuses == [404, 404, 404, 429]
    _status, headers, body = answers[-1]
    assert body["code"] == "rate_limit_exceeded"
    assert int(headers["Retry-After"]) >= 1
    assert headers["X-RateLimit-Remaining"] == "0"
    assert raw.emu.requests[-1].route == "query"


async def test_client_gets_rate_limit_error(payven_emulator: PayvenEmulator) -> None:
    """Without retries the client raises RateLimitError carrying Retry-After."""
    async with payven_emulator.client(max_retries=0) as client:
        await client.token()
        payven_emulator.clock.freeze()
        payven_emulator.clock.advance(1)
        payven_emulator.rate_limit = 1
        with pytest.raises(NotFoundError):
            await client.get_checkout_session("whatever")
        with pytest.raises(RateLimitError) as caught:
            await client.get_checkout_session("whatever")
    assert caught.value.retry_after is not None
    assert caught.value.retry_after >= 1


async def test_rate_limit_none_turns_limits_and_headers_off() -> None:
    """rate_limit=None: no X-RateLimit headers, never a 429."""
    async with (
        PayvenEmulator(rate_limit=None) as emu,
        aiohttp.ClientSession() as http,
        http.get(f"{emu.url}/api/v1/checkout/sessions/x") as response,
    ):
        assert "X-RateLimit-Limit" not in response.headers
        assert response.status == 404


async def test_every_answer_carries_a_correlation_id(raw: Raw) -> None:
    """X-Correlation-Id is on every answer, and equals the problem's correlation_id."""
    raw.emu.faults.fail_next("query", status=500)
    cases = [
        ("GET", "/api/v1/health"),
        ("GET", "/api/v1/payments/x/query"),  # injected 500
        ("GET", "/api/v1/payments/x/query"),  # 404
        ("GET", "/no/such/route"),
        ("DELETE", "/api/v1/checkout/sessions"),
    ]
    seen = set()
    for method, path in cases:
        status, headers, body = await raw.request(method, path)
        correlation_id = headers["X-Correlation-Id"]
        seen.add(correlation_id)
        if status >= 400:
            problem = json.loads(body)
            assert problem["correlation_id"] == correlation_id, path
            assert problem["status"] == status
    assert len(seen) == len(cases)


async def test_a_sent_correlation_id_is_echoed(raw: Raw) -> None:
    """A well-formed X-Correlation-Id from the caller comes back unchanged."""
    _, headers, _ = await raw.request(
        "GET", "/api/v1/health", headers={"X-Correlation-Id": "trace-42"}
    )
    assert headers["X-Correlation-Id"] == "trace-42"


# --- faults -------------------------------------------------------------------------------


async def test_fail_next_answers_the_status_and_does_nothing(raw: Raw) -> None:
    """A scripted 503 on pay answers a problem with Retry-After and charges nothing."""
    session_id = await raw.new_session()
    raw.emu.faults.fail_next("pay", status=503)
    status, headers, body = await raw.pay(session_id, pay_body(), key="k")
    assert (status, json.loads(body)["code"]) == (503, "service_unavailable")
    assert headers["Retry-After"] == "1"
    assert len(raw.emu.ledger) == 0
    assert (await raw.pay(session_id, pay_body(), key="k"))[0] == 200


async def test_error_rates_pick_from_the_given_statuses() -> None:
    """An error rate of 1 on a route answers one of the configured statuses every time."""
    faults = Faults(error_rates={"get_session": 1.0}, error_statuses=(500, 429), seed=7)
    async with PayvenEmulator(faults=faults) as emu, aiohttp.ClientSession() as http:
        statuses = set()
        for _ in range(20):
            async with http.get(f"{emu.url}/api/v1/checkout/sessions/x") as response:
                statuses.add(response.status)
        async with http.get(f"{emu.url}/api/v1/health") as response:
            assert response.status == 200
    assert statuses == {500, 429}
    assert faults.injected["error"] == 20


async def test_error_rates_are_repeatable_with_a_seed() -> None:
    """The same seed gives the same sequence of injected errors."""

    def sequence() -> list[bool]:
        faults = Faults(error_rates={"*": 0.5}, seed=11)
        return [faults.take("query") is not None for _ in range(50)]

    assert sequence() == sequence()
    assert 0 < sum(sequence()) < 50


async def test_drop_before_the_charge_records_nothing(raw: Raw) -> None:
    """A connection dropped before the work leaves no charge behind."""
    session_id = await raw.new_session()
    raw.emu.faults.drop_next("pay")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await raw.pay(session_id, pay_body(), key="k")
    assert len(raw.emu.ledger) == 0


async def test_drop_after_the_charge_records_it_and_replays_it(raw: Raw) -> None:
    """A connection dropped after the charge: the charge stands, the key replays it."""
    session_id = await raw.new_session()
    raw.emu.faults.drop_next("pay", after_charge=True)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await raw.pay(session_id, pay_body(), key="k")
    assert len(raw.emu.ledger.charges()) == 1
    status, headers, body = await raw.pay(session_id, pay_body(), key="k")
    assert status == 200
    assert headers["Idempotent-Replayed"] == "true"
    transaction_id = json.loads(body)["data"]["transactionId"]
    assert transaction_id in raw.emu.ledger.payments


async def test_malformed_answer_is_invalid_json_after_the_work(raw: Raw) -> None:
    """malform_next cuts the real answer into invalid JSON; the charge was made."""
    session_id = await raw.new_session()
    raw.emu.faults.malform_next("pay")
    status, headers, body = await raw.pay(session_id, pay_body(), key="k")
    assert status == 200
    assert "X-Correlation-Id" in headers
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    assert len(raw.emu.ledger.charges()) == 1


async def test_truncated_answer_breaks_off_mid_body(raw: Raw) -> None:
    """truncate_next announces the full length and closes the connection halfway."""
    await raw.get_token()
    raw.emu.faults.truncate_next("get_session")
    with pytest.raises(aiohttp.ClientPayloadError):
        await raw.request("GET", "/api/v1/checkout/sessions/x")


async def test_latency_delays_but_answers(payven_emulator: PayvenEmulator) -> None:
    """Added latency (global, per route and scripted) still ends in the normal answer."""
    payven_emulator.faults.latency = 0.001
    payven_emulator.faults.route_latency["token"] = 0.001
    payven_emulator.faults.delay_next("token", 0.001)
    async with payven_emulator.client() as client:
        assert (await client.token()).access_token
    assert payven_emulator.faults.injected == {"delay": 1}


async def test_a_delay_past_the_client_timeout_is_a_timeout(
    payven_emulator: PayvenEmulator,
) -> None:
    """A scripted delay longer than the client's timeout surfaces as PayvenTimeoutError."""
    async with payven_emulator.client(max_retries=0, timeout=0.2) as client:
        await client.token()
        payven_emulator.faults.delay_next("get_session", 30)
        with pytest.raises(PayvenTimeoutError):
            await client.get_checkout_session("x")


def test_faults_check_their_arguments() -> None:
    """Unknown routes, rates outside 0..1 and non-error statuses are refused."""
    faults = Faults()
    with pytest.raises(ValueError, match="unknown route"):
        faults.fail_next("refund")
    with pytest.raises(ValueError, match="between 0 and 1"):
        faults.set_error_rate("pay", 1.5)
    with pytest.raises(ValueError, match="error statuses"):
        faults.fail_next("pay", status=404)
    with pytest.raises(ValueError, match="times"):
        faults.drop_next("pay", times=0)


def test_scripted_faults_queue_per_route_and_clear() -> None:
    """Scripted faults are taken in order, per route, and clear() removes them all."""
    faults = Faults()
    faults.drop_next("pay", after_charge=True, times=2)
    faults.malform_next("*")
    assert faults.pending("pay") == 2
    assert faults.pending() == 3
    first = faults.take("pay")
    assert first is not None
    assert first.kind is FaultKind.DROP_AFTER
    other = faults.take("query")
    assert other is not None
    assert other.kind is FaultKind.MALFORMED
    faults.clear()
    assert faults.pending() == 0
    assert faults.take("pay") is None


# --- lifetime, the sync twin, the plugin ---------------------------------------------------


async def test_the_emulator_binds_loopback_only_and_reports_its_url() -> None:
    """The URL is http://127.0.0.1:<port>; a non-loopback host is refused."""
    with pytest.raises(ValueError, match="loopback"):
        PayvenEmulator(host="0.0.0.0")  # noqa: S104 - the point of the test
    emu = PayvenEmulator()
    with pytest.raises(RuntimeError, match="not running"):
        _ = emu.url
    async with emu:
        assert emu.url == f"http://127.0.0.1:{emu.port}"
        assert emu.client_secret not in repr(emu)
    await emu.stop()


def test_sync_emulator_serves_from_a_thread_and_joins_it() -> None:
    """SyncPayvenEmulator answers blocking HTTP, then stops its thread on exit."""
    with SyncPayvenEmulator() as emu:
        with urllib.request.urlopen(f"{emu.url}/api/v1/health") as response:  # noqa: S310
            assert json.loads(response.read()) == {"status": "healthy"}
        body = json.dumps({"client_id": emu.client_id, "client_secret": emu.client_secret}).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback http
            f"{emu.url}/api/v1/auth/{emu.slug}/token",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request) as response:  # noqa: S310
            assert "access_token" in json.loads(response.read())
        assert emu.calls["token"] == 1
    assert not [t for t in threading.enumerate() if t.name == "payven-emulator"]


def test_sync_emulator_client_is_a_payven_sync_client() -> None:
    """SyncPayvenEmulator.client() gives a blocking payven_sync.PayvenClient pointed at it."""
    payven_sync = pytest.importorskip("payven_sync")
    if not hasattr(payven_sync, "PayvenClient"):
        pytest.skip("payven_sync.PayvenClient is not available yet")
    with SyncPayvenEmulator() as emu, emu.client() as client:
        assert isinstance(client, payven_sync.PayvenClient)
        session = client.create_checkout_session(CheckoutSessionRequest(amount=15000))
        result = client.pay(session.session_id, pay_request())
        assert client.query(result.transaction_id).internal.amount == 15000


def test_the_sync_emulators_clock_drives_its_clients_token_clock() -> None:
    """The sync emulator's client renews when the emulator's clock passes its renewal
    point: one refresh, no 401."""
    with SyncPayvenEmulator() as emu, emu.client() as client:
        (transaction_id,) = emu.seed_payments(1)
        client.query(transaction_id)
        emu.clock.advance(241)
        client.query(transaction_id)
        assert (emu.calls["token"], emu.calls["refresh"], emu.calls["query"]) == (1, 1, 2)


async def test_plugin_fixtures_give_a_running_emulator_and_client(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient
) -> None:
    """payven_client talks to payven_emulator, with its credentials."""
    assert payven_client.config.vpos_url == payven_emulator.url
    await payven_client.token()
    assert payven_emulator.calls["token"] == 1


class TestEmulatorOptions:
    """Overriding payven_emulator_options configures the fixture's emulator."""

    @pytest.fixture
    def payven_emulator_options(self) -> dict[str, Any]:
        """A short token lifetime for these tests."""
        return {"token_ttl": 42, "slug": "acme"}

    async def test_options_reach_the_emulator(self, payven_client: PayvenClient) -> None:
        """The emulator behind payven_client was built with the overridden options."""
        token = await payven_client.token()
        assert token.expires_in == 42
        assert payven_client.config.slug == "acme"


def test_sync_fixtures_work(payven_sync_emulator: SyncPayvenEmulator) -> None:
    """payven_sync_emulator is a running SyncPayvenEmulator."""
    with urllib.request.urlopen(f"{payven_sync_emulator.url}/api/v1/health") as response:  # noqa: S310
        assert response.status == 200


async def test_the_checkout_url_serves_a_stand_in_page(raw: Raw) -> None:
    """The session's checkout_url answers a small HTML page naming the session."""
    status, _, created = await raw.json(
        "POST", "/api/v1/checkout/sessions", body={"amount": 15000, "currency": "TRY"}
    )
    assert status == 201
    async with raw.http.get(created["checkout_url"]) as response:
        page = await response.text()
        assert response.status == 200
        assert response.content_type == "text/html"
    assert created["session_id"] in page
    assert "150,00 TRY" in page


def test_the_plugin_works_in_strict_mode(tmp_path: Path) -> None:
    """A fresh project in asyncio strict mode gets the fixtures by naming them (entry point)."""
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import pytest

            @pytest.mark.asyncio
            async def test_pay(payven_emulator, payven_client):
                token = await payven_client.token()
                assert token.access_token
                assert payven_emulator.calls["token"] == 1
            """
        ),
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-W",
            "error",
            "-o",
            "asyncio_mode=strict",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
            "test_user.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


async def test_a_port_in_use_is_an_os_error_and_leaks_nothing() -> None:
    """Binding a port that is taken raises OSError (async and sync), with nothing left open."""
    async with PayvenEmulator() as first:
        with pytest.raises(OSError):  # noqa: PT011 - the errno differs by platform
            await PayvenEmulator(port=first.port).start()
        twin = SyncPayvenEmulator(port=first.port)
        with pytest.raises(OSError):  # noqa: PT011
            twin.start()
    assert not [t for t in threading.enumerate() if t.name == "payven-emulator"]


def test_session_ids_never_look_like_card_numbers() -> None:
    """Session ids are 32 hex digits without a 13-digit run, which redactors would mask."""
    from payven_async.testing._ledger import new_session_id

    ids = [new_session_id() for _ in range(3000)]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert not [i for i in ids if re.search(r"\d{13}", i)]
