"""Redaction: card numbers, CVVs, secrets, tokens and bearer headers are masked."""

from __future__ import annotations

import pytest

from payven_async._redact import mask_pan, redact_text


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("4546711234567894", "454671******7894"),
        ("5500000000000004", "550000******0004"),
        ("4546 7112 3456 7894", "454671******7894"),
        ("1234567890123456789", "123456*********6789"),
        ("12345678", "****5678"),
        ("1234", "***"),
    ],
)
def test_mask_pan_keeps_first_six_and_last_four(number: str, masked: str) -> None:
    """Card numbers keep at most the first 6 and last 4 digits."""
    assert mask_pan(number) == masked


def test_redact_text_masks_card_numbers_in_free_text() -> None:
    """A card number inside a server message is masked, grouped or not."""
    text = redact_text("card 4546711234567894 and 4546-7112-3456-7894 declined")
    assert "4546711234567894" not in text
    assert "7112" not in text
    assert text.count("454671******7894") == 2


def test_redact_text_masks_cvv_and_secret_pairs() -> None:
    """Key/value pairs naming a CVV, secret or token have their value masked."""
    text = redact_text('{"cvv": "123", "client_secret": "s3cr3t", "refreshToken": "r-1"} cvv=987')
    for value in ("123", "s3cr3t", "r-1", "987"):
        assert value not in text


def test_redact_text_masks_bearer_headers_and_jwts() -> None:
    """Authorization headers and bare JWTs are masked."""
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2lnbmF0dXJl"
    text = redact_text(f"Authorization: Bearer abc.def-ghi and token {jwt}")
    assert "abc.def-ghi" not in text
    assert jwt not in text


def test_redact_text_masks_exact_secret_values() -> None:
    """Known secret values are removed wherever they appear."""
    assert "topsecret" not in redact_text("oops topsecret leaked", secrets=["topsecret"])


def test_redact_text_leaves_ordinary_numbers() -> None:
    """Amounts, dates and short codes are not mistaken for card numbers."""
    text = "amount 15000 on 2026-11-22, code 51, order 123456789012"
    assert redact_text(text) == text
