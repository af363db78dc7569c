"""A real ``redis-server`` on loopback for the tests of the Redis token store and limiter.

The session fixture :func:`redis_server` starts Debian's ``redis-server`` on a free
port of 127.0.0.1, without persistence, and stops it at the end. Without the binary
the tests that need it skip, unless ``PAYVEN_REQUIRE_REDIS=1`` (set by ``.ci/run``):
then they fail, so that CI never passes by skipping them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

__all__ = ["free_port", "redis_prefix", "redis_server", "redis_url"]


def free_port() -> int:
    """A port of 127.0.0.1 nobody listens on (at the moment of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """The URL of a redis-server on loopback, started for this test session."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("PAYVEN_REQUIRE_REDIS") == "1":
            pytest.fail(message + "; PAYVEN_REQUIRE_REDIS=1 requires it", pytrace=False)
        pytest.skip(message)
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - the redis-server found on PATH, fixed args
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not _ping(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start on port {port}", pytrace=False)
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session's Redis URL (a test keeps to its own keys with :func:`redis_prefix`)."""
    return redis_server


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix of this test's own, so tests sharing one Redis never meet."""
    return f"payven-test-{uuid.uuid4().hex[:12]}"
