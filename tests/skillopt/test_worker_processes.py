"""The skill optimizer as a job of the real job runner: detached start, one publisher per skill,
stale lease take-over, a replayed reaction queued once, a job file an older lakeloop left.

The reactions are queued through ``capture.react.react`` or ``lakeloop.jobs.submit`` (the
enqueuer's real path: enqueue, then start or wake the runner); the runner and its ``jobs exec``
processes are real subprocesses; the judge and proposer are the scripted agent CLI
(``lakeloop.demo_agent``), one second slow.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lakeloop import jobs, paths
from lakeloop.capture.react import react
from lakeloop.capture.rows import build_message, session_row
from lakeloop.identity import Identity
from lakeloop.skillopt import pending
from lakeloop.skillopt.job import NAME
from lakeloop.skillopt.publish import push
from lakeloop.skillopt.pull import pull
from lakeloop.store.embedded import EmbeddedStore
from tests.support.jobs import job, lakeloop_pids, wait_state
from tests.support.jobs import runners_end as end_runners
from tests.support.logs import log_text
from tests.support.payloads import recorded_payloads
from tests.support.repo import REPO
from tests.support.waiting import wait_until

SID = "e8f2d602-bc51-4170-b4d4-df65e830a9f4"
REF = "db-migrate--alice"
LOG = logging.getLogger("lakeloop-tests")


@pytest.fixture(autouse=True)
def runners_end(monkeypatch):
    """A runner lingers one second; after the test no runner or job process of ours is left."""
    yield from end_runners(monkeypatch)


@pytest.fixture
def world(tmp_path, monkeypatch):
    """Skill v1 in the store and pulled; the recorded session captured; a slow scripted agent CLI."""
    d = tmp_path / "authoring" / "db-migrate"
    d.mkdir(parents=True)
    (d / "SKILL.md").write_text("---\nname: db-migrate\n---\n1. Run `alembic upgrade head`.\n")
    push(d, name="db-migrate", author="alice")
    store = EmbeddedStore(paths.store_file())
    pull(store, LOG)
    for payload in recorded_payloads()[:11]:  # up to the first turn's Stop
        message = build_message(payload)
        if message:
            store.append_session_row(session_row(message, Identity("tester")))
    cli = tmp_path / "slow-agent"
    cli.write_text(
        f'#!/bin/sh\nsleep 1\nPYTHONPATH={REPO / "plugin"} exec {sys.executable} -m lakeloop.demo_agent "$@"\n'
    )
    cli.chmod(0o755)
    monkeypatch.setenv("LAKELOOP_CLAUDE_BIN", str(cli))
    monkeypatch.setenv("LAKELOOP_INVOCATION_BACKOFF_S", "0.05")
    return store


def _payload() -> dict:
    return {
        "session_id": SID,
        "skill": REF,
        "reaction": "that's wrong, the migration failed",
        "tool_use_id": "toolu_0001_Skill",
        "armed_version": 1,
        "user": "tester",
        "reacted_at": time.time(),
    }


def _versions(store: EmbeddedStore) -> list[int]:
    return sorted(r[0] for r in store._run("SELECT version FROM skills WHERE name = 'db-migrate'"))


def _outcomes() -> list[str]:
    lines = [line for line in log_text().splitlines() if "worker outcome=" in line]
    return [line.split("worker outcome=", 1)[1].split()[0].rstrip(":") for line in lines]


def _exec(job_id: int, token: str) -> subprocess.Popen:
    """``jobs exec ID TOKEN`` as the runner starts it: its own session, stdin a pipe kept open
    (its end would tell the process that its runner died)."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "plugin"), "LAKELOOP_WORKER": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "lakeloop.cli.main", "jobs", "exec", str(job_id), token],
        stdin=subprocess.PIPE,
        start_new_session=True,
        env=env,
    )


def test_two_improvers_on_one_skill_at_once_publish_once(world):
    """Two jobs of one skill run at the same moment (two ``jobs exec`` processes, each holding its
    job's lease): the per-skill lease lets exactly one version 2 through."""
    from lakeloop.jobs import db, queue

    conn = db.connect()
    try:
        held = []
        for n in (1, 2):
            assert queue.enqueue(NAME, f"reaction:{n:04x}", _payload(), conn=conn) == "new"
            claimed = queue.claim(conn, f"test:{n}", time.time() + 600, time.time())
            assert claimed is not None
            held.append(claimed)
    finally:
        conn.close()
    procs = [_exec(j.id, j.lease_owner) for j in held]
    try:
        assert [p.wait(timeout=120) for p in procs] == [0, 0]
    finally:
        for p in procs:
            p.stdin.close()
    assert _versions(world) == [1, 2]
    outcomes = _outcomes()
    assert outcomes.count("published") == 1 and len(outcomes) == 2
    assert {"locked", "already_improved"} & set(outcomes)
    assert [job(f"reaction:{n:04x}", NAME).state for n in (1, 2)] == ["done", "done"]


def test_two_reactions_on_one_skill_through_the_runner_publish_once(world):
    """Two reactions to one skill queued together: the runner runs them (one skill job at a
    time), the second finds version 2 already there: exactly one version 2."""
    assert [jobs.submit(NAME, key, _payload(), log=LOG) for key in ("reaction:0001", "reaction:0002")] == ["new"] * 2
    for key in ("reaction:0001", "reaction:0002"):
        wait_state(key, "done", 120, kind=NAME)
    assert _versions(world) == [1, 2]
    assert sorted(_outcomes()) == ["already_improved", "published"]


def _plant_lease(age_s: float):
    """A lease on REF held by this (live) test process, acquired ``age_s`` seconds ago."""
    from lakeloop.skillopt.lease import SkillLease

    lease = SkillLease(REF)
    lease.path.parent.mkdir(parents=True, exist_ok=True)
    lease.path.write_text(
        json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "acquired_at": time.time() - age_s})
    )
    return lease


def test_stale_lease_is_taken_over(world):
    """A lease older than 10 minutes is stale: the job takes it over and publishes."""
    lease = _plant_lease(age_s=601)
    jobs.submit(NAME, "reaction:0001", _payload(), log=LOG)
    wait_state("reaction:0001", "done", 120, kind=NAME)
    assert _versions(world) == [1, 2]
    assert "took over a stale lease" in log_text()
    # the judged use's outcomes job takes the same lease for its rollback decision, then frees it
    wait_until(lambda: not lease.path.exists(), 60, "the skill lease freed")


def test_fresh_lease_of_a_live_worker_makes_the_job_end_quietly(world):
    """A fresh lease held by a live process: the job is done with outcome ``locked``, nothing
    published, nothing retried."""
    _plant_lease(age_s=60)
    jobs.submit(NAME, "reaction:0001", _payload(), log=LOG)
    row = wait_state("reaction:0001", "done", 60, kind=NAME)
    assert (row.outcome, row.attempts) == ("locked", 1)
    assert _versions(world) == [1]
    assert _outcomes() == ["locked"]


def test_a_replayed_reaction_is_one_job(world):
    """The drainer replays a prompt's entry: the spent window is not spent again, and the job's
    key (``reaction:<event id>``, unique for good) makes a second queueing of it, even after the
    job ended, change nothing: one job, one run."""
    pending.arm("s-replay", REF, "toolu_0001_Skill", 3, 1)
    prompt = {"session_id": "s-replay", "prompt": "no, that broke it", "cwd": "/w"}
    received = time.time_ns()
    key = react(prompt, LOG, received, "0a1b2c3d-0001")
    assert key == "reaction:0a1b2c3d-0001"
    assert react(prompt, LOG, received, "0a1b2c3d-0001") is None  # spent by this event already
    assert jobs.submit(NAME, key, _payload(), log=LOG) == "exists"  # queued, or running
    wait_state(key, "done", 120, kind=NAME)
    assert jobs.submit(NAME, key, _payload(), log=LOG) == "exists"  # done
    wait_until(lambda: not lakeloop_pids("run"), 30, "the runner to exit")
    assert log_text().count("worker start skill=") == 1
    assert log_text().count("kind=skill-improve attempt=1/1 started") == 1
    assert pending.peek("s-replay")["budget"] == 2


def test_a_job_file_an_older_lakeloop_left_is_run_as_a_job(world):
    """``lakeloop worker FILE`` (what an older lakeloop started for its job files) queues the
    file's reaction under its key, deletes the file and returns; the runner publishes v2."""
    job_file = paths.jobs_dir() / "reaction-0a1b2c3d-0009.json"
    job_file.parent.mkdir(parents=True, exist_ok=True)
    job_file.write_text(json.dumps(_payload()))
    env = {**os.environ, "PYTHONPATH": str(REPO / "plugin"), "LAKELOOP_WORKER": "1"}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "lakeloop.cli.main", "worker", str(job_file)], env=env, timeout=60)
    assert proc.returncode == 0 and time.monotonic() - started < 10  # it does not run the job itself
    assert not job_file.exists()
    wait_state("reaction:0a1b2c3d-0009", "done", 120, kind=NAME)
    assert _versions(world) == [1, 2]


def _proc_status(pid: int) -> tuple[int, str]:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[3]), fields[0]  # session id, state


def _alive(pid: int) -> bool:
    try:
        return _proc_status(pid)[1] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_reaction_starts_the_runner_detached(world, monkeypatch):
    """The reaction queues its job and returns at once; the runner and the job's process run in
    sessions of their own, with ``LAKELOOP_WORKER=1``; the runner's stdin is /dev/null and its
    output goes to the log, the job's stdin is a pipe from the runner, its stdout /dev/null and its
    stderr a pipe the runner reads; the reaction text is in no argv. The runner's
    death takes the job's process with it."""
    monkeypatch.setenv("LAKELOOP_INVOCATION_BACKOFF_S", "30")  # keep the job alive in its poll
    pending.arm("another-session", REF, "toolu_x", 3, 1)
    started = time.monotonic()
    key = react({"session_id": "another-session", "prompt": "no, that broke it", "cwd": "/w"}, LOG)
    assert key and key.startswith("reaction:") and time.monotonic() - started < 5
    runner = wait_until(lambda: lakeloop_pids("run"), 10, "the job runner")[0]
    child = wait_until(lambda: lakeloop_pids("exec"), 10, "the job's process")[0]
    try:
        wait_until(lambda: "invocation of" in log_text(), 20, "the worker's first poll")
        for pid in (runner, child):
            assert _proc_status(pid)[0] == pid != os.getsid(0)
            assert b"LAKELOOP_WORKER=1" in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert b"broke" not in Path(f"/proc/{pid}/cmdline").read_bytes()
        assert os.readlink(f"/proc/{runner}/fd/0") == "/dev/null"
        assert os.readlink(f"/proc/{runner}/fd/1") == os.readlink(f"/proc/{runner}/fd/2") == str(paths.log_file())
        assert os.readlink(f"/proc/{child}/fd/0").startswith("pipe:")
        assert os.readlink(f"/proc/{child}/fd/1") == "/dev/null"  # the job's stderr: a pipe the runner reads
        assert os.readlink(f"/proc/{child}/fd/2").startswith("pipe:")
        row = job(key, NAME)
        assert (row.state, row.attempts) == ("running", 1)
        assert pending.peek("another-session")["budget"] == 2
        os.kill(runner, signal.SIGKILL)
        wait_until(lambda: not _alive(child), 10, "the job's process to die with its runner")
    finally:
        for pid in (runner, child):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
