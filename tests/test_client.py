"""PayvenClient over real loopback HTTP: what it sends, how it decodes, how it fails."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator

import aiohttp
import attrs
import pytest
from aiohttp import web
from aioresponses import aioresponses

from payven_async import (
    AuthenticationError,
    Card,
    CheckoutPaymentMode,
    CheckoutSessionRequest,
    ClientClosedError,
    DecodeError,
    Money,
    NotFoundError,
    PaymentDeclinedError,
    PaymentOutcomeUnknown,
    PayRequest,
    PayvenClient,
    PayvenConnectionError,
    PayvenTimeoutError,
    RateLimitError,
    ServerError,
    Timeout,
    Token,
    TransportError,
)
from payven_async._converters import encode
from payven_async._http import Answer, Request
from payven_async._operations import new_idempotency_key

from .fake_server import CLIENT_ID, CLIENT_SECRET, SLUG, TRANSACTION_ID, FakePayven, query_answer

PAN = "4546711234567894"
CVV = "000"


def pay_request(**changes: object) -> PayRequest:
    fields: dict[str, object] = {
        "amount": Money(15000, "TRY"),
        "card": Card("Test Kullanici", PAN, "12", "2030", CVV),
        "external_id": "ORDER-1001",
    }
    fields.update(changes)
    return PayRequest(**fields)  # type: ignore[arg-type]


@pytest.fixture
async def retrying_client(fake_payven: FakePayven) -> AsyncIterator[PayvenClient]:
    """A client allowed two retries (tests answer with Retry-After: 0 to skip waiting)."""
    async with PayvenClient(
        CLIENT_ID,
        CLIENT_SECRET,
        SLUG,
        identity_url=fake_payven.url,
        vpos_url=fake_payven.url,
        max_retries=2,
    ) as payven:
        yield payven


def problem(status: int, code: str, **headers: str) -> web.Response:
    body = {
        "type": f"https://docs.payven.com.tr/errors/{code}",
        "title": "t",
        "status": status,
        "code": code,
    }
    return web.json_response(
        body, status=status, content_type="application/problem+json", headers=headers
    )


# --- what pay sends ---------------------------------------------------------------


async def test_pay_sends_the_seed_headers_and_body(
    client: PayvenClient, fake_payven: FakePayven
) -> None:
    """pay POSTs the camelCase body with the seed's media type, a bearer token and a key."""
    request = pay_request()
    result = await client.pay("sess-1", request)
    (sent,) = fake_payven.calls("/pay")
    assert sent.path == "/api/v1/checkout/sessions/sess-1/pay"
    assert sent.headers["Content-Type"] == "application/json; ver=1.0"
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["Authorization"] == "Bearer access-1"
    assert re.fullmatch(
        r"payven-python/\d+\.\d+\.\d+\S* python/3\.\d+\.\d+\S* aiohttp/\d+\.\d+\.\d+\S*",
        sent.headers["User-Agent"],
    )
    assert uuid.UUID(sent.headers["Idempotency-Key"])
    assert sent.json() == encode(request, "camel")
    assert result.transaction_id == TRANSACTION_ID
    assert result.extra_properties == {"auth_code": "123456"}


async def test_pay_uses_the_callers_idempotency_key(
    client: PayvenClient, fake_payven: FakePayven
) -> None:
    """A caller-supplied Idempotency-Key is sent as it is."""
    await client.pay("sess-1", pay_request(), idempotency_key="order-1001-payment")
    assert fake_payven.calls("/pay")[0].headers["Idempotency-Key"] == "order-1001-payment"


async def test_each_logical_pay_gets_a_fresh_key(
    client: PayvenClient, fake_payven: FakePayven
) -> None:
    """Two separate pay calls never share a generated key."""
    await client.pay("sess-1", pay_request())
    await client.pay("sess-1", pay_request())
    keys = {call.headers["Idempotency-Key"] for call in fake_payven.calls("/pay")}
    assert len(keys) == 2


def test_generated_idempotency_keys_are_random_version_4_uuids() -> None:
    """Keys the client makes are canonical version-4 UUID text, like str(uuid.uuid4())."""
    keys = [new_idempotency_key() for _ in range(2000)]
    assert len(set(keys)) == len(keys)
    for key in keys:
        parsed = uuid.UUID(key)
        assert str(parsed) == key
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
    assert {key[19] for key in keys} == set("89ab")


async def test_retried_pay_reuses_its_idempotency_key(
    retrying_client: PayvenClient, fake_payven: FakePayven
) -> None:
    """A pay retried after a 503 carries the same Idempotency-Key on every attempt."""
    answers = [problem(503, "service_unavailable", **{"Retry-After": "0"})]

    async def flaky(request: web.Request) -> web.StreamResponse:
        if answers:
            return answers.pop()
        return await fake_payven._pay(request)

    fake_payven.overrides["pay"] = flaky
    result = await retrying_client.pay("sess-1", pay_request())
    calls = fake_payven.calls("/pay")
    assert len(calls) == 2
    assert calls[0].headers["Idempotency-Key"] == calls[1].headers["Idempotency-Key"]
    assert calls[0].body == calls[1].body
    assert result.is_success


async def test_declined_pay_raises_with_code_and_result(
    client: PayvenClient, fake_payven: FakePayven
) -> None:
    """data.isSuccess false is a PaymentDeclinedError carrying both codes and the result."""

    async def decline(request: web.Request) -> web.StreamResponse:
        data = {
            "transactionId": TRANSACTION_ID,
            "status": "failed",
            "isSuccess": False,
            "message": "Yetersiz bakiye",
            "errorCode": "insufficient_funds",
            "providerErrorCode": "51",
        }
        return web.json_response(
            {"message": None, "isSuccess": True, "code": "200", "data": data},
            headers={"X-Correlation-Id": "corr-decline"},
        )

    fake_payven.overrides["pay"] = decline
    with pytest.raises(PaymentDeclinedError) as caught:
        await client.pay("sess-1", pay_request())
    error = caught.value
    assert error.correlation_id == "corr-decline"
    assert error.code == "insufficient_funds"
    assert error.provider_error_code == "51"
    assert error.result is not None
    assert error.result.transaction_id == TRANSACTION_ID
    assert "51" in str(error)
    assert "insufficient_funds" in str(error)


async def test_problem_json_decline_raises_payment_declined(
    client: PayvenClient, fake_payven: FakePayven
) -> None:
    """A 422 bank_declined problem is a PaymentDeclinedError with the bank's code."""

    async def decline(request: web.Request) -> web.StreamResponse:
        body = {
            "type": "x",
            "title": "Banka reddetti",
            "status": 422,
            "code": "bank_declined",
            "provider_error_code": "05",
        }
        return web.json_response(body, status=422, content_type="application/problem+json")

    fake_payven.overrides["pay"] = decline
    with pytest.raises(PaymentDeclinedError) as caught:
        await client.pay("sess-1", pay_request())
    assert caught.value.provider_error_code == "05"
    assert caught.value.result is None


async def test_lost_answer_raises_outcome_unknown_with_key_and_external_id(
    client: PayvenClient, fake_payven: FakePayven
) -> None:
    """A dropped connection after sending is PaymentOutcomeUnknown, never a bare error."""

    async def drop(request: web.Request) -> web.StreamResponse:
        await request.read()
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    fake_payven.overrides["pay"] = drop
    with pytest.raises(PaymentOutcomeUnknown) as caught:
        await client.pay("sess-1", pay_request(), idempotency_key="key-42")
    assert caught.value.idempotency_key == "key-42"
    assert caught.value.external_id == "ORDER-1001"
    assert isinstance(caught.value.__cause__, PayvenConnectionError)
    assert "same idempotency_key" in str(caught.value)


async def test_gateway_errors_after_retries_mean_outcome_unknown(
    retrying_client: PayvenClient, fake_payven: FakePayven
) -> None:
    """502 on every attempt ends in PaymentOutcomeUnknown, all attempts with one key."""

    async def gateway(request: web.Request) -> web.StreamResponse:
        return problem(502, "bad_gateway", **{"Retry-After": "0"})

    fake_payven.overrides["pay"] = gateway
    with pytest.raises(PaymentOutcomeUnknown):
        await retrying_client.pay("sess-1", pay_request())
    calls = fake_payven.calls("/pay")
    assert len(calls) == 3
    assert len({call.headers["Idempotency-Key"] for call in calls}) == 1


# --- query ------------------------------------------------------------------------


async def test_query_is_a_get_without_body(client: PayvenClient, fake_payven: FakePayven) -> None:
    """query sends GET with no body and decodes the generation-B answer."""
    query = await client.query(TRANSACTION_ID)
    (sent,) = fake_payven.calls("/query")
    assert sent.method == "GET"
    assert sent.body == b""
    assert "Content-Type" not in sent.headers
    assert sent.headers["Authorization"] == "Bearer access-1"
    assert query.transaction_id == TRANSACTION_ID
    assert query.internal is not None
    assert query.internal.net_amount == 14850
    assert query.external is not None
    assert query.external.status == "approved"


async def test_query_quotes_the_id_and_sends_order_id(
    client: PayvenClient, fake_payven: FakePayven
) -> None:
    """Path ids are URL-quoted; order_id goes in the query string."""
    await client.query("a/b?c#d%", order_id="ORDER/1&x=2")
    (sent,) = fake_payven.calls("/query")
    assert sent.raw_path.startswith("/api/v1/payments/a%2Fb%3Fc%23d%25/query")
    assert sent.query == {"order_id": "ORDER/1&x=2"}


async def test_query_quotes_an_id_without_order_id(
    client: PayvenClient, fake_payven: FakePayven
) -> None:
    """An id that needs quoting is quoted when it comes alone too; a plain one is sent as is."""
    await client.query("a/b?c#d%")
    await client.query("Tx-1.2_3~4")
    first, second = fake_payven.calls("/query")
    assert first.raw_path == "/api/v1/payments/a%2Fb%3Fc%23d%25/query"
    assert second.raw_path == "/api/v1/payments/Tx-1.2_3~4/query"


async def test_pay_quotes_the_session_id(client: PayvenClient, fake_payven: FakePayven) -> None:
    """A session id that needs quoting is one quoted path segment."""
    await client.pay("sess/1?x#y", pay_request())
    (sent,) = fake_payven.calls("/pay")
    assert sent.raw_path == "/api/v1/checkout/sessions/sess%2F1%3Fx%23y/pay"


async def test_no_attempt_outlasts_the_calls_deadline(
    retrying_client: PayvenClient, fake_payven: FakePayven
) -> None:
    """Each attempt's time limit is cut to what is left of the call's deadline: the first
    to the deadline itself when the timeout is longer, a retry to what the first left."""
    client = retrying_client
    client._pipeline.policy = attrs.evolve(client._pipeline.policy, deadline=5.0)
    await client.token()  # the token request is not what this test looks at
    limits: list[Timeout] = []
    send = client._transport.send

    async def recording_send(request: Request, timeout: Timeout) -> Answer:
        limits.append(timeout)
        return await send(request, timeout)

    client._transport.send = recording_send  # type: ignore[method-assign]
    answers = [problem(503, "service_unavailable", **{"Retry-After": "0"})]

    async def unavailable_once(request: web.Request) -> web.StreamResponse:
        return answers.pop() if answers else web.json_response(query_answer())

    fake_payven.overrides["query"] = unavailable_once
    await client.query(TRANSACTION_ID, timeout=30)
    first, retry = limits
    assert first == Timeout(total=5.0, connect=5.0)
    assert 0 < retry.total < 5.0
    assert retry.connect == retry.total
    limits.clear()
    await client.query(TRANSACTION_ID, timeout=Timeout(total=2.0, connect=1.0))
    assert limits == [Timeout(total=2.0, connect=1.0)]  # within the deadline: as given


async def test_query_envelope_failure_maps_its_code(
    client: PayvenClient, fake_payven: FakePayven
) -> None:
    """A 200 envelope with isSuccess false and PAYMENT_NOT_FOUND is a NotFoundError."""

    async def missing(request: web.Request) -> web.StreamResponse:
        body = {"message": "yok", "isSuccess": False, "code": "PAYMENT_NOT_FOUND", "data": None}
        return web.json_response(body)

    fake_payven.overrides["query"] = missing
    with pytest.raises(NotFoundError):
        await client.query(TRANSACTION_ID)


async def test_query_retries_429_honouring_retry_after(
    retrying_client: PayvenClient, fake_payven: FakePayven
) -> None:
    """A 429 with Retry-After is retried; the next answer is returned."""
    answers = [problem(429, "rate_limit_exceeded", **{"Retry-After": "0"})]

    async def limited(request: web.Request) -> web.StreamResponse:
        return answers.pop() if answers else web.json_response(query_answer())

    fake_payven.overrides["query"] = limited
    query = await retrying_client.query(TRANSACTION_ID)
    assert query.transaction_id == TRANSACTION_ID
    assert len(fake_payven.calls("/query")) == 2


async def test_429_without_retries_left_raises_rate_limit(
    client: PayvenClient, fake_payven: FakePayven
) -> None:
    """With retries used up, a 429 surfaces as RateLimitError with retry_after."""

    async def limited(request: web.Request) -> web.StreamResponse:
        return problem(429, "rate_limit_exceeded", **{"Retry-After": "3"})

    fake_payven.overrides["query"] = limited
    with pytest.raises(RateLimitError) as caught:
        await client.query(TRANSACTION_ID)
    assert caught.value.retry_after == 3.0


# --- tokens on the wire -------------------------------------------------------------


async def test_token_request_is_client_credentials_json(
    client: PayvenClient, fake_payven: FakePayven
) -> None:
    """The token call posts client_id and client_secret as JSON to the slug's path."""
    await client.query(TRANSACTION_ID)
    (sent,) = fake_payven.calls("/token")
    assert sent.path == f"/api/v1/auth/{SLUG}/token"
    assert sent.json() == {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    assert sent.headers["Content-Type"] == "application/json"
    assert "Authorization" not in sent.headers


async def test_401_renews_the_token_once_and_replays(
    client: PayvenClient, fake_payven: FakePayven
) -> None:
    """A 401 drops the used token, renews it, and replays the call once."""
    answers = [problem(401, "token_expired")]

    async def expired_once(request: web.Request) -> web.StreamResponse:
        return answers.pop() if answers else web.json_response(query_answer())

    fake_payven.overrides["query"] = expired_once
    await client.query(TRANSACTION_ID)
    calls = fake_payven.calls("/query")
    assert [call.headers["Authorization"] for call in calls] == [
        "Bearer access-1",
        "Bearer access-2",
    ]
    assert len(fake_payven.calls("/token")) + len(fake_payven.calls("/refresh")) == 2


async def test_a_second_401_is_raised(client: PayvenClient, fake_payven: FakePayven) -> None:
    """The call is replayed once only; a second 401 is an AuthenticationError."""

    async def always_401(request: web.Request) -> web.StreamResponse:
        return problem(401, "invalid_token")

    fake_payven.overrides["query"] = always_401
    with pytest.raises(AuthenticationError):
        await client.query(TRANSACTION_ID)
    assert len(fake_payven.calls("/query")) == 2


async def test_concurrent_cold_calls_make_one_token_request(
    client: PayvenClient, fake_payven: FakePayven
) -> None:
    """Twenty concurrent first calls share a single token request."""
    await asyncio.gather(*(client.query(TRANSACTION_ID) for _ in range(20)))
    assert len(fake_payven.calls("/token")) == 1


async def test_bad_credentials_raise_authentication_error(
    client: PayvenClient, fake_payven: FakePayven
) -> None:
    """A refused token request is an AuthenticationError whose text hides the secret."""

    async def refuse(request: web.Request) -> web.StreamResponse:
        return problem(401, "invalid_credentials")

    fake_payven.overrides["token"] = refuse
    with pytest.raises(AuthenticationError) as caught:
        await client.query(TRANSACTION_ID)
    assert caught.value.code == "invalid_credentials"
    assert CLIENT_SECRET not in str(caught.value)


# --- checkout sessions ---------------------------------------------------------------


async def test_create_checkout_session_sends_snake_case(
    client: PayvenClient, fake_payven: FakePayven
) -> None:
    """create_checkout_session posts a flat snake_case body with a key and reads the 201."""
    session = await client.create_checkout_session(
        CheckoutSessionRequest(
            amount=15000, external_id="ORDER-1", payment_mode=CheckoutPaymentMode.NON_3D
        )
    )
    (sent,) = fake_payven.calls("/checkout/sessions")
    assert sent.json() == {
        "amount": 15000,
        "currency": "TRY",
        "external_id": "ORDER-1",
        "payment_mode": "Non3D",
    }
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Idempotency-Key"]
    assert session.session_id == "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    assert session.unknown_fields == {"amount_echo": 15000}


async def test_get_checkout_session_decodes_status(client: PayvenClient) -> None:
    """get_checkout_session returns the session's status, attempts and payment mode."""
    session = await client.get_checkout_session("abc")
    assert session.session_id == "abc"
    assert session.status == "open"
    assert session.max_attempts == 3
    assert session.payment_mode is CheckoutPaymentMode.THREE_D_SECURE


# --- transport failures -------------------------------------------------------------


async def test_timeout_raises_payven_timeout(client: PayvenClient, fake_payven: FakePayven) -> None:
    """A server that never answers gives PayvenTimeoutError, chained to asyncio's."""
    release = asyncio.Event()

    async def stall(request: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.json_response(query_answer())

    fake_payven.overrides["query"] = stall
    try:
        with pytest.raises(PayvenTimeoutError) as caught:
            await client.query(TRANSACTION_ID, timeout=0.2)
    finally:
        release.set()
    assert isinstance(caught.value.__cause__, asyncio.TimeoutError)


async def test_connection_refused_is_mapped_and_chained() -> None:
    """Nobody listening gives PayvenConnectionError, chained to aiohttp's error."""
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    url = f"http://127.0.0.1:{port}"
    async with PayvenClient(
        "id", "secret", "slug", identity_url=url, vpos_url=url, max_retries=0
    ) as payven:
        with pytest.raises(PayvenConnectionError) as caught:
            await payven.query(TRANSACTION_ID)
    assert caught.value.request_sent is False
    assert isinstance(caught.value.__cause__, aiohttp.ClientError)


async def test_oversized_answer_is_refused(client: PayvenClient, fake_payven: FakePayven) -> None:
    """A body over the size cap is an error, not an out-of-memory."""

    async def huge(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"x" * (9 * 1024 * 1024), content_type="application/json")

    fake_payven.overrides["query"] = huge
    with pytest.raises(Exception, match="limit") as caught:
        await client.query(TRANSACTION_ID)
    assert type(caught.value).__module__ == "payven_async.errors"


async def test_cancellation_propagates(client: PayvenClient, fake_payven: FakePayven) -> None:
    """Cancelling a call raises CancelledError; the client never swallows it."""
    started = asyncio.Event()
    release = asyncio.Event()

    async def stall(request: web.Request) -> web.StreamResponse:
        started.set()
        await release.wait()
        return web.json_response(query_answer())

    fake_payven.overrides["query"] = stall
    task = asyncio.create_task(client.query(TRANSACTION_ID))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        (aiohttp.ServerDisconnectedError(), PayvenConnectionError),
        (aiohttp.ClientPayloadError("truncated"), PayvenConnectionError),
        (aiohttp.ClientOSError(104, "reset"), PayvenConnectionError),
        (asyncio.TimeoutError(), PayvenTimeoutError),
        (aiohttp.TooManyRedirects(None, ()), TransportError),  # type: ignore[arg-type]
    ],
)
async def test_aiohttp_exceptions_never_escape(
    exception: Exception, expected: type[Exception]
) -> None:
    """Every aiohttp exception surfaces as a payven error chained with from."""
    base = "https://vpos-sandbox.payven.com.tr"
    with aioresponses() as mocked:
        mocked.get(f"{base}/api/v1/payments/{TRANSACTION_ID}/query", exception=exception)
        async with PayvenClient("id", "secret", "slug", max_retries=0) as payven:
            # aioresponses 0.7.9 cannot build payload answers on aiohttp 3.14, so the
            # token is seeded rather than mocked; only the failing call goes through it.
            payven._pipeline.tokens._store(Token(access_token="t", expires_in=300))
            with pytest.raises(expected) as caught:
                await payven.query(TRANSACTION_ID)
    assert caught.value.__cause__ is exception


# --- lifetime ----------------------------------------------------------------------


async def test_callers_session_is_used_and_never_closed(fake_payven: FakePayven) -> None:
    """A caller-owned aiohttp session carries our headers and survives aclose."""
    async with aiohttp.ClientSession() as session:
        payven = PayvenClient(
            CLIENT_ID,
            CLIENT_SECRET,
            SLUG,
            identity_url=fake_payven.url,
            vpos_url=fake_payven.url,
            session=session,
        )
        await payven.query(TRANSACTION_ID)
        await payven.aclose()
        assert not session.closed
        sent = fake_payven.calls("/query")[0]
        assert sent.headers["User-Agent"].startswith("payven-python/")
        assert sent.headers["Accept"] == "application/json"


async def test_aclose_is_idempotent_and_refuses_later_calls(fake_payven: FakePayven) -> None:
    """aclose twice is fine; a call afterwards says the client is closed."""
    payven = PayvenClient(
        CLIENT_ID, CLIENT_SECRET, SLUG, identity_url=fake_payven.url, vpos_url=fake_payven.url
    )
    await payven.query(TRANSACTION_ID)
    await payven.aclose()
    await payven.aclose()
    with pytest.raises(ClientClosedError, match="closed"):
        await payven.query(TRANSACTION_ID)


# --- logging ------------------------------------------------------------------------


async def test_debug_logs_say_what_happened_and_nothing_secret(
    client: PayvenClient, fake_payven: FakePayven, caplog: pytest.LogCaptureFixture
) -> None:
    """DEBUG logs carry method, path, status, attempt and correlation id; no secrets."""

    async def correlated(request: web.Request) -> web.StreamResponse:
        return web.json_response(query_answer(), headers={"X-Correlation-Id": "corr-123"})

    fake_payven.overrides["query"] = correlated
    with caplog.at_level(logging.DEBUG, logger="payven"):
        await client.pay("sess-1", pay_request())
        await client.query(TRANSACTION_ID)
    text = caplog.text
    assert f"GET /api/v1/payments/{TRANSACTION_ID}/query -> 200" in text
    assert "POST /api/v1/checkout/sessions/sess-1/pay -> 200" in text
    assert "attempt 1" in text
    assert "corr-123" in text
    for secret in (PAN, CLIENT_SECRET, "access-1", "refresh-1", json.dumps(CVV)):
        assert secret not in text
    assert all(record.name.startswith("payven") for record in caplog.records)


async def test_html_answers_over_http_become_payven_errors(
    client: PayvenClient, fake_payven: FakePayven
) -> None:
    """A proxy's HTML error page is a ServerError; an HTML 200 is a DecodeError."""
    answers = [
        web.Response(
            status=200, text="<html><body>maintenance</body></html>", content_type="text/html"
        ),
        web.Response(
            status=502, text="<html><body>502 Bad Gateway</body></html>", content_type="text/html"
        ),
    ]

    async def html(request: web.Request) -> web.StreamResponse:
        return answers.pop()

    fake_payven.overrides["query"] = html
    with pytest.raises(ServerError, match="502 Bad Gateway") as gateway:
        await client.query(TRANSACTION_ID)
    assert gateway.value.status == 502
    with pytest.raises(DecodeError):
        await client.query(TRANSACTION_ID)
