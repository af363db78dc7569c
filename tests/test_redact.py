"""Redaction: card numbers, CVVs, secrets, tokens and bearer headers are masked."""

from __future__ import annotations

import json
import traceback

import pytest

from payven_async._redact import (
    SecretText,
    mask_pan,
    redact_data,
    redact_text,
    scrub,
    sent_secrets,
)


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


def test_redact_text_leaves_uuids_whole() -> None:
    """A UUID whose digits run 13 long across its dashes (Luhn-valid) stays whole."""
    key = "4a716881-4937-445e-9aeb-126230a0e6c5"
    assert redact_text(f"idempotency key {key}, card 4546 7112 3456 7894") == (
        f"idempotency key {key}, card 454671******7894"
    )


def test_redact_text_leaves_ordinary_numbers() -> None:
    """Amounts, dates and short codes are not mistaken for card numbers."""
    text = "amount 15000 on 2026-11-22, code 51, order 123456789012"
    assert redact_text(text) == text


def test_redact_text_masks_a_sent_cvv_only_where_it_stands_alone() -> None:
    """A CVV the request sent is masked as a number of its own, never inside another."""
    text = redact_text("cvv 837 rejected; amount 18370, id a837b", secrets=["837"])
    assert text == "cvv *** rejected; amount 18370, id a837b"


def test_redact_data_masks_card_and_secret_keys_whatever_their_spelling() -> None:
    """Values under number/cardNumber/cvv/client_secret/... are masked whole, texts redacted."""
    data = {
        "card": {"cardNumber": "4546711234567894", "CVV": 837, "expire_year": "2030"},
        "client-secret": "s",
        "errors": [{"field": "number", "message": "bad 4546-7112-3456-7894"}],
    }
    assert redact_data(data) == {
        "card": {"cardNumber": "***", "CVV": "***", "expire_year": "2030"},
        "client-secret": "***",
        "errors": [{"field": "number", "message": "bad 454671******7894"}],
    }


def test_sent_secrets_finds_the_card_and_secrets_a_body_sent() -> None:
    """The PAN, CVV and secrets of a JSON body are found, each with a masked repr."""
    body = b'{"card":{"number":"4546711234567894","cvv":"837"},"client_secret":"s3","amount":1}'
    found = sent_secrets(body)
    assert sorted(found) == ["4546711234567894", "837", "s3"]
    assert "4546711234567894" not in repr(found)
    assert sent_secrets(None) == sent_secrets(b"not json") == ()


def test_secret_text_is_its_text_except_in_its_repr() -> None:
    """SecretText compares, formats and serialises as its text; only repr() hides it."""
    secret = SecretText("Bearer abc")
    assert secret == "Bearer abc"
    assert f"{secret}" == str(secret) == "Bearer abc"
    assert json.dumps({"a": secret}) == '{"a": "Bearer abc"}'
    assert "abc" not in repr(secret)
    assert "abc" not in repr({"Authorization": secret})


def _fails_holding(card: str) -> None:
    number = card  # a local that must not survive in the traceback
    raise ValueError(f"bad card of length {len(number)}")


def _caught(card: str) -> BaseException:
    """The error of a failure holding ``card`` in its frames, with a JSON error as its
    context; caught here, so that every frame of it has finished."""
    try:
        try:
            json.loads('{"number": "' + card + '", ')
        except ValueError:
            _fails_holding(card)
    except ValueError as exc:
        return exc
    raise AssertionError("unreachable")


def _with_locals(error: BaseException) -> str:
    rendered = traceback.TracebackException.from_exception(error, capture_locals=True)
    return "".join(rendered.format())


def test_scrub_clears_finished_frames_and_a_json_errors_document() -> None:
    """After scrub, no finished frame's locals (nor a JSONDecodeError's doc) hold the data."""
    error = _caught("4546711234567894")
    assert isinstance(error.__context__, json.JSONDecodeError)
    assert "4546711234567894" in _with_locals(error)  # what an error tracker would send
    scrub(error)
    rendered = _with_locals(error)
    assert "4546711234567894" not in rendered
    assert "_fails_holding" in rendered  # the frames are still there, without their locals
