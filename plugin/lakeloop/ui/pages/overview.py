"""``/``: the Overview page. Sections: activity (one store query, ``Store.activity``, which also
tells whether the store is reachable), proposals waiting (one store query), outbox (local files,
``outbox.usage.status``), jobs (the local queue opened read-only; never created) and the
summaries' state line. A section that fails shows its one-line error; the rest still renders."""

from __future__ import annotations

import datetime as _dt
import sqlite3
from typing import Any

#: How many failed jobs the jobs section lists.
FAILED_SHOWN = 5


def bounds(now: _dt.datetime | None = None) -> tuple[str, str]:
    """``(week_start, day_start)``: local Monday midnight and local midnight of ``now`` (default:
    now), as UTC text in ``identity.utc_now``'s format (what ``Store.activity`` takes)."""
    local = (now or _dt.datetime.now()).astimezone()
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    week = day - _dt.timedelta(days=day.weekday())

    def utc(t: _dt.datetime) -> str:
        return t.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    return utc(week), utc(day)


def jobs_section() -> dict[str, Any]:
    """``{"exists": bool, "counts": {state: n}, "failed": [{id, kind, key, error}], "error": str|None}``
    read from the local job queue through a read-only connection (a missing file: ``exists`` False;
    nothing is created or migrated)."""
    from ... import paths
    from ...textsafe import escape_line

    out: dict[str, Any] = {"exists": False, "counts": {}, "failed": [], "error": None}
    where = paths.jobs_db()
    try:
        conn = sqlite3.connect(f"file:{where}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return out
    try:
        out["counts"] = dict(conn.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())
        rows = conn.execute(
            "SELECT id, kind, key, last_error FROM jobs WHERE state = 'failed' ORDER BY updated_at DESC LIMIT ?",
            (FAILED_SHOWN,),
        ).fetchall()
        out["failed"] = [{"id": i, "kind": k, "key": key, "error": escape_line(e or "")[:300]} for i, k, key, e in rows]
        out["exists"] = True
    except sqlite3.Error as exc:
        out["error"] = escape_line(str(exc))
    finally:
        conn.close()
    return out


def _activity(store: Any) -> dict[str, Any]:
    since, day = bounds()
    return {"rows": store.activity(since, day), "kind": store.name, "location": str(getattr(store, "path", ""))}


def _proposals(store: Any) -> int:
    return len(store.skill_rows(scope="proposal"))


async def _section(request: Any, key: str, fn: Any) -> tuple[Any, str | None]:
    """``(value, None)`` or ``(None, one-line error)`` for one store section."""
    from ...errors import StoreError
    from ...textsafe import escape_line

    try:
        return await request.app.state.runner.call(key, fn), None
    except StoreError as exc:
        return None, escape_line(str(exc))


async def page(request: Any) -> Any:
    """GET ``/``: the overview (HTML, 200 even when the store is unreachable)."""
    from ...cli.status import summaries_line, summaries_state
    from ...outbox.usage import status as outbox_status
    from ..data import store_is_embedded
    from ..render import render

    activity, activity_error = await _section(request, "overview.activity", _activity)
    proposals, proposals_error = await _section(request, "overview.proposals", _proposals)
    rows = activity["rows"] if activity else []
    totals = {k: sum(r[k] for r in rows) for k in ("sessions_today", "events_today", "sessions", "events")}
    return render(
        request,
        "overview.html",
        {
            "title": "Overview",
            "activity": rows,
            "totals": totals,
            "store": {
                "kind": activity["kind"] if activity else ("embedded" if store_is_embedded() else "deeplake"),
                "location": activity["location"] if activity else "",
                "reachable": activity is not None,
                "error": activity_error,
            },
            "proposals": proposals,
            "proposals_error": proposals_error,
            "outbox": outbox_status(),
            "jobs": jobs_section(),
            "summaries": summaries_line(summaries_state()),
        },
    )
