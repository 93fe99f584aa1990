"""SessionEnd: the log line that marks the session's end, the session's final summary queued
(``summaries.trigger.session_ended``), a drainer started when events still wait in the outbox
(the session's last ones, whose own drainer did not run: the final summary waits for them), and
the job runner started when a job's retry time has come (``jobs.wake.kick_if_due``), and the
session's judgment window, when no prompt spent it, copied aside as a ``no_pushback`` use
(``skillopt.outcomes.session_closed``: one small file; a drainer's end spools it and the
``outcomes`` job stores it), and a ``skillify`` run queued when one is due
(``skillopt.skillify.maybe_enqueue``: one small file read when it is not). Nothing is stored by the
hook itself.

Both steps are bounded (one small local transaction, one ``stat``, at most one detached
``Popen``: well inside the hook's 5 s timeout), fail open with a logged reason, and are skipped
in the optimizer's and the job runner's own processes (``LAKELOOP_WORKER=1``): their agent
sessions are not the user's. An open judgment window is kept: a resumed session's next prompt is
still a reaction (its judgment outranks the ``no_pushback`` in the counts).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook start-up time)
if TYPE_CHECKING:
    import logging
    from typing import Any


def handle(payload: dict[str, Any], log: logging.Logger) -> None:
    """Log the end of the session and its reason, queue its final summary and kick the job
    runner. Never raises for a failure of either step (each is logged)."""
    log.info(
        "session end session=%s reason=%s", str(payload.get("session_id", ""))[:64], str(payload.get("reason", ""))[:40]
    )
    from .. import config

    if config.in_worker():
        return
    try:
        from ..summaries.trigger import session_ended
        from .main import agent_of

        other = agent_of(payload)
        if other is None:
            session_ended(payload, log)
        else:  # another agent than Claude Code (hooks.main loaded lakeloop.agents for it)
            from .. import agents

            session_ended(payload, log, agents.get(other[0]).row_agent)
    except Exception as exc:  # the summary is lost, never the hook
        log.warning("session end: final summary not queued: %s: %s", type(exc).__name__, str(exc)[:200])
    try:  # a skill-mining run when one is due (otherwise one small file read)
        from ..skillopt.skillify import maybe_enqueue
        from .main import agent_of

        other = agent_of(payload)
        if other is None:
            maybe_enqueue(payload, log)
        else:
            from .. import agents

            maybe_enqueue(payload, log, agents.get(other[0]).row_agent)
    except Exception as exc:  # no draft this time, never a broken hook
        log.warning("session end: skillify not queued: %s: %s", type(exc).__name__, str(exc)[:200])
    try:  # a window no prompt spent becomes a no_pushback outcome (the drainer's sweep spools it)
        session_id = payload.get("session_id")
        if isinstance(session_id, str) and session_id and _windows_open():
            from ..skillopt.outcomes import session_closed

            session_closed(session_id, log)
    except Exception as exc:  # the window stays; the drainer's stale sweep closes it later
        log.warning("session end: window not closed: %s: %s", type(exc).__name__, str(exc)[:200])
    try:
        from ..capture.drain import drain_waiting

        drain_waiting(log, "session end")
    except Exception as exc:  # the events wait on disk for the next hook or session
        log.warning("session end: could not start a drainer: %s: %s", type(exc).__name__, str(exc)[:200])
    try:
        from ..jobs.wake import kick_if_due

        kick_if_due(log)
    except Exception as exc:
        log.warning("session end: the job runner kick failed: %s: %s", type(exc).__name__, str(exc)[:200])


def _windows_open() -> bool:
    """Whether any judgment window is open on this machine (one directory listing): a session
    that loaded no team skill pays no more than that at its end."""
    import os

    from .. import paths

    try:
        with os.scandir(paths.pending_dir()) as it:
            return any(e.name.endswith(".json") for e in it)
    except OSError:
        return False
