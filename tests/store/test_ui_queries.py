"""The dashboard's two session queries on both stores (the embedded file and the Deeplake stand-in
on PostgreSQL): ``Store.activity(since, day_start)`` counts events and sessions per user and agent
for the week and the day; ``Store.session_list(SessionListQuery)`` pages the sessions a filter
selects, newest first, each described as a whole. Each is ONE statement; filter values are values,
never SQL or patterns; a value no store can hold answers nothing and raises nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from lakeloop.capture.rows import build_message, session_row
from lakeloop.identity import Identity
from lakeloop.store import open_store
from lakeloop.store.base import SessionListQuery

WEEK, TODAY = "2026-03-04T00:00:00.000000Z", "2026-03-10T00:00:00.000000Z"


def event(user: str, session: str, when: str, kind: str = "prompt", agent: str = "claude_code", cwd: str = "/w/alpha"):
    """One sessions row as the drainer builds it: ``kind`` prompt, tool or answer at ``when``
    (``2026-03-10T09:00``, UTC), event id from its session and time."""
    payload: dict = {"session_id": session, "cwd": cwd}
    if kind == "prompt":
        payload.update(hook_event_name="UserPromptSubmit", prompt=f"prompt of {session}")
    elif kind == "tool":
        payload.update(
            hook_event_name="PostToolUse", tool_name="Bash", tool_input={"command": "ls"}, tool_response="ok"
        )
    else:
        payload.update(hook_event_name="Stop", last_assistant_message=f"answer of {session}")
    at = dt.datetime.fromisoformat(when).replace(tzinfo=dt.timezone.utc)
    ns = int(at.timestamp()) * 10**9
    message = build_message(payload, received_at_ns=ns, event_id=f"{session}@{when}")
    return session_row(message, Identity(user), agent=agent)


#: (user, session, agent, cwd, [(time, kind)]): fixed dates around TODAY (a Tuesday) and WEEK.
SEEDED = [
    ("alice", "a1", "claude_code", "/w/alpha", [("2026-03-10T09:00", "prompt"), ("2026-03-10T09:01", "tool"),
                                                ("2026-03-10T09:02", "answer")]),
    ("alice", "a2", "claude_code", "/w/beta", [("2026-03-05T08:00", "prompt"), ("2026-03-05T08:01", "answer"),
                                               ("2026-03-10T08:00", "prompt")]),
    ("alice", "a3", "codex", "/w/alpha", [("2026-03-06T10:00", "prompt"), ("2026-03-06T10:05", "answer")]),
    ("bob", "b1", "claude_code", "/w/alpha", [("2026-03-01T10:00", "prompt"), ("2026-03-01T10:01", "tool"),
                                              ("2026-03-05T11:00", "answer")]),
    ("bob", "b0", "claude_code", "/w/gamma", [(f"2026-02-20T10:0{i}", "tool") for i in range(4)]),
]  # fmt: skip


def seed(store) -> None:
    rows = [event(u, s, when, kind, agent, cwd) for u, s, agent, cwd, evs in SEEDED for when, kind in evs]
    store.append_session_rows(rows)
    store.append_session_rows(rows[:2])  # a re-sent batch: on Deeplake a repeated id may be stored twice


def ids(listed: list[dict]) -> list[str]:
    return [s["session_id"] for s in listed]


def test_activity_counts_events_and_sessions_per_user_and_agent_for_the_week_and_the_day(store):
    """Rows before ``since`` are left out (b0 entirely, b1's first two); a session spanning the day
    counts in both (a2); a re-sent event counts once."""
    seed(store)
    assert store.activity(WEEK, TODAY) == [
        {"author": "alice", "agent": "claude_code", "events": 6, "events_today": 4, "sessions": 2, "sessions_today": 2},
        {"author": "alice", "agent": "codex", "events": 2, "events_today": 0, "sessions": 1, "sessions_today": 0},
        {"author": "bob", "agent": "claude_code", "events": 1, "events_today": 0, "sessions": 1, "sessions_today": 0},
    ]
    assert store.activity("2026-03-11T00:00:00.000000Z", "2026-03-11T00:00:00.000000Z") == []


def test_session_list_is_newest_first_and_describes_each_session_whole(store):
    seed(store)
    listed = store.session_list(SessionListQuery())
    assert ids(listed) == ["a1", "a2", "a3", "b1", "b0"]
    a2 = listed[1]
    assert a2 == {
        "path": "/sessions/alice/alice_local_default_a2.jsonl",
        "session_id": "a2",
        "author": "alice",
        "agent": "claude_code",
        "project": "beta",
        "rows": 3,
        "types": {"user_message": 2, "assistant_message": 1},
        "first": "2026-03-05T08:00:00.000000Z",
        "last": "2026-03-10T08:00:00.000000Z",
    }
    assert listed[0]["rows"] == 3 and listed[0]["types"] == {"user_message": 1, "tool_call": 1, "assistant_message": 1}


def test_session_list_filters_by_user_agent_project_and_dates(store):
    """A session is listed when one of its rows matches, ordered by its latest matching row; it is
    still described whole (a2 since TODAY starts on the 5th)."""
    seed(store)

    def listed(**kw) -> list[str]:
        return ids(store.session_list(SessionListQuery(**kw)))

    assert listed(user="bob") == ["b1", "b0"]
    assert listed(agent="codex") == ["a3"]
    assert listed(project="alpha") == ["a1", "a3", "b1"]
    assert listed(user="alice", project="alpha", agent="claude_code") == ["a1"]
    assert listed(since=TODAY) == ["a1", "a2"]
    assert store.session_list(SessionListQuery(since=TODAY))[1]["first"] == "2026-03-05T08:00:00.000000Z"
    assert listed(since=WEEK, until=TODAY) == ["a3", "b1", "a2"]  # by the latest row before TODAY
    assert listed(until="2026-03-01T10:00:30.000000Z") == ["b1", "b0"]
    assert listed(user="", agent=None, since="") == ["a1", "a2", "a3", "b1", "b0"]
    assert listed(user="carol") == []


def test_session_list_pages_without_gaps_or_overlap(store):
    seed(store)
    pages = [ids(store.session_list(SessionListQuery(limit=2, offset=o))) for o in (0, 2, 4, 6)]
    assert pages == [["a1", "a2"], ["a3", "b1"], ["b0"], []]
    assert ids(store.session_list(SessionListQuery(user="alice", limit=1, offset=1))) == ["a2"]
    assert store.session_list(SessionListQuery(limit=0)) == []
    assert ids(store.session_list(SessionListQuery(limit=2, offset=-5))) == ["a1", "a2"]


HOSTILE = [
    "x' OR '1'='1",
    "alice' --",
    "%",
    "_____",
    "a%",
    "\\",
    "alice\\",
    '"; DROP TABLE sessions; --',
    "ålice",
    "👩‍💻",
    "x" * 100_000,
    "alice\x00",
    "\ud800",
    "\u202ealice",
]


@pytest.mark.parametrize("field", ["user", "agent", "project"])
def test_hostile_filter_values_match_only_themselves(store, field):
    """Quotes, LIKE wildcards, backslashes, unicode, 100,000 characters, NUL, a lone surrogate,
    a bidi override: each is a value (equal or not), never SQL or a pattern; none raises. The
    users named ``%_`` and ``o'brien`` are found by their exact names only."""
    seed(store)
    store.append_session_rows(
        [
            event("%_", "p1", "2026-03-09T10:00", agent="%_", cwd="/w/%_"),
            event("o'brien", "q1", "2026-03-09T11:00", agent="o'brien", cwd="/w/o'brien"),
        ]
    )
    for value in HOSTILE:
        assert store.session_list(SessionListQuery(**{field: value})) == [], value
        assert ids(store.session_list(SessionListQuery(since=value, **{field: "%_"}))) in ([], ["p1"]), value
    assert ids(store.session_list(SessionListQuery(**{field: "%_"}))) == ["p1"]
    assert ids(store.session_list(SessionListQuery(**{field: "o'brien"}))) == ["q1"]
    assert len(store.session_list(SessionListQuery())) == 7  # nothing was changed


def test_hostile_dates_are_compared_as_text_and_never_raise(store):
    seed(store)
    for value in HOSTILE:
        assert store.activity(value, value) in ([], store.activity("", "")), value
        assert store.session_list(SessionListQuery(until=value)) in (
            [],
            store.session_list(SessionListQuery(until=value[:1])),
        ), value
    assert store.activity("\ud800", TODAY) == [] and store.activity(WEEK, "\x00") == []
    assert store.activity("x' OR '1'='1", TODAY) == []  # 'x' sorts after every date


@pytest.mark.parametrize("store_kind", ["deeplake"], indirect=True)
def test_deeplake_answers_each_query_with_one_request(store_kind, request):
    standin = request.getfixturevalue("deeplake")
    store = open_store()
    store.ensure_tables()
    seed(store)
    standin.reset_counters()
    assert len(store.activity(WEEK, TODAY)) == 3
    assert len(standin.queries()) == 1
    standin.reset_counters()
    assert len(store.session_list(SessionListQuery(user="alice", since=WEEK, limit=2))) == 2
    assert len(standin.queries()) == 1
    standin.reset_counters()
    assert (
        store.session_list(SessionListQuery(limit=0)) == [] and store.session_list(SessionListQuery(user="\x00")) == []
    )
    assert store.activity("\ud800", TODAY) == []
    assert standin.queries() == []
    store.close()


@pytest.mark.parametrize("store_kind", ["embedded"], indirect=True)
def test_embedded_queries_are_one_statement_on_the_date_index(store_kind):
    """Each query is one statement (a trace of the connection); a filtered list and the activity
    read the ``sessions_date`` index, not the rows."""
    store = open_store()
    seed(store)
    traced: list[str] = []
    store._db.set_trace_callback(traced.append)
    store.activity(WEEK, TODAY)
    assert len(traced) == 1
    store.session_list(SessionListQuery(user="alice", since=WEEK))
    assert len(traced) == 2
    from lakeloop.store import memory_sql as msql

    for sql, params in (
        (msql.activity_sql(d := msql.SqliteDialect(), WEEK, TODAY), d.params),
        (msql.session_list_sql(d := msql.SqliteDialect(), SessionListQuery(user="alice", since=WEEK)), d.params),
    ):
        plan = " ".join(str(r[3]) for r in store._run(f"EXPLAIN QUERY PLAN {sql}", params))
        assert "COVERING INDEX sessions_date" in plan, plan
    store.close()


def test_an_older_embedded_file_gets_the_date_index_on_open(tmp_path):
    """A file of schema 2 (no ``sessions_date``) gets it on open, its rows kept; the next open
    does nothing."""
    from lakeloop.store.embedded import SCHEMA_VERSION, EmbeddedStore

    path = tmp_path / "store.sqlite3"
    store = EmbeddedStore(path)
    seed(store)
    store._run("DROP INDEX sessions_date")
    store._run("PRAGMA user_version = 2")
    store.close()
    store = EmbeddedStore(path)
    names = {r[0] for r in store._run("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "sessions_date" in names
    assert store._run("PRAGMA user_version")[0][0] == SCHEMA_VERSION == 3
    assert ids(store.session_list(SessionListQuery(since=TODAY))) == ["a1", "a2"]
    store.close()
