"""The webhook subscription routes (generation B's ``/api/v1/webhooks``), over ``emu.webhooks``.

============================================================  ======================
route                                                         answer
============================================================  ======================
``GET    /api/v1/webhooks``                                   200, ``WebhookSubscriptionDto[]``
``POST   /api/v1/webhooks``                                   201, ``CreateWebhookResult``
``GET    /api/v1/webhooks/{id}``                              200, ``WebhookSubscriptionDto``
``PUT    /api/v1/webhooks/{id}``                              204
``DELETE /api/v1/webhooks/{id}``                              204
``POST   /api/v1/webhooks/{id}/rotate-secret``                200, ``{id, secret}``
``GET    /api/v1/webhooks/{id}/deliveries?page&page_size``    200, ``WebhookDeliveryLogDto[]``
============================================================  ======================

Every route needs a Bearer token. A subscription made here is an endpoint of
:class:`~payven_async.testing.Webhooks` (``emu.webhooks``), so events reach it as they
reach those made with ``emu.webhooks.subscribe``; its delivery log is the attempts of
those deliveries. ``events`` is one comma-separated text, as the specification types it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import attrs
from aiohttp import web

from ._answers import ProblemError, json_answer
from ._checks import Problems, only_keys
from ._clock import iso
from ._context import RouteContext
from ._webhooks import Webhooks, WebhookSubscription

__all__ = ["WebhookRoutes"]

_FIELDS = ("url", "events", "description", "max_retry_count")


@attrs.define
class _Subscription:
    """A subscription as the API knows it, and the emulator endpoint behind it."""

    id: str
    description: str | None
    max_retry_count: int
    created: datetime
    endpoint: WebhookSubscription
    events: str

    def dto(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.endpoint.url,
            "events": self.events,
            "description": self.description,
            "max_retry_count": self.max_retry_count,
            "is_active": True,
            "created": iso(self.created),
        }


class WebhookRoutes:
    """The subscription management routes, over a context and the emulator's webhooks."""

    def __init__(self, context: RouteContext, webhooks: Webhooks) -> None:
        self.context = context
        self.webhooks = webhooks
        self._subscriptions: dict[str, _Subscription] = {}

    def register(self, router: web.UrlDispatcher) -> None:
        """Add the routes."""
        add = router.add_route
        add("GET", "/api/v1/webhooks", self._list, name="list_webhooks")
        add("POST", "/api/v1/webhooks", self._create, name="create_webhook")
        add("GET", "/api/v1/webhooks/{id}", self._get, name="get_webhook")
        add("PUT", "/api/v1/webhooks/{id}", self._update, name="update_webhook")
        add("DELETE", "/api/v1/webhooks/{id}", self._delete, name="delete_webhook")
        add("POST", "/api/v1/webhooks/{id}/rotate-secret", self._rotate, name="rotate_webhook")
        add("GET", "/api/v1/webhooks/{id}/deliveries", self._deliveries, name="webhook_deliveries")

    # --- routes -----------------------------------------------------------------------

    async def _list(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        return json_answer([record.dto() for record in self._subscriptions.values()])

    async def _create(self, request: web.Request) -> web.StreamResponse:
        raw, body = await self.context.authenticated_body(request, _checked)

        async def produce() -> web.Response:
            record = _Subscription(
                id=str(uuid.uuid4()),
                description=body.get("description"),
                max_retry_count=body.get("max_retry_count", 5),
                created=self.context.now(),
                endpoint=self.webhooks.subscribe(body["url"], events=_event_set(body["events"])),
                events=body["events"],
            )
            self._subscriptions[record.id] = record
            answer = {
                "id": record.id,
                "url": record.endpoint.url,
                "secret": record.endpoint.secret,
                "events": record.events,
                "description": record.description,
                "max_retry_count": record.max_retry_count,
            }
            return json_answer(answer, status=201)

        return await self.context.idempotent(request, "create_webhook", raw, produce)

    async def _get(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        return json_answer(self._find(request).dto())

    async def _update(self, request: web.Request) -> web.StreamResponse:
        _, body = await self.context.authenticated_body(request, _checked_update)
        record = self._find(request)
        if body.get("id") not in (None, record.id):
            raise ProblemError(
                400, "validation_failed", "Gövdedeki id yoldaki id ile aynı olmalı.",
                errors={"id": ["Yoldaki id ile aynı olmalı."]},
            )  # fmt: skip
        self.webhooks.unsubscribe(record.endpoint)
        record.endpoint = self.webhooks.subscribe(
            body["url"], record.endpoint.secret, events=_event_set(body["events"])
        )
        record.events = body["events"]
        record.description = body.get("description")
        record.max_retry_count = body.get("max_retry_count", record.max_retry_count)
        return web.Response(status=204)

    async def _delete(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        record = self._find(request)
        self.webhooks.unsubscribe(record.endpoint)
        del self._subscriptions[record.id]
        return web.Response(status=204)

    async def _rotate(self, request: web.Request) -> web.StreamResponse:
        raw, _ = await self.context.authenticated_body(request, lambda body: only_keys(body, ()))
        record = self._find(request)

        async def produce() -> web.Response:
            endpoint = record.endpoint
            self.webhooks.unsubscribe(endpoint)
            record.endpoint = self.webhooks.subscribe(endpoint.url, events=endpoint.events)
            return json_answer({"id": record.id, "secret": record.endpoint.secret})

        return await self.context.idempotent(request, "rotate_webhook", raw, produce)

    async def _deliveries(self, request: web.Request) -> web.StreamResponse:
        self.context.authenticate(request)
        record = self._find(request)
        page = _positive(request.query.get("page", "1"), "page", 1_000_000)
        size = _positive(request.query.get("page_size", "20"), "page_size", 100)
        logs = [
            {
                "id": str(
                    uuid.uuid5(uuid.NAMESPACE_URL, f"{delivery.delivery_id}/{attempt.number}")
                ),
                "transaction_id": delivery.transaction_id,
                "event_type": delivery.event_type,
                "url": delivery.url,
                "http_status_code": attempt.status,
                "is_success": attempt.ok,
                "attempt_number": attempt.number,
                "error_message": attempt.error,
                "created": iso(attempt.sent_at),
            }
            for delivery in self.webhooks.deliveries
            if delivery.url == record.endpoint.url
            for attempt in delivery.attempts
        ]
        return json_answer(logs[(page - 1) * size : page * size])

    def _find(self, request: web.Request) -> _Subscription:
        record = self._subscriptions.get(request.match_info["id"])
        if record is None:
            raise ProblemError(404, "webhook_not_found", "Webhook aboneliği bulunamadı.")
        return record


def _checked(body: dict[str, Any]) -> dict[str, Any]:
    """A CreateWebhookCommand: url and events required, retries 0 to 20."""
    return _check(body, _FIELDS)


def _checked_update(body: dict[str, Any]) -> dict[str, Any]:
    """An UpdateWebhookCommand: the create fields and, optionally, the id."""
    return _check(body, ("id", *_FIELDS))


def _check(body: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    retries = body.get("max_retry_count")
    only_keys({key: value for key, value in body.items() if key != "max_retry_count"}, allowed)
    problems = Problems()
    url = body.get("url")
    if not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        problems.add("url", "url_format")
    if not (isinstance(body.get("events"), str) and _event_set(body["events"])):
        problems.add("events", "required")
    if retries is not None and not (type(retries) is int and 0 <= retries <= 20):
        problems.note("max_retry_count", "0-20 arasında bir tam sayı olmalı.")
    problems.raise_if_any()
    return body


def _event_set(events: str) -> frozenset[str]:
    return frozenset(part.strip() for part in events.split(",") if part.strip())


def _positive(text: str, name: str, most: int) -> int:
    if not (text.isdigit() and 1 <= int(text) <= most):
        raise ProblemError(
            400,
            "validation_failed",
            f"{name} 1-{most} arasında olmalı.",
            errors={name: [f"1-{most} arasında olmalı."]},
        )
    return int(text)


def _log_id(delivery_id: str, number: int) -> str:
    """A stable uuid for one attempt of one delivery (the log's ``id``)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{delivery_id}/{number}"))
