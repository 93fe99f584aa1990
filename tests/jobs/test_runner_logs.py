"""What the job runner and its job processes write to the log, with real processes: an attempt
that raises is one line (its type and message through the secret filter), never a traceback
unless ``LAKELOOP_DEBUG=1`` asks for it (filtered too); a secret in the exception reaches neither
the log nor ``last_error``; a job's stdout is dropped and of its stderr only a bounded, filtered
ending is logged."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.jobs import (
    assert_no_secret_in,
    lakeloop_pids,
    probe,
    secret_error,
    use_probe_kinds,
    wait_state,
)
from tests.support.logs import log_text
from tests.support.waiting import wait_until

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")

#: How every log line begins (``lakeloop.log``'s format): a line that does not is a continuation.
LINE_START = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [A-Z]+ lakeloop\.")


def settled_log() -> str:
    """The log once this test's runner and job processes have exited."""
    wait_until(lambda: not lakeloop_pids(), 20, "the runner to leave")
    return log_text()


def test_an_attempt_that_raises_a_secret_logs_one_filtered_line_and_no_traceback(monkeypatch):
    use_probe_kinds(monkeypatch, attempts=1, linger_s=0.2)
    error, secrets = secret_error()
    probe("leaky", "raise", message=error)

    failed = wait_state("leaky", "failed")
    text = settled_log()
    assert "Traceback" not in text
    assert [line for line in text.splitlines() if not LINE_START.match(line)] == []
    assert_no_secret_in([text, failed.last_error], secrets)
    assert failed.last_error.startswith("RuntimeError: store refused key [REDACTED:")
    assert re.search(r" ERROR .*attempt=1 raised RuntimeError: store refused key \[REDACTED:\w+\]", text)


def test_the_traceback_is_logged_at_debug_level_only_and_filtered(monkeypatch):
    use_probe_kinds(monkeypatch, attempts=1, linger_s=0.2)
    monkeypatch.setenv("LAKELOOP_DEBUG", "1")
    error, secrets = secret_error()
    probe("leaky", "raise", message=error)

    wait_state("leaky", "failed")
    text = settled_log()
    assert "traceback: Traceback (most recent call last)" in text and "in _run_probe" in text
    assert_no_secret_in([text], secrets)


def test_a_jobs_stdout_is_dropped_and_only_the_end_of_its_stderr_is_logged_filtered(monkeypatch):
    use_probe_kinds(monkeypatch, linger_s=0.2)
    error, secrets = secret_error()
    megabytes = 3 << 20
    probe("noisy", "noise", stdout=megabytes, stderr_bytes=megabytes, stderr=f"\nboom: {error}\n")

    assert wait_state("noisy", "done").outcome == "ok"
    text = settled_log()
    assert len(text) < 20_000, f"the log grew by {len(text)} characters"
    assert "xxxxxxxxxx" not in text
    [line] = [line for line in text.splitlines() if "to stderr" in line]
    assert f"wrote {megabytes + len(error) + 8} bytes to stderr, ending: " in line
    assert line.endswith("[REDACTED:slack_token]") and "boom: store refused key" in line
    assert_no_secret_in([text], secrets)
