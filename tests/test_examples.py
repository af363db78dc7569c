"""The fleet example runs as the README tells (against the emulator and a real Redis)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.redis_support import redis_server, redis_url

__all__ = ["redis_server", "redis_url"]  # the fixtures, for pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fleet_reconciliation.py"


def test_the_fleet_example_reconciles_over_processes_with_one_token(redis_url: str) -> None:
    """examples/fleet_reconciliation.py --emulator: every payment reconciled, one token."""
    run = subprocess.run(  # noqa: S603 - this interpreter, running the example
        [sys.executable, str(EXAMPLE), "--emulator", "--workers", "3", "--payments", "150"],
        env={**os.environ, "REDIS_URL": redis_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "150 payments over 3 processes" in run.stdout
    assert "completed    147" in run.stdout
    assert "failed       3" in run.stdout
    assert "no answer    0" in run.stdout
    assert "token calls the identity service saw: 1" in run.stdout
