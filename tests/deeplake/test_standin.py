"""The Deeplake stand-in itself: wire contract, visibility lag and injected failures."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from psycopg.conninfo import conninfo_to_dict

from tests.support.deeplake_standin import DeeplakeStandIn, Request
from tests.support.postgres import PostgresCluster, start_cluster

SESSIONS = (
    "CREATE TABLE IF NOT EXISTS \"sessions\" (id TEXT NOT NULL DEFAULT '', "
    "message JSONB, size_bytes BIGINT NOT NULL DEFAULT 0, "
    "embedding FLOAT4[], created TIMESTAMPTZ NOT NULL DEFAULT now()) USING deeplake"
)


@pytest.fixture(scope="module")
def cluster():
    """A cluster of this module's own (exercises PostgresCluster start and stop)."""
    pg = start_cluster()
    yield pg
    directory = pg.dir
    pg.stop()
    assert directory is not None and not directory.exists()


@pytest.fixture
def standin(cluster: PostgresCluster):
    """A running stand-in on a fresh database."""
    dsn = cluster.create_database()
    with DeeplakeStandIn(dsn) as server:
        yield server
    cluster.drop_database(conninfo_to_dict(dsn)["dbname"])


def client(server: DeeplakeStandIn, **headers: str) -> httpx.Client:
    auth = {"Authorization": f"Bearer {server.token}", "X-Activeloop-Org-Id": server.org_id}
    return httpx.Client(base_url=server.base_url, headers={**auth, **headers}, timeout=10)


def query(http: httpx.Client, sql: str, workspace: str = "default") -> httpx.Response:
    return http.post(f"/workspaces/{workspace}/tables/query", json={"query": sql})


def test_create_insert_select_round_trip(standin):
    with client(standin) as http:
        created = query(http, SESSIONS)
        assert created.status_code == 200 and created.json() == {"row_count": 0}
        inserted = query(
            http,
            "INSERT INTO sessions (id, message, size_bytes, embedding) VALUES "
            '(\'a\', \'{"type": "user_message", "n": [1, 2]}\'::jsonb, 7, '
            "'{0.5,1}'), (E'b\\'s', NULL, 8, NULL)",
        )
        assert inserted.json() == {"row_count": 2}
        got = query(
            http,
            "SELECT id, message, size_bytes, embedding, "
            "created AT TIME ZONE 'UTC' AS created FROM sessions "
            "WHERE id LIKE 'a%' OR id = E'b\\'s' ORDER BY id",
        )
        body = got.json()
        assert body["columns"] == ["id", "message", "size_bytes", "embedding", "created"]
        assert body["row_count"] == 2
        assert body["rows"][0][:4] == ["a", {"type": "user_message", "n": [1, 2]}, 7, [0.5, 1.0]]
        assert body["rows"][1][:4] == ["b's", None, 8, None]
        assert isinstance(body["rows"][0][4], str) and body["rows"][0][4][:2] == "20"
        tables = http.get("/workspaces/default/tables")
        assert tables.json() == {"tables": [{"table_name": "sessions"}]}
    assert {r.status for r in standin.requests} == {200}
    assert standin.connections == 1  # keep-alive: one connection served all of it


def test_sql_errors_answer_500_with_the_postgres_message(standin):
    with client(standin) as http:
        query(http, SESSIONS)
        duplicate = query(http, SESSIONS.replace(" IF NOT EXISTS", ""))
        assert duplicate.status_code == 500
        assert duplicate.json() == {"error": 'relation "sessions" already exists'}
        assert query(http, "SELEC 1").status_code == 500
        assert query(http, "SELECT 1 AS one").json()["rows"] == [[1]]  # connection still usable


def test_inserted_row_stays_invisible_for_the_lag(standin):
    standin.configure(visibility_lag_s=1.0)
    with client(standin) as http:
        query(http, SESSIONS)
        started = time.monotonic()
        assert query(http, "INSERT INTO sessions (id) VALUES ('late')").status_code == 200
        assert query(http, "SELECT id FROM sessions").json()["rows"] == []
        deadline = started + 10
        while query(http, "SELECT id FROM sessions").json()["rows"] != [["late"]]:
            assert time.monotonic() < deadline, "the row never became visible"
            time.sleep(0.05)
        assert time.monotonic() - started >= 1.0


def test_stop_commits_pending_inserts(cluster):
    dsn = cluster.create_database()
    with DeeplakeStandIn(dsn) as server, client(server) as http:
        query(http, SESSIONS)
        server.configure(visibility_lag_s=60)
        query(http, "INSERT INTO sessions (id) VALUES ('pending')")
    with DeeplakeStandIn(dsn) as server, client(server) as http:
        assert query(http, "SELECT id FROM sessions").json()["rows"] == [["pending"]]


def test_fail_sequence_then_normal(standin):
    standin.configure(fail_sequence=[503, 429, None, 500], retry_after="2")
    with client(standin) as http:
        answers = [query(http, "SELECT 1") for _ in range(5)]
    assert [a.status_code for a in answers] == [503, 429, 200, 500, 200]
    assert answers[0].headers["Retry-After"] == "2" and answers[1].headers["Retry-After"] == "2"
    assert "Retry-After" not in answers[3].headers
    assert answers[0].json() == {"error": "injected 503"}
    assert [r.status for r in standin.requests] == [503, 429, 200, 500, 200]
    assert standin.queries() == ["SELECT 1"] * 5


def test_html_403_body(standin):
    standin.configure(fail_sequence=[403], fail_body="<html><body>Forbidden</body></html>")
    with client(standin) as http:
        answer = query(http, "SELECT 1")
    assert answer.status_code == 403
    assert answer.headers["Content-Type"].startswith("text/html")
    assert answer.text == "<html><body>Forbidden</body></html>"


def test_fail_rate_is_seeded(standin):
    def statuses(seed: int) -> list[int]:
        standin.configure(seed=seed, fail_rate=0.5, fail_status=502)
        with client(standin) as http:
            return [query(http, "SELECT 1").status_code for _ in range(40)]

    first = statuses(7)
    assert set(first) == {200, 502}
    assert statuses(7) == first


def test_payment_required(standin):
    standin.configure(payment_required=True)
    with client(standin) as http:
        answer = query(http, "SELECT 1")
        assert answer.status_code == 402
        assert answer.json() == {"error": "Insufficient balance", "balance_cents": 0}
        assert http.get("/workspaces/default/tables").status_code == 402


def test_dropped_connection_is_a_transport_error(standin):
    standin.configure(drop_sequence=[True, False])
    with client(standin) as http:
        with pytest.raises(httpx.TransportError):
            query(http, "SELECT 1")
        assert query(http, "SELECT 1").status_code == 200
    assert standin.requests[0] == Request("POST", "/workspaces/default/tables/query", "SELECT 1", None)
    standin.configure(drop_rate=1.0)
    with client(standin) as http, pytest.raises(httpx.TransportError):
        http.get("/workspaces/default/tables")


def test_auth_and_workspace(standin):
    with httpx.Client(base_url=standin.base_url) as anonymous:
        answer = query(anonymous, "SELECT 1")
        assert answer.status_code == 401 and "error" in answer.json()
    with client(standin, Authorization="Bearer wrong") as http:
        assert query(http, "SELECT 1").status_code == 401
    with client(standin, **{"X-Activeloop-Org-Id": "other-org"}) as http:
        assert query(http, "SELECT 1").status_code == 401
    with client(standin) as http:
        assert query(http, "SELECT 1", workspace="elsewhere").status_code == 404
        assert http.get("/workspaces/elsewhere/tables").status_code == 404
        assert query(http, "SELECT 1").status_code == 200


def test_max_in_flight_counts_concurrent_requests(standin):
    standin.configure(latency_s=0.5)
    workers = 8
    barrier = threading.Barrier(workers)
    statuses: list[int] = []

    def one() -> None:
        with client(standin) as http:
            barrier.wait()
            statuses.append(query(http, "SELECT 1").status_code)

    threads = [threading.Thread(target=one) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * workers
    assert standin.max_in_flight == workers
    assert standin.in_flight == 0


def test_deeplake_fixture(deeplake):
    assert deeplake.workspace == "default"
    with client(deeplake) as http:
        query(http, SESSIONS)
        assert http.get(f"/workspaces/{deeplake.workspace}/tables").json()["tables"] == [{"table_name": "sessions"}]


def _ids(server: DeeplakeStandIn) -> list[str]:
    """The ids in the sessions table, read past the stand-in (no injected faults)."""
    import psycopg

    with psycopg.connect(server.dsn) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM sessions ORDER BY id")]


def test_commit_then_500_keeps_the_row(standin):
    with client(standin) as http:
        query(http, SESSIONS)
        standin.configure(after_commit_fail_sequence=[True, None])
        first = query(http, "INSERT INTO sessions (id) VALUES ('a')")
        assert first.status_code == 500 and first.json() == {"error": "injected after commit"}
        assert query(http, "SELECT 1").status_code == 200  # not an INSERT: consumes nothing
        assert query(http, "INSERT INTO sessions (id) VALUES ('b')").status_code == 200
        assert query(http, "INSERT INTO sessions (id) VALUES ('c')").status_code == 200
        assert query(http, "SELECT id FROM sessions ORDER BY id").json()["rows"] == [["a"], ["b"], ["c"]]
    assert standin.inserts_committed == 3 and standin.after_commit_failed == 1
    assert [r.status for r in standin.requests] == [200, 500, 200, 200, 200, 200]


def test_commit_then_drop_keeps_the_row(standin):
    with client(standin) as http:
        query(http, SESSIONS)
        standin.configure(after_commit_drop_sequence=[True])
        with pytest.raises(httpx.TransportError):
            query(http, "INSERT INTO sessions (id) VALUES ('a')")
        assert query(http, "INSERT INTO sessions (id) VALUES ('b')").status_code == 200
    assert _ids(standin) == ["a", "b"]
    assert standin.inserts_committed == 2 and standin.after_commit_dropped == 1
    assert standin.requests[1].status is None


def test_failed_insert_consumes_no_after_commit_entry(standin):
    with client(standin) as http:
        query(http, SESSIONS)
        standin.configure(after_commit_fail_sequence=[True])
        assert query(http, "INSERT INTO nowhere (id) VALUES ('x')").status_code == 500  # SQL error
        standin.configure(fail_sequence=[503])
        assert query(http, "INSERT INTO sessions (id) VALUES ('x')").status_code == 503  # never ran
        assert standin.inserts_committed == 0
        answer = query(http, "INSERT INTO sessions (id) VALUES ('y')")
        assert answer.json() == {"error": "injected after commit"}
    assert _ids(standin) == ["y"]
    assert standin.inserts_committed == 1


def test_commit_then_500_respects_the_visibility_lag(standin):
    standin.configure(visibility_lag_s=1.0, after_commit_fail_rate=1.0)
    with client(standin) as http:
        query(http, SESSIONS)
        started = time.monotonic()
        assert query(http, "INSERT INTO sessions (id) VALUES ('late')").status_code == 500
        assert standin.pending_commits == 1
        assert query(http, "SELECT id FROM sessions").json()["rows"] == []
        deadline = started + 10
        while query(http, "SELECT id FROM sessions").json()["rows"] != [["late"]]:
            assert time.monotonic() < deadline, "the row never became visible"
            time.sleep(0.05)
        assert time.monotonic() - started >= 1.0
    assert standin.pending_commits == 0 and standin.inserts_committed == 1


def test_after_commit_rates_are_seeded(standin):
    with client(standin) as http:
        query(http, SESSIONS)

        def outcomes(seed: int) -> list[int | None]:
            standin.configure(seed=seed, after_commit_fail_rate=0.3, after_commit_drop_rate=0.3)
            got: list[int | None] = []
            for i in range(30):
                try:
                    with client(standin) as one:  # a dropped connection ends its client
                        got.append(query(one, f"INSERT INTO sessions (id) VALUES ('{seed}-{i}')").status_code)
                except httpx.TransportError:
                    got.append(None)
            return got

        first = outcomes(3)
        assert set(first) == {200, 500, None}
        assert outcomes(3) == first
    assert len(_ids(standin)) == 60  # every INSERT committed, whatever the answer
    assert standin.inserts_committed == 60
    assert standin.after_commit_dropped == 2 * first.count(None)
    assert standin.after_commit_failed == 2 * first.count(500)
    standin.reset_counters()
    assert (standin.inserts_committed, standin.after_commit_failed, standin.after_commit_dropped) == (0, 0, 0)
