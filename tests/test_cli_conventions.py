"""The ``payven`` command's conventions, run as a real subprocess: one error shape, exit
codes, help, spelling suggestions, a closed pipe, colours, and the emulator's exports."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from payven_async._progress import ProgressBar
from payven_async.cli import _subcommands, build_parser, check_spelling, main

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes, ttys and signals")

COMMAND = [sys.executable, "-m", "payven_async.cli"]


def run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``payven argv...`` in a fresh interpreter, stdout and stderr captured."""
    return subprocess.run(  # noqa: S603 - our own command
        [*COMMAND, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        check=False,
    )


def error_of(process: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The ``{"error": {...}}`` on stdout, after checking stderr is one line, no traceback."""
    assert process.stderr.count("\n") == 1, process.stderr
    assert process.stderr.startswith("payven: ")
    assert "Traceback" not in process.stdout + process.stderr
    error: dict[str, Any] = json.loads(process.stdout)["error"]
    return error


def test_a_mistyped_option_gets_did_you_mean_and_keeps_its_value(tmp_path: Path) -> None:
    """--ammount suggests --amount; --concurency 8 FILE does not read a file named 8."""
    process = run("pay", "--emulator", "--ammount", "15000")
    error = error_of(process)
    assert process.returncode == 2
    assert error["type"] == "UsageError"
    assert error["suggestion"] == "--amount"
    assert "unknown option --ammount for payven pay; did you mean --amount?" in process.stderr

    ids = tmp_path / "ids.txt"
    ids.write_text("3c90c3cc-0d44-4b50-8888-8dd25736052a\n", encoding="utf-8")
    process = run("query-batch", "--emulator", "--concurency", "8", str(ids))
    error = error_of(process)
    assert process.returncode == 2
    assert error["suggestion"] == "--concurrency"
    assert "cannot read" not in process.stderr

    process = run("qurey", "3c90c3cc-0d44-4b50-8888-8dd25736052a")
    assert process.returncode == 2
    assert error_of(process)["suggestion"] == "query"


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["pay", "--emulator", "--amount", "150.00"], "minor units"),
        (["pay", "--emulator", "--amount", "15000", "--card-expiry", "2030-12"], "MM/YYYY"),
        (["query"], "the following arguments are required: ID"),
        (["query-batch", "--emulator", "/no/such/file"], "cannot read /no/such/file"),
        (["emulator", "--webhook-url", "ftp://example"], "--webhook-url"),
    ],
)
def test_usage_errors_print_the_error_json_and_one_line(argv: list[str], fragment: str) -> None:
    """Every usage error: {"error": {...}} on stdout, one stderr line naming --help, exit 2."""
    process = run(*argv)
    error = error_of(process)
    assert process.returncode == 2
    assert error["type"] == "UsageError"
    assert fragment in error["message"]
    assert fragment in process.stderr
    assert "--help" in process.stderr


def test_invalid_input_lists_every_problem_on_stdout_and_one_line() -> None:
    """A ValidationError (caught before any I/O) prints its problems and exits 2."""
    process = run(
        "pay",
        "--emulator",
        "--amount",
        "15000",
        "--card-number",
        "4546711234567895",
        "--card-cvv",
        "1",
    )
    error = error_of(process)
    assert process.returncode == 2
    assert error["type"] == "ValidationError"
    assert {problem["field"] for problem in error["problems"]} == {"card.number", "card.cvv"}
    assert "card.number: fails the Luhn check" in process.stderr
    assert "4546711234567895" not in process.stdout + process.stderr


def test_a_server_side_validation_problem_exits_2_showing_its_field_messages() -> None:
    """A 400 validation_failed from the service is the user's mistake: exit 2, fields shown."""
    process = run("pay", "--emulator", "--amount", "50")
    error = error_of(process)
    assert process.returncode == 2
    assert (error["status"], error["code"]) == (400, "validation_failed")
    assert error["errors"] == {"amount": ["Tutar en az 100 kuruş olmalı."]}
    assert "amount: Tutar en az 100 kuruş olmalı." in process.stderr


def test_missing_credentials_name_the_command_lines_ways() -> None:
    """Without credentials the message names --emulator and PAYVEN_*, not client_id=; a bad
    setting is named as the command line knows it (--environment, PAYVEN_VPOS_URL)."""
    process = run("token")
    error = error_of(process)
    assert process.returncode == 2
    for words in ("--emulator", "PAYVEN_CLIENT_ID", "PAYVEN_CLIENT_SECRET", "PAYVEN_SLUG"):
        assert words in error["message"]
        assert words in process.stderr
    assert "client_id=" not in process.stdout + process.stderr

    process = run(
        "token",
        env={
            "PAYVEN_CLIENT_ID": "pvk_test_x",
            "PAYVEN_CLIENT_SECRET": "sk_test_x",
            "PAYVEN_SLUG": "acme",
            "PAYVEN_ENVIRONMENT": "prod",
            "PAYVEN_VPOS_URL": "http://example.com",
        },
    )
    error = error_of(process)
    assert process.returncode == 2
    assert error["type"] == "ConfigurationError"
    assert "(--environment or PAYVEN_ENVIRONMENT)" in process.stderr
    assert "PAYVEN_VPOS_URL='http://example.com' uses plain http" in error["message"]
    assert "sk_test_x" not in process.stdout + process.stderr


def test_help_shows_every_options_meaning_default_and_the_exit_codes() -> None:
    """--help: each option has a text, defaults are shown, exit codes include 130."""
    pay = run("pay", "--help")
    assert pay.returncode == 0
    for text in (
        "ISO 4217 code; the API takes TRY (default: TRY)",
        "number of installments (1: none) (default: 1)",
        "(default: 12/2030)",
        "the card's security code (default: 000)",
        "the name on the card (default: Test Kullanici)",
        "which Payven hosts to call (default:",
        "130 interrupted",
    ):
        assert text in " ".join(pay.stdout.split()), text
    query = " ".join(run("query", "--help").stdout.split())
    assert "--order-id ORDER_ID the payment's order id" in query
    batch = " ".join(run("query-batch", "--help").stdout.split())
    assert "queries in flight at once (default: 32)" in batch
    top = " ".join(run("--help").stdout.split())
    assert "130 interrupted (Ctrl-C)" in top
    # Every option of every command says what it is for.
    parser = build_parser()
    for name, sub in _subcommands(parser).items():
        for action in sub._actions:
            assert action.help, f"payven {name} {action.option_strings or action.dest}"


def test_pay_prints_only_what_the_answer_says() -> None:
    """`payven pay` leaves out the fields the pay answer does not carry (no nulls)."""
    process = run("pay", "--emulator", "--amount", "15000")
    assert process.returncode == 0, process.stderr
    result = json.loads(process.stdout)
    assert result["is_success"] is True
    assert result["transaction_id"]
    assert None not in result.values()
    assert "amount" not in result  # the pay answer has no amount: nothing is made up


def test_query_batch_into_a_closed_pipe_ends_quietly_with_0(tmp_path: Path) -> None:
    """`query-batch ... | head -3`: exit 0, no traceback, the drawn bar erased."""
    ids = tmp_path / "ids.txt"
    ids.write_text(
        "".join(f"3c90c3cc-0d44-4b50-8888-{n:012d}\n" for n in range(3000)), encoding="utf-8"
    )
    process = subprocess.Popen(  # noqa: S603 - our own command
        [*COMMAND, "query-batch", "--emulator", "--progress", str(ids)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    with _watchdog(process):
        assert process.stdout is not None
        assert process.stderr is not None
        lines = [process.stdout.readline() for _ in range(3)]
        process.stdout.close()  # what head does after its third line
        err = process.stderr.read().decode()
        process.wait(timeout=120)
    assert all(json.loads(line)["result"] for line in lines)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert "Exception ignored" not in err
    assert "3000/3000" not in err  # no final line: the bar was cleared, not closed
    assert err.endswith("\r")
    assert err.rstrip("\r").endswith(" ")


def test_messages_are_coloured_on_a_terminal_unless_no_color() -> None:
    """stderr on a terminal gets ANSI colours; NO_COLOR turns them off; stdout stays plain."""
    coloured, out = _stderr_on_a_tty(["query", "--emulator", "not-a-uuid"], {})
    assert "\x1b[31mpayven: 404 payment_not_found" in coloured
    assert "\x1b[" not in out
    plain, _ = _stderr_on_a_tty(["query", "--emulator", "not-a-uuid"], {"NO_COLOR": "1"})
    assert "payven: 404 payment_not_found" in plain
    assert "\x1b[" not in plain


def test_progress_bar_shows_the_eta_and_colours_only_on_request() -> None:
    """While running the bar shows the ETA; at the end the time taken; colour when asked."""
    now = [0.0]
    stream = io.StringIO()
    bar = ProgressBar(4, stream, animate=True, clock=lambda: now[0], colour=True)
    now[0] = 2.0
    bar.update()  # 1 done in 2 s: 3 left at 0.5/s
    assert "ETA 6.0s" in stream.getvalue()
    assert "\x1b[32m" in stream.getvalue()
    now[0] = 4.0
    bar.update(3, failed=True)
    assert "in 4.0s" in stream.getvalue()
    assert "\x1b[31m  3 failed" in stream.getvalue()
    assert "ETA" not in bar.render()
    plain = ProgressBar(10, io.StringIO(), clock=lambda: 0.0)
    assert "ETA -:--" in plain.render()
    assert "\x1b" not in plain.render()


def test_check_spelling_skips_values_and_accepts_abbreviations() -> None:
    """An option's value may start with --; --amo abbreviates --amount; -- ends the check;
    a command's option given before the command is named as such."""
    parser = build_parser()
    check_spelling(parser, ["pay", "--description", "--ammount", "--amo", "15000"])
    check_spelling(parser, ["pay", "--description=--x", "--amount", "15000"])
    check_spelling(parser, ["query", "--", "--not-an-option"])
    check_spelling(parser, ["emulator", "--rate-limit", "-1"])
    with pytest.raises(Exception, match="did you mean --version"):
        check_spelling(parser, ["--verison"])
    with pytest.raises(Exception, match=r"--emulator before the command; it goes after"):
        check_spelling(parser, ["--emulator", "token"])


def test_main_in_process_prints_the_same_error_shape(capsys: pytest.CaptureFixture[str]) -> None:
    """main() as a function reports a usage error the same way as the command."""
    assert main(["pay", "--emulator", "--ammount", "1"]) == 2
    out, err = capsys.readouterr()
    assert json.loads(out)["error"]["suggestion"] == "--amount"
    assert err.count("\n") == 1


@pytest.mark.skipif(not Path("/bin/sh").exists(), reason="needs a POSIX shell")
def test_emulator_prints_export_lines_that_paste_as_they_are(tmp_path: Path) -> None:
    """`payven emulator` with stable values prints shell lines that, pasted, point the
    PAYVEN_* variables (and the webhook secret) at it: `payven token` then works."""
    port = _free_port()
    secret = "sk_test_stable $ecret"  # a space and a $: the exports must quote them
    process = subprocess.Popen(  # noqa: S603 - our own command
        [
            *COMMAND,
            "emulator",
            "--port",
            str(port),
            "--client-id",
            "pvk_test_stable",
            "--client-secret",
            secret,
            "--slug",
            "acme",
            "--webhook-url",
            "http://127.0.0.1:9/hooks",
            "--webhook-secret",
            "whsec_stable",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    with _watchdog(process):
        assert process.stdout is not None
        printed = [process.stdout.readline() for _ in range(12)]
        assert printed[0] == f"url=http://127.0.0.1:{port}\n"
        assert "export PAYVEN_WEBHOOK_SECRET=whsec_stable\n" in printed
        script = tmp_path / "use.sh"
        script.write_text("".join(printed) + 'exec "$@"\n', encoding="utf-8")
        used = subprocess.run(  # noqa: S603 - our own command
            ["/bin/sh", str(script), *COMMAND, "token"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert used.returncode == 0, used.stderr
    assert json.loads(used.stdout)["access_token"].count(".") == 2
    assert "export PAYVEN_CLIENT_SECRET='sk_test_stable $ecret'\n" in printed
    assert "this local emulator's own" in err
    assert process.returncode == 0


# --- helpers -------------------------------------------------------------------------------


class _watchdog:
    """Kill ``process`` if the test hangs; reap it whatever happens."""

    def __init__(self, process: subprocess.Popen[Any]) -> None:
        self.process = process
        self.timer = threading.Timer(120, process.kill)

    def __enter__(self) -> None:
        self.timer.start()

    def __exit__(self, *exc: object) -> None:
        self.timer.cancel()
        self.timer.join()
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _stderr_on_a_tty(argv: Sequence[str], env: dict[str, str]) -> tuple[str, str]:
    """Run payven with stderr on a pseudo-terminal; return (stderr as seen there, stdout)."""
    import pty

    primary, secondary = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    environ.update(env, TERM="xterm")
    try:
        process = subprocess.Popen(  # noqa: S603 - our own command
            [*COMMAND, *argv],
            stdout=subprocess.PIPE,
            stderr=secondary,
            stdin=subprocess.DEVNULL,
            env=environ,
        )
        os.close(secondary)
        secondary = -1
        chunks = list(_read_until_closed(primary))
        out, _ = process.communicate(timeout=120)
    finally:
        os.close(primary)
        if secondary != -1:
            os.close(secondary)
    return b"".join(chunks).decode(), out.decode()


def _read_until_closed(fd: int) -> Iterator[bytes]:
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the last writer closed the terminal
            return
        if not chunk:
            return
        yield chunk


# --- issue 17 audit: the progress bar's ETA, and the surprises it found -------------------------


def _ids_file(tmp_path: Path, count: int) -> Path:
    ids = tmp_path / "ids.txt"
    ids.write_text(
        "".join(f"3c90c3cc-0d44-4b50-8888-{n:012d}\n" for n in range(count)), encoding="utf-8"
    )
    return ids


def test_query_batch_progress_shows_the_eta_in_a_real_run(tmp_path: Path) -> None:
    """`payven query-batch --progress` with stderr piped: the bar shows an ETA while it runs
    and ends with the full count and the time taken."""
    ids = _ids_file(tmp_path, 50)
    process = subprocess.run(  # noqa: S603 - our own command; bytes: keep the \r as they are
        [*COMMAND, "query-batch", "--emulator", "--progress", str(ids)],
        capture_output=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    err = process.stderr.decode()
    assert process.returncode == 0, err
    assert len(process.stdout.splitlines()) == 50
    frames = err.split("\r")
    assert any(" ETA " in frame for frame in frames), err
    assert frames[-1].startswith("[##############################] 50/50 100%"), err
    assert " in " in frames[-1]
    assert frames[-1].endswith("\n")
    assert "\n" not in err[:-1]  # drawn in place: one line in the end
    assert "\x1b[" not in err  # not a terminal: no colours


def test_query_batch_draws_its_bar_with_the_eta_on_a_terminal(tmp_path: Path) -> None:
    """With stderr on a terminal and no option, the bar is drawn, ETA included."""
    # Few ids: the helper reads stdout only at the end, so it must fit in a pipe's buffer.
    ids = _ids_file(tmp_path, 10)
    shown, out = _stderr_on_a_tty(["query-batch", "--emulator", str(ids)], {"NO_COLOR": "1"})
    assert len(out.splitlines()) == 10
    assert " ETA " in shown
    assert "10/10 100%" in shown


def test_query_batch_writes_no_bar_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    """As its help says: without --progress and with stderr piped, no bar at all."""
    help_text = " ".join(run("query-batch", "--help").stdout.split())
    assert "(default: when stderr is a terminal)" in help_text
    ids = _ids_file(tmp_path, 5)
    for argv in ([], ["--no-progress"]):
        process = run("query-batch", "--emulator", *argv, str(ids))
        assert process.returncode == 0, process.stderr
        assert len(process.stdout.splitlines()) == 5
        assert process.stderr == "", argv


def test_emulator_help_shows_a_readable_default_for_seed_mismatches() -> None:
    """`payven emulator --help` says the mismatches default is none, not a Python {}."""
    help_text = " ".join(run("emulator", "--help").stdout.split())
    assert "external_missing) (default: none)" in help_text
    assert "{}" not in help_text


def test_the_exit_code_help_says_a_refused_400_exits_2() -> None:
    """--help's exit codes name a request the service refuses as invalid (a 400) under 2,
    and such a request does exit 2."""
    for argv in (["--help"], ["pay", "--help"], ["query-batch", "--help"]):
        text = " ".join(run(*argv).stdout.split())
        assert "2 a usage error (bad arguments, missing credentials, invalid input, or a " in text
        assert "request the service refused as invalid, a 400)" in text
    refused = run("pay", "--emulator", "--amount", "50")
    assert refused.returncode == 2
    assert error_of(refused)["status"] == 400


def test_a_declined_pay_prints_one_stderr_line_and_the_session_in_its_json() -> None:
    """A declined `payven pay` without --session: exit 1, one stderr line (the error), the
    created session's id in the error JSON; a paid one still names its session on stderr."""
    declined = run("pay", "--emulator", "--amount", "15000", "--card-number", "4546711000000005")
    error = error_of(declined)  # checks: exactly one stderr line, no traceback
    assert declined.returncode == 1
    assert error["type"] == "PaymentDeclinedError"
    assert error["code"] == "do_not_honor"
    assert json.loads(declined.stdout)["session_id"]
    assert "created checkout session" not in declined.stderr
    paid = run("pay", "--emulator", "--amount", "15000")
    assert paid.returncode == 0, paid.stderr
    session_id = json.loads(paid.stdout)["session_id"]
    assert paid.stderr == f"payven: created checkout session {session_id}\n"
