"""Payven on your laptop: an in-process emulator of the identity and vpos APIs.

>>> from payven_async.testing import PayvenEmulator
>>> async with PayvenEmulator() as emu:
...     async with emu.client() as client:
...         ...

It answers like the real service (the two wire generations, problem+json errors,
``X-Correlation-Id``, ``X-RateLimit-*``, idempotent replays), keeps an in-memory
ledger, decides outcomes by test card (:data:`TEST_CARDS`), injects faults on demand
(:class:`Faults`) and delivers signed webhooks with retries (:class:`Webhooks`).
:class:`SyncPayvenEmulator` serves the same from a thread for blocking code. The pytest
plugin (``payven_async.testing.pytest_plugin``, loaded automatically) provides the
``payven_emulator`` and ``payven_client`` fixtures.

This package is never imported by ``payven_async`` itself.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._app import RecordedRequest
    from ._cards import TEST_CARDS, CardOutcome
    from ._clock import Clock
    from ._emulator import PayvenEmulator, SyncPayvenEmulator
    from ._faults import ROUTES, Fault, FaultKind, Faults
    from ._ledger import Ledger, LedgerError
    from ._records import CheckoutSessionRecord, PaymentRecord
    from ._webhooks import WebhookAttempt, WebhookDelivery, Webhooks, WebhookSubscription

__all__ = [
    "ROUTES",
    "TEST_CARDS",
    "CardOutcome",
    "CheckoutSessionRecord",
    "Clock",
    "Fault",
    "FaultKind",
    "Faults",
    "Ledger",
    "LedgerError",
    "PaymentRecord",
    "PayvenEmulator",
    "RecordedRequest",
    "SyncPayvenEmulator",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
    "Webhooks",
]

# Loaded on first use, so that the pytest plugin (a submodule) costs nothing until a
# fixture asks for an emulator.
_HOMES = {
    "ROUTES": "._faults",
    "TEST_CARDS": "._cards",
    "CardOutcome": "._cards",
    "CheckoutSessionRecord": "._records",
    "Clock": "._clock",
    "Fault": "._faults",
    "FaultKind": "._faults",
    "Faults": "._faults",
    "Ledger": "._ledger",
    "LedgerError": "._ledger",
    "PaymentRecord": "._records",
    "PayvenEmulator": "._emulator",
    "RecordedRequest": "._app",
    "SyncPayvenEmulator": "._emulator",
    "WebhookAttempt": "._webhooks",
    "WebhookDelivery": "._webhooks",
    "WebhookSubscription": "._webhooks",
    "Webhooks": "._webhooks",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
