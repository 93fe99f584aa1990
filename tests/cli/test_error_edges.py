"""Edges of the one error path of the ``lakeloop`` commands.

* A store failure that ``doctor`` and ``status`` report (they report it rather than stop) shows the
  service's text with control and bidi characters escaped: an error body cannot forge a line or
  drive the terminal.
* A table-name setting that is not a plain SQL identifier is a refusal (exit 2, one line saying
  which setting to check), not an "unexpected" crash.
* ``skills unpin --json`` on a failing store keeps stdout one JSON document.
* When the log file cannot take the traceback (it is a directory), the crash line says so instead
  of naming a file that holds nothing.
"""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from lakeloop.cli.main import main

API = "http://deeplake.test"
HOSTILE = 'bad statement near "x\r\nlakeloop: forged\x07\x1b]0;title\x07" \u202eevil'


@pytest.fixture()
def failing_deeplake(monkeypatch):
    """Deeplake configured through the environment; every request answers HTTP 400 with a hostile body."""
    monkeypatch.setenv("LAKELOOP_STORE", "deeplake")
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_TOKEN", "tok-abcdef0123456789")
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_ORG_ID", "org1")
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_API_URL", API)
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_RETRIES", "0")
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="deeplake.test").mock(return_value=httpx.Response(400, text=HOSTILE))
        yield mock


def _inert(text: str) -> None:
    for bad in ("\x1b", "\x07", "\r", "\u202e", "\nlakeloop: forged"):
        assert bad not in text, (bad, text)


@pytest.mark.parametrize("argv", [["doctor"], ["status"]])
def test_a_reported_store_failure_is_escaped(capsys, failing_deeplake, argv):
    """``doctor``/``status`` print the failure with the body's control characters escaped."""
    assert main(argv) == 1
    out = capsys.readouterr().out
    _inert(out)
    assert "\\x1b]0;title" in out or "\\x07" in out


def test_a_bad_table_setting_is_a_refusal_naming_the_setting(capsys, monkeypatch, tmp_path, failing_deeplake):
    """``LAKELOOP_SKILLS_TABLE=bad-name`` on Deeplake: exit 2 and one line pointing at the table
    settings (refused before any request)."""
    monkeypatch.setenv("LAKELOOP_SKILLS_TABLE", "bad-name")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "SKILL.md").write_text("---\nname: lint\n---\nLint.\n")
    assert main(["skills", "push", "."]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refused identifier 'bad-name'" in err and "LAKELOOP_*_TABLE" in err
    assert "unexpected" not in err
    assert not failing_deeplake.calls


def test_unpin_json_on_a_failing_store_keeps_stdout_one_document(capsys, failing_deeplake):
    """The pin is removed before the pull fails: the note goes to stderr, stdout is one JSON document."""
    from lakeloop.skillopt import pins

    pins.pin("db-migrate--alice", 1)
    assert main(["skills", "unpin", "db-migrate--alice", "--json"]) == 1
    captured = capsys.readouterr()
    assert set(json.loads(captured.out)) == {"error"}
    assert "the pin is removed" in captured.err
    assert pins.load() == {}


def test_a_crash_line_does_not_name_a_log_that_took_nothing(capsys, monkeypatch):
    """The log file's place is a directory: the line says the traceback could not be logged."""
    import lakeloop.cli.sessions
    from lakeloop import paths

    paths.log_file().parent.mkdir(parents=True, exist_ok=True)
    paths.log_file().mkdir()

    def boom(args):
        raise RuntimeError("secret-ish detail")

    monkeypatch.setattr(lakeloop.cli.sessions, "run", boom)
    assert main(["sessions"]) == 1
    err = capsys.readouterr().err
    assert "could not be logged" in err and "the traceback is in" not in err
    assert "secret-ish" not in err
