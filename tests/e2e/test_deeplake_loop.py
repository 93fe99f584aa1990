"""The loop and the capture path on the Deeplake stand-in: visibility lag, injected 503s, a row that
never becomes visible, 402, and a burst of 50 concurrent capture hooks under the machine-wide bound.

Every hook runs as Claude Code runs it (``hooks/run``, real subprocesses); the worker's judge and
proposer are the scripted agent CLI (``lakeloop.demo_agent``); the store is a real PostgreSQL behind
the stand-in.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lakeloop import jobs, outbox, paths
from lakeloop.deeplake.client import DeeplakeClient
from lakeloop.deeplake.credentials import Credentials
from lakeloop.skillopt.job import NAME
from lakeloop.skillopt.publish import push
from lakeloop.store.deeplake import DeeplakeStore
from tests.support.hooks import run_hook
from tests.support.jobs import lakeloop_pids, queue_rows
from tests.support.payloads import recorded_payloads
from tests.support.repo import HOOK_RUN, REPO
from tests.support.waiting import wait_until

SID = "e8f2d602-bc51-4170-b4d4-df65e830a9f4"


@pytest.fixture
def env(deeplake, monkeypatch, tmp_path):
    """Environment selecting the stand-in as the store, for this process and the hooks it starts."""
    agent = tmp_path / "scripted-agent"
    agent.write_text(f'#!/bin/sh\nPYTHONPATH={REPO / "plugin"} exec {sys.executable} -m lakeloop.demo_agent "$@"\n')
    agent.chmod(0o755)
    values = {
        "LAKELOOP_DEEPLAKE_TOKEN": deeplake.token,
        "LAKELOOP_DEEPLAKE_ORG_ID": deeplake.org_id,
        "LAKELOOP_DEEPLAKE_ORG_NAME": "acme",
        "LAKELOOP_DEEPLAKE_WORKSPACE": deeplake.workspace,
        "LAKELOOP_DEEPLAKE_API_URL": deeplake.base_url,
        "LAKELOOP_PYTHON": sys.executable,
        "LAKELOOP_CLAUDE_BIN": str(agent),
        "LAKELOOP_USER": "dev",
        "LAKELOOP_DEEPLAKE_CREDENTIALS": str(tmp_path / "no-credentials-file.json"),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    import lakeloop.deeplake.client as client_module

    monkeypatch.setattr(client_module, "_shared", None)
    return {**os.environ}


def _store(deeplake) -> DeeplakeStore:
    creds = Credentials(
        token=deeplake.token, org_id=deeplake.org_id, workspace=deeplake.workspace, api_url=deeplake.base_url
    )
    return DeeplakeStore(DeeplakeClient(creds))


def _share_skill(tmp_path: Path, deeplake) -> None:
    d = tmp_path / "authoring" / "db-migrate"
    d.mkdir(parents=True)
    (d / "SKILL.md").write_text("---\nname: db-migrate\n---\n1. Run `alembic upgrade head`.\n")
    push(d, name="db-migrate", author="alice")
    wait_until(lambda: _store(deeplake).current_skill("db-migrate", "alice"), 30, "skill v1 to be visible")


def _skill_versions(deeplake) -> list[int] | None:
    """Versions of db-migrate--alice as the test sees them (None when an injected failure got
    through the observer's own retries)."""
    from lakeloop.errors import TransientError

    try:
        rows = _store(deeplake).client.query("SELECT version FROM skills WHERE name = 'db-migrate' ORDER BY version")
    except TransientError:
        return None
    return [int(r["version"]) for r in rows]


def _worker_log_outcome() -> str:
    lines = [line for line in paths.log_file().read_text().splitlines() if "worker outcome=" in line]
    return lines[-1] if lines else ""


def test_whole_loop_with_3s_lag_and_20pct_503s_publishes_exactly_one_v2(deeplake, env, tmp_path):
    """capture, arm, react, worker, publish, pull through hooks/run with a 3 s insert->read lag and
    20 % injected 503s: exactly one version 2 is published and pulled; no event is lost."""
    _share_skill(tmp_path, deeplake)
    deeplake.configure(visibility_lag_s=3.0, fail_rate=0.2, fail_status=503, seed=7)
    started = time.monotonic()
    for payload in recorded_payloads():
        run_hook(payload["hook_event_name"], payload, **env)
    wait_until(lambda: _skill_versions(deeplake) == [1, 2], 150, "exactly one version 2")
    print(f"\nloop on the lagging, failing stand-in: v2 visible after {time.monotonic() - started:.1f} s")
    wait_until(lambda: "worker outcome=published" in _worker_log_outcome(), 30, "the worker's outcome")
    # The job process records its outcome just after the worker's log line: await it.
    wait_until(lambda: all(j.state != "running" for j in _skill_jobs()), 30, "the job's outcome recorded")
    assert [(j.state, j.outcome, j.attempts) for j in _skill_jobs()] == [("done", "published", 1)]  # one job
    injected = sum(1 for r in deeplake.requests if r.status == 503)
    assert injected > 0  # the 503s really happened and were retried through
    wait_until(lambda: not outbox.pending(), 60, "the outbox to drain")
    deeplake.configure(fail_rate=0.0)
    store = _store(deeplake)
    path = f"/sessions/dev/dev_acme_{deeplake.workspace}_{SID}.jsonl"
    wait_until(lambda: len(store.session_rows(path)) == 8, 30, "all 8 captured rows")  # 503s are off now
    run_hook("SessionStart", {"session_id": "next", "hook_event_name": "SessionStart", "source": "startup"}, **env)
    pulled = paths.skills_root() / "db-migrate--alice" / "SKILL.md"
    wait_until(lambda: pulled.exists() and "Before running a migration" in pulled.read_text(), 30, "v2 pulled")
    time.sleep(3.5)  # past the lag: a second v2 would be visible by now
    assert _skill_versions(deeplake) == [1, 2]


def test_store_down_then_up_the_reaction_waits_in_the_queue_and_publishes_one_v2(deeplake, env, tmp_path):
    """The store goes down as the user reacts: the job's probe fails, the job goes back to the
    queue for its next probe time (no attempt spent, no process kept waiting) and the runner
    exits; the store comes back, and the next hook after that time (its drainer's kick) starts a
    runner that runs the job: exactly one version 2, one job, one attempt."""
    _share_skill(tmp_path, deeplake)
    env = {**env, "LAKELOOP_JOBS_LINGER_S": "1", "LAKELOOP_SUMMARIES": "0"}
    payloads = recorded_payloads()
    for payload in payloads[:13]:  # the first turn (arming the window) and the resume
        run_hook(payload["hook_event_name"], payload, **env)
    wait_until(lambda: not outbox.pending(), 60, "the captures to be sent")
    wait_until(
        lambda: _store(deeplake).session_rows(f"/sessions/dev/dev_acme_{deeplake.workspace}_{SID}.jsonl"),
        30,
        "the rows",
    )
    deeplake.configure(fail_rate=1.0, fail_status=503)
    run_hook("UserPromptSubmit", payloads[13], **env)  # the negative reaction, with the store down
    waiting = wait_until(
        lambda: next((j for j in _skill_jobs() if j.state == "queued" and j.last_error.startswith("waiting")), None),
        60,
        "the job to go back to the queue",
    )
    assert waiting.attempts == 0 and "store not answering" in waiting.last_error
    wait_until(lambda: not lakeloop_pids("run"), 30, "the runner to exit while the job waits")
    assert _skill_versions(deeplake) is None or _skill_versions(deeplake) == [1]
    deeplake.configure(fail_rate=0.0)
    wait_until(lambda: time.time() > waiting.next_run_at, 120, "the job's next probe time")
    run_hook("Stop", payloads[14], **env)  # any later hook: its drainer kicks the runner at its end
    row = wait_until(
        lambda: next((j for j in _skill_jobs() if j.state in ("done", "failed")), None), 150, "the job to end"
    )
    assert (row.state, row.outcome, row.attempts) == ("done", "published", 1)
    assert len(_skill_jobs()) == 1
    wait_until(lambda: _skill_versions(deeplake) == [1, 2], 30, "version 2")
    wait_until(lambda: not outbox.pending(), 60, "the outbox to drain")  # nothing captured was lost
    time.sleep(3.5)  # past any lag: a second v2 would be visible by now
    assert _skill_versions(deeplake) == [1, 2]
    assert "worker: the store is not answering" in paths.log_file().read_text()


def _skill_jobs() -> list:
    """The queue's ``skill-improve`` rows ([] before the queue exists)."""
    if not os.path.exists(paths.jobs_db()):
        return []
    return [j for j in queue_rows() if j.kind == NAME]


def _run_job(monkeypatch, reaction: str = "that's wrong, the migration failed", **extra: str):
    """Queue one reaction's ``skill-improve`` job (``lakeloop.jobs.submit``: the runner starts as a
    real detached process, with this environment plus ``extra``) and await its end. Returns the
    ended row and the seconds from queueing to its end."""
    for name, value in extra.items():
        monkeypatch.setenv(name, value)
    wait_until(lambda: not lakeloop_pids("run"), 30, "no job runner left from the hooks")
    job = {
        "session_id": SID,
        "skill": "db-migrate--alice",
        "reaction": reaction,
        "tool_use_id": "toolu_0001_Skill",
        "armed_version": 1,
        "user": "dev",
        "reacted_at": time.time(),
    }
    started = time.monotonic()
    assert jobs.submit(NAME, "reaction:0a1b2c3d-0001", job, log=logging.getLogger("lakeloop-tests")) == "new"
    row = wait_until(
        lambda: next((j for j in _skill_jobs() if j.state in ("done", "failed")), None), 120, "the job to end"
    )
    return row, time.monotonic() - started


def _session_queries(deeplake) -> int:
    return sum(1 for r in deeplake.requests if r.sql and 'FROM "sessions" WHERE "path"' in r.sql)


def test_row_that_never_becomes_visible_ends_the_worker_within_its_bound(deeplake, env, tmp_path, monkeypatch):
    """The invocation row stays invisible: 1 + 5 session queries with linear backoff, then the
    worker gives up, publishing nothing."""
    _share_skill(tmp_path, deeplake)
    deeplake.configure(visibility_lag_s=600.0)
    for payload in recorded_payloads()[:4]:  # ... up to the Skill's PostToolUse
        run_hook(payload["hook_event_name"], payload, **env)
    wait_until(lambda: not outbox.pending(), 60, "the captures to be sent")
    deeplake.reset_counters()
    row, took = _run_job(monkeypatch, LAKELOOP_INVOCATION_BACKOFF_S="0.1")
    assert (row.state, row.outcome, row.attempts) == ("done", "invocation_not_found", 1)
    assert _session_queries(deeplake) == 6
    assert "worker outcome=invocation_not_found" in _worker_log_outcome()
    assert took < 1.5 + 10  # sleeps 0.1+0.2+0.3+0.4+0.5 s, plus two start-ups and six round trips
    assert _skill_versions(deeplake) == [1]


def test_402_ends_the_worker_after_one_query_and_tells_the_user_once(deeplake, env, tmp_path, monkeypatch):
    """Out of credits: the worker's first query gets 402 and the run ends (no retry); one notice is
    left and the next SessionStart shows it to the user as a systemMessage, once."""
    _share_skill(tmp_path, deeplake)
    for payload in recorded_payloads()[:4]:
        run_hook(payload["hook_event_name"], payload, **env)
    wait_until(lambda: not outbox.pending(), 60, "the captures to be sent")
    deeplake.configure(payment_required=True)
    deeplake.reset_counters()
    row, _took = _run_job(monkeypatch)
    assert (row.state, row.outcome, row.attempts) == ("done", "store_error", 1)  # no wait, no retry
    assert len(deeplake.requests) == 1 and deeplake.requests[0].status == 402
    assert "worker outcome=store_error" in _worker_log_outcome()
    start = {"session_id": "s2", "hook_event_name": "SessionStart", "source": "startup"}
    shown = run_hook("SessionStart", start, **env)
    message = json.loads(shown.stdout)["systemMessage"]
    assert "out of credits" in message and deeplake.token not in message
    assert b"systemMessage" not in run_hook("SessionStart", start, **env).stdout  # once (only the memory context)
    assert deeplake.token not in paths.log_file().read_text()


@pytest.mark.parametrize("burst", [50, 100])
def test_concurrent_capture_hooks_lose_nothing_and_respect_the_machine_bound(deeplake, env, burst):
    """A burst of 50 (and 100) capture hook processes: every event is stored, and the stand-in never
    sees more requests in flight than the machine-wide bound."""
    bound = 4
    env = {**env, "LAKELOOP_DEEPLAKE_MACHINE_MAX_IN_FLIGHT": str(bound), "LAKELOOP_DEEPLAKE_SLOT_WAIT_S": "30"}
    _store(deeplake).ensure_tables()
    deeplake.configure(latency_s=0.05)
    deeplake.reset_counters()
    base = next(p for p in recorded_payloads() if p["hook_event_name"] == "PostToolUse")
    procs = []
    for i in range(burst):
        payload = {**base, "tool_use_id": f"toolu_burst_{i:03d}"}
        procs.append(
            subprocess.Popen(
                [str(HOOK_RUN), "PostToolUse"],
                stdin=subprocess.PIPE,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        procs[-1].stdin.write(json.dumps(payload).encode())
        procs[-1].stdin.close()
    assert [p.wait(timeout=60) for p in procs] == [0] * burst
    wait_until(lambda: not outbox.pending(), 120, "the outbox to drain")
    rows = _store(deeplake).client.query("SELECT message->>'tool_use_id' AS t FROM sessions")
    assert sorted(r["t"] for r in rows) == [f"toolu_burst_{i:03d}" for i in range(burst)]
    print(f"\n{burst} hooks: peak requests in flight at the stand-in: {deeplake.max_in_flight} (bound {bound})")
    assert 1 <= deeplake.max_in_flight <= bound
