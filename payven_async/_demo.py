"""``payven demo``: the whole story, told against an emulator running in this process.

Token, checkout session, a declined pay and its error, an approved pay, an idempotent
retry (a replay, then a connection that drops after the charge), a query, a batch
query of a few thousand ids with a progress bar, and a reconciliation that finds
the mismatches planted in a seeded day. Card numbers print masked; the
token prints only its first characters.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import date
from typing import TYPE_CHECKING, TextIO

from ._progress import ProgressBar
from ._redact import mask_pan
from .errors import NotFoundError, PaymentDeclinedError
from .models import Card, CheckoutSessionRequest, Money, PayRequest, QueryOutcome
from .testing import PayvenEmulator

if TYPE_CHECKING:
    from ._client import PayvenClient

__all__ = ["run_demo"]

APPROVED_CARD = Card("Test Kullanici", "4546711234567894", "12", "2030", "000")
DECLINED_CARD = Card("Test Kullanici", "4546717000000051", "12", "2030", "000")
AMOUNT = Money(15000, "TRY")


class _Story:
    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._step = 0

    def step(self, title: str, call: str = "") -> None:
        self._step += 1
        heading = f"{self._step}. {title}"
        self.line("")
        self.line(f"{heading:<26} {call}".rstrip())

    def say(self, text: str) -> None:
        self.line(f"   {text}")

    def line(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()


def _money(money: Money) -> str:
    return f"{money.to_decimal()} {money.currency}"


async def run_demo(
    out: TextIO,
    *,
    batch_size: int = 3000,
    concurrency: int = 64,
    animate: bool | None = None,
) -> None:
    """Tell the story on ``out``; raises if any step does not go as told."""
    story = _Story(out)
    story.line("payven demo: the whole story, against a Payven emulator running in this process.")
    async with PayvenEmulator(rate_limit=None) as emu, emu.client() as client:
        story.line(f"   emulator {emu.url}  slug {emu.slug!r}  client_id {emu.client_id!r}")

        story.step("Access token", f"POST /api/v1/auth/{emu.slug}/token")
        token = await client.token()
        story.say(
            f"{token.token_type} {token.access_token[:12]}... (a JWT; expires in "
            f"{token.expires_in} s; the client caches it and renews it ahead of time)"
        )

        story.step("Checkout session", "POST /api/v1/checkout/sessions")
        session = await client.create_checkout_session(
            CheckoutSessionRequest(amount=AMOUNT.amount, currency=AMOUNT.currency)
        )
        session_id = session.session_id or ""
        expires = session.expires_at.strftime("%H:%M:%S UTC") if session.expires_at else "?"
        story.say(f"session {session_id} for {_money(AMOUNT)}, open until {expires}")

        declined_card = mask_pan(DECLINED_CARD.number)
        story.step("Declined pay", f"POST .../sessions/{{id}}/pay  card {declined_card}")
        try:
            await client.pay(session_id, PayRequest(amount=AMOUNT, card=DECLINED_CARD))
        except PaymentDeclinedError as declined:
            story.say(f"PaymentDeclinedError: {declined}")
            story.say(
                f"code={declined.code!r} provider_error_code={declined.provider_error_code!r}"
            )
        else:
            raise AssertionError("the declined card was approved")
        state = await client.get_checkout_session(session_id)
        story.say(
            f"the session stays {state.status}: "
            f"attempt {state.attempt_count} of {state.max_attempts} used"
        )

        story.step("Approved pay", f"same session, card {mask_pan(APPROVED_CARD.number)}")
        key = f"order-1001-{uuid.uuid4().hex[:8]}"
        request = PayRequest(amount=AMOUNT, card=APPROVED_CARD, external_id="ORDER-1001")
        result = await client.pay(session_id, request, idempotency_key=key)
        auth_code = result.extra_properties.get("auth_code")
        story.say(f"{result.status}: transaction {result.transaction_id}, auth code {auth_code}")

        story.step("Idempotent retry", f"the same pay again, Idempotency-Key {key}")
        replays_before = emu.idempotency.replays
        again = await client.pay(session_id, request, idempotency_key=key)
        replayed = emu.idempotency.replays - replays_before
        if again.transaction_id != result.transaction_id or replayed != 1:
            raise AssertionError("the retry was not replayed")
        story.say(
            "replayed (Idempotent-Replayed: true): "
            f"transaction {again.transaction_id} again, still one charge"
        )
        second = await client.create_checkout_session(
            CheckoutSessionRequest(amount=AMOUNT.amount, currency=AMOUNT.currency)
        )
        emu.faults.drop_next("pay", after_charge=True)
        charges_before = len(emu.ledger.charges())
        pays_before = emu.calls["pay"]
        retried = await client.pay(
            second.session_id or "", PayRequest(amount=AMOUNT, card=APPROVED_CARD)
        )
        story.say(
            "on a new session the connection drops right after the charge; the client "
            "retries with the same key"
        )
        story.say(
            f"-> {emu.calls['pay'] - pays_before} requests, "
            f"{len(emu.ledger.charges()) - charges_before} charge, "
            f"transaction {retried.transaction_id}"
        )

        story.step("Query", "GET /api/v1/payments/{id}/query")
        query = await client.query(result.transaction_id or "")
        ours, bank = query.internal, query.external
        if ours is None or bank is None:
            raise AssertionError("the query lacks a side")
        story.say(
            f"Payven: {ours.status}, {_money(Money(ours.amount or 0, ours.currency or 'TRY'))}, "
            f"card {ours.masked_card_number}, {ours.installment_count} installment"
        )
        story.say(f"bank:   {bank.status}, auth code {bank.auth_code}, ref {bank.host_reference}")

        unknown = [str(uuid.uuid4()) for _ in range(5)]
        seeded = emu.seed_payments(batch_size - len(unknown), declined=range(0, batch_size, 600))
        ids = seeded + unknown
        story.step("Batch query", f"{len(ids)} ids, concurrency {concurrency}")
        tokens_before = emu.tokens.issued + emu.tokens.refreshed
        bar = ProgressBar(len(ids), out, animate=animate, prefix="   ")
        counts = {"approved": 0, "declined": 0, "not found": 0, "other errors": 0}

        def progress(outcome: QueryOutcome) -> None:
            bar.update(failed=outcome.error is not None)

        started = time.monotonic()
        async for outcome in client.query_many(ids, concurrency=concurrency, progress=progress):
            if outcome.result is not None:
                counts["approved" if outcome.result.is_success else "declined"] += 1
            elif isinstance(outcome.error, NotFoundError):
                counts["not found"] += 1
            else:
                counts["other errors"] += 1
        bar.close()
        elapsed = time.monotonic() - started
        summary = ", ".join(f"{count} {name}" for name, count in counts.items() if count)
        story.say(f"{summary}; {elapsed:.1f} s")
        new_tokens = emu.tokens.issued + emu.tokens.refreshed - tokens_before
        story.say(f"token requests for the whole batch: {new_tokens} (the cached token served)")
        if counts["other errors"] or counts["not found"] != len(unknown):
            raise AssertionError(f"unexpected batch outcome: {summary}")

        await _reconciliation(story, client, emu, concurrency)

    story.line("")
    story.line("Done. Run `payven emulator` to keep one running for your own code.")


#: What the demo's reconciliation plants: Payven/bank disagreements by kind.
_PLANTED = {"status": 2, "amount": 1, "captured_amount": 1, "currency": 1, "external_missing": 1}


async def _reconciliation(
    story: _Story, client: PayvenClient, emu: PayvenEmulator, concurrency: int
) -> None:
    """Seed a day with planted mismatches, give the merchant's books, and find them all."""
    from ._reconcile import ExpectedRecord, MismatchKind

    day = date(2026, 12, 6)
    seeded = emu.seed_payments(500, day=day, mismatches=_PLANTED)
    story.step("Reconciliation", f"{len(seeded)} payments of {day}, three views each")
    books = {tid: ExpectedRecord(AMOUNT.amount, AMOUNT.currency, "completed") for tid in seeded}
    books[seeded[7]] = ExpectedRecord(12000, AMOUNT.currency, "completed")  # a typo in the books
    del books[seeded[8]]  # a sale the shop never recorded
    books[str(uuid.uuid4())] = ExpectedRecord(9900, AMOUNT.currency, "completed")  # never paid
    story.say(
        f"the merchant's books: {len(books)} records; planted at the bank: "
        + ", ".join(f"{count} {kind}" for kind, count in _PLANTED.items())
    )
    found: Counter[str] = Counter()
    items = agree = 0
    async for item in client.reconcile(seeded, expected=books, concurrency=concurrency):
        items += 1
        agree += item.ok
        found.update(kind.value for kind in item.kinds)
    story.say(f"{items} items, {agree} agree on every view; found:")
    for kind in MismatchKind:
        if found[kind.value]:
            story.say(f"  {kind.value:<20} {found[kind.value]}")
    wanted = Counter({**_PLANTED, "amount": 2, "unknown_to_merchant": 1, "unknown_to_payven": 1})
    if found != wanted:
        raise AssertionError(f"the reconciliation found {dict(found)}, not {dict(wanted)}")
