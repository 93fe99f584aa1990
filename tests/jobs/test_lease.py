"""Leases with real processes: a killed runner's job is never taken while its lease holds, is
taken again once it lapses (within one lease of the kill), and completes once; a live runner
renews the lease of a job that runs for many leases."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.support.jobs import job, lakeloop_pids, parent, probe, probe_events, use_probe_kinds, wait_state
from tests.support.waiting import wait_until

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")

LEASE_S = 3.0


def test_a_killed_runners_job_waits_for_its_lease_then_completes_once(monkeypatch, tmp_path, fresh_log):
    import logging

    from lakeloop.jobs import wake

    use_probe_kinds(monkeypatch, lease_s=LEASE_S, linger_s=1)
    release = tmp_path / "release"
    probe("held", "block", release=str(release))
    held = wait_state("held", "running")
    wait_until(lambda: probe_events("held"), 10, "the attempt to start")
    [executor] = lakeloop_pids("exec")
    runner = parent(executor)
    assert lakeloop_pids("run") == [runner]

    os.kill(runner, signal.SIGKILL)
    killed_at = time.time()
    wait_until(lambda: executor not in lakeloop_pids(), 10, "the job's process to die with its runner")
    release.touch()  # a second attempt may now finish

    row = job("held")
    assert row.state == "running" and row.lease_owner == held.lease_owner
    assert row.lease_until <= killed_at + LEASE_S + 0.1  # the lease lapses within one lease of the death

    # A runner started while the lease holds leaves the job alone.
    assert wake.ensure_running(logging.getLogger("lakeloop.test")) == "started"
    wait_until(lambda: "jobs: runner start" in fresh_log(), 10, "the second runner")
    while time.time() < row.lease_until - 0.2:
        current = job("held")
        assert current.state == "running" and current.lease_owner == held.lease_owner
        time.sleep(0.1)

    # After the lapse, a kick (as a later hook does) starts a runner that takes it again.
    wait_until(lambda: not lakeloop_pids("run"), 15, "the second runner to leave")
    wait_until(lambda: time.time() > row.lease_until, 10, "the lease to lapse")
    assert wake.kick_if_due(logging.getLogger("lakeloop.test")) == "started"
    done = wait_state("held", "done")
    assert done.attempts == 2
    assert [e["event"] for e in probe_events("held")] == ["start", "start", "done"]


def test_a_live_runner_renews_the_lease_of_a_long_job(monkeypatch):
    use_probe_kinds(monkeypatch, lease_s=LEASE_S, linger_s=1)
    probe("long", "sleep", seconds=3 * LEASE_S)
    first = wait_state("long", "running")
    wait_until(lambda: probe_events("long"), 10, "the attempt to start")
    renewed = False
    while (row := job("long")).state == "running":
        assert row.lease_owner == first.lease_owner
        assert row.lease_until > time.time() - 0.5  # never lapsed while its runner lives
        renewed = renewed or row.lease_until > first.lease_until
        time.sleep(0.2)
    assert renewed
    assert row.state == "done" and row.attempts == 1
    assert [e["event"] for e in probe_events("long")] == ["start", "done"]
