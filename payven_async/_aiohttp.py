"""The aiohttp transport: the only module that imports aiohttp's client.

It owns the session (created lazily, inside the running loop, unless the caller passed
one), makes one HTTP exchange per :meth:`AiohttpTransport.send`, caps the answer's
size, and turns every aiohttp and OS exception into a payven exception, chained with
``from``; ``CancelledError`` passes through untouched.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import platform
import time

import aiohttp

from . import _fork
from ._config import ClientConfig, Timeout
from ._http import Answer, Request
from ._redact import scrub
from ._version import __version__
from .errors import (
    ClientClosedError,
    DecodeError,
    PayvenConnectionError,
    PayvenTimeoutError,
    TransportError,
)

__all__ = ["USER_AGENT", "AiohttpTransport"]

# The body goes to aiohttp as its payload object, made here: bytes would sit in the
# locals of aiohttp's frames, which error trackers render (a pay body holds the card),
# while a payload's repr shows nothing of it. Made here it also costs less than
# aiohttp's own lookup of a payload type for bytes (1k instructions a pay, callgrind).
_BodyPayload = aiohttp.payload.BytesPayload

_new = tuple.__new__

logger = logging.getLogger("payven.http")

USER_AGENT = (
    f"payven-python/{__version__} python/{platform.python_version()} aiohttp/{aiohttp.__version__}"
)


class AiohttpTransport:
    """Sends requests over one aiohttp session, created lazily inside the running loop.

    A caller-owned session is used as it is and never closed here.
    """

    def __init__(
        self,
        config: ClientConfig,
        session: aiohttp.ClientSession | None = None,
        *,
        connection_limit: int = 100,
        proxy: str | None = None,
        trust_env: bool = False,
    ) -> None:
        self._config = config
        self._proxy = proxy
        self._trust_env = trust_env
        self._session = session
        self._owns_session = session is None
        self._connection_limit = connection_limit
        self._closed = False
        # aiohttp's form of the default limits, which nearly every request uses.
        self._default_limits = config.timeout
        self._default_client_timeout = _client_timeout(config.timeout.total, config.timeout.connect)
        _fork.after_fork_in_child(self)

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` has run."""
        return self._closed

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError("this PayvenClient is closed; create a new client")
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._connection_limit,
                ssl=self._config.ssl_context if self._config.ssl_context is not None else True,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                auto_decompress=True,
                # Off unless asked: HTTPS_PROXY and ~/.netrc are read only with it.
                trust_env=self._trust_env,
                proxy=self._proxy,
            )
        return self._session

    def reserve(self, connections: int) -> None:
        """Size the connection pool for ``connections`` concurrent requests.

        Only possible before the session exists (the pool is fixed once created) or for
        a caller's session, whose pool is the caller's business.
        """
        if self._session is None and connections > self._connection_limit:
            self._connection_limit = connections
        elif self._owns_session and connections > self._connection_limit:
            logger.debug(
                "the pool already holds %d connections; %d concurrent requests will queue",
                self._connection_limit,
                connections,
            )

    async def send(self, request: Request, timeout: Timeout) -> Answer:
        """Make one HTTP exchange and read the whole answer, within ``timeout``."""
        method, url, headers = request.method, request.url, request.headers
        session = self._session
        if session is None:  # not made yet, or closed (then this raises)
            session = self._get_session()
        debug = logger.isEnabledFor(logging.DEBUG)
        started = time.perf_counter() if debug else 0.0
        client_timeout = (
            self._default_client_timeout
            if timeout is self._default_limits
            else _client_timeout(timeout.total, timeout.connect)
        )
        if not self._owns_session:
            # A caller's session may lack our defaults; add them per request.
            headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **headers}
        try:
            async with session.request(
                method,
                url,
                headers=headers,
                data=None if request.body is None else _BodyPayload(request.body),
                timeout=client_timeout,
            ) as response:
                length = response.content_length
                if length is not None and length <= self._config.max_response_bytes:
                    payload = await response.read()  # the usual answer: _read() in short
                else:
                    payload = await self._read(response)
                # tuple.__new__: the named tuple's Python __new__ costs 1.5k more.
                answer = _new(Answer, (response.status, response.headers, payload))
        except aiohttp.ClientProxyConnectionError as exc:
            scrub(exc)  # aiohttp's finished frames held the body and the headers
            raise PayvenConnectionError(
                f"cannot connect to the proxy {exc.host}:{exc.port}: "
                f"{exc.os_error.strerror or type(exc).__name__}",
                request_sent=False,
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            scrub(exc)  # aiohttp's finished frames held the body and the headers
            raise PayvenConnectionError(
                f"cannot connect to {_origin(url)}: {exc.os_error.strerror or type(exc).__name__}",
                request_sent=False,
            ) from exc
        except aiohttp.ConnectionTimeoutError as exc:
            scrub(exc)
            raise PayvenTimeoutError(
                f"timed out connecting to {_origin(url)} after {timeout.connect:.3g} s",
                request_sent=False,
            ) from exc
        except asyncio.TimeoutError as exc:
            scrub(exc)
            raise PayvenTimeoutError(
                f"no complete answer from {_origin(url)} within {timeout.total:.3g} s"
            ) from exc
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            scrub(exc)
            raise PayvenConnectionError(
                f"connection to {_origin(url)} failed: {type(exc).__name__}"
            ) from exc
        except aiohttp.ClientError as exc:
            scrub(exc)
            raise TransportError(
                f"HTTP error talking to {_origin(url)}: {type(exc).__name__}"
            ) from exc
        if debug:
            logger.debug(
                "%s %s -> %d in %.1f ms (%s, attempt %d, correlation id %s)",
                method,
                _path(url),
                answer.status,
                (time.perf_counter() - started) * 1000,
                request.call,
                request.attempt,
                answer.correlation_id,
            )
        return answer

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        cap = self._config.max_response_bytes
        length = response.content_length
        if length is not None:
            if length > cap:
                raise DecodeError(f"the answer is {length} bytes, over the {cap}-byte limit")
            return await response.read()
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_any():
            size += len(chunk)
            if size > cap:
                del chunk, chunks  # the answer's text, not locals for an error tracker
                raise DecodeError(f"the answer is over the {cap}-byte limit")
            chunks.append(chunk)
        return b"".join(chunks)

    def _after_fork(self) -> None:
        # In a forked child the session's connections and loop are the parent's: the
        # next request opens a new session in the child's loop. A caller's session is
        # the caller's to replace.
        if self._owns_session and self._session is not None:
            _fork.abandon(self._session)
            self._session = None

    async def aclose(self) -> None:
        """Close the session if we own it. Idempotent."""
        if self._closed:
            return
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()


@functools.lru_cache(maxsize=64)
def _client_timeout(total: float, connect: float) -> aiohttp.ClientTimeout:
    """aiohttp's (immutable) timeout object for these limits, made once per limits: a
    per-call ``timeout=`` tends to repeat too."""
    return aiohttp.ClientTimeout(total=total, connect=connect)


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _path(url: str) -> str:
    _, _, rest = url.partition("://")
    return "/" + rest.split("/", 1)[1] if "/" in rest else "/"
