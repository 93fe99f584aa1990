"""``lakeloop skills stats [REF] [--json]`` through the real CLI entry point (a subprocess), on the
embedded store and on the Deeplake stand-in: outcome rows seeded as the ``outcomes`` job stores
them give the table computed by hand (one verdict per use, the worst wins; failure rate =
failures / every use; 95 % Wilson interval), with who published each version and why; only
versions with uses and the current version are listed; with REF, the weekly trend.

By hand, z = 1.959964 (z² = 3.841459), p = f/n:
``d = 1 + z²/n; centre = (p + z²/2n) / d; half = z/d * sqrt(p(1-p)/n + z²/4n²)``.
3/15: p = 0.2, d = 1.256097, centre = 0.261157, half = 0.190682 -> (0.0705, 0.4519).
6/15: p = 0.4, d = 1.256097, centre = 0.420388, half = 0.222143 -> (0.1982, 0.6425).
"""

from __future__ import annotations

import json

import pytest

from lakeloop.store import open_store
from lakeloop.store.base import SkillRow
from tests.support.cli import run_lakeloop
from tests.support.outcomes import seed_outcomes

REF = "db-migrate--alice"
BODY = "---\nname: db-migrate\ndescription: Migrate.\n---\nRun alembic.\n"
#: A reason holding a terminal escape (hostile stored text): shown escaped, never raw.
REASON = "bob had to ask for a backup \x1b]0;pwned\x07"
JSON_KEYS = {"ref", "version", "uses", "failures", "successes", "unclear", "no_pushback", "failure_rate"} | {
    "ci_low",
    "ci_high",
    "publisher",
    "publisher_kind",
    "reason",
    "first_use",
    "last_use",
    "current",
}


def at(day: int, hour: int) -> str:
    """A time in March 2026 (ISO weeks: days 2-8 are W10, 9-15 W11, 16-22 W12)."""
    return f"2026-03-{day:02d}T{hour:02d}:00:00.000000Z"


def skill(version: int, contributors: list[str], *, description: str = "Migrate.", sessions=()) -> SkillRow:
    stamp = f"2026-03-01T00:00:0{version}.000000Z"
    return SkillRow(
        id=f"row-{version}",
        name="db-migrate",
        author="alice",
        body=BODY + "v" * version,
        version=version,
        contributors=contributors,
        source_sessions=list(sessions),
        description=description,
        created_at=stamp,
        updated_at=stamp,
    )


def thirty_uses() -> list[tuple]:
    """v1: 15 uses in W10 (3 failure, 9 success, 2 unclear, 1 no_pushback); v2: 15 uses, 8 in W11
    (4 failure) and 7 in W12 (2 failure): 6 failure, 6 success, 1 unclear, 2 no_pushback. Use
    ``v2-f0`` was judged twice, success then failure: it counts once, as a failure."""
    v1 = ["failure"] * 3 + ["success"] * 9 + ["unclear"] * 2 + ["no_pushback"]
    out = [(1, verdict, f"v1-{i}", at(2 + i % 7, 9)) for i, verdict in enumerate(v1)]
    w11 = ["failure"] * 4 + ["success"] * 3 + ["no_pushback"]
    w12 = ["failure"] * 2 + ["success"] * 3 + ["unclear"] + ["no_pushback"]
    out += [(2, verdict, f"v2-a{i}", at(9 + i % 7, 10)) for i, verdict in enumerate(w11)]
    out += [(2, verdict, f"v2-b{i}", at(16 + i % 7, 11)) for i, verdict in enumerate(w12)]
    out[15] = (2, "success", "v2-a0", at(9, 10))  # first judgment of v2's first use ...
    out.append((2, "failure", "v2-a0", at(9, 12)))  # ... judged again: a failure
    return out


@pytest.fixture
def seeded(store_kind):
    """The skill (v1 pushed by alice, v2 by the optimizer from bob's session, v3 current by carol
    with no use yet) and its 30 uses (31 rows), plus another skill's outcomes."""
    with open_store() as store:
        if store_kind == "deeplake":
            store.ensure_tables()
        store.insert_skill(skill(1, ["alice"]))
        store.insert_skill(
            skill(
                2,
                ["alice", "bob", "lakeloop-skillopt"],
                description=f"Migrate.\n[lakeloop-skillopt] {REASON}",
                sessions=["s-bob"],
            )
        )
        store.insert_skill(skill(3, ["alice", "bob", "lakeloop-skillopt", "carol"], sessions=["s-bob"]))
        seed_outcomes(store, REF, thirty_uses())
        seed_outcomes(store, "db-migrate--alicex", [(1, "failure", "other", at(2, 9))])
    return store_kind


def stats_json(*argv: str) -> list[dict]:
    proc = run_lakeloop("skills", "stats", *argv, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_skills_stats_30_uses_two_versions_by_hand(seeded):
    """The --json figures and the text table are the hand-computed ones (module docstring)."""
    items = stats_json(REF)
    assert [(i["version"], i["current"]) for i in items] == [(1, False), (2, False), (3, True)]
    v1, v2, v3 = items
    assert set(v1) == JSON_KEYS | {"weeks"}
    counts = ("uses", "failures", "successes", "unclear", "no_pushback")
    assert [v1[k] for k in counts] == [15, 3, 9, 2, 1]
    assert [v2[k] for k in counts] == [15, 6, 6, 1, 2]
    assert [v3[k] for k in counts] == [0, 0, 0, 0, 0]
    assert (v1["failure_rate"], v2["failure_rate"], v3["failure_rate"]) == (0.2, 0.4, None)
    assert (v1["ci_low"], v1["ci_high"]) == pytest.approx((0.0705, 0.4519), abs=5e-5)
    assert (v2["ci_low"], v2["ci_high"]) == pytest.approx((0.1982, 0.6425), abs=5e-5)
    assert (v3["ci_low"], v3["ci_high"]) == (None, None)
    assert [(i["publisher"], i["publisher_kind"]) for i in items] == [
        ("alice", "push"),
        ("lakeloop-skillopt, from bob's session", "optimizer"),
        ("carol", "push"),
    ]
    # the reason as stored (Deeplake's literals drop control characters on the way in)
    assert v2["reason"] in (REASON, REASON.replace("\x1b", "").replace("\x07", ""))
    assert (v1["first_use"], v1["last_use"]) == (at(2, 9), at(8, 9))
    assert (v2["first_use"], v2["last_use"]) == (at(9, 10), at(22, 11))
    assert (v3["first_use"], v3["last_use"], v3["weeks"]) == ("", "", [])

    proc = run_lakeloop("skills", "stats", REF)
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout  # stored text escaped
    lines = {line.split()[1]: line.split() for line in proc.stdout.splitlines() if line.startswith(REF)}
    assert lines["v1"][2:9] == ["15", "3", "9", "2", "1", "20%", "(7-45%)"]
    assert lines["v2"][2:9] == ["15", "6", "6", "1", "2", "40%", "(20-64%)"]
    assert lines["v3"][2:9] == ["(current)", "0", "0", "0", "0", "0", "-"]
    assert "lakeloop-skillopt, from bob's session" in proc.stdout and "bob had to ask for a backup" in proc.stdout


def test_stats_trend_per_week(seeded):
    """With REF: each version's uses by ISO week of use, in JSON and as the trend table."""
    weeks = {i["version"]: i["weeks"] for i in stats_json(REF)}
    assert weeks[1] == [{"week": "2026-W10", "uses": 15, "failures": 3}]
    assert weeks[2] == [
        {"week": "2026-W11", "uses": 8, "failures": 4},
        {"week": "2026-W12", "uses": 7, "failures": 2},
    ]
    proc = run_lakeloop("skills", "stats", REF)
    trend = [line.split() for line in proc.stdout.splitlines() if line.startswith("2026-W")]
    assert trend == [
        ["2026-W10", "v1", "3/15", "20%"],
        ["2026-W11", "v2", "4/8", "50%"],
        ["2026-W12", "v2", "2/7", "29%"],
    ]


def test_stats_without_ref_lists_every_skill_without_the_trend(seeded):
    """No REF: every skill's versions (a ref that only starts like another never takes its uses),
    with the keys of the issue's list and no ``weeks``; a bare name resolves as for history."""
    items = stats_json()
    assert [(i["ref"], i["version"], i["uses"]) for i in items] == [
        (REF, 1, 15),
        (REF, 2, 15),
        (REF, 3, 0),
    ]
    assert all(set(i) == JSON_KEYS for i in items)
    assert [i["version"] for i in stats_json("db-migrate")] == [1, 2, 3]
    proc = run_lakeloop("skills", "stats")
    assert proc.returncode == 0 and "WEEK" not in proc.stdout and "FAILURE RATE (95% CI)" in proc.stdout


def test_uses_of_an_unknown_version_and_of_a_skill_gone_from_the_store(store_kind):
    """Uses recorded without a version show as ``v?`` (JSON null, never current); outcome rows of
    a skill with no skills row are not listed (stats are per team skill); an unknown REF is
    refused with exit 2."""
    with open_store() as store:
        if store_kind == "deeplake":
            store.ensure_tables()
        store.insert_skill(skill(1, ["alice"]))
        seed_outcomes(store, REF, [(None, "failure", "u1", at(3, 9)), (1, "success", "u2", at(3, 9))])
        seed_outcomes(store, "gone--bob", [(1, "failure", "u3", at(3, 9))])
    items = stats_json()
    assert [(i["ref"], i["version"], i["uses"], i["current"]) for i in items] == [
        (REF, 1, 1, True),
        (REF, None, 1, False),
    ]
    assert "v?" in run_lakeloop("skills", "stats", REF).stdout
    refused = run_lakeloop("skills", "stats", "gone--bob")
    assert refused.returncode == 2 and "no team skill" in refused.stderr


def test_no_skills_yet(store_kind):
    with open_store() as store:
        if store_kind == "deeplake":
            store.ensure_tables()
    assert stats_json() == []
    assert "no skills in the store yet" in run_lakeloop("skills", "stats").stdout


@pytest.mark.parametrize("store_kind", ["deeplake"], indirect=True)
def test_one_outcome_query_per_skill_on_deeplake(store_kind, request):
    """Without REF, a run costs one request for every skills row and one outcome query per skill;
    with REF, three: the ref's resolution, its versions and its outcomes."""
    standin = request.getfixturevalue("deeplake")
    with open_store() as store:
        store.ensure_tables()
        for name in ("a", "b", "c"):
            store.insert_skill(SkillRow(id=f"row-{name}", name=name, author="alice", body=BODY, contributors=["alice"]))
            seed_outcomes(store, f"{name}--alice", [(1, "failure", f"u-{name}", at(2, 9))])
    standin.reset_counters()
    assert len(stats_json()) == 3
    sent = [r.sql for r in standin.requests]
    assert len(sent) == 1 + 3, sent
    assert sum("/outcomes/" in (q or "") for q in sent) == 3
    standin.reset_counters()
    assert len(stats_json("b--alice")) == 1
    sent = [r.sql for r in standin.requests]
    assert len(sent) == 3, sent
