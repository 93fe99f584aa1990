"""``lakeloop sessions [--json]``: captured sessions with the event types of their rows."""

from __future__ import annotations

from ._output import emit_json, table


def run(args) -> int:
    """List recent sessions. Raises StoreError when the store cannot be read (``cli.error_handler``:
    exit 1)."""
    from ..store import open_store

    with open_store() as store:
        sessions = store.list_sessions(limit=args.limit)
    if args.json:
        emit_json({"sessions": sessions})
        return 0
    if not sessions:
        print("no sessions captured yet")
        return 0
    table(
        ["SESSION", "ROWS", "TYPES", "LAST"],
        [
            [s["session_id"], s["rows"], ",".join(f"{k}={v}" for k, v in sorted(s["types"].items())), s["last"]]
            for s in sessions
        ],
    )
    return 0
