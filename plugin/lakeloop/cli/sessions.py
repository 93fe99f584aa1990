"""``lakeloop sessions [--json]``: captured sessions with the event types of their rows."""

from __future__ import annotations

from ..errors import StoreError
from ._output import emit_json, table


def run(args) -> int:
    """List recent sessions. Exit 1 when the store cannot be read."""
    from ..store import open_store

    try:
        with open_store() as store:
            sessions = store.list_sessions(limit=args.limit)
    except StoreError as exc:
        print(f"lakeloop: cannot read the store: {exc}")
        return 1
    if args.json:
        emit_json({"sessions": sessions})
        return 0
    if not sessions:
        print("no sessions captured yet")
        return 0
    table(["SESSION", "ROWS", "TYPES", "LAST"],
          [[s["session_id"], s["rows"], ",".join(f"{k}={v}" for k, v in sorted(s["types"].items())), s["last"]]
           for s in sessions])
    return 0
