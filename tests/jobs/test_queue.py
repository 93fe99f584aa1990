"""The queue's operations in-process with a fake clock (``jobs.queue``): transitions, dedupe and
merging, attempts counted at claim, backoff, fencing by lease token, reaping only lapsed leases,
the listing, retry and drop, and the ``.due`` deadline file."""

from __future__ import annotations

import os

import pytest

from lakeloop import paths
from lakeloop.jobs import db, queue
from lakeloop.jobs.queue import JobRefused
from tests.support.jobs import assert_no_secret_in, secret_error

T = 1_800_000_000.0  # a fixed "now" (epoch seconds)
SCHEDULE = (60.0, 300.0)


def merge(old: dict, new: dict) -> dict:
    """A coalescing enqueuer's merge: ``final`` sticks, ``n`` adds up."""
    return {"final": bool(old.get("final") or new.get("final")), "n": old.get("n", 0) + new.get("n", 0)}


@pytest.fixture
def conn():
    connection = db.connect()
    yield connection
    connection.close()


def enqueue(conn, key="k", payload=None, *, kind="probe", now=T, **kw) -> str:
    return queue.enqueue(kind, key, payload if payload is not None else {"n": 1}, now=now, conn=conn, **kw)


def only(conn) -> queue.Job:
    [row] = queue.jobs(conn)
    return row


def claim(conn, token="tok-a", now=T, lease_s=45.0):
    return queue.claim(conn, token, now + lease_s, now)


def due_mtime() -> float | None:
    try:
        return os.stat(paths.jobs_due_file()).st_mtime
    except FileNotFoundError:
        return None


def test_claim_counts_the_attempt_and_takes_the_lease_then_finish_is_done(conn):
    assert enqueue(conn) == "new"
    assert claim(conn, now=T - 1) is None  # not due yet
    held = claim(conn)
    assert (held.state, held.attempts, held.lease_owner, held.lease_until) == ("running", 1, "tok-a", T + 45)
    assert claim(conn, "tok-b") is None  # one holder at a time
    assert queue.finish(conn, held.id, "tok-a", "written", T + 1) == "done"
    row = only(conn)
    assert (row.state, row.outcome, row.payload, row.finished_at, row.lease_owner) == (
        "done",
        "written",
        "{}",
        T + 1,
        "",
    )


def test_the_claim_order_is_due_time_then_id_and_kinds_can_be_left_out(conn):
    enqueue(conn, "late", delay_s=5)
    enqueue(conn, "early")
    enqueue(conn, "other", kind="other")
    assert claim(conn, now=T + 10).key == "early"
    assert queue.claim(conn, "t2", T + 60, T + 10, exclude_kinds={"probe"}).key == "other"
    assert claim(conn, "t3", now=T + 10).key == "late"


@pytest.mark.parametrize("state", ["queued", "running", "done", "failed"])
def test_without_a_merge_a_second_enqueue_changes_nothing_in_any_state(conn, state):
    enqueue(conn, payload={"n": 1})
    if state != "queued":
        held = claim(conn)
        if state == "done":
            queue.finish(conn, held.id, "tok-a", "ok", T)
        elif state == "failed":
            queue.fail(conn, held.id, "tok-a", "boom", T, max_attempts=1, schedule=SCHEDULE)
    before = only(conn)
    assert enqueue(conn, payload={"n": 2}, now=T + 5) == "exists"
    assert only(conn) == before


def test_with_a_merge_a_queued_job_is_merged_and_keeps_the_earlier_deadline(conn):
    enqueue(conn, payload={"n": 1}, delay_s=100, merge=merge)
    assert enqueue(conn, payload={"n": 2, "final": True}, delay_s=10, merge=merge) == "merged"
    row = only(conn)
    assert row.payload_dict() == {"final": True, "n": 3}
    assert row.next_run_at == T + 10 and row.state == "queued"


def test_with_a_merge_a_running_job_runs_again_after_with_the_merged_payload(conn):
    enqueue(conn, payload={"n": 1}, merge=merge)
    held = claim(conn)
    assert enqueue(conn, payload={"n": 2, "final": True}, now=T + 1, merge=merge) == "rerun"
    assert only(conn).state == "running"
    assert queue.finish(conn, held.id, "tok-a", "ok", T + 2) == "queued"
    row = only(conn)
    assert (row.state, row.attempts, row.rerun, row.next_run_at) == ("queued", 0, False, T + 2)
    assert row.payload_dict() == {"final": True, "n": 3}


def test_with_a_merge_a_done_or_failed_job_is_queued_anew(conn):
    enqueue(conn, "d", payload={"n": 1}, merge=merge)
    queue.finish(conn, claim(conn).id, "tok-a", "ok", T)
    assert enqueue(conn, "d", payload={"n": 5}, now=T + 9, merge=merge) == "new"
    row = only(conn)
    assert (row.state, row.attempts, row.payload_dict(), row.created_at) == ("queued", 0, {"n": 5}, T + 9)

    held = claim(conn, now=T + 9)
    queue.fail(conn, held.id, "tok-a", "boom", T + 9, max_attempts=1, schedule=SCHEDULE)
    assert enqueue(conn, "d", payload={"n": 1}, now=T + 10, merge=merge) == "new"
    row = only(conn)
    assert (row.state, row.attempts, row.payload_dict()) == ("queued", 0, {"final": False, "n": 6})


def test_retry_later_gives_the_attempt_back_and_waits(conn):
    enqueue(conn)
    held = claim(conn)
    assert queue.retry_later(conn, held.id, "tok-a", 30, "store still lagging", T + 1) == "queued"
    row = only(conn)
    assert (row.attempts, row.next_run_at, row.last_error) == (0, T + 31, "waiting: store still lagging")


def test_a_failed_attempt_is_retried_with_backoff_then_failed_with_its_cause(conn):
    enqueue(conn)
    for attempt, pause in ((1, 60.0), (2, 300.0)):
        now = only(conn).next_run_at
        held = claim(conn, now=now)
        assert held.attempts == attempt
        assert (
            queue.fail(
                conn, held.id, "tok-a", f"boom {attempt}", now, max_attempts=3, schedule=SCHEDULE, rand=lambda: 0.5
            )
            == "queued"
        )
        assert only(conn).next_run_at == now + pause
        assert only(conn).last_error == f"boom {attempt}"
    now = only(conn).next_run_at
    held = claim(conn, now=now)
    assert queue.fail(conn, held.id, "tok-a", "boom 3", now, max_attempts=3, schedule=SCHEDULE) == "failed"
    row = only(conn)
    assert (row.state, row.attempts, row.last_error, row.finished_at) == ("failed", 3, "boom 3", now)


def test_a_permanent_failure_ends_at_once(conn):
    enqueue(conn)
    held = claim(conn)
    assert (
        queue.fail(conn, held.id, "tok-a", "bad payload", T, max_attempts=5, schedule=SCHEDULE, permanent=True)
        == "failed"
    )


def test_backoff_follows_the_schedule_within_its_jitter():
    assert queue.backoff_s(1, SCHEDULE, rand=lambda: 0.0) == pytest.approx(60 * (1 - queue.JITTER))
    assert queue.backoff_s(1, SCHEDULE, rand=lambda: 0.999999) == pytest.approx(60 * (1 + queue.JITTER), rel=1e-5)
    assert queue.backoff_s(2, SCHEDULE, rand=lambda: 0.5) == 300
    assert queue.backoff_s(9, SCHEDULE, rand=lambda: 0.5) == 300  # the last step repeats
    for _ in range(200):
        assert 54 <= queue.backoff_s(1, SCHEDULE) <= 66


def test_the_last_error_is_one_bounded_line_without_secrets(conn):
    enqueue(conn)
    held = claim(conn)
    key = "dl" + "_Z7QW3PJX5M2VBN4Cq8rT"
    error = f"HTTP 401\nAuthorization: Bearer {key} token={key} " + "x" * 1000
    queue.fail(conn, held.id, "tok-a", error, T, max_attempts=2, schedule=SCHEDULE)
    kept = only(conn).last_error
    assert key not in kept and "\n" not in kept and len(kept) <= queue.MAX_ERROR_CHARS
    assert kept.startswith("HTTP 401 Authorization: ***")


def test_finish_fail_and_renew_are_fenced_by_the_lease_token(conn):
    enqueue(conn)
    held = claim(conn)
    assert queue.renew(conn, held.id, "tok-b", T + 100, T) is False
    assert queue.finish(conn, held.id, "tok-b", "ok", T) is None
    assert queue.fail(conn, held.id, "tok-b", "x", T, max_attempts=1, schedule=SCHEDULE) is None
    assert queue.retry_later(conn, held.id, "tok-b", 1, "x", T) is None
    assert only(conn).state == "running" and only(conn).lease_until == T + 45
    assert queue.renew(conn, held.id, "tok-a", T + 100, T + 10) is True
    assert only(conn).lease_until == T + 100


def test_reap_takes_back_only_lapsed_leases(conn):
    enqueue(conn, "a")
    enqueue(conn, "b")
    a = claim(conn, "tok-a")
    claim(conn, "tok-b", lease_s=90)
    assert queue.reap(conn, T + 44.9, lambda kind: 3) == []
    reaped = queue.reap(conn, T + 45, lambda kind: 3)
    assert [(job.id, state) for job, state in reaped] == [(a.id, "queued")]
    rows = {j.key: j for j in queue.jobs(conn)}
    assert rows["a"].last_error == queue.RUNNER_DIED and rows["a"].attempts == 1
    assert rows["b"].state == "running"
    assert queue.finish(conn, a.id, "tok-a", "late", T + 46) is None  # the dead runner's word is void
    assert [(j.key, s) for j, s in queue.reap(conn, T + 90, lambda kind: 1)] == [("b", "failed")]


def test_listing_shows_each_job_with_its_age_and_only_recent_done_ones(conn):
    enqueue(conn, "old", now=T - 3 * 86400)
    queue.finish(conn, claim(conn, now=T - 3 * 86400).id, "tok-a", "ok", T - 2 * 86400)
    enqueue(conn, "recent", now=T - 100)
    queue.finish(conn, claim(conn, now=T - 100).id, "tok-a", "ok", T - 50)
    enqueue(conn, "queued", now=T - 7)
    rows = queue.listing(conn, now=T)
    assert [r["key"] for r in rows] == ["queued", "recent"]
    assert rows[0] == {
        "id": rows[0]["id"],
        "kind": "probe",
        "key": "queued",
        "state": "queued",
        "attempts": 0,
        "age_s": 7,
        "last_error": "",
    }


def test_retry_and_drop(conn):
    enqueue(conn)
    held = claim(conn)
    with pytest.raises(JobRefused, match="running"):
        queue.drop(conn, held.id)
    with pytest.raises(JobRefused, match="running"):
        queue.retry(conn, held.id)
    queue.fail(conn, held.id, "tok-a", "boom", T, max_attempts=1, schedule=SCHEDULE)
    queue.retry(conn, held.id, now=T + 5)
    row = only(conn)
    assert (row.state, row.attempts, row.next_run_at) == ("queued", 0, T + 5)
    queue.drop(conn, held.id)
    assert queue.jobs(conn) == []
    with pytest.raises(JobRefused, match="no job"):
        queue.drop(conn, held.id)
    with pytest.raises(JobRefused, match="no job"):
        queue.retry(conn, 999)


def test_the_due_file_carries_the_next_deadline(conn):
    assert due_mtime() is None
    enqueue(conn, "a", delay_s=100)
    assert due_mtime() == T + 100
    enqueue(conn, "b", delay_s=10)
    assert due_mtime() == T + 10
    held = claim(conn, now=T + 10, lease_s=45)  # running: its lease lapse is a deadline too
    assert due_mtime() == T + 55
    queue.finish(conn, held.id, "tok-a", "ok", T + 11)
    assert due_mtime() == T + 100
    queue.drop(conn, queue.jobs(conn, ["queued"])[0].id)
    assert due_mtime() is None


def test_kick_if_due_is_one_stat_until_the_deadline(conn, monkeypatch):
    import logging

    from lakeloop.jobs import wake

    started = []
    monkeypatch.setattr(wake, "ensure_running", lambda log: started.append(1) or "started")
    log = logging.getLogger("lakeloop.test")
    assert wake.kick_if_due(log, now=T) is None  # nothing queued: no file
    enqueue(conn, delay_s=60)
    assert wake.kick_if_due(log, now=T + 59) is None and started == []
    assert wake.kick_if_due(log, now=T + 60) == "started" and started == [1]


def test_bad_kinds_keys_and_payloads_are_refused(conn):
    for kind in ("", "Upper", "1st", "a" * 41, "sp ace"):
        with pytest.raises(ValueError):
            enqueue(conn, kind=kind)
    with pytest.raises(ValueError):
        enqueue(conn, "")
    with pytest.raises(ValueError):
        enqueue(conn, "k" * (queue.MAX_KEY_CHARS + 1))
    with pytest.raises(ValueError):
        enqueue(conn, payload={"text": "x" * queue.MAX_PAYLOAD_BYTES})
    assert queue.jobs(conn) == []


def test_prune_deletes_old_done_and_failed_jobs(conn):
    enqueue(conn, "done")
    queue.finish(conn, claim(conn).id, "tok-a", "ok", T)
    enqueue(conn, "failed")
    queue.fail(conn, claim(conn).id, "tok-a", "x", T, max_attempts=1, schedule=SCHEDULE)
    assert queue.prune(conn, T + queue.DONE_KEPT_S + 1) == 1
    assert [j.key for j in queue.jobs(conn)] == ["failed"]
    assert queue.prune(conn, T + queue.FAILED_KEPT_S + 1) == 1


def test_the_database_is_private(conn):
    assert os.stat(paths.jobs_db()).st_mode & 0o777 == 0o600
    assert os.stat(paths.jobs_dir_str()).st_mode & 0o777 == 0o700


def test_last_error_and_outcome_keep_no_secret(conn):
    """Whatever error text reaches the queue (an exception's message, a wait's reason, an outcome
    word) is kept through the project's redaction, in ``last_error``, the listing and ``outcome``."""
    error, secrets = secret_error()
    enqueue(conn, "a")
    enqueue(conn, "b")
    enqueue(conn, "c")
    queue.fail(conn, claim(conn).id, "tok-a", "RuntimeError: " + error, T, max_attempts=1, schedule=SCHEDULE)
    queue.retry_later(conn, claim(conn, "tok-b").id, "tok-b", 5, error, T)
    queue.finish(conn, claim(conn, "tok-c").id, "tok-c", secrets["github_token"], T)
    rows = {j.key: j for j in queue.jobs(conn)}
    kept = [rows["a"].last_error, rows["b"].last_error, rows["c"].outcome, str(queue.listing(conn, now=T))]
    assert_no_secret_in(kept, secrets)
    assert rows["a"].last_error.startswith("RuntimeError: store refused key [REDACTED:")
    assert "[REDACTED:" in rows["c"].outcome


def test_error_text_withholds_the_text_when_the_secret_filter_fails(monkeypatch):
    import lakeloop.redact

    def broken(text, patterns=None):
        raise RuntimeError("no detectors")

    monkeypatch.setattr(lakeloop.redact, "redact_text", broken)
    assert queue.error_text(secret_error()[0]) == queue.WITHHELD


def test_a_deadline_past_any_clock_is_kept_as_far_future(conn):
    """An absurd delay (a kind's ``RetryLater(1e400)``, an infinite delay) never breaks the write
    that sets it: ``.due`` records ``FAR_FUTURE``."""
    assert enqueue(conn, "never", delay_s=float("inf")) == "new"
    assert due_mtime() == queue.FAR_FUTURE
    enqueue(conn, "soon")
    held = claim(conn)
    assert queue.retry_later(conn, held.id, "tok-a", float("1e400"), "later", T) == "queued"
    assert due_mtime() == queue.FAR_FUTURE


def test_prune_and_a_set_aside_queue_leave_no_stale_deadline(conn):
    """A ``.due`` whose deadline no job holds (touched, or kept from a queue set aside) is brought
    back in line by prune (the runner's start) and by setting a corrupt queue aside."""
    from pathlib import Path

    due = Path(paths.jobs_due_file())
    due.touch()
    os.utime(due, (T - 10, T - 10))
    queue.prune(conn, T)
    assert due_mtime() is None

    enqueue(conn, "lost", delay_s=5)
    assert due_mtime() == T + 5
    conn.close()
    Path(paths.jobs_db()).write_bytes(b"SQLite format 3\0" + os.urandom(4096))
    fresh = db.connect(check=True)
    try:
        assert queue.jobs(fresh) == [] and due_mtime() is None
    finally:
        fresh.close()
