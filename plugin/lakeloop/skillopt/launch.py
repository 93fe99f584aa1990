"""Starting the worker detached from the hook.

The job (session id, skill ref, reaction text, arming tool_use_id) goes to a
0600 job file, never argv (the reaction is the user's text). The worker runs
as ``python -m lakeloop.cli.main worker <job file>`` in its own process session
(``start_new_session``), with stdin from /dev/null, stdout and stderr appended
to the log file, no inherited descriptors, and ``LAKELOOP_WORKER=1`` so nothing
it starts is captured or re-arms. The hook does not wait for it.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from .. import config, paths
from ..fsutil import atomic_write

_PLUGIN_SRC = str(Path(__file__).resolve().parents[2])


def worker_env() -> dict[str, str]:
    """The environment of processes the optimizer starts: ours plus the recursion
    guard, with the lakeloop sources importable."""
    env = dict(os.environ)
    env[config.WORKER_ENV] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PLUGIN_SRC, env.get("PYTHONPATH", "")) if p)
    return env


def start_worker(job: dict[str, Any], log: logging.Logger) -> str:
    """Write the job file and spawn the detached worker. Returns the job file path.

    A job with an ``event_id`` (the reacting prompt's) gets the job file
    ``reaction-<event id>.json`` created exclusively, so a replayed reaction never
    starts a second worker: when that file exists the worker was already started
    and nothing is done.

    ``job["user"]``, when given, is the author the worker publishes as (the drainer passes the
    capturing session's); else this process's ``config.user_name()``.

    Raises OSError when the job file cannot be written or the process not started.
    """
    job = {"user": config.user_name(), **job, "created_at": time.time()}
    event_id = str(job.get("event_id") or "")
    if event_id and all(c in "0123456789abcdef-" for c in event_id) and len(event_id) <= 64:
        job_file = paths.jobs_dir() / f"reaction-{event_id}.json"
        try:
            paths.jobs_dir().mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(job_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            log.info("worker for reaction %s already started: not started again", event_id)
            return str(job_file)
        with os.fdopen(fd, "wb") as fh:
            fh.write(json.dumps(job, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    else:
        job_file = paths.jobs_dir() / f"{int(time.time())}-{uuid.uuid4().hex[:12]}.json"
        atomic_write(job_file, json.dumps(job, ensure_ascii=False), mode=0o600)
    paths.private_dir(paths.log_dir())
    with open(os.open(paths.log_file(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lakeloop.cli.main", "worker", str(job_file)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            close_fds=True,
            start_new_session=True,
            env=worker_env(),
            cwd=str(paths.data_dir()),
        )
    log.debug("worker pid=%d started for %s", proc.pid, job_file.name)
    return str(job_file)
