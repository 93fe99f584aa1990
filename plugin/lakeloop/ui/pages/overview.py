"""``/``: the Overview page. Sections: activity (one store query, ``Store.activity``, which also
tells whether the store is reachable), proposals waiting (one store query), and this machine's
outbox, jobs (counts linking to the jobs page, the latest failures) and summaries' line, read by
``ui.local.overview_state`` off the event loop without writing anything. A section that fails
shows its one-line error; the rest still renders."""

from __future__ import annotations

import asyncio
import datetime as _dt
from typing import Any


def bounds(now: _dt.datetime | None = None) -> tuple[str, str]:
    """``(week_start, day_start)``: local Monday midnight and local midnight of ``now`` (default:
    now), as UTC text in ``identity.utc_now``'s format (what ``Store.activity`` takes)."""
    from ...identity import utc_text

    local = (now or _dt.datetime.now()).astimezone()
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    week = day - _dt.timedelta(days=day.weekday())
    return utc_text(week), utc_text(day)


def _activity(store: Any) -> dict[str, Any]:
    since, day = bounds()
    return {"rows": store.activity(since, day), "kind": store.name, "location": str(getattr(store, "path", ""))}


def _proposals(store: Any) -> int:
    return len(store.skill_rows(scope="proposal"))


async def page(request: Any) -> Any:
    """GET ``/``: the overview (HTML, 200 even when the store is unreachable)."""
    from ... import config
    from ...cli.status import summaries_line
    from ..data import store_is_embedded
    from ..local import overview_state
    from ..render import render

    local = await asyncio.to_thread(overview_state)
    activity, activity_error = await request.app.state.runner.section("overview.activity", _activity)
    proposals, proposals_error = await request.app.state.runner.section("overview.proposals", _proposals)
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
            "outbox": local["outbox"],
            "jobs": local["jobs"],
            "summaries": summaries_line({"enabled": config.summaries_enabled(), **local["summaries"]}),
        },
    )
