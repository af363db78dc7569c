"""Listing with automatic paging: the filters of a list, checked and spelled for the
query string, and the iterator that walks the pages.

A list call is checked whole before any I/O (:func:`query_filters`: dates, enums,
amounts, ``page_size`` and ``start_page``), and every problem is reported in one
:class:`~payven_async.errors.ValidationError`. The values become the query string's
text here, named as the published spec names them.

:func:`paginate` walks the pages: it asks for page *n + 1* while the caller consumes
page *n*, so the next page is usually there when the caller is; it holds at most two
pages (the one being consumed and the one being fetched; the one before is dropped
before the next is awaited), and stops after the last page. A page that still fails
after its retries raises :class:`~payven_async.errors.PageFetchError`: every item
before that page has been yielded, so ``start_page=error.page`` resumes exactly there.

Dates: a ``datetime`` must carry its offset (the service reads a naive one as UTC,
which is three hours off a Turkish bank day); a ``date`` is the whole bank day in
Turkish time (UTC+3): as a start, its first instant; as an end, its last.
"""

from __future__ import annotations

import asyncio
import enum
import importlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Literal, TypeVar

from . import _rules as rules
from ._hooks import lenient_enum_hook
from ._meta import store_meta_in_items
from .errors import DecodeError, PageFetchError, PayvenError, Problem, ValidationError

__all__ = ["MAX_PAGE_SIZE", "Kind", "page_query", "paginate", "query_filters"]

T = TypeVar("T")

#: The largest page the guides allow (the default of the spec's lists is 20).
MAX_PAGE_SIZE = 100
#: Banks close the day in Turkish time (UTC+3 all year round).
TURKEY = timezone(timedelta(hours=3))

#: How a filter is checked and written: a timestamp (``start`` or ``end`` of a period),
#: a calendar date, an int >= 1, an amount (int >= 0), a boolean, an identifier
#: (``text``) or free text (``words``: a search term), or the name of an enum of
#: :mod:`._listing_models` (or ``OperationType``, ``RefundReasonCode``).
Kind = Literal["start", "end", "day", "count", "amount", "flag", "text", "words"] | str


def _enum(name: str) -> type[enum.Enum]:
    if name == "OperationType":
        from .models import OperationType

        return OperationType
    if name == "RefundReasonCode":
        from ._operation_models import RefundReasonCode

        return RefundReasonCode
    found: type[enum.Enum] = getattr(importlib.import_module("._listing_models", __package__), name)
    return found


def _instant(name: str, value: Any, kind: str, problems: list[Problem]) -> str | None:
    """A period bound as ISO 8601 text with its offset; a date is a Turkish bank day."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            problems.append(
                Problem(name, "must carry a timezone offset (a naive time is read as UTC)")
            )
            return None
        return value.isoformat()
    if isinstance(value, date):
        moment = datetime.combine(value, time.min if kind == "start" else time.max, TURKEY)
        return moment.isoformat()
    problems.append(Problem(name, f"must be a date or a datetime, got {type(value).__name__}"))
    return None


def _comparable(value: Any, kind: str) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.utcoffset() is not None else None
    if isinstance(value, date):
        return datetime.combine(value, time.min if kind != "end" else time.max, TURKEY)
    return None


def _text(name: str, value: Any, kind: str, problems: list[Problem]) -> str | None:
    """One filter's value as query text; a problem is appended when it is not valid."""
    if kind in ("start", "end"):
        return _instant(name, value, kind, problems)
    if kind == "day":
        if isinstance(value, date) and not isinstance(value, datetime):
            return value.isoformat()
        problems.append(Problem(name, "must be a date (a calendar day, without a time)"))
        return None
    if kind in ("count", "amount"):
        lowest = 1 if kind == "count" else 0
        if rules.is_int(value) and lowest <= value <= rules.INT64_MAX:
            return str(value)
        problems.append(Problem(name, f"must be an int >= {lowest}, got {value!r}"))
        return None
    if kind == "flag":
        if isinstance(value, bool):
            return "true" if value else "false"
        problems.append(Problem(name, f"must be True or False, got {value!r}"))
        return None
    if kind == "words":
        code = rules.text(value) if value != "" else "empty"
        if code is None:
            return str(value)
        problems.append(Problem(name, rules.CODES[code]))
        return None
    if kind == "text":
        code = rules.identifier(value)
        if code is None:
            return str(value)
        problems.append(Problem(name, rules.CODES[code]))
        return None
    enum_type = _enum(kind)
    member = value if isinstance(value, enum_type) else None
    if member is None and isinstance(value, str):
        found = lenient_enum_hook(enum_type)(value)
        member = found if isinstance(found, enum_type) else None
    if member is None:
        names = ", ".join(f"{enum_type.__name__}.{m.name}" for m in enum_type)
        problems.append(Problem(name, f"must be one of {names}, got {value!r}"))
        return None
    return str(member.value)


def query_filters(
    filters: Mapping[str, Any], kinds: Mapping[str, Kind], problems: list[Problem]
) -> dict[str, str]:
    """The filters that are not None, checked and as query text, in ``kinds``' order.

    Problems are appended to ``problems`` (the caller raises them with its own). A
    period whose start is after its end, or whose minimum is above its maximum, is a
    problem too.
    """
    texts: dict[str, str] = {}
    for name, kind in kinds.items():
        value = filters.get(name)
        if value is None:
            continue
        text = _text(name, value, kind, problems)
        if text is not None:
            texts[name] = text
    start, end = filters.get("start_date"), filters.get("end_date")
    if start is not None and end is not None and "start_date" in texts and "end_date" in texts:
        kind = kinds.get("start_date", "start")
        low = _comparable(start, "start") if kind != "day" else None
        high = _comparable(end, "end") if kind != "day" else None
        if (low is not None and high is not None and low > high) or (kind == "day" and start > end):
            problems.append(Problem("end_date", "must not be before start_date"))
    if (
        "min_amount" in texts
        and "max_amount" in texts
        and (int(texts["min_amount"]) > int(texts["max_amount"]))
    ):
        problems.append(Problem("max_amount", "must not be below min_amount"))
    return texts


def page_query(
    filters: Mapping[str, Any],
    kinds: Mapping[str, Kind],
    *,
    page_size: Any,
    start_page: Any,
    extra_problems: list[Problem] | None = None,
) -> dict[str, str]:
    """Check a list call's arguments (before any I/O) and return its query's filters.

    :raises ValidationError: listing every problem, ``page_size`` (an int from 1 to
        :data:`MAX_PAGE_SIZE`) and ``start_page`` (an int >= 1) included.
    """
    problems = list(extra_problems or ())
    if not (rules.is_int(page_size) and 1 <= page_size <= MAX_PAGE_SIZE):
        problems.append(
            Problem("page_size", f"must be an int from 1 to {MAX_PAGE_SIZE}, got {page_size!r}")
        )
    if not (rules.is_int(start_page) and 1 <= start_page <= rules.INT64_MAX):
        problems.append(Problem("start_page", f"must be an int >= 1, got {start_page!r}"))
    texts = query_filters(filters, kinds, problems)
    if problems:
        raise ValidationError(problems)
    return texts


#: The fields of a page that paging relies on: a page that has one it cannot read is a
#: PageFetchError, not a page decoded tolerantly (what the other fields may be).
_PAGING_FIELDS = ("items", "page", "page_number", "has_next_page", "total_pages")


def _has_next(page: Any, number: int, page_size: int) -> bool:
    """Whether a page after ``page`` (number ``number``) exists, by what the page says.

    ``has_next_page`` when the answer has it, else ``total_pages``, else a full page;
    an empty page is always the last, whatever it claims (no endless walk).
    """
    items = page.items
    if not items:
        return False
    if page.has_next_page is not None:
        return bool(page.has_next_page)
    if page.total_pages is not None:
        return number < int(page.total_pages)
    return len(items) >= page_size


async def paginate(
    fetch: Callable[[int], Awaitable[Any]],
    *,
    call: str,
    start_page: int,
    page_size: int,
) -> AsyncGenerator[Any, None]:
    """Yield every item of the pages from ``start_page`` on, fetching one page ahead.

    ``fetch(n)`` returns the awaitable of page ``n`` (its own retries included). At
    most two pages are held: the one whose items are being yielded and the next one,
    in flight or arrived; the one before is let go before the next is awaited. Closing
    the iterator early cancels the page in flight.

    :raises PageFetchError: a page failed (after its retries), or the answer was
        another page than the one asked for, or its items or its place (number, next
        page, total pages) could not be read (a ``DecodeError``); ``.page`` is the page
        to resume from, and every item before it has been yielded. An item's own odd
        value does not stop the listing: the item keeps it and names it in its
        ``decode_problems``.
    """
    number = start_page
    pending: asyncio.Future[Any] | None = asyncio.ensure_future(fetch(number))
    try:
        while pending is not None:
            try:
                page = await pending
            except PayvenError as error:
                pending = None
                raise PageFetchError(call, number, error) from error
            unread = [name for name in _PAGING_FIELDS if name in page.decode_problems]
            if unread:
                # Items that could not be read would be lost, and a page whose place is
                # unknown could repeat or skip items: stop here, resumably.
                unreadable = DecodeError(
                    f"page {number}: cannot read "
                    + "; ".join(f"{name} ({page.decode_problems[name]})" for name in unread)
                )
                raise PageFetchError(call, number, unreadable) from unreadable
            if page.number is not None and page.number != number:
                # A service that ignored the page asked for would repeat or skip items.
                wrong = DecodeError(f"asked for page {number}, the answer is page {page.number}")
                raise PageFetchError(call, number, wrong) from wrong
            pending = (
                asyncio.ensure_future(fetch(number + 1))
                if _has_next(page, number, page_size)
                else None
            )
            # Each item tells the exchange its page came in (the page's .meta).
            store_meta_in_items(page.items, getattr(page, "_payven_meta", None))
            for item in page.items:
                yield item
            # Let this page go before waiting for the next: only that one is held meanwhile.
            page = item = None
            number += 1
    finally:
        if pending is not None:
            if not pending.done():
                pending.cancel()
                # wait() neither raises the page's error nor swallows our own cancellation.
                await asyncio.wait([pending])
            if not pending.cancelled():
                pending.exception()  # retrieved: no "exception was never retrieved" warning
