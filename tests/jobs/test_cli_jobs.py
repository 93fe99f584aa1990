"""``lakeloop jobs [--json]``, ``jobs retry ID`` and ``jobs drop ID`` through the real command
line: the listing's shape, the actions, and the error exits (one line through the CLI's error
handler: exit 2 for a refused action, 1 for an unusable queue)."""

from __future__ import annotations

import json
import time

from lakeloop import paths
from lakeloop.jobs import db, queue
from tests.support.cli import run_lakeloop
from tests.support.jobs import job, use_probe_kinds, wait_state

KEYS = {"id", "kind", "key", "state", "attempts", "age_s", "last_error"}


def plant() -> dict[str, int]:
    """One job in each state, directly in the queue: ``{state: id}``."""
    conn = db.connect()
    now = time.time()
    try:
        ids = {}
        for key, end in (("running", None), ("done", "ok"), ("failed", "RuntimeError: boom")):
            queue.enqueue("probe", key, {"do": "ok"}, conn=conn, now=now)
            held = queue.claim(conn, f"tok-{key}", now + 3600, now)
            assert held is not None and held.key == key
            if end == "ok":
                queue.finish(conn, held.id, held.lease_owner, "ok", now)
            elif end:
                queue.fail(conn, held.id, held.lease_owner, end, now, max_attempts=1, schedule=(60.0,))
        queue.enqueue("probe", "queued", {"do": "ok"}, conn=conn, delay_s=3600)
        for row in queue.jobs(conn):
            ids[row.key] = row.id
        return ids
    finally:
        conn.close()


def test_without_a_queue_it_lists_nothing_and_creates_nothing():
    proc = run_lakeloop("jobs")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "no jobs\n", "")
    assert json.loads(run_lakeloop("jobs", "--json").stdout) == []
    assert not (paths.jobs_dir() / "queue.db").exists()


def test_json_lists_every_state_with_the_agreed_keys():
    ids = plant()
    proc = run_lakeloop("jobs", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["state"] for r in rows] == ["running", "queued", "failed", "done"]
    assert all(set(r) == KEYS for r in rows)
    by_state = {r["state"]: r for r in rows}
    assert by_state["failed"] == {
        "id": ids["failed"],
        "kind": "probe",
        "key": "failed",
        "state": "failed",
        "attempts": 1,
        "age_s": by_state["failed"]["age_s"],
        "last_error": "RuntimeError: boom",
    }
    assert all(isinstance(r["age_s"], int) and r["age_s"] >= 0 for r in rows)


def test_the_human_listing_is_a_table():
    plant()
    out = run_lakeloop("jobs").stdout.splitlines()
    assert out[0].split() == ["ID", "KIND", "KEY", "STATE", "AGE", "ATTEMPTS", "LAST", "ERROR"]
    assert len(out) == 5
    assert "RuntimeError: boom" in next(line for line in out if " failed " in line)


def test_retry_queues_a_failed_job_again_and_starts_a_runner_for_it(monkeypatch):
    use_probe_kinds(monkeypatch)
    ids = plant()
    proc = run_lakeloop("jobs", "retry", str(ids["failed"]))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"job {ids['failed']} (probe failed) queued again")
    done = wait_state("failed", "done")
    assert done.attempts == 1  # attempts were reset, then one ran


def test_drop_deletes_a_job_that_is_not_running():
    ids = plant()
    proc = run_lakeloop("jobs", "drop", str(ids["done"]))
    assert (proc.returncode, proc.stdout) == (0, f"job {ids['done']} (probe done) dropped\n")
    assert job("done") is None


def test_refused_actions_exit_2_with_one_line():
    ids = plant()
    for argv, words in (
        (("jobs", "drop", "999"), "no job 999"),
        (("jobs", "retry", "999"), "no job 999"),
        (("jobs", "drop", str(ids["running"])), "is running (held until"),
        (("jobs", "retry", str(ids["done"])), "is done"),
    ):
        proc = run_lakeloop(*argv)
        assert proc.returncode == 2, (argv, proc.stderr)
        assert proc.stderr.startswith("lakeloop: ") and words in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1
    assert job("running").state == "running"


def test_an_unusable_queue_exits_1_with_one_line():
    (paths.jobs_dir() / "queue.db").mkdir(parents=True)  # not a database file
    proc = run_lakeloop("jobs", "--json")
    assert proc.returncode == 1
    assert proc.stderr.startswith("lakeloop: the job queue ") and proc.stderr.count("\n") == 1
    assert "error" in json.loads(proc.stdout)
