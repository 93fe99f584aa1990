"""The one error handler of the ``lakeloop`` commands (``lakeloop.cli.error_handler``).

* A known error (a ``LakeloopError``) is ONE line on stderr, ``lakeloop: ...``, saying what
  happened and, for a store failure, what to run; the exit status is the error's (1, 2 for a
  refusal); with ``--json`` stdout holds ``{"error": ...}``. Control characters and line breaks in
  the message cannot reach the terminal raw or forge a second line.
* Any other exception is one line naming the log file, exit 1; the traceback is in the log file,
  never on the terminal, and the exception's own text is not printed.
* Ctrl-C exits 130 without a traceback.
"""

from __future__ import annotations

import json

import pytest

from lakeloop import paths
from lakeloop.cli.main import main
from lakeloop.errors import RequestRefused
from tests.support.cli import run_lakeloop


def one_line(text: str) -> str:
    """``text``'s single line (fails when it is not exactly one)."""
    lines = text.splitlines()
    assert len(lines) == 1 and text.endswith("\n"), text
    return lines[0]


@pytest.mark.parametrize(
    "argv, what",
    [
        (["sessions"], "cannot read the store"),
        (["skills"], "cannot read the store"),
        (["skills", "push", "."], "cannot write the store"),
        (["search", "kafka"], "cannot search the store"),
        (["forget", "--match", "x", "--yes"], "the store failed, nothing (more) deleted"),
        (["skills", "history", "db-migrate--alice"], "the store failed"),
        (["skills", "proposals"], "the store failed"),
    ],
)
def test_a_store_failure_is_one_line_saying_what_and_what_to_do(capsys, monkeypatch, tmp_path, argv, what):
    """No Deeplake credentials: every command that needs the store exits 1 with one line on
    stderr naming what it could not do, why, and the commands that help; stdout stays empty."""
    monkeypatch.setenv("LAKELOOP_STORE", "deeplake")  # and no credentials anywhere
    monkeypatch.chdir(tmp_path)
    (tmp_path / "SKILL.md").write_text("---\nname: lint\n---\nLint.\n")
    assert main(argv) == 1
    captured = capsys.readouterr()
    line = one_line(captured.err)
    assert captured.out == ""
    assert line.startswith(f"lakeloop: {what}: ") and "no Deeplake credentials" in line
    assert "`lakeloop login`" in line and "`lakeloop doctor`" in line


def test_a_refusal_exits_2_with_one_line_and_json_gets_an_error_document(capsys):
    """A malformed ref: exit 2, one line on stderr; with --json stdout is ``{"error": ...}``."""
    assert main(["skills", "history", "../etc"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert one_line(captured.err) == "lakeloop: not a team skill ref (<name>--<author>): '../etc'"
    assert main(["skills", "history", "../etc", "--json"]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"error": "not a team skill ref (<name>--<author>): '../etc'"}
    assert one_line(captured.err).startswith("lakeloop: not a team skill ref")


def test_a_message_cannot_drive_the_terminal_or_forge_a_line(capsys, monkeypatch):
    """A message quoting stored text with ESC sequences and a line break stays one inert line."""
    import lakeloop.cli.sessions

    def refuse(args):
        raise RequestRefused("no such thing: evil\x1b[2J\nlakeloop: all good")

    monkeypatch.setattr(lakeloop.cli.sessions, "run", refuse)
    assert main(["sessions"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "\x1b" not in line and line == "lakeloop: no such thing: evil\\x1b[2J\\nlakeloop: all good"


def test_an_unexpected_error_is_one_line_naming_the_log_and_the_traceback_is_logged(capsys, monkeypatch, fresh_log):
    """A bug inside a command: exit 1, one line naming the command and the log file, without the
    exception's text; the full traceback is in the log file and not on the terminal."""
    import lakeloop.cli.sessions

    def broken(args):
        raise RuntimeError("third-party text sk-live-1234")

    monkeypatch.setattr(lakeloop.cli.sessions, "run", broken)
    assert main(["sessions"]) == 1
    captured = capsys.readouterr()
    line = one_line(captured.err)
    assert captured.out == ""
    assert line == f"lakeloop: unexpected RuntimeError in `lakeloop sessions`; the traceback is in {paths.log_file()}"
    log = fresh_log()
    assert "Traceback (most recent call last)" in log and "in broken" in log and "sk-live-1234" in log


def test_an_unexpected_error_in_a_real_process_keeps_the_traceback_off_the_terminal(tmp_path):
    """The same through a separate ``lakeloop`` process: exit 1, the one line on stderr, the
    traceback in the log file."""
    prelude = "import lakeloop.cli.status as status\ndef broken(args):\n    return {}['missing']\nstatus.run = broken\n"
    proc = run_lakeloop("status", "--json", prelude=prelude)
    assert proc.returncode == 1, proc.stderr
    log_file = tmp_path / "log" / "lakeloop.log"
    assert proc.stderr == f"lakeloop: unexpected KeyError in `lakeloop status`; the traceback is in {log_file}\n"
    assert json.loads(proc.stdout) == {"error": proc.stderr.strip().removeprefix("lakeloop: ")}
    log = log_file.read_text()
    assert "Traceback (most recent call last)" in log and "KeyError: 'missing'" in log


def test_an_unexpected_error_with_no_writable_log_says_so(capsys, monkeypatch, tmp_path, fresh_log):
    """The log directory is not usable: the line says the traceback could not be logged."""
    import lakeloop.cli.sessions

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("LAKELOOP_LOG_DIR", str(blocker))
    monkeypatch.setattr(lakeloop.cli.sessions, "run", lambda args: 1 / 0)
    assert main(["sessions"]) == 1
    assert one_line(capsys.readouterr().err) == (
        f"lakeloop: unexpected ZeroDivisionError in `lakeloop sessions`; "
        f"it could not be logged ({blocker} is not writable)"
    )


@pytest.mark.parametrize("signal, code", [(KeyboardInterrupt, 130), (BrokenPipeError, 1)])
def test_ctrl_c_and_a_closed_pipe_end_quietly(capsys, monkeypatch, signal, code):
    """Ctrl-C exits 130 and a reader that went away (``| head``) exits 1, printing nothing."""
    import lakeloop.cli.sessions

    def stop(args):
        raise signal()

    monkeypatch.setattr(lakeloop.cli.sessions, "run", stop)
    try:
        status = main(["sessions"])
    except (KeyboardInterrupt, BrokenPipeError) as exc:  # an escaped Ctrl-C would stop the whole test run
        pytest.fail(f"main let {type(exc).__name__} through")
    assert status == code
    assert capsys.readouterr() == ("", "")
