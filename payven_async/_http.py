"""The values one HTTP exchange is made of: a :class:`Request` and its :class:`Answer`.

Both are plain immutable values that know nothing of sockets or of aiohttp: the
operation table (:mod:`._operations`) builds requests, a transport (:mod:`._transport`)
turns a request into an answer, and :mod:`._responses` turns the answer into a model or
an exception. They are named tuples because one of each is made for every attempt of
every call, and a named tuple costs a third of what an attrs class costs to build.

Neither repr shows a body or a header's value: a pay body holds the card number and
the CVV, a token body the client secret, and every vpos request a bearer token.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from ._json import dumps

__all__ = ["Answer", "Headers", "Request"]

_new = tuple.__new__


class Headers(Mapping[str, str]):
    """A read-only, case-insensitive mapping of header names to values.

    What an in-memory answer carries; answers read over HTTP carry the HTTP library's
    own case-insensitive mapping, which behaves the same for lookups.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._items: dict[str, tuple[str, str]] = {
            name.lower(): (name, value) for name, value in pairs
        }

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({sorted(self)!r})"


class Request(NamedTuple):
    """One HTTP request, complete: what a transport sends, as it is.

    Built from an operation's row (:mod:`._operations`); the call pipeline adds the
    ``Authorization`` header per attempt (:meth:`authorized`), because the token may
    change between attempts. ``call`` names the operation (``"pay"``, ``"query"``, ...),
    ``moves_money`` says whether an unanswered attempt may have moved money, and
    ``external_id`` / ``transaction_id`` are what an unknown outcome's error reports;
    ``attempt`` counts the call's attempts from 1 (for logs).
    """

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None
    call: str
    moves_money: bool = False
    idempotency_key: str | None = None
    external_id: str | None = None
    transaction_id: str | None = None
    attempt: int = 1

    def authorized(self, authorization: str, attempt: int = 1) -> Request:
        """This request, as attempt ``attempt``, with this ``Authorization`` header."""
        headers = {**self[2], "Authorization": authorization}
        # tuple.__new__ rather than Request(): the named tuple's own __new__ is a Python
        # function, 1.5k instructions more, and this runs on every attempt of every call.
        return _new(
            Request,
            (
                self[0],
                self[1],
                headers,
                self[3],
                self[4],
                self[5],
                self[6],
                self[7],
                self[8],
                attempt,
            ),
        )

    def __repr__(self) -> str:
        size = "no body" if self.body is None else f"{len(self.body)}-byte body"
        return (
            f"<Request {self.call}: {self.method} {self.url}, headers {sorted(self.headers)}, "
            f"{size}, idempotency_key={self.idempotency_key!r}>"
        )


class Answer(NamedTuple):
    """One HTTP answer, fully read: status, headers (case-insensitive) and body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def correlation_id(self) -> str | None:
        """The ``X-Correlation-Id`` header, if the server sent one."""
        return self.headers.get("X-Correlation-Id")

    @classmethod
    def of(cls, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None) -> Answer:
        """An answer with these parts, its headers made case-insensitive."""
        return cls(status, Headers(headers or {}), body)

    @classmethod
    def from_json(
        cls, data: Any, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> Answer:
        """An answer whose body is ``data`` as JSON (``Content-Type: application/json``)."""
        return cls.of(status, dumps(data), {"Content-Type": "application/json", **(headers or {})})

    def __repr__(self) -> str:
        return f"<Answer {self.status}, {len(self.body)}-byte body>"
