"""Clients used before ``os.fork()`` work in the child instead of hanging.

Each test uses a client in the parent (so its loop, session and pool exist), forks, and
calls it in the child; the parent waits for the child with a deadline and kills it if
it hangs. The child ends with ``os._exit`` so that none of pytest's teardown runs twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import warnings
from collections.abc import Callable

import pytest

from payven_async import PayvenClient as AsyncPayvenClient
from payven_async.testing import SyncPayvenEmulator

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")

CHILD_DEADLINE = 30.0


def _in_child(work: Callable[[], None]) -> int:
    """Run ``work`` in a forked child; its exit code (124 if it hung and was killed)."""
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a process with threads may deadlock: exactly
        # the situation under test (the client's own threads are what must not hang).
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            work()
            code = 0
        except BaseException as exc:
            sys.stderr.write(f"child failed: {type(exc).__name__}: {exc}\n")
        finally:
            os._exit(code)
    deadline = time.monotonic() + CHILD_DEADLINE
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return 124
        time.sleep(0.02)


def test_a_sync_client_works_in_a_forked_child() -> None:
    """payven_sync: a client whose loop thread ran before the fork calls fine in the child."""
    with SyncPayvenEmulator() as emu:
        ids = emu.seed_payments(3)
        with emu.client(timeout=10) as client:
            client.query(ids[0])  # the portal's thread, the session and the token exist
            assert _in_child(lambda: client.query(ids[1])) == 0
            client.query(ids[2])  # the parent's client goes on as before
        assert emu.calls["query"] == 3


def test_an_async_client_works_in_a_forked_child() -> None:
    """payven_async: a client used in the parent's loop calls fine in the child's loop."""
    with SyncPayvenEmulator() as emu:
        ids = emu.seed_payments(3)
        client = AsyncPayvenClient(**emu.credentials(), timeout=10)
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(client.query(ids[0]))
            assert _in_child(lambda: asyncio.run(client.query(ids[1]))) == 0
            loop.run_until_complete(client.query(ids[2]))
        finally:
            loop.run_until_complete(client.aclose())
            loop.close()
        assert emu.calls["query"] == 3
