"""The job queue in tests: a probe kind the real runner can run, and views of the queue and its
processes.

* ``use_probe_kinds(monkeypatch, lease_s=3, linger_s=1, backoff="2,4", attempts=3, timeout_s=60)``:
  the environment of this test (and of every process it starts) gets short queue times
  (``LAKELOOP_JOBS_*``) and the ``probe`` kind in the runner's table of kinds (through
  ``tests/support/jobs_site/sitecustomize.py`` on ``PYTHONPATH``).
* ``probe_kind()``: the ``probe`` kind (``LAKELOOP_TEST_PROBE_ATTEMPTS`` attempts,
  ``LAKELOOP_TEST_PROBE_TIMEOUT_S`` seconds). Its payload's ``do`` says what an attempt does:
  ``ok`` (returns ``"ok"``), ``raise`` (RuntimeError, with the payload's ``message`` or
  ``"poisoned on purpose"``), ``exit`` (``os._exit(9)``), ``hang`` (sleeps past any timeout),
  ``sleep`` (``seconds``, then ``ok``), ``block`` (until the file ``release`` exists, then
  ``ok``), ``store`` (one read of the configured store: ``session_rows`` of a path nobody
  wrote), ``noise`` (writes ``stdout`` bytes of ``x`` to stdout, then ``stderr_bytes`` bytes of
  ``y`` and the text ``stderr`` to stderr, then ``ok``). Each attempt appends
  ``{"key", "attempt", "event", "pid"}`` lines (``start``, then ``done``) to ``probe_log()``.
* ``probe(key, do="ok", **payload)``: submit a probe job through ``lakeloop.jobs.submit`` (the
  enqueuer's real path: enqueue, then start or wake the runner); returns the enqueue's outcome.
* ``probe_events(key=None)``: the probe log's records (of ``key``).
* ``queue_rows()`` / ``job(key, kind="probe")``: the queue's rows (``jobs.queue.Job``), read with a
  connection of its own.
* ``wait_state(key, state, timeout=30)``: await job ``key`` reaching ``state``; returns the row.
* ``lakeloop_pids(role=None)``: pids of live lakeloop processes of THIS test's data dir (by
  ``/proc/<pid>/environ``); ``role`` ``"run"`` (job runners), ``"exec"`` (job processes). A
  runner's child between its fork and its exec still shows the runner's command line: read the
  runner as ``parent(<job process>)`` once the job process runs.
* ``runners_end(monkeypatch, timeout=30, **env)``: body of a ``runners_end`` fixture: job runners
  linger one second (``LAKELOOP_JOBS_LINGER_S``; ``env``: more variables set for the test); after
  the test, await no runner or job process of this test being left (``timeout`` seconds), then
  kill any that are.
* ``parent(pid)``: the parent pid of ``pid``.
* ``runner_starts()``: how many times a job runner started (its log line).
* ``secret_error()``: ``(text, secrets)``, an error message carrying secrets of the kinds an
  exception may hold (AWS key, GitHub and Slack tokens, ``PASSWORD=``, a URL's password; from
  ``tests.support.secret_corpus``) and ``{name: secret}`` for ``assert_no_secret_in``.
* ``assert_no_secret_in(texts, secrets)``: no secret of ``secrets`` (nor a distinctive piece of
  one) is in any of the plain ``texts``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.repo import REPO
from tests.support.waiting import wait_until

SITE = Path(__file__).resolve().parent / "jobs_site"


def use_probe_kinds(
    monkeypatch: pytest.MonkeyPatch,
    *,
    lease_s: float = 3,
    linger_s: float = 1,
    backoff: str = "2,4",
    attempts: int = 3,
    timeout_s: float = 60,
) -> None:
    """Short queue times and the ``probe`` kind for this test and its processes (module docstring)."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(SITE), os.environ.get("PYTHONPATH", "")) if p))
    monkeypatch.setenv("LAKELOOP_TEST_JOB_KINDS", "1")
    monkeypatch.setenv("LAKELOOP_TEST_REPO", str(REPO))
    monkeypatch.setenv("LAKELOOP_JOBS_LEASE_S", str(lease_s))
    monkeypatch.setenv("LAKELOOP_JOBS_LINGER_S", str(linger_s))
    monkeypatch.setenv("LAKELOOP_JOBS_BACKOFF_S", backoff)
    monkeypatch.setenv("LAKELOOP_TEST_PROBE_ATTEMPTS", str(attempts))
    monkeypatch.setenv("LAKELOOP_TEST_PROBE_TIMEOUT_S", str(timeout_s))


def probe_log() -> Path:
    """Where probe attempts write what they did (under this test's data dir)."""
    from lakeloop import paths

    return paths.data_dir() / "probe.log"


def _record(key: str, attempt: int, event: str) -> None:
    line = json.dumps({"key": key, "attempt": attempt, "event": event, "pid": os.getpid()}) + "\n"
    fd = os.open(probe_log(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def _run_probe(payload: dict[str, Any], ctx: Any) -> str:
    _record(ctx.key, ctx.attempt, "start")
    do = payload.get("do", "ok")
    if do == "raise":
        raise RuntimeError(payload.get("message", "poisoned on purpose"))
    if do == "exit":
        os._exit(9)
    if do == "hang":
        time.sleep(3600)
    if do == "sleep":
        time.sleep(float(payload["seconds"]))
    if do == "block":
        release = Path(payload["release"])
        while not release.exists():
            time.sleep(0.05)
    if do == "store":
        from lakeloop.store import open_store

        open_store().session_rows("/sessions/nobody/none.jsonl")
    if do == "noise":
        os.write(1, b"x" * int(payload.get("stdout", 0)))
        os.write(2, b"y" * int(payload.get("stderr_bytes", 0)) + str(payload.get("stderr", "")).encode())
    _record(ctx.key, ctx.attempt, "done")
    return "ok"


def probe_kind():
    """The test-only ``probe`` kind (module docstring)."""
    from lakeloop.jobs.kinds import Kind

    return Kind(
        "probe",
        _run_probe,
        max_attempts=int(os.environ.get("LAKELOOP_TEST_PROBE_ATTEMPTS", "3")),
        timeout_s=float(os.environ.get("LAKELOOP_TEST_PROBE_TIMEOUT_S", "60")),
    )


def probe(key: str, do: str = "ok", **payload: Any) -> str:
    """Submit probe job ``key`` through ``lakeloop.jobs.submit``; returns its outcome."""
    import logging

    from lakeloop.jobs import submit

    return submit("probe", key, {"do": do, **payload}, log=logging.getLogger("lakeloop.test"))


def probe_events(key: str | None = None) -> list[dict[str, Any]]:
    """The probe log's records, oldest first (only ``key``'s when given)."""
    try:
        lines = probe_log().read_text().splitlines()
    except FileNotFoundError:
        return []
    records = [json.loads(line) for line in lines]
    return [r for r in records if key is None or r["key"] == key]


def queue_rows() -> list:
    """Every row of the queue (``jobs.queue.Job``), by id."""
    from lakeloop.jobs import db, queue

    conn = db.connect()
    try:
        return queue.jobs(conn)
    finally:
        conn.close()


def job(key: str, kind: str = "probe"):
    """The queue row of ``(kind, key)``, or None."""
    return next((j for j in queue_rows() if j.kind == kind and j.key == key), None)


def wait_state(key: str, state: str, timeout: float = 30, kind: str = "probe"):
    """Await job ``(kind, key)`` in ``state``; returns its row."""

    def reached():
        row = job(key, kind)
        return row if row is not None and row.state == state else None

    return wait_until(reached, timeout, f"job {kind} {key} {state}")


def lakeloop_pids(role: str | None = None) -> list[int]:
    """Live lakeloop processes (``lakeloop.cli.main`` or a hook) of this test's data dir; with
    ``role``, only ``jobs <role>`` processes (``"run"`` or ``"exec"``)."""
    from lakeloop import paths

    mark = f"LAKELOOP_DATA_DIR={paths.data_dir()}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if mark not in environ or state == "Z":
            continue
        if not any(b"lakeloop" in a or b"entry.py" in a for a in argv):
            continue
        if role is not None and not (b"jobs" in argv and role.encode() in argv):
            continue
        found.append(int(entry.name))
    return found


def parent(pid: int) -> int:
    """The parent pid of process ``pid`` (from ``/proc/<pid>/stat``)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def runner_starts() -> int:
    """How many job runners started in this test (their ``runner start`` log lines)."""
    from lakeloop import paths

    try:
        return paths.log_file().read_text(errors="replace").count("jobs: runner start ")
    except FileNotFoundError:
        return 0


def secret_error() -> tuple[str, dict[str, str]]:
    """An error message carrying secrets, and those secrets (module docstring)."""
    from tests.support.secret_corpus import SECRETS

    names = ("aws_access_key", "github_token", "slack_bot_token", "url_password", "env_password")
    secrets = {name: SECRETS[name] for name in names}
    text = (
        f"store refused key {secrets['aws_access_key']} token {secrets['github_token']} "
        f"DATABASE_PASSWORD={secrets['env_password']} via postgres://deploy:{secrets['url_password']}@db.internal/app "
        f"slack {secrets['slack_bot_token']}"
    )
    return text, secrets


def assert_no_secret_in(texts: list[str], secrets: dict[str, str]) -> None:
    """No secret of ``secrets`` nor a distinctive piece of one is in any of ``texts``."""
    from tests.support.secret_corpus import assert_no_secret

    assert_no_secret([json.dumps(text) for text in texts], secrets)


def runners_end(monkeypatch, timeout: float = 30, **env: str):
    """Body of a ``runners_end`` fixture (``yield from runners_end(monkeypatch)``): runners linger
    one second, ``env`` is set; after the test no runner or job process of this test is left."""
    import signal

    monkeypatch.setenv("LAKELOOP_JOBS_LINGER_S", "1")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield
    try:
        wait_until(lambda: not lakeloop_pids("run") and not lakeloop_pids("exec"), timeout, "the job runner to exit")
    finally:
        for pid in lakeloop_pids("run") + lakeloop_pids("exec"):
            os.kill(pid, signal.SIGKILL)
