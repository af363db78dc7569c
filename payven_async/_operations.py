"""The payment operations: direct and 3-D Secure payments, get, refund, void, capture, history.

A mixin of :class:`~payven_async.PayvenClient` (which inherits it), built on the
client's plumbing: ``_vpos`` (authenticated, retried, a 401 renews the token once),
the answer decoder and the snake_case encoder. Every call here is generation B on the
wire: snake_case bodies, ``Content-Type: application/json``, raw answers,
problem+json errors (generation-A envelopes and camelCase answers decode too).

Every mutating call carries an ``Idempotency-Key``: the caller's, or a fresh UUID per
logical call, reused on every retry, so that a retried refund or capture can never
move money twice. :meth:`PaymentOperations._move_money` is the one place that turns
a lost answer into :class:`~payven_async.errors.PaymentOutcomeUnknown` and a decline
into :class:`~payven_async.errors.PaymentDeclinedError`.

The operations' input checks and models are imported inside the methods: they load on
a process's first operation, not with the package (the import-time budget in
DESIGN.md).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from . import _validate
from ._converters import encode
from ._json import dumps
from ._redact import redact_text
from ._responses import decode_answer, normalise_code
from .errors import (
    APIError,
    DecodeError,
    PaymentDeclinedError,
    PaymentOutcomeUnknown,
    PayvenError,
    ServerError,
    TransportError,
)
from .models import PaymentResult

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._auth import TokenManager
    from ._config import ClientConfig, Timeout
    from ._operation_models import (
        CaptureRequest,
        PaymentHistory,
        PaymentRequest,
        RefundRequest,
        ThreeDSInitRequest,
        VoidRequest,
    )
    from ._transport import Answer

__all__ = ["PaymentOperations"]

_JSON = {"Content-Type": "application/json"}
# Answers after which a money-moving request may have been carried out although we never
# learnt its outcome (503 says the service did not take the request).
_AMBIGUOUS_STATUSES = frozenset({500, 502, 504})


class PaymentOperations:
    """Direct and 3-D Secure payments, get, refund, void, capture and history.

    Mixed into :class:`~payven_async.PayvenClient`; it needs the client's ``_config``,
    ``_tokens`` and ``_vpos``.
    """

    if TYPE_CHECKING:
        # Provided by PayvenClient; declared here so that mypy checks every use.
        _config: ClientConfig
        _tokens: TokenManager

        async def _vpos(
            self,
            method: str,
            url: str,
            *,
            headers: Mapping[str, str] | None = None,
            body: bytes | None = None,
            timeout: float | Timeout | None,
            max_retries: int | None,
        ) -> Answer: ...

    # --- payments ---------------------------------------------------------------------

    async def create_payment(
        self,
        request: PaymentRequest,
        *,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
    ) -> PaymentResult:
        """Take a direct (Non-3D) payment, or a pre-auth (``POST /payments``).

        Every attempt carries the same ``Idempotency-Key`` (yours, or a fresh UUID for
        this call), so a retried payment never charges twice.

        Raises :class:`PaymentDeclinedError` when it is declined, and
        :class:`PaymentOutcomeUnknown` when it was sent but no answer could be had.
        """
        from ._validate_operations import check_payment_request

        check_payment_request(request)
        key = idempotency_key_for(idempotency_key)
        return await self._move_money(
            f"{self._config.vpos_url}/api/v1/payments",
            encode(request, "snake"),
            key=key,
            what="payment",
            call="create_payment",
            external_id=request.external_id,
            timeout=timeout,
            max_retries=max_retries,
        )

    async def init_3ds(
        self,
        request: ThreeDSInitRequest,
        *,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
    ) -> PaymentResult:
        """Start a 3-D Secure payment (``POST /payments/3d/init``).

        The answer's status is ``three_d_secure_init_processing``; send the customer to
        the bank: render :attr:`PaymentResult.html_content` when there is one, else
        redirect to :attr:`PaymentResult.redirect_url` (with
        :attr:`PaymentResult.redirect_method`). The bank sends the customer back to
        ``callback_url``; then :meth:`complete_3ds` (or :meth:`get_payment`) tells the
        outcome.

        Raises :class:`PaymentDeclinedError` when it is refused, and
        :class:`PaymentOutcomeUnknown` when it was sent but no answer could be had.
        """
        from ._validate_operations import check_three_ds_init_request

        check_three_ds_init_request(request)
        key = idempotency_key_for(idempotency_key)
        return await self._move_money(
            f"{self._config.vpos_url}/api/v1/payments/3d/init",
            encode(request, "snake"),
            key=key,
            what="3-D Secure init",
            call="init_3ds",
            external_id=request.external_id,
            timeout=timeout,
            max_retries=max_retries,
        )

    async def complete_3ds(
        self,
        transaction_id: str,
        *,
        need_verification: bool = True,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
    ) -> PaymentResult:
        """Complete a 3-D Secure payment after the bank's page (``POST /payments/3d/complete``).

        Payven normally completes it by itself when the bank calls back; call this to
        complete it by hand. ``need_verification`` asks Payven to verify the 3-D Secure
        authentication first. The answer's status is ``completed`` (``authorized`` for
        a pre-auth).

        Raises :class:`PaymentDeclinedError` when the bank declines it, and
        :class:`PaymentOutcomeUnknown` when it was sent but no answer could be had.
        """
        from ._validate_operations import check_complete_3ds

        check_complete_3ds(transaction_id, need_verification)
        key = idempotency_key_for(idempotency_key)
        return await self._move_money(
            f"{self._config.vpos_url}/api/v1/payments/3d/complete",
            {"transaction_id": transaction_id, "need_verification": need_verification},
            key=key,
            what="3-D Secure complete",
            call="complete_3ds",
            transaction_id=transaction_id,
            timeout=timeout,
            max_retries=max_retries,
        )

    async def get_payment(
        self,
        transaction_id: str,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
    ) -> PaymentResult:
        """A payment's current state as Payven records it (``GET /payments/{id}``).

        Returns the ``PaymentStatusDto`` shape: ``amount``, ``currency``,
        ``is_3d_secure``, ``created`` and ``basket_id`` filled. A failed payment is not
        an error here: its ``is_success`` is False, with ``error_code`` and
        ``provider_error_code`` set. Raises :class:`NotFoundError` for an unknown id.
        """
        from ._validate_operations import check_transaction_id

        check_transaction_id(transaction_id)
        answer = await self._vpos(
            "GET", self._payment_url(transaction_id), timeout=timeout, max_retries=max_retries
        )
        return decode_answer(answer, PaymentResult, secrets=self._tokens.secrets)

    async def get_payment_history(
        self,
        transaction_id: str,
        *,
        order_id: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
    ) -> PaymentHistory:
        """A payment's steps, oldest first (``GET /payments/{id}/history``)."""
        from ._operation_models import PaymentHistory
        from ._validate_operations import check_history

        check_history(transaction_id, order_id)
        url = self._payment_url(transaction_id, "/history")
        if order_id is not None:
            url += f"?order_id={quote(order_id, safe='')}"
        answer = await self._vpos("GET", url, timeout=timeout, max_retries=max_retries)
        return decode_answer(answer, PaymentHistory, secrets=self._tokens.secrets)

    # --- after the payment ------------------------------------------------------------

    async def refund(
        self,
        transaction_id: str,
        request: RefundRequest,
        *,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
    ) -> PaymentResult:
        """Refund part or all of a payment (``POST /payments/{id}/refund``).

        ``request.amount`` (minor units) is always sent: less than what is left is a
        partial refund (several may follow), exactly what is left a full one (the
        status becomes ``refunded``). ``extra_properties`` of the answer carry
        ``refund_amount`` and ``remaining_refundable`` where the connector fills them.
        Pass a business ``idempotency_key`` such as ``refund-{transaction_id}-{n}`` to
        make the refund safe to repeat across restarts too.

        Raises :class:`InvalidRequestError` (``code`` ``refund_exceeds_original``,
        ``payment_not_refundable``, ...) when the ledger refuses it,
        :class:`PaymentDeclinedError` when the bank declines it, and
        :class:`PaymentOutcomeUnknown` when it was sent but no answer could be had.
        """
        from ._validate_operations import check_refund

        check_refund(transaction_id, request)
        key = idempotency_key_for(idempotency_key)
        return await self._move_money(
            self._payment_url(transaction_id, "/refund"),
            {"transaction_id": transaction_id, **encode(request, "snake")},
            key=key,
            what="refund",
            call="refund",
            transaction_id=transaction_id,
            timeout=timeout,
            max_retries=max_retries,
        )

    async def void(
        self,
        transaction_id: str,
        request: VoidRequest | None = None,
        *,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
    ) -> PaymentResult:
        """Cancel a whole payment before the day's settlement (``POST /payments/{id}/void``).

        Also releases an uncaptured pre-auth. The status becomes ``canceled``. After
        settlement, refund instead.

        Raises :class:`InvalidRequestError` (``code`` ``payment_already_voided``,
        ``void_not_allowed_after_settlement``, ...) when the ledger refuses it,
        :class:`PaymentDeclinedError` when the bank declines it, and
        :class:`PaymentOutcomeUnknown` when it was sent but no answer could be had.
        """
        from ._validate_operations import check_void

        check_void(transaction_id, request)
        key = idempotency_key_for(idempotency_key)
        fields = encode(request, "snake") if request is not None else {}
        return await self._move_money(
            self._payment_url(transaction_id, "/void"),
            {"transaction_id": transaction_id, **fields},
            key=key,
            what="void",
            call="void",
            transaction_id=transaction_id,
            timeout=timeout,
            max_retries=max_retries,
        )

    async def capture(
        self,
        transaction_id: str,
        request: CaptureRequest,
        *,
        idempotency_key: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
    ) -> PaymentResult:
        """Turn a pre-auth into a charge (``POST /payments/{id}/capture``).

        ``request.amount`` is at most the authorised amount; the rest is released. One
        capture per pre-auth, within 24 hours of it.

        Raises :class:`InvalidRequestError` (``code`` ``payment_already_captured``,
        ``pre_auth_expired``, ``capture_amount_exceeds_authorization``,
        ``payment_not_pre_auth``, ...) when the ledger refuses it,
        :class:`PaymentDeclinedError` when the bank declines it, and
        :class:`PaymentOutcomeUnknown` when it was sent but no answer could be had.
        """
        from ._validate_operations import check_capture

        check_capture(transaction_id, request)
        key = idempotency_key_for(idempotency_key)
        return await self._move_money(
            self._payment_url(transaction_id, "/capture"),
            {"transaction_id": transaction_id, **encode(request, "snake")},
            key=key,
            what="capture",
            call="capture",
            transaction_id=transaction_id,
            timeout=timeout,
            max_retries=max_retries,
        )

    # --- plumbing ---------------------------------------------------------------------

    def _payment_url(self, transaction_id: str, suffix: str = "") -> str:
        return f"{self._config.vpos_url}/api/v1/payments/{quote(transaction_id, safe='')}{suffix}"

    async def _move_money(
        self,
        url: str,
        body: Mapping[str, Any],
        *,
        key: str,
        what: str,
        call: str,
        timeout: float | Timeout | None,
        max_retries: int | None,
        external_id: str | None = None,
        transaction_id: str | None = None,
        content_type: Mapping[str, str] = _JSON,
    ) -> PaymentResult:
        """POST a money-moving request under ``key`` and read its result.

        An answer that never arrived (after the request was sent), a 500/502/504 or an
        unreadable 2xx raises :class:`PaymentOutcomeUnknown` carrying ``key``: the same
        call with the same key resolves it. A result with ``is_success`` False raises
        :class:`PaymentDeclinedError`. Everything else the service refuses raises its
        own :class:`APIError`.
        """
        headers = {**content_type, "Idempotency-Key": key}
        try:
            answer = await self._vpos(
                "POST",
                url,
                headers=headers,
                body=dumps(body),
                timeout=timeout,
                max_retries=max_retries,
            )
            result = decode_answer(answer, PaymentResult, secrets=self._tokens.secrets)
        except (TransportError, ServerError, DecodeError) as exc:
            if _maybe_moved(exc):
                raise PaymentOutcomeUnknown(
                    f"the {what} request was sent but its outcome is unknown ({exc}); "
                    f"call {call} again with the same idempotency_key, or get the payment",
                    idempotency_key=key,
                    external_id=external_id,
                    transaction_id=transaction_id,
                ) from exc
            raise
        if not result.is_success:
            raise _declined(what, result, answer.correlation_id, self._tokens.secrets)
        return result


def idempotency_key_for(idempotency_key: str | None) -> str:
    """The caller's ``Idempotency-Key`` (checked), or a fresh one for this logical call."""
    if idempotency_key is None:
        return _new_idempotency_key()  # ours: no need to check it
    _validate.raise_if(_validate.check_id("idempotency_key", idempotency_key))
    return idempotency_key


# The UUID variant digit ("8", "9", "a" or "b") for each hex digit's low two bits.
_UUID_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _new_idempotency_key() -> str:
    """A random (version 4) UUID, as text: what ``str(uuid.uuid4())`` gives, at less than
    half its cost (it builds a ``UUID`` object to format it)."""
    digits = os.urandom(16).hex()
    return (
        f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-"
        f"{_UUID_VARIANT[digits[16]]}{digits[17:20]}-{digits[20:]}"
    )


def _maybe_moved(error: PayvenError) -> bool:
    if isinstance(error, DecodeError):
        # A 2xx arrived that we cannot read: it may well say the money moved.
        return True
    if isinstance(error, TransportError):
        return error.request_sent
    return isinstance(error, APIError) and error.status in _AMBIGUOUS_STATUSES


def _declined(
    what: str, result: PaymentResult, correlation_id: str | None, secrets: tuple[str, ...]
) -> PaymentDeclinedError:
    code = normalise_code(result.error_code)
    label = code or "declined"
    detail = redact_text(result.message or f"the {what} was declined", secrets)
    provider = f", bank code {result.provider_error_code}" if result.provider_error_code else ""
    return PaymentDeclinedError(
        f"{what} {label}{provider}: {detail}",
        status=200,
        code=code,
        detail=detail,
        provider_error_code=result.provider_error_code,
        correlation_id=correlation_id,
        result=result,
    )
