"""The emulator's clock: wall time that tests can freeze and move forward.

Token expiry, checkout-session expiry, idempotency TTLs and rate-limit windows all
read this clock, so a test can expire a token or a session without sleeping
(``emu.clock.advance(301)``), and pin a rate-limit window (``emu.clock.freeze()``).
The clients the emulator makes (``emu.client()``, the pytest fixtures) judge their
token by it too: moved past the renewal point, the client renews before its next call,
as it would after that much real time.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

__all__ = ["Clock", "iso"]


class Clock:
    """Unix time plus an offset, optionally frozen at one instant."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._frozen_at: float | None = None

    def __repr__(self) -> str:
        state = "frozen" if self._frozen_at is not None else "running"
        return f"<Clock {state} offset={self._offset:+.0f}s>"

    def now(self) -> float:
        """The emulator's current Unix time in seconds."""
        if self._frozen_at is not None:
            return self._frozen_at
        return time.time() + self._offset

    def monotonic(self) -> float:
        """``time.monotonic()``, moved forward by every :meth:`advance` and stopped while
        frozen: what the token clock of a client made by the emulator reads."""
        return time.monotonic() + (self.now() - time.time())

    def utcnow(self) -> datetime:
        """The emulator's current time as an aware UTC ``datetime``."""
        return datetime.fromtimestamp(self.now(), tz=timezone.utc)

    def advance(self, seconds: float) -> None:
        """Move the clock forward (expire tokens and sessions without waiting)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        if self._frozen_at is not None:
            self._frozen_at += seconds
        else:
            self._offset += seconds

    def freeze(self) -> None:
        """Stop the clock where it is (rate-limit windows then never roll over)."""
        if self._frozen_at is None:
            self._frozen_at = self.now()

    def unfreeze(self) -> None:
        """Let the clock run again from where it was frozen."""
        if self._frozen_at is not None:
            self._offset = self._frozen_at - time.time()
            self._frozen_at = None

    @property
    def frozen(self) -> bool:
        """True while the clock is frozen."""
        return self._frozen_at is not None


def iso(moment: datetime) -> str:
    """A timestamp as the API writes it: ISO 8601, UTC, explicit ``+00:00``."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")
