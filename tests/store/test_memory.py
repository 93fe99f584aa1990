"""The store side of the memory path on both stores: ``memory_query``, ``insert_note``
and ``search``, the embedded store's FTS5 index and its migration.

Every case runs on the embedded store (a SQLite file in the test's tmp dir) and on the Deeplake
stand-in (real PostgreSQL): the tree a query shows is the same on both (line texts are compared
as JSON: Deeplake's ``CAST(message AS TEXT)`` orders keys its own way).
"""

from __future__ import annotations

import json
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakeloop.store.base import SessionFilter, SessionRow, SkillRow
from lakeloop.store.embedded import SCHEMA_VERSION, EmbeddedStore
from lakeloop.store.memory_types import DOC, ENTRY, LINE, SESSION, SKILL, MemoryQuery, NoteRow
from tests.support.processes import run_together

ALICE = "/sessions/alice/alice_acme_default_s1.jsonl"
BOB = "/sessions/bob/bob_acme_default_s2.jsonl"


def stamp(i: int, day: int = 1) -> str:
    return f"2026-01-{day:02d}T00:00:{i // 1000:02d}.{i % 1000:03d}000Z"


def srow(
    path: str,
    i: int,
    text: str,
    *,
    kind: str = "assistant_message",
    author: str = "alice",
    project: str = "acme",
    day: int = 1,
    rid: str | None = None,
) -> SessionRow:
    """Row ``i`` of ``path`` (created at second ``i`` of ``day``) whose message holds ``text``."""
    rid = rid or f"{path.rsplit('/', 1)[-1]}-{i:04d}"
    message = {
        "id": rid,
        "session_id": path,
        "type": kind,
        "content": text,
        "hook_event_name": "Stop",
        "timestamp": stamp(i, day),
    }
    return SessionRow(
        id=rid,
        path=path,
        filename=path.rsplit("/", 1)[-1],
        message=message,
        author=author,
        size_bytes=len(json.dumps(message)),
        project=project,
        description="Stop",
        agent="claude_code",
        plugin_version="t",
        creation_date=stamp(i, day),
        last_update_date=stamp(i, day),
    )


class Env:
    """One store of either kind, plus raw SQL access (another client's writes) and the
    stand-in's request counter."""

    def __init__(self, kind: str, store, standin=None) -> None:
        self.kind, self.store, self.standin = kind, store, standin

    def raw(self, statement: str) -> None:
        if self.kind == "embedded":
            self.store._db.execute(statement)
        else:
            self.store.client.query(statement)

    def requests(self) -> int:
        return len(self.standin.requests)

    def reset(self) -> None:
        if self.standin is not None:
            self.standin.reset_counters()

    def q(self, **kw):
        return self.store.memory_query(MemoryQuery(**kw))


def make_deeplake(standin):
    from lakeloop.deeplake.client import DeeplakeClient
    from lakeloop.deeplake.credentials import Credentials
    from lakeloop.store.deeplake import DeeplakeStore

    creds = Credentials(
        token=standin.token, org_id=standin.org_id, workspace=standin.workspace, api_url=standin.base_url
    )
    return DeeplakeStore(DeeplakeClient(creds, sleep=lambda s: None))


@pytest.fixture(params=["embedded", "deeplake"])
def env(request, tmp_path):
    """Each store in turn."""
    if request.param == "embedded":
        store = EmbeddedStore(tmp_path / "store.sqlite3")
        yield Env("embedded", store)
        store.close()
    else:
        yield request.getfixturevalue("dl")


@pytest.fixture
def dl(deeplake):
    """The Deeplake store on the stand-in, tables made (so counters see only what follows)."""
    store = make_deeplake(deeplake)
    store.ensure_tables()
    return Env("deeplake", store, deeplake)


def lines(records, path=None):
    """``{line: message dict}`` of the LINE records (of ``path``)."""
    return {r.line: json.loads(r.text) for r in records if r.kind == LINE and (path is None or r.path == path)}


def contents(records):
    return [json.loads(r.text)["content"] for r in sorted(records, key=lambda r: (r.path, r.line)) if r.kind == LINE]


# listing and reading ---------------------------------------------------------------------------
def seed(env: Env) -> None:
    env.store.append_session_rows(
        [srow(ALICE, i, f"alice line {i}") for i in range(1, 6)]
        + [srow(BOB, i, f"bob line {i}", author="bob") for i in range(1, 4)]
    )
    env.store.insert_skill(
        SkillRow(
            id="k1",
            name="db-migrate",
            author="alice",
            body="Run alembic.\n",
            description="Migrate the db",
            scope="team",
            created_at="2026-01-01T00:00:00Z",
        )
    )
    env.store.insert_note(
        NoteRow(
            id="n1",
            path="/notes/todo.md",
            text="buy milk\n",
            author="alice",
            project="acme",
            date="2026-01-02T00:00:00.000000Z",
        )
    )


def test_listing_names_every_file_under_the_prefixes(env):
    """A listing gives an ENTRY per session file, team skill and note under the prefixes, nothing else."""
    seed(env)
    entries = {r.path for r in env.q(prefixes=("/",), listing=True)}
    assert entries == {ALICE, BOB, "/skills/db-migrate--alice/SKILL.md", "/notes/todo.md"}
    assert {r.kind for r in env.q(prefixes=("/",), listing=True)} == {ENTRY}
    assert {r.path for r in env.q(prefixes=("/sessions/bob/",), listing=True)} == {BOB}
    assert {r.path for r in env.q(prefixes=("/skills/",), listing=True)} == {"/skills/db-migrate--alice/SKILL.md"}
    assert {r.path for r in env.q(prefixes=("/notes/", "/sessions/alice/"), listing=True)} == {"/notes/todo.md", ALICE}
    assert env.q(prefixes=("/nothing/",), listing=True) == []


def test_exact_file_read_gives_every_line_oldest_first(env):
    """content of one session file: LINE records 1..n in (creation_date, id) order whatever the
    insertion order, text = the message JSON on one line; skills and notes come as whole DOCs."""
    rows = [srow(ALICE, i, f"alice line {i}") for i in range(1, 6)]
    env.store.append_session_rows(rows[3:] + rows[:3])
    seed(env)
    got = env.q(prefixes=(ALICE,), content=True)
    assert [r.line for r in got] == [1, 2, 3, 4, 5] and {r.kind for r in got} == {LINE}
    assert [json.loads(r.text) for r in got] == [r.message for r in rows]
    assert all("\n" not in r.text for r in got) and {r.author for r in got} == {"alice"}
    [skill] = env.q(prefixes=("/skills/db-migrate--alice/SKILL.md",), content=True)
    assert (skill.kind, skill.text, skill.author) == (DOC, "Run alembic.\n", "alice")
    assert skill.date == "2026-01-01T00:00:00Z"
    [note] = env.q(prefixes=("/notes/todo.md",), content=True)
    assert (note.kind, note.text, note.author, note.project) == (DOC, "buy milk\n", "alice", "acme")
    assert env.q(prefixes=("/sessions/alice/alice_acme_default_s1.json",), content=True) == []  # exact, not a prefix


def test_empty_query_sends_nothing(env):
    """q.empty: no statement at all."""
    env.reset()
    assert env.q() == [] and env.q(prefixes=("/",)) == []
    if env.standin:
        assert env.requests() == 0


# narrowing ---------------------------------------------------------------------------------------
def test_narrowing_is_a_superset_with_context_and_real_line_numbers(env):
    """Candidates contain a literal case-insensitively; context lines (before, after) come with
    their real line numbers; every returned line equals that line of the whole file."""
    texts = ["plain"] * 12
    texts[2], texts[7], texts[11] = "the NeedLE is here", "two needles", "last needle"
    env.store.append_session_rows(
        [srow(ALICE, i + 1, t) for i, t in enumerate(texts)] + [srow(BOB, 1, "no match", author="bob")]
    )
    whole = lines(env.q(prefixes=(ALICE,), content=True))
    got = env.q(prefixes=("/sessions/",), content=True, literals=("needle",), context=(1, 2))
    numbered = lines(got)
    assert set(numbered) == {2, 3, 4, 5, 7, 8, 9, 10, 11, 12}
    assert all(numbered[n] == whole[n] for n in numbered)
    only = lines(env.q(prefixes=("/",), content=True, literals=("NEEDLE",)))
    assert set(only) == {3, 8, 12}
    assert set(lines(env.q(prefixes=("/",), content=True, literals=("needle", "plain")))) == set(range(1, 13))
    assert lines(env.q(prefixes=("/",), content=True, literals=())) == {}


def test_short_literals_use_a_scan_and_still_narrow(env):
    """A literal under 3 characters cannot use the trigram index: the scan finds the same lines."""
    env.store.append_session_rows([srow(ALICE, 1, "x"), srow(ALICE, 2, "QZ here"), srow(ALICE, 3, "y")])
    assert set(lines(env.q(prefixes=("/",), content=True, literals=("qz",)))) == {2}
    assert set(lines(env.q(prefixes=("/",), content=True, literals=("qz", "zzzz"), context=(0, 1)))) == {2, 3}


def test_repeated_ids_are_one_line(env):
    """An event stored twice (a re-send that slipped through on Deeplake) is one line: the lines
    after it keep their numbers and no (path, line) repeats."""
    rows = [srow(ALICE, i, f"line {i} marker") for i in range(1, 5)]
    env.store.append_session_rows(rows)
    env.store.append_session_rows([rows[1]])  # the embedded store ignores it; Deeplake stores a copy
    if env.kind == "deeplake":
        assert len(env.store.client.query(f"SELECT id FROM sessions WHERE id = '{rows[1].id}'")) == 2
    for query in (dict(content=True), dict(content=True, literals=("marker",), context=(1, 1))):
        got = [r for r in env.q(prefixes=(ALICE,), **query) if r.kind == LINE]
        assert [r.line for r in got] == [1, 2, 3, 4]
        assert [json.loads(r.text)["content"] for r in got] == [f"line {i} marker" for i in range(1, 5)]


def test_prefixes_with_like_wildcards_are_plain_text(env):
    """``_`` and ``%`` in a prefix or path match themselves only."""
    paths_ = [
        "/sessions/a_b/a_b_acme_default_s.jsonl",
        "/sessions/axb/axb_acme_default_s.jsonl",
        "/sessions/a%b/a%b_s.jsonl",
        "/sessions/a%bc/z.jsonl",
    ]
    env.store.append_session_rows([srow(p, 1, "same text") for p in paths_])
    for i, path in enumerate(("/notes/a_b/x.md", "/notes/aXb/y.md", "/notes/100%/z.md")):
        env.store.insert_note(NoteRow(id=f"n{i}", path=path, text="t", author="a", project="p", date=stamp(i)))

    def listed(*p):
        return {r.path for r in env.q(prefixes=p, listing=True)}

    assert listed("/sessions/a_b/") == {paths_[0]}
    assert listed("/sessions/a%b/") == {paths_[2]}
    assert listed("/sessions/a%b/a%b_s.jsonl") == {paths_[2]}
    assert listed("/notes/a_b/") == {"/notes/a_b/x.md"}
    assert listed("/notes/100%/") == {"/notes/100%/z.md"}
    assert set(lines(env.q(prefixes=("/sessions/a_b/",), content=True, literals=("same",)), paths_[0])) == {1}
    assert {r.path for r in env.q(prefixes=("/sessions/a_b/",), content=True, literals=("same",))} == {paths_[0]}


# notes -------------------------------------------------------------------------------------------
def test_notes_newest_row_wins_and_generated_paths_are_hidden(env):
    """The newest row of a path is its content; a note at /index.md, under /sessions/ or
    /skills/ is ignored (it would shadow a generated file); insert_note is idempotent by id."""

    def note(i, path, text, day):
        return NoteRow(id=f"n{i}", path=path, text=text, author="alice", project="acme", date=stamp(0, day))

    env.store.insert_note(note(1, "/notes/x.md", "old", 1))
    env.store.insert_note(note(2, "/notes/x.md", "newest", 3))
    env.store.insert_note(note(3, "/notes/x.md", "middle", 2))
    env.store.insert_note(note(2, "/notes/x.md", "newest", 3))  # the same note again
    for i, path in enumerate((ALICE, "/sessions/eve/fake.jsonl", "/skills/x--y/SKILL.md", "/index.md", "/skills")):
        env.store.insert_note(note(10 + i, path, "shadow", 9))
    env.store.append_session_rows([srow(ALICE, 1, "real")])
    got = env.q(prefixes=("/",), content=True, listing=True)
    docs = {r.path: r for r in got if r.kind == DOC}
    assert docs["/notes/x.md"].text == "newest" and docs["/notes/x.md"].date == stamp(0, 3)
    assert set(docs) == {"/notes/x.md"}
    assert {r.path for r in got if r.kind == ENTRY} == {"/notes/x.md", ALICE}
    assert contents(got) == ["real"]
    if env.kind == "embedded":
        assert env.store._run("SELECT COUNT(*) FROM memory WHERE id = 'n2'")[0][0] == 1
        [(mime, size, filename)] = env.store._run("SELECT mime_type, size_bytes, filename FROM memory WHERE id = 'n2'")
    else:
        [row] = env.store.client.query(
            "SELECT mime_type, size_bytes, filename, description FROM memory WHERE id = 'n2' LIMIT 1"
        )
        mime, size, filename = row["mime_type"], row["size_bytes"], row["filename"]
        assert row["description"] == "note"
    assert (mime, size, filename) == ("text/markdown", 6, "x.md")


# index -------------------------------------------------------------------------------------------
def test_index_records_latest_sessions_and_team_skills(env):
    """SESSION records: the 50 latest sessions newest first, the author, project, first user
    prompt (cut to 300 characters) and latest time; SKILL records: the current team version."""
    rows = []
    for s in range(53):
        path = f"/sessions/u{s % 3}/u{s % 3}_acme_default_{s:03d}.jsonl"
        rows.append(srow(path, 1, "assistant first", day=1 + s % 28, author=f"u{s % 3}", project=f"p{s}"))
        rows.append(
            srow(
                path,
                2,
                f"prompt {s} " + "x" * 400,
                kind="user_message",
                day=1 + s % 28,
                author=f"u{s % 3}",
                project=f"p{s}",
            )
        )
        rows.append(srow(path, 3 + s, "later", day=1 + s % 28, author=f"u{s % 3}", project=f"p{s}"))
    env.store.append_session_rows(rows)
    skills = [
        ("k1", "db", "alice", 1, "2026-01-01", "team", "v1"),
        ("k2", "db", "alice", 2, "2026-01-03", "team", "v2a"),
        ("k3", "db", "alice", 2, "2026-01-02", "team", "v2b"),  # same version, created first: wins
        ("k4", "db", "alice", 3, "2026-01-04", "proposal", "p"),
        ("k5", "mine", "bob", 1, "2026-01-01", "me", "m"),
    ]
    for sid, name, author, version, created, scope, desc in skills:
        env.store.insert_skill(
            SkillRow(
                id=sid,
                name=name,
                author=author,
                body=desc,
                version=version,
                scope=scope,
                description=desc,
                created_at=created,
            )
        )
    got = env.q(index=True)
    sessions = [r for r in got if r.kind == SESSION]
    assert len(sessions) == 50
    assert [r.date for r in sessions] == sorted((r.date for r in sessions), reverse=True)
    last = {r.path: max(x.creation_date for x in rows if x.path == r.path) for r in sessions}
    assert all(r.date == last[r.path] for r in sessions)
    newest = sessions[0]
    s = int(newest.path[-9:-6])
    assert newest.text == (f"prompt {s} " + "x" * 400)[:300]
    assert (newest.project, newest.author) == (f"p{s}", f"u{s % 3}")
    [skill] = [r for r in got if r.kind == SKILL]
    assert (skill.path, skill.line, skill.text, skill.author) == ("/skills/db--alice/SKILL.md", 2, "v2b", "alice")


# one request ---------------------------------------------------------------------------------------
def test_one_request_per_memory_query_on_deeplake(dl):
    """Each memory_query, however many parts it needs, is one request to the service."""
    env = dl
    seed(env)
    queries = [
        dict(prefixes=("/",), listing=True, index=True),
        dict(prefixes=("/",), content=True, listing=True, literals=("line",), context=(2, 2), rank=True, index=True),
        dict(prefixes=(ALICE,), content=True),
        dict(prefixes=("/notes/todo.md",), content=True),
        dict(prefixes=("/skills/", "/notes/"), listing=True, content=True),
    ]
    for query in queries:
        env.reset()
        assert env.q(**query)
        assert env.requests() == 1, env.standin.queries()


# ranking -----------------------------------------------------------------------------------------
def test_rank_orders_files_with_denser_matches_first(env):
    """rank: candidate lines get a score (higher = better); a line dense in the term beats a
    long line mentioning it once; context lines get 0."""
    dense = "/sessions/a/a_x_y_dense.jsonl"
    sparse = "/sessions/a/a_x_y_sparse.jsonl"
    env.store.append_session_rows(
        [
            srow(dense, 1, "kafka kafka kafka broker kafka"),
            srow(dense, 2, "nothing"),
            srow(sparse, 1, "we talked about many things, " * 20 + "and kafka once"),
            srow(sparse, 2, "nothing"),
        ]
        + [srow(f"/sessions/b/b_{i}.jsonl", 1, f"filler {i}") for i in range(20)]
    )
    got = env.q(prefixes=("/",), content=True, literals=("kafka",), rank=True, context=(0, 1))
    best = {}
    for r in got:
        if r.kind == LINE:
            best[r.path] = max(best.get(r.path, 0.0), r.score)
    assert best[dense] > best[sparse] > 0
    assert [r.score for r in got if r.kind == LINE and r.line == 2] == [0.0, 0.0]
    unranked = env.q(prefixes=("/",), content=True, literals=("kafka",))
    assert all(r.score == 0.0 for r in unranked)


# keeping the index in step -------------------------------------------------------------------------
def test_inserts_and_forget_keep_narrowing_in_step(env):
    """A row is found as soon as it is inserted; after ``forget`` (DELETE) it is gone from
    narrowed reads, listings and search."""
    env.store.append_session_rows([srow(ALICE, 1, "zebra crossing"), srow(BOB, 1, "zebra too", author="bob")])
    assert {r.path for r in env.q(prefixes=("/",), content=True, literals=("zebra",))} == {ALICE, BOB}
    env.store.append_session_rows([srow(ALICE, 2, "another zebra")])
    assert set(lines(env.q(prefixes=("/",), content=True, literals=("zebra",)), ALICE)) == {1, 2}
    env.store.delete_session_rows(SessionFilter(match="zebra too"))
    assert {r.path for r in env.q(prefixes=("/",), content=True, literals=("zebra",))} == {ALICE}
    assert {r.path for r in env.q(prefixes=("/",), listing=True)} == {ALICE}
    assert {h.path for h in env.store.search("zebra")} == {ALICE}
    if env.kind == "embedded":
        env.store._db.execute("INSERT INTO sessions_fts(sessions_fts) VALUES ('integrity-check')")


# other clients -------------------------------------------------------------------------------------
def test_rows_written_by_another_client_are_read(env):
    """Rows inserted with plain SQL by another client (their key order, pretty-printed JSON on the
    embedded store, only some columns) are listed, read on one line each and narrowed."""
    message = {"type": "user_message", "content": "from OTHER client", "zz": [1, 2], "id": "o1", "session_id": "o"}
    pretty = json.dumps(message, indent=2)
    path = "/sessions/olga/olga_acme_default_o.jsonl"
    if env.kind == "embedded":
        env.raw(
            "INSERT INTO sessions (id, path, message, creation_date) VALUES "
            f"('o1', '{path}', '{pretty}', '2026-02-01T00:00:00Z')"
        )
        env.raw(
            "INSERT INTO sessions (id, path, message, creation_date) VALUES "
            f"('o2', '{path}', '{{\"content\": \"second\"}}', '2026-02-02T00:00:00Z')"
        )
    else:
        env.raw(
            "INSERT INTO sessions (id, path, message, creation_date) VALUES "
            f"('o1', '{path}', '{pretty}'::jsonb, '2026-02-01T00:00:00Z')"
        )
        env.raw(
            "INSERT INTO sessions (id, path, message, creation_date) VALUES "
            f"('o2', '{path}', '{{\"content\": \"second\"}}'::jsonb, '2026-02-02T00:00:00Z')"
        )
    assert {r.path for r in env.q(prefixes=("/",), listing=True)} == {path}
    got = env.q(prefixes=(path,), content=True)
    assert [json.loads(r.text) for r in got] == [message, {"content": "second"}]
    assert all("\n" not in r.text for r in got)
    assert set(lines(env.q(prefixes=("/",), content=True, literals=("other client",)))) == {1}
    [session] = [r for r in env.q(index=True) if r.kind == SESSION]
    assert (session.path, session.text, session.author) == (path, "from OTHER client", "")
    assert session.date == "2026-02-02T00:00:00Z"


# search ----------------------------------------------------------------------------------------------
def test_search_ranks_lines_notes_and_skills_and_filters(env):
    """search: best first across session lines, notes and skills; user/project keep that
    author/project; line numbers are the lines' own; no match -> []."""
    env.store.append_session_rows(
        [
            srow(ALICE, 1, "hello"),
            srow(ALICE, 2, "postgres vacuum postgres tuning postgres"),
            srow(ALICE, 3, "a very long line " * 30 + "postgres"),
            srow(BOB, 1, "postgres for bob", author="bob", project="other"),
        ]
        + [srow(f"/sessions/f/f_{i}.jsonl", 1, f"filler {i}") for i in range(10)]
    )
    env.store.insert_note(
        NoteRow(id="n", path="/notes/pg.md", text="postgres notes", author="alice", project="acme", date=stamp(1))
    )
    env.store.insert_skill(
        SkillRow(
            id="k",
            name="pg",
            author="carol",
            body="postgres skill body",
            scope="team",
            project="acme",
            created_at="2026-01-01",
        )
    )
    hits = env.store.search("postgres", limit=10)
    by_path = {(h.path, h.line): h for h in hits}
    assert set(by_path) == {(ALICE, 2), (ALICE, 3), (BOB, 1), ("/notes/pg.md", 0), ("/skills/pg--carol/SKILL.md", 0)}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True) and hits[-1].score > 0
    assert by_path[(ALICE, 2)].score > by_path[(ALICE, 3)].score
    assert "postgres" in by_path[(ALICE, 3)].text and len(by_path[(ALICE, 3)].text) <= 210
    assert by_path[("/notes/pg.md", 0)].extra == {"kind": "note", "source": "postgres notes"}
    assert len(env.store.search("postgres", limit=2)) == 2
    assert {h.path for h in env.store.search("postgres", user="bob")} == {BOB}
    assert {h.path for h in env.store.search("postgres", project="acme")} == {
        ALICE,
        "/notes/pg.md",
        "/skills/pg--carol/SKILL.md",
    }
    assert env.store.search("nowhere-to-be-found") == [] and env.store.search("   ") == []


def test_deeplake_search_falls_back_to_ilike_once_then_one_request(dl):
    """The stand-in has no ``<#>``: the first search tries BM25 (the refusal is not retried),
    falls back to ILIKE and writes the marker; the next search is one ILIKE request."""
    env = dl
    env.store.append_session_rows([srow(ALICE, 1, "find the walrus")])
    env.reset()
    assert [h.path for h in env.store.search("walrus")] == [ALICE]
    sent = env.standin.queries()
    assert [q for q in sent if "<#>" in q] == [sent[2]] and len(sent) == 4  # 2 CREATE INDEX, <#>, ILIKE
    assert "ILIKE" in sent[-1]
    assert env.store._search_marker().read_text().strip() == "ilike"
    env.reset()
    assert [(h.path, h.line) for h in env.store.search("WALRUS")] == [(ALICE, 1)]
    assert env.requests() == 1 and "<#>" not in env.standin.queries()[0]


def test_deeplake_search_uses_the_bm25_operator_when_the_service_has_it(dl):
    """With a ``<#>`` operator in the database (a stand-in for the service's BM25), search ranks
    with it in one request and never falls back."""
    env = dl
    env.raw(
        "CREATE FUNCTION fake_bm25(a text, b text) RETURNS float8 LANGUAGE sql IMMUTABLE AS "
        "$$ SELECT (length(lower(a)) - length(replace(lower(a), lower(b), '')))::float8 "
        "/ greatest(length(b), 1) / length(a) * 100 $$"
    )
    env.raw("CREATE OPERATOR <#> (LEFTARG = text, RIGHTARG = text, FUNCTION = fake_bm25)")
    env.store.append_session_rows([srow(ALICE, 1, "orca"), srow(ALICE, 2, "orca orca orca"), srow(ALICE, 3, "none")])
    hits = env.store.search("orca")
    assert [(h.path, h.line) for h in hits] == [(ALICE, 2), (ALICE, 1)]
    assert env.store._search_marker().read_text().strip() == "bm25"
    env.reset()
    env.store.search("orca")
    assert env.requests() == 1 and "<#>" in env.standin.queries()[0]


# embedded: the FTS index and its migration -----------------------------------------------------------
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT NOT NULL DEFAULT '', path TEXT NOT NULL DEFAULT '', filename TEXT NOT NULL DEFAULT '',
    message TEXT, message_embedding TEXT, author TEXT NOT NULL DEFAULT '',
    mime_type TEXT NOT NULL DEFAULT 'application/json', size_bytes INTEGER NOT NULL DEFAULT 0,
    project TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '', agent TEXT NOT NULL DEFAULT '',
    plugin_version TEXT NOT NULL DEFAULT '', creation_date TEXT NOT NULL DEFAULT '',
    last_update_date TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS sessions_path ON sessions (path, creation_date);
CREATE UNIQUE INDEX IF NOT EXISTS sessions_id ON sessions (id);
CREATE TABLE IF NOT EXISTS skills (
    id TEXT NOT NULL DEFAULT '', name TEXT NOT NULL DEFAULT '', project TEXT NOT NULL DEFAULT '',
    project_key TEXT NOT NULL DEFAULT '', local_path TEXT NOT NULL DEFAULT '',
    install TEXT NOT NULL DEFAULT 'global', source_sessions TEXT NOT NULL DEFAULT '[]',
    source_agent TEXT NOT NULL DEFAULT '', scope TEXT NOT NULL DEFAULT 'me', author TEXT NOT NULL DEFAULT '',
    contributors TEXT NOT NULL DEFAULT '[]', description TEXT NOT NULL DEFAULT '',
    trigger_text TEXT NOT NULL DEFAULT '', body TEXT NOT NULL DEFAULT '', version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL DEFAULT '', updated_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS skills_name_author ON skills (name, author, version);
"""


def old_store(path, n: int = 200) -> None:
    """A store file as lakeloop made it before the memory path (no search index), with ``n`` rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path))
    db.executescript(OLD_SCHEMA)
    for i in range(n):
        content = f"old row {i} " + ("gnu" if i % 7 == 0 else "")
        message = json.dumps({"id": f"r{i}", "type": "user_message", "content": content})
        db.execute(
            "INSERT INTO sessions (id, path, message, creation_date) VALUES (?, ?, ?, ?)",
            (f"r{i}", f"/sessions/old/s{i % 10}.jsonl", message, stamp(i)),
        )
    db.commit()
    db.close()


def test_old_store_file_is_migrated_on_open_and_its_rows_indexed(tmp_path, monkeypatch):
    """A file without the memory table and FTS index gets both on open, the index rebuilt from
    the existing rows; the next open costs one check and does not migrate again."""
    path = tmp_path / "old" / "store.sqlite3"
    old_store(path)
    store = EmbeddedStore(path)
    assert store.fts and store._run("PRAGMA user_version")[0][0] == SCHEMA_VERSION
    got = store.memory_query(MemoryQuery(prefixes=("/",), content=True, literals=("gnu",)))
    assert len(got) == len([i for i in range(200) if i % 7 == 0])
    store._db.execute("INSERT INTO sessions_fts(sessions_fts) VALUES ('integrity-check')")
    names = {r[0] for r in store._run("SELECT name FROM sqlite_master")}
    assert {"memory", "memory_id", "sessions_path_order", "sessions_fts_ai", "sessions_fts_ad"} <= names
    assert "sessions_path" not in names
    store.close()
    monkeypatch.setattr(EmbeddedStore, "_migrate", lambda self: pytest.fail("migrated twice"))
    EmbeddedStore(path).close()


def test_concurrent_opens_of_an_old_file_migrate_it_once(tmp_path):
    """Four processes open the same old file at once: all succeed and the index holds each row once."""
    path = tmp_path / "old" / "store.sqlite3"
    old_store(path, n=3000)
    code = (
        "import sys; sys.stdin.readline(); from pathlib import Path; "
        "from lakeloop.store.embedded import EmbeddedStore; "
        "from lakeloop.store.memory_types import MemoryQuery; "
        f"s = EmbeddedStore(Path({str(path)!r})); "
        "print(len(s.memory_query(MemoryQuery(prefixes=('/',), content=True, literals=('gnu',)))))"
    )
    outs = run_together(code, [[] for _ in range(4)])
    assert {o.strip() for o in outs} == {str(len(range(0, 3000, 7)))}
    db = sqlite3.connect(str(path))
    db.execute("INSERT INTO sessions_fts(sessions_fts) VALUES ('integrity-check')")
    assert db.execute("SELECT COUNT(*) FROM sessions_fts_docsize").fetchone()[0] == 3000
    assert db.execute("SELECT COUNT(*) FROM sessions_fts WHERE sessions_fts MATCH '\"gnu\"'").fetchone()[0] == 429


def test_embedded_without_fts_scans(tmp_path):
    """A store whose SQLite has no FTS index (fts False) answers the same by scanning."""
    store = EmbeddedStore(tmp_path / "s.sqlite3")
    store.append_session_rows([srow(ALICE, 1, "alpha"), srow(ALICE, 2, "beta alpha alpha"), srow(ALICE, 3, "gamma")])
    with_fts = store.memory_query(MemoryQuery(prefixes=("/",), content=True, literals=("alpha",), rank=True))
    store.fts = False
    scanned = store.memory_query(MemoryQuery(prefixes=("/",), content=True, literals=("alpha",), rank=True))
    assert [(r.line, r.text) for r in scanned] == [(r.line, r.text) for r in with_fts] and len(scanned) == 2
    assert scanned[1].score > scanned[0].score > 0


def test_fts_literal_quotes_are_data(tmp_path):
    """A literal with FTS5 syntax in it (quotes, OR, NEAR, *) is matched as plain text."""
    store = EmbeddedStore(tmp_path / "s.sqlite3")
    store.append_session_rows([srow(ALICE, 1, 'say "hi" OR NEAR(x*)'), srow(ALICE, 2, "hi there")])
    for literal in ('\\"hi\\"', "OR NEAR(", "x*)"):  # the line is JSON text: its quotes are escaped
        got = store.memory_query(MemoryQuery(prefixes=("/",), content=True, literals=(literal,)))
        assert [r.line for r in got] == [1], literal
    assert [h.line for h in store.search('"hi" NEAR(x*)')] == [1]


_ALPHABET = 'abAB_%"\\ é'


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    texts=st.lists(st.text(alphabet=_ALPHABET, max_size=10), min_size=1, max_size=8),
    literal=st.text(alphabet=_ALPHABET, min_size=3, max_size=4),
    before=st.integers(0, 2),
    after=st.integers(0, 2),
)
def test_narrowing_returns_exactly_the_matching_lines_and_their_context(env, texts, literal, before, after):
    """Property: a narrowed read returns every line whose text contains the literal (ASCII
    case-insensitively) plus its context, each with the text of that line in the whole file;
    with these texts (no non-ASCII case pairs) nothing else."""
    env.raw("DELETE FROM sessions")
    env.store.append_session_rows([srow(ALICE, i + 1, t) for i, t in enumerate(texts)])
    whole = {r.line: r.text for r in env.q(prefixes=(ALICE,), content=True)}

    def fold(s):
        return s.translate({c: c + 32 for c in range(65, 91)})

    hit = {n for n, t in whole.items() if fold(literal) in fold(t)}
    want = {n for n in whole if any(c - before <= n <= c + after for c in hit)}
    got = env.q(prefixes=("/sessions/",), content=True, literals=(literal,), context=(before, after), rank=True)
    assert {r.line: r.text for r in got} == {n: whole[n] for n in want}
    assert {r.line for r in got if r.score > 0} == hit


# limit and matcher (bounded memory for common words and regexes no index narrows) -------------------
def test_limit_returns_the_first_lines_by_path_and_line(env):
    env.store.append_session_rows(
        [srow(ALICE, i, f"common word {i}") for i in range(1, 31)]
        + [srow(BOB, i, f"common word {i}", author="bob") for i in range(1, 31)]
    )
    got = [r for r in env.q(prefixes=("/sessions/",), content=True, literals=("common",), limit=7) if r.kind == LINE]
    first = sorted({r.path for r in got})
    assert len(got) == 7 and len(first) == 1 and sorted(r.line for r in got) == list(range(1, 8))
    ranked = [
        r
        for r in env.q(prefixes=("/sessions/",), content=True, literals=("common",), rank=True, limit=5)
        if r.kind == LINE
    ]
    assert len(ranked) == 5


def test_matcher_narrows_inside_the_embedded_store_and_deeplake_is_bounded_by_limit(env):
    texts = ["alpha", "beta x7y", "gamma", "delta x9y", "eps"]
    env.store.append_session_rows([srow(ALICE, i + 1, t) for i, t in enumerate(texts)])
    import re

    seen = []

    def matcher(line: str) -> bool:
        seen.append(line)
        return re.search(r"x[0-9]y", line) is not None

    got = env.q(prefixes=("/sessions/",), content=True, matcher=matcher, context=(0, 1), limit=100)
    numbered = lines(got)
    if env.kind == "embedded":  # evaluated by SQLite: only the selected lines and their context
        assert set(numbered) == {2, 3, 4, 5} and seen
    else:  # Deeplake cannot run it: every line (a superset), bounded by the limit
        assert set(numbered) == {1, 2, 3, 4, 5} and not seen
    assert all(json.loads(r.text)["content"] == texts[r.line - 1] for r in got if r.kind == LINE)
