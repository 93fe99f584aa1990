"""The worker as real processes: detached start, one publisher per skill, stale lease take-over."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lakeloop import paths
from lakeloop.capture.react import react
from lakeloop.capture.rows import build_message, session_row
from lakeloop.identity import Identity
from lakeloop.skillopt import pending
from lakeloop.skillopt.publish import push
from lakeloop.skillopt.pull import pull
from lakeloop.store.embedded import EmbeddedStore
from tests.support.payloads import recorded_payloads
from tests.support.repo import REPO
from tests.support.waiting import wait_until

SID = "e8f2d602-bc51-4170-b4d4-df65e830a9f4"
REF = "db-migrate--alice"


@pytest.fixture
def test_log():
    import logging

    return logging.getLogger("lakeloop-tests")


@pytest.fixture
def world(tmp_path, monkeypatch, test_log):
    """Skill v1 in the store and pulled; the recorded session captured; a slow scripted agent CLI."""
    d = tmp_path / "authoring" / "db-migrate"
    d.mkdir(parents=True)
    (d / "SKILL.md").write_text("---\nname: db-migrate\n---\n1. Run `alembic upgrade head`.\n")
    push(d, name="db-migrate", author="alice")
    store = EmbeddedStore(paths.store_file())
    pull(store, test_log)
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


def _job(n: int) -> Path:
    job = {
        "session_id": SID,
        "skill": REF,
        "reaction": "that's wrong, the migration failed",
        "tool_use_id": "toolu_0001_Skill",
        "armed_version": 1,
        "user": "tester",
    }
    path = paths.jobs_dir() / f"job-{n}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(job))
    return path


def _worker(job: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO / "plugin"), "LAKELOOP_WORKER": "1"}
    return subprocess.Popen([sys.executable, "-m", "lakeloop.cli.main", "worker", str(job)], env=env)


def _versions(store: EmbeddedStore) -> list[int]:
    return sorted(r[0] for r in store._run("SELECT version FROM skills WHERE name = 'db-migrate'"))


def test_two_workers_on_one_skill_publish_once(world):
    """Two workers started together for the same skill: exactly one version 2 is published."""
    procs = [_worker(_job(1)), _worker(_job(2))]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert _versions(world) == [1, 2]
    log = paths.log_file().read_text()
    assert log.count("worker outcome=published") == 1
    assert ("worker outcome=locked" in log) or ("outcome=already_improved" in log)


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
    """A lease older than 10 minutes is stale: the worker takes it over and publishes."""
    lease = _plant_lease(age_s=601)
    assert _worker(_job(1)).wait(timeout=120) == 0
    assert _versions(world) == [1, 2]
    assert "took over a stale lease" in paths.log_file().read_text()
    assert not lease.path.exists()


def test_fresh_lease_of_a_live_worker_makes_the_next_one_exit_quietly(world):
    """A fresh lease held by a live process: the worker exits 0 with outcome=locked, publishing nothing."""
    _plant_lease(age_s=60)
    assert _worker(_job(1)).wait(timeout=60) == 0
    assert _versions(world) == [1]
    assert "worker outcome=locked" in paths.log_file().read_text()


def _proc_status(pid: int) -> tuple[int, str]:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[3]), fields[0]  # session id, state


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_reaction_starts_the_worker_detached(world, monkeypatch, test_log):
    """The reaction's worker runs in its own process session, stdin /dev/null, output to the log,
    LAKELOOP_WORKER=1, and react() returns without waiting for it."""
    monkeypatch.setenv("LAKELOOP_INVOCATION_BACKOFF_S", "30")  # keep it alive in its poll
    pending.arm("another-session", REF, "toolu_x", 3, 1)
    started = time.monotonic()
    job_file = react({"session_id": "another-session", "prompt": "no, that broke it", "cwd": "/w"}, test_log)
    assert job_file and time.monotonic() - started < 5

    def find_pid():
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if job_file.encode() in (entry / "cmdline").read_bytes():
                        return int(entry.name)
                except OSError:
                    continue
        return None

    pid = wait_until(find_pid, 10, "the worker process")
    try:
        wait_until(lambda: "invocation of" in paths.log_file().read_text(), 20, "the worker's first poll")
        session, _state = _proc_status(pid)
        assert session == pid != os.getsid(0)
        assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null"
        assert os.readlink(f"/proc/{pid}/fd/1") == str(paths.log_file())
        assert os.readlink(f"/proc/{pid}/fd/2") == str(paths.log_file())
        assert b"LAKELOOP_WORKER=1" in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert not Path(job_file).exists()  # the worker consumed its job file
        assert pending.peek("another-session")["budget"] == 2
    finally:
        os.kill(pid, signal.SIGKILL)
