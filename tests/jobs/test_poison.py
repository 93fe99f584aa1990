"""Poison jobs with real processes: a job that raises, kills its own process or hangs past its
kind's timeout uses up its attempts with backoff and ends failed with its cause, while a healthy
job of the same kind queued behind it finishes first."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.jobs import job, probe, probe_events, use_probe_kinds, wait_state

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")


@pytest.mark.parametrize(
    ("do", "cause"),
    [
        ("raise", "RuntimeError: poisoned on purpose"),
        ("exit", "exited with status 9"),
        ("hang", "timed out after 2 s"),
    ],
)
def test_a_poison_job_fails_with_its_cause_and_never_blocks_the_next(monkeypatch, do, cause):
    use_probe_kinds(monkeypatch, attempts=2, timeout_s=2, backoff="2", linger_s=6)
    probe("poison", do)
    probe("healthy")

    healthy = wait_state("healthy", "done", timeout=30)
    failed = wait_state("poison", "failed", timeout=60)
    assert failed.attempts == 2
    assert failed.last_error == cause
    assert healthy.finished_at < failed.finished_at
    assert [e["attempt"] for e in probe_events("poison")] == [1, 2]
    assert job("healthy").attempts == 1
