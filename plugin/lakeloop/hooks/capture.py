"""Capture (UserPromptSubmit, PostToolUse, Stop, SubagentStop).

In the hook process, ``spool`` only writes the raw payload to the outbox (no
JSON parsing: json and its regular expressions are a fifth of a hook's
start-up) and starts a detached drainer unless one already runs
(``lakeloop.outbox``). The drainer calls back into this module through
``handlers``: ``parse`` (bounded JSON, ``lakeloop.boundedjson``), ``react``
(``user_prompt_submit.react``), ``rows`` (one sessions row per event,
``lakeloop.rows``, its id the event id) and ``open_store``. Skipped when
``LAKELOOP_CAPTURE=0`` or inside the skill optimizer's own processes (the
judge and proposer calls are never captured).
"""

from __future__ import annotations

from .. import config

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook start-up time)
if TYPE_CHECKING:
    from typing import Any

    import logging

    from ..outbox.drainer import Handlers, Result
    from ..rows import Identity

#: Hard backstop on a detached drainer's life (seconds): SIGALRM ends one stuck in a system
#: call, which releases the drain lock (its in-flight entries are then looked up, not lost).
DRAINER_ALARM_S = 900


def spool(event: str, data: bytes, log: logging.Logger) -> None:
    """Hook fast path: spool the raw payload bytes and start a drainer unless one runs
    (or the store is pausing after the last drainer gave up on it; a UserPromptSubmit
    starts one anyway, for its reaction). UserPromptSubmit is spooled even with
    capture off (its reaction still counts)."""
    if config.in_worker():
        return
    if event != "UserPromptSubmit" and not config.capture_enabled():
        return
    from ..outbox import spool as outbox_spool

    try:
        outbox_spool.put_raw(event, data)
    except outbox_spool.OutboxFull:
        from ..outbox.usage import record_drop

        record_drop(event, log, config.outbox_max_mb())
        return
    if event != "UserPromptSubmit" and outbox_spool.store_paused():
        from ..outbox.usage import maybe_refresh

        maybe_refresh(config.outbox_max_mb() << 20, len(data))  # no drainer runs: keep the cap enforced
        return
    if outbox_spool.start_drainer(drainer_child) == "inline":
        drain(log, linger_s=0.0)


def drainer_child(lock_fd: int) -> None:
    """Body of the detached drainer (runs in the forked child holding the drain lock)."""
    import signal

    signal.alarm(DRAINER_ALARM_S)
    from ..log import setup

    log = setup("drain")
    from ..outbox.drainer import Drainer, run_locked

    run_locked(lambda: Drainer(handlers(log), log, linger_s=config.drain_linger_s(),
                               max_bytes=config.outbox_max_mb() << 20), lock_fd, log)


def drain(log: logging.Logger, linger_s: float = 0.0, wait_s: float = 0.0, sleep=None) -> Result | None:
    """Drain the outbox in this process (``lakeloop flush``, platforms without fork, tests).
    Waits up to ``wait_s`` seconds for a running drainer to finish first. Returns the
    ``Result``, or None when another drainer still holds the lock."""
    from ..outbox import outbox_dir
    from ..outbox.drainer import Drainer, run_locked
    from ..outbox.lock import wait_lock

    fd = wait_lock(outbox_dir(), wait_s)
    if fd is None:
        return None
    extra = {} if sleep is None else {"sleep": sleep}
    return run_locked(lambda: Drainer(handlers(log), log, linger_s=linger_s,
                                      max_bytes=config.outbox_max_mb() << 20, **extra), fd, log)


def handlers(log: logging.Logger) -> Handlers:
    """The drainer's callbacks for capture (see ``lakeloop.outbox.drainer.Handlers``). The
    writer identity is resolved once per drain, on first need."""
    from ..outbox.drainer import Handlers

    identity: list[Identity] = []

    def rows(payload: dict[str, Any], received_ns: int, event_id: str) -> list:
        if not identity:
            from ..store import current_identity

            identity.append(current_identity())
        return event_rows(payload, received_ns, event_id, identity[0], log)

    def open_store():
        from ..store import open_store as _open

        return _open()

    return Handlers(parse=parse, react=_react(log), rows=rows, open_store=open_store)


def parse(data: bytes, event: str) -> dict[str, Any]:
    """The hook payload in ``data`` as a dict, its ``hook_event_name`` set to ``event`` (the
    launcher's event argument wins). Raises ``boundedjson.PayloadError``."""
    from ..boundedjson import loads_object

    payload = loads_object(data)
    named = payload.get("hook_event_name")
    if named != event:
        payload["_launched_as"] = (str(named)[:60] if named else "", event)
        payload["hook_event_name"] = event
    return payload


def _react(log: logging.Logger):
    def react(payload: dict[str, Any], received_ns: int, event_id: str) -> None:
        from .user_prompt_submit import react as react_prompt

        react_prompt(payload, log, received_ns, event_id)
    return react


def event_rows(payload: dict[str, Any], received_at_ns: int, event_id: str, identity: Identity,
               log: logging.Logger) -> list:
    """The sessions rows for one payload (0 or 1): empty when capture is off, the payload
    has no session_id, the event is not captured, or its project is excluded (a
    ``.lakeloop-ignore`` at or above its ``cwd``, ``LAKELOOP_EXCLUDE``). The row's id is
    ``event_id``. Before the row is built, ``<private>`` spans of a prompt become
    ``[PRIVATE]`` and secrets in every field ``[REDACTED:<kind>]`` (``lakeloop.redact``,
    issue 7; ``LAKELOOP_REDACT=0`` turns the latter off): this runs in the drainer, so the
    row is redacted before it reaches either store."""
    if not config.capture_enabled():
        log.debug("capture skipped: LAKELOOP_CAPTURE=0")
        return []
    launched = payload.pop("_launched_as", None)
    if isinstance(launched, tuple) and launched[0]:  # set by parse (a JSON payload cannot hold a tuple)
        log.warning("payload says hook_event_name=%r, launched as %s: handled as %s", launched[0], launched[1],
                    launched[1])
    from ..rows import build_message, session_row

    if not payload.get("session_id"):
        log.error("%s payload has no session_id: not captured", payload.get("hook_event_name"))
        return []
    from ..redact import exclude

    cwd = payload.get("cwd")
    why = exclude.excluded(cwd if isinstance(cwd, str) else "", config.capture_exclude())
    if why:
        (log.info if exclude.first_note(why) else log.debug)("not captured (project excluded: %s)", why)
        return []
    truncated: list[str] = []
    message = build_message(payload, truncated, received_at_ns, event_id=event_id)
    if message is None:
        return []
    if truncated:
        log.warning("oversized fields cut to fit: %s", ", ".join(truncated))
    if message.get("type") == "user_message" and isinstance(message.get("content"), str):
        from ..redact.private import hide_private

        message["content"], spans = hide_private(message["content"])
        if spans:
            log.info("event %s: %d <private> span(s) not stored", event_id, spans)
    from ..redact import redact_message

    kinds: dict[str, int] = {}
    message = redact_message(message, kinds)  # the message itself when LAKELOOP_REDACT=0
    if kinds:  # kinds and counts only: never the secret
        log.info("event %s: redacted %s", event_id, ", ".join(f"{k}={n}" for k, n in sorted(kinds.items())))
    return [session_row(message, identity)]
