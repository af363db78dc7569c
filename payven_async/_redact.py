"""The one place that masks card data and secrets in text leaving the library.

Everything that may end up in a log line, a repr or an exception message and that we
do not fully control (server-supplied ``detail`` texts, raw bodies quoted in errors)
passes through :func:`redact_text`. Model reprs use :func:`mask_pan` directly.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

__all__ = ["REDACTED", "mask_pan", "redact_text"]

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
            ("[^"]*"|'[^']*'|[^\s,;&}]+)
            """
        )
        self.bearer = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
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
    return mask_pan(match.group(0))


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with card numbers, CVVs, secrets, tokens and bearer headers masked.

    ``secrets`` are exact values (a client secret, a token) that must not appear at all.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    patterns = _patterns()
    text = patterns.bearer.sub(rf"\1 {REDACTED}", text)
    text = patterns.jwt.sub(REDACTED, text)
    text = patterns.secret_pair.sub(rf"\1{REDACTED}", text)
    return patterns.pan.sub(_mask_pan_match, text)
