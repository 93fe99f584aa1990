"""The queue across crashes and restarts: every deadline is on disk (``next_run_at``, and the
``.due`` file's mtime), so after every lakeloop process died, the SessionStart hook of a later
session starts a runner once a deadline passed, and not before; a corrupt queue database is set
aside with a notice and an empty queue takes its place."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.support.hooks import run_hook
from tests.support.jobs import job, lakeloop_pids, probe, probe_events, runner_starts, use_probe_kinds, wait_state
from tests.support.payloads import first_payload
from tests.support.waiting import wait_until

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")


def session_start(tmp_path) -> None:
    payload = first_payload("SessionStart")
    payload["cwd"] = str(tmp_path)
    run_hook("SessionStart", payload)


def test_after_everything_died_a_later_session_start_runs_the_due_jobs(monkeypatch, tmp_path):
    use_probe_kinds(monkeypatch, lease_s=3, linger_s=0.5)
    release = tmp_path / "release"
    probe("interrupted", "block", release=str(release))
    wait_until(lambda: probe_events("interrupted"), 15, "the first attempt to start")
    for pid in lakeloop_pids():  # the machine goes down: every lakeloop process dies at once
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not lakeloop_pids(), 10, "no lakeloop process")
    release.touch()
    from lakeloop.jobs import db, queue

    conn = db.connect()
    try:
        queue.enqueue("probe", "later", {"do": "ok"}, delay_s=6, conn=conn)  # a retry deadline, no runner
    finally:
        conn.close()
    lapse = job("interrupted").lease_until

    session_start(tmp_path)  # before any deadline: one stat, no runner
    if time.time() < lapse - 0.3:
        assert lakeloop_pids("run") == [] and runner_starts() == 1

    wait_until(lambda: time.time() > lapse, 10, "the lease to lapse")
    session_start(tmp_path)
    assert wait_state("interrupted", "done").attempts == 2
    assert job("later").state == "queued"  # its own deadline has not come
    wait_until(lambda: not lakeloop_pids(), 15, "the runner to leave")

    wait_until(lambda: time.time() > job("later").next_run_at, 10, "the later job's deadline")
    session_start(tmp_path)
    wait_state("later", "done")


def test_a_corrupt_queue_is_set_aside_with_a_notice(fresh_log):
    from lakeloop import notices, paths
    from lakeloop.jobs import db, queue

    paths.private_dir(paths.jobs_dir_str())
    Path(paths.jobs_db()).write_bytes(b"SQLite format 3\0" + os.urandom(4096))
    conn = db.connect(check=True)
    try:
        assert queue.enqueue("probe", "fresh", {}, conn=conn) == "new"
    finally:
        conn.close()
    aside = [p.name for p in paths.jobs_dir().iterdir() if p.name.startswith("queue.db.corrupt-")]
    assert len(aside) == 1
    assert "job queue" in fresh_log() and "was corrupt: set aside" in fresh_log()
    assert any("set aside" in text for text in notices.take())
