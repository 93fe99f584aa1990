"""A UserPromptSubmit as a reaction to an armed team skill (docs/skill-loop.md, "Reaction").

The hook only spools the prompt (``lakeloop.hooks.capture``); the detached drainer stores its
row and calls ``react_to_entry`` first: when the session has an open judgment window, a
non-empty prompt spends one unit of its budget and queues a ``skill-improve`` job
(``lakeloop.skillopt.job``) for the detached job runner. So the prompt is never delayed, and a
failed reaction never undoes the capture.
"""

from __future__ import annotations

from .. import config
from ..skillopt import MAX_REACTION_CHARS
from .parse import settings_of
from .rows import AGENT

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from typing import Any

    from .parse import EntrySettings


def _clean_reaction(prompt: str, settings: EntrySettings | None = None) -> str:
    """The reaction as the judge and proposer may see it: ``<private>`` spans hidden and secrets
    redacted, as in the stored row (their output can reach a published team skill), with the
    capturing session's redaction settings (None: this process's)."""
    from ..redact.private import hide_private

    text, _spans = hide_private(prompt)
    enabled = config.redact_enabled() if settings is None else settings.redact
    if enabled:
        from ..redact import redact_text

        text, _kinds = redact_text(text, None if settings is None else settings.patterns)
    return text


def react(
    payload: dict[str, Any],
    log: logging.Logger,
    received_at_ns: int | None = None,
    event_id: str | None = None,
    settings: EntrySettings | None = None,
) -> str | None:
    """Spend the window and queue the skill optimizer's job. Returns the job's key
    (``reaction:<event id>``), or None (no window, a prompt older than the window, an empty
    prompt, a replayed event, or inside the optimizer's own processes).

    ``settings``: the capture settings of the session that sent the prompt, as recorded in its
    outbox entry (``parse.EntrySettings``); the reaction text is cleaned with them (None:
    this process's environment) and cut to ``MAX_REACTION_CHARS`` characters. The job's
    ``agent`` is the session's agent's ``row_agent`` (Claude Code's for None).

    ``event_id`` (the prompt's event id, fixed when the hook spooled it) makes the
    reaction idempotent: a prompt whose reaction already spent the window, or whose
    job was already queued (the key is unique), does neither again (the drainer may replay an
    entry). A prompt without one gets a fresh key.

    ``received_at_ns`` is when the hook received the prompt (nanoseconds since the epoch; the
    drainer may run later): a window armed after that is not reacted to by this prompt (the
    prompt that led to the skill use is not a reaction to it). Errors of the window file
    propagate, and ``jobs.JobsUnavailable`` when the job cannot be queued (a runner that cannot
    be started is only logged: the job waits on disk for the next one).
    """
    if config.in_worker():
        return None
    session_id = payload.get("session_id")
    prompt = payload.get("prompt")
    if not isinstance(session_id, str) or not session_id:
        return None
    from ..skillopt import pending

    window = pending.peek(session_id)
    if window is None:
        return None
    if received_at_ns is not None and float(window.get("armed_at") or 0) * 1e9 > received_at_ns:
        log.debug("prompt predates the window on %s: not a reaction", window.get("skill"))
        return None
    if not isinstance(prompt, str) or not prompt.strip():
        log.info("empty prompt is not a reaction session=%s", session_id[:64])
        return None
    window = pending.spend(session_id, event_id)
    if window is None:
        return None
    import time

    from .. import jobs
    from ..skillopt.job import NAME, reaction_key

    job = {
        "session_id": session_id,
        "skill": window["skill"],
        "tool_use_id": window.get("tool_use_id") or "",
        "armed_version": window.get("version"),
        "reaction": _clean_reaction(prompt, settings)[:MAX_REACTION_CHARS],
        "cwd": str(payload.get("cwd") or ""),
        "event_id": event_id or "",
        "use_id": str(window.get("use_id") or ""),
        "armed_at": window.get("armed_at"),
        # when the user sent the prompt (the drainer may react much later): the worker's window
        # keeps only turns captured before it, and its wait for a store that is down counts from it
        "reacted_at": (received_at_ns / 1e9) if received_at_ns else None,
        "created_at": time.time(),
    }
    # the session that reacted publishes, not whoever drains the outbox
    job["user"] = config.user_name(None if settings is None else settings.author_env)
    # the judge and proposer run through the agent that produced the session
    from ..agents.base import JOB_AGENT_KEY

    job[JOB_AGENT_KEY] = AGENT if settings is None else settings.row_agent
    key = reaction_key(event_id)
    queued = jobs.submit(NAME, key, job, log=log)
    log.info(
        "reaction session=%s skill=%s budget_left=%d reaction_chars=%d job=%s queued=%s",
        session_id[:64],
        window["skill"],
        int(window.get("budget", 1)) - 1,
        len(job["reaction"]),
        key,
        queued,
    )
    return key


def react_to_entry(payload: dict[str, Any], received_at_ns: int, event_id: str, log: logging.Logger) -> None:
    """The drainer's reaction step for one parsed UserPromptSubmit entry: ``react`` with the
    entry's settings (``parse.settings_of``), or nothing (one warning line) when the session's
    settings were recorded cut (its redaction settings cannot be applied faithfully).
    ``received_at_ns``: nanoseconds since the epoch. Raises what ``react`` raises."""
    settings = settings_of(payload)
    if settings.cut:
        from ..outbox.spool import MAX_SETTING_BYTES

        log.warning(
            "event %s: no reaction: %s over %d bytes in its session, recorded cut",
            event_id,
            ", ".join(settings.cut),
            MAX_SETTING_BYTES,
        )
        return
    react(payload, log, received_at_ns, event_id, settings=settings)
