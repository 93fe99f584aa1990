"""Turning a hook payload into a sessions row (deeplake-api.md's format).

* ``path`` = ``/sessions/<user>/<user>_<org name>_<workspace>_<session id>.jsonl``
  (one path per session); ``filename`` is its last component.
* ``message`` = ``{id, session_id, transcript_path, cwd, permission_mode,
  hook_event_name, agent_id?, agent_type?, timestamp, type, ...}`` with type
  ``user_message`` (+content), ``tool_call`` (+tool_name, tool_use_id,
  tool_input and tool_response as JSON *strings*) or ``assistant_message``
  (+content, agent_transcript_path?).

Untrusted values never become path components as they are: a session id or
user name outside ``[A-Za-z0-9._-]{1,128}`` is replaced by ``x<sha256 prefix>``
in the path (the message keeps the original).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from . import __version__
from .store.base import SessionRow

AGENT = "claude_code"
#: Longest text kept per field (characters); longer text is cut with a marker.
MAX_FIELD_CHARS = 512 * 1024
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

#: hook event -> message type of the row it captures
CAPTURED_EVENTS = {
    "UserPromptSubmit": "user_message",
    "PostToolUse": "tool_call",
    "Stop": "assistant_message",
    "SubagentStop": "assistant_message",
}


def utc_now() -> str:
    """ISO-8601 UTC with microseconds and ``Z``, fixed width so text order is time order."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_from_ns(ns: int) -> str:
    """``utc_now``'s format for a time in nanoseconds since the epoch."""
    stamp = _dt.datetime.fromtimestamp(ns // 1_000_000_000, _dt.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{(ns // 1000) % 1_000_000:06d}Z"


def path_component(value: str) -> str:
    """``value`` when it is a safe path component, else ``x`` + 32 hex of its SHA-256."""
    if _SAFE.fullmatch(value or "") and ".." not in value:
        return value
    return "x" + hashlib.sha256((value or "").encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass(frozen=True)
class Identity:
    """Who and where rows are written for: user (author), org name, workspace."""

    user: str
    org_name: str = "local"
    workspace: str = "default"

    def session_path(self, session_id: str) -> str:
        """The session's row path (deeplake-api.md convention)."""
        user = path_component(self.user)
        name = "_".join((user, path_component(self.org_name), path_component(self.workspace),
                         path_component(session_id)))
        return f"/sessions/{user}/{name}.jsonl"


def _cut(value: Any, truncated: list[str], field: str, as_json: bool = False) -> str:
    """``value`` as text (JSON text when ``as_json``), cut to ``MAX_FIELD_CHARS`` with a marker.

    A value ``lakeloop.boundedjson`` already cut (``Cut`` / ``RawJSON``, which carry
    ``original_bytes``) is marked with its original size.
    """
    original = getattr(value, "original_bytes", 0)
    if original:
        raw = type(value).__name__ == "RawJSON"
        text = str.__str__(value) if raw or not as_json else _as_json_text(str.__str__(value))
        truncated.append(f"{field}={original}B")
        return text[:MAX_FIELD_CHARS] + f"...[lakeloop: truncated, {original} bytes in all]"
    text = _as_json_text(value) if as_json else (value if isinstance(value, str) else str(value))
    if len(text) <= MAX_FIELD_CHARS:
        return text
    truncated.append(f"{field}={len(text)}")
    return text[:MAX_FIELD_CHARS] + f"...[lakeloop: truncated {len(text) - MAX_FIELD_CHARS} chars]"


def _as_json_text(value: Any) -> str:
    # Always JSON text of the value, strings included (a tool may return a bare string):
    # readers JSON-parse these fields, as the reference client's JSON.stringify implies.
    return json.dumps(value, ensure_ascii=False, default=str)


def build_message(payload: dict[str, Any], truncated: list[str] | None = None,
                  received_at_ns: int | None = None, event_id: str | None = None) -> dict[str, Any] | None:
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


def session_row(message: dict[str, Any], identity: Identity) -> SessionRow:
    """Wrap a message into a sessions row for ``identity``; the row's ``id`` is the
    message's ``id`` (the event id), so a re-sent event is recognised as the same row."""
    path = identity.session_path(message["session_id"])
    text = json.dumps(message, ensure_ascii=False)
    cwd = message.get("cwd") or ""
    project = cwd.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1] if cwd else ""
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
        agent=AGENT,
        plugin_version=__version__,
        creation_date=now,
        last_update_date=now,
    )
