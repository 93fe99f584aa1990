"""The queue's vocabulary, shared by every module of ``lakeloop.jobs`` and re-exported by the
package (``lakeloop.jobs.RetryLater`` etc.): the job states and the exceptions a kind raises to
steer the queue. Kept apart from the package's ``__init__`` so its modules import it without an
import circle through ``jobs.submit``."""

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
