"""The dashboard writes nothing but through its review actions: the pages read the embedded store
opened read-only (never created, narrowed or migrated), never create or heal a Deeplake table,
read this machine's jobs database and summaries' ledger read-only and off the event loop; the
jobs page; the page the browser is opened on (no token in any argv); the log file's token
filter; the bounded answer cache."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import sqlite3
import stat
from pathlib import Path

import pytest

from tests.support.ui import start_ui
from tests.support.waiting import wait_until

PAGES = ("/", "/sessions", "/sessions?q=zanzibar", "/skills", "/proposals", "/jobs?state=failed")
WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|CREATE|DROP|ALTER)", re.I)


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _seed_store():
    from lakeloop.store import open_store
    from tests.support.stores import stop_rows

    with open_store() as store:
        store.append_session_rows(stop_rows(3))


def _browse(ui) -> dict[str, int]:
    with ui.signed_in() as client:
        return {path: client.get(path).status_code for path in PAGES}


def test_browsing_every_page_leaves_the_embedded_store_as_it_was(monkeypatch):
    from lakeloop import paths
    from lakeloop.store import embedded

    monkeypatch.setenv("LAKELOOP_STORE", "embedded")
    _seed_store()
    store = paths.store_file()
    # An older file: schema 2 (no sessions_date index) and readable by the group.
    with sqlite3.connect(store) as conn:
        conn.execute("DROP INDEX sessions_date")
        conn.execute("PRAGMA user_version = 2")
    conn.close()
    os.chmod(store, 0o640)
    before = _digest(store)
    ui = start_ui(LAKELOOP_STORE="embedded")
    try:
        codes = _browse(ui)
    finally:
        ui.stop()
    assert codes == dict.fromkeys(PAGES, 200)
    assert _digest(store) == before
    assert stat.S_IMODE(store.stat().st_mode) == 0o640  # not narrowed by a page
    with sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2 < embedded.SCHEMA_VERSION
    conn.close()


def test_a_read_only_embedded_store_refuses_a_write_and_creates_nothing(tmp_path):
    from lakeloop.errors import StoreError, StoreUnavailable
    from lakeloop.store.embedded import EmbeddedStore
    from tests.support.stores import stop_rows

    missing = tmp_path / "none" / "store.db"
    with pytest.raises(StoreUnavailable, match="read-only"):
        EmbeddedStore(missing, read_only=True)
    assert not missing.parent.exists()
    path = tmp_path / "store.db"
    with EmbeddedStore(path) as writable:
        writable.append_session_rows(stop_rows(2))
    before = _digest(path)
    with EmbeddedStore(path, read_only=True) as store:
        assert len(store.session_rows(stop_rows(1)[0].path)) == 2
        with pytest.raises(StoreError, match="readonly"):
            store.append_session_rows(stop_rows(3))
    assert _digest(path) == before


@pytest.mark.parametrize("store_kind", ["deeplake"], indirect=True)
def test_on_deeplake_the_pages_create_no_table_and_a_write_is_refused_unsent(store_kind, deeplake):
    from lakeloop import paths
    from lakeloop.errors import StoreError
    from lakeloop.store import open_store
    from tests.support.stores import stop_rows

    deeplake.reset_counters()
    ui = start_ui()
    try:
        codes = _browse(ui)
    finally:
        ui.stop()
    assert codes == dict.fromkeys(PAGES, 200)
    sent = list(deeplake.queries())
    assert sent and not [q for q in sent if WRITE.match(q)]
    assert not list(paths.data_dir().glob("deeplake-schema-*"))  # no healing marker either
    deeplake.reset_counters()
    with open_store(read_only=True) as store, pytest.raises(StoreError, match="read-only"):
        store.append_session_rows(stop_rows(1))
    assert list(deeplake.queries()) == []


def _seed_jobs(now: float) -> None:
    from lakeloop.jobs import db, queue
    from lakeloop.summaries.state import State

    conn = db.connect()
    try:
        queue.enqueue("probe", "waiting", {"do": "ok"}, conn=conn, now=now, delay_s=600)
        queue.enqueue("probe", "<img src=x onerror=alert(1)>", {"do": "x"}, conn=conn, now=now)
        job = queue.claim(conn, "t", now + 60, now)
        assert job is not None
        queue.fail(conn, job.id, "t", "boom <b>bad</b>", now, max_attempts=1, schedule=(1.0,))
    finally:
        conn.close()
    state = State.open()
    try:
        state.record_run("s1", ok=True, chars_sent=1200, chars_received=80, model_ms=900, reason="", now=now)
        state.record_run("s2", ok=False, chars_sent=300, chars_received=0, model_ms=50, reason="x", now=now)
    finally:
        state.close()


def test_the_overview_reads_jobs_and_summaries_without_writing_the_jobs_database():
    import time

    from lakeloop import paths
    from lakeloop.ui.local import overview_state

    assert overview_state()["jobs"]["exists"] is False
    assert not os.path.exists(paths.jobs_db())  # not created by a read
    now = time.time()
    _seed_jobs(now)
    before = _digest(Path(paths.jobs_db()))
    state = overview_state(now)
    assert state["jobs"]["counts"] == {"queued": 1, "failed": 1}
    assert [j["key"] for j in state["jobs"]["failed"]] == ["<img src=x onerror=alert(1)>"]
    assert state["summaries"] == {"today": 2, "chars_sent": 1500, "failed": 1}
    assert _digest(Path(paths.jobs_db())) == before


def test_a_jobs_database_without_a_summary_ledger_reads_as_no_runs():
    from lakeloop.jobs import db, queue
    from lakeloop.ui.local import overview_state

    conn = db.connect()
    queue.enqueue("probe", "k", {"do": "ok"}, conn=conn)
    conn.close()
    state = overview_state()
    assert state["jobs"]["counts"] == {"queued": 1}
    assert state["summaries"] == {"today": 0, "chars_sent": 0, "failed": 0}


def test_the_jobs_page_lists_a_state_escaped_and_the_overview_links_to_it():
    import time

    _seed_jobs(time.time())
    ui = start_ui()
    try:
        with ui.signed_in() as client:
            overview = client.get("/").text
            failed = client.get("/jobs", params={"state": "failed"})
            queued = client.get("/jobs", params={"state": "queued"}).text
            unknown = client.get("/jobs", params={"state": "bogus"}).status_code
    finally:
        ui.stop()
    for state, n in (("queued", 1), ("running", 0), ("failed", 1)):
        assert f'<a href="/jobs?state={state}">{n} {state}</a>' in overview
    assert failed.status_code == 200
    assert "&lt;img src=x onerror=alert(1)&gt;" in failed.text and "<img src=x" not in failed.text
    assert "boom &lt;b&gt;bad&lt;/b&gt;" in failed.text and "lakeloop jobs retry" in failed.text
    assert "waiting" in queued and "<img" not in queued
    assert unknown == 404


def test_the_browser_opens_a_private_page_and_never_sees_the_token_in_argv(monkeypatch, capsys):
    import webbrowser

    import uvicorn

    from lakeloop.cli.main import main

    opened: list[str] = []
    seen: dict[str, object] = {}
    monkeypatch.setattr(webbrowser, "open", lambda where, *a, **k: opened.append(where))

    def run(self, sockets=None):
        self.started = True
        wait_until(lambda: opened, 10, "the announcing thread to open the browser")
        if opened:
            page = opened[0].removeprefix("file://")
            seen["mode"] = stat.S_IMODE(os.stat(page).st_mode)
            seen["text"] = open(page, encoding="utf-8").read()
            seen["path"] = page

    monkeypatch.setattr(uvicorn.Server, "run", run)
    assert main(["ui", "--port", "0"]) == 0
    url = capsys.readouterr().out.splitlines()[0].removeprefix("lakeloop ui: ")
    token = url.split("token=")[1]
    assert len(opened) == 1 and opened[0].startswith("file:///") and token not in opened[0]
    assert seen["mode"] == 0o600
    assert f'url={url}"' in str(seen["text"])
    assert not os.path.exists(str(seen["path"]))  # deleted when the dashboard stopped


LOG_PROBE = (
    "import logging, lakeloop.ui.app as _app\n"
    "_create = _app.create_app\n"
    "def _probe(state, *a, **k):\n"
    "    logging.getLogger('lakeloop.ui.probe').warning('probe first %s second %s', state.token, state.session)\n"
    "    return _create(state, *a, **k)\n"
    "_app.create_app = _probe\n"
)


def test_a_lakeloop_log_line_holding_the_token_reaches_the_file_without_it():
    from lakeloop import paths

    ui = start_ui(prelude=LOG_PROBE)
    code, _out, err = ui.stop()
    assert code == 0 and err == ""
    log = "".join(p.read_text(errors="replace") for p in paths.log_dir().glob("*"))
    assert "probe first [token] second [token]" in log
    assert ui.token not in log


def test_the_answer_cache_forgets_expired_answers_and_keeps_at_most_its_bound():
    from lakeloop.ui.data import TtlCache

    now = [0.0]
    cache = TtlCache(5.0, clock=lambda: now[0], max_items=3)
    for key in "abcd":
        cache.put(key, key.upper())
    assert len(cache) == 3 and cache.get("a") == (False, None) and cache.get("d") == (True, "D")
    now[0] = 10.0
    cache.put("e", "E")
    assert len(cache) == 1 and cache.get("e") == (True, "E")


def test_ctrl_c_with_a_connection_held_open_still_stops_it():
    ui = start_ui()
    with socket.create_connection(("127.0.0.1", ui.port)) as held:
        held.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % ui.port)  # a request never finished
        code, out, err = ui.stop(timeout=15)
    assert code == 0 and "lakeloop ui stopped" in out and err == ""


def test_only_the_skill_page_loads_a_script_and_every_action_is_a_plain_form():
    from lakeloop.store import open_store
    from tests.support.optimizer import BODY_V1, seed_skill

    _seed_store()
    with open_store() as store:
        seed_skill(store, 1)
        seed_skill(store, 2, body=BODY_V1 + "\nOne more step.\n")
    ui = start_ui()
    try:
        with ui.signed_in() as client:
            pages = {path: client.get(path).text for path in (*PAGES, "/skills/db-migrate--alice")}
    finally:
        ui.stop()
    for path, html in pages.items():
        scripts = re.findall(r"<script[^>]*>", html)
        if path.startswith("/skills/"):
            assert scripts and all("src=" in s for s in scripts), scripts
        else:
            assert scripts == [], path  # usable without JavaScript
        assert "onclick" not in html and "javascript:" not in html, path


SLOW_ACTIVITY = (
    "import os, lakeloop.store.embedded as _e\n"
    "def _slow(self, since, day):\n"
    "    open(os.environ['SLOW_MARK'], 'w').close()\n"
    "    self._run('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c')\n"
    "    return []\n"
    "_e.EmbeddedStore.activity = _slow\n"
)


def test_ctrl_c_during_an_endless_store_query_interrupts_it_and_stops_cleanly(tmp_path):
    import threading

    import httpx

    _seed_store()
    mark = tmp_path / "slow-started"
    ui = start_ui(prelude=SLOW_ACTIVITY, LAKELOOP_STORE="embedded", SLOW_MARK=str(mark))
    answers: list[httpx.Response | Exception] = []

    def load() -> None:
        try:
            with ui.signed_in() as client:
                answers.append(client.get("/", timeout=60))
        except Exception as exc:  # the assertion below names it
            answers.append(exc)

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    wait_until(mark.exists, 20, "the overview's store query to start")
    code, out, err = ui.stop(timeout=20)
    loader.join(20)
    assert code == 0 and "lakeloop ui stopped" in out
    assert err == ""  # no cancelled task, no traceback
    assert len(answers) == 1 and isinstance(answers[0], httpx.Response), answers
    assert answers[0].status_code == 200 and "interrupted" in answers[0].text


def test_a_fifo_in_place_of_the_pins_the_store_or_the_jobs_database_never_hangs_a_page():
    from lakeloop import paths
    from lakeloop.skillopt.pins import pins_file

    _seed_store()
    store = paths.store_file()
    os.rename(store, store.with_name("moved-away"))
    for fifo in (store, Path(paths.jobs_db()), pins_file()):
        fifo.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(fifo)  # no writer: opening it for reading would block forever
    ui = start_ui()
    try:
        with ui.signed_in() as client:
            answers = {path: client.get(path, timeout=20) for path in ("/", "/jobs", "/skills", "/sessions")}
    finally:
        ui.proc.kill()
        ui.proc.communicate()
    assert {p: a.status_code for p, a in answers.items()} == dict.fromkeys(answers, 200)
    assert "not a regular file" in answers["/"].text and "not a regular file" in answers["/jobs"].text


def test_a_job_whose_stored_values_are_blobs_or_huge_still_lists():
    from lakeloop import paths
    from lakeloop.jobs import db, queue

    conn = db.connect()
    queue.enqueue("probe", "k", {"do": "ok"}, conn=conn)
    with conn:  # values the queue never writes, as another program could
        conn.execute("UPDATE jobs SET state = 'failed', key = ?, last_error = ?", ("k" * 1000, b"\x00\xffbinary"))
    conn.close()
    ui = start_ui()
    try:
        with ui.signed_in() as client:
            overview, failed = client.get("/"), client.get("/jobs", params={"state": "failed"})
    finally:
        ui.stop()
    assert overview.status_code == failed.status_code == 200
    assert "binary" in failed.text and "k" * 199 + "…" in failed.text and "k" * 201 not in failed.text
    assert Path(paths.jobs_db()).exists()


def test_the_launch_page_is_never_written_through_a_symbolic_link(tmp_path):
    from lakeloop import paths
    from lakeloop.ui.server import launch_page

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o755)
    paths.data_dir().mkdir(parents=True, exist_ok=True)
    (paths.data_dir() / "ui").symlink_to(elsewhere)
    with pytest.raises(OSError, match="symbolic link"):
        launch_page("http://127.0.0.1:1/?token=t", 1)
    assert list(elsewhere.iterdir()) == [] and stat.S_IMODE(elsewhere.stat().st_mode) == 0o755


READ_ONLY_MOUNT_PROBE = """
import sys
from pathlib import Path
from lakeloop.store.embedded import EmbeddedStore
with EmbeddedStore(Path(sys.argv[1]), read_only=True) as store:
    print(len(store.session_rows(sys.argv[2])))
"""


def test_a_store_on_a_read_only_mount_is_still_read(tmp_path):
    import shutil
    import subprocess
    import sys

    from lakeloop import paths
    from tests.support.repo import PLUGIN_SRC
    from tests.support.stores import stop_rows

    _seed_store()  # closed cleanly: no -shm file is left beside it, and none can be made on the mount
    data = paths.store_file().parent
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"], check=False).returncode:
        pytest.skip("needs unshare -m (root)")
    script = (
        f'mount --bind {data} {data} && mount -o remount,ro,bind {data} && exec "{sys.executable}" -c "$0" "$1" "$2"'
    )
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, READ_ONLY_MOUNT_PROBE, str(paths.store_file()), stop_rows(1)[0].path],
        env={**os.environ, "PYTHONPATH": str(PLUGIN_SRC)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip() == "3", done.stderr[-2000:]
