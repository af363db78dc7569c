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

#: Each lazily loaded public name of ``payven_async``, and the module it lives in.
LAZY: Mapping[str, str] = MappingProxyType(
    {
        "CaptureRequest": _OPERATION_MODELS,
        "MemoryTransport": "payven_async._memory",
        "PaymentHistory": _OPERATION_MODELS,
        "PaymentHistoryEntry": _OPERATION_MODELS,
        "PaymentRequest": _OPERATION_MODELS,
        "RefundReasonCode": _OPERATION_MODELS,
        "RefundRequest": _OPERATION_MODELS,
        "ThreeDSInitRequest": _OPERATION_MODELS,
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
