"""``/jobs?state=queued|running|failed|done``: this machine's background jobs in one state (the
overview's job counts link here), read by ``ui.local.job_list`` off the event loop through a
read-only connection (nothing is created or written). An unknown ``state`` answers the 404
page. Each job shows its id, kind, key, attempts, when it runs next (queued), its lease's end
(running), its last error and, when failed, the command that retries it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any


def when(epoch: float | None) -> str:
    """Epoch seconds as local ``YYYY-MM-DD HH:MM:SS``; "" for None or a value that is not a time."""
    if epoch is None:
        return ""
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(epoch)))
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


async def page(request: Any) -> Any:
    """GET ``/jobs``: the jobs in ``state`` (default ``failed``), HTML 200; 404 for another state."""
    from starlette.exceptions import HTTPException

    from ..local import STATES, job_list
    from ..render import render

    state = request.query_params.get("state", "failed")
    if state not in STATES:
        raise HTTPException(404)
    listing = await asyncio.to_thread(job_list, state)
    for job in listing["jobs"]:
        job["next_run"] = when(job["next_run_at"]) if job["state"] == "queued" else ""
        job["lease_ends"] = when(job["lease_until"]) if job["state"] == "running" else ""
        job["updated"] = when(job["updated_at"])
    return render(
        request,
        "jobs.html",
        {"title": f"Jobs: {state}", "state": state, "states": STATES, **listing},
    )
