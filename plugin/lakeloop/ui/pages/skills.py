"""``/skills`` and ``/skills/{ref}``: the team skills and one skill's versions, diff and outcomes.

* ``/skills`` (one store query, ``Store.skill_rows(bodies=False)``: no body is read): each team
  skill with its current version, publisher, this machine's pin (``skillopt.pins``, a local file)
  and how many proposals wait.
* ``/skills/{ref}`` (two store queries: the skill's rows, then its outcome rows): its versions
  (``cli.skills_history.history_items``), the unified diff of two versions (``?a=N&b=M``; default
  the version before the current one against the current one; ``bounded_diff``: a body over
  ``DIFF_MAX_CHARS`` characters is not diffed, and at most ``DIFF_MAX_LINES`` diff lines are
  shown, the page saying so), and per version the uses, failures and failure rate with its 95 %
  interval (``cli.skills_stats.version_items``), as a table and as the data of two charts
  (``chart_data``) drawn by ``static/charts.js``.

A ref that is not a team skill, or a version the skill does not have, answers the 404 page. A
store failure shows its one line in place of the section. Stored text reaches the templates as
it is: the templates escape it (autoescape and the ``visible`` filter), nothing here does.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import difflib
from typing import Any

#: Lines of context around each change in the diff.
DIFF_CONTEXT = 3
#: A body longer than this many characters is not diffed (the page says so): ``difflib`` on two
#: such bodies can take seconds, and the page must answer in well under one.
DIFF_MAX_CHARS = 200_000
#: A body of more lines than this is not diffed either: ``difflib`` is worse than linear in the
#: lines when many repeat (two shuffled 66,000-line bodies of 110 distinct lines took 20 s; at
#: 5,000 lines the worst case measured was 0.2 s).
DIFF_MAX_BODY_LINES = 5_000
#: At most this many diff lines are shown; a line after them says how many were left out.
DIFF_MAX_LINES = 3_000


def skill_list(rows: list[Any], pinned: dict[str, int]) -> list[dict[str, Any]]:
    """One item per team skill of ``rows`` (every skills row, any scope), sorted by ref:
    ``{ref, version (current, int), publisher (label), publisher_kind, created_at, pinned (int or
    None), proposals (int: rows of scope "proposal" for that ref)}``. Proposals of a ref without
    team rows (drafted new skills) are not listed. Raises nothing for odd stored values."""
    from ...skillopt.versions import current_row, publisher

    team: dict[str, list[Any]] = {}
    waiting: dict[str, int] = {}
    for row in rows:
        if row.scope == "proposal":
            waiting[row.ref] = waiting.get(row.ref, 0) + 1
        else:
            team.setdefault(row.ref, []).append(row)
    items = []
    for ref in sorted(team):
        current = current_row(team[ref])
        if current is None:
            continue
        who = publisher(current)
        items.append(
            {
                "ref": ref,
                "version": current.version,
                "publisher": who.label(),
                "publisher_kind": who.kind,
                "created_at": current.created_at,
                "pinned": pinned.get(ref),
                "proposals": waiting.get(ref, 0),
            }
        )
    return items


def diff_lines(old: str, new: str, a: int, b: int, limit: int | None = None) -> tuple[list[tuple[str, str]], int]:
    """The unified diff (``difflib``, ``DIFF_CONTEXT`` lines of context) of body ``old`` (version
    ``a``) against ``new`` (version ``b``): ``(lines, left_out)``, ``lines`` as ``(class, line)``
    pairs, class ``add`` (+), ``del`` (-), ``hunk`` (@@), ``file`` (---/+++) or ``same``; at most
    ``limit`` of them (all when None), ``left_out`` the number of diff lines after those. ``([],
    0)`` when the bodies are equal. The caller bounds the bodies' size (``DIFF_MAX_CHARS``)."""
    out: list[tuple[str, str]] = []
    left_out = 0
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), f"v{a}", f"v{b}", n=DIFF_CONTEXT, lineterm=""):
        if limit is not None and len(out) >= limit:
            left_out += 1
            continue
        if len(out) < 2 and line.startswith(("---", "+++")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        else:
            kind = {"+": "add", "-": "del"}.get(line[:1], "same")
        out.append((kind, line))
    return out, left_out


def bounded_diff(old: str, new: str, a: int, b: int) -> dict[str, Any]:
    """What the skill page shows of the diff of body ``old`` (version ``a``) against ``new``
    (version ``b``): ``{lines: [(class, line)] (diff_lines, at most DIFF_MAX_LINES), left_out: int
    (diff lines not shown), too_large: [(version, characters, lines)] (the bodies longer than
    DIFF_MAX_CHARS characters or DIFF_MAX_BODY_LINES lines: then nothing is diffed and lines is
    empty)}``. CPU-bound: pages call it off the event loop. Raises nothing for ``str``."""
    sizes = [(v, len(body), body.count("\n") + 1) for v, body in ((a, old), (b, new))]
    too_large = [s for s in sizes if s[1] > DIFF_MAX_CHARS or s[2] > DIFF_MAX_BODY_LINES]
    if too_large:
        return {"lines": [], "left_out": 0, "too_large": too_large}
    lines, left_out = diff_lines(old, new, a, b, DIFF_MAX_LINES)
    return {"lines": lines, "left_out": left_out, "too_large": []}


def _week_start(week: str) -> int | None:
    """Unix seconds of the Monday (00:00 UTC) of ISO week ``"YYYY-Www"``; None when it does not read."""
    try:
        year, number = week.split("-W")
        day = _dt.date.fromisocalendar(int(year), int(number), 1)
    except ValueError:
        return None
    return int(_dt.datetime(day.year, day.month, day.day, tzinfo=_dt.timezone.utc).timestamp())


def chart_data(items: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """What ``static/charts.js`` draws, from ``version_items(..., weeks=True)``: per numbered
    version with uses (ascending) ``versions``, ``rate``, ``low``, ``high`` (floats in [0, 1]);
    per ISO week of any use (ascending) ``weeks`` (unix seconds of its Monday, UTC), ``uses`` and
    ``failures`` (all versions together, the unknown version included)."""
    rated = [i for i in items if i["version"] is not None and i["uses"]]
    per_week: dict[int, list[int]] = {}
    for item in items:
        for week in item.get("weeks", []):
            start = _week_start(week["week"])
            if start is not None:
                counts = per_week.setdefault(start, [0, 0])
                counts[0] += week["uses"]
                counts[1] += week["failures"]
    weeks = sorted(per_week)
    return {
        "versions": [i["version"] for i in rated],
        "rate": [i["failure_rate"] for i in rated],
        "low": [i["ci_low"] for i in rated],
        "high": [i["ci_high"] for i in rated],
        "weeks": weeks,
        "uses": [per_week[w][0] for w in weeks],
        "failures": [per_week[w][1] for w in weeks],
    }


async def list_page(request: Any) -> Any:
    """GET ``/skills``: every team skill (HTML, 200 even when the store fails)."""
    from ...skillopt import pins
    from ..render import render

    rows, error = await request.app.state.runner.section("skills.rows", lambda store: store.skill_rows(bodies=False))
    return render(
        request,
        "skills.html",
        {"title": "Skills", "skills": skill_list(rows or [], await asyncio.to_thread(pins.load)), "error": error},
    )


def _version(request: Any, name: str) -> int | None:
    """Query parameter ``name`` as a version number; None when absent; 404 when not a number."""
    from starlette.exceptions import HTTPException

    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    if not (0 < len(value) <= 9 and value.isascii() and value.isdigit()):  # not "²" or "١"
        raise HTTPException(404)
    return int(value)


async def skill_page(request: Any) -> Any:
    """GET ``/skills/{ref}``: one team skill (module docstring). 404 for a ref that is not a
    team skill or a version (``?a=``/``?b=``) it does not have."""
    from starlette.exceptions import HTTPException

    from ...cli.skills_history import history_items
    from ...cli.skills_stats import version_items
    from ...skillopt import pins
    from ...skillopt.refs import split_ref
    from ...skillopt.versions import current_row, team_rows, version_row
    from ..render import render

    ref = request.path_params["ref"]
    parts = split_ref(ref)
    if parts is None:
        raise HTTPException(404)
    a, b = _version(request, "a"), _version(request, "b")
    rows, error = await request.app.state.runner.section(f"skill.rows:{ref}", lambda store: team_rows(store, *parts))
    if error is not None:
        return render(request, "skill.html", {"title": "Skill", "ref": ref, "error": error})
    current = current_row(rows)
    if current is None:
        raise HTTPException(404)
    numbers = sorted({r.version for r in rows})
    if b is None:
        b = current.version
    if a is None:
        earlier = [n for n in numbers if n < b]
        a = earlier[-1] if earlier else b
    old, new = version_row(rows, a), version_row(rows, b)
    if old is None or new is None:
        raise HTTPException(404)
    uses, uses_error = await request.app.state.runner.section(
        f"skill.outcomes:{ref}", lambda store: store.outcome_uses(ref)
    )
    stats = version_items(ref, rows, uses or [], weeks=True)
    diff = await asyncio.to_thread(bounded_diff, old.body, new.body, a, b)
    return render(
        request,
        "skill.html",
        {
            "title": "Skill",
            "ref": ref,
            "error": None,
            "versions": list(reversed(history_items(rows))),
            "numbers": numbers,
            "pinned": (await asyncio.to_thread(pins.load)).get(ref),
            "a": a,
            "b": b,
            "diff": diff,
            "diff_max_chars": DIFF_MAX_CHARS,
            "diff_max_lines": DIFF_MAX_BODY_LINES,
            "stats": stats,
            "stats_error": uses_error,
            "chart": chart_data(stats),
            "has_uses": any(i["uses"] for i in stats),
        },
    )
