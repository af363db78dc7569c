"""The suite-wide leak guard recognises each kind of secret it is meant to catch."""

from __future__ import annotations

import pytest

from .conftest import leaks
from .fake_server import CLIENT_SECRET, make_jwt


@pytest.mark.parametrize(
    "text",
    [
        "card 4546711234567894 declined",
        '{"cvv": "000"}',
        f"secret was {CLIENT_SECRET}",
        f"token {make_jwt(1_800_000_000)}",
        "used access-3 for the call",
        "Authorization: Bearer abc",
    ],
)
def test_guard_flags_secret_data(text: str) -> None:
    """Card numbers, CVV pairs, the secret, JWTs, fake tokens and bearer values are flagged."""
    assert leaks(text)


@pytest.mark.parametrize(
    "text",
    [
        "card 454671******7894 declined",
        "GET /api/v1/payments/3c90c3cc-0d44-4b50-8888-8dd25736052a/query -> 200",
        "amount 15000 at 2026-11-22T10:00:00Z, order 1234567890123 (not Luhn-valid)",
        "Authorization: Bearer ***",
    ],
)
def test_guard_leaves_safe_text_alone(text: str) -> None:
    """Masked numbers, ids, amounts and masked headers are not flagged."""
    assert leaks(text) == []
