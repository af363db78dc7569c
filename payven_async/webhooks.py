"""Webhooks: verify a delivery's signature and decode its event. No I/O, no framework.

Hand over the raw body bytes and the request headers, get a typed event back::

    event = verify_webhook(body, headers, secret)        # raises WebhookVerificationError
    if event.canonical_type == "payment.completed":
        ...

What is checked, in this order, as Payven documents it:

1. ``X-Payven-Signature`` and ``X-Payven-Timestamp`` are present;
2. the timestamp (Unix seconds) is within ``tolerance`` (300 s) of ``now``, in either
   direction, so that a captured delivery cannot be replayed later;
3. some ``sha256=<hex>`` entry of the signature header equals
   ``hex(HMAC-SHA256(secret, "<timestamp>.<raw body>"))`` for some secret, compared in
   constant time. During a rotation Payven sends ``sha256=<new>,sha256=<old>``; pass
   both of your secrets (a list) while yours rotates;
4. the body decodes into a :class:`WebhookEvent`.

Headers are matched case-insensitively, and ``request.META``-style keys work too
(``HTTP_X_PAYVEN_SIGNATURE``), so any mapping a framework offers will do: aiohttp's
``request.headers``, Starlette's ``request.headers``, Django's ``request.headers`` or
``request.META``.

Delivery is at least once: the same event can arrive more than once (and out of
order), so deduplicate on ``event.id``, and answer 2xx within 15 s.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from ._converters import structure
from ._json import decode_json
from ._redact import redact_text
from .errors import ConfigurationError, DecodeError, WebhookRejection, WebhookVerificationError
from .models import NO_PROBLEMS

__all__ = [
    "DEFAULT_TOLERANCE",
    "DELIVERY_ID_HEADER",
    "EVENT_HEADER",
    "EVENT_ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WebhookEvent",
    "WebhookPaymentData",
    "sign_webhook",
    "verify_webhook",
]

SIGNATURE_HEADER = "X-Payven-Signature"
TIMESTAMP_HEADER = "X-Payven-Timestamp"
EVENT_HEADER = "X-Payven-Event"
EVENT_ID_HEADER = "X-Payven-Event-Id"
DELIVERY_ID_HEADER = "X-Payven-Delivery-Id"

#: Seconds a delivery's timestamp may differ from now, as Payven documents.
DEFAULT_TOLERANCE = 300.0

_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")

# The names of one event across the three documentation generations, mapped to the
# [G]/[B] guide's name (the fact sheet, section 6.11). The product prefix of [C]
# (``sanalpos.payment.completed``) is dropped before this lookup.
_CANONICAL_TYPES = {
    "payment.succeeded": "payment.completed",
    "payment.captured": "capture.completed",
    "payment.voided": "void.completed",
    "payment.threeds.authenticated": "3ds.completed",
    "payment.threeds.failed": "3ds.failed",
    "three_ds.completed": "3ds.completed",
    "three_ds.failed": "3ds.failed",
    "refund.succeeded": "refund.completed",
}
_PRODUCT_PREFIX = "sanalpos."


def _redacted_repr(value: str | None) -> str:
    # The service sends masked numbers; should a full one ever arrive, no repr shows it.
    return repr(value if value is None else redact_text(value))


@attrs.frozen(kw_only=True)
class WebhookPaymentData:
    """The payment an event is about (the event's ``data``, or ``data.object`` in [C]).

    ``amount`` is integer minor units (kuruş), an ``int``; the data is the payment's
    status, whose amount one wire generation types as a double, so a fractional one
    (``150.5``) is the exact ``Decimal`` instead, never a ``float``. Events about
    something else than a payment (a settlement, a test ping) fill what they share and
    keep the rest in ``unknown_fields``. A value of a type its field cannot take is kept
    there too, under its key, and ``decode_problems`` maps the field to what was wrong
    (the field stays ``None``): the delivery is authentic, so it is decoded, not refused.
    """

    transaction_id: str | None = None
    status: str | None = None
    amount: int | Decimal | None = None
    currency: str | None = None
    merchant_id: str | None = None
    provider_transaction_id: str | None = None
    auth_code: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    masked_card_number: str | None = attrs.field(default=None, repr=_redacted_repr)
    card_brand: str | None = None
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)


@attrs.frozen(kw_only=True)
class WebhookEvent:
    """A verified webhook event.

    ``id``, ``type``, ``created_at`` and ``data`` come from the signed body. The three
    ``header_*``/``delivery_id`` values come from the ``X-Payven-Event``,
    ``X-Payven-Event-Id`` and ``X-Payven-Delivery-Id`` headers, which the signature does
    *not* cover: log them, but decide on the body's values.
    """

    id: str
    type: str
    created_at: datetime | None = None
    data: WebhookPaymentData = attrs.field(factory=WebhookPaymentData)
    delivery_id: str | None = None
    header_type: str | None = None
    header_id: str | None = None
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    @property
    def canonical_type(self) -> str:
        """``type`` under the guide's name, whichever documentation generation sent it.

        ``sanalpos.payment.completed`` ([C]) and ``payment.succeeded`` ([B] page) both
        become ``payment.completed``; names without a known synonym are kept as they are.
        """
        name = self.type
        if name.startswith(_PRODUCT_PREFIX):
            name = name[len(_PRODUCT_PREFIX) :]
        return _CANONICAL_TYPES.get(name, name)


@attrs.frozen(kw_only=True)
class _Envelope:
    """The event's own keys, besides ``data``; decoded leniently like every answer."""

    id: str | None = None
    type: str | None = None
    created_at: datetime | None = None
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict)


# --- signing and verifying ---------------------------------------------------------


def _secret_from_env() -> list[str]:
    """``PAYVEN_WEBHOOK_SECRET``: one secret, or several separated by commas (rotation)."""
    value = os.environ.get("PAYVEN_WEBHOOK_SECRET", "")
    secrets = [part.strip() for part in value.split(",") if part.strip()]
    if not secrets:
        raise ConfigurationError("no webhook secret: pass secret= or set PAYVEN_WEBHOOK_SECRET")
    return secrets


def _secrets(secret: str | Sequence[str]) -> list[bytes]:
    keys = [secret] if isinstance(secret, str) else list(secret)
    if not keys or not all(isinstance(key, str) and key for key in keys):
        # Never echo the value: it is a secret.
        raise ConfigurationError("the webhook secret must be a non-empty string, or a list of them")
    return [key.encode() for key in keys]


def _signature(key: bytes, timestamp: str, body: bytes) -> bytes:
    return (
        hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest().encode()
    )


def sign_webhook(
    body: bytes, secret: str | Sequence[str], timestamp: int | None = None
) -> dict[str, str]:
    """The ``X-Payven-Signature`` and ``X-Payven-Timestamp`` headers Payven would send.

    For your own tests (and the emulator's deliveries). ``timestamp`` is Unix seconds,
    now by default. Several secrets give a rotation header, ``sha256=<a>,sha256=<b>``.
    """
    if not isinstance(body, bytes):
        raise TypeError("sign the raw body bytes, exactly as they will be sent")
    stamp = str(int(time.time()) if timestamp is None else int(timestamp))
    signatures = ",".join(
        "sha256=" + _signature(key, stamp, body).decode() for key in _secrets(secret)
    )
    return {SIGNATURE_HEADER: signatures, TIMESTAMP_HEADER: stamp}


def _header_values(headers: Mapping[Any, Any]) -> dict[str, list[str]]:
    """Our five headers' values, by lower-case name, whatever the key spelling.

    ``X-Payven-Signature``, ``x-payven-signature`` and ``HTTP_X_PAYVEN_SIGNATURE``
    (WSGI's ``request.META``) are the same header. A header sent twice keeps both values.
    """
    wanted = {
        name.lower()
        for name in (
            SIGNATURE_HEADER,
            TIMESTAMP_HEADER,
            EVENT_HEADER,
            EVENT_ID_HEADER,
            DELIVERY_ID_HEADER,
        )
    }
    found: dict[str, list[str]] = {}
    for key, value in headers.items():
        if not isinstance(key, str) or not isinstance(value, str):
            continue  # request.META also holds the WSGI environment's objects
        name = key.lower().replace("_", "-")
        if name.startswith("http-"):
            name = name[len("http-") :]
        if name in wanted:
            found.setdefault(name, []).append(value)
    return found


def _reject(
    message: str, reason: WebhookRejection, header: str | None = None
) -> WebhookVerificationError:
    return WebhookVerificationError(f"webhook rejected: {message}", reason=reason, header=header)


def _timestamp(values: list[str] | None) -> tuple[str, int]:
    if not values:
        raise _reject(f"no {TIMESTAMP_HEADER} header", "missing_header", TIMESTAMP_HEADER)
    texts = {value.strip() for value in values}
    if len(texts) != 1:
        raise _reject(
            f"several different {TIMESTAMP_HEADER} values", "bad_timestamp", TIMESTAMP_HEADER
        )
    (text,) = texts
    if not _UNIX_SECONDS.fullmatch(text):
        raise _reject(
            f"{TIMESTAMP_HEADER} is not whole Unix seconds", "bad_timestamp", TIMESTAMP_HEADER
        )
    return text, int(text)


def _candidates(values: list[str] | None) -> list[bytes]:
    """Every well-formed ``sha256=<hex>`` entry of the signature header(s), lower-cased."""
    if not values:
        raise _reject(f"no {SIGNATURE_HEADER} header", "missing_header", SIGNATURE_HEADER)
    found = []
    for value in values:
        for entry in value.split(","):
            scheme, sep, digest = entry.strip().partition("=")
            digest = digest.strip()
            # Other schemes are skipped, not fatal: a future header may carry several.
            if sep and scheme.strip().lower() == "sha256" and _HEX_SHA256.fullmatch(digest):
                found.append(digest.lower().encode("ascii"))
    if not found:
        raise _reject(
            f"{SIGNATURE_HEADER} holds no sha256=<hex> signature",
            "malformed_signature",
            SIGNATURE_HEADER,
        )
    return found


def verify_webhook(
    body: bytes,
    headers: Mapping[str, str],
    secret: str | Sequence[str] | None = None,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> WebhookEvent:
    """Verify a webhook delivery and decode its event.

    :param body: the raw request body, byte for byte as received (``await
        request.read()``, ``await request.body()``, ``request.body``): never re-encoded
        JSON, whose bytes would differ.
    :param headers: the request headers, any mapping; names match case-insensitively and
        ``request.META``-style ``HTTP_X_PAYVEN_*`` keys work too.
    :param secret: the endpoint's signing secret (``whsec_…``, used as UTF-8 text), or
        several while a secret rotates: any one of them matching is enough. When it
        is None, the ``PAYVEN_WEBHOOK_SECRET`` environment variable is read (several
        secrets separated by commas); neither is a :class:`ConfigurationError`.
    :param tolerance: seconds the ``X-Payven-Timestamp`` may lie before or after ``now``.
    :param now: the current Unix time; ``time.time()`` by default.
    :returns: the event, its ``data`` decoded whether flat or nested under ``object``.
    :raises WebhookVerificationError: with a ``reason`` code; answer such a request 400.
    """
    if not isinstance(body, bytes):
        raise TypeError("verify the raw body bytes, exactly as received (not a str or a dict)")
    if tolerance < 0:
        raise ValueError("tolerance must be >= 0 seconds")
    if secret is None:
        secret = _secret_from_env()
    keys = _secrets(secret)
    found = _header_values(headers)
    candidates = _candidates(found.get(SIGNATURE_HEADER.lower()))
    stamp_text, stamp = _timestamp(found.get(TIMESTAMP_HEADER.lower()))

    age = (time.time() if now is None else now) - stamp
    if age > tolerance:
        raise _reject(
            f"{TIMESTAMP_HEADER} is {age:.0f} s old (tolerance {tolerance:g} s)",
            "timestamp_too_old",
            TIMESTAMP_HEADER,
        )
    if -age > tolerance:
        raise _reject(
            f"{TIMESTAMP_HEADER} is {-age:.0f} s in the future (tolerance {tolerance:g} s)",
            "timestamp_in_future",
            TIMESTAMP_HEADER,
        )

    matched = False
    for key in keys:
        expected = _signature(key, stamp_text, body)
        for candidate in candidates:
            # Every pair is compared, in constant time each: no early exit to time.
            if hmac.compare_digest(expected, candidate):
                matched = True
    if not matched:
        raise _reject("no signature matches the secret(s)", "signature_mismatch", SIGNATURE_HEADER)

    def header(name: str) -> str | None:
        values = found.get(name.lower())
        return values[0].strip() if values else None

    return _decode_event(
        body,
        delivery_id=header(DELIVERY_ID_HEADER),
        header_type=header(EVENT_HEADER),
        header_id=header(EVENT_ID_HEADER),
    )


def _decode_event(
    body: bytes, *, delivery_id: str | None, header_type: str | None, header_id: str | None
) -> WebhookEvent:
    try:
        payload = decode_json(body)
        if type(payload) is not dict:
            raise DecodeError("the event is not a JSON object")
        rest = {key: value for key, value in payload.items() if key != "data"}
        envelope = structure(rest, _Envelope)
        data = _decode_data(payload.get("data"))
    except DecodeError as error:
        raise _reject(f"the body is not a Payven event ({error})", "malformed_body") from error
    if not envelope.id:
        raise _reject("the event has no 'id'", "malformed_body")
    if not envelope.type:
        raise _reject("the event has no 'type'", "malformed_body")
    return WebhookEvent(
        id=envelope.id,
        type=envelope.type,
        created_at=envelope.created_at,
        data=data,
        delivery_id=delivery_id,
        header_type=header_type,
        header_id=header_id,
        unknown_fields=envelope.unknown_fields,
    )


def _decode_data(data: Any) -> WebhookPaymentData:
    """``data`` as [G]/[B] send it (the payment itself) or as [C] does (``data.object``)."""
    if data is None:
        return WebhookPaymentData()
    if type(data) is not dict:
        raise DecodeError("the event's data is not a JSON object")
    inner = data.get("object")
    if type(inner) is dict:
        decoded = structure(inner, WebhookPaymentData)
        # Keys beside ``object`` (e.g. previous values) are kept, not dropped.
        siblings = {key: value for key, value in data.items() if key != "object"}
        if siblings:
            decoded = attrs.evolve(decoded, unknown_fields={**decoded.unknown_fields, **siblings})
        return decoded
    return structure(data, WebhookPaymentData)
