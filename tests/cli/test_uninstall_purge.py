"""``lakeloop uninstall claude --purge`` deletes only what lakeloop wrote.

A data directory pointed at a folder that holds other things (``LAKELOOP_DATA_DIR`` set to a
shared folder) keeps everything lakeloop did not write there; the Deeplake credentials file is
never deleted, wherever it lies.
"""

from __future__ import annotations

from lakeloop import paths
from lakeloop.cli.main import main


def test_purge_deletes_only_lakeloops_entries_of_a_shared_data_dir(tmp_path, monkeypatch, capsys):
    shared = tmp_path / "shared"
    monkeypatch.setenv("LAKELOOP_DATA_DIR", str(shared))
    monkeypatch.setenv("LAKELOOP_CLAUDE_BIN", str(tmp_path / "no-claude-here"))
    (shared / "photos").mkdir(parents=True)
    (shared / "photos" / "a.jpg").write_bytes(b"jpg")
    (shared / "credentials.json").write_text("{}")
    (shared / "outbox").mkdir()
    (shared / "outbox" / "e1").write_text("x")
    (shared / "store.sqlite3").write_text("db")
    (shared / "deeplake-schema-abc.ok").write_text("")
    assert paths.data_dir() == shared
    main(["uninstall", "claude", "--purge", "--yes"])
    out = capsys.readouterr().out
    assert (shared / "photos" / "a.jpg").read_bytes() == b"jpg"
    assert (shared / "credentials.json").exists()
    assert not (shared / "outbox").exists() and not (shared / "store.sqlite3").exists()
    assert not (shared / "deeplake-schema-abc.ok").exists()
    assert "left alone in" in out and "photos" in out


def test_purge_removes_a_data_dir_holding_only_lakeloops_files(tmp_path, monkeypatch):
    monkeypatch.setenv("LAKELOOP_CLAUDE_BIN", str(tmp_path / "no-claude-here"))
    data = paths.data_dir()
    (data / "jobs").mkdir(parents=True)
    (data / "pins.json").write_text("{}")
    main(["uninstall", "claude", "--purge", "--yes"])
    assert not data.exists()
