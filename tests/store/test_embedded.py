"""The embedded SQLite store (store/embedded.py).

Rules under test: WAL journal and a 5 s busy timeout (concurrent hook processes
wait for each other); session rows come back oldest first (creation_date, then
insertion order) and can be filtered by message type; ``list_sessions`` counts
rows per type; the current version of a skill is the highest ``version``, ties
broken by the latest ``created_at``; values full of SQL metacharacters round-trip
unchanged and never act as SQL; concurrent writer processes lose no row.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from lakeloop.errors import StoreError, StoreUnavailable
from lakeloop.store import embedded
from lakeloop.store.base import SessionRow, SkillRow
from lakeloop.store.embedded import EmbeddedStore
from tests.support.repo import PLUGIN_SRC


@pytest.fixture
def store(tmp_path):
    s = EmbeddedStore(tmp_path / "data" / "store.sqlite3")
    yield s
    s.close()


def srow(
    path: str, kind: str, content: str = "", created: str = "2026-01-01T00:00:00.000000Z", sid: str = "s1", **extra
) -> SessionRow:
    message = {
        "id": f"m-{content}",
        "session_id": sid,
        "type": kind,
        "content": content,
        "hook_event_name": "UserPromptSubmit",
        **extra,
    }
    return SessionRow(
        id=f"r-{content}",
        path=path,
        filename=path.rsplit("/", 1)[-1],
        message=message,
        author="tester",
        size_bytes=1,
        project="proj",
        description="UserPromptSubmit",
        agent="claude_code",
        plugin_version="0.1.0",
        creation_date=created,
        last_update_date=created,
    )


def skill(
    name="db-migrate",
    author="alice",
    version=1,
    created="2026-01-01T00:00:00.000000Z",
    body="body",
    scope="team",
    **extra,
) -> SkillRow:
    return SkillRow(
        id=f"{name}-{author}-{version}-{created}",
        name=name,
        author=author,
        body=body,
        version=version,
        scope=scope,
        created_at=created,
        updated_at=created,
        **extra,
    )


# -- connection settings ---------------------------------------------------------------------


def test_journal_mode_is_wal_and_persists(store):
    """The store runs in WAL mode, and the mode is recorded in the file (other connections see it)."""
    assert store.journal_mode == "wal"
    other = sqlite3.connect(str(store.path))
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        other.close()


def test_busy_timeout_is_5000_ms(store):
    """Each connection waits up to 5000 ms for a lock instead of failing at once."""
    assert embedded.BUSY_TIMEOUT_MS == 5000
    assert store._db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_locked_database_waits_for_the_busy_timeout_then_raises_store_error(tmp_path, monkeypatch):
    """While another connection holds the write lock, an insert waits the busy timeout and then
    fails as StoreError (never a raw sqlite3 error)."""
    monkeypatch.setattr(embedded, "BUSY_TIMEOUT_MS", 300)
    path = tmp_path / "locked.sqlite3"
    s = EmbeddedStore(path)
    blocker = sqlite3.connect(str(path), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(StoreError, match="locked"):
            s.append_session_row(srow("/sessions/a/a.jsonl", "user_message", "x"))
        assert time.monotonic() - started >= 0.25
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    s.append_session_row(srow("/sessions/a/a.jsonl", "user_message", "x"))
    assert len(s.session_rows("/sessions/a/a.jsonl")) == 1
    s.close()


def test_unopenable_path_raises_store_unavailable(tmp_path):
    """A store path that is a directory cannot be opened: StoreUnavailable."""
    (tmp_path / "dir.sqlite3").mkdir()
    with pytest.raises(StoreUnavailable):
        EmbeddedStore(tmp_path / "dir.sqlite3")


def test_reopening_keeps_rows(tmp_path):
    """Rows are durable across connections (a new hook process sees earlier rows)."""
    path = tmp_path / "s.sqlite3"
    with EmbeddedStore(path) as s:
        s.append_session_row(srow("/p", "user_message", "kept"))
        s.insert_skill(skill())
    with EmbeddedStore(path) as s:
        assert [r.message["content"] for r in s.session_rows("/p")] == ["kept"]
        assert s.current_skill("db-migrate", "alice").body == "body"


# -- sessions --------------------------------------------------------------------------------


def test_session_row_round_trips_every_column(store):
    """Every column written comes back, the message as the same JSON object."""
    row = srow("/sessions/t/t_local_default_s1.jsonl", "tool_call", "c", tool_input='{"skill": "x--y"}')
    row.message_embedding = [0.5, -1.0]
    store.append_session_row(row)
    (back,) = store.session_rows(row.path)
    assert back == row
    assert back.type == "tool_call"


def test_session_rows_oldest_first_then_insertion_order(store):
    """Rows come back by creation_date, ties in insertion order, whatever the insert order."""
    p = "/sessions/t/s.jsonl"
    store.append_session_row(srow(p, "user_message", "third", "2026-01-01T00:00:03.000000Z"))
    store.append_session_row(srow(p, "user_message", "first", "2026-01-01T00:00:01.000000Z"))
    store.append_session_row(srow(p, "assistant_message", "second-a", "2026-01-01T00:00:02.000000Z"))
    store.append_session_row(srow(p, "tool_call", "second-b", "2026-01-01T00:00:02.000000Z"))
    store.append_session_row(srow(p, "user_message", "second-c", "2026-01-01T00:00:02.000000Z"))
    assert [r.message["content"] for r in store.session_rows(p)] == [
        "first",
        "second-a",
        "second-b",
        "second-c",
        "third",
    ]


def test_session_rows_only_the_given_path(store):
    """A session's rows never include another session's rows."""
    store.append_session_row(srow("/sessions/t/a.jsonl", "user_message", "a"))
    store.append_session_row(srow("/sessions/t/b.jsonl", "user_message", "b"))
    assert [r.message["content"] for r in store.session_rows("/sessions/t/a.jsonl")] == ["a"]
    assert store.session_rows("/sessions/t/none.jsonl") == []


def test_session_rows_types_filter(store):
    """``types`` keeps only rows whose message type is listed; None or empty keeps all."""
    p = "/sessions/t/s.jsonl"
    for i, kind in enumerate(["user_message", "tool_call", "assistant_message", "tool_call", "other"]):
        store.append_session_row(srow(p, kind, f"{i}", f"2026-01-01T00:00:0{i}.000000Z"))
    assert [r.message["content"] for r in store.session_rows(p, types=["tool_call"])] == ["1", "3"]
    assert [r.type for r in store.session_rows(p, types=("user_message", "assistant_message"))] == [
        "user_message",
        "assistant_message",
    ]
    assert len(store.session_rows(p)) == 5
    assert len(store.session_rows(p, types=[])) == 5
    assert store.session_rows(p, types=["nope"]) == []


def test_list_sessions_counts_types_newest_first(store):
    """``list_sessions``: one entry per path with total rows, rows per type, first/last dates,
    newest session first; ``limit`` bounds the list."""
    old, new = "/sessions/t/old.jsonl", "/sessions/t/new.jsonl"
    store.append_session_row(srow(old, "user_message", "1", "2026-01-01T00:00:01.000000Z", sid="old"))
    store.append_session_row(srow(old, "tool_call", "2", "2026-01-01T00:00:02.000000Z", sid="old"))
    store.append_session_row(srow(old, "tool_call", "3", "2026-01-01T00:00:03.000000Z", sid="old"))
    store.append_session_row(srow(new, "assistant_message", "4", "2026-01-02T00:00:00.000000Z", sid="new"))
    listed = store.list_sessions()
    assert [s["path"] for s in listed] == [new, old]
    assert listed[1] == {
        "path": old,
        "session_id": "old",
        "rows": 3,
        "types": {"user_message": 1, "tool_call": 2},
        "first": "2026-01-01T00:00:01.000000Z",
        "last": "2026-01-01T00:00:03.000000Z",
        "agent": "claude_code",
    }
    assert listed[0]["types"] == {"assistant_message": 1}
    assert [s["path"] for s in store.list_sessions(limit=1)] == [new]


# -- skills ----------------------------------------------------------------------------------


def test_current_skill_highest_version_wins_over_newer_creation(store):
    """The highest version is current even when a lower version was created later."""
    store.insert_skill(skill(version=3, created="2026-01-01T00:00:00.000000Z", body="v3"))
    store.insert_skill(skill(version=2, created="2026-06-01T00:00:00.000000Z", body="v2"))
    store.insert_skill(skill(version=1, created="2026-07-01T00:00:00.000000Z", body="v1"))
    assert store.current_skill("db-migrate", "alice").body == "v3"


def test_current_skill_tie_goes_to_the_first_created(store):
    """Two rows with the same version (a publish race): the one created first is current, whatever
    the insert order; the later one is the loser that re-publishes on top."""
    store.insert_skill(skill(version=2, created="2026-03-01T00:00:00.000000Z", body="later"))
    store.insert_skill(skill(version=2, created="2026-02-01T00:00:00.000000Z", body="earlier"))
    store.insert_skill(skill(version=1, created="2026-04-01T00:00:00.000000Z", body="v1"))
    assert store.current_skill("db-migrate", "alice").body == "earlier"
    assert [s.body for s in store.latest_skills(scope=None)] == ["earlier"]


def test_current_skill_is_per_name_and_author(store):
    """Another author's skill of the same name is a different skill; absent -> None."""
    store.insert_skill(skill(author="alice", version=1, body="alice's"))
    store.insert_skill(skill(author="bob", version=5, body="bob's"))
    assert store.current_skill("db-migrate", "alice").body == "alice's"
    assert store.current_skill("db-migrate", "carol") is None


def test_skill_row_round_trips_lists_and_version(store):
    """contributors and source_sessions (JSON array text) and version come back as written."""
    row = skill(
        version=7,
        contributors=["alice", "lakeloop-skillopt"],
        source_sessions=["s1", "s2"],
        description="d",
        trigger_text="t",
        project="p",
        project_key="k",
        local_path="/x",
        install="project",
    )
    store.insert_skill(row)
    assert store.current_skill("db-migrate", "alice") == row


def test_latest_skills_one_current_row_per_skill_and_scope_filter(store):
    """``latest_skills`` returns the current version of each (name, author), of the scope asked
    (team by default; None for all scopes)."""
    store.insert_skill(skill(name="a", version=1, body="a1"))
    store.insert_skill(skill(name="a", version=2, body="a2"))
    store.insert_skill(skill(name="b", author="bob", version=1, body="b1"))
    store.insert_skill(skill(name="mine", version=4, scope="me", body="m4"))
    team = {(s.name, s.author): s.body for s in store.latest_skills()}
    assert team == {("a", "alice"): "a2", ("b", "bob"): "b1"}
    everything = {(s.name, s.author): s.body for s in store.latest_skills(scope=None)}
    assert everything == {("a", "alice"): "a2", ("b", "bob"): "b1", ("mine", "alice"): "m4"}
    assert [s.body for s in store.latest_skills(scope="me")] == ["m4"]


def test_inserting_a_version_is_append_only(store):
    """Publishing v2 adds a row; v1 is still there."""
    store.insert_skill(skill(version=1, body="v1"))
    store.insert_skill(skill(version=2, body="v2"))
    count = store._db.execute("SELECT COUNT(*) FROM skills WHERE name='db-migrate'").fetchone()[0]
    assert count == 2


# -- SQL metacharacters ----------------------------------------------------------------------

NASTY = [
    "it's",
    "''",
    "'; DROP TABLE sessions; --",
    "'; DROP TABLE skills; --",
    "100%",
    "%",
    "a_b",
    "_",
    "back\\slash",
    "\\'",
    "\\\\",
    'double "quotes"',
    '"; --',
    "naïve café 日本語 🦀",
    "tab\there\nnewline",
    "E'\\x00'",
    "$1",
    "?",
    ":name",
    "/* comment */",
    "\u202e rtl",
]


@pytest.mark.parametrize("value", NASTY, ids=lambda v: repr(v)[:24])
def test_sql_metacharacters_round_trip_in_session_rows(store, value):
    """Quotes, DROP TABLE, LIKE wildcards, backslashes and unicode in any value come back
    unchanged, and select exactly the row with that value."""
    path = f"/sessions/{value}/x.jsonl"
    row = srow(path, "user_message", value)
    row.author = value
    row.project = value
    row.message["tool_input"] = value
    store.append_session_row(row)
    store.append_session_row(srow("/sessions/other/x.jsonl", "user_message", "decoy"))
    (back,) = store.session_rows(path, types=["user_message"])
    assert back.message["content"] == value
    assert back.message["tool_input"] == value
    assert (back.author, back.project, back.path) == (value, value, path)
    assert len(store.session_rows("/sessions/other/x.jsonl")) == 1  # tables intact


@pytest.mark.parametrize("value", NASTY, ids=lambda v: repr(v)[:24])
def test_sql_metacharacters_round_trip_in_skills(store, value):
    """Skill name, author and body with SQL metacharacters round-trip and match exactly."""
    store.insert_skill(skill(name=value, author=value, body=value, contributors=[value]))
    store.insert_skill(skill(name="decoy", author="x", body="decoy"))
    back = store.current_skill(value, value)
    assert (back.name, back.author, back.body, back.contributors) == (value, value, value, [value])
    assert {s.name for s in store.latest_skills()} == {value, "decoy"}


def test_like_wildcards_are_not_patterns(store):
    """``%`` and ``_`` in a path or name match only themselves (equality, never LIKE)."""
    store.append_session_row(srow("/sessions/a_c.jsonl", "user_message", "underscore"))
    store.append_session_row(srow("/sessions/abc.jsonl", "user_message", "abc"))
    assert [r.message["content"] for r in store.session_rows("/sessions/a_c.jsonl")] == ["underscore"]
    assert store.session_rows("/sessions/%.jsonl") == []
    store.insert_skill(skill(name="abc", body="abc"))
    assert store.current_skill("a_c", "alice") is None
    assert store.current_skill("%", "alice") is None


# -- concurrency -----------------------------------------------------------------------------

_WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[1])
    from pathlib import Path
    from lakeloop.store.base import SessionRow
    from lakeloop.store.embedded import EmbeddedStore
    db, worker, count = Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    sys.stdin.readline()  # start together
    with EmbeddedStore(db) as store:
        for i in range(count):
            path = "/sessions/t/shared.jsonl"
            store.append_session_row(SessionRow(
                id=f"{worker}-{i}", path=path, filename="shared.jsonl",
                message={"type": "tool_call", "session_id": "shared", "worker": worker, "i": i},
                author="t", size_bytes=1, project="p", description="PostToolUse", agent="claude_code",
                plugin_version="0", creation_date="2026-01-01T00:00:00.000000Z",
                last_update_date="2026-01-01T00:00:00.000000Z"))
    print("ok")
""")


def test_concurrent_writer_processes_lose_no_row(tmp_path):
    """N real processes opening a brand-new store and appending at the same moment: every row lands."""
    n_procs, per_proc = 8, 25
    db = tmp_path / "fresh" / "store.sqlite3"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(PLUGIN_SRC), str(db), f"w{k}", str(per_proc)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(n_procs)
    ]
    for p in procs:  # release them all at once
        p.stdin.write("go\n")
        p.stdin.flush()
    results = [p.communicate(timeout=60) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err
        assert out.strip() == "ok"
    with EmbeddedStore(db) as s:
        rows = s.session_rows("/sessions/t/shared.jsonl")
    assert len(rows) == n_procs * per_proc
    assert {r.id for r in rows} == {f"w{k}-{i}" for k in range(n_procs) for i in range(per_proc)}
    assert not os.path.exists(str(db) + "-journal")  # WAL, not a rollback journal


def test_lone_surrogate_in_a_message_is_stored_not_lost(store):
    """A payload may carry a lone UTF-16 surrogate (``"\\ud800"`` is valid JSON, e.g. a pasted text cut
    mid-emoji). The row is still stored and reads back equal; nothing but StoreError ever escapes."""
    value = "broken \ud800 emoji \U0001f980"
    row = srow("/sessions/t/s.jsonl", "user_message", value)
    row.id = "r1"  # row ids are uuids; only the message holds the payload's text
    store.append_session_row(row)
    (back,) = store.session_rows("/sessions/t/s.jsonl", types=["user_message"])
    assert back.message["content"] == value


def test_unencodable_column_value_raises_store_error(store):
    """A plain column that cannot be stored (lone surrogate in the author) fails as StoreError."""
    row = srow("/sessions/t/s.jsonl", "user_message", "x")
    row.author = "bad \udc80"
    with pytest.raises(StoreError):
        store.append_session_row(row)
