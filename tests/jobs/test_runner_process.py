"""The job runner as real processes: an enqueue starts one detached runner, which runs the job in
a process of its own, lingers, and exits; concurrent enqueues share one runner; an enqueue during
the linger wakes the live runner through its FIFO; an enqueue as the runner leaves is never
stranded; a stale deadline file costs one idle runner at most; a runner whose lock file was
removed claims nothing more and hands over."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from tests.support.jobs import (
    job,
    lakeloop_pids,
    parent,
    probe,
    probe_events,
    probe_kind,
    queue_rows,
    runner_starts,
    use_probe_kinds,
    wait_state,
)
from tests.support.processes import run_together
from tests.support.waiting import wait_until

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")


def test_an_enqueue_starts_one_detached_runner_that_runs_the_job_then_exits(monkeypatch, tmp_path):
    use_probe_kinds(monkeypatch, linger_s=1)
    release = tmp_path / "release"
    assert probe("a", "block", release=str(release)) == "new"

    wait_until(lambda: probe_events("a"), 10, "the job to start")
    [executor] = lakeloop_pids("exec")
    pid = parent(executor)
    assert lakeloop_pids("run") == [pid]  # one runner, and the job runs in a process of its own
    from lakeloop import paths

    assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null"
    assert os.readlink(f"/proc/{pid}/fd/1") == str(paths.log_file())
    assert b"LAKELOOP_WORKER=1" in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert os.getsid(pid) == pid  # its own session: detached from the enqueuer
    assert os.getpgid(executor) == executor  # its own process group: killable as one

    release.touch()
    done = wait_state("a", "done")
    assert done.outcome == "ok" and done.attempts == 1
    wait_until(lambda: not lakeloop_pids(), 15, "the runner to exit after its linger")
    assert runner_starts() == 1
    assert [e["event"] for e in probe_events("a")] == ["start", "done"]


def test_twenty_concurrent_enqueues_share_one_runner(monkeypatch):
    use_probe_kinds(monkeypatch, linger_s=8)
    code = (
        "import sys\n"
        "sys.path.insert(0, sys.argv[2])\n"
        "sys.stdin.readline()\n"
        "from tests.support.jobs import probe\n"
        "print(probe(sys.argv[1]))\n"
    )
    repo = str(Path(__file__).resolve().parents[2])
    outs = run_together(code, [[f"k{i}", repo] for i in range(20)])
    assert sorted(o.strip() for o in outs) == ["new"] * 20
    wait_until(lambda: all(j.state == "done" for j in queue_rows()) and len(queue_rows()) == 20, 60, "20 jobs done")
    assert runner_starts() == 1
    assert len(lakeloop_pids("run")) <= 1


def test_an_enqueue_during_the_linger_wakes_the_live_runner(monkeypatch, tmp_path):
    use_probe_kinds(monkeypatch, linger_s=10)
    probe("first")
    wait_state("first", "done")
    runner = lakeloop_pids("run")
    assert len(runner) == 1

    time.sleep(0.5)  # the runner is now in its linger, blocked in select
    probe("second", "block", release=str(tmp_path / "never"))
    claimed = wait_state("second", "running", timeout=5)
    latency = claimed.updated_at - claimed.created_at
    assert latency < 0.5, f"the FIFO wake took {latency:.3f} s"
    assert lakeloop_pids("run") == runner and runner_starts() == 1


def test_the_runner_recheck_takes_a_job_that_arrived_as_it_left(monkeypatch):
    """The race at the linger's end, made deterministic: a job committed while the runner still
    holds the lock, whose wake is never read (no FIFO): the runner's last look at the queue,
    after it released the lock, must take the lock again and go on."""
    use_probe_kinds(monkeypatch)
    import logging

    from lakeloop import locks, paths
    from lakeloop.jobs import db, queue
    from lakeloop.jobs.runner import Runner

    paths.private_dir(paths.jobs_dir_str())
    fd = locks.try_lock(paths.jobs_runner_lock())
    assert fd is not None
    runner = Runner({}, fd, logging.getLogger("lakeloop.test"), linger_s=0)
    runner.conn = db.connect()
    try:
        assert runner._hand_over() is False  # nothing due: it leaves, the lock released
        assert not locks.is_held(paths.jobs_runner_lock())
        runner.lock_fd = locks.try_lock(paths.jobs_runner_lock())
        queue.enqueue("probe", "late", {"do": "ok"}, conn=runner.conn)  # no wake: a lost FIFO byte
        assert runner._hand_over() is True
        assert runner.lock_fd is not None and locks.holds(runner.lock_fd, paths.jobs_runner_lock())
    finally:
        runner._close()


def test_enqueues_racing_the_linger_end_are_never_stranded(monkeypatch):
    """Enqueue at the moment the runner leaves, many times: every job ends done without any kick."""
    use_probe_kinds(monkeypatch, linger_s=0.2)
    probe("warm")
    wait_state("warm", "done")
    for i in range(8):
        wait_until(lambda: not lakeloop_pids("run"), 15, "the runner to leave")
        probe(f"r{i}")
        time.sleep(0.15 + 0.02 * i)  # the next enqueue lands around this runner's linger end
        probe(f"s{i}")
    wait_until(lambda: all(j.state == "done" for j in queue_rows()), 60, "every job done")
    assert len(queue_rows()) == 17
    assert job("s7").state == "done"


def test_a_runner_started_without_the_lock_runs_nothing(monkeypatch):
    use_probe_kinds(monkeypatch)
    import subprocess

    from lakeloop import paths
    from lakeloop.jobs import queue

    queue.enqueue("probe", "x", {"do": "ok"})
    paths.private_dir(paths.jobs_dir_str())
    with open(paths.jobs_dir() / "not-the-lock", "w") as other:
        proc = subprocess.run(
            [sys.executable, "-m", "lakeloop.cli.main", "jobs", "run", "--lock-fd", str(other.fileno())],
            pass_fds=(other.fileno(),),
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join(
                    [str(paths.__file__).rsplit("/lakeloop/", 1)[0], os.environ["PYTHONPATH"]]
                ),
            },
            capture_output=True,
            timeout=30,
        )
    assert proc.returncode == 1
    assert job("x").state == "queued"


def test_a_stale_deadline_file_costs_one_idle_runner(monkeypatch):
    """A ``.due`` whose deadline no job holds (touched; kept from a queue set aside or from
    dropped jobs) starts one runner, which re-syncs it with the queue at its start and at its exit:
    the next kick starts nothing."""
    use_probe_kinds(monkeypatch, linger_s=1.5)
    import logging

    from lakeloop import paths
    from lakeloop.jobs import wake

    log = logging.getLogger("lakeloop.test")
    paths.private_dir(paths.jobs_dir_str())
    due = Path(paths.jobs_due_file())
    due.touch()
    os.utime(due, (1.0, 1.0))  # a deadline long past, and no job at all
    assert wake.kick_if_due(log) == "started"
    wait_until(lambda: runner_starts() == 1 and not due.exists(), 10, "the runner to re-sync .due")
    due.touch()  # touched again while the runner lingers: its exit puts it right
    os.utime(due, (1.0, 1.0))
    wait_until(lambda: not lakeloop_pids(), 15, "the runner to leave")
    assert not due.exists()
    assert wake.kick_if_due(log) is None
    assert runner_starts() == 1


def test_a_runner_whose_lock_file_was_removed_claims_nothing_more_and_hands_over(monkeypatch):
    """Another runner may take a new lock file at the same path: the old one must stop claiming
    (two runners would run one kind twice at once) and leave the due job to a successor."""
    use_probe_kinds(monkeypatch)
    import logging

    from lakeloop import locks, paths
    from lakeloop.jobs import db, queue
    from lakeloop.jobs.runner import Runner

    paths.private_dir(paths.jobs_dir_str())
    fd = locks.try_lock(paths.jobs_runner_lock())
    assert fd is not None
    runner = Runner({"probe": probe_kind()}, fd, logging.getLogger("lakeloop.test"), linger_s=60)
    runner.conn = db.connect()
    try:
        os.unlink(paths.jobs_runner_lock())
        queue.enqueue("probe", "after", {"do": "ok"}, conn=runner.conn)
        assert runner._tick() is None and runner.children == {}
        assert job("after").state == "queued"
        assert runner._hand_over() is False  # it starts a runner holding the new lock file
    finally:
        runner._close()
    wait_state("after", "done")
    assert runner_starts() == 1


def test_a_wait_longer_than_select_accepts_is_bounded():
    """Whatever timeout the loop computes (a linger of 1e20 s), the wait neither raises nor hangs."""
    import logging

    from lakeloop import paths
    from lakeloop.jobs import wake
    from lakeloop.jobs.runner import Runner

    paths.private_dir(paths.jobs_dir_str())
    runner = Runner({}, -1, logging.getLogger("lakeloop.test"), linger_s=1e20)
    runner.fifo = runner._open_fifo()
    try:
        assert wake.wake()
        runner._wait(1e20)  # returns at the wake
    finally:
        runner._close()
