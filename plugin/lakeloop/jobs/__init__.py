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

from ..errors import LakeloopError

#: Job states as ``lakeloop jobs --json`` shows them.
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATES = (QUEUED, RUNNING, DONE, FAILED)


class JobError(LakeloopError):
    """Base of what a job kind raises on purpose to steer the queue."""


class RetryLater(JobError):
    """The job cannot run yet (the store is down, capture is still draining): queue it again
    ``after_s`` seconds from now (float, >= 0). Costs no attempt. ``reason``: one line, no secret."""

    def __init__(self, after_s: float, reason: str) -> None:
        self.after_s = max(0.0, float(after_s))
        self.reason = reason
        super().__init__(reason)


class JobFailed(JobError):
    """The job cannot succeed (bad payload, a rejected answer after its retry): it ends ``failed``
    with ``reason`` (one line, no secret) at once, whatever attempts are left."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class JobsUnavailable(JobError):
    """The local queue database cannot be opened or written (disk full, permissions)."""
