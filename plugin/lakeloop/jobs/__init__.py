"""Background jobs: one durable local queue per data directory, run by at most one job runner.

The package knows no job kind. A kind (``jobs.kinds.Kind``) is a name, a function and its limits;
the table of kinds is built by the entry points (``cli.job_kinds``) and passed down to the runner,
so a new kind is one module of its capability plus one line in that table.

A kind's function reports how its attempt ended:

* it returns an outcome word (``"written"``, ``"locked"``, ...): the job is done;
* it raises ``RetryLater(after_s, reason)``: not an attempt (the count is given back); the job is
  queued again ``after_s`` seconds later, on disk (a later hook restarts the runner for it);
* it raises ``JobFailed(reason)``: failed now, whatever attempts are left;
* any other exception (or the process dying, or the kind's time running out) is one failed
  attempt, retried with backoff (``config.jobs_backoff_s``) until ``Kind.max_attempts``.

docs/jobs.md describes the queue, its leases and its idle behaviour.
"""

from __future__ import annotations

from .base import DONE, FAILED, QUEUED, RUNNING, STATES, JobError, JobFailed, JobsUnavailable, RetryLater

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable
    from typing import Any


def submit(
    kind: str,
    key: str,
    payload: dict[str, Any],
    *,
    log: logging.Logger,
    merge: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None,
    delay_s: float = 0.0,
) -> str:
    """Queue a job (``jobs.queue.enqueue``) and see that a runner will run it: a job due now
    starts the runner or wakes the live one (``jobs.wake.ensure_running``); a delayed one wakes
    a live runner (its deadline is on disk for the next kick); an unchanged or re-run job only
    gets ``kick_if_due``. Returns the enqueue's ``"new"``, ``"merged"``, ``"rerun"`` or
    ``"exists"``. Raises JobsUnavailable (or ValueError) only when the enqueue failed: a failing
    wake is logged and swallowed (the job is on disk already)."""
    from . import wake
    from .queue import enqueue

    outcome = enqueue(kind, key, payload, delay_s=delay_s, merge=merge)
    try:
        if outcome in ("new", "merged"):
            if delay_s <= 0:
                wake.ensure_running(log)
            else:
                wake.wake()
        else:
            wake.kick_if_due(log)
    except Exception as exc:
        log.warning("jobs: job %s queued, but the runner could not be started: %s", kind, exc)
    return outcome


__all__ = [
    "DONE",
    "FAILED",
    "QUEUED",
    "RUNNING",
    "STATES",
    "JobError",
    "JobFailed",
    "JobsUnavailable",
    "RetryLater",
    "submit",
]
