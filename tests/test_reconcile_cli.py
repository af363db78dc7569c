"""``payven reconcile``: JSON Lines or CSV, the summary, the expected CSV, resuming."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from payven_async._reconcile_cmd import CSV_COLUMNS
from payven_async.cli import main
from payven_async.testing import SyncPayvenEmulator

MISMATCHES = {"status": 2, "amount": 1, "captured_amount": 1, "currency": 1, "external_missing": 1}


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[SyncPayvenEmulator]:
    """A running emulator the command reaches through the PAYVEN_* variables."""
    with SyncPayvenEmulator(rate_limit=None) as emulator:
        for key, value in emulator.credentials().items():
            monkeypatch.setenv(f"PAYVEN_{key.upper()}", value)
        yield emulator


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _write(path: Path, lines: list[str]) -> str:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return str(path)


def test_jsonl_items_and_a_summary_of_the_seeded_mismatches(
    emu: SyncPayvenEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each id is one JSON line (once, even if listed twice) naming its mismatches; a summary."""
    seeded = emu.seed_payments(60, mismatches=MISMATCHES)
    ids = _write(tmp_path / "ids.txt", [*seeded, *seeded[:5]])  # five named twice
    code, out, err = _run(capsys, "reconcile", "--ids", ids, "--no-progress")
    assert code == 0, err
    items = [json.loads(line) for line in out.splitlines()]
    assert sorted(item["transaction_id"] for item in items) == sorted(seeded)
    found = {
        item["transaction_id"]: [m["kind"] for m in item["mismatches"]]
        for item in items
        if item["mismatches"]
    }
    assert found == {tid: [kind] for tid, kind in seeded.mismatches.items()}
    assert "60 transactions: 54 agree, 6 with mismatches, 0 failed queries" in err
    assert "  status                           2" in err
    assert "  external_missing                 1" in err
    assert "  payven    TRY                 9,000.00" in err


def test_csv_output_and_the_merchants_records(
    emu: SyncPayvenEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--format csv has the documented columns; --expected adds the merchant's view."""
    seeded = emu.seed_payments(5, declined=[4])
    ids = _write(tmp_path / "ids.txt", list(seeded[:4]))
    expected = _write(
        tmp_path / "expected.csv",
        [
            "Status,transaction_id,amount,currency,note",
            f"completed,{seeded[0]},15000,try,fine",
            f"completed,{seeded[1]},14000,TRY,",
            f"failed,{seeded[4]},,,",
        ],
    )
    code, out, err = _run(
        capsys, "reconcile", "--ids", ids, "--expected", expected, "--format", "csv"
    )
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == list(CSV_COLUMNS)
    by_id = {row["transaction_id"]: row for row in rows}
    assert set(by_id) == set(seeded)
    assert by_id[seeded[0]]["ok"] == "true"
    assert by_id[seeded[0]]["expected_currency"] == "TRY"
    assert by_id[seeded[1]]["mismatches"] == "amount:merchant/payven"
    assert by_id[seeded[1]]["expected_amount"] == "14000"
    assert by_id[seeded[1]]["bank_status"] == "approved"
    assert by_id[seeded[2]]["mismatches"] == "unknown_to_merchant"
    assert by_id[seeded[4]]["ok"] == "true"  # not in --ids: queried as the merchant's
    assert by_id[seeded[4]]["payven_status"] == "failed"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "empty; the first row must name the columns"),
        (["id,amount", "x,1"], "no transaction_id column"),
        (
            ["transaction_id,amount", "a,150.00", "b,15000", "b,1", ",5", "c,-3"],
            "4 bad rows:\n"
            "  - line 2: amount '150.00' is not whole minor units (kuruş: 15000 for 150,00 TRY)\n"
            "  - line 4: transaction b is listed twice\n"
            "  - line 5: transaction_id is empty\n"
            "  - line 6: amount '-3' is not whole minor units",
        ),
    ],
)
def test_a_bad_expected_csv_exits_2_saying_what_is_wrong_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[str], message: str
) -> None:
    """Every bad row is named by line, before anything is queried."""
    expected = _write(tmp_path / "expected.csv", lines)
    code, out, err = _run(capsys, "reconcile", "--expected", expected, "--emulator")
    assert code == 2
    error = json.loads(out)["error"]
    assert error["type"] == "UsageError"
    assert message in error["message"]
    assert message.splitlines()[0] in err
    assert "Traceback" not in err


def test_reconcile_needs_to_know_which_transactions(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --ids, --from/--to or --expected the command exits 2 and says so."""
    code, _, err = _run(capsys, "reconcile", "--emulator")
    assert code == 2
    assert "--ids FILE, --from/--to, or --expected" in err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_a_killed_run_resumes_from_its_checkpoint_without_querying_twice(
    emu: SyncPayvenEmulator, tmp_path: Path, stop: signal.Signals
) -> None:
    """Killed or Ctrl-C mid-way, same command again: every id once, none done re-queried."""
    seeded = emu.seed_payments(300, mismatches=MISMATCHES)
    ids = _write(tmp_path / "ids.txt", list(seeded))
    checkpoint = tmp_path / "checkpoint.jsonl"
    command = [
        sys.executable,
        "-m",
        "payven_async.cli",
        "reconcile",
        "--ids",
        ids,
        "--checkpoint",
        str(checkpoint),
        "--concurrency",
        "4",
        "--no-progress",
    ]
    emu.faults.route_latency["query"] = 0.05  # slow enough to be killed half-way
    first = subprocess.Popen(  # noqa: S603 - our own command
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ)
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if checkpoint.exists() and checkpoint.read_text().count("\n") >= 40:
                break
            time.sleep(0.01)
        first.send_signal(stop)
        out, _ = first.communicate(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == (-signal.SIGKILL if stop == signal.SIGKILL else 130)
    assert out == b""  # with a checkpoint, the output comes once every item is in it
    done = {json.loads(line)["transaction_id"] for line in checkpoint.read_text().splitlines()}
    assert 40 <= len(done) < len(seeded)
    queried_before = len([r for r in emu.requests if r.route == "query"])

    emu.faults.route_latency.clear()
    second = subprocess.run(  # noqa: S603 - our own command
        command, capture_output=True, text=True, timeout=120, check=False
    )
    assert second.returncode == 0, second.stderr
    queries = [r.path.split("/")[-2] for r in emu.requests if r.route == "query"]
    assert not set(queries[queried_before:]) & done  # nothing finished was asked again
    assert set(queries) == set(seeded)
    items = [json.loads(line) for line in second.stdout.splitlines()]
    assert sorted(item["transaction_id"] for item in items) == sorted(seeded)
    assert sum(1 for item in items if item["mismatches"]) == sum(MISMATCHES.values())
    assert f"{len(done)} transactions already in" in second.stderr
    assert "300 transactions: 294 agree, 6 with mismatches" in second.stderr
    # A third run finds everything done: it queries nothing and prints the same items.
    before = len(emu.requests)
    third = subprocess.run(  # noqa: S603 - our own command
        command, capture_output=True, text=True, timeout=120, check=False
    )
    assert third.returncode == 0, third.stderr
    assert [r for r in emu.requests[before:] if r.route == "query"] == []
    assert third.stdout == second.stdout


def test_a_torn_last_checkpoint_line_is_dropped_and_requeried(
    emu: SyncPayvenEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A line cut short by a crash is not an item: that transaction is queried again."""
    seeded = emu.seed_payments(10)
    ids = _write(tmp_path / "ids.txt", list(seeded))
    checkpoint = tmp_path / "checkpoint.jsonl"
    code, out, _ = _run(capsys, "reconcile", "--ids", ids, "--checkpoint", str(checkpoint))
    assert code == 0
    lines = checkpoint.read_text().splitlines(keepends=True)
    checkpoint.write_text("".join(lines[:6]) + lines[6][:20])
    before = len(emu.requests)
    code, again, _ = _run(capsys, "reconcile", "--ids", ids, "--checkpoint", str(checkpoint))
    assert code == 0
    assert len([r for r in emu.requests[before:] if r.route == "query"]) == 4
    assert sorted(again.splitlines()) == sorted(out.splitlines())


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_emulator_seed_plants_mismatches_that_reconcile_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`payven emulator --seed N --seed-mismatches ... --seed-ids F` plants what reconcile finds."""
    ids = tmp_path / "ids.txt"
    process = subprocess.Popen(  # noqa: S603 - our own command
        [
            sys.executable,
            "-m",
            "payven_async.cli",
            "emulator",
            "--seed",
            "30",
            "--seed-day",
            "2026-12-06",
            "--seed-mismatches",
            "status=2,currency=1",
            "--seed-ids",
            str(ids),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        settings = dict(process.stdout.readline().rstrip("\n").split("=", 1) for _ in range(4))
        monkeypatch.setenv("PAYVEN_IDENTITY_URL", settings["url"])
        monkeypatch.setenv("PAYVEN_VPOS_URL", settings["url"])
        for key in ("client_id", "client_secret", "slug"):
            monkeypatch.setenv(f"PAYVEN_{key.upper()}", settings[key])
        code, out, err = _run(capsys, "reconcile", "--ids", str(ids), "--no-progress")
    finally:
        process.send_signal(signal.SIGINT)
        _, emulator_err = process.communicate(timeout=30)
    assert code == 0, err
    assert len(out.splitlines()) == 30
    assert "30 transactions: 27 agree, 3 with mismatches" in err
    assert "seeded 30 payments on 2026-12-06; mismatches: 1 currency, 2 status" in emulator_err


def test_a_checkpoint_that_cannot_be_opened_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--checkpoint naming a folder is a usage error naming the file, before any query."""
    ids = _write(tmp_path / "ids.txt", ["3c90c3cc-0d44-4b50-8888-8dd25736052a"])
    code, out, err = _run(
        capsys, "reconcile", "--emulator", "--ids", ids, "--checkpoint", str(tmp_path)
    )
    assert code == 2
    assert f"cannot open {tmp_path}" in json.loads(out)["error"]["message"]
    assert "Traceback" not in err


@pytest.mark.parametrize(("flag", "bar_shown"), [((), False), (("--progress",), True)])
def test_the_bar_is_drawn_only_on_a_terminal_or_when_asked(
    emu: SyncPayvenEmulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flag: tuple[str, ...],
    bar_shown: bool,
) -> None:
    """stderr not a terminal and no --progress: the summary and no bar (not even a final
    line), as --help says; --progress draws it anyway."""
    ids = _write(tmp_path / "ids.txt", emu.seed_payments(5))
    code, _, err = _run(capsys, "reconcile", "--ids", ids, *flag)
    assert code == 0, err
    assert "5 transactions: 5 agree" in err
    assert ("5/5 100%" in err) is bar_shown
