"""``lakeloop sessions [--json] [--limit N]``: captured sessions, newest first.

Human output, aligned columns cut to the terminal's width::

    TIME              USER   AGENT        PROJECT  PROMPTS  FIRST PROMPT
    2026-12-07 14:02  alice  claude_code  acme     3        add a migration for the orders…

TIME is the session's latest event in this machine's time zone; USER, PROJECT and FIRST PROMPT
are those of the session's first prompt, as the memory path's ``/index.md`` shows them (the same
query: ``Store.memory_query`` with ``index``, which covers the latest sessions; an older session
shows its user from its path and no prompt). Every cell is stored text, shown escaped on one
line (``_output.one_line``). ``--json``: ``{"sessions": [{path, session_id, rows, types, first,
last, agent, user, project, prompts, first_prompt}]}``.
"""

from __future__ import annotations

from typing import Any

from ._output import emit_json, local_time, table, terminal_width


def _user_of(path: str) -> str:
    """The user directory of a session path (``/sessions/<user>/<file>``), else ''."""
    parts = path.split("/")
    return parts[2] if len(parts) > 3 and parts[1] == "sessions" else ""


def describe(store, limit: int) -> list[dict[str, Any]]:
    """``Store.list_sessions(limit)`` (newest first), each with ``user``, ``project``,
    ``first_prompt`` (the ``/index.md`` session records) and ``prompts`` (user messages).
    Two store queries. Raises StoreError."""
    from ..store.memory_types import SESSION, MemoryQuery

    sessions = store.list_sessions(limit=limit)
    index = {r.path: r for r in store.memory_query(MemoryQuery(index=True)) if r.kind == SESSION} if sessions else {}
    for s in sessions:
        entry = index.get(s["path"])
        s["user"] = entry.author if entry else _user_of(s["path"])
        s["project"] = entry.project if entry else ""
        s["first_prompt"] = entry.text if entry else ""
        s["prompts"] = s["types"].get("user_message", 0)
        s.setdefault("agent", "")
    return sessions


def run(args) -> int:
    """List recent sessions. Raises StoreError when the store cannot be read (``cli.error_handler``:
    exit 1)."""
    from ..store import open_store

    with open_store() as store:
        sessions = describe(store, args.limit)
    if args.json:
        emit_json({"sessions": sessions})
        return 0
    if not sessions:
        print("no sessions captured yet")
        return 0
    table(
        ["TIME", "USER", "AGENT", "PROJECT", "PROMPTS", "FIRST PROMPT"],
        [
            [local_time(s["last"]), s["user"], s["agent"], s["project"], s["prompts"], s["first_prompt"]]
            for s in sessions
        ],
        width=terminal_width(),
    )
    return 0
