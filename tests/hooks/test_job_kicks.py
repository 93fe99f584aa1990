"""Hooks that start the job runner for a job whose time has come: SessionEnd, and the end of the
drainer every captured event starts or finds. A job whose retry time passed while no runner ran
is run at the next such hook, with nothing waiting in between (hooks run through ``hooks/run``)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from lakeloop import jobs, paths
from tests.support.hooks import run_hook
from tests.support.jobs import lakeloop_pids, runner_starts, use_probe_kinds, wait_state
from tests.support.payloads import first_payload
from tests.support.waiting import wait_until

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")


def _job_past_its_time(monkeypatch) -> None:
    """A probe job queued for one second from now (nothing starts a runner for it), then its
    time passes with no runner alive."""
    use_probe_kinds(monkeypatch, linger_s=1)
    monkeypatch.setenv("LAKELOOP_SUMMARIES", "0")  # the hooks queue no summary of their own
    assert jobs.submit("probe", "later", {"do": "ok"}, log=logging.getLogger("lakeloop-tests"), delay_s=1) == "new"
    due = Path(paths.jobs_due_file()).stat().st_mtime
    wait_until(lambda: time.time() > due, 10, "the job's time")
    assert runner_starts() == 0 and not lakeloop_pids("run")


@pytest.mark.parametrize("event", ["SessionEnd", "Stop"])
def test_a_later_hook_starts_the_runner_for_a_job_past_its_time(monkeypatch, event):
    """SessionEnd kicks the runner itself; a captured event (Stop) through its drainer's end."""
    _job_past_its_time(monkeypatch)
    run_hook(event, first_payload(event))
    assert wait_state("later", "done", 30).outcome == "ok"
    assert runner_starts() == 1
    wait_until(lambda: not lakeloop_pids(), 30, "the runner and drainer to exit")
