"""The one place that masks card data and secrets in text leaving the library.

Everything that may end up in a log line, a repr or an exception message and that we
do not fully control (server-supplied ``detail`` texts, raw bodies quoted in errors,
the free text of request models' reprs) passes through :func:`redact_text`; decoded
data an exception keeps passes through :func:`redact_data`, which also masks the
values of keys that name card data or a secret. Both take the exact values that must
not appear (the client secret, tokens, and the card number and CVV a request sent,
found by :func:`sent_secrets`).

Error trackers render every frame's locals with ``repr()`` (``capture_locals``), so
tokens and secrets travel inside the library as :class:`SecretText`, a ``str`` that is
what it holds for every use (the socket, JSON, comparisons) except ``repr``; card data
lives in the card (whose repr masks it) and in request bodies, which no repr shows
(``Request``'s hides it, and aiohttp is handed a payload object, not the bytes). The
finished frames an error passed through (decoding, building the error, the JSON
decoder's) are cleared by :func:`scrub`.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import re
from collections.abc import Iterable
from typing import Any

__all__ = [
    "REDACTED",
    "SecretText",
    "mask_pan",
    "redact_data",
    "redact_text",
    "scrub",
    "sent_secrets",
]

REDACTED = "***"


class _Patterns:
    """The redaction regexes, compiled on first use: most processes never redact."""

    def __init__(self) -> None:
        # 13 to 19 digits, optionally grouped by single spaces or dashes, not part of a
        # longer run of digits: the shapes a card number takes in free text.
        self.pan = re.compile(r"(?<![0-9])(?:[0-9][ -]?){12,18}[0-9](?![0-9])")
        # JSON-ish or form-ish key/value pairs whose value is a secret, whatever the
        # spelling.
        self.secret_pair = re.compile(
            r"""(?ix)
            (["']?(?:cvv|cvc|cvv2|client_?secret|clientSecret|access_?token|accessToken|
            refresh_?token|refreshToken|password|secret)["']?\s*[:=]\s*)
            ("[^"]*"|'[^']*'|[^\s,;&})\]]+)
            """
        )
        self.bearer = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
        # A UUID (an idempotency key, a transaction id): never a card number, though
        # its digits may run 13 long across the dashes.
        self.uuid = re.compile(r"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")
        # Three base64url segments: a JWT, wherever it appears.
        self.jwt = re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


@functools.cache
def _patterns() -> _Patterns:
    return _Patterns()


def mask_pan(number: str) -> str:
    """Mask a card number down to its first 6 and last 4 digits: ``454671******7894``.

    Shorter numbers keep only their last 4 digits, and anything with fewer than 8 digits
    is masked completely, so that a mask never reveals most of a short value.
    """
    digits = "".join(ch for ch in number if ch.isdigit())
    if len(digits) >= 13:
        return f"{digits[:6]}{'*' * (len(digits) - 10)}{digits[-4:]}"
    if len(digits) >= 8:
        return f"{'*' * (len(digits) - 4)}{digits[-4:]}"
    return REDACTED


def _mask_pan_match(match: re.Match[str]) -> str:
    start, end = match.span()
    for uuid in _patterns().uuid.finditer(match.string):
        if uuid.start() <= start and end <= uuid.end():
            return match.group(0)  # digits inside an id: left as they are
    return mask_pan(match.group(0))


class SecretText(str):
    """A ``str`` whose repr is masked: a token, the client secret, a card number, a CVV.

    It is the text itself everywhere else (``str()``, formatting, JSON, the HTTP
    header it is sent in): only ``repr()``, which tracebacks with locals and container
    reprs use, hides it.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"'{REDACTED}'"


def _digit_free(secret: str) -> re.Pattern[str]:
    # A short number (a CVV) is masked only where it stands alone: "837", never the
    # "837" inside an amount or an id.
    return re.compile(rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])")


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with card numbers, CVVs, secrets, tokens and bearer headers masked.

    ``secrets`` are exact values (a client secret, a token, the card number and CVV a
    request sent) that must not appear at all; a value of at most four digits (a CVV)
    is masked where it is not part of a longer number.
    """
    for secret in secrets:
        if secret and secret in text:
            if len(secret) <= 4 and secret.isdigit():
                text = _digit_free(secret).sub(REDACTED, text)
            else:
                text = text.replace(secret, REDACTED)
    patterns = _patterns()
    text = patterns.bearer.sub(rf"\1 {REDACTED}", text)
    text = patterns.jwt.sub(REDACTED, text)
    text = patterns.secret_pair.sub(rf"\1{REDACTED}", text)
    return patterns.pan.sub(_mask_pan_match, text)


# Keys whose values are card data or secrets, folded (lower case, no "_" or "-").
_SECRET_KEYS = frozenset(
    {
        "number",
        "cardnumber",
        "pan",
        "cvv",
        "cvc",
        "cvv2",
        "cvc2",
        "securitycode",
        "clientsecret",
        "accesstoken",
        "refreshtoken",
        "password",
        "secret",
        "authorization",
    }
)


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and key.replace("_", "").replace("-", "").lower() in _SECRET_KEYS


def redact_data(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of decoded JSON data fit to keep in an exception or print: every text
    passed through :func:`redact_text`, and the value of every key that names card
    data or a secret (``number``, ``cardNumber``, ``cvv``, ``client_secret``, ...)
    masked whole, whatever its type."""
    secrets = tuple(secrets)
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, dict):
        return {
            key: (
                REDACTED
                if _is_secret_key(key) and isinstance(item, (str, int))
                else redact_data(item, secrets)
            )
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact_data(item, secrets) for item in value]
    return value


def sent_secrets(body: bytes | None) -> tuple[str, ...]:
    """The card data and secrets a JSON request body holds (the values of the keys
    :func:`redact_data` masks), to mask wherever an answer echoes them.

    Only called when a call fails: the usual call never parses what it sent.
    """
    if not body:
        return ()
    try:
        data = json.loads(body)
    except ValueError:
        return ()
    found: list[str] = []
    todo = [data]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if _is_secret_key(key) and isinstance(value, (str, int)) and str(value):
                    found.append(SecretText(value))
                else:
                    todo.append(value)
        elif isinstance(item, list):
            todo += item
    return tuple(found)


_SUSPENDABLE = (
    inspect.CO_GENERATOR
    | inspect.CO_COROUTINE
    | inspect.CO_ITERABLE_COROUTINE
    | inspect.CO_ASYNC_GENERATOR
)


def scrub(error: BaseException) -> None:
    """Clear the locals of every finished frame ``error`` and the exceptions chained to
    it passed through, and the text a JSON error keeps of the document.

    Called where a foreign exception (aiohttp's, the decoder's) becomes a payven one:
    its frames held the request's body, headers or the answer's text, and an error
    tracker would send them all. The frames still running (the caller's) are left, and
    so are those of coroutines and generators: clearing a suspended one's frame would
    close it, and a finished one cannot be told from it; what their locals hold is
    masked by its own repr (:class:`SecretText`, the body's payload).
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        tb = current.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            if not frame.f_code.co_flags & _SUSPENDABLE:
                with contextlib.suppress(RuntimeError):  # still running: the caller's
                    frame.clear()
            tb = tb.tb_next
        if isinstance(current, json.JSONDecodeError):
            current.doc = REDACTED
        todo += [current.__cause__, current.__context__]
