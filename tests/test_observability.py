"""Observability and conventions: ``.meta`` on results and errors, correlation ids,
``extra_headers``, ``PAYVEN_LOG``, OpenTelemetry spans and metrics, proxies and TLS
options, ``PAYVEN_WEBHOOK_SECRET``."""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import pickle
import ssl
import subprocess
import sys
from typing import Any

import attrs
import pytest

from payven_async import (
    Answer,
    ConfigurationError,
    MemoryTransport,
    PaymentDeclinedError,
    PaymentOutcomeUnknown,
    PaymentQuery,
    PaymentResult,
    PayvenClient,
    PayvenTimeoutError,
    ResponseMeta,
    ServerError,
    ValidationError,
)
from payven_async.testing import PayvenEmulator
from tests.test_pipeline import (
    CVV,
    PAN,
    SESSION_ID,
    TRANSACTION_ID,
    Service,
    answering,
    client,
    pay_answer,
    pay_request,
    problem,
    query_answer,
    raising,
    service,
    transport,
    vpos,
)

__all__ = ["client", "service", "transport"]  # the fixtures, for pytest


def with_headers(answer: Answer, **headers: str) -> Answer:
    return Answer.of(answer.status, answer.body, {**answer.headers, **headers})


# --- .meta --------------------------------------------------------------------------------------


def test_every_operations_answer_model_has_meta() -> None:
    """Each row's answer is an answer model (with .meta); a plain list's entries are."""
    from payven_async import _operations as ops
    from payven_async.models import _Answer

    for name, operation in ops.OPERATIONS.items():
        response = operation.response
        model = response.get() if isinstance(response, ops.ModelRef) else response
        if getattr(model, "__origin__", None) is list:
            (model,) = model.__args__
        assert issubclass(model, _Answer), name


async def test_a_result_carries_the_exchange_in_its_meta(
    client: PayvenClient, service: Service
) -> None:
    """A pay result's meta: the service's correlation id, status, headers, replay flag."""
    answer = with_headers(
        pay_answer(), **{"X-Correlation-Id": "srv-1", "Idempotent-Replayed": "true"}
    )
    service.script = [answering(answer)]
    result = await client.pay(SESSION_ID, pay_request())
    meta = result.meta
    assert isinstance(meta, ResponseMeta)
    assert meta.correlation_id == "srv-1"
    assert meta.status == 200
    assert meta.headers["idempotent-replayed"] == "true"
    assert meta.idempotent_replayed is True
    assert meta.attempts == 1
    assert meta.elapsed >= 0
    assert meta.call == "pay"
    assert meta.idempotency_key == vpos(client._transport)[0].idempotency_key  # type: ignore[arg-type]
    assert result.meta is meta  # built once


async def test_meta_counts_attempts_and_plays_no_part_in_equality(
    client: PayvenClient, service: Service
) -> None:
    """After a retry the meta says two attempts; ==, repr and evolve ignore it."""
    service.script = [answering(problem(503, "service_unavailable")), answering(query_answer())]
    result = await client.query(TRANSACTION_ID)
    assert isinstance(result, PaymentQuery)
    assert result.meta is not None
    assert result.meta.attempts == 2
    assert result.meta.idempotent_replayed is False
    built = PaymentQuery(transaction_id=TRANSACTION_ID, status="completed")
    assert built.meta is None
    assert result == built
    assert "meta" not in repr(result)
    assert attrs.evolve(result).meta is None


async def test_meta_survives_pickling_and_copying(client: PayvenClient, service: Service) -> None:
    """A pickled or copied result keeps its meta, with plain headers."""
    service.script = [answering(with_headers(pay_answer(), **{"X-Correlation-Id": "srv-2"}))]
    result = await client.pay(SESSION_ID, pay_request())
    unpickled = pickle.loads(pickle.dumps(result))  # noqa: S301 - our own bytes
    for twin in (unpickled, copy.copy(result), copy.deepcopy(result)):
        assert isinstance(twin, PaymentResult)
        assert twin == result
        assert twin.meta is not None
        assert twin.meta.correlation_id == "srv-2"
        assert twin.meta.headers["X-Correlation-Id"] == "srv-2"


async def test_an_api_error_carries_meta(client: PayvenClient, service: Service) -> None:
    """An error answer's exception has meta: status, correlation id, attempts."""
    failing = answering(problem(503, "service_unavailable", **{"X-Correlation-Id": "srv-3"}))
    service.script = [failing, failing, failing]
    with pytest.raises(ServerError) as caught:
        await client.query(TRANSACTION_ID)
    meta = caught.value.meta
    assert meta is not None
    assert (meta.status, meta.correlation_id, meta.attempts) == (503, "srv-3", 3)


async def test_a_timeout_carries_meta_with_our_correlation_id(
    client: PayvenClient, service: Service
) -> None:
    """No answer at all: status None, and the correlation id is the one we sent."""
    service.script = [raising(PayvenTimeoutError("slow"))] * 3
    with pytest.raises(PayvenTimeoutError) as caught:
        await client.query(TRANSACTION_ID)
    meta = caught.value.meta
    assert meta is not None
    assert meta.status is None
    assert meta.attempts == 3
    sent = [request.headers.get("X-Correlation-Id") for request in vpos(client._transport)]  # type: ignore[arg-type]
    assert sent == [meta.correlation_id] * 3
    assert meta.correlation_id.startswith("pv-")


async def test_declined_and_unknown_outcomes_carry_meta(
    client: PayvenClient, service: Service
) -> None:
    """PaymentDeclinedError and PaymentOutcomeUnknown have meta too."""
    service.script = [answering(pay_answer(is_success=False))]
    with pytest.raises(PaymentDeclinedError) as declined:
        await client.pay(SESSION_ID, pay_request())
    assert declined.value.meta is not None
    assert declined.value.meta.status == 200
    service.script = [answering(problem(500, "internal_server_error"))] * 3
    with pytest.raises(PaymentOutcomeUnknown) as unknown:
        await client.pay(SESSION_ID, pay_request())
    assert unknown.value.meta is not None
    assert unknown.value.meta.status == 500


async def test_a_validation_error_has_no_meta(client: PayvenClient) -> None:
    """An error raised before any I/O has no exchange to describe."""
    with pytest.raises(ValidationError) as caught:
        await client.query("not a valid id!")
    assert caught.value.meta is None


# --- correlation ids ----------------------------------------------------------------------------


def sent_ids(client: PayvenClient) -> list[str | None]:
    """The X-Correlation-Id of each vpos request the client sent, in order."""
    return [request.headers.get("X-Correlation-Id") for request in vpos(client._transport)]  # type: ignore[arg-type]


async def test_every_attempt_of_a_call_sends_one_correlation_id_of_ours(
    client: PayvenClient, service: Service
) -> None:
    """The first attempt carries an id of the client's, and each retry the same one,
    whatever ids the service's answers carried."""
    service.script = [
        answering(problem(503, "service_unavailable", **{"X-Correlation-Id": "srv-1"})),
        answering(problem(503, "service_unavailable", **{"X-Correlation-Id": "srv-2"})),
        answering(pay_answer()),
    ]
    result = await client.pay(SESSION_ID, pay_request())
    ours = sent_ids(client)[0]
    assert ours is not None
    assert ours.startswith("pv-")
    assert sent_ids(client) == [ours] * 3
    assert result.meta is not None
    assert result.meta.correlation_id == ours  # the last answer named none


async def test_each_call_has_its_own_correlation_id(
    client: PayvenClient, service: Service, transport: MemoryTransport
) -> None:
    """Two calls, two ids; the token call has one of its own too."""
    await client.query(TRANSACTION_ID)
    await client.query(TRANSACTION_ID)
    first, second = sent_ids(client)
    assert first is not None
    assert second is not None
    assert first != second
    (token_request,) = [request for request in transport.requests if request.call == "token"]
    assert token_request.headers["X-Correlation-Id"] not in (first, second)


async def test_the_401_replay_sends_the_calls_correlation_id(
    client: PayvenClient, service: Service
) -> None:
    """The replay after a renewal is the same call: the same id."""
    await client.token()
    service.script = [answering(problem(401, "token_expired"))]
    result = await client.query(TRANSACTION_ID)
    first, replay = sent_ids(client)
    assert first is not None
    assert first == replay
    assert result.meta is not None
    assert result.meta.correlation_id == first


async def test_a_callers_correlation_id_goes_on_every_attempt(
    client: PayvenClient, service: Service
) -> None:
    """An id in extra_headers replaces the client's, on each attempt."""
    service.script = [answering(problem(503, "service_unavailable")), answering(pay_answer())]
    result = await client.pay(
        SESSION_ID, pay_request(), extra_headers={"x-correlation-id": "ticket-42"}
    )
    assert sent_ids(client) == ["ticket-42", "ticket-42"]
    assert result.meta is not None
    assert result.meta.correlation_id == "ticket-42"


async def test_get_trace_finds_every_attempt_of_a_call_under_its_id() -> None:
    """Against the emulator: a pay that needed a retry is one id, and get_trace shows
    both of its requests under it."""
    async with (
        PayvenEmulator() as emu,
        PayvenClient(
            emu.client_id, emu.client_secret, emu.slug, identity_url=emu.url, vpos_url=emu.url
        ) as client,
    ):
        client._pipeline.policy = attrs.evolve(client._pipeline.policy, base_delay=0.0)
        session = await _checkout_session(client)
        emu.faults.answer_next("pay", 503)
        result = await client.pay(session, pay_request())
        assert result.meta is not None
        assert result.meta.attempts == 2
        correlation_id = result.meta.correlation_id
        assert correlation_id is not None
        assert correlation_id.startswith("pv-")
        pay_path = f"/api/v1/checkout/sessions/{session}/pay"
        sent = [r.correlation_id for r in emu.requests if r.path == pay_path]
        assert sent == [correlation_id, correlation_id]
        trace = await client.get_trace(correlation_id)
    assert trace.correlation_id == correlation_id
    assert trace.summary is not None
    assert list(trace.summary.transaction_ids or ()) == [result.transaction_id]
    assert trace.summary.api_request_count == 2


def test_correlation_ids_never_read_as_card_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A prefix of decimal digits only (a 0.35% chance) does not run into the counter."""
    from payven_async import _meta
    from payven_async._redact import redact_text

    monkeypatch.setattr(_meta.os, "urandom", lambda size: bytes.fromhex("380518123669"))
    _meta._reseed()
    try:
        ids = [_meta.next_correlation_id() for _ in range(100)]
    finally:
        monkeypatch.undo()
        _meta._reseed()
    assert ids[28] == "pv-380518123669-n29"  # once masked as "380518******3669-29"
    assert [redact_text(each) for each in ids] == ids


def test_correlation_ids_are_unique_and_renewed_after_fork() -> None:
    """Ids differ call to call, and a forked child gets another prefix."""
    from payven_async import _meta

    first, second = _meta.next_correlation_id(), _meta.next_correlation_id()
    assert first != second
    assert first.rsplit("-", 1)[0] == second.rsplit("-", 1)[0]
    if not hasattr(os, "fork"):
        pytest.skip("no fork here")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, _meta.next_correlation_id().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 200).decode()
    os.close(read)
    os.close(write)
    assert child.rsplit("-", 1)[0] != first.rsplit("-", 1)[0]


async def test_the_emulator_echoes_the_id_we_send_on_a_retry() -> None:
    """Against the emulator, a caller's X-Correlation-Id comes back in the meta."""
    async with (
        PayvenEmulator() as emu,
        PayvenClient(
            emu.client_id, emu.client_secret, emu.slug, identity_url=emu.url, vpos_url=emu.url
        ) as client,
    ):
        session = await _checkout_session(client)
        result = await client.pay(
            session, pay_request(), extra_headers={"x-correlation-id": "mine-123"}
        )
    assert result.meta is not None
    assert result.meta.correlation_id == "mine-123"


async def _checkout_session(client: PayvenClient) -> str:
    from payven_async import CheckoutSessionRequest

    created = await client.create_checkout_session(
        CheckoutSessionRequest(amount=15000, currency="TRY", external_id="O-1")
    )
    assert created.session_id is not None
    return created.session_id


# --- extra_headers ------------------------------------------------------------------------------


async def test_extra_headers_are_sent_on_every_attempt(
    client: PayvenClient, service: Service
) -> None:
    """A caller's header goes with the first attempt and each retry."""
    service.script = [answering(problem(503, "service_unavailable")), answering(query_answer())]
    await client.query(TRANSACTION_ID, extra_headers={"X-Tenant": "t-1"})
    assert [r.headers["X-Tenant"] for r in vpos(client._transport)] == ["t-1", "t-1"]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name", ["Authorization", "authorization", "Idempotency-Key", "Content-Type", "Host"]
)
async def test_extra_headers_never_override_the_clients_own(
    client: PayvenClient, transport: MemoryTransport, name: str
) -> None:
    """Authorization, Idempotency-Key and the like: a ValidationError before any I/O."""
    with pytest.raises(ValidationError) as caught:
        await client.pay(SESSION_ID, pay_request(), extra_headers={name: "x"})
    assert caught.value.problems[0].field == f"extra_headers[{name!r}]"
    assert transport.requests == []


async def test_bad_extra_headers_are_listed_together(
    client: PayvenClient, transport: MemoryTransport
) -> None:
    """A line break in a value and a bad name: both reported, nothing sent."""
    with pytest.raises(ValidationError) as caught:
        await client.query(TRANSACTION_ID, extra_headers={"X-A": "a\r\nB: c", "bad name": "v"})
    assert len(caught.value.problems) == 2
    with pytest.raises(ValidationError):
        client.query_many([TRANSACTION_ID], extra_headers={"Authorization": "x"})
    assert transport.requests == []


def test_every_public_method_takes_extra_headers() -> None:
    """Each async and sync method that calls the API accepts extra_headers."""
    import inspect

    import payven_sync

    for cls in (PayvenClient, payven_sync.PayvenClient):
        for name, method in inspect.getmembers(cls, callable):
            if name.startswith("_") or name in ("aclose", "close", "token"):
                continue
            assert "extra_headers" in inspect.signature(method).parameters, name


# --- PAYVEN_LOG ---------------------------------------------------------------------------------


def test_payven_log_info_logs_retries_with_reason_and_delay() -> None:
    """PAYVEN_LOG=info: a stderr handler on 'payven'; a retry logs its reason and delay."""
    code = """
import asyncio, attrs
from payven_async import Answer, MemoryTransport, PayvenClient
answers = [Answer.from_json({"code": "service_unavailable"}, 503),
           Answer.from_json({"transaction_id": "t", "status": "completed"})]
def handler(request):
    if request.call == "token":
        return Answer.from_json({"access_token": "tok", "expires_in": 300})
    return answers.pop(0)
async def main():
    async with PayvenClient("c", "s", "acme", transport=MemoryTransport(handler)) as client:
        client._pipeline.policy = attrs.evolve(client._pipeline.policy, base_delay=0.0)
        await client.query("3c90c3cc-0d44-4b50-8888-8dd25736052a")
asyncio.run(main())
"""
    env = {**os.environ, "PAYVEN_LOG": "info"}
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert "INFO payven.retry: retrying query in 0.00 s (retry 1) after 503" in done.stderr
    assert "INFO payven.auth: renewing the access token (none yet)" in done.stderr
    quiet = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PAYVEN_LOG"},
        check=True,
    )
    assert quiet.stderr == ""


async def test_a_401_replay_is_logged_at_info(
    client: PayvenClient, service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    """The refused token and its renewal are INFO lines."""
    service.script = [answering(problem(401, "invalid_token")), answering(query_answer())]
    await client.query(TRANSACTION_ID)  # a first token
    service.script = [answering(problem(401, "invalid_token")), answering(query_answer())]
    with caplog.at_level(logging.INFO, logger="payven"):
        await client.query(TRANSACTION_ID)
    messages = [record.getMessage() for record in caplog.records]
    assert any("refused the access token (401)" in message for message in messages)
    assert any("renewing the access token (refused by the server)" in m for m in messages)


# --- OpenTelemetry ------------------------------------------------------------------------------


def test_importing_the_package_imports_no_opentelemetry() -> None:
    """Without instrument=True nothing of OpenTelemetry is loaded."""
    code = (
        "import sys, payven_async, payven_sync\n"
        "payven_async.PayvenClient('c', 's', 'acme')\n"
        "assert not [m for m in sys.modules if m.startswith('opentelemetry')], 'imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603


def test_instrument_without_the_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """instrument=True with no OpenTelemetry installed: a ConfigurationError naming the extra."""
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(ConfigurationError, match=r"payven\[otel\]"):
        PayvenClient("c", "s", "acme", instrument=True)


async def test_a_call_is_a_span_with_events_and_metrics(service: Service) -> None:
    """One span per call under the caller's span; retry, attempt, renewal events; metrics."""
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    service.script = [
        answering(problem(429, "rate_limit_exceeded", **{"Retry-After": "0"})),
        answering(query_answer()),
    ]
    async with PayvenClient(
        "cid",
        "csecret",
        "acme",
        transport=MemoryTransport(service),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    ) as client:
        client._pipeline.policy = attrs.evolve(client._pipeline.policy, base_delay=0.0)
        tracer = tracer_provider.get_tracer("app")
        with tracer.start_as_current_span("handler") as parent:
            await client.query(TRANSACTION_ID)
    spans = {span.name: span for span in exporter.get_finished_spans()}
    query, token = spans["payven.query"], spans["payven.token"]
    assert query.parent is not None
    assert query.parent.span_id == parent.get_span_context().span_id
    assert token.parent is not None
    assert token.parent.span_id == query.context.span_id
    events = [event.name for event in query.events]
    assert events == [
        "payven.attempt",
        "payven.token_renewal",
        "payven.retry",
        "payven.attempt",
    ]
    assert query.attributes is not None
    assert query.attributes["payven.attempts"] == 2
    assert query.attributes["http.response.status_code"] == 200
    data = reader.get_metrics_data()
    assert data is not None
    metrics: dict[str, Any] = {
        metric.name: metric
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    assert {
        "payven.client.calls",
        "payven.client.retries",
        "payven.client.rate_limited",
        "payven.client.duration",
    } <= set(metrics)
    retries = metrics["payven.client.retries"].data.data_points
    assert sum(point.value for point in retries) == 1
    limited = metrics["payven.client.rate_limited"].data.data_points
    assert sum(point.value for point in limited) == 1
    calls = {
        point.attributes["payven.call"]: point.value
        for point in metrics["payven.client.calls"].data.data_points
    }
    assert calls == {"query": 1, "token": 1}
    tracer_provider.shutdown()
    meter_provider.shutdown()


# --- proxies and TLS ----------------------------------------------------------------------------


class ForwardingProxy:
    """A plain-HTTP forward proxy on loopback that records each request line it forwards."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, version = lines[0].split(" ")
                self.seen.append(f"{method} {target}")
                headers = [line for line in lines[1:] if line]
                length = 0
                for line in headers:
                    name, _, value = line.partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                rest = target.split("://", 1)[1]
                hostport, _, path = rest.partition("/")
                host, _, port = hostport.partition(":")
                up_reader, up_writer = await asyncio.open_connection(host, int(port or 80))
                kept = [
                    line
                    for line in headers
                    if not line.lower().startswith(("proxy-", "connection:"))
                ]
                request = f"{method} /{path} {version}\r\n" + "".join(
                    line + "\r\n" for line in [*kept, "Connection: close"]
                )
                up_writer.write(request.encode("latin-1") + b"\r\n" + body)
                await up_writer.drain()
                answer = await up_reader.read()
                up_writer.close()
                await up_writer.wait_closed()
                writer.write(answer)
                await writer.drain()
                if b"connection: close" in answer.lower().split(b"\r\n\r\n", 1)[0]:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def test_proxy_sends_every_request_through_the_proxy() -> None:
    """proxy= routes token and vpos requests through a real local forwarding proxy."""
    proxy = ForwardingProxy()
    async with (
        PayvenEmulator() as emu,
        proxy as proxy_url,
        PayvenClient(
            emu.client_id,
            emu.client_secret,
            emu.slug,
            identity_url=emu.url,
            vpos_url=emu.url,
            proxy=proxy_url,
        ) as client,
    ):
        session = await _checkout_session(client)
        result = await client.pay(session, pay_request())
    assert result.is_success
    assert f"POST {emu.url}/api/v1/auth/{emu.slug}/token" in proxy.seen
    assert f"POST {emu.url}/api/v1/checkout/sessions/{session}/pay" in proxy.seen


async def test_https_proxy_variables_are_ignored_unless_trust_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HTTP_PROXY in the environment is used only with trust_env=True."""
    proxy = ForwardingProxy()
    async with PayvenEmulator() as emu, proxy as proxy_url:
        monkeypatch.setenv("HTTP_PROXY", proxy_url)
        monkeypatch.setenv("NO_PROXY", "")
        for trust_env in (False, True):
            async with PayvenClient(
                emu.client_id,
                emu.client_secret,
                emu.slug,
                identity_url=emu.url,
                vpos_url=emu.url,
                trust_env=trust_env,
            ) as client:
                await client.token()
            assert bool(proxy.seen) is trust_env


@pytest.mark.parametrize("option", ["ssl_context", {"proxy": "http://p:1"}, {"trust_env": True}])
async def test_session_with_tls_or_proxy_options_is_an_error(option: Any) -> None:
    """session= with ssl_context/ca_bundle/proxy/trust_env raises ConfigurationError."""
    import aiohttp

    if option == "ssl_context":
        option = {"ssl_context": ssl.create_default_context()}
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ConfigurationError, match="session="):
            PayvenClient("c", "s", "acme", session=session, **option)


def test_a_bad_proxy_url_is_refused_without_echoing_it() -> None:
    """proxy= must be an http(s) URL; the message never quotes it (it may hold a password)."""
    with pytest.raises(ConfigurationError) as caught:
        PayvenClient("c", "s", "acme", proxy="ftp://user:hunter2@p")
    assert "hunter2" not in str(caught.value)


def test_the_sync_client_takes_the_same_connection_options() -> None:
    """payven_sync.PayvenClient accepts proxy, trust_env, connection_limit, instrument."""
    import inspect

    import payven_sync

    sync = set(inspect.signature(payven_sync.PayvenClient).parameters)
    assert {"proxy", "trust_env", "connection_limit", "ssl_context", "ca_bundle"} <= sync
    assert {"instrument", "tracer_provider", "meter_provider"} <= sync
    assert set(inspect.signature(PayvenClient).parameters) - sync == {"session"}


# --- PAYVEN_WEBHOOK_SECRET ----------------------------------------------------------------------


def test_verify_webhook_reads_the_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no secret passed, PAYVEN_WEBHOOK_SECRET (comma-separated while rotating) is used."""
    import json

    from payven_async import WebhookVerificationError, sign_webhook, verify_webhook

    body = json.dumps({"id": "evt_1", "type": "payment.completed", "data": {}}).encode()
    headers = {"X-Payven-Timestamp": "", "X-Payven-Signature": ""}
    headers["X-Payven-Timestamp"], headers["X-Payven-Signature"] = _signed(
        sign_webhook(body, "whsec_new")
    )
    monkeypatch.setenv("PAYVEN_WEBHOOK_SECRET", "whsec_old, whsec_new")
    assert verify_webhook(body, headers).type == "payment.completed"
    monkeypatch.setenv("PAYVEN_WEBHOOK_SECRET", "whsec_other")
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, headers)
    monkeypatch.delenv("PAYVEN_WEBHOOK_SECRET")
    with pytest.raises(ConfigurationError, match="PAYVEN_WEBHOOK_SECRET"):
        verify_webhook(body, headers)


def _signed(headers: Any) -> tuple[str, str]:
    return headers["X-Payven-Timestamp"], headers["X-Payven-Signature"]


# --- issue 17 audit: the points tested more weakly than the issue asks ---------------------------


def _rate_limited(delay: str) -> Answer:
    return problem(429, "rate_limit_exceeded", **{"Retry-After": delay})


async def test_a_batch_meeting_a_429_logs_its_pause_with_the_delay(
    client: PayvenClient, service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    """query_many meeting a 429 logs 'rate limited (429); pausing <delay> s' at INFO."""
    service.script = [answering(_rate_limited("0.05")), answering(query_answer())]
    with caplog.at_level(logging.INFO, logger="payven"):
        outcomes = [outcome async for outcome in client.query_many([TRANSACTION_ID])]
    assert [outcome.error for outcome in outcomes] == [None]
    pauses = [
        record
        for record in caplog.records
        if record.name == "payven.retry" and "rate limited (429)" in record.getMessage()
    ]
    assert [record.levelno for record in pauses] == [logging.INFO]
    assert pauses[0].getMessage() == "query: rate limited (429); pausing 0.05 s"


def memory_client(service: Service, **options: Any) -> PayvenClient:
    """A client of the in-memory ``service``, with these constructor options."""
    return PayvenClient("cid", "csecret", "acme", transport=MemoryTransport(service), **options)


async def test_a_client_with_a_rate_limiter_logs_a_429_pause_with_the_delay(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    """A client holding a rate limiter logs the 429 pause it shares, with its delay."""
    from payven_async.stores import MemoryRateLimiter

    service.script = [answering(_rate_limited("0.05")), answering(query_answer())]
    async with memory_client(service, rate_limiter=MemoryRateLimiter()) as limited:
        with caplog.at_level(logging.INFO, logger="payven"):
            await limited.query(TRANSACTION_ID)
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert "query: rate limited (429); pausing 0.05 s" in messages


def test_payven_log_debug_shows_the_http_exchanges_without_secrets() -> None:
    """PAYVEN_LOG=debug in a subprocess: method, path, status and correlation id of each
    request on stderr; no client secret, token or card number anywhere in it."""
    code = f"""
import asyncio
from payven_async import CheckoutSessionRequest, Money, Card, PayRequest
from payven_async.testing import PayvenEmulator
async def main():
    async with PayvenEmulator(client_secret="sk_topsecret_123") as emu:
        async with emu.client() as client:
            created = await client.create_checkout_session(
                CheckoutSessionRequest(amount=15000, currency="TRY", external_id="O-1"))
            card = Card("Test Kullanici", "{PAN}", "12", "2030", "{CVV}")
            result = await client.pay(created.session_id,
                                      PayRequest(amount=Money(15000), card=card, external_id="O-1"))
            token = (await client.token()).access_token
            print(result.meta.correlation_id)
            print(token)
asyncio.run(main())
"""
    env = {**os.environ, "PAYVEN_LOG": "debug"}
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    correlation_id, token = done.stdout.split()
    debug = [line for line in done.stderr.splitlines() if " DEBUG payven" in line]
    assert debug, done.stderr
    pay_lines = [line for line in debug if "/pay" in line and correlation_id in line]
    assert pay_lines, done.stderr
    assert any(
        line.split(": ", 1)[1].startswith("POST /api/v1/checkout/sessions/") and "-> 200" in line
        for line in pay_lines
    ), pay_lines
    assert any("/token" in line for line in debug), debug
    for secret in ("sk_topsecret_123", token, PAN, "Test Kullanici"):
        assert secret not in done.stderr


async def test_throttle_waits_and_pauses_are_events_on_the_calls_span(service: Service) -> None:
    """A batch query meeting a 429: payven.throttle_pause then payven.throttle_wait on its span."""
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    service.script = [answering(_rate_limited("0.05")), answering(query_answer())]
    async with memory_client(service, tracer_provider=tracer_provider) as client:
        outcomes = [outcome async for outcome in client.query_many([TRANSACTION_ID])]
    assert [outcome.error for outcome in outcomes] == [None]
    (query,) = [span for span in exporter.get_finished_spans() if span.name == "payven.query"]
    events = [event.name for event in query.events]
    assert "payven.throttle_pause" in events
    assert "payven.throttle_wait" in events
    assert events.index("payven.throttle_pause") < events.index("payven.throttle_wait")
    (pause,) = [event for event in query.events if event.name == "payven.throttle_pause"]
    assert pause.attributes is not None
    assert pause.attributes["payven.delay"] == pytest.approx(0.05)
    (wait,) = [event for event in query.events if event.name == "payven.throttle_wait"]
    assert wait.attributes is not None
    assert wait.attributes["payven.call"] == "query"
    tracer_provider.shutdown()


def test_the_sync_client_sends_every_request_through_a_real_proxy() -> None:
    """payven_sync.PayvenClient(proxy=...) routes token and vpos requests through the proxy."""
    import threading

    import payven_sync
    from payven_async.testing import SyncPayvenEmulator

    proxy = ForwardingProxy()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    urls: list[str] = []
    stop = loop.create_future()

    async def serve() -> None:
        async with proxy as url:
            urls.append(url)
            loop.call_soon(ready.set)
            await stop

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),))
    thread.start()
    try:
        assert ready.wait(10)
        with (
            SyncPayvenEmulator() as emu,
            payven_sync.PayvenClient(
                emu.client_id,
                emu.client_secret,
                emu.slug,
                identity_url=emu.url,
                vpos_url=emu.url,
                proxy=urls[0],
            ) as client,
        ):
            created = client.create_checkout_session(
                payven_sync.CheckoutSessionRequest(amount=15000, currency="TRY", external_id="O-1")
            )
            assert created.session_id is not None
            result = client.pay(created.session_id, pay_request())
    finally:
        loop.call_soon_threadsafe(stop.set_result, None)
        thread.join(10)
        loop.close()
    assert result.is_success
    assert f"POST {emu.url}/api/v1/auth/{emu.slug}/token" in proxy.seen
    assert f"POST {emu.url}/api/v1/checkout/sessions/{created.session_id}/pay" in proxy.seen


@pytest.mark.parametrize("ca_bundle", ["ca.pem", "path"])
async def test_session_with_ca_bundle_is_an_error(ca_bundle: str, tmp_path: Any) -> None:
    """session= together with ca_bundle= (a str or a path) raises ConfigurationError."""
    import aiohttp

    bundle = tmp_path / "ca.pem"
    bundle.write_text("not read\n")
    value: Any = str(bundle) if ca_bundle == "ca.pem" else bundle
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ConfigurationError, match="ca_bundle"):
            PayvenClient("c", "s", "acme", session=session, ca_bundle=value)


def test_the_sync_client_has_no_session_to_combine_with_ca_bundle(tmp_path: Any) -> None:
    """payven_sync takes no session= (its session lives on its own loop): passing one with
    ca_bundle= is refused at once rather than ignored."""
    import payven_sync

    with pytest.raises(TypeError, match="session"):
        payven_sync.PayvenClient(  # type: ignore[call-arg]
            "c", "s", "acme", session=object(), ca_bundle=str(tmp_path / "ca.pem")
        )
