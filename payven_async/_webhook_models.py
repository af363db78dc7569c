"""The models of webhook subscription management (``/api/v1/webhooks``).

Loaded on first use, as the payment operations' models are (see :mod:`._lazy`). The
API's generation B types a subscription's ``events`` as one string, while its guides
show a list: the client sends the events comma-separated in one string, as the
specification says, and :attr:`WebhookSubscription.event_types` splits what comes back.
Answers decode as leniently as every other: a value of a type its field cannot take is
kept in ``unknown_fields`` and named in ``decode_problems``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

import attrs

from ._redact import REDACTED
from .models import NO_PROBLEMS, _Answer, _Input, _Model

__all__ = [
    "WebhookDeliveryLog",
    "WebhookDeliveryLogList",
    "WebhookSubscription",
    "WebhookSubscriptionList",
    "WebhookSubscriptionRequest",
]


def _hidden(_: object) -> str:
    return REDACTED


def _events_text(events: str | Sequence[str]) -> str:
    # The specification types events as one string: a list is sent comma-separated.
    if isinstance(events, str):
        return events
    return ",".join(str(event) for event in events)


@attrs.define(kw_only=True, repr=False, eq=False)
class WebhookSubscriptionRequest(_Input):
    """A webhook subscription to create or update (``CreateWebhookCommand``).

    ``url`` is where Payven delivers events (``https://``); ``events`` the event types
    to deliver (``["payment.completed", "refund.completed"]``, or their comma-separated
    text); ``max_retry_count`` how many times a failed delivery is retried (0 to 20,
    default 5 on the service's side).
    """

    url: str
    events: str = attrs.field(converter=_events_text)
    description: str | None = None
    max_retry_count: int | None = None


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class WebhookSubscription(_Answer):
    """A webhook subscription (``WebhookSubscriptionDto``, ``CreateWebhookResult``).

    ``secret`` (``whsec_…``) is only in the answers to create and rotate-secret: keep
    it then, Payven shows it once. It never reaches a repr.
    """

    id: str | None = None
    url: str | None = None
    events: str | None = None
    description: str | None = None
    max_retry_count: int | None = None
    is_active: bool | None = None
    created: datetime | None = None
    secret: str | None = attrs.field(default=None, repr=_hidden)
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)

    @property
    def event_types(self) -> list[str]:
        """``events`` as a list (the service sends them as one comma-separated text)."""
        return [part.strip() for part in (self.events or "").split(",") if part.strip()]


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class WebhookDeliveryLog(_Model):
    """One delivery attempt of an event to a subscription (``WebhookDeliveryLogDto``)."""

    id: str | None = None
    transaction_id: str | None = None
    event_type: str | None = None
    url: str | None = None
    http_status_code: int | None = None
    is_success: bool = False
    attempt_number: int | None = None
    error_message: str | None = None
    created: datetime | None = None
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class WebhookSubscriptionList(_Answer):
    """The account's webhook subscriptions: iterate it, or read ``items``."""

    #: The service answers a bare JSON array: it becomes ``items`` (see ``_responses``).
    wraps_list: ClassVar[bool] = True

    items: Sequence[WebhookSubscription] = attrs.field(factory=list)
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)

    def __iter__(self) -> Iterator[WebhookSubscription]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class WebhookDeliveryLogList(_Answer):
    """A page of a subscription's delivery attempts: iterate it, or read ``items``."""

    #: The service answers a bare JSON array: it becomes ``items`` (see ``_responses``).
    wraps_list: ClassVar[bool] = True

    items: Sequence[WebhookDeliveryLog] = attrs.field(factory=list)
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)

    def __iter__(self) -> Iterator[WebhookDeliveryLog]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class Acknowledged(_Answer):
    """The answer to an update or delete: no body (204), only its ``.meta``."""

    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)
