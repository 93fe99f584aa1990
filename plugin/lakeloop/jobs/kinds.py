"""What a job kind is: ``Kind`` (a name, a function, its limits) and ``Context`` (what one run of
the function is told about its job)."""

from __future__ import annotations

from ..records import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable
    from typing import Any


@dataclass(frozen=True)
class Context:
    """One attempt of one job, as its kind's function sees it.

    ``job_id``: the queue row id; ``key``: the dedupe key; ``attempt``: 1 for the first try
    (counted at claim); ``max_attempts``; ``log``: the lakeloop logger; ``deadline``: epoch
    seconds by which the attempt is killed (``Kind.timeout_s`` after it started)."""

    job_id: int
    key: str
    attempt: int
    max_attempts: int
    log: logging.Logger
    deadline: float


@dataclass(frozen=True)
class Kind:
    """A kind of job.

    * ``name``: the ``kind`` column (``[a-z][a-z0-9-]{0,39}``), e.g. ``summarize``;
    * ``run(payload, ctx) -> str``: does the work; returns the outcome word, or raises
      ``RetryLater`` / ``JobFailed`` / anything (one failed attempt). ``payload`` is the JSON
      object given at enqueue;
    * ``max_attempts``: attempts before a failing job stays ``failed`` (at least 1);
    * ``timeout_s``: wall-clock bound of one attempt, seconds; past it the attempt's process
      group is killed and the attempt fails with "timed out";

    How a second enqueue of the same key behaves is the enqueuer's choice (``merge`` of
    ``jobs.queue.enqueue``), since enqueuers are hooks that never import the table of kinds.
    """

    name: str
    run: Callable[[dict[str, Any], Context], str]
    max_attempts: int = 5
    timeout_s: float = 300.0
