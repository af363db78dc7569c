"""The API's operations as data: one row per endpoint, and the request each row builds.

A row (:class:`Operation`) says everything the client needs to call an endpoint: its
method and path template, which service serves it, the request and answer models,
the key style and content type of the body (camelCase and ``application/json;
ver=1.0`` for pay, as seed 000 sends it; snake_case and plain JSON for the rest), how
it may be retried, whether it moves money, and which rules check its input. Adding an
endpoint is a row in :data:`OPERATIONS` and a typed, documented method on the client
that calls :meth:`Operation.prepare` and the pipeline; nothing else.

:meth:`Operation.prepare` is the sans-I/O core of a call: it checks every input (ids,
query parameters, the idempotency key, the body) and raises one
:class:`~payven_async.errors.ValidationError` listing every problem, before any I/O;
then it builds the immutable :class:`~payven_async._http.Request`.

The models of the payment operations beyond pay and query load on first use (the
import-time budget): their rows name them as text, resolved by :class:`ModelRef`.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar
from urllib.parse import quote

import attrs

from . import _listing_checks as listing_checks, _meta, _rules as rules, _validate as validate
from ._converters import TEXT_ENCODERS, KeyStyle, encode, encode_text
from ._http import Request
from ._json import to_json_text as _to_json
from .errors import Problem, ValidationError
from .models import (
    CheckoutSession,
    CheckoutSessionRequest,
    PaymentQuery,
    PaymentResult,
    PayRequest,
    Token,
)

if TYPE_CHECKING:
    from ._operation_models import PaymentHistory

__all__ = [
    "BULK_RESOLVE_RECONCILIATION_DETAILS",
    "CANCEL_RECONCILIATION",
    "CAPTURE",
    "COMPLETE_3DS",
    "CREATE_CHECKOUT_SESSION",
    "CREATE_PAYMENT",
    "CREATE_WEBHOOK",
    "DELETE_WEBHOOK",
    "FINALIZE_RECONCILIATION",
    "FORBIDDEN_HEADERS",
    "GET_CHECKOUT_SESSION",
    "GET_PAYMENT",
    "GET_PAYMENT_HISTORY",
    "GET_RECONCILIATION",
    "GET_TRACE",
    "GET_TRANSACTION",
    "GET_TRANSACTION_HISTORY",
    "GET_WEBHOOK",
    "INIT_3DS",
    "LIST_CHARGEBACKS",
    "LIST_RECONCILIATIONS",
    "LIST_RECONCILIATION_DETAILS",
    "LIST_REFUNDS",
    "LIST_SETTLEMENTS",
    "LIST_TRANSACTIONS",
    "LIST_WEBHOOKS",
    "LIST_WEBHOOK_DELIVERIES",
    "OPERATIONS",
    "PAY",
    "QUERY",
    "REFRESH",
    "REFUND",
    "RESOLVE_RECONCILIATION_DETAIL",
    "ROTATE_WEBHOOK_SECRET",
    "START_RECONCILIATION",
    "TOKEN",
    "UPDATE_WEBHOOK",
    "VOID",
    "ModelRef",
    "Operation",
    "Retry",
    "extra_headers_problems",
    "new_idempotency_key",
]

T = TypeVar("T")

#: Generation A's versioned media type, which the pay seed sends.
JSON_V1 = "application/json; ver=1.0"
JSON = "application/json"

_plain = rules.PLAIN_ID_RE.fullmatch


_new = tuple.__new__


class Retry(enum.Enum):
    """How a row may be retried after a fault a retry may cure (see ``_retry``)."""

    #: A read: nothing changes on the server, so it is always safe to send again.
    READ = "read"
    #: A write under an ``Idempotency-Key``, reused on every attempt: the service
    #: replays the first answer instead of acting twice.
    KEYED = "keyed"
    #: A token request to the identity service (never authenticated itself).
    IDENTITY = "identity"
    #: Never sent twice.
    NEVER = "never"


class ModelRef:
    """A model of :mod:`._operation_models` (or of another lazily loaded module of the
    package, ``module``), named here and loaded on first use."""

    __slots__ = ("_model", "module", "name")

    def __init__(self, name: str, module: str = "_operation_models") -> None:
        self.name = name
        self.module = module
        self._model: type | None = None

    def get(self) -> type:
        """The model class (its module is imported the first time)."""
        model = self._model
        if model is None:
            import importlib

            home = importlib.import_module(f"{__package__}.{self.module}")
            model = self._model = getattr(home, self.name)
        return model

    def __repr__(self) -> str:
        return f"ModelRef({self.name!r})"


def _path_parts(path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split ``/a/{x}/b`` into its literals (``"/a/"``, ``"/b"``) and names (``"x"``)."""
    literals, names = [], []
    rest = path
    while "{" in rest:
        head, _, tail = rest.partition("{")
        name, _, rest = tail.partition("}")
        literals.append(head)
        names.append(name)
    literals.append(rest)
    return tuple(literals), tuple(names)


@attrs.frozen
class Operation(Generic[T]):
    """One endpoint of the API, as data.

    ``response`` is the model the answer decodes into; ``request`` the body's model
    (``dict`` for the identity service's two-field bodies, ``None`` for no body), and
    ``check`` its rules (``_validate``). ``body_ids`` are path ids the body repeats (a
    refund's body carries its ``transaction_id`` too). ``label`` names the operation in
    messages ("the refund was declined").
    """

    name: str
    method: Literal["GET", "POST", "PUT", "DELETE"]
    path: str
    response: type[T] | ModelRef
    request: type | ModelRef | None = None
    check: Callable[[Any], list[Problem]] | None = None
    service: Literal["identity", "vpos"] = "vpos"
    style: KeyStyle = "snake"
    content_type: str = JSON
    retry: Retry = Retry.READ
    moves_money: bool = False
    label: str = ""
    body_ids: tuple[str, ...] = ()
    query: tuple[str, ...] = ()
    optional_body: bool = False
    #: Query names whose values are free text (a search term), not identifiers.
    query_texts: tuple[str, ...] = ()
    # Worked out once from the fields above, for the hot path (see __attrs_post_init__).
    literals: tuple[str, ...] = attrs.field(init=False, repr=False)
    id_names: tuple[str, ...] = attrs.field(init=False, repr=False)
    authenticated: bool = attrs.field(init=False, repr=False)
    keyed: bool = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        literals, names = _path_parts(self.path)
        object.__setattr__(self, "literals", literals)
        object.__setattr__(self, "id_names", names)
        # Every vpos call carries the access token; identity calls never do.
        object.__setattr__(self, "authenticated", self.service == "vpos")
        # A keyed row sends an Idempotency-Key, the same on every attempt.
        object.__setattr__(self, "keyed", self.retry is Retry.KEYED)

    def prepare(
        self,
        base_url: str,
        *ids: Any,
        body: Any = None,
        query: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        authorization: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Request:
        """Check every input and build the request; raise one error listing every problem.

        ``ids`` fill the path's ``{...}`` names in order; ``query`` may only hold this
        row's query names (``None`` values are left out); ``idempotency_key`` is the
        caller's key for a keyed row (a fresh one is made when it is None).
        ``authorization`` is the ``Authorization`` header's value when the caller holds
        a valid token now: the pipeline then sends this very request, instead of a
        copy with the header added (5k instructions a call). ``extra_headers`` are
        the caller's own headers for this call (see :func:`extra_headers_problems`).
        Every request carries an ``X-Correlation-Id``, the same on each of its attempts:
        a fresh one of the client's (see ``_meta``), or the caller's own, given in
        ``extra_headers``.
        """
        literals = self.literals
        problems: list[Problem] = []
        extra = None if extra_headers is None else _extra_headers(extra_headers, problems)
        if len(ids) == 1 and not query and type(ids[0]) is str and _plain(ids[0]) is not None:
            # The usual call: one id, valid and its own path segment, no query.
            url = f"{base_url}{literals[0]}{ids[0]}{literals[1]}"
        else:
            url = self._url(base_url, ids, query, problems)
        if self.keyed:
            if idempotency_key is None:
                idempotency_key = new_idempotency_key()  # ours: no need to check it
            else:
                validate.id_problems("idempotency_key", idempotency_key, problems)
        if self.request is None:
            if problems:
                raise ValidationError(problems)
            # tuple.__new__ rather than Request(): the named tuple's own __new__ is a
            # Python function, 1.5k instructions more on every call.
            headers: dict[str, str] = {"X-Correlation-Id": _meta.next_correlation_id()}
            if authorization is not None:
                headers["Authorization"] = authorization
            if extra is not None:
                headers.update(extra)
            return _new(
                Request, (self.method, url, headers, None, self.name, False, None, None, None, 1)
            )
        if type(body) is self.request and not problems and not self.body_ids:
            # The usual body: of the row's own class, with nothing to add from the path.
            if self.check is not None:
                found = self.check(body)
                if found:
                    raise ValidationError(found)
            if self.request is dict:
                text = _to_json(body)
            else:
                # encode_text() written out for a body whose text encoder is made: a
                # call less. The pay body's goes straight to JSON text (see _fastpath).
                encoder = TEXT_ENCODERS[self.style].get(type(body))
                text = encode_text(body, self.style) if encoder is None else encoder(body)
        else:
            data = self._body_data(body, ids, problems)
            if problems:
                raise ValidationError(problems)
            text = _to_json(data)
        headers = {
            "Content-Type": self.content_type,
            "X-Correlation-Id": _meta.next_correlation_id(),
        }
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        if authorization is not None:
            headers["Authorization"] = authorization
        if extra is not None:
            headers.update(extra)
        try:
            payload = text.encode()
        except UnicodeEncodeError:
            # A text with a lone surrogate: the checks leave finding those to the
            # encoder (see _validate); say which field it was, still before any I/O.
            found = validate.unsendable_texts(body)
            raise ValidationError(
                found or [Problem("request", rules.CODES["lone_surrogate"])]
            ) from None
        if not self.moves_money:
            return Request(self.method, url, headers, payload, self.name)
        transaction_id = (
            ids[self.id_names.index("transaction_id")]
            if "transaction_id" in self.id_names
            else getattr(body, "transaction_id", None)
        )
        return _new(
            Request,
            (
                self.method,
                url,
                headers,
                payload,
                self.name,
                True,
                idempotency_key,
                getattr(body, "external_id", None),
                transaction_id,
                1,
            ),
        )

    def _url(
        self,
        base_url: str,
        ids: tuple[Any, ...],
        query: Mapping[str, Any] | None,
        problems: list[Problem],
    ) -> str:
        """The URL for any ids and query (problems are appended, not raised)."""
        url = base_url + self.literals[0]
        for name, value, literal in zip(self.id_names, ids, self.literals[1:], strict=True):
            if rules.identifier(value) is None:
                url += quote(value, safe="") + literal
            else:
                validate.id_problems(name, value, problems)
        if query:
            url += self._query_string(query, problems)
        return url

    def _query_string(self, query: Mapping[str, Any], problems: list[Problem]) -> str:
        pairs = []
        for name, value in query.items():
            if name not in self.query:
                raise TypeError(f"{self.name} takes no query parameter {name!r}")
            if value is None:
                continue
            before = len(problems)
            if name in self.query_texts:
                code = rules.text(value)
                if code is not None:
                    problems.append(Problem(name, rules.CODES[code]))
            else:
                validate.id_problems(name, value, problems)
            if len(problems) == before:
                pairs.append(f"{name}={quote(value, safe='')}")
        return "?" + "&".join(pairs) if pairs else ""

    def _body_data(self, body: Any, ids: tuple[Any, ...], problems: list[Problem]) -> Any:
        """The body as JSON-ready data, after checking it (problems are appended)."""
        assert self.request is not None
        model = self.request.get() if isinstance(self.request, ModelRef) else self.request
        if body is None and self.optional_body:
            data: dict[str, Any] = {}
        elif not isinstance(body, model):
            alternative = " or None" if self.optional_body else ""
            problems.append(Problem("request", f"must be a {model.__name__}{alternative}"))
            return None
        else:
            if self.check is not None:
                problems += self.check(body)
            if problems:
                return None
            data = body if model is dict else encode(body, self.style)  # type: ignore[assignment]
        if self.body_ids:
            data = {**dict(zip(self.id_names, ids, strict=True)), **data}
        return data


#: Headers ``extra_headers=`` may not set: the client's own, which a call's other
#: arguments control (``idempotency_key=``) or which the transport manages.
FORBIDDEN_HEADERS = frozenset(
    {"authorization", "idempotency-key", "content-type", "content-length", "host"}
)


def _extra_headers(headers: Any, problems: list[Problem]) -> dict[str, str] | None:
    """The caller's ``extra_headers``, checked (problems appended); None when empty.

    Names and values must be text, a name a token of letters, digits and ``-``, a
    value free of line breaks (no header injection); none of :data:`FORBIDDEN_HEADERS`.
    A caller's ``X-Correlation-Id`` (any case) replaces the client's own.
    """
    if not isinstance(headers, Mapping):
        problems.append(Problem("extra_headers", "must be a mapping of header names to text"))
        return None
    extra: dict[str, str] = {}
    for name, value in headers.items():
        where = f"extra_headers[{name!r}]"
        if type(name) is not str or not _HEADER_NAME(name):
            problems.append(Problem(where, "must be a header name (letters, digits, '-')"))
        elif name.lower() in FORBIDDEN_HEADERS:
            advice = " (use idempotency_key=)" if name.lower() == "idempotency-key" else ""
            problems.append(Problem(where, f"the client sets this header itself{advice}"))
        elif type(value) is not str or "\r" in value or "\n" in value or "\0" in value:
            problems.append(Problem(where, "must be text without line breaks"))
        else:
            extra["X-Correlation-Id" if name.lower() == "x-correlation-id" else name] = value
    return extra or None


def extra_headers_problems(headers: Any, problems: list[Problem]) -> None:
    """Append the problems of a call's ``extra_headers`` (see :func:`_extra_headers`)."""
    _extra_headers(headers, problems)


_HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$%&'*+.^_`|~-]{0,127}").fullmatch


# The UUID variant digit ("8", "9", "a" or "b") for each hex digit's low two bits.
_UUID_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def new_idempotency_key() -> str:
    """A fresh ``Idempotency-Key`` for one logical call: a random (version 4) UUID.

    What ``str(uuid.uuid4())`` gives, at less than half its cost (it builds a ``UUID``
    object to format it): 7.5k instructions against 20.5k.
    """
    digits = os.urandom(16).hex()
    return (
        f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-"
        f"{_UUID_VARIANT[digits[16]]}{digits[17:20]}-{digits[20:]}"
    )


# --- the table -----------------------------------------------------------------------------------

_AUTH = "/api/v1/auth/{slug}"
_PAYMENT = "/api/v1/payments/{transaction_id}"

TOKEN: Operation[Token] = Operation(
    "token",
    "POST",
    f"{_AUTH}/token",
    Token,
    request=dict,
    service="identity",
    retry=Retry.IDENTITY,
)
REFRESH: Operation[Token] = Operation(
    "refresh",
    "POST",
    f"{_AUTH}/refresh",
    Token,
    request=dict,
    service="identity",
    retry=Retry.IDENTITY,
)
PAY: Operation[PaymentResult] = Operation(
    "pay",
    "POST",
    "/api/v1/checkout/sessions/{session_id}/pay",
    PaymentResult,
    request=PayRequest,
    check=validate.pay_problems,
    style="camel",  # seed 000: generation A
    content_type=JSON_V1,
    retry=Retry.KEYED,
    moves_money=True,
    label="payment",
)
QUERY: Operation[PaymentQuery] = Operation(
    "query", "GET", f"{_PAYMENT}/query", PaymentQuery, query=("order_id",)
)
CREATE_CHECKOUT_SESSION: Operation[CheckoutSession] = Operation(
    "create_checkout_session",
    "POST",
    "/api/v1/checkout/sessions",
    CheckoutSession,
    request=CheckoutSessionRequest,
    check=validate.checkout_session_problems,
    retry=Retry.KEYED,
)
GET_CHECKOUT_SESSION: Operation[CheckoutSession] = Operation(
    "get_checkout_session", "GET", "/api/v1/checkout/sessions/{session_id}", CheckoutSession
)
CREATE_PAYMENT: Operation[PaymentResult] = Operation(
    "create_payment",
    "POST",
    "/api/v1/payments",
    PaymentResult,
    request=ModelRef("PaymentRequest"),
    check=validate.charge_problems,
    retry=Retry.KEYED,
    moves_money=True,
    label="payment",
)
INIT_3DS: Operation[PaymentResult] = Operation(
    "init_3ds",
    "POST",
    "/api/v1/payments/3d/init",
    PaymentResult,
    request=ModelRef("ThreeDSInitRequest"),
    check=validate.three_ds_init_problems,
    retry=Retry.KEYED,
    moves_money=True,
    label="3-D Secure init",
)
COMPLETE_3DS: Operation[PaymentResult] = Operation(
    "complete_3ds",
    "POST",
    "/api/v1/payments/3d/complete",
    PaymentResult,
    request=ModelRef("ThreeDSCompleteRequest"),
    check=validate.complete_3ds_problems,
    retry=Retry.KEYED,
    moves_money=True,
    label="3-D Secure complete",
)
GET_PAYMENT: Operation[PaymentResult] = Operation("get_payment", "GET", _PAYMENT, PaymentResult)
GET_PAYMENT_HISTORY: Operation[PaymentHistory] = Operation(
    "get_payment_history",
    "GET",
    f"{_PAYMENT}/history",
    ModelRef("PaymentHistory"),
    query=("order_id",),
)
REFUND: Operation[PaymentResult] = Operation(
    "refund",
    "POST",
    f"{_PAYMENT}/refund",
    PaymentResult,
    request=ModelRef("RefundRequest"),
    check=validate.refund_problems,
    retry=Retry.KEYED,
    moves_money=True,
    label="refund",
    body_ids=("transaction_id",),
)
VOID: Operation[PaymentResult] = Operation(
    "void",
    "POST",
    f"{_PAYMENT}/void",
    PaymentResult,
    request=ModelRef("VoidRequest"),
    check=validate.void_problems,
    retry=Retry.KEYED,
    moves_money=True,
    label="void",
    body_ids=("transaction_id",),
    optional_body=True,
)
CAPTURE: Operation[PaymentResult] = Operation(
    "capture",
    "POST",
    f"{_PAYMENT}/capture",
    PaymentResult,
    request=ModelRef("CaptureRequest"),
    check=validate.capture_problems,
    retry=Retry.KEYED,
    moves_money=True,
    label="capture",
    body_ids=("transaction_id",),
)

# --- the read side and reconciliation (models in ._listing_models) ---------------------------

_LISTING = "_listing_models"
_PAGING = ("page", "page_size")
_RECONCILIATION = "/api/v1/reconciliations/{id}"

#: The spec's filters of each list, in its order (the query names the client sends).
TRANSACTION_FILTERS = (
    "start_date",
    "end_date",
    "status",
    "operation_type",
    "payment_type",
    "secure_type",
    "card_schema_type",
    "card_type",
    "installment_count",
    "bin_number",
    "min_amount",
    "max_amount",
    "merchant_id",
    "external_merchant_id",
    "basket_id",
    "connector_code",
    "connector_configuration_id",
    "search_term",
)
REFUND_FILTERS = (
    "start_date",
    "end_date",
    "status",
    "reason_code",
    "refund_type",
    "merchant_id",
    "external_merchant_id",
    "min_amount",
    "max_amount",
    "sla_breached",
    "search_term",
)
SETTLEMENT_FILTERS = ("merchant_id", "bank_code", "status", "start_date", "end_date")
CHARGEBACK_FILTERS = ("status", "transaction_id", "start_date", "end_date")
RECONCILIATION_FILTERS = (
    "scope",
    "connector_config_id",
    "merchant_id",
    "bank_code",
    "period",
    "overall_status",
    "start_date",
    "end_date",
)
RECONCILIATION_DETAIL_FILTERS = ("discrepancy", "detail_status", "only_pending")

LIST_TRANSACTIONS: Operation[Any] = Operation(
    "list_transactions",
    "GET",
    "/api/v1/transactions",
    ModelRef("TransactionPage", _LISTING),
    query=_PAGING + TRANSACTION_FILTERS,
    query_texts=("search_term",),
)
GET_TRANSACTION: Operation[Any] = Operation(
    "get_transaction", "GET", "/api/v1/transactions/{id}", ModelRef("Transaction", _LISTING)
)
GET_TRANSACTION_HISTORY: Operation[Any] = Operation(
    "get_transaction_history",
    "GET",
    "/api/v1/transactions/{id}/histories",
    ModelRef("TRANSACTION_HISTORY", _LISTING),
)
LIST_REFUNDS: Operation[Any] = Operation(
    "list_refunds",
    "GET",
    "/api/v1/refunds",
    ModelRef("RefundPage", _LISTING),
    query=_PAGING + REFUND_FILTERS,
    query_texts=("search_term",),
)
LIST_SETTLEMENTS: Operation[Any] = Operation(
    "list_settlements",
    "GET",
    "/api/v1/settlements",
    ModelRef("SettlementPage", _LISTING),
    query=_PAGING + SETTLEMENT_FILTERS,
)
LIST_CHARGEBACKS: Operation[Any] = Operation(
    "list_chargebacks",
    "GET",
    "/api/v1/chargebacks",
    ModelRef("ChargebackPage", _LISTING),
    query=_PAGING + CHARGEBACK_FILTERS,
)
GET_TRACE: Operation[Any] = Operation(
    "get_trace", "GET", "/api/v1/trace/{correlation_id}", ModelRef("Trace", _LISTING)
)
START_RECONCILIATION: Operation[Any] = Operation(
    "start_reconciliation",
    "POST",
    "/api/v1/reconciliations/start",
    ModelRef("Reconciliation", _LISTING),
    request=ModelRef("StartReconciliationRequest", _LISTING),
    check=listing_checks.start_reconciliation_problems,
    retry=Retry.KEYED,
)
LIST_RECONCILIATIONS: Operation[Any] = Operation(
    "list_reconciliations",
    "GET",
    "/api/v1/reconciliations",
    ModelRef("ReconciliationPage", _LISTING),
    query=_PAGING + RECONCILIATION_FILTERS,
)
GET_RECONCILIATION: Operation[Any] = Operation(
    "get_reconciliation", "GET", _RECONCILIATION, ModelRef("Reconciliation", _LISTING)
)
LIST_RECONCILIATION_DETAILS: Operation[Any] = Operation(
    "list_reconciliation_details",
    "GET",
    f"{_RECONCILIATION}/details",
    ModelRef("ReconciliationDetailPage", _LISTING),
    query=_PAGING + RECONCILIATION_DETAIL_FILTERS,
)
RESOLVE_RECONCILIATION_DETAIL: Operation[Any] = Operation(
    "resolve_reconciliation_detail",
    "POST",
    f"{_RECONCILIATION}/details/{{detail_id}}/resolve",
    ModelRef("ReconciliationDetail", _LISTING),
    request=ModelRef("ResolveReconciliationDetailRequest", _LISTING),
    check=listing_checks.resolve_detail_problems,
    retry=Retry.KEYED,
)
BULK_RESOLVE_RECONCILIATION_DETAILS: Operation[Any] = Operation(
    "bulk_resolve_reconciliation_details",
    "POST",
    f"{_RECONCILIATION}/details/bulk-resolve",
    ModelRef("BulkResolveResult", _LISTING),
    request=ModelRef("BulkResolveRequest", _LISTING),
    check=listing_checks.bulk_resolve_problems,
    retry=Retry.KEYED,
)
FINALIZE_RECONCILIATION: Operation[Any] = Operation(
    "finalize_reconciliation",
    "POST",
    f"{_RECONCILIATION}/finalize",
    ModelRef("Reconciliation", _LISTING),
    request=ModelRef("FinalizeReconciliationRequest", _LISTING),
    check=listing_checks.finalize_problems,
    retry=Retry.KEYED,
)
CANCEL_RECONCILIATION: Operation[Any] = Operation(
    "cancel_reconciliation",
    "POST",
    f"{_RECONCILIATION}/cancel",
    ModelRef("Reconciliation", _LISTING),
    request=ModelRef("CancelReconciliationRequest", _LISTING),
    check=listing_checks.cancel_problems,
    retry=Retry.KEYED,
)

# --- webhook subscriptions (generation B's /api/v1/webhooks) ----------------------------

_WEBHOOKS = "/api/v1/webhooks"
_W = "_webhook_models"

CREATE_WEBHOOK: Operation[Any] = Operation(
    "create_webhook",
    "POST",
    _WEBHOOKS,
    ModelRef("WebhookSubscription", _W),
    request=ModelRef("WebhookSubscriptionRequest", _W),
    check=validate.webhook_subscription_problems,
    retry=Retry.KEYED,
)
LIST_WEBHOOKS: Operation[Any] = Operation(
    "list_webhooks", "GET", _WEBHOOKS, ModelRef("WebhookSubscriptionList", _W)
)
GET_WEBHOOK: Operation[Any] = Operation(
    "get_webhook", "GET", f"{_WEBHOOKS}/{{id}}", ModelRef("WebhookSubscription", _W)
)
UPDATE_WEBHOOK: Operation[Any] = Operation(
    "update_webhook",
    "PUT",
    f"{_WEBHOOKS}/{{id}}",
    ModelRef("Acknowledged", _W),
    request=ModelRef("WebhookSubscriptionRequest", _W),
    check=validate.webhook_subscription_problems,
    body_ids=("id",),  # UpdateWebhookCommand repeats the id
)
DELETE_WEBHOOK: Operation[Any] = Operation(
    "delete_webhook",
    "DELETE",
    f"{_WEBHOOKS}/{{id}}",
    ModelRef("Acknowledged", _W),
    retry=Retry.NEVER,  # a repeated delete that had worked would answer 404
)
ROTATE_WEBHOOK_SECRET: Operation[Any] = Operation(
    "rotate_webhook_secret",
    "POST",
    f"{_WEBHOOKS}/{{id}}/rotate-secret",
    ModelRef("WebhookSubscription", _W),
    request=dict,
    optional_body=True,  # no body of its own: {} carries the Idempotency-Key's request
    retry=Retry.KEYED,
)
LIST_WEBHOOK_DELIVERIES: Operation[Any] = Operation(
    "list_webhook_deliveries",
    "GET",
    f"{_WEBHOOKS}/{{id}}/deliveries",
    ModelRef("WebhookDeliveryLogList", _W),
    query=("page", "page_size"),
)

#: Every operation, by name.
OPERATIONS: Mapping[str, Operation[Any]] = MappingProxyType(
    {
        operation.name: operation
        for operation in (
            TOKEN,
            REFRESH,
            PAY,
            QUERY,
            CREATE_CHECKOUT_SESSION,
            GET_CHECKOUT_SESSION,
            CREATE_PAYMENT,
            INIT_3DS,
            COMPLETE_3DS,
            GET_PAYMENT,
            GET_PAYMENT_HISTORY,
            REFUND,
            VOID,
            CAPTURE,
            LIST_TRANSACTIONS,
            GET_TRANSACTION,
            GET_TRANSACTION_HISTORY,
            LIST_REFUNDS,
            LIST_SETTLEMENTS,
            LIST_CHARGEBACKS,
            GET_TRACE,
            START_RECONCILIATION,
            LIST_RECONCILIATIONS,
            GET_RECONCILIATION,
            LIST_RECONCILIATION_DETAILS,
            RESOLVE_RECONCILIATION_DETAIL,
            BULK_RESOLVE_RECONCILIATION_DETAILS,
            FINALIZE_RECONCILIATION,
            CANCEL_RECONCILIATION,
            CREATE_WEBHOOK,
            LIST_WEBHOOKS,
            GET_WEBHOOK,
            UPDATE_WEBHOOK,
            DELETE_WEBHOOK,
            ROTATE_WEBHOOK_SECRET,
            LIST_WEBHOOK_DELIVERIES,
        )
    }
)
