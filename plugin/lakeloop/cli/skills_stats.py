"""``lakeloop skills stats [REF] [--json]``: how each version of a team skill fared.

One line per (skill, version): the uses counted from the skill's outcome rows
(``Store.outcome_uses``, one verdict per use, the worst wins: ``skillopt.stats.per_use``),
failures, successes, unclear, no pushback, the failure rate with its 95 % Wilson interval,
the first and last use, who published the version and why (``skillopt.versions.publisher`` and
``reason``). Only versions with uses are shown, plus the current version; uses whose version
is unknown show as ``v?``. With REF, also the per-version weekly trend (ISO weeks of the uses).

``--json``: a list of objects, one per (skill, version): ``ref, version (int or null), uses,
failures, successes, unclear, no_pushback, failure_rate, ci_low, ci_high`` (floats in [0, 1],
null without uses), ``publisher`` (label), ``publisher_kind``, ``reason``, ``first_use``,
``last_use`` (ISO-8601 UTC, "" when none), ``current``; with REF also ``weeks``: ``[{week
("YYYY-Www"), uses, failures}]``, oldest first.

Cost: without REF, 1 + N store queries for N skills (every skills row in one query, then one
outcome query per skill); with REF, 3 (resolving REF, its versions, its outcomes). Stored text
is shown through ``cli._output`` (escaped, one line). Exit codes: 0, 1 the store failed, 2 a bad
or unknown REF (``cli.error_handler`` prints the errors).
"""

from __future__ import annotations

from typing import Any

from ._output import emit_json, local_time, table

TYPE_CHECKING = False  # typing only
if TYPE_CHECKING:
    from ..skillopt.stats import VersionStats
    from ..store.base import SkillRow, Store


def _percent(value: float) -> str:
    return f"{round(value * 100)}"


def rate_text(item: dict[str, Any]) -> str:
    """``20% (7-45%)``: the failure rate and its 95 % interval in whole percents; ``-`` without uses."""
    if item["failure_rate"] is None:
        return "-"
    return f"{_percent(item['failure_rate'])}% ({_percent(item['ci_low'])}-{_percent(item['ci_high'])}%)"


def version_items(ref: str, rows: list[SkillRow], uses: list, weeks: bool = False) -> list[dict[str, Any]]:
    """The JSON-ready items (module docstring) of skill ``ref`` from its team rows ``rows`` and its
    outcome uses ``uses`` (``Store.outcome_uses``), by version (unknown version last). ``weeks``:
    add each version's weekly trend. Raises nothing for odd stored values."""
    from ..skillopt.stats import VersionStats, per_use
    from ..skillopt.versions import current_row, publisher, reason, version_row

    counted: dict[int | None, VersionStats] = per_use(uses)
    current = current_row(rows)
    if current is not None and current.version not in counted:
        counted[current.version] = VersionStats(current.version)
    items = []
    for version in sorted(counted, key=lambda v: (v is None, v or 0)):
        s = counted[version]
        row = version_row(rows, version) if version is not None else None
        who = publisher(row) if row is not None else None
        ci = s.ci
        item: dict[str, Any] = {
            "ref": ref,
            "version": version,
            "uses": s.uses,
            "failures": s.failures,
            "successes": s.successes,
            "unclear": s.unclear,
            "no_pushback": s.no_pushback,
            "failure_rate": s.failure_rate,
            "ci_low": ci[0] if ci else None,
            "ci_high": ci[1] if ci else None,
            "publisher": who.label() if who else "",
            "publisher_kind": (getattr(who, "kind", "") or ("optimizer" if who.by_optimizer else "push"))
            if who
            else "",
            "reason": reason(row.description) if row is not None else "",
            "first_use": s.first_use,
            "last_use": s.last_use,
            "current": current is not None and row is not None and row.id == current.id,
        }
        if weeks:
            item["weeks"] = [{"week": w, "uses": n, "failures": f} for w, (f, n) in s.weeks.items()]
        items.append(item)
    return items


def _skills(store: Store, ref: str | None) -> dict[str, list[SkillRow]]:
    """``{ref: team rows}`` (one query): REF's rows, or every skill's (proposals left out)."""
    from ..skillopt.refs import split_ref
    from ..skillopt.versions import team_rows

    if ref is not None:
        parts = split_ref(ref)
        return {ref: team_rows(store, *parts)} if parts else {}
    out: dict[str, list[SkillRow]] = {}
    for row in store.skill_rows(bodies=False):  # the figures need no body
        if row.scope != "proposal":
            out.setdefault(row.ref, []).append(row)
    return dict(sorted(out.items()))


def _print(items: list[dict[str, Any]], trend: bool) -> None:
    """The table (and with ``trend`` the weekly trend) of ``items``; stored text escaped."""

    def label(item: dict[str, Any]) -> str:
        version = "v?" if item["version"] is None else f"v{item['version']}"
        return version + (" (current)" if item["current"] else "")

    table(
        ["REF", "VERSION", "USES", "FAIL", "OK", "UNCLEAR", "NO-PUSHBACK", "FAILURE RATE (95% CI)", "FIRST", "LAST"]
        + ["PUBLISHED BY", "WHY"],
        [
            [i["ref"], label(i), i["uses"], i["failures"], i["successes"], i["unclear"], i["no_pushback"]]
            + [rate_text(i), local_time(i["first_use"]) if i["first_use"] else "-"]
            + [local_time(i["last_use"]) if i["last_use"] else "-", i["publisher"] or "unknown", i["reason"]]
            for i in items
        ],
    )
    weeks = [(w["week"], i, w) for i in items for w in i.get("weeks", [])]
    if not trend or not weeks:
        return
    print()
    table(
        ["WEEK", "VERSION", "FAILED", "RATE"],
        [
            [week, "v?" if i["version"] is None else f"v{i['version']}", f"{w['failures']}/{w['uses']}"]
            + [f"{_percent(w['failures'] / w['uses'])}%"]
            for week, i, w in sorted(weeks, key=lambda t: (t[0], t[1]["version"] is None, t[1]["version"] or 0))
        ],
    )


def stats(args) -> int:
    """``lakeloop skills stats [REF] [--json]`` (module docstring). ``args.ref`` is already
    resolved (``cli.skills.run``). Raises StoreError."""
    from ..store import open_store

    ref = getattr(args, "ref", None)
    with open_store() as store:
        skills = _skills(store, ref)
        items = [
            i for r, rows in skills.items() for i in version_items(r, rows, store.outcome_uses(r), ref is not None)
        ]
    if args.json:
        emit_json(items)
    elif not items:
        print("no skills in the store yet (share one with: lakeloop skills push DIR)")
    else:
        _print(items, trend=ref is not None)
    return 0
