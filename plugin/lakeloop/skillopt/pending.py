"""Judgment windows: one small file per session (docs/skill-loop.md, "Arming").

A window is ``{session_id, skill, budget, tool_use_id, version, armed_at, use_id, agent, user}``
(``use_id``: the use's id, ``use_id_of``; ``agent``: the rows' agent; ``user``:
who used the skill). A window that closes before any prompt spent it (replaced by a newer use, its
session ended, or left stale) is copied to ``closed_dir()/<use id>.json``; ``skillopt.outcomes.sweep``
turns each such file into a ``no_pushback`` outcome.
Files live in ``paths.pending_dir()`` named by a hash of the session id (a
hostile id never becomes a path), are written atomically (temp + rename) and
are read-modified-written under a per-session file lock, so concurrent
sessions never clobber each other and a window's budget is never spent twice.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from .. import paths
from ..fsutil import atomic_write_json, read_json, safe_key
from ..locks import hold

LOCK_TIMEOUT_S = 2.0


def use_id_of(window: dict[str, Any]) -> str:
    """The use id of a judgment window (32 hex digits): sha256 of the session id, a NUL, and the
    tool use id (or, without one, the arming time in nanoseconds). A PreToolUse fired twice for
    one tool call gives one use; a window written by older code gets the same id here."""
    anchor = str(window.get("tool_use_id") or "")
    if not anchor:
        try:
            anchor = str(int(float(window.get("armed_at") or 0) * 1e9))
        except (TypeError, ValueError):
            anchor = "0"
    raw = f"{window.get('session_id') or ''}\0{anchor}"
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _files(session_id: str) -> tuple[Path, Path]:
    key = safe_key(session_id)
    base = paths.pending_dir()
    return base / f"{key}.json", base / f"{key}.lock"


def arm(
    session_id: str,
    skill: str,
    tool_use_id: str,
    budget: int,
    version: int | None = None,
    agent: str = "claude_code",
    user: str = "",
) -> dict[str, Any]:
    """Open (or replace) the session's window with ``budget`` user messages; ``version`` is the
    pulled (pinned) version the agent used, ``agent`` the rows' agent. The window gets its use id
    (``use_id_of``: one id per tool call, so a repeated PreToolUse is one use).
    An open window of another use that no prompt spent is closed first (``closed_dir``).

    Returns the window written. Raises OSError, or LockTimeout (an OSError) when the
    session's lock stays held for ``LOCK_TIMEOUT_S`` seconds.
    """
    window = {
        "session_id": session_id,
        "skill": skill,
        "budget": int(budget),
        "tool_use_id": tool_use_id,
        "version": version,
        "armed_at": time.time(),
        "agent": agent,
        "user": user,
    }
    window["use_id"] = use_id_of(window)
    data_file, lock_file = _files(session_id)
    with hold(lock_file, LOCK_TIMEOUT_S):
        old = read_json(data_file)
        if (
            isinstance(old, dict)
            and old.get("session_id") == session_id
            and (old.get("use_id") or use_id_of(old)) != window["use_id"]
        ):
            _close_unspent(old)
        atomic_write_json(data_file, window)
    return window


def closed_dir() -> Path:
    """``<pending dir>/closed``: windows that closed before any prompt spent them."""
    return paths.pending_dir() / "closed"


def _close_unspent(window: dict[str, Any]) -> bool:
    """Copy ``window`` to ``closed_dir()/<use id>.json`` when no prompt spent it (called under
    the session's lock). Returns whether it was copied. Raises OSError."""
    use_id = window.get("use_id") or use_id_of(window)  # a window of older code has none
    if window.get("spent_by") or not isinstance(use_id, str) or not use_id.isalnum():
        return False
    atomic_write_json(closed_dir() / f"{use_id}.json", {**window, "use_id": use_id})
    return True


def close_unspent(session_id: str) -> bool:
    """At the session's end: copy its open window to ``closed_dir()`` when no prompt spent it.
    The window stays open (a resumed session's next prompt is still a reaction; its judgment
    then outranks the ``no_pushback``). Returns whether a window was copied. Raises OSError, or
    LockTimeout (an OSError)."""
    data_file, lock_file = _files(session_id)
    if not data_file.exists():
        return False
    with hold(lock_file, LOCK_TIMEOUT_S):
        window = read_json(data_file)
        return isinstance(window, dict) and window.get("session_id") == session_id and _close_unspent(window)


def peek(session_id: str) -> dict[str, Any] | None:
    """The session's open window, or None."""
    window = read_json(_files(session_id)[0])
    return window if isinstance(window, dict) else None


def spend(session_id: str, event_id: str | None = None) -> dict[str, Any] | None:
    """Spend one unit of the session's window budget for the prompt ``event_id``.

    Returns the window as it was before spending (None when no window is
    open, or when ``event_id`` already spent this window: a replayed prompt never
    spends twice); the file is removed when the budget reaches 0. Raises OSError, or
    LockTimeout (an OSError) when the session's lock stays held for ``LOCK_TIMEOUT_S`` seconds.
    """
    data_file, lock_file = _files(session_id)
    if not data_file.exists():
        return None
    with hold(lock_file, LOCK_TIMEOUT_S):
        window = read_json(data_file)
        if not isinstance(window, dict) or window.get("session_id") != session_id:
            if data_file.exists():
                data_file.unlink()
            return None
        spent_by = [str(e) for e in window.get("spent_by") or []]
        if event_id and event_id in spent_by:
            return None
        remaining = int(window.get("budget", 0)) - 1
        if remaining <= 0:
            data_file.unlink()
        else:
            atomic_write_json(
                data_file,
                {**window, "budget": remaining, "spent_by": (spent_by + [event_id] if event_id else spent_by)[-16:]},
            )
        return window


def close_stale(session_id: str, before: float) -> bool:
    """Close the session's window when it was armed before ``before`` (epoch seconds): copied
    to ``closed_dir()`` when no prompt spent it, then removed. Returns whether it was removed.
    Raises OSError, or LockTimeout (an OSError)."""
    data_file, lock_file = _files(session_id)
    if not data_file.exists():
        return False
    with hold(lock_file, LOCK_TIMEOUT_S):
        window = read_json(data_file)
        if not isinstance(window, dict) or window.get("session_id") != session_id:
            return False
        armed_at = window.get("armed_at")
        if not isinstance(armed_at, (int, float)) or armed_at >= before:
            return False
        _close_unspent(window)
        data_file.unlink(missing_ok=True)
        return True
