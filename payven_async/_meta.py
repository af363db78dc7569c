"""What the client knows about the HTTP exchange behind a result or an error: ``.meta``.

Every answer model (:class:`~payven_async.models.PaymentResult`, ``PaymentQuery``, ...)
and every error the pipeline raises carries a :class:`ResponseMeta`: the correlation id
to quote to support, the HTTP status and headers, whether the service replayed an
earlier answer (``Idempotent-Replayed``), how many attempts the call took and how long.

Correlation ids: every request the client makes carries an ``X-Correlation-Id`` of the
client's, fresh for each logical call and the same on each of its attempts (a retry,
the replay after a 401), so a call is one id in the service's logs, however many
attempts it took; the service echoes it on its answers, and ``get_trace`` finds the
call's requests under it. A caller who wants an id of their own passes it in
``extra_headers``; it then goes on every attempt instead. The meta gives the id of the
last answer (the service's word), else the one sent. Ids are a random per-process
prefix and a counter (:data:`next_correlation_id`): unique across processes and forks.
The id and its header cost some 7k instructions a call (callgrind, ``benchmarks/``):
about 1.5k to make the id, the rest aiohttp's handling of one more header.

A result's meta is built on first access: on the hot path the pipeline only stores the
answer, the attempt count, the elapsed time and the request's correlation id, call and
key, as a plain tuple, in the answer model's one extra slot (:func:`build_meta` reads it).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from typing import Any

from ._http import Answer, Headers, Request
from .models import ResponseMeta, _Answer

#: Stores what a result's meta is made of in its slot (answer models are frozen): the
#: slot's own setter, a C call, 0.7k instructions (object.__setattr__: 1.2k). Raises
#: TypeError for anything but an answer model.
store_meta: Callable[[Any, Any], None] = _Answer.__dict__["_payven_meta"].__set__

__all__ = [
    "ResponseMeta",
    "build_meta",
    "meta_of",
    "next_correlation_id",
    "store_meta",
    "store_meta_in_items",
]


def meta_of(request: Request, answer: Answer | None, attempts: int, elapsed: float) -> ResponseMeta:
    """The meta of a call that sent ``request`` (its last attempt) and got ``answer``."""
    sent = request.headers.get("X-Correlation-Id")
    if answer is None:
        return ResponseMeta(
            sent, None, Headers(), False, attempts, elapsed, request.call, request.idempotency_key
        )
    return build_meta((answer, attempts, elapsed, sent, request.call, request.idempotency_key))


def build_meta(source: tuple[Answer, int, float, str | None, str, str | None]) -> ResponseMeta:
    """The meta of a result, from what the pipeline stored: ``(answer, attempts,
    elapsed, correlation id sent, call, idempotency key)``, a plain tuple (a few hundred
    instructions on the hot path; the request itself, its bearer token with it, is not
    kept)."""
    answer, attempts, elapsed, sent, call, key = source
    headers = answer.headers
    replayed = headers.get("Idempotent-Replayed", "")
    return ResponseMeta(
        headers.get("X-Correlation-Id") or sent,
        answer.status,
        headers,
        replayed.strip().lower() == "true",
        attempts,
        elapsed,
        call,
        key,
    )


def store_meta_in_items(items: Any, exchange: Any) -> None:
    """Give each answer model in the list ``items`` the meta of the exchange they came
    in: what the pipeline stores for a result (see :func:`build_meta`), or a built
    :class:`ResponseMeta`. The entries of a plain list answer, and listed items, which
    tell their page's exchange."""
    if type(items) is not list or exchange is None:
        return
    for item in items:
        try:  # noqa: SIM105 - one try for the list; contextlib.suppress is two calls an item
            store_meta(item, exchange)
        except TypeError:
            pass  # not an answer model


# --- correlation ids ---------------------------------------------------------------------


def _reseed() -> None:
    """A fresh prefix and counter: at import, and in each child after a ``fork``."""
    global next_correlation_id
    # The "n" before the counter: a prefix whose 12 hex digits happen to be all decimal
    # would otherwise run on into the counter, and "380518123669-29" reads as a card
    # number to the redactor (it masked it, and the leak tests flagged it).
    prefix = f"pv-{os.urandom(6).hex()}-n"
    # One C call an id (map over a count), no Python frame of ours: the int's text and
    # the concatenation are what it costs.
    next_correlation_id = map(prefix.__add__, map(str, itertools.count(1))).__next__


#: A fresh ``X-Correlation-Id`` for one logical call: ``pv-<12 hex>-n<counter>``, unique
#: per process (a random prefix, renewed in a forked child). Read it through the module
#: (``_meta.next_correlation_id()``): a fork rebinds it.
next_correlation_id: Callable[[], str]
_reseed()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed)
