"""Statistics of skill outcomes: failure rates per version, their intervals, and the rollback test.

Pure functions of counts; ``math`` for the numbers and ``datetime`` for the ISO week, nothing else.

* A **use** is one arming of a judgment window. It has one or more outcome rows (several prompts may
  react to one use), each with a verdict in ``VERDICTS``. A use counts once, with the verdict of
  highest ``RANK`` among its rows (failure > success > unclear > no_pushback): one failed judgment
  makes the use a failure.
* The **failure rate** of a version is ``failures / uses``, where ``uses`` counts every verdict,
  no-pushback included. Its 95 % interval is Wilson's (``wilson``), which stays inside [0, 1] and is
  sensible at the small counts (10 to 30 uses) a decision is made on.
* The **rollback test** (``decide``) is a one-sided Fisher exact test at ``ALPHA`` = 0.05 of "the current
  version fails more often than the previous one" (``fisher_one_sided``). Why that test:

  - the pooled two-proportion z-test is anti-conservative at these sizes (3/10 vs 0/10: z-test
    p = 0.030, exact p = 0.105) and undefined when neither or both versions only fail;
  - a Beta-posterior probability needs a prior and a threshold, two more knobs to justify;
  - Fisher's test is exact and has no parameter. It is conservative, which suits an action taken
    without a person: a small real regression needs more uses before it is acted on.

  The reference cases: 2/12 failures on the previous version and 9/12 on the current one give
  p = 0.0061 (rolled back); 3/12 against 4/12 give p = 0.50 (not rolled back).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

#: The normal distribution's 0.975 quantile (``statistics.NormalDist().inv_cdf(0.975)``), for 95 % intervals.
Z95 = 1.959963984540054
#: Significance level of the rollback test (one-sided).
ALPHA = 0.05
#: ``fisher_one_sided`` is exact to about 1e-10, so a p-value this close to ``ALPHA`` is a tie, not below it
#: (3/3 failures against 0/3 gives p = 1/20 exactly, computed as 0.04999999999999998).
P_TOLERANCE = 1e-9
#: The verdicts an outcome row may carry.
VERDICTS = ("failure", "success", "unclear", "no_pushback")
#: A use's verdict is the highest-ranked among its rows.
RANK = {"failure": 3, "success": 2, "unclear": 1, "no_pushback": 0}


class UseLike(Protocol):
    """One (use, verdict) as the store reads it (``store.base.OutcomeUse`` has this shape):
    ``use`` the use id, ``version`` the skill version the agent used (None when unknown),
    ``verdict`` one of ``VERDICTS`` (anything else is ignored), ``used_at`` the time of the use,
    ISO-8601 UTC (``2026-12-07T16:16:44Z``)."""

    @property
    def use(self) -> str: ...

    @property
    def version(self) -> int | None: ...

    @property
    def verdict(self) -> str: ...

    @property
    def used_at(self) -> str: ...


def wilson(failures: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval ``(low, high)`` of a failure rate, ``failures`` out of ``n`` uses.

    The interval is the set of rates r with ``|p - r| <= z * sqrt(r(1-r)/n)``, p = failures/n, so it
    always holds p and stays in [0, 1] (the bounds are pinned to that against float rounding).
    ``z`` = ``Z95`` gives 95 %. Reference values: 2/12 -> (0.0470, 0.4480), 9/12 -> (0.4677, 0.9111),
    0/5 -> (0.0, 0.4345). Returns None when ``n`` is 0. Raises ValueError unless 0 <= failures <= n.
    """
    if not 0 <= failures <= n:
        raise ValueError(f"need 0 <= failures <= n, got {failures} of {n}")
    if n == 0:
        return None
    p = failures / n
    zz = z * z
    d = 1 + zz / n
    centre = (p + zz / (2 * n)) / d
    half = (z / d) * math.sqrt(p * (1 - p) / n + zz / (4 * n * n))
    return min(max(0.0, centre - half), p), max(min(1.0, centre + half), p)


def _log_comb(n: int, k: int) -> float:
    """log C(n, k) for 0 <= k <= n."""
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_one_sided(f1: int, n1: int, f0: int, n0: int) -> float:
    """One-sided Fisher exact test that the current version (``f1`` failures in ``n1`` uses) fails more
    often than the previous one (``f0`` in ``n0``): the p-value ``P(X >= f1)``, a probability in [0, 1].

    Under "same rate", given the total failures K = f0 + f1 among N = n0 + n1 uses, the current
    version's failures X follow Hypergeometric(N, K, n1):
    ``P(X = x) = C(K, x) C(N-K, n1-x) / C(N, n1)``. The tail is summed from log-pmfs (``math.lgamma``)
    with log-sum-exp, so it stays exact to about 1e-10 with N in the thousands. 2/12 vs 9/12 gives
    ``fisher_one_sided(9, 12, 2, 12)`` = 0.0061; 4/12 vs 3/12 gives 0.50. Returns 1.0 when f1 is at
    or below the smallest possible X (f1 = 0 included). Raises ValueError unless 0 <= f <= n for both.
    """
    if not (0 <= f1 <= n1 and 0 <= f0 <= n0):
        raise ValueError(f"need 0 <= failures <= uses, got {f1}/{n1} and {f0}/{n0}")
    total, failed = n0 + n1, f0 + f1
    lowest, highest = max(0, n1 - (total - failed)), min(failed, n1)
    if f1 <= lowest:
        return 1.0
    base = _log_comb(total, n1)
    logs = [_log_comb(failed, x) + _log_comb(total - failed, n1 - x) - base for x in range(f1, highest + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * math.fsum(math.exp(v - top) for v in logs))


@dataclass
class VersionStats:
    """Counts of one skill version's uses (one verdict each): ``uses`` = failures + successes +
    unclear + no_pushback; ``first_use``/``last_use`` the ``used_at`` strings of its earliest and
    latest use ("" when none has a readable time); ``weeks`` maps an ISO week ``"YYYY-Www"`` of
    ``used_at`` to ``(failures, uses)``, in week order (a use whose time does not read is in no week)."""

    version: int | None
    uses: int = 0
    failures: int = 0
    successes: int = 0
    unclear: int = 0
    no_pushback: int = 0
    first_use: str = ""
    last_use: str = ""
    weeks: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def failure_rate(self) -> float | None:
        """``failures / uses`` in [0, 1]; None when there are no uses."""
        return self.failures / self.uses if self.uses else None

    @property
    def ci(self) -> tuple[float, float] | None:
        """95 % Wilson interval of ``failure_rate`` (``wilson``); None when there are no uses."""
        return wilson(self.failures, self.uses)


def _day(used_at: str) -> date | None:
    """The calendar day of an ISO-8601 UTC time, or None when its first ten characters are no date."""
    try:
        return date.fromisoformat(used_at[:10])
    except (TypeError, ValueError):
        return None


def per_use(uses: Iterable[UseLike]) -> dict[int | None, VersionStats]:
    """Aggregate (use, verdict) records into per-version counts, ``{version: VersionStats}``.

    Each use counts once: the record with the highest ``RANK`` stands for it (its verdict, version
    and time; the first seen among equals). Records with a verdict outside ``VERDICTS`` are ignored,
    and so are replays (a record repeated). A use with no version goes under ``None``. Times are
    compared as strings (ISO-8601 UTC spells them to the second at a fixed width); a use whose time
    has no leading date counts in the totals only. Raises nothing for odd input.
    """
    best: dict[str, UseLike] = {}
    for item in uses:
        rank = RANK.get(item.verdict)
        if rank is None:
            continue
        held = best.get(item.use)
        if held is None or rank > RANK[held.verdict]:
            best[item.use] = item
    out: dict[int | None, VersionStats] = {}
    for item in best.values():
        s = out.get(item.version)
        if s is None:
            s = out[item.version] = VersionStats(item.version)
        failed = item.verdict == "failure"
        s.uses += 1
        s.failures += failed
        s.successes += item.verdict == "success"
        s.unclear += item.verdict == "unclear"
        s.no_pushback += item.verdict == "no_pushback"
        day = _day(item.used_at)
        if day is None:
            continue
        s.first_use = min(s.first_use, item.used_at) if s.first_use else item.used_at
        s.last_use = max(s.last_use, item.used_at)
        year, week, _ = day.isocalendar()
        key = f"{year}-W{week:02d}"
        f, n = s.weeks.get(key, (0, 0))
        s.weeks[key] = (f + failed, n + 1)
    for s in out.values():
        s.weeks = dict(sorted(s.weeks.items()))
    return out


@dataclass(frozen=True)
class Decision:
    """Whether to roll the current version back: ``rollback``, the test's ``p_value`` (None when the
    test was not run), and ``why``, one sentence with the figures (``9/12``, ``p = 0.0061``)."""

    rollback: bool
    p_value: float | None
    why: str


def _label(s: VersionStats) -> str:
    """``v3``, or ``v?`` for uses of an unknown version."""
    return "v?" if s.version is None else f"v{s.version}"


def p_text(p: float) -> str:
    """``p = 0.0061`` below 0.01, ``p = 0.50`` above, ``p < 0.0001`` for tiny values."""
    if p < 0.0001:
        return "p < 0.0001"
    return f"p = {p:.4f}" if p < 0.01 else f"p = {p:.2f}"


def decide(cur: VersionStats, prev: VersionStats, min_uses: int) -> Decision:
    """Roll back ``cur`` (the current version) to ``prev`` (the one before it)?

    Yes iff ``cur.uses >= min_uses`` and ``prev.uses >= 1`` and cur's failure rate is higher than
    prev's (compared exactly, as cross products) and ``fisher_one_sided`` < ``ALPHA`` by more than
    ``P_TOLERANCE`` (an exact tie at ``ALPHA`` is not below it). The test runs only when the first
    three hold. The caller keeps uses of an unknown version (``None``) out. Raises nothing.
    """
    figures = f"{_label(cur)} failed {cur.failures}/{cur.uses} uses, {_label(prev)} {prev.failures}/{prev.uses}"
    if cur.uses < min_uses:
        return Decision(False, None, f"{figures}: too few uses of {_label(cur)} to decide ({min_uses} needed)")
    if prev.uses < 1:
        return Decision(False, None, f"{figures}: nothing to compare {_label(cur)} with")
    if cur.failures * prev.uses <= prev.failures * cur.uses:
        return Decision(False, None, f"{figures}: {_label(cur)} does not fail more often")
    p = fisher_one_sided(cur.failures, cur.uses, prev.failures, prev.uses)
    if p < ALPHA - P_TOLERANCE:
        return Decision(True, p, f"{figures}: worse with confidence (one-sided Fisher {p_text(p)} < {ALPHA})")
    return Decision(False, p, f"{figures}: not significant (one-sided Fisher {p_text(p)} >= {ALPHA})")
