"""The session page's reads on both stores (the embedded file and the Deeplake stand-in on
PostgreSQL): ``Store.session_rows(..., limit=, message_bytes=)`` reads at most ``limit`` rows and
counts the rest in the same statement, and cuts a message longer than ``message_bytes`` in SQL;
``Store.search(..., agent=, since=)`` applies both filters (an agent filter keeps session lines
only). Without the new keywords both answer as before."""

from __future__ import annotations

import datetime as dt

import pytest

from lakeloop.capture.rows import build_message, session_row
from lakeloop.identity import Identity
from lakeloop.store.base import SessionRowsPage, SkillRow
from lakeloop.store.memory_sql import CUT_KEY
from lakeloop.store.memory_types import NoteRow

ALICE = Identity("alice")
T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)


def row(session: str, n: int, payload: dict, when: dt.datetime | None = None, agent: str = "claude_code"):
    """Sessions row ``n`` of ``session`` (``n`` seconds after ``when``, default ``T0``)."""
    at = (when or T0) + dt.timedelta(seconds=n)
    message = build_message(
        {"session_id": session, "cwd": "/w/alpha", **payload},
        received_at_ns=int(at.timestamp()) * 10**9,
        event_id=f"{session}-{n}",
    )
    assert message is not None
    return session_row(message, ALICE, agent=agent)


def prompt(session: str, n: int, text: str = "", **kw):
    return row(session, n, {"hook_event_name": "UserPromptSubmit", "prompt": text or f"prompt {n}"}, **kw)


def test_a_limit_reads_the_oldest_rows_and_counts_them_all(store):
    rows = [prompt("long", n) for n in range(30)]
    store.append_session_rows(rows)
    store.append_session_rows(rows[:3])  # a re-sent batch: counted once
    path = ALICE.session_path("long")
    page = store.session_rows(path, limit=10)
    assert isinstance(page, SessionRowsPage)
    assert [r.message["content"] for r in page] == [f"prompt {n}" for n in range(10)]
    assert page.total == 30 and page.last == rows[-1].creation_date
    everything = store.session_rows(path)  # no limit: every row, as before
    assert type(everything) is list and len(everything) == 30
    count = store.session_rows(path, limit=0)
    assert list(count) == [] and count.total == 30
    nothing = store.session_rows(ALICE.session_path("nobody"), limit=10)
    assert list(nothing) == [] and nothing.total == 0 and nothing.last == ""
    later = store.session_rows(path, after=(rows[24].creation_date, rows[24].id), limit=3)
    assert [r.id for r in later] == [r.id for r in rows[25:28]] and later.total == 5


def test_a_message_longer_than_the_bound_is_cut_in_sql(store):
    huge = "y" * 3_000_000
    rows = [
        prompt("cut", 0, "small prompt"),
        row(
            "cut",
            1,
            {
                "hook_event_name": "PostToolUse",
                "tool_name": "Bash",
                "tool_input": {"command": "cat big.log"},
                "tool_response": huge,
            },
        ),
    ]
    rows[1].message["tool_response"] = huge  # another client's row: capture would have cut it
    store.append_session_rows(rows)
    path = ALICE.session_path("cut")
    small, big = store.session_rows(path, limit=10, message_bytes=4096)
    assert small.message == rows[0].message  # under the bound: the whole message
    assert big.type == "tool_call" and big.message["tool_name"] == "Bash"
    assert big.message["tool_response"] == "y" * 4096  # cut to the bound, in characters
    assert "cat big.log" in big.message["tool_input"]
    assert big.message[CUT_KEY] > 3_000_000 and big.message_embedding is None
    assert "id" not in big.message  # only the fields a reader shows
    whole = store.session_rows(path)[1]  # without the bound: as before
    assert whole.message["tool_response"] == huge


def test_a_malformed_or_deeply_nested_stored_message_does_not_fail_the_read(store_kind, store):
    if store_kind != "embedded":
        pytest.skip("Deeplake's message column is JSONB: it holds only valid JSON")
    store.append_session_rows([prompt("odd", 0)])
    path = ALICE.session_path("odd")
    for n, text in enumerate(("{not json" + "x" * 50_000, "[" * 100_000 + "]" * 100_000, "[" * 2000 + "]" * 2000)):
        store._db.execute(  # another client's row, written behind the store's back
            "INSERT INTO sessions (id, path, filename, message, author, size_bytes, project, description, agent,"
            " plugin_version, creation_date, last_update_date) VALUES (?, ?, 'f', ?, 'alice', 0, 'alpha', '', "
            "'claude_code', '', ?, ?)",
            (f"raw-{n}", path, text, f"2026-03-02T00:00:0{n}.000000Z", f"2026-03-02T00:00:0{n}.000000Z"),
        )
    got = store.session_rows(path, limit=10, message_bytes=4096)
    assert len(got) == 4 and got.total == 4
    assert [r.message for r in got[1:]] == [{CUT_KEY: 50_009}, {CUT_KEY: 200_000}, {}]


def search_seed(store) -> None:
    march = T0
    tenth = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.timezone.utc)
    store.append_session_rows(
        [
            prompt("old-claude", 0, "the zebra migration", when=march),
            prompt("new-codex", 0, "another zebra step", when=tenth, agent="codex"),
        ]
    )
    store.put_memory_doc(
        NoteRow("n1", "/summaries/alice/old-claude.md", "## What Happened\nA zebra ran.\n", "alice", "alpha",
                "2026-03-02T10:00:00.000000Z")
    )  # fmt: skip
    store.insert_skill(
        SkillRow("k1", "zebra-care", "alice", "Feed the zebra daily.", created_at="2026-03-09T10:00:00.000000Z")
    )


def kinds(hits) -> list[tuple[str, str]]:
    return sorted((h.extra["kind"], h.path) for h in hits)


def test_search_applies_the_agent_and_since_filters(store):
    search_seed(store)
    old_line = ("session", ALICE.session_path("old-claude"))
    new_line = ("session", ALICE.session_path("new-codex"))
    summary = ("summary", "/summaries/alice/old-claude.md")
    skill = ("skill", "/skills/zebra-care--alice/SKILL.md")
    assert kinds(store.search("zebra")) == sorted([old_line, new_line, summary, skill])  # unchanged
    assert kinds(store.search("zebra", agent="codex")) == [new_line]  # session lines only
    assert kinds(store.search("zebra", agent="claude_code")) == [old_line]
    since = "2026-03-05T00:00:00.000000Z"
    assert kinds(store.search("zebra", since=since)) == sorted([new_line, skill])
    assert kinds(store.search("zebra", agent="codex", since=since, user="alice")) == [new_line]
    assert store.search("zebra", agent="claude_code", since=since) == []
    assert store.search("zebra", agent="co\x00dex") == []  # no store holds it: nothing, no error
    assert kinds(store.search("zebra", agent="", since="")) == kinds(store.search("zebra"))


def test_a_search_hit_on_a_huge_line_returns_a_bounded_window_around_the_word(tmp_path):
    from lakeloop.store.embedded import EmbeddedStore
    from lakeloop.store.memory_sql import HIT_TEXT_CHARS

    # 500,007 characters (capture keeps 512 KiB), the word past character 300,000
    huge = "x " * 150_000 + "findme " + "y " * 100_000
    with EmbeddedStore(tmp_path / "store.db") as s:
        s.append_session_rows([prompt("s-huge", 0), prompt("s-huge", 1, huge), prompt("s-huge", 2, "findme too")])
        hits = s.search("findme", limit=5)
    lines = {h.line: h for h in hits if h.extra.get("kind") == "session"}
    assert sorted(lines) == [2, 3]  # line numbers counted for the returned hits
    source = lines[2].extra["source"]
    assert len(source) <= HIT_TEXT_CHARS and "findme" in source and "findme" in lines[2].text
    assert lines[3].extra["source"].startswith("{")  # a short line is returned whole
