"""Webhook subscription management: the client's seven methods against the emulator, their
checks before any I/O, the sync twins, and the bodies and answers against generation B's
OpenAPI (``/api/v1/webhooks``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import attrs
import pytest

import payven_sync
from payven_async import (
    Acknowledged,
    MemoryTransport,
    NotFoundError,
    PayvenClient,
    ValidationError,
    WebhookDeliveryLog,
    WebhookDeliveryLogList,
    WebhookSubscription,
    WebhookSubscriptionList,
    WebhookSubscriptionRequest,
    verify_webhook,
)
from payven_async._converters import encode
from payven_async.testing import PayvenEmulator, SyncPayvenEmulator

from .emulator_support import Raw
from .test_emulator_openapi import Spec, _media, _problem, specs  # noqa: F401 - the fixture
from .test_emulator_webhooks import Receiver, pay, receiver  # noqa: F401 - the fixture
from .test_listing_models import _misfit
from .test_operations_openapi import _decode

WEBHOOKS_B = "/api/v1/webhooks"
WEBHOOK_B = "/api/v1/webhooks/{id}"


@pytest.fixture
async def emulated() -> AsyncIterator[tuple[PayvenEmulator, PayvenClient]]:
    """An emulator and a client pointed at it."""
    async with (
        PayvenEmulator() as emu,
        PayvenClient(
            emu.client_id, emu.client_secret, emu.slug, identity_url=emu.url, vpos_url=emu.url
        ) as client,
    ):
        yield emu, client


async def test_the_whole_life_of_a_subscription(
    emulated: tuple[PayvenEmulator, PayvenClient],
    receiver: Receiver,  # noqa: F811 - the fixture
) -> None:
    """Create, list, get, update, deliveries, rotate, delete: each answer decoded, with meta."""
    emu, client = emulated
    created = await client.create_webhook(
        WebhookSubscriptionRequest(
            url=receiver.url, events=["payment.completed", "refund.completed"], max_retry_count=3
        )
    )
    assert isinstance(created, WebhookSubscription)
    assert created.secret is not None
    assert created.secret.startswith("whsec_")
    assert created.secret not in repr(created)
    assert created.event_types == ["payment.completed", "refund.completed"]
    assert created.meta is not None
    assert created.meta.status == 201
    assert created.id is not None
    listed = await client.list_webhooks()
    assert isinstance(listed, WebhookSubscriptionList)
    assert [item.id for item in listed] == [created.id]
    fetched = await client.get_webhook(created.id)
    assert (fetched.url, fetched.max_retry_count, fetched.is_active) == (receiver.url, 3, True)
    assert fetched.secret is None  # shown once, at creation

    await pay(client)
    await emu.webhooks.drain()
    delivered = receiver.received[0]
    event = verify_webhook(delivered.body, delivered.headers, created.secret)
    assert event.type == "payment.completed"
    logs = await client.list_webhook_deliveries(created.id, page=1, page_size=10)
    assert isinstance(logs, WebhookDeliveryLogList)
    assert len(logs) == 1
    assert logs.items[0].event_type == "payment.completed"
    assert logs.items[0].is_success

    updated = await client.update_webhook(
        created.id, WebhookSubscriptionRequest(url=receiver.url, events="payment.failed")
    )
    assert isinstance(updated, Acknowledged)
    assert updated.meta is not None
    assert updated.meta.status == 204
    assert (await client.get_webhook(created.id)).event_types == ["payment.failed"]

    rotated = await client.rotate_webhook_secret(created.id)
    assert rotated.secret is not None
    assert rotated.secret != created.secret

    deleted = await client.delete_webhook(created.id)
    assert deleted.meta is not None
    assert deleted.meta.status == 204
    with pytest.raises(NotFoundError):
        await client.get_webhook(created.id)
    assert len(await client.list_webhooks()) == 0


async def test_bad_subscriptions_are_refused_before_any_io() -> None:
    """A bad URL, no events and retries over 20 are listed together; nothing is sent."""
    transport = MemoryTransport(lambda request: pytest.fail("nothing may be sent"))
    async with PayvenClient("c", "s", "acme", transport=transport) as client:
        with pytest.raises(ValidationError) as caught:
            await client.create_webhook(
                WebhookSubscriptionRequest(url="ftp://x", events=[], max_retry_count=21)
            )
        assert {problem.field for problem in caught.value.problems} == {
            "url",
            "events",
            "max_retry_count",
        }
        with pytest.raises(ValidationError):
            await client.list_webhook_deliveries("a-b", page=0)
        with pytest.raises(ValidationError):
            await client.get_webhook("bad id/with slash")
    assert transport.requests == []


def test_the_sync_client_manages_subscriptions() -> None:
    """payven_sync's twins: create and list against the emulator in its own thread."""
    with (
        SyncPayvenEmulator() as emu,
        payven_sync.PayvenClient(
            emu.client_id, emu.client_secret, emu.slug, identity_url=emu.url, vpos_url=emu.url
        ) as client,
    ):
        created = client.create_webhook(
            WebhookSubscriptionRequest(url="https://example.com/hook", events="payment.completed")
        )
        assert created.id is not None
        assert [item.id for item in client.list_webhooks()] == [created.id]


# --- against the OpenAPI ------------------------------------------------------------------------


def test_the_bodies_the_client_sends_are_generation_b_commands(specs: dict[str, Spec]) -> None:  # noqa: F811
    """encode(WebhookSubscriptionRequest) validates as Create- and UpdateWebhookCommand."""
    request = WebhookSubscriptionRequest(
        url="https://example.com/hook",
        events=["payment.completed", "payment.failed"],
        description="orders",
        max_retry_count=5,
    )
    body = encode(request, "snake")
    assert body["events"] == "payment.completed,payment.failed"
    specs["vpos-b"].request("POST", WEBHOOKS_B, "application/json", body)
    update = {"id": "3c90c3cc-0d44-4b50-8888-8dd25736052a", **body}
    specs["vpos-b"].request("PUT", WEBHOOK_B, "application/json", update)


async def test_the_emulators_answers_match_generation_b(specs: dict[str, Spec]) -> None:  # noqa: F811
    """Each route's answer validates against B's documented response."""
    async with PayvenEmulator() as emu, aiohttp.ClientSession() as http:
        raw = Raw(emu, http)
        spec = specs["vpos-b"]
        body = {"url": "https://example.com/h", "events": "payment.completed"}
        status, headers, created = await raw.json("POST", WEBHOOKS_B, body=body)
        spec.response("POST", WEBHOOKS_B, status, _media(headers), created)
        path = f"{WEBHOOKS_B}/{created['id']}"
        status, headers, listed = await raw.json("GET", WEBHOOKS_B)
        spec.response("GET", WEBHOOKS_B, status, _media(headers), listed)
        status, headers, one = await raw.json("GET", path)
        spec.response("GET", WEBHOOK_B, status, _media(headers), one)
        status, headers, logs = await raw.json("GET", f"{path}/deliveries")
        spec.response("GET", f"{WEBHOOK_B}/deliveries", status, _media(headers), logs)
        status, _, _ = await raw.request("PUT", path, body={**body, "id": created["id"]})
        assert status == 204
        unknown = f"{WEBHOOKS_B}/3c90c3cc-0d44-4b50-8888-8dd25736052a"
        status, headers, missing = await raw.json("GET", unknown)
        assert status == 404
        _problem(specs, status, headers, missing)
        status, headers, refused = await raw.json("POST", WEBHOOKS_B, body={"url": 1})
        assert status == 400
        assert refused["code"] == "validation_failed"


#: The answer models of subscription management.
_ANSWER_MODELS = [
    WebhookSubscription,
    WebhookSubscriptionList,
    WebhookDeliveryLog,
    WebhookDeliveryLogList,
    Acknowledged,
]


@pytest.mark.parametrize("cls", _ANSWER_MODELS, ids=lambda cls: cls.__name__)
def test_values_of_an_unexpected_type_are_kept_and_reported(cls: Any) -> None:
    """An answer whose every field has a value of a type it cannot take decodes: each
    value kept in unknown_fields under its key, its field named in decode_problems and
    left at its default, as the payment and listing answers do."""
    attrs.resolve_types(cls)
    fields = [f for f in attrs.fields(cls) if f.name not in ("unknown_fields", "decode_problems")]
    odd = {f.name: _misfit(f) for f in fields}
    model = _decode(odd, cls)
    assert set(model.decode_problems) == set(odd)
    assert model.unknown_fields == odd
    defaults = cls()
    for name in odd:
        assert getattr(model, name) == getattr(defaults, name), name


def test_a_listed_subscription_of_an_unexpected_shape_leaves_the_others_whole() -> None:
    """One subscription with an object for its retry count: it keeps and reports it, the
    list and the other subscription decode as usual."""
    listed = _decode(
        [
            {"id": "w-1", "url": "https://shop.example/hook", "max_retry_count": 3},
            {"id": "w-2", "url": "https://shop.example/other", "max_retry_count": {"n": 3}},
        ],
        WebhookSubscriptionList,
    )
    plain, odd = listed
    assert (plain.max_retry_count, plain.decode_problems) == (3, {})
    assert (odd.id, odd.url, odd.max_retry_count) == ("w-2", "https://shop.example/other", None)
    assert odd.unknown_fields == {"max_retry_count": {"n": 3}}
    assert set(odd.decode_problems) == {"max_retry_count"}
