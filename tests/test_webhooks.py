"""Webhook verification and decoding: signatures, timestamps, rotation, headers, envelopes."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from multidict import CIMultiDict

import payven_async
import payven_sync
from payven_async import (
    ConfigurationError,
    PayvenError,
    WebhookEvent,
    WebhookPaymentData,
    WebhookVerificationError,
    sign_webhook,
    verify_webhook,
    webhooks as webhooks_module,
)

SECRET = "whsec_current_0a1b2c3d"
OLD_SECRET = "whsec_previous_9z8y7x"
NOW = 1_800_000_000
STAMP = NOW - 5

EVENT_B: dict[str, Any] = {
    "id": "evt_01HZX3",
    "type": "payment.completed",
    "created_at": "2027-01-15T08:00:00.123+00:00",
    "data": {
        "transaction_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
        "status": "completed",
        "amount": 15000,
        "currency": "TRY",
        "merchant_id": "MRC-1",
        "provider_transaction_id": "PRV-1",
        "auth_code": "123456",
        "error_code": None,
        "error_message": None,
        "masked_card_number": "454671******7894",
        "card_brand": "Visa",
    },
}


def encode(payload: Any) -> bytes:
    """A body as the service would send it: compact JSON bytes."""
    return json.dumps(payload, separators=(",", ":")).encode()


BODY = encode(EVENT_B)


def signed(
    body: bytes = BODY, secret: str | list[str] = SECRET, stamp: int = STAMP
) -> dict[str, str]:
    """The delivery headers for ``body``: signature, timestamp, event and delivery ids."""
    return {
        **sign_webhook(body, secret, stamp),
        "X-Payven-Event": "payment.completed",
        "X-Payven-Event-Id": "evt_01HZX3",
        "X-Payven-Delivery-Id": "dlv_42",
    }


def hex_signature(secret: str, stamp: int, body: bytes) -> str:
    """The documented signature, computed independently of the library."""
    message = f"{stamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def reject(
    body: bytes, headers: Any, secret: Any = SECRET, **kwargs: Any
) -> WebhookVerificationError:
    """The WebhookVerificationError a delivery raises (fails the test if it verifies)."""
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(body, headers, secret, now=kwargs.pop("now", NOW), **kwargs)
    return caught.value


# --- signatures -----------------------------------------------------------------------


def test_valid_delivery_yields_a_typed_event() -> None:
    """A correctly signed delivery decodes into a WebhookEvent with typed payment data."""
    event = verify_webhook(BODY, signed(), SECRET, now=NOW)
    assert isinstance(event, WebhookEvent)
    assert event.id == "evt_01HZX3"
    assert event.type == "payment.completed"
    assert event.created_at == datetime(2027, 1, 15, 8, 0, 0, 123000, tzinfo=timezone.utc)
    assert event.data == WebhookPaymentData(
        transaction_id="3c90c3cc-0d44-4b50-8888-8dd25736052a",
        status="completed",
        amount=15000,
        currency="TRY",
        merchant_id="MRC-1",
        provider_transaction_id="PRV-1",
        auth_code="123456",
        masked_card_number="454671******7894",
        card_brand="Visa",
    )


def test_sign_webhook_matches_the_documented_scheme() -> None:
    """sign_webhook gives sha256=<lowercase hex HMAC of "<ts>.<body>"> and the timestamp."""
    headers = sign_webhook(BODY, SECRET, STAMP)
    assert headers == {
        "X-Payven-Signature": f"sha256={hex_signature(SECRET, STAMP, BODY)}",
        "X-Payven-Timestamp": str(STAMP),
    }


def test_sign_webhook_with_several_secrets_gives_a_rotation_header() -> None:
    """Two secrets give 'sha256=<new>,sha256=<old>', in the order given."""
    header = sign_webhook(BODY, [SECRET, OLD_SECRET], STAMP)["X-Payven-Signature"]
    assert header == (
        f"sha256={hex_signature(SECRET, STAMP, BODY)},"
        f"sha256={hex_signature(OLD_SECRET, STAMP, BODY)}"
    )


def test_wrong_secret_is_a_signature_mismatch() -> None:
    """A delivery signed with another secret is rejected as signature_mismatch."""
    error = reject(BODY, signed(secret="whsec_someone_else"))
    assert error.reason == "signature_mismatch"
    assert error.header == "X-Payven-Signature"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body: body.replace(b"15000", b"15001"),
        lambda body: body + b" ",
        lambda body: body.replace(b'"completed"', b'"COMPLETED"', 1),
    ],
    ids=["amount", "trailing-space", "status"],
)
def test_tampered_body_is_a_signature_mismatch(tamper: Callable[[bytes], bytes]) -> None:
    """Any change to the body, even whitespace, breaks the signature."""
    error = reject(tamper(BODY), signed())
    assert error.reason == "signature_mismatch"


def test_a_signature_for_another_timestamp_does_not_verify() -> None:
    """The timestamp is signed: moving it (to dodge the replay window) breaks the signature."""
    headers = signed()
    headers["X-Payven-Timestamp"] = str(STAMP + 1)
    assert reject(BODY, headers).reason == "signature_mismatch"


def test_uppercase_hex_signature_is_accepted() -> None:
    """Hex digits compare case-insensitively: an uppercase digest still verifies."""
    headers = signed()
    headers["X-Payven-Signature"] = (
        headers["X-Payven-Signature"].upper().replace("SHA256", "sha256")
    )
    assert verify_webhook(BODY, headers, SECRET, now=NOW).id == "evt_01HZX3"


# --- timestamps -----------------------------------------------------------------------


def test_timestamp_exactly_at_the_tolerance_is_accepted_both_ways() -> None:
    """A timestamp 300 s old, or 300 s ahead, is still inside the window."""
    for stamp in (NOW - 300, NOW + 300):
        assert verify_webhook(BODY, signed(stamp=stamp), SECRET, now=NOW).id == "evt_01HZX3"


def test_timestamp_one_second_too_old_is_rejected() -> None:
    """301 s old is a replay: timestamp_too_old, even though the signature is valid."""
    error = reject(BODY, signed(stamp=NOW - 301))
    assert error.reason == "timestamp_too_old"
    assert error.header == "X-Payven-Timestamp"


def test_timestamp_one_second_too_far_ahead_is_rejected() -> None:
    """301 s in the future is rejected as timestamp_in_future."""
    assert reject(BODY, signed(stamp=NOW + 301)).reason == "timestamp_in_future"


def test_tolerance_is_configurable() -> None:
    """A tighter tolerance rejects what the default accepts, and a looser one accepts more."""
    headers = signed(stamp=NOW - 60)
    assert reject(BODY, headers, tolerance=30).reason == "timestamp_too_old"
    assert verify_webhook(BODY, signed(stamp=NOW - 3600), SECRET, tolerance=7200, now=NOW)


def test_now_defaults_to_the_wall_clock() -> None:
    """Without now=, a freshly signed delivery verifies and an hour-old one does not."""
    fresh = sign_webhook(BODY, SECRET)
    assert verify_webhook(BODY, fresh, SECRET).id == "evt_01HZX3"
    stale = sign_webhook(BODY, SECRET, int(fresh["X-Payven-Timestamp"]) - 3600)
    with pytest.raises(WebhookVerificationError, match="old"):
        verify_webhook(BODY, stale, SECRET)


def test_negative_tolerance_is_refused() -> None:
    """A negative tolerance is a programming error, not a verification failure."""
    with pytest.raises(ValueError, match="tolerance"):
        verify_webhook(BODY, signed(), SECRET, tolerance=-1, now=NOW)


# --- rotation -------------------------------------------------------------------------


@pytest.mark.parametrize("known", [SECRET, OLD_SECRET])
def test_rotation_header_verifies_with_either_secret(known: str) -> None:
    """'sha256=<new>,sha256=<old>' verifies for a receiver knowing only one of the two."""
    headers = signed(secret=[SECRET, OLD_SECRET])
    assert verify_webhook(BODY, headers, known, now=NOW).id == "evt_01HZX3"


def test_receiver_with_two_secrets_accepts_either_signer() -> None:
    """Given [new, old], a delivery signed by either one alone verifies."""
    for signer in (SECRET, OLD_SECRET):
        event = verify_webhook(BODY, signed(secret=signer), [SECRET, OLD_SECRET], now=NOW)
        assert event.id == "evt_01HZX3"


def test_rotation_header_with_spaces_and_unknown_schemes_still_verifies() -> None:
    """Entries are trimmed, and entries of other schemes are skipped rather than fatal."""
    good = hex_signature(OLD_SECRET, STAMP, BODY)
    headers = {
        "X-Payven-Signature": f"v2=abc, sha256={'0' * 64} ,  sha256={good}",
        "X-Payven-Timestamp": str(STAMP),
    }
    assert verify_webhook(BODY, headers, OLD_SECRET, now=NOW).id == "evt_01HZX3"


def test_every_signature_secret_pair_is_compared_in_constant_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Comparisons go through hmac.compare_digest, once per (secret, signature), no early exit."""
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def recording(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    headers = signed(secret=[SECRET, OLD_SECRET])
    verify_webhook(BODY, headers, [SECRET, "whsec_third"], now=NOW)
    assert len(calls) == 4
    assert all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in calls)


def test_the_verdict_is_compare_digest_s(monkeypatch: pytest.MonkeyPatch) -> None:
    """No other equality decides: if compare_digest says no, a valid signature is refused."""
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: False)
    assert reject(BODY, signed()).reason == "signature_mismatch"


# --- headers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spell",
    [
        str.lower,
        str.upper,
        lambda name: "HTTP_" + name.upper().replace("-", "_"),
    ],
    ids=["lower", "upper", "django-META"],
)
def test_header_names_match_in_any_spelling(spell: Callable[[str], str]) -> None:
    """Plain dicts with any casing, and request.META's HTTP_X_PAYVEN_* keys, all work."""
    headers = {spell(name): value for name, value in signed().items()}
    headers["wsgi.input"] = object()  # type: ignore[assignment]  # META holds such values
    event = verify_webhook(BODY, headers, SECRET, now=NOW)
    assert event.delivery_id == "dlv_42"
    assert event.header_type == "payment.completed"
    assert event.header_id == "evt_01HZX3"


def test_multidict_headers_are_accepted() -> None:
    """aiohttp's case-insensitive multidict works as-is."""
    headers = CIMultiDict(signed())
    assert verify_webhook(BODY, headers, SECRET, now=NOW).delivery_id == "dlv_42"


def test_repeated_signature_headers_are_all_considered() -> None:
    """A signature header sent twice (old, then new) is read as one comma-separated list."""
    headers: CIMultiDict[str] = CIMultiDict()
    headers.add("X-Payven-Signature", f"sha256={hex_signature(OLD_SECRET, STAMP, BODY)}")
    headers.add("X-Payven-Signature", f"sha256={hex_signature(SECRET, STAMP, BODY)}")
    headers.add("X-Payven-Timestamp", str(STAMP))
    assert verify_webhook(BODY, headers, SECRET, now=NOW).id == "evt_01HZX3"


def test_conflicting_timestamp_headers_are_rejected() -> None:
    """Two different timestamps cannot both be true: bad_timestamp."""
    headers: CIMultiDict[str] = CIMultiDict(signed())
    headers.add("x-payven-timestamp", str(STAMP + 1))
    assert reject(BODY, headers).reason == "bad_timestamp"


def test_event_and_delivery_headers_are_optional() -> None:
    """Only the signature and timestamp are required; the rest default to None."""
    event = verify_webhook(BODY, sign_webhook(BODY, SECRET, STAMP), SECRET, now=NOW)
    assert (event.delivery_id, event.header_type, event.header_id) == (None, None, None)


def test_body_values_win_over_unsigned_headers() -> None:
    """id and type come from the signed body; the headers are exposed apart, unchanged."""
    headers = signed()
    headers["X-Payven-Event"] = "payment.failed"
    event = verify_webhook(BODY, headers, SECRET, now=NOW)
    assert event.type == "payment.completed"
    assert event.header_type == "payment.failed"


@pytest.mark.parametrize("missing", ["X-Payven-Signature", "X-Payven-Timestamp"])
def test_missing_required_header_is_named(missing: str) -> None:
    """Without the signature or the timestamp: missing_header, naming the header."""
    headers = signed()
    del headers[missing]
    error = reject(BODY, headers)
    assert error.reason == "missing_header"
    assert error.header == missing
    assert missing in str(error)


@pytest.mark.parametrize(
    "stamp", ["", "abc", "1800000000.5", "-1800000000", "1e9", "\uff11\uff12\uff13"]
)
def test_garbled_timestamp_is_bad_timestamp(stamp: str) -> None:
    """A timestamp that is not whole Unix seconds (ASCII digits) is bad_timestamp."""
    headers = signed()
    headers["X-Payven-Timestamp"] = stamp
    assert reject(BODY, headers).reason == "bad_timestamp"


@pytest.mark.parametrize(
    "signature",
    ["", "sha256=", "sha256=xyz", f"sha256={'a' * 63}", f"sha1={'a' * 40}", "garbage", "ş" * 64],
)
def test_garbled_signature_header_is_malformed_signature(signature: str) -> None:
    """A signature header without any well-formed sha256=<64 hex> entry: malformed_signature."""
    headers = signed()
    headers["X-Payven-Signature"] = signature
    assert reject(BODY, headers).reason == "malformed_signature"


# --- what errors say ------------------------------------------------------------------


def test_errors_never_quote_secrets_signatures_or_the_body() -> None:
    """Neither the secret, nor the expected or received signature, nor the body is in a message."""
    expected = hex_signature(SECRET, STAMP, BODY)
    wrong = signed(secret="whsec_someone_else")
    received = wrong["X-Payven-Signature"].split("=", 1)[1]
    cases = [
        reject(BODY, wrong),
        reject(BODY + b"x", signed()),
        reject(BODY, signed(stamp=NOW - 400)),
        reject(b"not json", signed(b"not json")),
    ]
    for error in cases:
        for text in (str(error), repr(error)):
            for secret_text in (SECRET, expected, received, "15000", "454671"):
                assert secret_text not in text


def test_verification_error_is_a_payven_error_exported_from_both_packages() -> None:
    """`except PayvenError` catches it, and both packages export the very same class."""
    assert issubclass(WebhookVerificationError, PayvenError)
    assert payven_sync.WebhookVerificationError is payven_async.WebhookVerificationError
    assert payven_sync.verify_webhook is payven_async.verify_webhook


@pytest.mark.parametrize("secret", ["", [], [SECRET, ""]])
def test_empty_secret_is_a_configuration_error(secret: Any) -> None:
    """An empty secret, or an empty list of them, is refused before anything is checked."""
    with pytest.raises(ConfigurationError, match="secret"):
        verify_webhook(BODY, signed(), secret, now=NOW)


def test_body_must_be_the_raw_bytes() -> None:
    """A str or a parsed dict is refused: only the raw bytes carry the signed content."""
    with pytest.raises(TypeError, match="raw body"):
        verify_webhook(BODY.decode(), signed(), SECRET, now=NOW)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="raw body"):
        sign_webhook(EVENT_B, SECRET, STAMP)  # type: ignore[arg-type]


# --- decoding -------------------------------------------------------------------------


def verify(payload: Any) -> WebhookEvent:
    """Sign ``payload`` and verify it: decoding tests need valid signatures."""
    body = encode(payload)
    return verify_webhook(body, signed(body), SECRET, now=NOW)


def test_old_generation_camelcase_envelope_decodes() -> None:
    """The camelCase spelling of the same envelope ([G-old] style) decodes to the same data."""
    event = verify(
        {
            "id": "evt_2",
            "type": "payment.failed",
            "createdAt": "2027-01-15T11:00:00+03:00",
            "data": {
                "transactionId": "t-2",
                "status": "failed",
                "amount": 2500,
                "currency": "TRY",
                "errorCode": "insufficient_funds",
                "errorMessage": "Yetersiz bakiye",
                "maskedCardNumber": "454671******0051",
                "cardBrand": "Visa",
            },
        }
    )
    assert event.created_at == datetime(2027, 1, 15, 8, 0, tzinfo=timezone.utc)
    assert event.created_at.utcoffset() == timedelta(hours=3)
    assert event.data.transaction_id == "t-2"
    assert event.data.error_code == "insufficient_funds"
    assert event.data.error_message == "Yetersiz bakiye"
    assert event.data.amount == 2500


def test_generation_c_nests_data_under_object() -> None:
    """[C]'s data.object decodes like flat data; keys beside object are kept, not dropped."""
    event = verify(
        {
            "id": "evt_3",
            "type": "sanalpos.payment.completed",
            "created_at": "2027-01-15T08:00:00Z",
            "data": {"object": dict(EVENT_B["data"]), "previous_attributes": {"status": "x"}},
        }
    )
    assert event.data.transaction_id == "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    assert event.data.amount == 15000
    assert event.data.unknown_fields == {"previous_attributes": {"status": "x"}}
    assert event.canonical_type == "payment.completed"


@pytest.mark.parametrize(
    ("wire", "canonical"),
    [
        ("payment.completed", "payment.completed"),
        ("payment.succeeded", "payment.completed"),
        ("sanalpos.payment.completed", "payment.completed"),
        ("payment.captured", "capture.completed"),
        ("sanalpos.three_ds.failed", "3ds.failed"),
        ("payment.threeds.authenticated", "3ds.completed"),
        ("refund.succeeded", "refund.completed"),
        ("sanalpos.payment.not_completed", "payment.not_completed"),
        ("merchant.webhook_endpoint.test", "merchant.webhook_endpoint.test"),
    ],
)
def test_canonical_type_folds_the_three_generations(wire: str, canonical: str) -> None:
    """Event names of [G], [B] and [C] map to the guide's name; unknown ones pass through."""
    event = WebhookEvent(id="evt", type=wire)
    assert event.type == wire
    assert event.canonical_type == canonical


def test_unknown_fields_are_kept_on_the_event_and_its_data() -> None:
    """Keys the model does not know land in unknown_fields, at both levels."""
    payload = {**EVENT_B, "api_version": "2027-01", "data": {**EVENT_B["data"], "fee": 45}}
    event = verify(payload)
    assert event.unknown_fields == {"api_version": "2027-01"}
    assert event.data.unknown_fields == {"fee": 45}


def test_amounts_are_exact_integers() -> None:
    """Amounts beyond float precision stay exact, and an integral 15000.0 is 15000."""
    big = 2**53 + 1
    event = verify({**EVENT_B, "data": {**EVENT_B["data"], "amount": big}})
    assert event.data.amount == big
    assert type(event.data.amount) is int
    body = BODY.replace(b'"amount":15000', b'"amount":15000.0')
    amount = verify_webhook(body, signed(body), SECRET, now=NOW).data.amount
    assert (amount, type(amount)) == (15000, int)


@pytest.mark.parametrize(
    "wire", [b"150.5", b"0.1", b"15000.25", b"9007199254740993.5", b"1.25e1", b"1.05E1"]
)
def test_a_fractional_amount_verifies_and_is_the_exact_decimal(wire: bytes) -> None:
    """A fractional amount (the payment's status, which one generation types as a double)
    verifies and decodes to the Decimal of its digits exactly: never a float, never
    rounded, never a rejected delivery."""
    body = BODY.replace(b'"amount":15000', b'"amount":' + wire)
    event = verify_webhook(body, signed(body), SECRET, now=NOW)
    assert type(event.data.amount) is Decimal
    assert event.data.amount == Decimal(wire.decode())
    assert event.data.decode_problems == {}


def test_a_fractional_amount_under_data_object_is_the_exact_decimal() -> None:
    """[C]'s data.object carries the amount the same way: the exact Decimal."""
    data = {"object": {**EVENT_B["data"], "amount": 0}}
    body = encode({**EVENT_B, "data": data}).replace(b'"amount":0', b'"amount":1234.56')
    event = verify_webhook(body, signed(body), SECRET, now=NOW)
    assert (event.data.amount, type(event.data.amount)) == (Decimal("1234.56"), Decimal)


@pytest.mark.parametrize(
    ("field", "key", "value"),
    [
        ("amount", "amount", {"value": 150}),
        ("amount", "amount", "a lot"),
        ("amount", "amount", True),
        ("amount", "amount", [15000]),
        ("currency", "currency", ["TRY"]),
        ("auth_code", "authCode", {"code": "123456"}),
    ],
)
def test_a_value_of_an_unexpected_type_is_kept_and_reported(
    field: str, key: str, value: Any
) -> None:
    """An authentic delivery whose data has a value of a type its field cannot take
    verifies, as the answers of the API decode: the value kept in unknown_fields under
    its key, the field named in decode_problems and left None, the rest decoded."""
    data = {k: v for k, v in EVENT_B["data"].items() if k != field}
    event = verify({**EVENT_B, "data": {**data, key: value}})
    assert getattr(event.data, field) is None
    assert event.data.unknown_fields == {key: value}
    assert set(event.data.decode_problems) == {field}
    assert "expected" in event.data.decode_problems[field]
    assert event.data.transaction_id == EVENT_B["data"]["transaction_id"]
    assert (event.id, event.type) == (EVENT_B["id"], EVENT_B["type"])


def test_a_well_typed_delivery_has_no_decode_problems() -> None:
    """The usual delivery places every value: decode_problems is empty, and neither it
    nor unknown_fields is in the repr."""
    event = verify(EVENT_B)
    assert event.data.decode_problems == {}
    assert event.data.unknown_fields == {}
    assert "decode_problems" not in repr(event)


def test_event_without_data_has_empty_payment_data() -> None:
    """An event with no (or null) data, like a test ping, decodes with an empty data."""
    for data in ({}, {"data": None}):
        event = verify({"id": "evt_4", "type": "merchant.webhook_endpoint.test", **data})
        assert event.data == WebhookPaymentData()
        assert event.created_at is None


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        encode({"type": "payment.completed", "data": {}}),
        encode({"id": "evt_5", "data": {}}),
        encode({"id": "evt_5", "type": "", "data": {}}),
        encode({"id": "evt_5", "type": "payment.completed", "data": [1]}),
        encode({"id": "evt_5", "type": "payment.completed", "created_at": "yesterday"}),
    ],
    ids=["not-json", "array", "no-id", "no-type", "empty-type", "data-list", "bad-date"],
)
def test_authentic_but_undecodable_body_is_malformed_body(body: bytes) -> None:
    """A correctly signed body that is not a Payven event: malformed_body."""
    assert reject(body, signed(body)).reason == "malformed_body"


def test_a_full_card_number_never_reaches_the_repr() -> None:
    """Should a full card number ever arrive, the data's repr masks it."""
    event = verify(
        {**EVENT_B, "data": {**EVENT_B["data"], "masked_card_number": "4546711234567894"}}
    )
    assert "4546711234567894" not in repr(event)
    assert "454671******7894" in repr(event)


def test_importing_the_package_does_not_load_the_webhook_module() -> None:
    """payven_async loads webhooks on first use only, keeping the import-time budget."""
    code = (
        "import sys, payven_async; assert 'payven_async.webhooks' not in sys.modules; "
        "from payven_async import verify_webhook; assert 'payven_async.webhooks' in sys.modules"
    )
    # Our own interpreter running a literal program: nothing untrusted reaches it.
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr


def test_module_exports_are_public_and_resolve() -> None:
    """Everything payven_async.webhooks lists in __all__ exists."""
    for name in webhooks_module.__all__:
        assert hasattr(webhooks_module, name), name
