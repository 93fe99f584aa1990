"""The ``lakeloop`` command: status, sessions, skills (+ push), logs, and the demo (main job)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lakeloop import paths
from lakeloop.capture.rows import build_message, session_row
from lakeloop.cli.main import main
from lakeloop.identity import Identity
from lakeloop.store.embedded import EmbeddedStore
from tests.support.payloads import recorded_payloads
from tests.support.repo import REPO


def _skill_dir(tmp_path: Path, name: str = "db-migrate", body: str | None = None) -> Path:
    d = tmp_path / "authoring" / name
    d.mkdir(parents=True)
    (d / "SKILL.md").write_text(body or f"---\nname: {name}\ndescription: Migrate the db.\n---\nRun alembic.\n")
    return d


def _json_out(capsys, argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_skills_push_creates_version_1_then_next(tmp_path, capsys, monkeypatch):
    """push shares SKILL.md as <name>--<author> v1, and a second push appends v2 (append-only)."""
    monkeypatch.setenv("LAKELOOP_USER", "alice")
    d = _skill_dir(tmp_path)
    out = _json_out(capsys, ["skills", "push", str(d), "--author", "alice", "--json"])
    assert out == {
        "name": "db-migrate",
        "author": "alice",
        "ref": "db-migrate--alice",
        "version": 1,
        "published_by": "alice",
    }
    (d / "SKILL.md").write_text("---\nname: db-migrate\n---\nRun alembic, carefully.\n")
    assert _json_out(capsys, ["skills", "push", str(d), "--author", "alice", "--json"])["version"] == 2
    store = EmbeddedStore(paths.store_file())
    assert store.current_skill("db-migrate", "alice").body.endswith("carefully.\n")
    assert len(store._run("SELECT version FROM skills")) == 2


def test_skills_push_uses_user_as_default_author_and_refuses_unsafe_names(tmp_path, capsys):
    """The author defaults to LAKELOOP_USER; a name that is not one safe path component is refused."""
    d = _skill_dir(tmp_path, body="---\nname: ../../evil\n---\nx\n")
    assert main(["skills", "push", str(d)]) == 2
    assert "unsafe skill name" in capsys.readouterr().err
    d2 = _skill_dir(tmp_path, name="lint")
    assert _json_out(capsys, ["skills", "push", str(d2), "--json"])["ref"] == "lint--tester"
    assert main(["skills", "push", str(tmp_path / "missing")]) == 2


def test_skills_json_lists_name_author_version(tmp_path, capsys, monkeypatch):
    """`skills --json` gives each skill's name, author and current version."""
    monkeypatch.setenv("LAKELOOP_USER", "alice")
    d = _skill_dir(tmp_path)
    main(["skills", "push", str(d), "--author", "alice"])
    main(["skills", "push", str(d), "--author", "alice"])
    capsys.readouterr()
    out = _json_out(capsys, ["skills", "--json"])
    assert [(s["name"], s["author"], s["version"]) for s in out["skills"]] == [("db-migrate", "alice", 2)]
    assert main(["skills"]) == 0
    assert "db-migrate" in capsys.readouterr().out


def test_sessions_json_lists_event_types(capsys):
    """`sessions --json` lists each captured session with its rows' event types."""
    store = EmbeddedStore(paths.store_file())
    for payload in recorded_payloads():
        message = build_message(payload)
        if message:
            store.append_session_row(session_row(message, Identity("tester")))
    out = _json_out(capsys, ["sessions", "--json"])
    [s] = out["sessions"]
    assert s["session_id"] == "e8f2d602-bc51-4170-b4d4-df65e830a9f4"
    assert s["types"] == {"user_message": 2, "tool_call": 4, "assistant_message": 2}
    assert s["rows"] == 8


def test_status_names_the_store_and_paths(capsys):
    """`status --json` names the embedded store and where files live."""
    out = _json_out(capsys, ["status", "--json"])
    assert out["store"]["kind"] == "embedded" and out["store"]["ok"] is True
    assert out["data_dir"] == os.environ["LAKELOOP_DATA_DIR"]
    assert out["log_file"] == str(Path(os.environ["LAKELOOP_LOG_DIR"]) / "lakeloop.log")
    assert main(["status"]) == 0
    assert "store:        embedded" in capsys.readouterr().out


def test_status_reports_unusable_store(tmp_path, capsys, monkeypatch):
    """A store that cannot be opened makes status exit 1 with the reason, not a traceback."""
    bad = tmp_path / "blocked"
    bad.write_text("not a directory")
    monkeypatch.setenv("LAKELOOP_DATA_DIR", str(bad))
    assert main(["status"]) == 1
    assert "ERROR" in capsys.readouterr().out


def test_logs_prints_last_lines(capsys):
    """`logs -n 2` prints the last two lines of the log file."""
    paths.log_dir().mkdir(parents=True)
    paths.log_file().write_text("one\ntwo\nthree\n")
    assert main(["logs", "-n", "2"]) == 0
    assert capsys.readouterr().out == "two\nthree\n"


def test_logs_follow_prints_new_lines(tmp_path):
    """`logs -f` keeps printing lines appended after it started."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "plugin")}
    paths.log_dir().mkdir(parents=True)
    paths.log_file().write_text("old\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "lakeloop.cli.main", "logs", "-f", "-n", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while "following" not in proc.stderr.readline():  # it is tailing from here on
            assert proc.poll() is None
        with open(paths.log_file(), "a") as fh:
            fh.write("fresh line\n")
        assert proc.stdout.readline() == "fresh line\n"
    finally:
        proc.kill()
        proc.wait()


def test_demo_replays_recorded_session_and_publishes_v2(tmp_path):
    """The main job: replaying the recorded session publishes and pulls version 2 (scripted agent)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKELOOP_")}
    env["PYTHONPATH"] = str(REPO / "plugin")
    # The user's Deeplake credentials must not pull the demo off the embedded store.
    creds = tmp_path / "home" / ".deeplake" / "credentials.json"
    creds.parent.mkdir(parents=True)
    creds.write_text(json.dumps({"token": "t", "orgId": "o", "apiUrl": "http://127.0.0.1:9"}))
    env["HOME"] = str(tmp_path / "home")
    proc = subprocess.run(
        [sys.executable, "-m", "lakeloop.cli.main", "demo", "--scripted", "--dir", str(tmp_path / "demo")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SCRIPTED STAND-IN" in proc.stdout
    assert "worker outcome=published" in proc.stdout
    assert "RESULT: version 2 published and pulled" in proc.stdout
    manifest = json.loads((tmp_path / "demo" / "data" / "pulled-skills.json").read_text())
    assert manifest["skills"]["db-migrate--alice"]["version"] == 2
