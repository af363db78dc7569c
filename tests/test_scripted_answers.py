"""Scripted answers (``Faults.answer_next``), the unmet-answer check and the PAYVEN_* fixtures."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from payven_async import (
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    PaymentQuery,
    PayvenClient,
    PermissionDeniedError,
)
from payven_async.testing import Faults, PayvenEmulator

pytest_plugins = ["pytester"]

TRANSACTION_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"


@pytest.mark.parametrize(
    ("status", "code", "error_type"),
    [
        (401, "client_unauthorized", AuthenticationError),
        (403, "ip_not_allowed", PermissionDeniedError),
        (409, "invalid_state_transition", ConflictError),
        (422, "refund_exceeds_original", InvalidRequestError),
    ],
)
async def test_a_scripted_error_answer_reaches_the_client_with_its_code(
    payven_emulator: PayvenEmulator,
    status: int,
    code: str,
    error_type: type[Exception],
) -> None:
    """answer_next(route, status, code=...) answers the API's problem+json for N calls."""
    payven_emulator.seed_payments(ids=[TRANSACTION_ID])
    # A 401 is renewed and replayed once by the client: script it for both calls.
    times = 2 if status == 401 else 1
    payven_emulator.faults.answer_next("query", status, code=code, times=times)
    async with payven_emulator.client(max_retries=0) as client:
        with pytest.raises(error_type) as caught:
            await client.query(TRANSACTION_ID)
        assert caught.value.status == status  # type: ignore[attr-defined]
        assert caught.value.code == code  # type: ignore[attr-defined]
        assert caught.value.correlation_id  # type: ignore[attr-defined]
        # The script is used up: the next call does the work again.
        assert (await client.query(TRANSACTION_ID)).transaction_id == TRANSACTION_ID
    assert payven_emulator.faults.pending() == 0


async def test_a_scripted_answer_can_carry_detail_errors_headers_or_a_body(
    payven_emulator: PayvenEmulator, payven_client: PayvenClient
) -> None:
    """Field errors and headers go into the problem; body= answers a body of your own."""
    payven_emulator.seed_payments(ids=[TRANSACTION_ID])
    faults = payven_emulator.faults
    faults.answer_next(
        "query",
        400,
        code="validation_failed",
        detail="bad id",
        errors={"transaction_id": ["not a UUID"]},
        headers={"X-Scripted": "yes"},
    )
    with pytest.raises(InvalidRequestError) as caught:
        await payven_client.query(TRANSACTION_ID)
    assert caught.value.code == "validation_failed"
    assert caught.value.detail == "bad id"
    assert caught.value.errors == {"transaction_id": ["not a UUID"]}

    faults.answer_next(
        "query", 200, body={"transaction_id": TRANSACTION_ID, "status": "refunded"}, times=2
    )
    for _ in range(2):
        query = await payven_client.query(TRANSACTION_ID)
        assert isinstance(query, PaymentQuery)
        assert query.status == "refunded"
    assert (await payven_client.query(TRANSACTION_ID)).status != "refunded"
    assert faults.injected["answer"] == 3


def test_answer_next_refuses_what_cannot_be_answered() -> None:
    """A status outside 200..599, a 2xx without a body, or body= with code= is a ValueError."""
    faults = Faults()
    with pytest.raises(ValueError, match="between 200 and 599"):
        faults.answer_next("pay", 600)
    with pytest.raises(ValueError, match="needs its body"):
        faults.answer_next("pay", 200)
    with pytest.raises(ValueError, match="not both"):
        faults.answer_next("pay", 409, code="conflict", body={})
    with pytest.raises(ValueError, match="unknown route"):
        faults.answer_next("pai", 409)
    assert faults.pending() == 0


def test_unmet_lists_scripted_faults_no_call_used() -> None:
    """unmet() names each route's waiting faults; assert_all_used() fails with them."""
    faults = Faults()
    faults.assert_all_used()
    faults.answer_next("pay", 409, times=2)
    faults.fail_next("query", status=503)
    faults.drop_next("*")
    assert faults.unmet() == ["pay: answer 409 conflict x2", "query: error 503", "*: drop_before"]
    with pytest.raises(AssertionError, match=r"never used.*pay: answer 409 conflict x2"):
        faults.assert_all_used()
    faults.clear()
    faults.assert_all_used()


async def test_payven_env_points_a_client_built_from_the_environment_at_the_emulator(
    payven_env: dict[str, str], payven_emulator: PayvenEmulator
) -> None:
    """payven_env sets PAYVEN_* (via monkeypatch) so a bare PayvenClient() finds the emulator."""
    assert os.environ["PAYVEN_VPOS_URL"] == payven_emulator.url
    assert payven_env["PAYVEN_CLIENT_SECRET"] == payven_emulator.client_secret
    payven_emulator.faults.answer_next("token", 403, code="realm_suspended")
    async with PayvenClient(max_retries=0) as client:
        with pytest.raises(PermissionDeniedError, match="realm_suspended"):
            await client.token()
        assert (await client.token()).access_token
    assert payven_emulator.calls["token"] == 2


def test_the_plugin_fails_a_test_whose_scripted_answer_was_never_used(
    pytester: pytest.Pytester,
) -> None:
    """A test leaving a scripted answer unused fails, naming it; a test using it passes."""
    pytester.makepyfile(
        textwrap.dedent(
            """
            import os

            import payven_sync


            def test_leaves_one(payven_sync_emulator):
                payven_sync_emulator.faults.answer_next("pay", 422, code="bank_declined")


            def test_uses_it(payven_sync_env, payven_sync_emulator):
                payven_sync_emulator.faults.answer_next("token", 401, code="invalid_credentials")
                with payven_sync.PayvenClient(max_retries=0) as client:
                    try:
                        client.token()
                    except payven_sync.AuthenticationError:
                        pass
                    else:
                        raise AssertionError("the scripted 401 did not come")


            def test_failing_test_keeps_its_own_error(payven_sync_emulator):
                payven_sync_emulator.faults.fail_next("query", status=503)
                assert 1 == 2
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*payven_sync_emulator: scripted emulator answers were never used*"
            "pay: answer 422 bank_declined*"
        ]
    )
    result.stdout.fnmatch_lines(["*assert 1 == 2*"])
    assert "never used (the calls did not come): query" not in result.stdout.str()


def test_the_readme_payven_sync_env_example_runs(pytester: pytest.Pytester) -> None:
    """The README's payven_sync_env example, copied as it is, passes."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    start = readme.rindex("```python\n", 0, readme.index("def latest_status("))
    example = readme[start + len("```python\n") : readme.index("```", start + 3)]
    pytester.makepyfile(example)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_plugin_fails_an_async_test_whose_scripted_answer_was_never_used(
    pytester: pytest.Pytester,
) -> None:
    """With the async payven_emulator fixture (pytest-asyncio strict mode) an unused
    scripted answer fails the test too, naming it; a test using it passes."""
    pytester.makepyfile(
        textwrap.dedent(
            """
            import pytest

            import payven_async


            @pytest.mark.asyncio
            async def test_leaves_one(payven_emulator):
                payven_emulator.faults.answer_next("pay", 422, code="bank_declined")


            @pytest.mark.asyncio
            async def test_uses_it(payven_emulator, payven_client):
                payven_emulator.faults.answer_next("token", 401, code="invalid_credentials")
                with pytest.raises(payven_async.AuthenticationError):
                    await payven_client.token()
            """
        )
    )
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-o",
        "asyncio_mode=strict",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        "-W",
        "error",
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*payven_emulator: scripted emulator answers were never used*"
            "pay: answer 422 bank_declined*"
        ]
    )
    result.stdout.fnmatch_lines(["*FAILED*test_leaves_one*"])
    result.stdout.fnmatch_lines(["asyncio: mode=*STRICT*"])
