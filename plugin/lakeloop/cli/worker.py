"""``lakeloop worker JOB_FILE``: the detached skill optimizer run (started by
UserPromptSubmit; not for people). Reads and removes the job file, takes the
per-skill lease, runs ``skillopt.worker.improve`` and logs the outcome. Exits 0
unless the job file is unusable."""

from __future__ import annotations

import json
import time
from pathlib import Path

from .. import config
from ..log import setup


def run(args) -> int:
    """Run one job. Returns 0 on any outcome, 2 for an unreadable job file."""
    log = setup("worker")
    from ..skillopt.worker import Deps, Job, improve

    job_file = Path(args.job_file)
    try:
        job = Job.from_dict(json.loads(job_file.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        log.error("worker: unusable job file %s: %s", job_file.name, exc)
        return 2
    finally:
        job_file.unlink(missing_ok=True)
    log.info("worker start skill=%s session=%s", job.skill, job.session_id[:64])
    try:
        from ..skillopt.agent import claude_call
        from ..skillopt.lease import SkillLease
        from ..store import current_identity, open_store

        with SkillLease(job.skill) as lease:
            if not lease.acquired:
                log.info("worker outcome=locked: another worker holds %s (pid %s); exiting quietly",
                         job.skill, (lease.holder or {}).get("pid"))
                return 0
            if lease.taken_over:
                log.warning("worker: took over a stale lease on %s from %s", job.skill, lease.holder)
            with open_store() as store:
                deps = Deps(
                    store=store, identity=current_identity(),
                    judge=lambda prompt, system: claude_call(prompt, system, config.judge_model()),
                    propose=lambda prompt, system: claude_call(prompt, system, config.proposer_model()),
                    sleep=time.sleep, log=log, backoff_s=config.invocation_backoff_s(),
                    min_confidence=config.judge_min_confidence(),
                )
                improve(job, deps)
    except Exception:
        log.exception("worker crashed")
    return 0
