"""The statistics of skill outcomes (skillopt/stats.py), against reference computations written here.

Rules under test:
* ``wilson``: the 95 % Wilson score interval of a failure rate, inside [0, 1], holding the rate,
  symmetric (failures vs. the rest) and monotone in the failures; None without uses;
* ``fisher_one_sided``: the exact one-sided Fisher p-value ``P(X >= f1)``, within 1e-9 of an
  enumeration of every table with the same margins in exact fractions; exact enough at n in the thousands;
* ``decide``: roll back iff the current version has at least ``min_uses`` uses, the previous one at least
  one, the current rate is higher, and p < 0.05 (an exact tie at 0.05 is not below it);
* ``per_use``: one verdict per use (failure > success > unclear > no_pushback), replays and unknown
  verdicts ignored, counts, first/last use and ISO weeks per version;
* the reference cases: 2/12 vs 9/12 -> p = 0.0061 (roll back), 3/12 vs 4/12 -> p = 0.50 (not), and
  30 uses across two versions computed by hand.
"""

from __future__ import annotations

import ast
import math
import statistics
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakeloop.skillopt import stats
from lakeloop.skillopt.stats import (
    ALPHA,
    RANK,
    VERDICTS,
    Z95,
    VersionStats,
    decide,
    fisher_one_sided,
    per_use,
    wilson,
)

# -- reference computations (share no code with the module) -------------------------------------


def reference_wilson(f: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The interval as the roots of ``(p - r)^2 = z^2 r (1 - r) / n`` in r, clipped to [0, 1]."""
    p = f / n
    a = 1 + z * z / n
    b = -(2 * p + z * z / n)
    c = p * p
    root = math.sqrt(max(0.0, b * b - 4 * a * c))
    return max(0.0, (-b - root) / (2 * a)), min(1.0, (-b + root) / (2 * a))


def exact_p(f1: int, n1: int, f0: int, n0: int) -> Fraction:
    """P(current failures >= f1) over every 2x2 table with the same margins, weighted by
    C(K, x) C(N-K, n1-x), in exact fractions."""
    failed, total = f0 + f1, n0 + n1
    tables = [x for x in range(n1 + 1) if 0 <= failed - x <= n0]
    weight = {x: math.comb(failed, x) * math.comb(total - failed, n1 - x) for x in tables}
    return Fraction(sum(w for x, w in weight.items() if x >= f1), sum(weight.values()))


REFERENCE_RANK = {"no_pushback": 0, "unclear": 1, "success": 2, "failure": 3}


@dataclass(frozen=True)
class Rec:
    """A (use, verdict) record shaped as ``stats.UseLike``."""

    use: str
    version: int | None
    verdict: str
    used_at: str


def naive_per_use(records: list[Rec]) -> dict:
    """``{version: {"uses", "failure", "success", "unclear", "no_pushback", "first", "last", "weeks"}}`` by a
    plain loop: the best verdict of each use, then counts. Every record of a use carries the same version and
    time here, so which record stands for a use does not matter."""
    best: dict[str, Rec] = {}
    for r in records:
        if r.verdict in REFERENCE_RANK and (
            r.use not in best or REFERENCE_RANK[r.verdict] > REFERENCE_RANK[best[r.use].verdict]
        ):
            best[r.use] = r
    table: dict = {}
    for r in best.values():
        row = table.setdefault(
            r.version,
            {"uses": 0, "failure": 0, "success": 0, "unclear": 0, "no_pushback": 0, "times": [], "weeks": {}},
        )
        row["uses"] += 1
        row[r.verdict] += 1
        try:
            when = datetime.strptime(r.used_at, "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            continue
        row["times"].append((when, r.used_at))
        iso = when.isocalendar()
        week = f"{iso[0]}-W{iso[1]:02d}"
        failures, uses = row["weeks"].get(week, (0, 0))
        row["weeks"][week] = (failures + (r.verdict == "failure"), uses + 1)
    for row in table.values():
        times = sorted(row.pop("times"))
        row["first"] = times[0][1] if times else ""
        row["last"] = times[-1][1] if times else ""
    return table


# -- constants ------------------------------------------------------------------------------------


def test_constants():
    """Z95 is the normal 0.975 quantile; the ranks order failure > success > unclear > no_pushback."""
    assert Z95 == pytest.approx(statistics.NormalDist().inv_cdf(0.975), abs=1e-15)
    assert ALPHA == 0.05
    assert VERDICTS == ("failure", "success", "unclear", "no_pushback")
    assert RANK == REFERENCE_RANK


def test_module_imports_nothing_heavy():
    """The module is pure: no statistics, numpy or scipy, only light standard-library modules."""
    tree = ast.parse(Path(stats.__file__).read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported <= {"__future__", "math", "collections", "dataclasses", "datetime", "typing"}


# -- Wilson ---------------------------------------------------------------------------------------


@st.composite
def counts(draw, max_n: int = 5000) -> tuple[int, int]:
    """``(failures, n)`` with 1 <= n <= max_n."""
    n = draw(st.integers(1, max_n))
    return draw(st.integers(0, n)), n


@settings(max_examples=400, deadline=None)
@given(counts())
def test_wilson_matches_the_quadratic_roots_and_holds_the_rate(fn):
    """Equal to the roots of the interval's quadratic within 1e-12; 0 <= low <= p <= high <= 1."""
    f, n = fn
    low, high = wilson(f, n)
    ref_low, ref_high = reference_wilson(f, n)
    assert low == pytest.approx(ref_low, abs=1e-12)
    assert high == pytest.approx(ref_high, abs=1e-12)
    assert 0.0 <= low <= f / n <= high <= 1.0


@settings(max_examples=300, deadline=None)
@given(counts())
def test_wilson_is_symmetric(fn):
    """The interval of the failures mirrors the interval of the rest: wilson(f, n) = 1 - wilson(n - f, n)."""
    f, n = fn
    low, high = wilson(f, n)
    mirror_low, mirror_high = wilson(n - f, n)
    assert low == pytest.approx(1 - mirror_high, abs=1e-12)
    assert high == pytest.approx(1 - mirror_low, abs=1e-12)


@settings(max_examples=300, deadline=None)
@given(counts(max_n=2000).filter(lambda fn: fn[0] < fn[1]))
def test_wilson_is_monotone_in_failures(fn):
    """One more failure moves neither bound down."""
    f, n = fn
    low, high = wilson(f, n)
    next_low, next_high = wilson(f + 1, n)
    assert low <= next_low
    assert high <= next_high


def test_wilson_reference_values_and_edges():
    """The plan's values to 4 decimals; None without uses; ValueError for impossible counts."""
    expected = {(2, 12): (0.0470, 0.4480), (9, 12): (0.4677, 0.9111), (3, 15): (0.0705, 0.4519), (0, 5): (0.0, 0.4345)}
    for (f, n), (low, high) in expected.items():
        got = wilson(f, n)
        assert got == (pytest.approx(low, abs=5e-5), pytest.approx(high, abs=5e-5))
    assert wilson(0, 5)[0] == 0.0
    assert wilson(5, 5)[1] == 1.0
    assert wilson(0, 0) is None
    for f, n in [(-1, 3), (4, 3), (1, 0)]:
        with pytest.raises(ValueError):
            wilson(f, n)


# -- Fisher ---------------------------------------------------------------------------------------


@st.composite
def two_versions(draw, max_n: int = 30) -> tuple[int, int, int, int]:
    """``(f1, n1, f0, n0)`` with 0 <= f <= n <= max_n for each version."""
    n1, n0 = draw(st.integers(0, max_n)), draw(st.integers(0, max_n))
    return draw(st.integers(0, n1)), n1, draw(st.integers(0, n0)), n0


@settings(max_examples=500, deadline=None)
@given(two_versions())
def test_fisher_matches_exact_enumeration(case):
    """Within 1e-9 of the exact tail over every table with the same margins (N <= 60), and in [0, 1]."""
    p = fisher_one_sided(*case)
    assert 0.0 <= p <= 1.0
    assert p == pytest.approx(float(exact_p(*case)), abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(two_versions())
def test_fisher_is_non_increasing_in_current_failures(case):
    """One more failure of the current version, everything else equal, never raises p; p = 1 at f1 = 0."""
    f1, n1, f0, n0 = case
    assert fisher_one_sided(0, n1, f0, n0) == 1.0
    if f1 < n1:
        assert fisher_one_sided(f1 + 1, n1, f0, n0) <= fisher_one_sided(f1, n1, f0, n0) + 1e-12


@settings(max_examples=15, deadline=None)
@given(st.integers(500, 3000), st.integers(500, 3000), st.fractions(0, 1), st.integers(-60, 60))
def test_fisher_is_exact_enough_at_thousands_of_uses(n1, n0, rate, shift):
    """With thousands of uses the relative error stays below 1e-8 (the tails that matter near 0.05 included)."""
    f0 = int(rate * n0)
    f1 = min(n1, max(0, int(rate * n1) + shift))
    expected = float(exact_p(f1, n1, f0, n0))
    assert fisher_one_sided(f1, n1, f0, n0) == pytest.approx(expected, rel=1e-8, abs=1e-300)


def test_fisher_reference_values():
    """The issue's cases and the plan's: 9/12 vs 2/12 -> 0.0061; 4/12 vs 3/12 -> 0.50; 6/15 vs 3/15 -> 0.213;
    3/10 vs 0/10 -> 2/19 (where the pooled z-test would say 0.030)."""
    assert fisher_one_sided(9, 12, 2, 12) == pytest.approx(0.0061, abs=5e-5)
    assert fisher_one_sided(4, 12, 3, 12) == pytest.approx(0.50, abs=5e-5)
    assert fisher_one_sided(6, 15, 3, 15) == pytest.approx(0.2135, abs=5e-5)
    assert fisher_one_sided(3, 10, 0, 10) == pytest.approx(2 / 19, abs=1e-12)
    assert fisher_one_sided(0, 0, 0, 0) == 1.0
    for case in [(-1, 3, 0, 3), (4, 3, 0, 3), (0, 3, 4, 3)]:
        with pytest.raises(ValueError):
            fisher_one_sided(*case)


# -- decide ---------------------------------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(two_versions(), st.integers(0, 40))
def test_decide_follows_the_rule(case, min_uses):
    """Never a rollback when the current rate is not higher or it has fewer than min_uses uses; otherwise
    exactly when the exact p-value is below 0.05."""
    f1, n1, f0, n0 = case
    decision = decide(VersionStats(2, uses=n1, failures=f1), VersionStats(1, uses=n0, failures=f0), min_uses)
    higher = n0 >= 1 and n1 >= 1 and Fraction(f1, n1) > Fraction(f0, n0)
    if n1 < min_uses or not higher:
        assert decision.rollback is False
        assert decision.p_value is None
    else:
        assert decision.rollback == (exact_p(*case) < Fraction(1, 20))
        assert decision.p_value == pytest.approx(float(exact_p(*case)), abs=1e-9)
    assert decision.why


def test_decide_reference_cases():
    """2/12 -> 9/12 rolls back with its figures; 3/12 -> 4/12 does not; too few uses is not tested at all;
    an exact tie at 0.05 (3/3 vs 0/3, p = 1/20) is not below it."""
    worse = decide(VersionStats(2, uses=12, failures=9), VersionStats(1, uses=12, failures=2), 10)
    assert worse.rollback is True
    assert worse.p_value == pytest.approx(0.0061, abs=5e-5)
    assert "9/12" in worse.why and "2/12" in worse.why and "p = 0.0061" in worse.why

    same = decide(VersionStats(2, uses=12, failures=4), VersionStats(1, uses=12, failures=3), 10)
    assert same.rollback is False
    assert same.p_value == pytest.approx(0.50, abs=5e-5)
    assert "p = 0.50" in same.why

    few = decide(VersionStats(2, uses=9, failures=9), VersionStats(1, uses=12, failures=0), 10)
    assert (few.rollback, few.p_value) == (False, None)

    tie = decide(VersionStats(2, uses=3, failures=3), VersionStats(1, uses=3, failures=0), 3)
    assert exact_p(3, 3, 0, 3) == Fraction(1, 20)
    assert tie.rollback is False

    nothing_before = decide(VersionStats(2, uses=12, failures=9), VersionStats(1), 10)
    assert (nothing_before.rollback, nothing_before.p_value) == (False, None)


# -- per_use --------------------------------------------------------------------------------------

TIMES = st.datetimes(datetime(2024, 12, 20), datetime(2027, 1, 10)).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"))


@st.composite
def outcome_records(draw) -> list[Rec]:
    """Records of up to 12 uses, each with its own version (or None) and time (sometimes unreadable),
    with several judgments per use, unknown verdicts and replayed records, in any order."""
    uses = {
        f"use-{i}": (draw(st.none() | st.integers(1, 4)), draw(TIMES | st.just("not a time")))
        for i in range(draw(st.integers(0, 12)))
    }
    if not uses:
        return []
    verdicts = st.sampled_from(list(REFERENCE_RANK) + ["maybe", "", "FAILURE"])
    picks = draw(st.lists(st.tuples(st.sampled_from(sorted(uses)), verdicts), max_size=40))
    records = [Rec(use, uses[use][0], verdict, uses[use][1]) for use, verdict in picks]
    replays = draw(st.lists(st.sampled_from(records), max_size=10)) if records else []
    return draw(st.permutations(records + replays))


@settings(max_examples=250, deadline=None)
@given(outcome_records())
def test_per_use_matches_a_naive_loop(records):
    """Counts, first and last use and weekly figures per version equal a plain loop's."""
    got = per_use(records)
    expected = naive_per_use(records)
    assert set(got) == set(expected)
    for version, row in expected.items():
        s = got[version]
        assert s.version == version
        assert (s.uses, s.failures, s.successes, s.unclear, s.no_pushback) == (
            row["uses"],
            row["failure"],
            row["success"],
            row["unclear"],
            row["no_pushback"],
        )
        assert s.uses == s.failures + s.successes + s.unclear + s.no_pushback
        assert (s.first_use, s.last_use) == (row["first"], row["last"])
        assert s.weeks == row["weeks"]
        assert list(s.weeks) == sorted(s.weeks)


def test_best_record_stands_for_the_use():
    """A use judged failure once counts as failure whatever came before, under the failing record's version."""
    records = [
        Rec("a", 1, "success", "2026-12-07T10:00:00Z"),
        Rec("a", 1, "failure", "2026-12-07T10:00:00Z"),
        Rec("a", 1, "success", "2026-12-07T10:00:00Z"),
        Rec("b", 1, "no_pushback", "2026-12-07T11:00:00Z"),
        Rec("b", 1, "unclear", "2026-12-07T11:00:00Z"),
        Rec("c", 1, "maybe", "2026-12-07T12:00:00Z"),
    ]
    s = per_use(records)[1]
    assert (s.uses, s.failures, s.successes, s.unclear, s.no_pushback) == (2, 1, 0, 1, 0)
    assert per_use([]) == {}
    assert per_use([Rec("x", 2, "nope", "2026-12-07T12:00:00Z")]) == {}


def _records(version: int, verdict: str, stamps: list[str]) -> list[Rec]:
    """One record per time stamp, each its own use (ids from the version, verdict and stamp)."""
    return [Rec(f"{version}-{verdict}-{t}", version, verdict, t) for t in stamps]


def test_thirty_uses_across_two_versions_by_hand():
    """v1: 15 uses (3 failures, 9 successes, 2 unclear, 1 no-pushback) over ISO weeks 48-49 of 2026; v2: 15 uses
    (6, 6, 1, 2) over weeks 49-50, one of whose failures was first judged a success; a replay and an unknown
    verdict besides. Figures worked out by hand (Wilson: d = 1 + z^2/15, centre = (p + z^2/30)/d,
    half = z/d * sqrt(p(1-p)/15 + z^2/900))."""
    # 2026-11-23 is the Monday of week 48, 2026-11-30 of week 49, 2026-12-07 of week 50.
    v1 = (
        _records(1, "failure", ["2026-11-24T10:00:00Z", "2026-11-25T10:00:00Z", "2026-12-01T10:00:00Z"])
        + _records(1, "success", [f"2026-11-{d}T09:00:00Z" for d in (23, 24, 25, 26, 27, 28)])
        + _records(1, "success", ["2026-12-01T11:00:00Z", "2026-12-02T11:00:00Z", "2026-12-03T11:00:00Z"])
        + _records(1, "unclear", ["2026-11-29T23:59:59Z", "2026-11-30T00:00:00Z"])
        + _records(1, "no_pushback", ["2026-12-05T18:00:00Z"])
    )
    v2 = (
        _records(2, "failure", ["2026-12-03T10:00:00Z", "2026-12-04T10:00:00Z"])
        + _records(2, "failure", ["2026-12-07T10:00:00Z", "2026-12-08T10:00:00Z", "2026-12-09T10:00:00Z"])
        + [Rec("judged-twice", 2, "success", "2026-12-10T10:00:00Z")]
        + [Rec("judged-twice", 2, "failure", "2026-12-10T10:00:00Z")]
        + _records(2, "success", ["2026-12-02T12:00:00Z", "2026-12-03T12:00:00Z"])
        + _records(2, "success", [f"2026-12-{d:02d}T12:00:00Z" for d in (7, 8, 9, 11)])
        + _records(2, "unclear", ["2026-12-12T12:00:00Z"])
        + _records(2, "no_pushback", ["2026-12-06T12:00:00Z", "2026-12-13T12:00:00Z"])
    )
    odd = [v1[3], Rec("odd", 2, "skipped", "2026-12-08T00:00:00Z")]
    table = per_use(v1 + v2 + odd)

    assert set(table) == {1, 2}
    one, two = table[1], table[2]
    assert (one.uses, one.failures, one.successes, one.unclear, one.no_pushback) == (15, 3, 9, 2, 1)
    assert (two.uses, two.failures, two.successes, two.unclear, two.no_pushback) == (15, 6, 6, 1, 2)
    assert one.failure_rate == pytest.approx(0.2) and two.failure_rate == pytest.approx(0.4)
    assert one.ci == (pytest.approx(0.0705, abs=5e-5), pytest.approx(0.4519, abs=5e-5))
    assert two.ci == (pytest.approx(0.1982, abs=5e-5), pytest.approx(0.6425, abs=5e-5))
    assert (one.first_use, one.last_use) == ("2026-11-23T09:00:00Z", "2026-12-05T18:00:00Z")
    assert (two.first_use, two.last_use) == ("2026-12-02T12:00:00Z", "2026-12-13T12:00:00Z")
    assert one.weeks == {"2026-W48": (2, 9), "2026-W49": (1, 6)}
    assert two.weeks == {"2026-W49": (2, 5), "2026-W50": (4, 10)}

    verdict = decide(two, one, 10)
    assert verdict.rollback is False
    assert verdict.p_value == pytest.approx(0.2135, abs=5e-5)
    assert "6/15" in verdict.why and "3/15" in verdict.why


def test_unreadable_time_counts_but_in_no_week():
    """A use whose time is not ISO-8601 is counted, with no first/last use and no week."""
    s = per_use([Rec("a", None, "failure", "yesterday"), Rec("b", None, "success", "")])[None]
    assert (s.uses, s.failures, s.first_use, s.last_use, s.weeks) == (2, 1, "", "", {})
    assert s.ci == wilson(1, 2)
    assert VersionStats(3).failure_rate is None and VersionStats(3).ci is None


def test_week_is_the_iso_week():
    """Weeks are ISO weeks, whose year can differ from the calendar year at New Year."""
    days = {"2024-12-30": "2025-W01", "2026-12-31": "2026-W53", "2027-01-03": "2026-W53", "2027-01-04": "2027-W01"}
    records = [Rec(day, 1, "success", f"{day}T12:00:00Z") for day in days]
    assert per_use(records)[1].weeks == {week: (0, list(days.values()).count(week)) for week in sorted(days.values())}
