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

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:  # what type checkers see of _HOMES below (a test pins the two)
    from ._app import RecordedRequest as RecordedRequest
    from ._cards import TEST_CARDS as TEST_CARDS, CardOutcome as CardOutcome
    from ._clock import Clock as Clock
    from ._emulator import (
        PayvenEmulator as PayvenEmulator,
        SyncPayvenEmulator as SyncPayvenEmulator,
    )
    from ._faults import ROUTES as ROUTES, Fault as Fault, FaultKind as FaultKind, Faults as Faults
    from ._ledger import Ledger as Ledger, LedgerError as LedgerError
    from ._records import (
        CheckoutSessionRecord as CheckoutSessionRecord,
        PaymentRecord as PaymentRecord,
    )
    from ._seeding import SeededPayments as SeededPayments
    from ._webhooks import (
        WebhookAttempt as WebhookAttempt,
        WebhookDelivery as WebhookDelivery,
        Webhooks as Webhooks,
        WebhookSubscription as WebhookSubscription,
    )

# Every name loads on first use, so that the pytest plugin (a submodule) costs nothing
# until a fixture asks for an emulator. The one list: __all__ and the loader come from it.
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
    "SeededPayments": "._seeding",
    "SyncPayvenEmulator": "._emulator",
    "WebhookAttempt": "._webhooks",
    "WebhookDelivery": "._webhooks",
    "WebhookSubscription": "._webhooks",
    "Webhooks": "._webhooks",
}

__all__ = sorted(_HOMES)
__getattr__, __dir__ = attach(
    __name__, {name: __name__ + home for name, home in _HOMES.items()}, __all__
)
