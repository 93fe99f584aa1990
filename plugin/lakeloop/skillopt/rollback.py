"""Automatic rollback: the ``outcomes`` job's decision phase (docs/skill-loop.md, "Automatic
rollback").

After the job has written its outcome rows, each skill it touched is considered (``decide_all``):

1. skipped (one log line) when ``LAKELOOP_AUTO_ROLLBACK=0`` or this machine pins the skill
   (``skillopt.pins``): a pinned skill is never rolled back from that machine;
2. no skill lease is taken: a ``skill-improve`` job that found the lease held would end
   ``locked`` and its use would go unjudged. The job runner runs one ``outcomes`` job at a time,
   and the optimizer and a rollback that publish the same version meet the publish race rule
   (step 6; an optimizer that loses to a rollback stops, ``skillopt.worker``);
3. when the run wrote rows, one sleep of the store's visibility wait so they are counted;
4. two queries: the skill's team rows and its outcome uses (``Store.outcome_uses``);
5. c = the counted current version, p = the counted version c-1. Nothing is published when there
   is no p, p has c's body, p's body was rolled back before (``versions.rolled_back_bodies``: a
   rolled-back body is never the target of a rollback), or ``stats.decide`` says no (fewer than
   ``LAKELOOP_ROLLBACK_MIN_USES`` uses of c, or c's failure rate is not higher than p's with a
   one-sided Fisher exact test below 0.05);
6. otherwise version c+1 is published with p's body (``rollback_row``), contributors ending
   ``[deciding user, "lakeloop-rollback"]`` and the figures as the description's note; then the
   publish race check (``skillopt.race``): a rival row of c+1 that wins with the same body means
   another machine rolled back too (``duplicate``); with another body, ``race_lost``. A loser
   never publishes again: its evidence was about c, which is no longer current.

Nothing repeats: the decision looks at the current version only, and once the rollback is current
the version it replaced is not. Log line of a rollback:
``outcomes outcome=rolled_back ref=db-migrate--alice v2 -> v3 (body of v1) p=0.0061``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    from ..store.base import SkillRow, Store
    from .stats import VersionStats

#: Reads of the skill's rows after a rollback is published (the publish race check).
RACE_READS = 3


@dataclass(frozen=True)
class Result:
    """What the decision did for one skill. ``status``: ``off`` (LAKELOOP_AUTO_ROLLBACK=0),
    ``pinned``, ``no_rollback``, ``rolled_back``, ``duplicate`` (another machine published the
    same rollback first), ``race_lost`` (another row of the same version won with another body);
    ``reason``: one line for the log; ``version``: the version published or
    found current, when known."""

    ref: str
    status: str
    reason: str
    version: int | None = None


def figures(cur: VersionStats, prev: VersionStats, p_value: float) -> str:
    """The rollback's note: ``v2 failed 9/12 uses (75%) vs v1 2/12 (17%), one-sided Fisher
    p = 0.0061`` (rates in whole percents). Both versions need at least one use."""
    from .stats import p_text

    def pct(s: VersionStats) -> str:
        return f"({round(100 * s.failures / s.uses)}%)" if s.uses else ""

    return (
        f"v{cur.version} failed {cur.failures}/{cur.uses} uses {pct(cur)} vs v{prev.version} "
        f"{prev.failures}/{prev.uses} {pct(prev)}, one-sided Fisher {p_text(p_value)}"
    )


def rollback_row(current: SkillRow, previous: SkillRow, note: str, user: str, now: str) -> SkillRow:
    """Version ``current.version + 1`` with ``previous``'s body and description (its own note
    dropped, the rollback note ``note`` added), contributors ``current``'s ending with ``[user,
    "lakeloop-rollback"]``, ``current``'s sessions, agent and placement; ``now``: ISO-8601 UTC."""
    from .review import ending_with
    from .versions import ROLLBACK, next_version, with_rollback_note

    return next_version(
        current,
        now,
        body=previous.body,
        contributors=ending_with(current.contributors, [user, ROLLBACK]),
        description=with_rollback_note(previous.description, note),
        trigger_text=previous.trigger_text,
    )


def decide(
    store: Store,
    ref: str,
    log: logging.Logger,
    *,
    user: str,
    min_uses: int,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], str] | None = None,
    race_reads: int = RACE_READS,
    before_publish: Callable[[SkillRow], None] | None = None,
) -> Result:
    """Steps 4-6 of the module docstring for one skill ``ref`` (the caller holds the lease):
    two queries, then at most one insert and the race reads. ``user``: who decides (the rollback's
    publisher); ``before_publish`` is called with the row just before its insert (tests line up
    two deciders there). Raises StoreError from the store."""
    from ..identity import utc_now
    from .race import winner_after_insert
    from .refs import split_ref
    from .stats import VersionStats, per_use
    from .stats import decide as fisher_decide
    from .versions import body_sha, counted, current_row, rolled_back, team_rows

    parts = split_ref(ref)
    if parts is None:
        return Result(ref, "no_rollback", "not a team skill ref")
    rows = team_rows(store, *parts)
    uses = store.outcome_uses(ref)
    current = current_row(rows)
    if current is None:
        return Result(ref, "no_rollback", "no team version in the store")
    previous = counted(rows).get(current.version - 1)
    if previous is None:
        return Result(ref, "no_rollback", f"v{current.version} has no previous version", current.version)
    if body_sha(previous.body) == body_sha(current.body):
        return Result(ref, "no_rollback", f"v{previous.version} has v{current.version}'s body", current.version)
    gone = rolled_back(rows).get(body_sha(previous.body))
    if gone is not None:
        return Result(
            ref,
            "no_rollback",
            f"v{previous.version}'s body was rolled back before (v{gone}); a rolled-back body is never restored",
            current.version,
        )
    stats = per_use(uses)
    cur = stats.get(current.version) or VersionStats(current.version)
    prev = stats.get(previous.version) or VersionStats(previous.version)
    verdict = fisher_decide(cur, prev, min_uses)
    if not verdict.rollback or verdict.p_value is None:
        return Result(ref, "no_rollback", verdict.why, current.version)
    new = rollback_row(current, previous, figures(cur, prev, verdict.p_value), user, (now or utc_now)())
    if before_publish is not None:
        before_publish(new)
    store.insert_skill(new)
    wait = getattr(store, "visibility_wait_s", 0.0)
    wait = float(wait) if isinstance(wait, (int, float)) else 0.0
    winner = winner_after_insert(store, new, wait, race_reads, sleep, log)
    what = f"v{current.version} -> v{new.version} (body of v{previous.version}) p={verdict.p_value:.4f}"
    if winner is None:
        return Result(ref, "rolled_back", what, new.version)
    if body_sha(winner.body) == body_sha(new.body):
        return Result(ref, "duplicate", f"v{winner.version} ({winner.id}) already has this rollback", winner.version)
    return Result(
        ref, "race_lost", f"row {winner.id} took v{winner.version} first; the evidence was about v{current.version}"
    )


def decide_all(
    store: Store,
    refs: list[str],
    wrote: bool,
    log: logging.Logger,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Result]:
    """The decision phase of one ``outcomes`` run (module docstring) for each of ``refs``, in
    order; ``wrote``: this run wrote outcome rows (then one ``sleep`` of the store's visibility
    wait, seconds, before the first decision). Each result is logged as ``outcomes
    outcome=<status> ref=<ref> <reason>``. Raises StoreError from the store
    (``versions.current_user`` included)."""
    from .. import config
    from . import pins
    from .versions import current_user

    results: list[Result] = []
    if not config.auto_rollback():
        for ref in refs:
            results.append(_logged(log, Result(ref, "off", "LAKELOOP_AUTO_ROLLBACK=0")))
        return results
    pinned = pins.load()
    waited = not wrote
    user = ""
    for ref in refs:
        if ref in pinned:
            results.append(_logged(log, Result(ref, "pinned", f"this machine pins v{pinned[ref]}")))
            continue
        if not waited:
            wait = getattr(store, "visibility_wait_s", 0.0)
            if isinstance(wait, (int, float)) and wait > 0:
                sleep(float(wait))
            waited = True
        user = user or current_user()
        results.append(_logged(log, decide(store, ref, log, user=user, min_uses=config.rollback_min_uses())))
    return results


def _logged(log: logging.Logger, result: Result) -> Result:
    level = 30 if result.status == "race_lost" else 20  # WARNING / INFO
    log.log(level, "outcomes outcome=%s ref=%s %s", result.status, result.ref, result.reason)
    return result
