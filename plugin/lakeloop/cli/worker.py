"""``lakeloop worker JOB_FILE``: the detached skill optimizer run (started by
UserPromptSubmit; not for people). Reads and removes the job file, takes the
per-skill lease, waits for the store if it is down (``wait_for_store``: reactions
run even while the store is down, so the worker is what waits), runs
``skillopt.worker.improve`` and logs the outcome. Exits 0 unless the job file is
unusable."""

from __future__ import annotations

import json
import time
from pathlib import Path

from .. import config
from ..log import setup

#: Longest the worker waits for a store that is down (seconds): inside the lease's 10 min staleness.
STORE_WAIT_S = 480.0
#: Pauses between store probes while waiting (seconds); the last one repeats.
STORE_WAIT_PAUSES_S = (5.0, 10.0, 20.0, 40.0, 60.0)


def wait_for_store(open_store, probe, log, sleep=time.sleep, clock=time.monotonic, budget_s: float = STORE_WAIT_S):
    """Open the store and run ``probe(store)`` until it answers; returns the open store.

    A store that cannot be opened or answers with a transient failure is tried again after
    ``STORE_WAIT_PAUSES_S`` for at most ``budget_s`` seconds. Raises the last StoreError when
    the budget is spent, and a permanent one (402, auth) at once.
    """
    from ..errors import StoreError, StoreUnavailable, TransientError

    deadline = clock() + budget_s
    attempt = 0
    while True:
        store = None
        try:
            store = open_store()
            probe(store)
            return store
        except StoreError as exc:
            if store is not None:
                store.close()
            waiting = isinstance(exc, (StoreUnavailable, TransientError))
            pause = STORE_WAIT_PAUSES_S[min(attempt, len(STORE_WAIT_PAUSES_S) - 1)]
            if not waiting or clock() + pause > deadline:
                raise
            log.warning("worker: the store is not answering (%s); trying again in %.0f s", exc, pause)
            sleep(pause)
            attempt += 1


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
                log.info(
                    "worker outcome=locked: another worker holds %s (pid %s); exiting quietly",
                    job.skill,
                    (lease.holder or {}).get("pid"),
                )
                return 0
            if lease.taken_over:
                log.warning("worker: took over a stale lease on %s from %s", job.skill, lease.holder)
            from ..errors import StoreError
            from ..skillopt.refs import split_ref

            ref = split_ref(job.skill) or ("", "")
            try:
                store = wait_for_store(open_store, lambda st: st.current_skill(*ref), log)
            except StoreError as exc:
                log.info("worker outcome=store_error: the store did not answer: %s", exc)
                return 0
            with store:
                deps = Deps(
                    store=store,
                    identity=current_identity(),
                    judge=lambda prompt, system: claude_call(prompt, system, config.judge_model()),
                    propose=lambda prompt, system: claude_call(prompt, system, config.proposer_model()),
                    sleep=time.sleep,
                    log=log,
                    backoff_s=config.invocation_backoff_s(),
                    min_confidence=config.judge_min_confidence(),
                )
                improve(job, deps)
    except Exception:
        log.exception("worker crashed")
    return 0
