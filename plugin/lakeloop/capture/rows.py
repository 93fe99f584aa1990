"""Turning a hook payload into a sessions row (docs/deeplake-store.md's format).

* ``path`` = ``/sessions/<user>/<user>_<org name>_<workspace>_<session id>.jsonl``
  (one path per session, ``lakeloop.identity.Identity.session_path``); ``filename`` is its last
  component.
* ``message`` = ``{id, session_id, transcript_path, cwd, permission_mode,
  hook_event_name, agent_id?, agent_type?, timestamp, type, ...}`` with type
  ``user_message`` (+content), ``tool_call`` (+tool_name, tool_use_id,
  tool_input and tool_response as JSON *strings*) or ``assistant_message``
  (+content, agent_transcript_path?).

``event_rows`` is the drainer's step: the entry's settings decide whether the event is stored at
all, then ``build_message``, ``<private>`` spans and secrets removed, ``session_row``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from .. import __version__
from ..identity import Identity, project_key, utc_from_ns, utc_now
from ..store.base import SessionRow
from .parse import LAUNCHED_AS_KEY, settings_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging

#: The rows' ``agent`` value for Claude Code (``lakeloop.agents.claude.ClaudeCode.row_agent``);
#: another agent's rows carry its ``Agent.row_agent``.
AGENT = "claude_code"
#: Longest text kept per field (characters); longer text is cut with a marker.
MAX_FIELD_CHARS = 512 * 1024

#: hook event -> message type of the row it captures
CAPTURED_EVENTS = {
    "UserPromptSubmit": "user_message",
    "PostToolUse": "tool_call",
    "Stop": "assistant_message",
    "SubagentStop": "assistant_message",
}


def _cut(value: Any, truncated: list[str], field: str, as_json: bool = False) -> str:
    """``value`` as text (JSON text when ``as_json``; a value that is not a string is JSON text
    too, None empty), cut to ``MAX_FIELD_CHARS`` with a marker.

    A value ``lakeloop.boundedjson`` already cut (``Cut`` / ``RawJSON``, which carry
    ``original_bytes``) is marked with its original size.
    """
    original = getattr(value, "original_bytes", 0)
    if original:
        raw = type(value).__name__ == "RawJSON"
        text = str.__str__(value) if raw or not as_json else _as_json_text(str.__str__(value))
        truncated.append(f"{field}={original}B")
        return text[:MAX_FIELD_CHARS] + f"...[lakeloop: truncated, {original} bytes in all]"
    if as_json or not isinstance(value, str):  # a non-string text field (hostile) is JSON text, never repr
        text = "" if value is None and not as_json else _as_json_text(value)
    else:
        text = value
    if len(text) <= MAX_FIELD_CHARS:
        return text
    truncated.append(f"{field}={len(text)}")
    return text[:MAX_FIELD_CHARS] + f"...[lakeloop: truncated {len(text) - MAX_FIELD_CHARS} chars]"


def _as_json_text(value: Any) -> str:
    # Always JSON text of the value, strings included (a tool may return a bare string):
    # readers JSON-parse these fields, as the reference client's JSON.stringify implies.
    return json.dumps(value, ensure_ascii=False, default=str)


def build_message(
    payload: dict[str, Any],
    truncated: list[str] | None = None,
    received_at_ns: int | None = None,
    event_id: str | None = None,
) -> dict[str, Any] | None:
    """The row message for a hook payload, or None for events that are not captured.

    ``truncated`` (when given) receives ``field=length`` for each field cut to
    ``MAX_FIELD_CHARS``. ``received_at_ns`` (nanoseconds since the epoch, when the
    hook received the event) sets ``timestamp``; default now. ``event_id`` (fixed when
    the hook spooled the event, ``lakeloop.outbox.entries.event_id``) is the message's
    ``id``, and so the row's: a new random UUID when not given.
    """
    cut = truncated if truncated is not None else []
    event = str(payload.get("hook_event_name", ""))
    kind = CAPTURED_EVENTS.get(event)
    if kind is None:
        return None
    msg: dict[str, Any] = {
        "id": event_id or str(uuid.uuid4()),
        "session_id": str(payload.get("session_id", "")),
        "transcript_path": str(payload.get("transcript_path", "")),
        "cwd": str(payload.get("cwd", "")),
        "permission_mode": str(payload.get("permission_mode", "")),
        "hook_event_name": event,
        "timestamp": utc_from_ns(received_at_ns) if received_at_ns else utc_now(),
        "type": kind,
    }
    for optional in ("agent_id", "agent_type"):
        if payload.get(optional):
            msg[optional] = str(payload[optional])
    if kind == "user_message":
        msg["content"] = _cut(payload.get("prompt", ""), cut, "content")
    elif kind == "tool_call":
        msg["tool_name"] = str(payload.get("tool_name", ""))
        msg["tool_use_id"] = str(payload.get("tool_use_id", ""))
        msg["tool_input"] = _cut(payload.get("tool_input", {}), cut, "tool_input", as_json=True)
        msg["tool_response"] = _cut(payload.get("tool_response", {}), cut, "tool_response", as_json=True)
    else:
        msg["content"] = _cut(payload.get("last_assistant_message", "") or "", cut, "content")
        if payload.get("agent_transcript_path"):
            msg["agent_transcript_path"] = str(payload["agent_transcript_path"])
    return msg


def session_row(message: dict[str, Any], identity: Identity, agent: str = AGENT) -> SessionRow:
    """Wrap a message into a sessions row for ``identity``; the row's ``id`` is the
    message's ``id`` (the event id), so a re-sent event is recognised as the same row.
    ``size_bytes`` is the UTF-8 length of the message's JSON text; ``agent`` the row's agent
    value (``Agent.row_agent``). Raises KeyError for a message without ``session_id`` or
    ``hook_event_name``."""
    path = identity.session_path(message["session_id"])
    text = json.dumps(message, ensure_ascii=False)
    project = project_key(str(message.get("cwd") or ""))
    now = message.get("timestamp") or utc_now()
    return SessionRow(
        id=str(message.get("id") or uuid.uuid4()),
        path=path,
        filename=path.rsplit("/", 1)[-1],
        message=message,
        author=identity.user,
        size_bytes=len(text.encode("utf-8", "surrogatepass")),
        project=project,
        description=message["hook_event_name"],
        agent=agent,
        plugin_version=__version__,
        creation_date=now,
        last_update_date=now,
    )


def event_rows(
    payload: dict[str, Any], received_at_ns: int, event_id: str, identity: Identity, log: logging.Logger
) -> list[SessionRow]:
    """The sessions rows for one payload (0 or 1): empty when capture is off, the payload
    has no session_id, the event is not captured, or its project is excluded (a
    ``.lakeloop-ignore`` at or above its ``cwd`` or its real path, ``LAKELOOP_EXCLUDE``). The
    row's id is ``event_id``, its timestamp ``received_at_ns`` (nanoseconds since the epoch).
    In the built row, ``<private>`` spans of every text field become ``[PRIVATE]`` and then
    secrets ``[REDACTED:<kind>]`` (``lakeloop.redact``; ``LAKELOOP_REDACT=0`` turns the latter
    off): this runs in the drainer, so the row is cleaned before it reaches either store. The
    row's ``agent`` is the entry's agent's ``row_agent``. The settings are the entry's
    (``parse.SETTINGS_KEY``, set by ``parse``; this process's own for a payload that did not
    come through it). Any exception raised while building or cleaning the row propagates (the
    drainer moves the entry to ``failed/``)."""
    from ..outbox.spool import MAX_SETTING_BYTES

    settings = settings_of(payload)  # left in the payload: a second call on it must see the same
    if settings.cut:
        log.warning(
            "event %s not captured: %s over %d bytes in its session, recorded cut (its exclusion "
            "or redaction settings cannot be applied faithfully)",
            event_id,
            ", ".join(settings.cut),
            MAX_SETTING_BYTES,
        )
        return []
    if not settings.capture:
        log.debug("capture skipped: LAKELOOP_CAPTURE=0")
        return []
    launched = payload.pop(LAUNCHED_AS_KEY, None)
    if isinstance(launched, tuple) and launched[0]:  # set by parse (a JSON payload cannot hold a tuple)
        log.warning(
            "payload says hook_event_name=%r, launched as %s: handled as %s", launched[0], launched[1], launched[1]
        )
    if not payload.get("session_id"):
        log.error("%s payload has no session_id: not captured", payload.get("hook_event_name"))
        return []
    from ..redact import exclude

    cwd = payload.get("cwd")
    why = exclude.excluded(cwd if isinstance(cwd, str) else "", settings.exclude)
    if why:
        (log.info if exclude.first_note(why) else log.debug)("not captured (project excluded: %s)", why)
        return []
    truncated: list[str] = []
    message = build_message(payload, truncated, received_at_ns, event_id=event_id)
    if message is None:
        return []
    if truncated:
        log.warning("oversized fields cut to fit: %s", ", ".join(truncated))
    from ..redact import hide_private_message, redact_message

    message, spans = hide_private_message(message)
    if spans:
        log.info("event %s: %d <private> span(s) (or stray closing tags) not stored", event_id, spans)
    kinds: dict[str, int] = {}
    # the message itself when the session has LAKELOOP_REDACT=0
    message = redact_message(message, kinds, enabled=settings.redact, patterns=settings.patterns)
    if kinds:  # kinds and counts only: never the secret
        log.info("event %s: redacted %s", event_id, ", ".join(f"{k}={n}" for k, n in sorted(kinds.items())))
    return [session_row(message, identity, settings.row_agent)]
