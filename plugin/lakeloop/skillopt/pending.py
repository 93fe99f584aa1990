"""Judgment windows: one small file per session (docs/skill-loop.md, "Arming").

A window is ``{session_id, skill, budget, tool_use_id, version, armed_at}``.
Files live in ``paths.pending_dir()`` named by a hash of the session id (a
hostile id never becomes a path), are written atomically (temp + rename) and
are read-modified-written under a per-session file lock, so concurrent
sessions never clobber each other and a window's budget is never spent twice.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .. import paths
from ..fsutil import atomic_write_json, read_json, safe_key
from ..locks import hold

LOCK_TIMEOUT_S = 2.0


def _files(session_id: str) -> tuple[Path, Path]:
    key = safe_key(session_id)
    base = paths.pending_dir()
    return base / f"{key}.json", base / f"{key}.lock"


def arm(session_id: str, skill: str, tool_use_id: str, budget: int, version: int | None = None) -> dict[str, Any]:
    """Open (or replace) the session's window with ``budget`` user messages.

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
    }
    data_file, lock_file = _files(session_id)
    with hold(lock_file, LOCK_TIMEOUT_S):
        atomic_write_json(data_file, window)
    return window


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
