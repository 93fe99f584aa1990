"""When a session's summary is enqueued: mid-session by the drainer, and at SessionEnd.

* ``note_stored(rows, log, settings)``: the drainer calls it after each batch it stored. Per
  session it counts the rows and the user prompts (``state.State.add_rows``, one local
  transaction) and enqueues a periodic summary (``final`` false) when the session has at least
  ``LAKELOOP_SUMMARY_MIN_PROMPTS`` prompts and either ``LAKELOOP_SUMMARY_EVERY_N`` rows were
  stored since the last summary was enqueued, or ``LAKELOOP_SUMMARY_EVERY_HOURS`` have passed since
  then (since the session was first seen, before its first summary) with at least one new row.
  The settings are the capturing session's, as its hook recorded them in the outbox entry
  (``settings``), never the drainer's own: ``LAKELOOP_SUMMARIES=0`` in a session means no summary
  of it. Excluded projects store no rows, so they never get here. With
  ``LAKELOOP_SUMMARY_MAX_PER_DAY=0`` (this process's) rows are counted and nothing is enqueued.
* ``session_ended(payload, log, row_agent)``: the SessionEnd hook calls it with the hook payload; in the
  session's own environment it enqueues the final summary, due at once, unless summaries are off,
  capture is off, ``LAKELOOP_SUMMARY_MAX_PER_DAY`` is 0, the project is excluded, or this process
  is one the optimizer started. The job
  is due now so that the runner starts now: the job itself waits for the last events to drain
  and become visible (``summaries.job``), where a job queued for later would wait for the next
  hook to start a runner.

Both jobs carry the session's agent (``agents.base.JOB_AGENT_KEY``: the rows' ``agent`` value),
whose CLI writes the summary. Both go through ``jobs.submit`` with ``merge_payloads``, key
``session:<session id>``: at most one
summary job per session is queued or running; a final that meets a running periodic one runs
right after it. Both fail open: they never raise, and log why nothing was enqueued. A captured value
in a log line (a session id, an error's text) goes through ``log.short`` (one line, escaped, cut).
Import-light: the SessionEnd hook imports this module; ``sqlite3`` and the queue load lazily.
"""

from __future__ import annotations

import os
import time

from .. import config
from . import KEY_PREFIX, KIND, merge_payloads

#: The job payload key naming the session's agent, and its value for Claude Code
#: (``agents.base.JOB_AGENT_KEY``, ``agents.claude.ClaudeCode.row_agent``; a test keeps them
#: equal): a Claude Code session's SessionEnd hook then imports nothing of ``lakeloop.agents``.
JOB_AGENT_KEY = "agent"
CLAUDE_ROW_AGENT = "claude_code"

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from collections.abc import Mapping, Sequence
    from typing import Any

    from ..store.base import SessionRow
    from .state import Session


def due(session: Session, now: float, every_n: int, every_s: float, min_prompts: int) -> bool:
    """True when ``session``'s counters call for a periodic summary at ``now`` (epoch seconds):
    at least ``min_prompts`` user prompts, and ``every_n`` rows since the last enqueue, or
    ``every_s`` seconds since it (since first seen before any) with at least one new row."""
    if int(session.prompts or 0) < min_prompts or int(session.since_last or 0) <= 0:
        return False
    if int(session.since_last or 0) >= every_n:
        return True
    since = session.last_enqueued_at if session.last_enqueued_at is not None else session.first_seen_at
    return since is not None and now - float(str(since)) >= every_s


def note_stored(
    rows: Sequence[SessionRow],
    log: logging.Logger,
    settings: Mapping[str, Mapping[str, str]] | None = None,
    now: float | None = None,
) -> list[str]:
    """Count ``rows`` (a batch just stored) and enqueue the periodic summaries now due.

    ``settings``: ``{row id: the capturing session's recorded environment}``
    (``capture.parse.EntrySettings.env``); a row not in it is read with this process's own
    environment. ``now``: epoch seconds (default: the clock). Returns the job keys enqueued.
    Never raises: a failure is logged and nothing is enqueued."""
    try:
        return _note_stored(rows, log, settings or {}, time.time() if now is None else now)
    except Exception as exc:  # fail open: the drainer's work is done, a summary is extra
        from ..log import short

        log.warning("summary trigger skipped: %s: %s", type(exc).__name__, short(str(exc), 200))
        return []


def _note_stored(
    rows: Sequence[SessionRow], log: logging.Logger, settings: Mapping[str, Mapping[str, str]], now: float
) -> list[str]:
    from ..log import short
    from .state import State

    counts: dict[str, tuple[int, int]] = {}
    latest: dict[str, SessionRow] = {}
    for row in rows:
        sid = str(row.message.get("session_id") or "")
        if not sid:
            continue
        n, p = counts.get(sid, (0, 0))
        counts[sid] = (n + 1, p + int(row.type == "user_message"))
        latest[sid] = row
    if not counts:
        return []
    from .. import jobs

    state = State.open()
    try:
        sessions = state.add_rows(counts, now)
        enqueued: list[str] = []
        if config.summary_max_per_day() <= 0:  # 0: no summary is made on this machine (counted all the same)
            return []
        for sid, session in sessions.items():
            row = latest[sid]
            env = settings.get(row.id)
            if not config.summaries_enabled(env):
                continue
            min_prompts = config.summary_min_prompts(env)
            every_s = config.summary_every_hours(env) * 3600
            if not due(session, now, config.summary_every_n(env), every_s, min_prompts):
                continue
            payload = {
                "session_id": sid,
                "final": False,
                "path": row.path,
                "user": row.author,
                "project": row.project,
                "cwd": str(row.message.get("cwd") or ""),
                "min_prompts": min_prompts,
                "exclude": config.capture_exclude(env),
                JOB_AGENT_KEY: row.agent,
            }
            try:
                outcome = jobs.submit(KIND, KEY_PREFIX + sid, payload, log=log, merge=merge_payloads)
            except jobs.JobsUnavailable as exc:
                log.warning("summary of session %s not enqueued: %s", short(sid, 64), short(str(exc), 200))
                continue
            log.info("summary of session %s enqueued (periodic, %s)", short(sid, 64), outcome)
            enqueued.append(sid)
        if enqueued:
            state.mark_enqueued(enqueued, now)
        return [KEY_PREFIX + sid for sid in enqueued]
    finally:
        state.close()


def session_ended(payload: dict[str, Any], log: logging.Logger, row_agent: str = CLAUDE_ROW_AGENT) -> str | None:
    """Enqueue the final summary of the session that ``payload`` (a SessionEnd hook payload:
    ``session_id``, ``cwd``) ended, read with this process's environment (the session's own).
    ``row_agent``: the rows' ``agent`` value of the agent that ran the session
    (``Agent.row_agent``), carried by the job.
    Returns the enqueue's outcome (``new``, ``merged``, ``rerun``), or None when no summary is
    made (summaries or capture off, an excluded project, a process the optimizer started, no
    session id) or the enqueue failed. Never raises."""
    try:
        return _session_ended(payload, log, row_agent)
    except Exception as exc:  # fail open: the hook must end cleanly
        from ..log import short

        log.warning("final summary not enqueued: %s: %s", type(exc).__name__, short(str(exc), 200))
        return None


def _session_ended(payload: dict[str, Any], log: logging.Logger, row_agent: str) -> str | None:
    from ..log import short

    sid = str(payload.get("session_id") or "")
    if not sid or config.in_worker():
        return None
    if not (config.summaries_enabled() and config.capture_enabled()) or config.summary_max_per_day() <= 0:
        log.info(
            "no summary of session %s: summaries, capture or summary runs (the daily cap) turned off", short(sid, 64)
        )
        return None
    cwd = str(payload.get("cwd") or "")
    from ..redact.exclude import excluded

    if excluded(cwd, config.capture_exclude()):
        log.info("no summary of session %s: its project is excluded", short(sid, 64))
        return None
    job = {
        "session_id": sid,
        "final": True,
        "cwd": cwd,
        "author_env": {n: os.environ[n] for n in ("LAKELOOP_USER", *config.LOGIN_NAME_VARIABLES) if n in os.environ},
        "min_prompts": config.summary_min_prompts(),
        "exclude": config.capture_exclude(),
        "ended_at": time.time(),
        JOB_AGENT_KEY: row_agent,
    }
    from .. import jobs

    try:
        outcome = jobs.submit(KIND, KEY_PREFIX + sid, job, log=log, merge=merge_payloads)
    except jobs.JobsUnavailable as exc:
        log.warning("final summary of session %s not enqueued: %s", short(sid, 64), short(str(exc), 200))
        return None
    log.info("final summary of session %s enqueued (%s)", short(sid, 64), outcome)
    return str(outcome)
