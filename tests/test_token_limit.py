"""The emulator's token route: 10 calls a minute, as documented, then 429 with Retry-After."""

from __future__ import annotations

import aiohttp
import pytest

from payven_async import RetryDetails
from payven_async._retry import RetryPolicy
from payven_async.cli import build_parser
from payven_async.testing import PayvenEmulator


async def _token_status(session: aiohttp.ClientSession, emu: PayvenEmulator) -> tuple[int, str]:
    async with session.post(
        f"{emu.url}/api/v1/auth/{emu.slug}/token",
        json={"client_id": emu.client_id, "client_secret": emu.client_secret},
    ) as response:
        return response.status, response.headers.get("Retry-After", "")


async def test_the_eleventh_token_call_in_a_minute_gets_429_with_retry_after() -> None:
    """10 calls pass, the 11th is refused with Retry-After; a minute later they pass again."""
    async with PayvenEmulator() as emu, aiohttp.ClientSession() as session:
        emu.clock.freeze()
        statuses = [(await _token_status(session, emu))[0] for _ in range(10)]
        refused, retry_after = await _token_status(session, emu)
        emu.clock.advance(60)
        again, _ = await _token_status(session, emu)
    assert statuses == [200] * 10
    assert (refused, retry_after) == (429, "60")
    assert again == 200
    assert emu.calls["token"] == 12
    assert emu.token_calls_refused == 1


async def test_the_token_limit_is_configurable_and_can_be_turned_off() -> None:
    """token_calls_per_minute sets the limit; None turns it off; the refresh route is apart."""
    async with PayvenEmulator(token_calls_per_minute=2) as emu, aiohttp.ClientSession() as session:
        emu.clock.freeze()
        first = [(await _token_status(session, emu))[0] for _ in range(3)]
        emu.token_calls_per_minute = None
        second = [(await _token_status(session, emu))[0] for _ in range(20)]
    assert first == [200, 200, 429]
    assert second == [200] * 20


async def test_a_client_refused_a_token_waits_with_jitter_and_succeeds() -> None:
    """A client refused by the token limit retries after Retry-After plus jitter, and
    gets its token."""
    async with PayvenEmulator(token_calls_per_minute=1) as emu:
        emu.clock.freeze()
        async with emu.client() as spent:
            await spent.token()
        waits: list[float] = []

        def advance(details: RetryDetails) -> None:
            waits.append(details.wait_for)
            emu.clock.advance(60)  # the minute passes for the emulator at once

        async with emu.client(on_retry=advance) as client:
            # Retry-After capped to 0 s, so that only the jitter (0.001 s here) is left.
            client._pipeline.policy = RetryPolicy(max_retry_after=0.0, random=lambda: 0.001)
            await client.token()
    assert emu.token_calls_refused == 1
    assert waits == [0.001]


def test_rejects_a_limit_below_one() -> None:
    """A limit of 0 or less is refused (None turns limiting off)."""
    with pytest.raises(ValueError, match="token_calls_per_minute"):
        PayvenEmulator(token_calls_per_minute=0)


def test_the_command_line_takes_a_token_limit() -> None:
    """payven emulator --token-limit N sets the limit; 10 by default."""
    parser = build_parser()
    assert parser.parse_args(["emulator"]).token_limit == 10
    assert parser.parse_args(["emulator", "--token-limit", "60"]).token_limit == 60
