"""DeeplakeClient against a respx-mocked network edge: wire format, every retry and non-retry
branch, Retry-After, 402 notices, pool repair (seed 004), on_retry ordering, slots, secrecy and
timeouts.

Backoff is made deterministic by injecting ``sleep`` (records the delays, never sleeps) and
``rand`` (0.5, so the jitter is always 0.5 x 0.2 = 0.1 s): every retry test runs in milliseconds.
"""

from __future__ import annotations

import email.utils
import json
import threading
import types

import httpx
import pytest
import respx

from lakeloop import __version__, notices
from lakeloop.deeplake import client as client_mod
from lakeloop.deeplake.client import PAYMENT_NOTICE, DeeplakeClient
from lakeloop.deeplake.credentials import Credentials
from lakeloop.deeplake.slots import Slots
from lakeloop.errors import (
    AlreadyExists,
    AuthError,
    DeeplakeError,
    NetworkError,
    PaymentRequired,
    PermanentError,
    SlotTimeout,
    StoreError,
    TransientError,
)

API = "https://api.deeplake.test"
WS = "ws_team"
ORG = "org-1234"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.Zm9vYmFy_sig-XYZ"
QUERY_URL = f"{API}/workspaces/{WS}/tables/query"
TABLES_URL = f"{API}/workspaces/{WS}/tables"

JITTER = 0.5 * 0.2  # rand() x jitter_s
BACKOFF = [0.5 + JITTER, 1.0 + JITTER, 2.0 + JITTER]  # base 0.5 s, x2, 3 retries
OK = {"columns": ["n"], "rows": [[1]], "row_count": 1}


def creds() -> Credentials:
    return Credentials(token=TOKEN, org_id=ORG, workspace=WS, api_url=API + "/")


def make(**kw) -> tuple[DeeplakeClient, list[float]]:
    """A client whose sleeps are recorded (not slept) and whose jitter is rand() = 0.5."""
    sleeps: list[float] = []
    kw.setdefault("sleep", sleeps.append)
    kw.setdefault("rand", lambda: 0.5)
    return DeeplakeClient(creds(), **kw), sleeps


def ok(payload=None) -> httpx.Response:
    return httpx.Response(200, json=OK if payload is None else payload)


@pytest.fixture
def api():
    """respx router for the fake API; any request to another host fails the test."""
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield router


@pytest.fixture
def query_route(api):
    return api.post(QUERY_URL)


# -- success: the wire contract ------------------------------------------------------------------


def test_query_posts_sql_to_the_workspace_query_endpoint_with_every_header(query_route):
    """POST {api}/workspaces/{ws}/tables/query, body {"query": sql}, Bearer token, org id header,
    JSON content type and a lakeloop User-Agent (trailing slash of the API URL ignored)."""
    query_route.return_value = ok()
    client, sleeps = make()
    client.query("SELECT 1 AS n")
    assert query_route.call_count == 1 and sleeps == []
    request = query_route.calls.last.request
    assert str(request.url) == QUERY_URL
    assert request.method == "POST"
    assert json.loads(request.content) == {"query": "SELECT 1 AS n"}
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["X-Activeloop-Org-Id"] == ORG
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == f"lakeloop/{__version__}"


def test_rows_become_dicts_keyed_by_column(query_route):
    """columns + rows are zipped into one dict per row, in order, values untouched."""
    query_route.return_value = ok(
        {
            "columns": ["id", "body", "n", "meta"],
            "rows": [["a", "x'y", 1, {"k": [1]}], ["b", None, 2.5, None]],
            "row_count": 2,
        }
    )
    client, _ = make()
    assert client.query("SELECT ...") == [
        {"id": "a", "body": "x'y", "n": 1, "meta": {"k": [1]}},
        {"id": "b", "body": None, "n": 2.5, "meta": None},
    ]


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"row_count": 0},
        {"columns": ["a"]},
        {"rows": None, "columns": None},
        {"columns": ["a"], "rows": []},
        [],
        "done",
        None,
    ],
)
def test_response_without_rows_or_columns_is_zero_rows(query_route, payload):
    """A statement with no result set (no rows/columns, or a non-object JSON body) reads as []."""
    query_route.return_value = httpx.Response(
        200, content=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    client, _ = make()
    assert client.query("CREATE TABLE t (a TEXT)") == []


def test_a_200_that_is_not_json_is_a_permanent_error(query_route):
    """A 200 whose body is not JSON (a proxy page) raises PermanentError, is not retried."""
    query_route.return_value = httpx.Response(200, html="<html>captive portal</html>")
    client, sleeps = make()
    with pytest.raises(PermanentError) as info:
        client.query("SELECT 1")
    assert info.value.status == 200 and query_route.call_count == 1 and sleeps == []


def test_list_tables_gets_the_workspace_tables(api):
    """GET {api}/workspaces/{ws}/tables, same auth headers; returns the table names."""
    route = api.get(TABLES_URL).respond(
        200, json={"tables": [{"table_name": "sessions"}, {"table_name": "skills"}, {"other": "ignored"}, "junk"]}
    )
    client, _ = make()
    assert client.list_tables() == ["sessions", "skills"]
    request = route.calls.last.request
    assert request.method == "GET" and str(request.url) == TABLES_URL
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["X-Activeloop-Org-Id"] == ORG
    assert request.headers["User-Agent"] == f"lakeloop/{__version__}"


def test_list_tables_retries_like_query(api):
    """list_tables takes the same retry path: a 503 then success is 2 calls and one backoff."""
    route = api.get(TABLES_URL)
    route.side_effect = [httpx.Response(503), httpx.Response(200, json={"tables": [{"table_name": "memory"}]})]
    client, sleeps = make()
    assert client.list_tables() == ["memory"]
    assert route.call_count == 2 and sleeps == pytest.approx(BACKOFF[:1])


def test_list_tables_with_a_body_that_is_not_json_raises_a_deeplake_error(api):
    """list_tables "raises as query": a non-JSON 200 is a PermanentError, not a bare ValueError
    that would slip past callers catching StoreError."""
    api.get(TABLES_URL).respond(200, html="<html>maintenance</html>")
    client, _ = make()
    with pytest.raises(PermanentError):
        client.list_tables()


# -- transient statuses ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_status_is_retried_once_then_succeeds(query_route, status):
    """429/500/502/503/504 then 200: 2 calls, one sleep of 0.5 + rand x 0.2, rows returned."""
    query_route.side_effect = [httpx.Response(status, text="busy"), ok()]
    client, sleeps = make()
    assert client.query("SELECT 1 AS n") == [{"n": 1}]
    assert query_route.call_count == 2
    assert sleeps == pytest.approx([0.5 + JITTER])


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_status_exhausts_after_three_retries(query_route, status):
    """Always failing: 4 calls, sleeps [0.5, 1.0, 2.0] + jitter, then TransientError with .status."""
    query_route.return_value = httpx.Response(status, text="still busy")
    client, sleeps = make()
    with pytest.raises(TransientError) as info:
        client.query("SELECT 1")
    assert type(info.value) is TransientError and info.value.status == status
    assert query_route.call_count == 4
    assert sleeps == pytest.approx(BACKOFF)


@pytest.mark.parametrize("rand, expected", [(0.0, [0.5, 1.0, 2.0]), (0.999, [0.6998, 1.1998, 2.1998])])
def test_jitter_is_rand_times_0_2_seconds(query_route, rand, expected):
    """The jitter added to each backoff is rand() x 0.2 s (rand in [0, 1))."""
    query_route.return_value = httpx.Response(503)
    client, sleeps = make(rand=lambda: rand)
    with pytest.raises(TransientError):
        client.query("SELECT 1")
    assert sleeps == pytest.approx(expected)


@pytest.mark.parametrize("retries", [0, 1])
def test_max_retries_bounds_the_attempts(query_route, retries):
    """max_retries=N means N+1 attempts and N sleeps."""
    query_route.return_value = httpx.Response(502)
    client, sleeps = make(max_retries=retries)
    with pytest.raises(TransientError):
        client.query("SELECT 1")
    assert query_route.call_count == retries + 1
    assert sleeps == pytest.approx(BACKOFF[:retries])


# -- Retry-After ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_delta_seconds_replaces_the_backoff(query_route, status):
    """Retry-After: 2 makes the wait exactly 2 s (no jitter added)."""
    query_route.side_effect = [httpx.Response(status, headers={"Retry-After": "2"}), ok()]
    client, sleeps = make()
    client.query("SELECT 1")
    assert sleeps == [2.0] and query_route.call_count == 2


def test_retry_after_is_capped(query_route):
    """A Retry-After beyond retry_after_cap_s waits the cap (5 s by default, configurable)."""
    query_route.side_effect = [httpx.Response(429, headers={"Retry-After": "3600"}), ok()]
    client, sleeps = make()
    client.query("SELECT 1")
    assert sleeps == [5.0]
    query_route.side_effect = [httpx.Response(429, headers={"Retry-After": "3600"}), ok()]
    client, sleeps = make(retry_after_cap_s=1.5)
    client.query("SELECT 1")
    assert sleeps == [1.5]


@pytest.fixture
def frozen_now(monkeypatch):
    """The wall clock of the status mapping (``lakeloop.deeplake.status``, where ``retry_after_s``
    lives) frozen at a whole second (for HTTP-date Retry-After)."""
    import time as real_time

    from lakeloop.deeplake import status as status_mod

    now = 1_800_000_000.0
    monkeypatch.setattr(
        status_mod,
        "time",
        types.SimpleNamespace(time=lambda: now, sleep=real_time.sleep, monotonic=real_time.monotonic),
    )
    return now


@pytest.mark.parametrize("offset, expected", [(3, 3.0), (3600, 5.0), (-60, 0.0)])
def test_retry_after_http_date(query_route, frozen_now, offset, expected):
    """Retry-After as an HTTP date waits until then: 3 s ahead waits 3 s, an hour ahead waits the
    5 s cap, a date in the past does not wait."""
    date = email.utils.formatdate(frozen_now + offset, usegmt=True)
    query_route.side_effect = [httpx.Response(503, headers={"Retry-After": date}), ok()]
    client, sleeps = make()
    client.query("SELECT 1")
    assert sleeps == [expected] and query_route.call_count == 2


def test_unparseable_retry_after_falls_back_to_backoff(query_route):
    """A Retry-After that is neither seconds nor a date is ignored: the normal backoff applies."""
    query_route.side_effect = [httpx.Response(429, headers={"Retry-After": "soon-ish"}), ok()]
    client, sleeps = make()
    client.query("SELECT 1")
    assert sleeps == pytest.approx(BACKOFF[:1])


def test_retry_after_applies_per_attempt(query_route):
    """Each response's own Retry-After decides its wait; one without it uses that attempt's backoff."""
    query_route.side_effect = [
        httpx.Response(429, headers={"Retry-After": "1"}),
        httpx.Response(503),
        httpx.Response(429, headers={"Retry-After": "0"}),
        ok(),
    ]
    client, sleeps = make()
    client.query("SELECT 1")
    assert sleeps == pytest.approx([1.0, 1.0 + JITTER, 0.0])


# -- deterministic failures -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", ['{"error": "relation \\"skills_idx\\" already exists"}', "Column message_embedding ALREADY EXISTS"]
)
def test_500_already_exists_is_not_retried(query_route, body):
    """A 500 saying something "already exists" (any case) raises AlreadyExists: 1 call, no sleep."""
    query_route.return_value = httpx.Response(500, text=body)
    client, sleeps = make()
    with pytest.raises(AlreadyExists) as info:
        client.query("CREATE INDEX ...")
    assert info.value.status == 500 and query_route.call_count == 1 and sleeps == []


@pytest.mark.parametrize("status", [400, 404, 405, 409, 422])
def test_other_client_errors_are_permanent(query_route, status):
    """400/404 (and other 4xx with no special meaning) raise PermanentError: 1 call, no sleep."""
    query_route.return_value = httpx.Response(status, json={"error": "syntax error at or near FROM"})
    client, sleeps = make()
    with pytest.raises(PermanentError) as info:
        client.query("SELEC 1", retry_auth=True)
    assert type(info.value) is PermanentError and info.value.status == status
    assert "syntax error" in info.value.body
    assert query_route.call_count == 1 and sleeps == []


# -- 402 ---------------------------------------------------------------------------------------------------


def test_402_fails_fast_and_leaves_one_notice(query_route, isolated_env):
    """402 raises PaymentRequired after 1 call, no sleep; two 402s leave exactly one notice file,
    notices.take() returns it once; a third 402 right after does not post it again."""
    query_route.return_value = httpx.Response(402, json={"error": "insufficient balance", "balance_cents": 0})
    client, sleeps = make()
    for _ in range(2):
        with pytest.raises(PaymentRequired) as info:
            client.query("INSERT ...", retry_auth=True)
        assert info.value.status == 402
    assert query_route.call_count == 2 and sleeps == []
    waiting = list((isolated_env["LAKELOOP_DATA_DIR"] / "notices").glob("*.json"))
    assert len(waiting) == 1
    assert notices.take() == [PAYMENT_NOTICE]
    assert notices.take() == []
    with pytest.raises(PaymentRequired):
        client.query("INSERT ...")
    assert notices.take() == []


def test_402_calls_the_injected_hook_once_per_response(query_route):
    """on_payment_required is called once per 402 and never for other errors."""
    calls = []
    query_route.side_effect = [httpx.Response(402), httpx.Response(400), httpx.Response(402)]
    client, _ = make(on_payment_required=lambda: calls.append(1))
    for expected in (PaymentRequired, PermanentError, PaymentRequired):
        with pytest.raises(expected):
            client.query("SELECT 1")
    assert len(calls) == 2


# -- 401 / 403 ---------------------------------------------------------------------------------------------


def test_401_is_retried_for_a_session_insert(query_route):
    """With retry_auth=True a 401 is transient: 401 then 200 is 2 calls, one backoff."""
    query_route.side_effect = [httpx.Response(401, json={"error": "token expired"}), ok()]
    client, sleeps = make()
    assert client.query("INSERT ...", retry_auth=True) == [{"n": 1}]
    assert query_route.call_count == 2 and sleeps == pytest.approx(BACKOFF[:1])


def test_401_without_retry_auth_is_an_auth_error(query_route):
    """Without retry_auth a 401 raises AuthError at once: 1 call, no sleep."""
    query_route.return_value = httpx.Response(401, json={"error": "token expired"})
    client, sleeps = make()
    with pytest.raises(AuthError) as info:
        client.query("SELECT 1")
    assert info.value.status == 401 and query_route.call_count == 1 and sleeps == []


def test_401_with_retry_auth_exhausts_as_transient(query_route):
    """A 401 that never goes away on a session insert ends as TransientError after 4 calls."""
    query_route.return_value = httpx.Response(401)
    client, sleeps = make()
    with pytest.raises(TransientError) as info:
        client.query("INSERT ...", retry_auth=True)
    assert info.value.status == 401 and query_route.call_count == 4 and sleeps == pytest.approx(BACKOFF)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(403),
        httpx.Response(403, text="   \n"),
        httpx.Response(403, html="<!DOCTYPE html><html><body>Access denied by CDN</body></html>"),
        httpx.Response(403, content=b"<html><h1>403 Forbidden</h1></html>", headers={"Content-Type": "text/plain"}),
        httpx.Response(403, content=b"Request blocked", headers={"Content-Type": "text/html; charset=utf-8"}),
    ],
    ids=["no-body", "blank-body", "text/html", "starts-with-<html", "html-content-type"],
)
def test_403_empty_or_html_is_retried_for_a_session_insert(query_route, response):
    """With retry_auth=True a 403 with an empty or HTML body (CDN/proxy) is transient: retried."""
    query_route.side_effect = [response, ok()]
    client, sleeps = make()
    assert client.query("INSERT ...", retry_auth=True) == [{"n": 1}]
    assert query_route.call_count == 2 and sleeps == pytest.approx(BACKOFF[:1])


@pytest.mark.parametrize("response", [httpx.Response(403), httpx.Response(403, html="<html>denied</html>")])
def test_403_empty_or_html_without_retry_auth_is_an_auth_error(query_route, response):
    """Without retry_auth even an empty/HTML 403 raises AuthError at once."""
    query_route.return_value = response
    client, sleeps = make()
    with pytest.raises(AuthError):
        client.query("SELECT 1")
    assert query_route.call_count == 1 and sleeps == []


def test_403_with_a_json_body_is_an_auth_error_even_with_retry_auth(query_route):
    """A 403 from the API itself (JSON body) is a real refusal: AuthError, 1 call, no sleep."""
    query_route.return_value = httpx.Response(403, json={"error": "no access to workspace"})
    client, sleeps = make()
    with pytest.raises(AuthError) as info:
        client.query("INSERT ...", retry_auth=True)
    assert info.value.status == 403 and "no access" in info.value.body
    assert query_route.call_count == 1 and sleeps == []


# -- network-level failures and pool repair (seed 004) ----------------------------------------------------------

NETWORK_ERRORS = [
    httpx.ConnectError,
    httpx.ReadTimeout,
    httpx.RemoteProtocolError,
    httpx.ConnectTimeout,
    httpx.ReadError,
]


@pytest.mark.parametrize("exc", NETWORK_ERRORS, ids=lambda e: e.__name__)
def test_network_error_is_retried_on_a_rebuilt_pool(query_route, exc):
    """A network-level failure is retried once the connection pool has been rebuilt: the retry
    goes out on a new httpx.Client configured like the first, and the old one is closed."""
    query_route.side_effect = [exc("boom"), ok()]
    rebuilds_at_sleep = []
    client = None

    def sleep(delay):
        rebuilds_at_sleep.append((delay, client.pool_rebuilds))

    client, _ = make(sleep=sleep)
    first = client._http
    assert client.query("SELECT 1") == [{"n": 1}]
    assert query_route.call_count == 2
    assert rebuilds_at_sleep == [(pytest.approx(BACKOFF[0]), 1)]  # rebuilt before the retry's wait
    assert client.pool_rebuilds == 1 and client._http is not first and first.is_closed
    retry = query_route.calls[1].request
    assert retry.headers["Authorization"] == f"Bearer {TOKEN}" and retry.headers["X-Activeloop-Org-Id"] == ORG
    assert retry.extensions["timeout"] == {"connect": 3.0, "read": 7.0, "write": 7.0, "pool": 7.0}


@pytest.mark.parametrize(
    "exc", [httpx.ConnectError, httpx.ReadTimeout, httpx.RemoteProtocolError], ids=lambda e: e.__name__
)
def test_network_errors_exhaust_as_network_error(query_route, exc):
    """Always unreachable: 4 calls, backoff [0.5, 1.0, 2.0] + jitter, a rebuild after every failure
    (before each retry), then NetworkError with status None."""
    query_route.side_effect = exc("down")
    seen = []
    client = None
    client, sleeps = make(sleep=lambda d: seen.append((d, client.pool_rebuilds)))
    with pytest.raises(NetworkError) as info:
        client.query("SELECT 1")
    assert info.value.status is None and isinstance(info.value, TransientError)
    assert exc.__name__ in str(info.value)
    assert query_route.call_count == 4
    assert [d for d, _ in seen] == pytest.approx(BACKOFF)
    assert [n for _, n in seen] == [1, 2, 3]
    assert client.pool_rebuilds == 4  # the last failure too: the next call starts on a fresh pool


def pool_factory(made: list[httpx.Client], fail_after: int | None = None, on_build=None):
    """A client_factory numbering its pools in an X-Pool header (seen by respx), so a test can tell
    which pool carried a request; fails once ``fail_after`` pools exist."""

    def factory() -> httpx.Client:
        if on_build is not None:
            on_build()
        if fail_after is not None and len(made) >= fail_after:
            raise OSError("no file descriptors left")
        pool = httpx.Client(
            headers={"Authorization": f"Bearer {TOKEN}", "X-Activeloop-Org-Id": ORG, "X-Pool": str(len(made) + 1)}
        )
        made.append(pool)
        return pool

    return factory


def test_failed_rebuild_keeps_the_old_pool(query_route):
    """Seed 004: the old pool is replaced only once a new one exists. When building the new pool
    fails, the old httpx.Client stays in place (same object, still open) and the retry goes out
    through it and succeeds."""
    made: list[httpx.Client] = []
    query_route.side_effect = [httpx.ConnectError("reset"), ok()]
    client, sleeps = make(client_factory=pool_factory(made, fail_after=1))
    old = client._http
    assert client.query("SELECT 1") == [{"n": 1}]
    assert client._http is old is made[0] and not old.is_closed
    assert client.pool_rebuilds == 0 and len(made) == 1
    assert [c.request.headers["X-Pool"] for c in query_route.calls] == ["1", "1"]
    assert sleeps == pytest.approx(BACKOFF[:1])


def test_successful_rebuild_swaps_then_closes_the_old_pool(query_route):
    """Seed 004: build first, then swap, then close the old pool. While the new pool is being
    built the old one is still installed and open; afterwards the retry used the new pool and
    the old one is closed."""
    made: list[httpx.Client] = []
    during_build = []
    client = None

    def on_build():
        if client is not None:
            during_build.append((client._http is made[0], made[0].is_closed))

    query_route.side_effect = [httpx.RemoteProtocolError("server disconnected"), ok()]
    client, _ = make(client_factory=pool_factory(made, on_build=on_build))
    assert client.query("SELECT 1") == [{"n": 1}]
    assert during_build == [(True, False)]
    assert client._http is made[1] and made[0].is_closed and not made[1].is_closed
    assert client.pool_rebuilds == 1
    assert [c.request.headers["X-Pool"] for c in query_route.calls] == ["1", "2"]


def test_rebuild_does_not_close_the_pool_under_another_threads_request(query_route):
    """A rebuild triggered by one thread's network failure must not cut off a request another
    thread still has in flight on the old pool: the old pool is closed only once that request
    is done (like the seed's graceful end of the old pool)."""
    in_flight, release = threading.Event(), threading.Event()
    failed_once = []

    def server(request):
        sql = json.loads(request.content)["query"]
        if sql == "slow":
            in_flight.set()
            assert release.wait(10)
        elif not failed_once:
            failed_once.append(1)
            raise httpx.ConnectError("connection reset")
        return ok()

    query_route.side_effect = server
    client, _ = make()
    old = client._http
    results = []
    slow = threading.Thread(target=lambda: results.append(client.query("slow")))
    slow.start()
    try:
        assert in_flight.wait(10)
        assert client.query("fast") == [{"n": 1}]  # failed once, rebuilt the pool, retried
        assert client.pool_rebuilds == 1 and client._http is not old
        assert not old.is_closed  # the slow request is still in flight on it
    finally:
        release.set()
        slow.join(10)
    assert results == [[{"n": 1}]]
    assert old.is_closed and not client._http.is_closed


def test_status_errors_do_not_rebuild_the_pool(query_route):
    """Only network-level failures rebuild the pool; a 503 retries on the same pool."""
    query_route.side_effect = [httpx.Response(503), ok()]
    client, _ = make()
    first = client._http
    client.query("SELECT 1")
    assert client.pool_rebuilds == 0 and client._http is first and not first.is_closed


# -- on_retry -------------------------------------------------------------------------------------------------


def test_on_retry_runs_and_finishes_before_the_next_attempt(query_route):
    """on_retry(attempt, error) is called before each retry, after the failure, and returns
    before the backoff and the next request start: the event log is strictly interleaved."""
    events: list[str] = []
    responses = iter([httpx.Response(503), httpx.ConnectError("refused"), httpx.Response(429), ok()])

    def server(request):
        events.append("request")
        item = next(responses)
        if isinstance(item, Exception):
            raise item
        return item

    def on_retry(attempt, error):
        events.append(f"callback start {attempt} {type(error).__name__} {error.status}")
        worker = threading.Thread(target=lambda: events.append(f"callback work {attempt}"))
        worker.start()
        worker.join()
        events.append(f"callback end {attempt}")

    query_route.side_effect = server
    client, _ = make(sleep=lambda d: events.append(f"sleep {d:.1f}"))
    assert client.query("INSERT ...", on_retry=on_retry) == [{"n": 1}]
    assert events == [
        "request",
        "callback start 1 TransientError 503",
        "callback work 1",
        "callback end 1",
        "sleep 0.6",
        "request",
        "callback start 2 NetworkError None",
        "callback work 2",
        "callback end 2",
        "sleep 1.1",
        "request",
        "callback start 3 TransientError 429",
        "callback work 3",
        "callback end 3",
        "sleep 2.1",
        "request",
    ]


def test_on_retry_is_not_called_without_a_retry(query_route):
    """No retry, no callback: not on success, not on a permanent error, not after the last attempt."""
    calls = []
    query_route.side_effect = [ok(), httpx.Response(400)]
    client, _ = make(max_retries=0)
    client.query("SELECT 1", on_retry=lambda *a: calls.append(a))
    with pytest.raises(PermanentError):
        client.query("SELECT 1", on_retry=lambda *a: calls.append(a))
    query_route.side_effect = None
    query_route.return_value = httpx.Response(503)
    with pytest.raises(TransientError):
        client.query("SELECT 1", on_retry=lambda *a: calls.append(a))
    assert calls == []


# -- slots ----------------------------------------------------------------------------------------------------


def test_a_request_holds_a_slot_and_the_backoff_does_not(query_route, tmp_path):
    """Each attempt runs inside a request slot; the slot is free again while backing off."""
    slots = Slots(tmp_path / "slots", per_process=1, machine=1, wait_s=0)
    other = Slots(tmp_path / "slots", per_process=1, machine=1, wait_s=0)  # another process
    observed = []

    def try_slot(label):
        try:
            with other.hold():
                observed.append(f"{label}: free")
        except SlotTimeout:
            observed.append(f"{label}: busy")

    def server(request):
        try_slot("request")
        return httpx.Response(503) if len(observed) == 1 else ok()

    query_route.side_effect = server
    client, _ = make(slots=slots, sleep=lambda d: try_slot("sleep"))
    client.query("SELECT 1")
    assert observed == ["request: busy", "sleep: free", "request: busy"]


def test_no_free_slot_raises_slot_timeout_without_a_request(query_route, tmp_path):
    """When every machine slot is held elsewhere the call raises SlotTimeout (a TransientError
    the caller keeps its work for): no request sent, no retry, no sleep."""
    slots = Slots(tmp_path / "slots", per_process=5, machine=1, wait_s=0)
    elsewhere = Slots(tmp_path / "slots", per_process=5, machine=1, wait_s=0)
    query_route.return_value = ok()
    client, sleeps = make(slots=slots)
    with elsewhere.hold():
        with pytest.raises(SlotTimeout):
            client.query("SELECT 1")
    assert query_route.call_count == 0 and sleeps == []
    assert client.query("SELECT 1") == [{"n": 1}]  # free again once released


# -- secrecy ---------------------------------------------------------------------------------------------------

ECHOES = [
    (500, f"upstream failed for header Authorization: Bearer {TOKEN}", False, TransientError),
    (401, json.dumps({"error": "invalid token", "token": TOKEN}), False, AuthError),
    (403, f"<html>denied for bearer {TOKEN}</html>", True, TransientError),
    (400, json.dumps({"error": f"bad request (authorization=Bearer {TOKEN})"}), False, PermanentError),
    (402, json.dumps({"balance_cents": 0, "echo": f"Bearer {TOKEN}"}), False, PaymentRequired),
    (400, f"credentials {TOKEN} are not valid for org {ORG}", False, PermanentError),
]


def test_token_never_appears_in_errors_credentials_or_the_log(api, fresh_log, monkeypatch):
    """The token is not in str(error), repr(error), error.body, repr(credentials) or the log file
    (at DEBUG level), even when the server echoes it back in an error body."""
    from lakeloop import log as lakeloop_log

    monkeypatch.setenv("LAKELOOP_DEBUG", "1")
    lakeloop_log.setup("test")
    route = api.post(QUERY_URL)
    client, _ = make()
    assert TOKEN not in repr(client.creds) and TOKEN not in str(client.creds)
    for status, body, retry_auth, expected in ECHOES:
        route.return_value = httpx.Response(status, text=body)
        with pytest.raises(expected) as info:
            client.query("SELECT 1", retry_auth=retry_auth)
        err = info.value
        assert isinstance(err, DeeplakeError) and err.status == status
        for text in (str(err), repr(err), err.body, *map(str, err.args)):
            assert TOKEN not in text
    log_text = fresh_log()
    assert "retry 1/3" in log_text and "failed for good" in log_text  # the failures were logged
    assert TOKEN not in log_text


def test_network_error_message_names_no_secret(query_route):
    """A network failure's message is the exception type only, never the request's headers."""
    query_route.side_effect = httpx.ConnectError(f"cannot connect, Authorization: Bearer {TOKEN}")
    client, _ = make(max_retries=0)
    with pytest.raises(NetworkError) as info:
        client.query("SELECT 1")
    assert TOKEN not in str(info.value) and info.value.body == ""


def test_errors_are_store_errors():
    """Every Deeplake error is a StoreError, so store callers need only one except clause."""
    for cls in (TransientError, NetworkError, SlotTimeout, PermanentError, PaymentRequired, AuthError, AlreadyExists):
        assert issubclass(cls, DeeplakeError) and issubclass(cls, StoreError)


# -- timeouts ---------------------------------------------------------------------------------------------------


def test_default_timeouts_are_3s_connect_and_7s_read(query_route):
    """The httpx client is configured with a 3 s connect and a 7 s read (and write/pool) timeout."""
    query_route.return_value = ok()
    client, _ = make()
    client.query("SELECT 1")
    assert query_route.calls.last.request.extensions["timeout"] == {
        "connect": 3.0,
        "read": 7.0,
        "write": 7.0,
        "pool": 7.0,
    }
    assert client._http.timeout == httpx.Timeout(7.0, connect=3.0)


def test_timeouts_are_configurable(query_route):
    """connect_timeout_s and read_timeout_s reach every request."""
    query_route.return_value = ok()
    client, _ = make(connect_timeout_s=0.5, read_timeout_s=2.5)
    client.query("SELECT 1")
    assert query_route.calls.last.request.extensions["timeout"] == {
        "connect": 0.5,
        "read": 2.5,
        "write": 2.5,
        "pool": 2.5,
    }


def test_shared_client_reads_the_settings_and_is_one_per_process(query_route, monkeypatch):
    """shared_client builds one client per credentials from the LAKELOOP_DEEPLAKE_* settings
    (timeouts, retries, Retry-After cap) and returns the same one on later calls."""
    monkeypatch.setattr(client_mod, "_shared", None)
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_CONNECT_TIMEOUT_S", "1.25")
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_READ_TIMEOUT_S", "4")
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_RETRIES", "1")
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_RETRY_AFTER_CAP_S", "2")
    shared = client_mod.shared_client(creds())
    try:
        assert client_mod.shared_client(creds()) is shared
        assert shared.max_retries == 1 and shared.retry_after_cap_s == 2.0 and shared.slots is not None
        query_route.return_value = ok()
        shared.query("SELECT 1")
        assert query_route.calls.last.request.extensions["timeout"] == {
            "connect": 1.25,
            "read": 4.0,
            "write": 4.0,
            "pool": 4.0,
        }
        other = client_mod.shared_client(Credentials(token="t2", org_id="o2", api_url=API))
        assert other is not shared and other.creds.org_id == "o2"
        other.close()
    finally:
        shared.close()
