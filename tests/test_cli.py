"""The ``payven`` command: exit codes, JSON output, messages, and the demo."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from payven_async._progress import ProgressBar
from payven_async.cli import main
from payven_async.testing import SyncPayvenEmulator

from .emulator_support import APPROVED, INSUFFICIENT


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_tells_the_whole_story_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    """`payven demo` runs every step against its own emulator and exits 0."""
    code, out, err = _run(capsys, "demo")
    assert code == 0, err
    for step in (
        "Access token",
        "Checkout session",
        "Declined pay",
        "insufficient_funds",
        "Approved pay",
        "Idempotent retry",
        "Query",
        "Batch query",
        "3000/3000",
        "5 not found",
        "Reconciliation",
        "501 items, 492 agree on every view",
        "unknown_to_payven    1",
    ):
        assert step in out
    assert APPROVED not in out
    assert INSUFFICIENT not in out
    assert "Traceback" not in out + err


def test_token_prints_the_access_token_but_no_refresh_token(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`payven token --emulator` prints JSON with the access token and never the refresh token."""
    code, out, _ = _run(capsys, "token", "--emulator")
    token = json.loads(out)
    assert code == 0
    assert token["access_token"].count(".") == 2
    assert token["expires_in"] == 300
    assert "refresh_token" not in token


def test_pay_prints_the_result_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    """`payven pay --emulator` creates a session, pays it and prints the result."""
    code, out, err = _run(capsys, "pay", "--emulator", "--amount", "15000", "--external-id", "O-1")
    result = json.loads(out)
    assert code == 0
    assert result["is_success"] is True
    assert result["status"] == "completed"
    assert result["session_id"]
    assert "created checkout session" in err
    assert APPROVED not in out + err


def test_a_declined_pay_exits_1_with_the_error_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    """A decline prints {"error": {...codes...}} on stdout, a message on stderr, and exits 1."""
    code, out, err = _run(
        capsys, "pay", "--emulator", "--amount", "15000", "--card-number", INSUFFICIENT
    )
    error = json.loads(out)["error"]
    assert code == 1
    assert error["type"] == "PaymentDeclinedError"
    assert (error["code"], error["provider_error_code"]) == ("insufficient_funds", "51")
    assert error["transaction_id"]
    assert "payven: payment insufficient_funds, bank code 51" in err
    assert INSUFFICIENT not in out + err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["pay", "--emulator", "--amount", "150.00"], "minor units"),
        (["pay", "--emulator", "--amount", "15000", "--card-number", "4546711234567895"], "Luhn"),
        (["pay", "--emulator", "--amount", "15000", "--card-expiry", "2030-12"], "MM/YYYY"),
        (["query-batch", "--emulator", "/no/such/file"], "cannot read"),
        (["query"], "ID"),
        (["refund"], "invalid choice"),
        ([], "COMMAND"),
    ],
)
def test_usage_errors_exit_2_without_a_traceback(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """Bad arguments and bad input exit 2: one stderr line, the error JSON on stdout."""
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert message in json.loads(out)["error"]["message"]


def test_missing_credentials_exit_2_naming_the_variables(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without PAYVEN_* variables (and without --emulator) the command says what to set."""
    code, _, err = _run(capsys, "token")
    assert code == 2
    assert "PAYVEN_CLIENT_ID" in err
    assert "PAYVEN_CLIENT_SECRET" in err


def test_query_with_the_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    """`payven query ID --emulator` finds a UUID id (seeded) and not a malformed one."""
    transaction_id = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    code, out, _ = _run(capsys, "query", "--emulator", transaction_id)
    query = json.loads(out)
    assert code == 0
    assert query["transaction_id"] == transaction_id
    assert query["internal"]["amount"] == 15000
    code, out, err = _run(capsys, "query", "--emulator", "not-a-uuid")
    assert code == 1
    assert json.loads(out)["error"]["code"] == "payment_not_found"
    assert "payment_not_found" in err


def test_commands_use_the_payven_environment_variables(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --emulator the credentials and URLs come from PAYVEN_* (here: a running emulator)."""
    with SyncPayvenEmulator() as emu:
        (transaction_id,) = emu.seed_payments(1)
        for name, value in {
            "PAYVEN_CLIENT_ID": emu.client_id,
            "PAYVEN_CLIENT_SECRET": emu.client_secret,
            "PAYVEN_SLUG": emu.slug,
            "PAYVEN_IDENTITY_URL": emu.url,
            "PAYVEN_VPOS_URL": emu.url,
        }.items():
            monkeypatch.setenv(name, value)
        code, out, _ = _run(capsys, "query", transaction_id)
        assert code == 0
        assert json.loads(out)["transaction_id"] == transaction_id
        code, out, err = _run(capsys, "token")
        assert code == 0
        assert emu.client_secret not in out + err


def _ids_file(tmp_path: Path, ids: list[str]) -> Path:
    path = tmp_path / "ids.txt"
    path.write_text("# transaction ids\n" + "\n".join(ids) + "\n\n", encoding="utf-8")
    return path


def test_query_batch_prints_json_lines_and_a_progress_bar(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """One JSON line per id, results and errors alike; exit 1 when any failed; bar on stderr."""
    ids = [f"3c90c3cc-0d44-4b50-8888-{n:012d}" for n in range(40)] + ["unknown-id"]
    code, out, err = _run(
        capsys,
        "query-batch",
        "--emulator",
        "--concurrency",
        "8",
        "--ordered",
        "--progress",
        str(_ids_file(tmp_path, ids)),
    )
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert [line["transaction_id"] for line in lines] == ids
    assert all("result" in line for line in lines[:-1])
    assert lines[-1]["error"]["code"] == "payment_not_found"
    assert "41/41 100%" in err
    assert "1 of 41 queries failed" in err


def test_query_batch_reads_stdin_and_exits_0_when_all_succeed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`-` reads ids from stdin; all found means exit 0; --no-progress keeps stderr quiet."""
    ids = [f"3c90c3cc-0d44-4b50-8888-{n:012d}" for n in range(5)]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(ids)))
    code, out, err = _run(capsys, "query-batch", "--emulator", "--no-progress", "-")
    assert code == 0
    assert sorted(json.loads(line)["transaction_id"] for line in out.splitlines()) == ids
    assert err == ""


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`payven --version` prints the version and exits 0."""
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.startswith("payven ")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_emulator_command_prints_its_settings_and_stops_on_ctrl_c() -> None:
    """`payven emulator --port 0` prints url/client_id/client_secret/slug first, serves, and
    exits 0 on SIGINT."""
    process = subprocess.Popen(
        [sys.executable, "-m", "payven_async.cli", "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().rstrip("\n") for _ in range(4)]
        settings = dict(line.split("=", 1) for line in lines)
        assert [line.split("=", 1)[0] for line in lines] == [
            "url",
            "client_id",
            "client_secret",
            "slug",
        ]
        assert settings["url"].startswith("http://127.0.0.1:")
        request = urllib.request.Request(  # noqa: S310 - loopback http
            f"{settings['url']}/api/v1/auth/{settings['slug']}/token",
            data=json.dumps(
                {"client_id": settings["client_id"], "client_secret": settings["client_secret"]}
            ).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request) as response:  # noqa: S310
            assert "access_token" in json.loads(response.read())
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        watchdog.cancel()
        watchdog.join()
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert "Traceback" not in err
    assert "emulator stopped" in err


def test_progress_bar_draws_on_a_terminal_and_summarises_elsewhere() -> None:
    """Animated: redraws with \\r; not animated: one final line at close."""
    ticks = iter(range(100))
    terminal = io.StringIO()
    bar = ProgressBar(4, terminal, animate=True, clock=lambda: float(next(ticks)))
    for failed in (False, True, False, False):
        bar.update(failed=failed)
    bar.close()
    assert terminal.getvalue().count("\r") == 5
    assert "[##############################] 4/4 100%" in terminal.getvalue()
    assert "1 failed" in terminal.getvalue()

    log = io.StringIO()
    quiet = ProgressBar(None, log, animate=False)
    quiet.update(3)
    assert log.getvalue() == ""
    quiet.close()
    quiet.close()
    assert log.getvalue().startswith("3 done")
    assert log.getvalue().count("\n") == 1
