"""``payven reconcile``: the merchant's CSV in, items out, resumable through a checkpoint.

The expected-records CSV has a header row naming its columns, in any order:

==================  ========  ===========================================================
column              required  value
==================  ========  ===========================================================
``transaction_id``  yes       Payven's transaction id, once per file
``amount``          no        whole minor units (kuruş): ``15000`` is 150,00 TRY
``currency``        no        ISO 4217 code, e.g. ``TRY``
``status``          no        your status word (``completed``, ``approved``, ``failed``...)
==================  ========  ===========================================================

Empty cells mean "not stated" and are not compared; other columns are ignored.

Output: one item per transaction, JSON Lines (or CSV, :data:`CSV_COLUMNS`) on stdout,
the progress bar and the summary on stderr. With ``--checkpoint FILE`` each finished
item is appended to FILE as a JSON line (flushed at once, so a killed run loses no
finished item; fsynced at least every second and at the end); a run finding FILE
queries only the transactions without a line there, and the output is written from
FILE once every transaction has one, so it has each transaction exactly once, however
many runs it took. A partial last line (a crash mid-write) is dropped and re-queried.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import IO, Any, TextIO

from ._client import PayvenClient
from ._reconcile import ExpectedRecord, MismatchKind, ReconciliationItem
from .cli import error_json, to_json
from .models import Money

__all__ = [
    "CSV_COLUMNS",
    "Checkpoint",
    "InputError",
    "Summary",
    "item_json",
    "read_expected",
    "run",
]

_EXPECTED_COLUMNS = ("transaction_id", "amount", "currency", "status")
_MAX_PROBLEMS = 20

#: The columns of ``--format csv``, in order.
CSV_COLUMNS = (
    "transaction_id",
    "ok",
    "mismatches",
    "error",
    "expected_status",
    "expected_amount",
    "expected_currency",
    "payven_status",
    "payven_amount",
    "payven_captured_amount",
    "payven_currency",
    "bank_status",
    "bank_amount",
    "bank_captured_amount",
    "bank_currency",
    "external_query_available",
)


class InputError(Exception):
    """A file the command reads is unusable; the message says why (exit 2)."""


# --- the expected records -----------------------------------------------------------------


def read_expected(source: str) -> dict[str, ExpectedRecord]:
    """The expected records of a CSV file (``-``: stdin); every problem in one InputError."""
    try:
        if source == "-":
            import sys

            return _parse_expected(sys.stdin, "<stdin>")
        with open(source, encoding="utf-8-sig", newline="") as handle:
            return _parse_expected(handle, source)
    except OSError as error:
        raise InputError(f"cannot read {source}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise InputError(f"{source} is not UTF-8 text") from None


def _parse_expected(handle: Iterable[str], name: str) -> dict[str, ExpectedRecord]:
    try:
        reader = csv.DictReader(handle)
        header = reader.fieldnames
    except csv.Error as error:
        raise InputError(f"{name}: not a CSV file ({error})") from None
    if not header:
        raise InputError(f"{name}: empty; the first row must name the columns")
    columns = [column.strip().lower() for column in header]
    if "transaction_id" not in columns:
        raise InputError(
            f"{name}: no transaction_id column (the header row names "
            f"{', '.join(repr(c) for c in header)}; expected {', '.join(_EXPECTED_COLUMNS)})"
        )
    reader.fieldnames = columns
    records: dict[str, ExpectedRecord] = {}
    problems: list[str] = []
    try:
        for row in reader:
            line = reader.line_num
            values = {key: (row.get(key) or "").strip() for key in _EXPECTED_COLUMNS}
            transaction_id = values["transaction_id"]
            if not transaction_id:
                if any(values.values()):
                    problems.append(f"line {line}: transaction_id is empty")
                continue
            amount: int | None = None
            if values["amount"]:
                text = values["amount"]
                if text.isdigit():
                    amount = int(text)
                else:
                    problems.append(
                        f"line {line}: amount {text!r} is not whole minor units "
                        "(kuruş: 15000 for 150,00 TRY)"
                    )
            if transaction_id in records:
                problems.append(f"line {line}: transaction {transaction_id} is listed twice")
            records[transaction_id] = ExpectedRecord(
                amount=amount,
                currency=values["currency"].upper() or None,
                status=values["status"] or None,
            )
    except csv.Error as error:
        problems.append(f"line {reader.line_num}: {error}")
    if problems:
        shown = problems[:_MAX_PROBLEMS]
        more = len(problems) - len(shown)
        tail = f"\n  ... and {more} more" if more else ""
        lines = "\n".join(f"  - {problem}" for problem in shown)
        raise InputError(f"{name}: {len(problems)} bad rows:\n{lines}{tail}")
    return records


# --- one item as data ---------------------------------------------------------------------


def item_json(item: ReconciliationItem) -> dict[str, Any]:
    """One item as JSON-ready data (the JSON Lines and checkpoint shape)."""
    return {
        "transaction_id": item.transaction_id,
        "ok": item.ok,
        "mismatches": [
            {
                "kind": mismatch.kind.value,
                "between": list(mismatch.between),
                "values": to_json(list(mismatch.values)),
            }
            for mismatch in item.mismatches
        ],
        "error": None if item.error is None else error_json(item.error),
        "expected": to_json(item.expected),
        "internal": to_json(item.internal),
        "external": to_json(item.external),
        "external_query_available": item.external_query_available,
    }


def _csv_row(data: Mapping[str, Any]) -> list[Any]:
    def side(name: str, field: str) -> Any:
        record = data.get(name) or {}
        value = record.get(field)
        return "" if value is None else value

    mismatches = ";".join(
        mismatch["kind"] + (":" + "/".join(mismatch["between"]) if mismatch["between"] else "")
        for mismatch in data["mismatches"]
    )
    error = data.get("error") or {}
    available = data.get("external_query_available")
    return [
        data["transaction_id"],
        "true" if data["ok"] else "false",
        mismatches,
        error.get("message", ""),
        side("expected", "status"),
        side("expected", "amount"),
        side("expected", "currency"),
        side("internal", "status"),
        side("internal", "amount"),
        side("internal", "captured_amount"),
        side("internal", "currency"),
        side("external", "status"),
        side("external", "amount"),
        side("external", "captured_amount"),
        side("external", "currency"),
        "" if available is None else str(available).lower(),
    ]


class _Writer:
    """Writes item data as JSON Lines or CSV rows to the output stream."""

    def __init__(self, out: TextIO, form: str) -> None:
        self._out = out
        self._csv = csv.writer(out, lineterminator="\n") if form == "csv" else None
        if self._csv is not None:
            self._csv.writerow(CSV_COLUMNS)

    def write(self, data: Mapping[str, Any], line: str | None = None) -> None:
        if self._csv is not None:
            self._csv.writerow(_csv_row(data))
        else:
            self._out.write((line if line is not None else _dumps(data)) + "\n")


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


# --- the summary --------------------------------------------------------------------------


class Summary:
    """Counts per mismatch kind, and amounts per side and currency, of items as data."""

    def __init__(self) -> None:
        self.items = 0
        self.agreeing = 0
        self.failed = 0
        self.kinds: Counter[str] = Counter()
        self.totals: Counter[tuple[str, str]] = Counter()

    def add(self, data: Mapping[str, Any]) -> None:
        """Count one item (as :func:`item_json` shapes it)."""
        self.items += 1
        if data["ok"]:
            self.agreeing += 1
        if data.get("error"):
            self.failed += 1
        self.kinds.update({mismatch["kind"] for mismatch in data["mismatches"]})
        for side, key in (("merchant", "expected"), ("payven", "internal"), ("bank", "external")):
            record = data.get(key)
            if record and record.get("amount") is not None:
                self.totals[side, record.get("currency") or "?"] += int(record["amount"])

    def render(self) -> str:
        """The summary table, several lines of text."""
        mismatched = self.items - self.agreeing - self.failed
        lines = [
            f"{self.items} transactions: {self.agreeing} agree, {mismatched} with mismatches, "
            f"{self.failed} failed queries",
            "",
            f"  {'mismatch':<22}{'transactions':>12}",
        ]
        lines += [f"  {kind.value:<22}{self.kinds[kind.value]:>12}" for kind in MismatchKind]
        lines += ["", f"  {'side':<10}{'currency':<10}{'total':>18}"]
        for (side, currency), total in sorted(self.totals.items()):
            shown = Money(total, currency).to_decimal() if currency != "?" else Decimal(total)
            lines.append(f"  {side:<10}{currency:<10}{shown:>18,}")
        return "\n".join(lines) + "\n"


# --- the checkpoint -----------------------------------------------------------------------


class Checkpoint:
    """The finished items of a run, one JSON line each, appended and flushed at once."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.done: set[str] = set()
        self._handle: IO[str] | None = None
        self._synced = time.monotonic()

    def load(self) -> None:
        """Read the items already there; cut off a last line a crash left half-written."""
        good = 0
        try:
            with open(self.path, "r+b") as raw:  # bytes: the cut is a byte offset
                for line in raw:
                    if not line.endswith(b"\n"):
                        break  # torn: every item written ends its line
                    try:
                        self.done.add(json.loads(line)["transaction_id"])
                    except (ValueError, KeyError, TypeError):
                        break  # unreadable: everything from here is dropped
                    good += len(line)
                raw.truncate(good)
        except FileNotFoundError:
            pass
        except OSError as error:
            raise InputError(f"cannot open {self.path}: {error.strerror or error}") from None
        try:
            self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
        except OSError as error:
            raise InputError(f"cannot open {self.path}: {error.strerror or error}") from None

    def add(self, line: str) -> None:
        """Append one finished item's JSON line."""
        assert self._handle is not None
        self._handle.write(line + "\n")
        self._handle.flush()  # in the OS now: a killed process loses nothing finished
        if time.monotonic() - self._synced >= 1.0:
            self.sync()

    def sync(self) -> None:
        """Make what was written durable (fsync)."""
        if self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._synced = time.monotonic()

    def close(self) -> None:
        """Sync and close. Idempotent."""
        if self._handle is not None:
            with contextlib.suppress(OSError, ValueError):
                self.sync()
            self._handle.close()
            self._handle = None

    def items(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every line, and its data, from the start (after :meth:`close`)."""
        with open(self.path, encoding="utf-8") as handle:
            for line in _lines(handle):
                yield line.rstrip("\n"), json.loads(line)


def _lines(handle: IO[str]) -> Iterator[str]:
    # Lines with their ending; a last line without one is torn (every add ends in one).
    for line in handle:
        if not line.endswith("\n"):
            return
        yield line


# --- the command --------------------------------------------------------------------------


async def run(
    args: argparse.Namespace,
    client: PayvenClient,
    ids: list[str] | None,
    expected: dict[str, ExpectedRecord] | None,
    out: TextIO,
    err: TextIO,
) -> int:
    """Reconcile, write the items and the summary; the exit code (1: some queries failed)."""
    from ._progress import ProgressBar, bar_wanted

    checkpoint = Checkpoint(args.checkpoint) if args.checkpoint else None
    done: set[str] = set()
    if checkpoint is not None:
        checkpoint.load()
        done = checkpoint.done
        if done:
            err.write(f"payven: {len(done)} transactions already in {args.checkpoint}\n")
    total: int | None = None
    if ids is not None:
        given = set(ids)
        total = len(given) + sum(1 for key in expected or () if key not in given)
        del given
    if total is not None and done:
        total = max(total - len(done), 0)  # the bar counts this run's queries
    show_bar = bar_wanted(err, args.progress)  # as --help says; the summary is always shown
    bar = ProgressBar(total, err, animate=show_bar)
    summary = Summary()
    writer = None if checkpoint is not None else _Writer(out, args.format)
    window: dict[str, Any] = {}
    if args.start_date is not None or args.end_date is not None:
        window = {"start_date": args.start_date, "end_date": args.end_date}
    try:
        async for item in client.reconcile(
            ids,
            **window,
            expected=expected,
            skip=done,
            concurrency=args.concurrency,
            rate_limit=args.rate_limit,
        ):
            data = item_json(item)
            line = _dumps(data)
            if checkpoint is not None:
                checkpoint.add(line)
            else:
                assert writer is not None
                writer.write(data, line)
                summary.add(data)
            bar.update(failed=item.error is not None)
    except BrokenPipeError:
        bar.clear()  # the reader went away (| head): leave no half-drawn bar behind
        raise
    finally:
        if checkpoint is not None:
            checkpoint.close()
        if show_bar:
            bar.close()
    if checkpoint is not None:
        writer = _Writer(out, args.format)
        for line, data in checkpoint.items():
            writer.write(data, line)
            summary.add(data)
    out.flush()
    err.write(summary.render())
    err.flush()
    return 1 if summary.failed else 0


def csv_text(rows: Iterable[Mapping[str, Any]]) -> str:
    """Item data as ``--format csv`` writes it (for tests and tools)."""
    buffer = io.StringIO()
    writer = _Writer(buffer, "csv")
    for row in rows:
        writer.write(row)
    return buffer.getvalue()
