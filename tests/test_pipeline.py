"""The call pipeline on the in-memory transport: auth, retries, the 401 replay,
idempotency, deadlines, hooks and outcome classification, with no socket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import pytest

from payven_async import (
    Answer,
    AuthenticationError,
    BasketItem,
    Buyer,
    CaptureRequest,
    Card,
    CheckoutSessionRequest,
    ClientClosedError,
    ConfigurationError,
    MemoryTransport,
    Money,
    PaymentDeclinedError,
    PaymentOutcomeUnknown,
    PaymentRequest,
    PayRequest,
    PayvenClient,
    PayvenConnectionError,
    PayvenTimeoutError,
    RefundRequest,
    Request,
    RetryDetails,
    ServerError,
    ThreeDSInitRequest,
    Timeout,
    ValidationError,
    VoidRequest,
)

TRANSACTION_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
SESSION_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
PAN = "4546711234567894"
CVV = "000"

Reply = Callable[[Request], "Answer | Any"]


def pay_request() -> PayRequest:
    return PayRequest(
        amount=Money(15000), card=Card("Test Kullanici", PAN, "12", "2030", CVV), external_id="O-1"
    )


def query_answer() -> Answer:
    return Answer.from_json({"transaction_id": TRANSACTION_ID, "status": "completed"})


def pay_answer(is_success: bool = True) -> Answer:
    data = {"transactionId": TRANSACTION_ID, "status": "completed", "isSuccess": is_success}
    if not is_success:
        data.update(errorCode="insufficient_funds", providerErrorCode="51", message="Yetersiz")
    return Answer.from_json({"message": "", "isSuccess": True, "code": "200", "data": data})


def problem(status: int, code: str, **headers: str) -> Answer:
    return Answer.from_json({"status": status, "code": code, "title": code}, status, headers)


@attrs.define
class Service:
    """Answers token calls with numbered tokens, and vpos calls from a script."""

    script: list[Reply] = attrs.Factory(list)
    tokens_issued: int = 0
    token_failures: list[Answer] = attrs.Factory(list)

    async def __call__(self, request: Request) -> Answer:
        if request.call in ("token", "refresh"):
            if self.token_failures:
                return self.token_failures.pop(0)
            self.tokens_issued += 1
            return Answer.from_json(
                {"access_token": f"token-{self.tokens_issued}", "expires_in": 300}
            )
        reply = self.script.pop(0) if self.script else (lambda _: query_answer())
        answer = reply(request)
        if asyncio.iscoroutine(answer):
            answer = await answer
        assert isinstance(answer, Answer)
        return answer


@pytest.fixture
def service() -> Service:
    return Service()


@pytest.fixture
def transport(service: Service) -> MemoryTransport:
    return MemoryTransport(service)


@pytest.fixture
async def client(transport: MemoryTransport) -> AsyncIterator[PayvenClient]:
    async with PayvenClient("cid", "csecret", "acme", transport=transport) as payven:
        # No real waits between retries: the retry policy's backoff is zero.
        payven._pipeline.policy = attrs.evolve(payven._pipeline.policy, base_delay=0.0)
        yield payven


def vpos(transport: MemoryTransport) -> list[Request]:
    return [request for request in transport.requests if request.call not in ("token", "refresh")]


def raising(error: Exception) -> Reply:
    def reply(_: Request) -> Answer:
        raise error

    return reply


def answering(answer: Answer) -> Reply:
    return lambda _: answer


# --- auth ---------------------------------------------------------------------------------------


async def test_first_call_fetches_a_token_and_sends_it_as_bearer(
    client: PayvenClient, transport: MemoryTransport
) -> None:
    """A cold client asks identity once, with client credentials, then sends Bearer."""
    await client.query(TRANSACTION_ID)
    token_request, query = transport.requests
    assert token_request.call == "token"
    assert token_request.url == "https://identity-sandbox.payven.com.tr/api/v1/auth/acme/token"
    assert token_request.body is not None
    assert json.loads(token_request.body) == {"client_id": "cid", "client_secret": "csecret"}
    assert "Authorization" not in token_request.headers
    assert query.headers["Authorization"] == "Bearer token-1"


async def test_concurrent_cold_calls_share_one_token_request(
    client: PayvenClient, service: Service
) -> None:
    """Fifty calls on a cold client cause exactly one token request."""
    await asyncio.gather(*(client.query(TRANSACTION_ID) for _ in range(50)))
    assert service.tokens_issued == 1


async def test_401_drops_that_token_renews_once_and_replays(
    client: PayvenClient, service: Service, transport: MemoryTransport
) -> None:
    """A 401 renews the token and replays the same request, with the new token (the
    replay is part of the same attempt: it uses up no retry)."""
    await client.token()
    service.script = [answering(problem(401, "token_expired"))]
    result = await client.query(TRANSACTION_ID)
    assert result.status == "completed"
    first, replay = vpos(transport)
    assert first.headers["Authorization"] == "Bearer token-1"
    assert replay.headers["Authorization"] == "Bearer token-2"
    assert (replay.url, replay.body, replay.attempt) == (first.url, first.body, 1)


async def test_a_second_401_in_one_call_is_raised(client: PayvenClient, service: Service) -> None:
    """Only one renewal per call: a second 401 is an AuthenticationError."""
    service.script = [answering(problem(401, "invalid_token"))] * 2
    with pytest.raises(AuthenticationError):
        await client.query(TRANSACTION_ID)
    assert service.tokens_issued == 2


async def test_token_failure_is_raised_without_sending_the_call(
    client: PayvenClient, service: Service, transport: MemoryTransport
) -> None:
    """Refused credentials raise AuthenticationError and no vpos request goes out."""
    service.token_failures = [problem(401, "invalid_credentials")]
    with pytest.raises(AuthenticationError):
        await client.pay(SESSION_ID, pay_request())
    assert vpos(transport) == []


# --- retries ------------------------------------------------------------------------------------


async def test_a_query_is_retried_on_5xx_and_connection_errors(
    client: PayvenClient, service: Service, transport: MemoryTransport
) -> None:
    """A GET survives a 503 and a dropped connection, within its two retries."""
    service.script = [
        answering(problem(503, "service_unavailable")),
        raising(PayvenConnectionError("reset")),
    ]
    assert (await client.query(TRANSACTION_ID)).status == "completed"
    assert [request.attempt for request in vpos(transport)] == [1, 2, 3]


async def test_retries_stop_at_max_retries(client: PayvenClient, service: Service) -> None:
    """With max_retries=1, the second 503 is raised."""
    service.script = [answering(problem(503, "service_unavailable"))] * 3
    with pytest.raises(ServerError):
        await client.query(TRANSACTION_ID, max_retries=1)
    assert len(service.script) == 1


async def test_a_per_call_max_retries_reaches_the_token_request(
    client: PayvenClient, service: Service, transport: MemoryTransport
) -> None:
    """The call's max_retries=0 bounds its token request too: one 503, no retry."""
    service.token_failures = [problem(503, "service_unavailable")] * 3
    with pytest.raises(ServerError):
        await client.query(TRANSACTION_ID, max_retries=0)
    assert [request.call for request in transport.requests] == ["token"]


async def test_a_per_call_timeout_reaches_the_token_request() -> None:
    """A slow identity service is cut off by the call's own timeout."""

    async def slow_identity(request: Request) -> Answer:
        await asyncio.sleep(5)
        return query_answer()

    transport = MemoryTransport(slow_identity)
    async with PayvenClient("cid", "csecret", "acme", transport=transport) as client:
        with pytest.raises(PayvenTimeoutError):
            await client.query(TRANSACTION_ID, timeout=0.05, max_retries=0)
    assert [request.call for request in transport.requests] == ["token"]


async def test_a_429_waits_retry_after_then_retries(client: PayvenClient, service: Service) -> None:
    """429 with Retry-After: 0 is retried and then succeeds."""
    service.script = [answering(problem(429, "rate_limit_exceeded", **{"Retry-After": "0"}))]
    assert (await client.query(TRANSACTION_ID)).status == "completed"


async def test_4xx_and_declines_are_never_retried(client: PayvenClient, service: Service) -> None:
    """A 404 is raised at once: nothing a retry could cure."""
    service.script = [answering(problem(404, "payment_not_found")), answering(query_answer())]
    with pytest.raises(Exception, match="404"):
        await client.query(TRANSACTION_ID)
    assert len(service.script) == 1


async def test_no_attempt_outlasts_the_deadline(
    client: PayvenClient, service: Service, transport: MemoryTransport
) -> None:
    """An attempt is cut to what is left of the call's deadline: the retry times out."""
    client._pipeline.policy = attrs.evolve(client._pipeline.policy, deadline=0.3)
    await client.token()

    async def slow(_: Request) -> Answer:
        await asyncio.sleep(1.0)
        return query_answer()

    service.script = [raising(PayvenConnectionError("reset")), slow]
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(PayvenTimeoutError):
        await client.query(TRANSACTION_ID, timeout=Timeout(total=10.0, connect=1.0))
    assert loop.time() - started < 0.9


async def test_on_retry_hooks_hear_of_every_retry(transport: MemoryTransport) -> None:
    """Each retry is reported once, with the call, its number, the wait and the cause."""
    heard: list[RetryDetails] = []
    service: Service = transport._handler  # type: ignore[assignment]
    service.script = [answering(problem(502, "bad_gateway"))] * 2

    def broken_hook(_: RetryDetails) -> None:
        raise RuntimeError("a hook's own bug")

    async with PayvenClient(
        "cid", "csecret", "acme", transport=transport, on_retry=[heard.append, broken_hook]
    ) as client:
        client._pipeline.policy = attrs.evolve(client._pipeline.policy, base_delay=0.0)
        assert (await client.query(TRANSACTION_ID)).status == "completed"
    assert [(d.call, d.retry_number, d.wait_for) for d in heard] == [
        ("query", 1, 0.0),
        ("query", 2, 0.0),
    ]
    assert all(isinstance(d.caused_by, ServerError) for d in heard)


# --- money-moving calls ----------------------------------------------------------------------


async def test_a_retried_pay_reuses_its_idempotency_key(
    client: PayvenClient, service: Service, transport: MemoryTransport
) -> None:
    """Every attempt of one pay carries the same key; the next pay gets a new one."""
    service.script = [
        raising(PayvenTimeoutError("slow")),
        answering(problem(503, "service_unavailable")),
        answering(pay_answer()),
        answering(pay_answer()),
    ]
    await client.pay(SESSION_ID, pay_request())
    await client.pay(SESSION_ID, pay_request())
    keys = [request.headers["Idempotency-Key"] for request in vpos(transport)]
    assert keys[0] == keys[1] == keys[2] != keys[3]
    assert all(request.moves_money for request in vpos(transport))


async def test_a_lost_pay_answer_is_an_unknown_outcome_with_its_key(
    client: PayvenClient, service: Service
) -> None:
    """Sent but never answered: PaymentOutcomeUnknown with the key and the external id."""
    service.script = [raising(PayvenTimeoutError("no answer"))] * 3
    with pytest.raises(PaymentOutcomeUnknown) as caught:
        await client.pay(SESSION_ID, pay_request(), idempotency_key="order-1-pay")
    assert caught.value.idempotency_key == "order-1-pay"
    assert caught.value.external_id == "O-1"
    assert isinstance(caught.value.__cause__, PayvenTimeoutError)


async def test_a_refund_never_sent_is_not_an_unknown_outcome(
    client: PayvenClient, service: Service
) -> None:
    """A connection that was never made moved nothing: the error itself is raised."""
    service.script = [raising(PayvenConnectionError("refused", request_sent=False))] * 3
    with pytest.raises(PayvenConnectionError):
        await client.refund(TRANSACTION_ID, RefundRequest(amount=100))


async def test_an_unreadable_pay_answer_is_an_unknown_outcome(
    client: PayvenClient, service: Service
) -> None:
    """A 2xx that cannot be decoded may say the money moved: outcome unknown."""
    service.script = [answering(Answer.of(200, b"<html>ok</html>"))]
    with pytest.raises(PaymentOutcomeUnknown) as caught:
        await client.refund(TRANSACTION_ID, RefundRequest(amount=100))
    assert caught.value.transaction_id == TRANSACTION_ID


async def test_a_declined_pay_raises_with_its_result(
    client: PayvenClient, service: Service
) -> None:
    """is_success false: PaymentDeclinedError with the code, the bank code and the result."""
    service.script = [answering(pay_answer(is_success=False))]
    with pytest.raises(PaymentDeclinedError) as caught:
        await client.pay(SESSION_ID, pay_request())
    assert (caught.value.code, caught.value.provider_error_code) == ("insufficient_funds", "51")
    assert caught.value.result is not None


async def test_a_failed_payment_is_no_error_for_a_read(
    client: PayvenClient, service: Service
) -> None:
    """get_payment reports a failed payment as it is: it moves no money."""
    service.script = [answering(Answer.from_json({"transaction_id": "t", "is_success": False}))]
    assert (await client.get_payment(TRANSACTION_ID)).is_success is False


# --- before and after ------------------------------------------------------------------------


async def test_bad_input_is_refused_before_any_request(
    client: PayvenClient, transport: MemoryTransport
) -> None:
    """A Luhn-invalid card and a bad session id: one error, and nothing sent."""
    bad = PayRequest(amount=Money(15000), card=Card("A", "4546711234567895", "12", "2030", CVV))
    with pytest.raises(ValidationError) as caught:
        await client.pay("a b", bad)
    assert {problem.field for problem in caught.value.problems} == {"session_id", "card.number"}
    assert transport.requests == []


async def test_text_that_cannot_be_sent_is_refused_before_any_request(
    client: PayvenClient, transport: MemoryTransport
) -> None:
    """A lone surrogate in a text is a ValidationError naming the field, not an encode error."""
    request = pay_request()
    request.description = "Sipariş \ud800"
    with pytest.raises(ValidationError) as caught:
        await client.pay(SESSION_ID, request)
    assert [problem.field for problem in caught.value.problems] == ["description"]
    assert transport.requests == []


def _card() -> Card:
    return Card("Test Kullanici", PAN, "12", "2030", CVV)


# Each call with one unsendable value (issue 18): the field the error must name.
_TOO_LARGE: list[tuple[str, Callable[[PayvenClient], Any]]] = [
    ("amount.amount", lambda c: c.pay(SESSION_ID, PayRequest(amount=Money(2**70), card=_card()))),
    (
        "amount.amount",
        lambda c: c.create_payment(PaymentRequest(amount=Money(2**70), card=_card())),
    ),
    (
        "amount.amount",
        lambda c: c.init_3ds(
            ThreeDSInitRequest(amount=Money(2**70), card=_card(), callback_url="https://x.example")
        ),
    ),
    ("amount", lambda c: c.refund(TRANSACTION_ID, RefundRequest(amount=2**70))),
    ("amount.amount", lambda c: c.capture(TRANSACTION_ID, CaptureRequest(amount=Money(2**70)))),
    ("amount", lambda c: c.create_checkout_session(CheckoutSessionRequest(amount=2**70))),
    (
        "basket_items[0].price",
        lambda c: c.pay(
            SESSION_ID,
            PayRequest(
                amount=Money(100), card=_card(), basket_items=[BasketItem(None, "Kalem", 2**70)]
            ),
        ),
    ),
]
_SURROGATE: list[tuple[str, Callable[[PayvenClient], Any]]] = [
    (
        "basket_items[0].name",
        lambda c: c.pay(
            SESSION_ID,
            PayRequest(
                amount=Money(100), card=_card(), basket_items=[BasketItem("I-1", "Kalem \ud800", 1)]
            ),
        ),
    ),
    (
        "buyer.name",
        lambda c: c.create_payment(
            PaymentRequest(amount=Money(100), card=_card(), buyer=Buyer(name="\ud800"))
        ),
    ),
    (
        "callback_url",
        lambda c: c.init_3ds(
            ThreeDSInitRequest(amount=Money(100), card=_card(), callback_url="https://x/\udfff")
        ),
    ),
    ("reason", lambda c: c.refund(TRANSACTION_ID, RefundRequest(amount=100, reason="\ud800"))),
    ("reason", lambda c: c.void(TRANSACTION_ID, VoidRequest(reason="iptal \ud800"))),
    (
        "reason",
        lambda c: c.capture(TRANSACTION_ID, CaptureRequest(amount=Money(100), reason="\ud800")),
    ),
    (
        "description",
        lambda c: c.create_checkout_session(
            CheckoutSessionRequest(amount=100, description="\ud800")
        ),
    ),
    (
        "metadata['a']",
        lambda c: c.create_checkout_session(
            CheckoutSessionRequest(amount=100, metadata={"a": "\ud800"})
        ),
    ),
]


@pytest.mark.parametrize(("field", "call"), _TOO_LARGE)
async def test_amounts_above_int64_are_refused_before_any_request(
    client: PayvenClient, transport: MemoryTransport, field: str, call: Any
) -> None:
    """2**70 kuruş in any call's amount or basket price is a ValidationError; nothing sent."""
    with pytest.raises(ValidationError) as caught:
        await call(client)
    assert [(p.field, "64-bit" in p.message) for p in caught.value.problems] == [(field, True)]
    assert transport.requests == []


@pytest.mark.parametrize(("field", "call"), _SURROGATE)
async def test_a_lone_surrogate_in_any_text_is_refused_before_any_request(
    client: PayvenClient, transport: MemoryTransport, field: str, call: Any
) -> None:
    """A lone surrogate in any text is a ValidationError naming it; nothing is sent."""
    with pytest.raises(ValidationError) as caught:
        await call(client)
    assert [problem.field for problem in caught.value.problems] == [field]
    assert transport.requests == []


async def test_a_closed_client_sends_nothing(transport: MemoryTransport) -> None:
    """After aclose, calls raise ClientClosedError and the transport is closed."""
    client = PayvenClient("cid", "csecret", "acme", transport=transport)
    await client.aclose()
    with pytest.raises(ClientClosedError):
        await client.query(TRANSACTION_ID)
    assert transport.closed
    assert transport.requests == []


def test_session_and_transport_together_are_refused() -> None:
    """A transport replaces the HTTP session: passing both is a configuration error."""
    with pytest.raises(ConfigurationError, match="transport"):
        PayvenClient(
            "cid",
            "csecret",
            "acme",
            session=object(),  # type: ignore[arg-type]  # never used: refused first
            transport=MemoryTransport(lambda _: query_answer()),
        )


async def test_a_slow_in_memory_answer_times_out_like_http(service: Service) -> None:
    """MemoryTransport honours the attempt's timeout, as a socket would, and the message
    gives it in three digits (a long run of digits could look like a card number)."""

    async def slow(_: Request) -> Answer:
        await asyncio.sleep(1)
        return query_answer()

    service.script = [slow]
    async with PayvenClient(
        "cid", "csecret", "acme", transport=MemoryTransport(service), max_retries=0
    ) as client:
        await client.token()
        with pytest.raises(PayvenTimeoutError) as caught:
            await client.query(TRANSACTION_ID, timeout=0.0512345678901234)
    assert "0.0512 s" in str(caught.value)


def test_request_and_answer_reprs_show_no_body_or_header_values() -> None:
    """Neither value's repr carries a body or a header value (card data, tokens)."""
    request = Request(
        "POST", "https://x/pay", {"Authorization": "Bearer secret-token"}, PAN.encode(), "pay"
    )
    answer = Answer.of(200, b'{"cvv": "000"}', {"X-Token": "secret-token"})
    for text in (repr(request), repr(answer), repr(answer.headers)):
        assert "secret-token" not in text
        assert PAN not in text
        assert '"cvv"' not in text
