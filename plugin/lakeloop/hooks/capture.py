"""Capture (UserPromptSubmit, PostToolUse, Stop, SubagentStop).

In the hook process, ``spool`` only writes the raw payload to the outbox (no
JSON parsing: json and its regular expressions are a fifth of a hook's
start-up) and forks the detached drainer (``lakeloop.outbox``); the drainer
validates the payload and calls ``store_event``,
which writes one sessions row per event (``lakeloop.rows``). Skipped when
``LAKELOOP_CAPTURE=0`` or inside the skill optimizer's own processes (the
judge and proposer calls are never captured).
"""

from __future__ import annotations

from .. import config

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook start-up time)
if TYPE_CHECKING:
    from typing import Any

    import logging

    from ..rows import Identity
    from ..store.base import Store


def spool(event: str, data: bytes, log: logging.Logger) -> None:
    """Hook fast path: spool the raw payload bytes and start the drainer (which parses,
    validates and stores them). UserPromptSubmit is spooled even with capture off
    (its reaction still counts)."""
    if config.in_worker():
        return
    if event != "UserPromptSubmit" and not config.capture_enabled():
        return
    from .. import outbox

    outbox.put_raw(event, data)
    if not outbox.spawn_drainer():
        outbox.drain(log)


def store_event(payload: dict[str, Any], received_at_ns: int, store: Store, identity: Identity,
                log: logging.Logger) -> bool:
    """Write the payload's row to ``store`` for ``identity`` (``store.current_identity()``,
    resolved once per drain). Returns True when a row was written.

    Raises StoreError when the store write fails.
    """
    if not config.capture_enabled():
        log.debug("capture skipped: LAKELOOP_CAPTURE=0")
        return False
    from ..rows import build_message, session_row

    if not payload.get("session_id"):
        log.error("%s payload has no session_id: not captured", payload.get("hook_event_name"))
        return False
    truncated: list[str] = []
    message = build_message(payload, truncated, received_at_ns)
    if message is None:
        return False
    if truncated:
        log.warning("oversized fields cut to fit: %s", ", ".join(truncated))
    row = session_row(message, identity)
    store.append_session_row(row)
    log.info("captured %s session=%s bytes=%d", message["type"], message["session_id"][:64], row.size_bytes)
    return True
