"""The job runner killed in the worst place of a summary job, as real processes on both stores: the
summary row is in the store, the queue still says running. The job's process dies with its runner,
the job is not taken again while its lease holds, a later hook (capture's drainer) restarts the
runner after the lease lapsed, the second attempt writes the same row id, and exactly one summary
row results."""

from __future__ import annotations

import os
import signal
import time

import pytest

from lakeloop.store import open_store
from lakeloop.summaries import path_for
from tests.support.capture import capture, prompt
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.jobs import job, lakeloop_pids
from tests.support.summaries import (
    answer,
    capture_session,
    end_session,
    log_tail,
    memory_table,
    summariser,
    summary_script,
    wait_summary,
)
from tests.support.waiting import wait_until

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/environ"), reason="needs /proc")

SID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"


@pytest.fixture
def api():
    with FakeAnthropic(summary_script(answer("First take."), answer("Second take."))) as server:
        yield server


def test_a_runner_killed_after_the_store_write_gives_exactly_one_summary(
    store_kind, api, claude_bin, monkeypatch, tmp_path
):
    hold = tmp_path / "written-then-held"
    agent_calls = summariser(monkeypatch, claude_bin, api, tmp_path, hold=hold)
    shop = tmp_path / "shop"
    shop.mkdir()
    capture_session(shop, SID, [("user", "fix the flaky test"), ("assistant", "Fixed."), ("user", "thanks")])
    end_session(shop, SID)

    try:
        wait_until(hold.exists, 120, "the summary row written and the job held")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; log:\n{log_tail()}") from None
    [runner] = lakeloop_pids("run")
    held = job(f"session:{SID}", "summarize")
    assert held.state == "running" and held.attempts == 1, (held, log_tail())
    os.kill(runner, signal.SIGKILL)
    wait_until(lambda: not lakeloop_pids("exec"), 15, "the job's process to die with its runner")
    assert job(f"session:{SID}", "summarize").state == "running"  # nobody took it: the lease holds

    wait_until(lambda: time.time() > held.lease_until + 0.2, 10, "the lease to lapse")
    capture("UserPromptSubmit", prompt(tmp_path / "elsewhere", "an unrelated prompt", "another-session"))
    done = wait_summary(SID)
    assert done.outcome == "written" and done.attempts == 2

    first, second = agent_calls()
    assert second["at"] >= held.lease_until  # never taken again while the lease held
    store = open_store()
    try:
        rows = memory_table(store)
    finally:
        store.close()
    [(path, _, text)] = rows
    assert path == path_for("tester", SID) and "First take." in text  # the retake wrote the same row id
    wait_until(lambda: not lakeloop_pids("run") and not lakeloop_pids("exec"), 30, "the runner to exit")
