"""The data payven sends and receives, as attrs classes.

These classes know nothing about JSON: key spelling, envelopes, enum spelling and
number handling live in :mod:`payven_async._hooks`. Attribute names are the snake_case
of the wire names.

Amounts are integer minor units (kuruş): ``Money(15000, "TRY")`` is 150,00 TRY. Use
:meth:`Money.from_decimal` to convert from a ``Decimal`` amount in major units.

Response models keep every key the service sent that they do not know in
``unknown_fields``, so that nothing the API adds is ever silently dropped. A value of
a type the model cannot place (an object where a text belongs) is kept there too,
under the key it came with, and ``decode_problems`` maps its field to what was wrong;
the field keeps its default. Only a field that every successful answer has
(``PaymentResult.transaction_id``, ``CheckoutSession.session_id``,
``Token.access_token``) is required: an answer without it is a ``DecodeError``.

Request models are mutable slotted attrs classes (see :class:`_Input`). Answer models
are frozen attrs classes with a ``__dict__``: a frozen slotted class's ``__init__``
sets each slot through ``object.__setattr__``, while a frozen class with a
``__dict__`` stores each field straight into it, and an answer is built on every call
(``PaymentResult`` decodes in 19.6k instructions instead of 24.4k, callgrind).
``PaymentQuery`` keeps its slots: the wire layer decodes its detail records on first
access through a descriptor in front of their slots.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, cast

import attrs

from ._lazy import attach, homed_in
from ._redact import REDACTED, mask_pan, redact_text

if TYPE_CHECKING:
    from ._operation_models import (
        CaptureRequest,
        PaymentHistory,
        PaymentHistoryEntry,
        PaymentRequest,
        RefundReasonCode,
        RefundRequest,
        ThreeDSInitRequest,
        VoidRequest,
    )
    from .errors import PayvenError

__all__ = [
    "Address",
    "BasketItem",
    "Buyer",
    "CaptureRequest",
    "Card",
    "CheckoutPaymentMode",
    "CheckoutSession",
    "CheckoutSessionRequest",
    "Money",
    "OperationType",
    "PayRequest",
    "PaymentHistory",
    "PaymentHistoryEntry",
    "PaymentQuery",
    "PaymentQueryDetail",
    "PaymentRequest",
    "PaymentResult",
    "QueryFailed",
    "QueryOutcome",
    "QuerySucceeded",
    "RefundReasonCode",
    "RefundRequest",
    "ResponseMeta",
    "ThreeDSInitRequest",
    "Token",
    "VoidRequest",
]


class _NoProblems(Mapping[str, str]):
    """The ``decode_problems`` of an answer whose every value was placed: an empty,
    read-only mapping, one for all (an answer is built on every call, and a new ``dict``
    each time would cost a call), that copies and pickles as itself."""

    __slots__ = ()

    def __getitem__(self, key: str) -> str:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"

    def __reduce__(self) -> str:
        return "NO_PROBLEMS"  # the module global: unpickles as this very object

    def __copy__(self) -> _NoProblems:
        return self

    def __deepcopy__(self, memo: object) -> _NoProblems:
        return self


NO_PROBLEMS: Mapping[str, str] = _NoProblems()

# ISO 4217 minor-unit exponents for the currencies the API mentions; anything else is
# assumed to have two decimals, as nearly every currency does.
_MINOR_UNIT_EXPONENTS = {"TRY": 2, "USD": 2, "EUR": 2, "GBP": 2, "JPY": 0}


def _hidden(_: object) -> str:
    return REDACTED


def _masked_pan(number: object) -> str:
    return mask_pan(str(number))


def _compact_number(value: str | int) -> str:
    # People paste "4546 7112 3456 7894"; the API wants the digits alone.
    if type(value) is str and value.isdigit():
        return value  # the usual number, as it is
    return str(value).replace(" ", "").replace("-", "")


def _two_digit_month(value: str | int) -> str:
    if type(value) is str and len(value) == 2:
        return value  # the usual "01" to "12" (or a mistake, for validation to name)
    text = str(value).strip()
    return text.zfill(2) if text.isdigit() and len(text) == 1 else text


def _four_digit_year(value: str | int) -> str:
    if type(value) is str and len(value) == 4:
        return value  # the usual "2030" (or a mistake, for validation to name)
    text = str(value).strip()
    # "30" means 2030 on a card's face; the API wants four digits.
    return f"20{text}" if text.isdigit() and len(text) == 2 else text


class _Model:
    """The base of the models here and in ``_operation_models``: the dunder methods
    they all share, written once.

    They are declared with ``repr=False, eq=False`` and inherit ``__repr__``,
    ``__eq__`` and ``__hash__`` from here, which behave exactly as the ones attrs
    generates for a frozen class: the repr reads ``Money(amount=15000, currency='TRY')``
    and honours each field's ``repr=`` (hidden, masked or left out), with card numbers
    and secrets in free text masked (:func:`~._redact.redact_text`); two models are
    equal when they are of the same class with equal fields; the hash is that of the
    class and the fields. Having attrs generate and compile these for every class cost
    about a fifth of the package's import time (some 4 ms, measured).
    """

    __slots__ = ()

    def _fields(self) -> tuple[attrs.Attribute[Any], ...]:
        # Every subclass is an attrs class; _Model itself is never instantiated.
        fields: tuple[attrs.Attribute[Any], ...] = attrs.fields(
            cast("type[attrs.AttrsInstance]", type(self))
        )
        return fields

    def __repr__(self) -> str:
        parts = []
        for field in self._fields():
            if field.repr is False:
                continue
            value = getattr(self, field.name)
            shown = repr(value) if field.repr is True else field.repr(value)
            parts.append(f"{field.name}={shown}")
        # Free text (a description, extra properties) may hold a card number, spaced
        # or dashed, or a CVV pair: the whole repr passes through the redactor.
        return redact_text(f"{type(self).__qualname__}({', '.join(parts)})")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, field.name) for field in self._fields())

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), *self._values()))


class _Input(_Model):
    """The base of the request models: the bodies a caller builds for one call.

    They are mutable (attrs ``define``), unlike the answers, and so unhashable. A
    frozen attrs ``__init__`` sets every slot through ``object.__setattr__``: for the
    nine objects of a full pay request that was 77k instructions against 41k mutable
    (callgrind), half of the 15% the whole call may cost over hand-written aiohttp.
    Nothing is lost by it: a request is checked when it is sent, not when it is built,
    and the client reads it once, before its first ``await``.
    """

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]  # mutable and compared by value


def _no_headers() -> Mapping[str, str]:
    return MappingProxyType({})


@attrs.frozen
class ResponseMeta:
    """The HTTP exchange behind a result or an error (``result.meta``, ``error.meta``).

    ``correlation_id`` is the service's ``X-Correlation-Id`` (the one the client sent,
    when the service echoed none): quote it to Payven's support. ``status`` and
    ``headers`` are the last answer's (None and empty when no answer came, e.g. a
    timeout); ``idempotent_replayed`` is True when the service answered a repeated
    ``Idempotency-Key`` with the first call's answer instead of acting again;
    ``attempts`` counts the HTTP attempts of the call (1 without retries); ``elapsed``
    is the call's time in seconds, retries and waits included; ``idempotency_key`` is
    the key a keyed call carried.
    """

    correlation_id: str | None
    status: int | None
    headers: Mapping[str, str] = attrs.field(factory=_no_headers, repr=False)
    idempotent_replayed: bool = False
    attempts: int = 1
    elapsed: float = 0.0
    call: str = ""
    idempotency_key: str | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        # An aiohttp answer's headers cannot be pickled: a plain copy of them is.
        return (
            _rebuilt_meta,
            (
                self.correlation_id,
                self.status,
                list(self.headers.items()),
                self.idempotent_replayed,
                self.attempts,
                self.elapsed,
                self.call,
                self.idempotency_key,
            ),
        )


def _rebuilt_meta(
    correlation_id: str | None, status: int | None, headers: list[tuple[str, str]], *rest: Any
) -> ResponseMeta:
    """A unpickled :class:`ResponseMeta`, its headers case-insensitive again."""
    from ._http import Headers  # on unpickling only: models load no wire code

    return ResponseMeta(correlation_id, status, Headers(headers), *rest)


class _Answer(_Model):
    """The base of the answer models: what they share beyond :class:`_Model`, ``.meta``.

    The pipeline stores what the meta is made of in the one slot here (a tuple, see
    ``_meta``) and :attr:`meta` builds it on first read, so the usual call pays for a
    store, not for a :class:`~payven_async.ResponseMeta`. It is not a field: it takes
    no part in ``==``, ``repr`` or ``attrs.evolve`` (an evolved copy has no meta).
    """

    __slots__ = ("_payven_meta",)
    _payven_meta: Any  # the slot: a tuple until .meta is first read, then the meta

    @property
    def meta(self) -> ResponseMeta | None:
        """The HTTP exchange this answer came in (correlation id, status, headers,
        ``Idempotent-Replayed``, attempts, elapsed seconds); None for an answer built
        by hand."""
        try:
            source: Any = self._payven_meta
        except AttributeError:
            return None
        if type(source) is not tuple:
            return source  # type: ignore[no-any-return]
        from ._meta import build_meta  # the wire layer, only when a meta is read

        meta = build_meta(source)
        object.__setattr__(self, "_payven_meta", meta)
        return meta

    def __getstate__(self) -> dict[str, Any]:
        # A pickled (or copied) answer keeps its meta, built: the answer behind it
        # holds an HTTP library's headers, which do not pickle. (Slotted answers get
        # attrs' own __getstate__, which keeps the fields only.)
        state = dict(self.__dict__)
        meta = self.meta
        if meta is not None:
            state["_payven_meta"] = meta
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        meta = state.pop("_payven_meta", None)
        self.__dict__.update(state)
        if meta is not None:
            object.__setattr__(self, "_payven_meta", meta)


class OperationType(enum.Enum):
    """What a payment does. Values are the API's names, as sent on the wire."""

    SALE = "Sale"
    PRE_AUTH = "PreAuth"
    POST_AUTH = "PostAuth"
    VOID = "Void"
    REFUND = "Refund"
    RECURRING = "Recurring"


class CheckoutPaymentMode(enum.Enum):
    """How a hosted-checkout session takes the card."""

    NON_3D = "Non3D"
    THREE_D_SECURE = "ThreeDSecure"
    THREE_D_PAY = "ThreeDPay"
    THREE_D_PAY_HOSTING = "ThreeDPayHosting"


@attrs.frozen(slots=False, repr=False, eq=False)
class Money(_Model):
    """An amount in integer minor units (kuruş for TRY) and its ISO 4217 currency."""

    amount: int
    currency: str = "TRY"

    @classmethod
    def from_decimal(cls, value: Decimal | int | str, currency: str = "TRY") -> Money:
        """Convert a major-unit amount (``Decimal("150.00")``) into minor units (15000).

        Floats are refused: they cannot represent most decimal amounts exactly. A value
        with more decimals than the currency has minor units is refused too, rather
        than silently rounded.
        """
        if isinstance(value, (float, bool)):
            raise TypeError("Money.from_decimal takes a Decimal, int or str, never a float")
        exponent = _MINOR_UNIT_EXPONENTS.get(currency, 2)
        minor = Decimal(value).scaleb(exponent)
        if minor != minor.to_integral_value():
            raise ValueError(
                f"{value} {currency} has more than {exponent} decimal places; "
                "round it explicitly before converting"
            )
        return cls(int(minor), currency)

    def to_decimal(self) -> Decimal:
        """The amount in major units, exactly: ``Money(15000)`` is ``Decimal("150.00")``."""
        return Decimal(self.amount).scaleb(-_MINOR_UNIT_EXPONENTS.get(self.currency, 2))


# on_setattr=NO_OP: with an on_setattr hook, attrs' __init__ sets every field through
# object.__setattr__ and the class gets a __setattr__ in Python: building a Card cost
# 10.9k instructions against 5.6k without. The fields are normalised when the card is
# built; a value assigned later is sent as it is (and checked when it is sent).
@attrs.define(repr=False, eq=False, on_setattr=attrs.setters.NO_OP)
class Card(_Input):
    """Card details for a payment. The repr masks the number and hides the CVV.

    The constructor normalises what people paste: spaces and dashes leave the number,
    a one-digit month gets its leading zero, a two-digit year its century.
    """

    holder_name: str
    number: str = attrs.field(converter=_compact_number, repr=_masked_pan)
    expire_month: str = attrs.field(converter=_two_digit_month)
    expire_year: str = attrs.field(converter=_four_digit_year)
    cvv: str = attrs.field(repr=_hidden)

    def __str__(self) -> str:
        return f"{self.holder_name} {mask_pan(self.number)}"


@attrs.define(kw_only=True, repr=False, eq=False)
class Buyer(_Input):
    """The customer paying. ``identity_number`` (T.C. kimlik no) is hidden from the repr."""

    id: str | None = None
    name: str | None = None
    surname: str | None = None
    email: str | None = None
    phone: str | None = None
    ip_address: str | None = None
    identity_number: str | None = attrs.field(default=None, repr=_hidden)


@attrs.define(kw_only=True, repr=False, eq=False)
class Address(_Input):
    """A billing or shipping address."""

    contact_name: str | None = None
    city: str | None = None
    country: str | None = None
    address: str | None = None
    postal_code: str | None = None


@attrs.define(repr=False, eq=False)
class BasketItem(_Input):
    """One line of the basket; ``price`` is in integer minor units.

    ``id`` is your item's id, or None: the API does not require one, and None is not
    sent (``BasketItem(None, "Kitap", 10000)``).
    """

    id: str | None
    name: str
    price: int
    quantity: int = 1


@attrs.define(kw_only=True, repr=False, eq=False)
class PayRequest(_Input):
    """The body of a checkout-session payment (``POST /checkout/sessions/{id}/pay``)."""

    amount: Money
    card: Card
    installment: int = 1
    external_id: str | None = None
    basket_id: str | None = None
    description: str | None = None
    buyer: Buyer | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    basket_items: Sequence[BasketItem] | None = None
    callback_url: str | None = None
    cancel_url: str | None = None
    return_url: str | None = None
    operation_type: OperationType = OperationType.SALE
    extra_properties: Mapping[str, str] | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class CheckoutSessionRequest(_Input):
    """The body of ``POST /checkout/sessions``: a flat amount in minor units and a currency."""

    amount: int
    currency: str = "TRY"
    merchant_name: str | None = None
    allowed_installments: Sequence[int] | None = None
    description: str | None = None
    external_id: str | None = None
    basket_id: str | None = None
    customer_email: str | None = None
    customer_phone: str | None = None
    metadata: Mapping[str, str] | None = None
    payment_mode: CheckoutPaymentMode | None = None
    allow_pre_auth: bool | None = None
    is_test_session: bool | None = None
    success_url: str | None = None
    cancel_url: str | None = None


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class PaymentResult(_Answer):
    """The answer to a payment operation (``PaymentOperationResultDto``).

    ``transaction_id`` is always there: an answer without one is a ``DecodeError`` (for
    a money-moving call, a ``PaymentOutcomeUnknown``). When the service answers with the
    richer ``PaymentStatusDto`` shape (``get_payment`` always does), ``amount``,
    ``currency``, ``is_3d_secure``, ``created`` and ``basket_id`` are filled too.
    ``amount`` is integer minor units, an ``int``; the older wire generation types it
    as a double, and a fractional one (``150.5``) is the exact ``Decimal`` instead,
    never a ``float``. After a 3-D Secure init, :attr:`redirect_url`,
    :attr:`redirect_method` and :attr:`html_content` say where the customer goes next.
    """

    transaction_id: str
    status: str | None = None
    is_success: bool = False
    message: str | None = None
    error_code: str | None = None
    provider_error_code: str | None = None
    extra_properties: Mapping[str, str | None] = attrs.field(factory=dict)
    amount: int | Decimal | None = None
    currency: str | None = None
    is_3d_secure: bool | None = None
    created: datetime | None = None
    basket_id: str | None = None
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)

    # 3-D Secure init answers carry where to send the customer in ``extra_properties``.

    @property
    def redirect_url(self) -> str | None:
        """3-D Secure init: the bank page to send the customer to (``extra_properties``)."""
        return self._extra("redirect_url")

    @property
    def redirect_method(self) -> str | None:
        """3-D Secure init: how to go to ``redirect_url`` (``GET`` or ``POST``), if stated."""
        return self._extra("redirect_method")

    @property
    def html_content(self) -> str | None:
        """3-D Secure init: a self-submitting bank form to render (or ``None``).

        Render it as the page (or in an iframe's ``srcdoc``); when it is empty, redirect
        to :attr:`redirect_url` instead.
        """
        return self._extra("html_content")

    def _extra(self, key: str) -> str | None:
        # Documented in extra_properties; a top-level key (any spelling) is accepted too.
        value = self.extra_properties.get(key) if self.extra_properties else None
        if value is None:
            folded = key.replace("_", "")
            for name, item in self.unknown_fields.items():
                if isinstance(name, str) and name.replace("_", "").lower() == folded:
                    value = item
                    break
        return value if isinstance(value, str) and value else None


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class PaymentQueryDetail(_Model):
    """One side of a payment query: Payven's own record, or the bank's answer.

    Amounts are exact integers in minor units; ``captured_amount`` arrives as a JSON
    double and is a ``Decimal`` here, without binary-float noise. Timestamps are
    timezone-aware.
    """

    status: str | None = None
    operation_type: OperationType | str | None = None
    amount: int | None = None
    net_amount: int | None = None
    currency: str | None = None
    installment_count: int | None = None
    is_3d_secure: bool | None = None
    provider_transaction_id: str | None = None
    auth_code: str | None = None
    host_reference: str | None = None
    masked_card_number: str | None = None
    card_brand: str | None = None
    card_holder_name: str | None = None
    bank_code: str | None = None
    transaction_status: str | None = None
    charge_type: str | None = None
    settlement_id: str | None = None
    captured_amount: Decimal | None = None
    error_code: str | None = None
    error_message: str | None = None
    processed_at: datetime | None = None
    completed_at: datetime | None = None
    created_at: datetime | None = None
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)


@attrs.frozen(kw_only=True, repr=False, eq=False)
class PaymentQuery(_Answer):
    """The answer to ``GET /payments/{transaction_id}/query``.

    ``internal`` is Payven's record of the payment, ``external`` the bank's live answer
    (present when ``external_query_available``).

    The two detail records of an answer are decoded on first access, not with the
    answer: a batch that only looks at ``status`` never pays for them. So a malformed
    detail record raises :class:`~payven_async.errors.DecodeError` when ``internal`` or
    ``external`` is first read (or compared, printed, evolved), not when the answer
    arrives. Constructing a ``PaymentQuery`` yourself works as for any attrs class.
    """

    transaction_id: str | None = None
    status: str | None = None
    is_success: bool = False
    message: str | None = None
    external_query_available: bool = False
    internal: PaymentQueryDetail | None = None
    external: PaymentQueryDetail | None = None
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class CheckoutSession(_Answer):
    """A hosted-checkout session: what ``create`` returns, and everything ``get`` adds.

    ``session_id`` is always there: an answer without one is a ``DecodeError``.
    """

    session_id: str
    checkout_url: str | None = None
    expires_at: datetime | None = None
    status: str | None = None
    transaction_id: str | None = None
    tenant_id: str | None = None
    merchant_id: str | None = None
    external_merchant_id: str | None = None
    merchant_name: str | None = None
    amount: int | None = None
    currency: str | None = None
    allowed_installments: Sequence[int] | None = None
    description: str | None = None
    external_id: str | None = None
    basket_id: str | None = None
    customer_email: str | None = None
    customer_phone: str | None = None
    metadata: Mapping[str, str] | None = None
    created_at: datetime | None = None
    payment_mode: CheckoutPaymentMode | str | None = None
    allow_pre_auth: bool | None = None
    is_test_session: bool | None = None
    attempt_count: int | None = None
    max_attempts: int | None = None
    success_url: str | None = None
    cancel_url: str | None = None
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)


@attrs.frozen(kw_only=True, slots=False, repr=False, eq=False)
class Token(_Answer):
    """An access token as the identity service issued it. Token values never reach a repr."""

    access_token: str = attrs.field(repr=_hidden)
    refresh_token: str | None = attrs.field(default=None, repr=_hidden)
    expires_in: int | None = None
    refresh_expires_in: int | None = None
    token_type: str | None = None
    scope: str | None = None
    unknown_fields: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    decode_problems: Mapping[str, str] = attrs.field(default=NO_PROBLEMS, repr=False)


@attrs.frozen(repr=False, eq=False)
class QuerySucceeded(_Model):
    """One transaction's outcome in a batch, when its query succeeded: ``result`` is the
    answer, ``ok`` is ``True`` and ``error`` is ``None``.

    Part of :data:`QueryOutcome`; ``if outcome.ok:`` narrows an outcome to this class
    for a type checker, so that ``outcome.result.status`` needs no check for ``None``.
    """

    transaction_id: str
    result: PaymentQuery

    @property
    def ok(self) -> Literal[True]:
        """Always True: the query succeeded."""
        return True

    @property
    def error(self) -> None:
        """Always None: the query succeeded."""
        return None


@attrs.frozen(repr=False, eq=False)
class QueryFailed(_Model):
    """One transaction's outcome in a batch, when its query failed: ``error`` is the
    error, ``ok`` is ``False`` and ``result`` is ``None``.

    Part of :data:`QueryOutcome`; ``if not outcome.ok:`` narrows an outcome to this class.
    """

    transaction_id: str
    error: PayvenError

    @property
    def ok(self) -> Literal[False]:
        """Always False: the query failed."""
        return False

    @property
    def result(self) -> None:
        """Always None: the query failed."""
        return None


#: One transaction's outcome in a batch (``query_many``): a :class:`QuerySucceeded`
#: (``ok`` True, ``result`` set) or a :class:`QueryFailed` (``ok`` False, ``error`` set).
#: Both have ``transaction_id``, ``ok``, ``result`` and ``error``; testing ``ok`` (or
#: ``isinstance``) tells a type checker which one it is.
QueryOutcome: TypeAlias = QuerySucceeded | QueryFailed


# The payment operations' models (direct and 3-D Secure payments, refund, void,
# capture, history) live in ._operation_models and load on first use (see ._lazy).
__getattr__, __dir__ = attach(__name__, homed_in("payven_async._operation_models"), __all__)
