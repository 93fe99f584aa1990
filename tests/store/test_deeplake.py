"""DeeplakeStore on the stand-in (real PostgreSQL): schema, healing, interop, ordering, hostile values."""

from __future__ import annotations

import json

import pytest

from lakeloop.capture.rows import build_message, session_row
from lakeloop.deeplake.client import DeeplakeClient
from lakeloop.deeplake.credentials import Credentials
from lakeloop.identity import Identity
from lakeloop.store.base import SkillRow
from lakeloop.store.deeplake import SCHEMAS, DeeplakeStore
from tests.support.payloads import recorded_payloads


def make_store(standin, **kw) -> DeeplakeStore:
    creds = Credentials(
        token=standin.token, org_id=standin.org_id, workspace=standin.workspace, api_url=standin.base_url
    )
    return DeeplakeStore(DeeplakeClient(creds, sleep=lambda s: None, **kw))


def columns(standin, table: str) -> list[str]:
    store = make_store(standin)
    rows = store.client.query(
        f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}' ORDER BY ordinal_position"
    )
    return [r["column_name"] for r in rows]


def test_tables_created_using_deeplake_with_the_reference_schemas(deeplake):
    """First use creates sessions, skills and memory USING deeplake with docs/deeplake-store.md's columns."""
    store = make_store(deeplake)
    statements = store.ensure_tables()
    assert len(statements) == 3 and all(s.endswith("USING deeplake") for s in statements)
    for table, cols in SCHEMAS.items():
        assert columns(deeplake, table) == [c for c, _ in cols]
    assert store.ensure_tables() == []  # once per machine (marker file)


def test_healing_adds_only_missing_columns(deeplake):
    """A sessions table from an older client missing two columns: one information_schema SELECT,
    then ADD COLUMN for just those two; nothing else is touched."""
    store = make_store(deeplake)
    store.client.query(
        'CREATE TABLE "sessions" (id TEXT, path TEXT, filename TEXT, message JSONB, '
        "author TEXT, mime_type TEXT, size_bytes BIGINT, project TEXT, description TEXT, "
        "agent TEXT, creation_date TEXT, last_update_date TEXT) USING deeplake"
    )
    deeplake.reset_counters()
    statements = store.ensure_tables()
    assert [s for s in statements if s.startswith('ALTER TABLE "sessions"')] == [
        'ALTER TABLE "sessions" ADD COLUMN "message_embedding" FLOAT4[]',
        'ALTER TABLE "sessions" ADD COLUMN "plugin_version" TEXT NOT NULL DEFAULT \'\'',
    ]
    selects = [q for q in deeplake.queries() if "information_schema" in q]
    assert len(selects) == 1


def test_session_rows_round_trip_and_interop(deeplake):
    """Rows lakeloop writes read back identically, and rows another client inserts with plain SQL
    in the same format are read like ours."""
    store = make_store(deeplake)
    ident = Identity("alice", org_name="acme", workspace="default")
    written = []
    for payload in recorded_payloads():
        message = build_message(payload)
        if message:
            row = session_row(message, ident)
            store.append_session_row(row)
            written.append(row)
    path = written[0].path
    assert path == "/sessions/alice/alice_acme_default_e8f2d602-bc51-4170-b4d4-df65e830a9f4.jsonl"
    read = store.session_rows(path)
    assert [r.message for r in read] == [r.message for r in written]
    assert [r.description for r in read] == [r.description for r in written]
    raw = store.client.query(
        "SELECT message->>'tool_input' AS ti FROM sessions WHERE message->>'type' = 'tool_call' "
        "AND message->>'tool_name' = 'Skill'"
    )
    assert json.loads(raw[0]["ti"]) == {"skill": "db-migrate--alice"}  # a JSON *string*, as the contract says
    other = {
        "id": "x1",
        "session_id": "other",
        "type": "user_message",
        "content": "from another client",
        "hook_event_name": "UserPromptSubmit",
        "timestamp": "2026-01-01T00:00:00.000Z",
    }
    store.client.query(
        "INSERT INTO sessions (id, path, filename, message, author, size_bytes, project, description, "
        "agent, plugin_version, creation_date, last_update_date) VALUES ('r1', '/sessions/bob/x.jsonl', "
        f"'x.jsonl', '{json.dumps(other)}'::jsonb, 'bob', 10, 'p', 'UserPromptSubmit', 'codex', '9', "
        "'2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')"
    )
    [theirs] = store.session_rows("/sessions/bob/x.jsonl")
    assert theirs.message["content"] == "from another client" and theirs.agent == "codex"
    assert store.session_rows(path, types=["assistant_message"])[0].message["content"].startswith("I ran")
    sessions = store.list_sessions()
    assert {s["session_id"] for s in sessions} == {"e8f2d602-bc51-4170-b4d4-df65e830a9f4", "other"}


def test_mentions_filter_uses_like_with_escape(deeplake):
    """``mentions`` keeps only tool calls whose message contains the text; % and _ are literal."""
    store = make_store(deeplake)
    ident = Identity("alice")
    for skill in ("a_b--x", "aXb--x", "100%--x"):
        store.append_session_row(
            session_row(
                build_message(
                    {
                        "hook_event_name": "PostToolUse",
                        "session_id": "s",
                        "tool_name": "Skill",
                        "tool_input": {"skill": skill},
                        "tool_response": {},
                        "tool_use_id": skill,
                    }
                ),
                ident,
            )
        )
    path = ident.session_path("s")
    assert [r.message["tool_use_id"] for r in store.session_rows(path, mentions="a_b--x")] == ["a_b--x"]
    assert [r.message["tool_use_id"] for r in store.session_rows(path, mentions="100%--x")] == ["100%--x"]
    assert any("ESCAPE '\\'" in q for q in deeplake.queries())


def test_current_skill_version_desc_then_first_created(deeplake):
    """The current version is the highest version; a tie (a publish race) goes to the row created
    first, whose loser re-publishes on top."""
    store = make_store(deeplake)
    for version, created, body in (
        (1, "2026-01-01T00:00:00Z", "v1"),
        (2, "2026-01-02T00:00:00Z", "v2-old"),
        (2, "2026-01-03T00:00:00Z", "v2-new"),
        (1, "2026-01-09T00:00:00Z", "v1-late"),
    ):
        store.insert_skill(
            SkillRow(
                id=body,
                name="db",
                author="alice",
                body=body,
                version=version,
                created_at=created,
                updated_at=created,
                contributors=["alice"],
            )
        )
    current = store.current_skill("db", "alice")
    assert (current.version, current.body, current.contributors) == (2, "v2-old", ["alice"])
    assert [(s.name, s.version, s.body) for s in store.latest_skills()] == [("db", 2, "v2-old")]
    assert store.current_skill("db", "nobody") is None


@pytest.mark.parametrize(
    "hostile",
    [
        "it's",
        "'; DROP TABLE sessions; --",
        "back\\slash",
        "100% _under_",
        "nul\x00byte",
        "ünïcødé ✓ 🚀",
        "E'\\x27",
        "$$dollar$$",
        "\\'",
        "line\nbreak\ttab",
    ],
)
def test_hostile_values_round_trip(deeplake, hostile):
    """SQL metacharacters in every value are stored and read back as text (NUL dropped), and the
    tables survive."""
    store = make_store(deeplake)
    message = build_message(
        {"hook_event_name": "UserPromptSubmit", "session_id": hostile, "prompt": hostile, "cwd": f"/w/{hostile}"}
    )
    row = session_row(message, Identity(hostile))
    store.append_session_row(row)
    [back] = store.session_rows(row.path)
    expected = hostile.replace("\x00", "")
    assert back.message["content"] == expected and back.message["session_id"] == expected
    assert back.author == expected
    store.insert_skill(SkillRow(id="s", name="n", author="a", body=hostile, created_at="t"))
    assert store.current_skill("n", "a").body == expected
    assert store.client.list_tables()
