"""Idle means silent: after the last job, the team store (the Deeplake stand-in on PostgreSQL)
receives no request at all and no lakeloop process is left; with the store down, failed jobs wait
for their deadline on disk, with no request in between, and a later hook runs them all.

The jobs are real ``summarize`` jobs of sessions captured through the hooks, queued by the
SessionEnd hook, run by the real runner; the summariser is a small stand-in for the agent CLI
(``LAKELOOP_CLAUDE_BIN``) that answers a well-formed summary."""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.support.hooks import run_hook
from tests.support.jobs import lakeloop_pids, queue_rows
from tests.support.payloads import first_payload
from tests.support.summaries import answer, capture_session, chat, end_session, wait_summary
from tests.support.waiting import wait_until

pytestmark = [
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc"),
    pytest.mark.parametrize("store_kind", ["deeplake"], indirect=True),
]

#: The quiet window the requirement names (seconds).
QUIET_S = 30.0


@pytest.fixture
def summariser(monkeypatch, tmp_path, store_kind):
    """Short queue times and an agent CLI stand-in printing one well-formed summary."""
    cli = tmp_path / "agent-cli"
    result = json.dumps({"type": "result", "is_error": False, "result": answer()})
    cli.write_text(f"#!{sys.executable}\nimport sys\nsys.stdin.read()\nprint({result!r})\n")
    cli.chmod(0o755)
    for name, value in {
        "LAKELOOP_CLAUDE_BIN": str(cli),
        "LAKELOOP_JOBS_LEASE_S": "3",
        "LAKELOOP_JOBS_LINGER_S": "1",
        "LAKELOOP_JOBS_BACKOFF_S": "20",
    }.items():
        monkeypatch.setenv(name, value)
    project = tmp_path / "shop"
    project.mkdir()
    return project


def quiet_for(standin, seconds: float, until: float | None = None) -> None:
    """Assert that for ``seconds`` (or until epoch ``until``) the stand-in gets no request and no
    lakeloop process of this test is alive."""
    end = until if until is not None else time.time() + seconds
    while time.time() < end:
        assert len(standin.requests) == 0, standin.queries()
        assert lakeloop_pids() == [], "a lakeloop process is alive while idle"
        time.sleep(0.5)


def session(project: Path) -> str:
    sid = str(uuid.uuid4())
    capture_session(project, sid, chat(2))
    return sid


def test_after_the_last_job_the_store_gets_no_request(deeplake, summariser):
    sid = session(summariser)
    end_session(summariser, sid)
    done = wait_summary(sid, timeout=90)
    assert done.outcome == "written"

    wait_until(lambda: not lakeloop_pids(), 20, "every lakeloop process to exit")
    deeplake.reset_counters()
    quiet_for(deeplake, QUIET_S)


def test_with_the_store_down_jobs_wait_for_their_deadline_and_none_is_lost(deeplake, summariser, tmp_path):
    from lakeloop import outbox

    sessions = [session(summariser) for _ in range(3)]
    wait_until(lambda: outbox.pending() == [] and not lakeloop_pids(), 60, "the sessions stored, the drainer gone")
    deeplake.configure(fail_rate=1.0, fail_status=500)
    for sid in sessions:
        end_session(summariser, sid)

    def all_waiting():
        rows = [j for j in queue_rows() if j.kind == "summarize"]
        return len(rows) == 3 and all(j.state == "queued" and j.last_error for j in rows)

    wait_until(all_waiting, 120, "the three jobs to fail and wait for their retry")
    wait_until(lambda: not lakeloop_pids(), 20, "every lakeloop process to exit")
    deeplake.reset_counters()
    first_deadline = min(j.next_run_at for j in queue_rows())
    assert first_deadline > time.time() + 1, "the deadline came before the quiet window could be watched"
    quiet_for(deeplake, 0, until=first_deadline)  # nothing polls between deadlines

    deeplake.configure(fail_rate=0.0)
    wait_until(lambda: time.time() > max(j.next_run_at for j in queue_rows()), 30, "every deadline")
    payload = first_payload("SessionStart")
    payload["cwd"] = str(tmp_path)
    run_hook("SessionStart", payload)  # a later session's start runs the due jobs
    for sid in sessions:
        assert wait_summary(sid, timeout=120).outcome == "written"
    rows = [r for r in _memory_paths(deeplake) if r.startswith("/summaries/")]
    assert sorted(rows) == sorted({r for r in rows}) and len(rows) == 3  # one row per session, none lost


def _memory_paths(standin) -> list[str]:
    """Paths of the memory table's rows, read straight from the stand-in's database."""
    return [row[0] for row in standin.execute("SELECT path FROM memory")["rows"]]
