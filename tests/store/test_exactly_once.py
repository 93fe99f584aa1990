"""Exactly once on Deeplake: a batched INSERT is never retried blindly once it may have been applied;
only an insert whose outcome is unknown (or a batch marked unsure) is followed by one lookup of its
ids, and only the missing rows are sent again. Readers drop repeated ids.

The client's branches are reached with respx at the network edge (injected sleep); the end-to-end
cases run on the PostgreSQL stand-in, which commits the insert and then answers 500 or drops the
connection. The embedded store's own guarantee (a unique id) is tested here too.
"""

from __future__ import annotations

import json
import sqlite3
import time

import httpx
import pytest
import respx

from lakeloop import paths
from lakeloop.deeplake.client import DeeplakeClient
from lakeloop.deeplake.credentials import Credentials
from lakeloop.errors import OutcomeUnknown
from lakeloop.store.deeplake import DeeplakeStore
from lakeloop.store.embedded import EmbeddedStore
from tests.support.stores import stop_rows
from tests.support.waiting import wait_until

API = "https://api.example.test"
QUERY = f"{API}/workspaces/default/tables/query"


def respx_store() -> tuple[DeeplakeStore, list[float]]:
    sleeps: list[float] = []
    client = DeeplakeClient(
        Credentials(token="t", org_id="o", workspace="default", api_url=API), sleep=sleeps.append, rand=lambda: 0.0
    )
    store = DeeplakeStore(client, visibility_wait_s=5.0)
    store._healed = True  # schema healing is tested elsewhere; here only the insert path
    return store, sleeps


def sql_of(call) -> str:
    return json.loads(call.request.content)["query"]


def kinds(route) -> list[str]:
    return ["INSERT" if sql_of(c).startswith("INSERT") else "SELECT" for c in route.calls]


@pytest.fixture
def api():
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield router


def test_normal_path_is_one_insert_with_no_lookup(api):
    """A batch of rows is one multi-row INSERT; nothing else is sent (seed 002: every query costs)."""
    route = api.post(QUERY).mock(return_value=httpx.Response(200, json={"row_count": 3}))
    store, _ = respx_store()
    store.append_session_rows(stop_rows(3))
    assert kinds(route) == ["INSERT"]
    assert sql_of(route.calls[0]).count("::jsonb") == 3


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_after_an_insert_is_looked_up_not_resent_when_applied(api, status):
    """A 5xx answer to an INSERT: no blind retry; one SELECT finds the ids, nothing is re-sent."""
    route = api.post(QUERY).mock(
        side_effect=[
            httpx.Response(status, json={"error": "boom"}),
            httpx.Response(200, json={"columns": ["id"], "rows": [["e0"], ["e1"]], "row_count": 2}),
        ]
    )
    store, sleeps = respx_store()
    store.append_session_rows(stop_rows(2))
    assert kinds(route) == ["INSERT", "SELECT"]
    lookup = sql_of(route.calls[1])
    assert "path IN" in lookup and "id IN (E'e0', E'e1')" in lookup
    assert sleeps == [5.0, 0.5]  # the visibility lag is waited out before the lookup, then the backoff


def test_only_missing_rows_are_sent_again(api):
    """Outcome unknown, the lookup finds one of three ids: the other two are sent again."""
    route = api.post(QUERY).mock(
        side_effect=[
            httpx.ReadTimeout("timed out after sending"),
            httpx.Response(200, json={"columns": ["id"], "rows": [["e1"]], "row_count": 1}),
            httpx.Response(200, json={"row_count": 2}),
        ]
    )
    store, _ = respx_store()
    store.append_session_rows(stop_rows(3))
    assert kinds(route) == ["INSERT", "SELECT", "INSERT"]
    resent = sql_of(route.calls[2])
    assert "E'e0'" in resent and "E'e2'" in resent and "E'e1'" not in resent


def test_connect_failure_and_429_are_retried_as_usual(api):
    """Nothing was applied (the connection never opened; a 429 is refused before running): plain
    retries, no lookup."""
    route = api.post(QUERY).mock(
        side_effect=[
            httpx.ConnectError("refused"),
            httpx.Response(429, json={}),
            httpx.Response(200, json={"row_count": 1}),
        ]
    )
    store, _ = respx_store()
    store.append_session_rows(stop_rows(1))
    assert kinds(route) == ["INSERT", "INSERT", "INSERT"]


def test_unsure_batch_is_looked_up_before_the_insert(api):
    """Entries a dead drainer may have sent (marked u) are looked up first, once the visibility lag
    is waited out; none present: one INSERT."""
    route = api.post(QUERY).mock(
        side_effect=[
            httpx.Response(200, json={"columns": ["id"], "rows": [], "row_count": 0}),
            httpx.Response(200, json={"row_count": 2}),
        ]
    )
    store, sleeps = respx_store()
    store.append_session_rows(stop_rows(2), unsure=True)
    assert kinds(route) == ["SELECT", "INSERT"] and sleeps == [5.0]


def test_unsure_batch_already_stored_sends_nothing(api):
    route = api.post(QUERY).mock(
        return_value=httpx.Response(200, json={"columns": ["id"], "rows": [["e0"], ["e1"]], "row_count": 2})
    )
    store, _ = respx_store()
    store.append_session_rows(stop_rows(2), unsure=True)
    assert kinds(route) == ["SELECT"]


def test_outcome_unknown_every_round_raises_after_the_retry_budget(api):
    """Still unknown after 3 lookups and re-sends: OutcomeUnknown reaches the drainer (which keeps the
    entries marked for a lookup)."""
    answers = []
    for _ in range(4):
        answers += [httpx.Response(503, json={}), httpx.Response(200, json={"columns": ["id"], "rows": []})]
    route = api.post(QUERY).mock(side_effect=answers[:-1])
    store, sleeps = respx_store()
    with pytest.raises(OutcomeUnknown):
        store.append_session_rows(stop_rows(1))
    assert kinds(route) == ["INSERT", "SELECT"] * 3 + ["INSERT"]
    assert sleeps == [5.0, 0.5, 5.0, 1.0, 5.0, 2.0]


# -- on the PostgreSQL stand-in --------------------------------------------------------------------


def standin_store(standin) -> DeeplakeStore:
    creds = Credentials(
        token=standin.token, org_id=standin.org_id, workspace=standin.workspace, api_url=standin.base_url
    )
    return DeeplakeStore(DeeplakeClient(creds, sleep=lambda s: None))


def count(standin, store) -> tuple[int, int]:
    found = store.client.query("SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM sessions")
    return int(found[0]["n"]), int(found[0]["d"])


@pytest.mark.parametrize("fault", ["after_commit_fail_sequence", "after_commit_drop_sequence"])
def test_commit_then_failure_stores_exactly_one_row(deeplake, fault):
    """The service commits the INSERT (visible 1 s later), then answers 500 (or drops the connection):
    exactly one row per event, after one lookup made once the lag is waited out."""
    store = standin_store(deeplake)
    store.visibility_wait_s = 1.5
    store.client._sleep = time.sleep  # a real wait: the stand-in's lag is real time
    store.ensure_tables()
    deeplake.configure(**{fault: [True]}, visibility_lag_s=1.0)
    store.append_session_rows(stop_rows(5))
    assert deeplake.inserts_committed == 1
    deeplake.configure(visibility_lag_s=0.0)
    wait_until(lambda: count(deeplake, store)[0] == 5, 10, "the committed rows")
    assert count(deeplake, store) == (5, 5)
    inserts = [q for q in deeplake.queries() if q.startswith('INSERT INTO "sessions"')]
    assert len(inserts) == 1


def test_drainer_death_mid_batch_is_looked_up_on_the_standin(deeplake):
    """A batch sent by a drainer that died before deleting its entries is sent again marked unsure:
    still one row per event."""
    store = standin_store(deeplake)
    batch = stop_rows(4)
    store.append_session_rows(batch)
    store.append_session_rows(batch, unsure=True)
    assert count(deeplake, store) == (4, 4)


def test_readers_ignore_a_repeated_id(deeplake):
    """Two copies of one event (the visibility lag let a re-send through): session_rows and
    list_sessions count it once."""
    store = standin_store(deeplake)
    batch = stop_rows(3)
    store.append_session_rows(batch)
    store.append_session_rows(batch[:1])  # a second copy of e0, as another client might write
    assert count(deeplake, store) == (4, 3)
    got = store.session_rows(batch[0].path)
    assert [r.id for r in got] == ["e0", "e1", "e2"]
    (listed,) = store.list_sessions()
    assert listed["rows"] == 3 and listed["types"] == {"assistant_message": 3}


# -- the embedded store ------------------------------------------------------------------------------


def test_embedded_store_ignores_a_repeated_id():
    store = EmbeddedStore(paths.store_file())
    batch = stop_rows(3)
    store.append_session_rows(batch)
    store.append_session_rows(batch, unsure=True)
    store.append_session_row(batch[0])
    assert len(store._run("SELECT id FROM sessions")) == 3
    assert [r.id for r in store.session_rows(batch[0].path)] == ["e0", "e1", "e2"]


def test_embedded_store_of_an_older_version_gets_unique_ids_on_open():
    """A store file written before ids were unique (repeated ids possible) is de-duplicated once and
    indexed, keeping the first copy."""
    path = paths.store_file()
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE sessions (id TEXT, path TEXT, filename TEXT, message TEXT, message_embedding TEXT, "
        "author TEXT, mime_type TEXT, size_bytes INTEGER, project TEXT, description TEXT, agent TEXT, "
        "plugin_version TEXT, creation_date TEXT, last_update_date TEXT)"
    )
    for rid, text in (("a", "first"), ("a", "second"), ("b", "other")):
        db.execute(
            "INSERT INTO sessions (id, path, message, creation_date) VALUES (?, '/p', ?, '1')",
            (rid, json.dumps({"type": "user_message", "content": text})),
        )
    db.commit()
    db.close()
    store = EmbeddedStore(path)
    got = [(r.id, r.message["content"]) for r in store.session_rows("/p")]
    assert got == [("a", "first"), ("b", "other")]
    with pytest.raises(sqlite3.IntegrityError):
        store._db.execute("INSERT INTO sessions (id) VALUES ('a')")
