"""The emulator's test cards: the card number decides how the bank answers.

======================  ===========================  ==============  ==========
card number             outcome                      ``error_code``  bank code
======================  ===========================  ==============  ==========
4546 7112 3456 7894     approved (the docs' card)    --              00
5500 0000 0000 0004     approved (Mastercard)        --              00
4546 7170 0000 0051     insufficient funds           insufficient_funds  51
4546 7110 0000 0005     do not honour                do_not_honor    05
4546 7110 0000 0054     expired card                 card_expired    54
4546 7150 0000 0014     invalid card                 invalid_card    14
4546 7180 0000 0091     bank timeout                 bank_timeout    91
4546 7120 0000 0003     3D Secure required           three_ds_required  --
======================  ===========================  ==============  ==========

Every number is Luhn-valid, so the client's own checks let it through; the last
digits carry the bank code. Any other Luhn-valid number is approved. Any expiry
in the future and any 3-4 digit CVV will do.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

__all__ = ["APPROVED", "TEST_CARDS", "CardOutcome", "card_brand", "outcome_for"]


@attrs.frozen
class CardOutcome:
    """How the (emulated) bank answers a charge to one card."""

    approved: bool
    message: str
    error_code: str | None = None
    provider_error_code: str | None = None
    description: str = ""


APPROVED = CardOutcome(
    approved=True,
    message="İşlem başarılı",
    provider_error_code=None,
    description="approved",
)


def _declined(code: str, bank: str | None, text: str, description: str) -> CardOutcome:
    detail = f"{text} (banka kodu: {bank})" if bank else text
    return CardOutcome(
        approved=False,
        message=detail,
        error_code=code,
        provider_error_code=bank,
        description=description,
    )


#: The documented test cards, by number. Numbers not listed here are approved.
TEST_CARDS: Mapping[str, CardOutcome] = {
    "4546711234567894": attrs.evolve(APPROVED, description="approved (the docs' example card)"),
    "5500000000000004": attrs.evolve(APPROVED, description="approved (Mastercard)"),
    "4546717000000051": _declined(
        "insufficient_funds", "51", "Yetersiz bakiye", "declined: insufficient funds"
    ),
    "4546711000000005": _declined(
        "do_not_honor", "05", "İşlem onaylanmadı", "declined: do not honour"
    ),
    "4546711000000054": _declined(
        "card_expired", "54", "Kartın süresi dolmuş", "declined: expired card"
    ),
    "4546715000000014": _declined(
        "invalid_card", "14", "Geçersiz kart numarası", "declined: invalid card"
    ),
    "4546718000000091": _declined(
        "bank_timeout", "91", "Banka yanıt vermedi", "declined: bank timeout"
    ),
    "4546712000000003": _declined(
        "three_ds_required",
        None,
        "Bu kart için 3D Secure doğrulaması gerekli",
        "declined: 3D Secure required",
    ),
}


def outcome_for(number: str) -> CardOutcome:
    """The bank's answer for a charge to ``number`` (digits only)."""
    return TEST_CARDS.get(number, APPROVED)


def card_brand(number: str) -> str:
    """The card scheme, from the leading digits (``CardSchemaType`` names)."""
    if number.startswith("4"):
        return "Visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "MasterCard"
    if number[:2] in {"34", "37"}:
        return "Amex"
    if number.startswith("9792"):
        return "Troy"
    if number.startswith("62"):
        return "UnionPay"
    return "Proprietary"
