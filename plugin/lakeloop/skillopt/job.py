"""The skill optimizer as a job kind: ``skill-improve``, one job per reaction (docs/skill-loop.md).

A reaction (``capture.react``) enqueues one job under the key ``reaction:<event id>``; the key is
unique for good, so a replayed reaction never runs twice. The job runner (``lakeloop.jobs``) runs
``run`` in a ``jobs exec`` child with ``LAKELOOP_WORKER=1`` (nothing it starts is captured):

1. the payload becomes a ``skillopt.worker.Job`` (a bad payload: ``JobFailed``);
2. the per-skill lease (``skillopt.lease.SkillLease``): held by a live improver, the job is done
   with outcome ``locked``; a stale lease is taken over;
3. one store probe (the skill's current row). A store that is down or failing for a while is not
   waited for in the process: ``RetryLater`` frees the runner and brings the job back at the next
   probe time of ``STORE_WAIT_PAUSES_S``, until ``STORE_WAIT_S`` after the reaction; past that, or
   at once on 402 or bad credentials, the outcome is ``store_error``;
4. ``skillopt.worker.improve`` with the real store, the clock, and the judge and proposer run
   through the CLI of the agent that produced the session (the payload's ``agent``, the rows'
   agent value; Claude Code when absent).

``Kind.max_attempts`` is 1: once a model may have been asked, a failed or killed run is never run
again (a re-run after a lost publish could publish twice). A store wait costs no attempt.

Jobs files left by an older lakeloop (``<data dir>/jobs/reaction-<event id>.json``, written by the
reaction and read by a detached ``lakeloop worker FILE``) are turned into jobs by ``adopt_file``
(``lakeloop worker FILE``) and ``adopt_leftovers`` (the end of every drainer, for files whose worker
never started).
"""

from __future__ import annotations

import time

from ..jobs import JobFailed
from ..jobs.kinds import Kind
from .store_wait import MIN_RETRY_S, STORE_WAIT_PAUSES_S, STORE_WAIT_S, next_probe_in, probe_store

__all__ = ["MIN_RETRY_S", "STORE_WAIT_PAUSES_S", "STORE_WAIT_S", "next_probe_in", "probe_store"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

    from ..jobs.kinds import Context
    from ..store.base import Store
    from .worker import Deps

#: The kind's name in the queue.
NAME = "skill-improve"
#: One attempt: a reaction is never judged or published twice.
MAX_ATTEMPTS = 1
#: Wall-clock bound of one run (seconds): the invocation poll (about 45 s), two model calls and
#: the publish-race reads, with room; the store wait is outside it (``RetryLater``).
TIMEOUT_S = 900.0
#: Leftover job files younger than this (seconds) are left to the worker that was started for them.
LEFTOVER_MIN_AGE_S = 60.0


def kind() -> Kind:
    """The ``skill-improve`` kind (``max_attempts`` 1, ``timeout_s`` 900) for the table of kinds."""
    return Kind(NAME, run, max_attempts=MAX_ATTEMPTS, timeout_s=TIMEOUT_S)


def reaction_key(event_id: str | None) -> str:
    """The dedupe key of a reaction's job: ``reaction:<event id>`` for an event id made of hex
    digits and dashes (at most 64 characters, as the outbox names them), else a fresh
    ``reaction:<uuid4 hex>`` (a prompt without an event id cannot be recognised when replayed)."""
    if event_id and len(event_id) <= 64 and all(c in "0123456789abcdef-" for c in event_id):
        return f"reaction:{event_id}"
    import uuid

    return f"reaction:{uuid.uuid4().hex}"


def run(payload: dict[str, Any], ctx: Context) -> str:
    """Run one reaction's job; returns the outcome word (``locked``, ``store_error``, or
    ``skillopt.worker.Outcome.status``). Raises ``JobFailed`` for a payload that is not a job,
    ``RetryLater`` while the store is down (see the module docstring); any other exception
    propagates (the attempt fails, and with one attempt the job stays failed with its cause)."""
    from .worker import Job, improve

    log = ctx.log
    try:
        job = Job.from_dict(payload)
    except (TypeError, ValueError) as exc:
        raise JobFailed(f"not a skill-improve job: {exc}") from exc
    log.info("worker start skill=%s session=%s", job.skill, job.session_id[:64])
    from .lease import SkillLease
    from .refs import split_ref

    with SkillLease(job.skill) as lease:
        if not lease.acquired:
            log.info(
                "worker outcome=locked: another worker holds %s (pid %s); exiting quietly",
                job.skill,
                (lease.holder or {}).get("pid"),
            )
            return "locked"
        if lease.taken_over:
            log.warning("worker: took over a stale lease on %s from %s", job.skill, lease.holder)
        from ..store import open_store

        ref = split_ref(job.skill) or ("", "")
        store = probe_store(open_store, lambda st: st.current_skill(*ref), job.reacted_at, log, time.time())
        if store is None:
            return "store_error"
        recorded: list[str] = []
        with store:
            status = improve(job, real_deps(store, log, job.agent, recorded)).status
    if recorded:  # once the run is over: the decision then sees what this run published
        from .outcomes import submit

        try:
            submit([job.skill], log)
        except Exception as exc:  # the spool file waits for the next sweep (a drainer's end)
            log.warning("outcome: outcomes job not queued: %s: %s", type(exc).__name__, str(exc)[:200])
    return status


def real_deps(store: Store, log: logging.Logger, agent: str | None = None, recorded: list[str] | None = None) -> Deps:
    """``skillopt.worker.Deps`` of a real run: ``store``, this machine's identity, the judge and
    proposer through the CLI of the agent whose rows carry ``agent`` (``lakeloop.agents.by_row_agent``:
    Claude Code for None or an unknown value; ``Agent.model_call`` with roles ``judge`` and
    ``proposer``, ``LAKELOOP_AGENT_TIMEOUT_S`` and ``detach.worker_env()``), ``time.sleep``, the
    invocation backoff and judge confidence settings, and each judgment recorded as an outcome
    (``skillopt.outcomes.record_judged``; with ``recorded``, a list, the row ids are appended to it
    and the ``outcomes`` job is left for the caller to submit). Raises StoreUnavailable from the
    identity."""
    from .. import config
    from ..agents import by_row_agent
    from ..detach import worker_env
    from ..store import current_identity
    from .worker import Deps

    cli = by_row_agent(agent)
    log.info("worker: judge and proposer run through %s", cli.display)

    def judge(prompt: str, system: str) -> str:
        return cli.model_call(prompt, system, "judge", config.agent_timeout_s(), worker_env())

    def propose(prompt: str, system: str) -> str:
        return cli.model_call(prompt, system, "proposer", config.agent_timeout_s(), worker_env())

    return Deps(
        store=store,
        identity=current_identity(),
        judge=judge,
        propose=propose,
        sleep=time.sleep,
        log=log,
        backoff_s=config.invocation_backoff_s(),
        min_confidence=config.judge_min_confidence(),
        record=lambda job, verdict: _record(job, verdict, log, recorded),
    )


def _record(job: Any, verdict: Any, log: logging.Logger, recorded: list[str] | None) -> None:
    """``Deps.record`` of a real run: spool the judgment; submit the ``outcomes`` job unless the
    caller collects the row ids in ``recorded`` to submit it later."""
    from .outcomes import record_judged

    row_id = record_judged(job, verdict, log, submit_job=recorded is None)
    if recorded is not None:
        recorded.append(row_id)


# -- job files of an older lakeloop --------------------------------------------------------------


def _leftover_key(path: Path, payload: dict[str, Any]) -> str:
    """The key of a leftover job file: its reaction's (``reaction-<event id>.json``, or the
    payload's event id), else one fixed by the file's name, so both adopters agree."""
    stem = path.name[: -len(".json")]
    event_id = stem[len("reaction-") :] if stem.startswith("reaction-") else str(payload.get("event_id") or "")
    key = reaction_key(event_id)
    return key if key == f"reaction:{event_id}" else f"reaction:file-{stem[:64]}"


def adopt_file(path: Path, log: logging.Logger) -> str:
    """Turn one job file of an older lakeloop into a ``skill-improve`` job (same reaction key) and
    delete the file. Returns ``jobs.submit``'s outcome (``"new"``, or ``"exists"`` when the job
    was already made). Raises OSError or ValueError for a file that cannot be read or is not a
    job (it is deleted all the same: it can never become one), ``JobsUnavailable`` when the queue
    cannot be written (the file is then kept for a later try)."""
    import json

    from .. import jobs

    try:
        payload = json.loads(path.read_bytes().decode("utf-8", "surrogatepass"))
        if not isinstance(payload, dict):
            raise ValueError("not a JSON object")
        from .worker import Job

        Job.from_dict(payload)
    except (OSError, ValueError):
        path.unlink(missing_ok=True)
        raise
    outcome = jobs.submit(NAME, _leftover_key(path, payload), payload, log=log)
    path.unlink(missing_ok=True)
    log.info("worker job file %s adopted as a queued job (%s)", path.name, outcome)
    return outcome


def adopt_leftovers(log: logging.Logger, now: Callable[[], float] = time.time) -> int:
    """Adopt every job file an older lakeloop left in ``paths.jobs_dir()`` (``*.json``, older
    than ``LEFTOVER_MIN_AGE_S``: a younger one belongs to the worker started with it). Returns
    how many became jobs. Never raises: each failure is one log line."""
    import os

    from .. import paths

    adopted = 0
    try:
        with os.scandir(paths.jobs_dir()) as it:
            found = [e for e in it if e.name.endswith(".json") and e.is_file(follow_symlinks=False)]
    except OSError:
        return 0
    for entry in found:
        try:
            if now() - entry.stat(follow_symlinks=False).st_mtime < LEFTOVER_MIN_AGE_S:
                continue
            from pathlib import Path

            adopt_file(Path(entry.path), log)
            adopted += 1
        except Exception as exc:  # one bad file never stops the others, nor the drainer
            log.warning("worker job file %s not adopted: %s: %s", entry.name, type(exc).__name__, str(exc)[:200])
    return adopted
