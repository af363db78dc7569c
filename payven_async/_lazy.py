"""The public names that load on first use, listed once, and the one loader for them.

Building attrs classes and importing modules is most of ``import payven_async``'s
cost, and a process that only pays and queries needs neither the payment operations'
models nor the webhook helpers nor the in-memory transport. :data:`LAZY` names them
with their home module; :func:`attach` gives a package the module-level
``__getattr__`` and ``__dir__`` (PEP 562) that load them. ``payven_async``,
``payven_async.models`` and ``payven_sync`` all derive their loaders from
:data:`LAZY`; the ``if TYPE_CHECKING:`` imports in those modules are only what type
checkers read, and a test pins that they name exactly these.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["LAZY", "attach", "homed_in"]

_OPERATION_MODELS = "payven_async._operation_models"
_WEBHOOKS = "payven_async.webhooks"
_LISTING_MODELS = "payven_async._listing_models"
_RECONCILE = "payven_async._reconcile"

#: Each lazily loaded public name of ``payven_async``, and the module it lives in.
LAZY: Mapping[str, str] = MappingProxyType(
    {
        "BankTransaction": _LISTING_MODELS,
        "BulkResolveError": _LISTING_MODELS,
        "BulkResolveItem": _LISTING_MODELS,
        "BulkResolveResult": _LISTING_MODELS,
        "CaptureRequest": _OPERATION_MODELS,
        "CardSchemaType": _LISTING_MODELS,
        "CardType": _LISTING_MODELS,
        "Chargeback": _LISTING_MODELS,
        "ChargebackPage": _LISTING_MODELS,
        "ChargebackStatus": _LISTING_MODELS,
        "DiscrepancyType": _LISTING_MODELS,
        "ExpectedRecord": _RECONCILE,
        "MemoryTransport": "payven_async._memory",
        "Mismatch": _RECONCILE,
        "MismatchKind": _RECONCILE,
        "PaymentHistory": _OPERATION_MODELS,
        "PaymentHistoryEntry": _OPERATION_MODELS,
        "PaymentRequest": _OPERATION_MODELS,
        "PaymentType": _LISTING_MODELS,
        "Reconciliation": _LISTING_MODELS,
        "ReconciliationDetail": _LISTING_MODELS,
        "ReconciliationDetailPage": _LISTING_MODELS,
        "ReconciliationDetailStatus": _LISTING_MODELS,
        "ReconciliationItem": _RECONCILE,
        "ReconciliationOverallStatus": _LISTING_MODELS,
        "ReconciliationPage": _LISTING_MODELS,
        "ReconciliationPeriod": _LISTING_MODELS,
        "ReconciliationResolutionAction": _LISTING_MODELS,
        "ReconciliationScope": _LISTING_MODELS,
        "Refund": _LISTING_MODELS,
        "RefundPage": _LISTING_MODELS,
        "RefundReasonCode": _OPERATION_MODELS,
        "RefundRequest": _OPERATION_MODELS,
        "RefundSibling": _LISTING_MODELS,
        "RefundStatus": _LISTING_MODELS,
        "RefundType": _LISTING_MODELS,
        "ResolveReconciliationDetailRequest": _LISTING_MODELS,
        "SecureType": _LISTING_MODELS,
        "Settlement": _LISTING_MODELS,
        "SettlementPage": _LISTING_MODELS,
        "SettlementStatus": _LISTING_MODELS,
        "StartReconciliationRequest": _LISTING_MODELS,
        "ThreeDSInitRequest": _OPERATION_MODELS,
        "Trace": _LISTING_MODELS,
        "TraceEvent": _LISTING_MODELS,
        "TraceEventSource": _LISTING_MODELS,
        "TraceSummary": _LISTING_MODELS,
        "Transaction": _LISTING_MODELS,
        "TransactionHistoryEntry": _LISTING_MODELS,
        "TransactionPage": _LISTING_MODELS,
        "TransactionStatus": _LISTING_MODELS,
        "VoidRequest": _OPERATION_MODELS,
        "Acknowledged": "payven_async._webhook_models",
        "WebhookDeliveryLog": "payven_async._webhook_models",
        "WebhookDeliveryLogList": "payven_async._webhook_models",
        "WebhookSubscription": "payven_async._webhook_models",
        "WebhookSubscriptionList": "payven_async._webhook_models",
        "WebhookSubscriptionRequest": "payven_async._webhook_models",
        "WebhookEvent": _WEBHOOKS,
        "WebhookPaymentData": _WEBHOOKS,
        "sign_webhook": _WEBHOOKS,
        "verify_webhook": _WEBHOOKS,
    }
)


def homed_in(module: str) -> dict[str, str]:
    """The lazy names that live in ``module``, each mapped to it."""
    return {name: home for name, home in LAZY.items() if home == module}


def attach(
    package: str, homes: Mapping[str, str], names: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` for module ``package``.

    ``__getattr__`` imports a name of ``homes`` from its module on first access and
    caches it in the package's namespace, so later lookups cost nothing; ``__dir__``
    lists the namespace and ``names`` (the package's ``__all__``).
    """
    listed = tuple(names)

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        vars(sys.modules[package])[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *listed})

    return __getattr__, __dir__
