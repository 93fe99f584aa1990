"""``lakeloop worker JOB_FILE``: kept one release for job files an older lakeloop left behind.

An older lakeloop wrote each reaction to a job file and started ``lakeloop worker <file>``
detached. The skill optimizer now runs as a ``skill-improve`` job on the local queue
(``lakeloop.skillopt.job``), so this command only turns the file into that job (same reaction
key: a reaction already queued is not queued twice), deletes it, makes sure the job runner runs,
and returns. Exits 0, or 2 when the file is unusable or the queue cannot be written."""

from __future__ import annotations

from pathlib import Path

from ..log import setup


def run(args) -> int:
    """Adopt ``args.job_file`` as a queued job. Returns 0, or 2 (logged) when it is not a job
    file or the queue is unavailable."""
    log = setup("worker")
    from ..jobs import JobsUnavailable
    from ..skillopt.job import adopt_file

    job_file = Path(args.job_file)
    try:
        adopt_file(job_file, log)
    except (OSError, ValueError) as exc:
        log.error("worker: unusable job file %s: %s", job_file.name, exc)
        return 2
    except JobsUnavailable as exc:
        log.error("worker: job file %s kept, the job queue is unavailable: %s", job_file.name, exc)
        return 2
    return 0
