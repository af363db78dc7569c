"""What the client needs from HTTP: a :class:`Transport` sends a request, returns its answer.

The client's logic (tokens, retries, deadlines, idempotency, outcome classification)
lives above this line and never sees an HTTP library. Two transports ship:
:class:`~payven_async._aiohttp.AiohttpTransport`, the default and the only module that
imports aiohttp's client, and :class:`~payven_async._memory.MemoryTransport`, which
answers from a function in memory, for tests that need no socket.
"""

from __future__ import annotations

from typing import Protocol

from ._config import Timeout
from ._http import Answer, Request

__all__ = ["Transport"]


class Transport(Protocol):
    """Sends one request and reads its whole answer; maps every failure to a payven error.

    :meth:`send` raises :class:`~payven_async.errors.TransportError` (or a subclass)
    when no usable answer arrived, with ``request_sent=False`` only when the request
    certainly never reached the server, and never lets a foreign exception out;
    ``asyncio.CancelledError`` passes through untouched. Any status is an answer, not
    an error: the caller decides what a 4xx or 5xx means.
    """

    async def send(self, request: Request, timeout: Timeout) -> Answer:
        """Make one HTTP exchange within ``timeout`` and return the whole answer."""
        ...

    def reserve(self, concurrency: int) -> None:
        """A hint that up to ``concurrency`` requests may be in flight at once."""
        ...

    async def aclose(self) -> None:
        """Release what the transport holds (connections). Idempotent."""
        ...
