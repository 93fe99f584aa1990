"""Deeplake rules checked through the store and the shared client, not only through the client's flags.

* A 401, or a 403 with an empty or HTML body, is retried on a session insert made through
  ``DeeplakeStore.append_session_row``; a skill insert with the same answer is not retried
  (respx at the network edge, sleep and jitter injected).
* A table or column dropped behind the store's back, after the machine's schema marker was
  written, is healed by the next read or insert, which then succeeds (the PostgreSQL stand-in).

The shared client's timeouts, read through configuration, are in tests/deeplake/test_client_timeouts.py.
"""

from __future__ import annotations

import json

import httpx
import psycopg
import pytest
import respx

from lakeloop.capture.rows import build_message, session_row
from lakeloop.deeplake.client import DeeplakeClient
from lakeloop.deeplake.credentials import Credentials
from lakeloop.errors import AuthError
from lakeloop.identity import Identity
from lakeloop.store.base import SkillRow
from lakeloop.store.deeplake import SCHEMAS, DeeplakeStore

API = "https://api.deeplake.test"
WS = "ws_gaps"
QUERY_URL = f"{API}/workspaces/{WS}/tables/query"
FIRST_BACKOFF = 0.5 + 0.5 * 0.2  # base 0.5 s + rand() 0.5 x 0.2 s jitter
SCHEMA_ANSWER = {
    "columns": ["table_name", "column_name"],
    "rows": [[table, column] for table, cols in SCHEMAS.items() for column, _ in cols],
}


def creds() -> Credentials:
    return Credentials(token="tok-gaps-0123456789", org_id="org-gaps", workspace=WS, api_url=API)


def a_session_row(text: str = "migrate the db"):
    message = build_message(
        {"hook_event_name": "UserPromptSubmit", "session_id": "s-gaps", "prompt": text, "cwd": "/w/p"}
    )
    return session_row(message, Identity("tester"))


def a_skill_row() -> SkillRow:
    return SkillRow(
        id="sk-1",
        name="db-migrate",
        author="alice",
        body="# v2",
        version=2,
        created_at="2026-01-02T00:00:00Z",
        contributors=["alice"],
    )


class Edge:
    """The network edge: the schema lookup answers the full schema (so no DDL runs), an INSERT
    gets the next scripted answer (the last one repeats), anything else answers no rows."""

    def __init__(self, *insert_answers: httpx.Response) -> None:
        self.insert_answers = list(insert_answers)
        self.statements: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        statement = json.loads(request.content)["query"]
        self.statements.append(statement)
        if "information_schema" in statement:
            return httpx.Response(200, json=SCHEMA_ANSWER)
        if statement.lstrip().upper().startswith("INSERT"):
            return self.insert_answers.pop(0) if len(self.insert_answers) > 1 else self.insert_answers[0]
        return httpx.Response(200, json={"columns": ["id"], "rows": [], "row_count": 0})

    def inserts(self, table: str) -> list[str]:
        return [s for s in self.statements if s.lstrip().startswith(f'INSERT INTO "{table}"')]


def store_at_the_edge(edge: Edge, router) -> tuple[DeeplakeStore, list[float]]:
    router.post(QUERY_URL).mock(side_effect=edge)
    sleeps: list[float] = []
    return DeeplakeStore(DeeplakeClient(creds(), sleep=sleeps.append, rand=lambda: 0.5)), sleeps


@pytest.fixture
def router():
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as mock:
        yield mock


AUTH_BLIPS = [
    httpx.Response(401, json={"error": "token expired"}),
    httpx.Response(403),
    httpx.Response(403, text="  \n"),
    httpx.Response(403, html="<!DOCTYPE html><html><body>Access denied by the CDN</body></html>"),
]
AUTH_BLIP_IDS = ["401", "403-empty", "403-blank", "403-html"]


@pytest.mark.parametrize("blip", AUTH_BLIPS, ids=AUTH_BLIP_IDS)
def test_session_insert_through_the_store_retries_401_and_empty_or_html_403(router, blip):
    """append_session_row: the INSERT answered 401 (or a 403 with an empty or HTML body) once is
    sent again after one backoff, and the row is stored."""
    edge = Edge(blip, httpx.Response(200, json={"row_count": 1}))
    store, sleeps = store_at_the_edge(edge, router)
    row = a_session_row()
    store.append_session_row(row)
    inserts = edge.inserts("sessions")
    assert len(inserts) == 2 and inserts[0] == inserts[1] and row.id in inserts[1]
    assert sleeps == pytest.approx([FIRST_BACKOFF])


def test_session_insert_through_the_store_does_not_retry_a_403_from_the_api(router):
    """A 403 with a JSON body is the API refusing: AuthError at once, even on a session insert."""
    edge = Edge(httpx.Response(403, json={"error": "no access to workspace"}))
    store, sleeps = store_at_the_edge(edge, router)
    with pytest.raises(AuthError):
        store.append_session_row(a_session_row())
    assert len(edge.inserts("sessions")) == 1 and sleeps == []


@pytest.mark.parametrize("blip", AUTH_BLIPS, ids=AUTH_BLIP_IDS)
def test_skill_insert_with_401_or_empty_or_html_403_is_not_retried(router, blip):
    """insert_skill is not a session insert: the same 401 / 403 raises AuthError after one request,
    with no backoff."""
    edge = Edge(blip, httpx.Response(200, json={"row_count": 1}))
    store, sleeps = store_at_the_edge(edge, router)
    with pytest.raises(AuthError) as info:
        store.insert_skill(a_skill_row())
    assert info.value.status == blip.status_code
    assert len(edge.inserts("skills")) == 1 and sleeps == []


# -- healing on the PostgreSQL stand-in --------------------------------------------------------


def standin_store(standin) -> DeeplakeStore:
    standin_creds = Credentials(
        token=standin.token, org_id=standin.org_id, workspace=standin.workspace, api_url=standin.base_url
    )
    return DeeplakeStore(DeeplakeClient(standin_creds, sleep=lambda s: None))


def in_postgres(standin, statement: str) -> None:
    """Run ``statement`` straight in the stand-in's database (behind the API and the store)."""
    with psycopg.connect(standin.dsn, autocommit=True) as conn:
        conn.execute(statement)


def healed_once(standin) -> DeeplakeStore:
    """The tables exist and this machine's schema marker is written, as after a first hook run."""
    store = standin_store(standin)
    store.ensure_tables()
    assert store._marker().exists()
    return store


def columns_of(standin, table: str) -> list[str]:
    with psycopg.connect(standin.dsn, autocommit=True) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
                (table,),
            )
        ]


def test_a_dropped_column_is_healed_by_the_next_session_insert(deeplake):
    """sessions.plugin_version is dropped in PostgreSQL after the marker was written: a later
    process's insert fails on the missing column, heals it (ADD COLUMN) and is stored."""
    healed_once(deeplake)
    in_postgres(deeplake, 'ALTER TABLE "sessions" DROP COLUMN "plugin_version"')
    store = standin_store(deeplake)  # a later process: the marker says the schema is fine
    deeplake.reset_counters()
    row = a_session_row()
    store.append_session_row(row)
    assert "plugin_version" in columns_of(deeplake, "sessions")
    [back] = store.session_rows(row.path)
    assert back.id == row.id and back.plugin_version == row.plugin_version and back.message == row.message
    statuses = [(r.sql or "")[:30] for r in deeplake.requests if r.status == 500]
    assert statuses and statuses[0].startswith("INSERT INTO"), "the insert met the missing column first"
    assert any('ADD COLUMN "plugin_version"' in q for q in deeplake.queries())


def test_a_dropped_sessions_table_is_healed_by_the_next_read_and_insert(deeplake):
    """The sessions table is dropped in PostgreSQL after the marker was written: a later process's
    read heals it (CREATE TABLE) and answers no rows; its insert is then stored."""
    healed_once(deeplake)
    in_postgres(deeplake, 'DROP TABLE "sessions"')
    store = standin_store(deeplake)
    row = a_session_row()
    assert store.session_rows(row.path) == []
    assert columns_of(deeplake, "sessions") == [c for c, _ in SCHEMAS["sessions"]]
    store.append_session_row(row)
    assert [r.id for r in store.session_rows(row.path)] == [row.id]


def test_a_dropped_sessions_table_is_healed_by_an_insert(deeplake):
    """Same, when the first statement after the drop is the insert itself."""
    healed_once(deeplake)
    in_postgres(deeplake, 'DROP TABLE "sessions"')
    store = standin_store(deeplake)
    row = a_session_row()
    store.append_session_row(row)
    assert [r.id for r in store.session_rows(row.path)] == [row.id]


def test_a_dropped_skills_table_is_healed_by_the_next_skill_insert(deeplake):
    """The skills table is dropped after the marker was written: insert_skill heals it and the
    version is stored and read back."""
    healed_once(deeplake)
    in_postgres(deeplake, 'DROP TABLE "skills"')
    store = standin_store(deeplake)
    store.insert_skill(a_skill_row())
    current = store.current_skill("db-migrate", "alice")
    assert current is not None and (current.version, current.body) == (2, "# v2")
