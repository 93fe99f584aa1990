"""Edges of outcomes and the automatic rollback: the optimizer meeting a rollback in a publish
race, accepting a held change whose body was rolled back, malformed local files and payloads,
and the order of the skill lease and the ``outcomes`` job.

The optimizer runs in-process against a real store (``tests/support/optimizer``); the review
runs as the CLI; the ``outcomes`` job's ``run`` is called as the runner calls it.
"""

from __future__ import annotations

import json
import logging
import time

import pytest

from lakeloop.jobs.kinds import Context
from lakeloop.skillopt import outcomes, pending, review, worker
from lakeloop.skillopt.edits import apply_edits
from lakeloop.skillopt.lease import SkillLease
from lakeloop.skillopt.parse import Edit, parse_verdict
from lakeloop.skillopt.versions import ROLLBACK, body_sha, publisher, rolled_back, team_rows
from lakeloop.store import open_store
from lakeloop.store.base import SkillRow
from lakeloop.store.memory_sql import outcome_prefix, outcome_uses
from tests.support import optimizer
from tests.support.cli import run_lakeloop
from tests.support.outcomes import spool_outcomes, uses

LOG = logging.getLogger("lakeloop-tests")
REF = optimizer.REF


def _ctx(attempt: int = 1) -> Context:
    return Context(job_id=1, key=outcomes.KIND, attempt=attempt, max_attempts=5, log=LOG, deadline=time.time() + 60)


def _rollback_v3(name: str, author: str) -> SkillRow:
    """Another machine's rollback of v2 to v1's body, created before anything of this test."""
    return SkillRow(
        id="rollback-v3",
        name=name,
        author=author,
        body=optimizer.BODY_V1,
        version=3,
        scope="team",
        contributors=["alice", "bob", "lakeloop-skillopt", "carol", ROLLBACK],
        source_sessions=["origin-session"],
        description="Run.\n[lakeloop-rollback] v2 failed 9/12 uses (75%) vs v1 2/12 (17%)",
        trigger_text="migrate the db",
        created_at="2026-01-01T00:00:00.000000Z",
        updated_at="2026-01-01T00:00:00.000000Z",
    )


def test_optimizer_losing_a_race_to_a_rollback_does_not_publish_on_top_of_it(store_kind):
    """The optimizer judged a use of v2 and inserts v3 just as another machine's rollback v3
    (v1's body) lands and wins: the optimizer stops (``race_lost``), it never re-applies the
    rolled-back version's line of edits on the rollback."""
    with open_store() as store:
        optimizer.seed_skill(store)
        v2 = optimizer.BODY_V1.replace("2. Tell the user", "2. Drop the table.\n3. Tell the user")
        optimizer.seed_skill(store, 2, v2, contributors=["alice", "bob", "lakeloop-skillopt"])
        optimizer.Session(store).standard()
        landed: list[str] = []

        def rival(new: SkillRow) -> None:
            if not landed:
                landed.append(new.id)
                store.insert_skill(_rollback_v3(new.name, new.author))

        out = worker.improve(optimizer.job(armed_version=2), optimizer.make_deps(store, before_publish=rival))
        rows = team_rows(store, "db-migrate", "alice")
    assert out.status == "race_lost" and "rollback of v2" in out.reason
    assert max(r.version for r in rows) == 3
    assert publisher(min((r for r in rows if r.version == 3), key=lambda r: r.created_at)).kind == "rollback"


def test_accepting_a_held_change_whose_body_was_rolled_back_says_so():
    """A change held before v2 (the same edits) was rolled back: accepting it is a person's
    decision and goes through, and the CLI says the body was rolled back before."""
    with open_store() as store:
        v1 = optimizer.seed_skill(store)
        edit = Edit(**optimizer.PLAIN_EDIT)
        body_b = apply_edits(optimizer.BODY_V1, [edit]).body
        held = review.proposal_row(v1, body_b, [edit], "dropped a table", ["LAKELOOP_SKILL_REVIEW=all"], "dave", "s")
        store.insert_skill(held)
        optimizer.seed_skill(store, 2, body_b, contributors=["alice", "bob", "lakeloop-skillopt"])
        optimizer.seed_skill(store, 3, optimizer.BODY_V1, contributors=["alice", "bob", "lakeloop-skillopt", ROLLBACK])
    out = run_lakeloop("skills", "accept", REF, held.id[:8], LAKELOOP_USER="alice")
    assert out.returncode == 0, out.stderr
    with open_store() as store:
        rows = team_rows(store, "db-migrate", "alice")
    current = max(rows, key=lambda r: r.version)
    assert current.version == 4 and body_sha(current.body) in rolled_back(rows)
    assert "note: this body is v2's, which was rolled back automatically before" in out.stdout


@pytest.mark.parametrize(
    "raw",
    [
        "[1, 2]",
        '"hello"',
        json.dumps({"skill": REF, "use_id": "a" * 32, "armed_at": 1e300, "session_id": "s"}),
        '{"skill": "' + REF + '", "use_id": "' + "b" * 32 + '", "armed_at": NaN, "session_id": "s"}',
    ],
    ids=["list", "string", "huge-armed-at", "nan-armed-at"],
)
def test_a_malformed_closed_window_is_dropped_and_outcomes_still_written(raw):
    """A closed-window file that is not a window (another JSON type, an arming time that is not a
    time) is logged and removed; the ``outcomes`` job still writes every spooled outcome."""
    pending.closed_dir().mkdir(parents=True, exist_ok=True)
    bad = pending.closed_dir() / "bad.json"
    bad.write_text(raw)
    assert outcomes.sweep(LOG, submit_after=False) == 0
    assert not bad.exists()
    bad.write_text(raw)  # and once more, found by the job's own sweep
    spool_outcomes(REF, uses(1, 1, 3, "a"))
    assert outcomes.run({"refs": [REF]}, _ctx(), sleep=lambda s: None).startswith("written:3")
    with open_store() as store:
        assert len(store.outcome_uses(REF)) == 3
    assert not bad.exists()


@pytest.mark.parametrize(
    "refs", ["a--b", 5, None, {"x": 1}, [None, 3, {"x": 1}], ["../etc--passwd", "a%--b", "a'b--c", "a--b\x00"]]
)
def test_outcomes_payload_of_any_shape_is_no_error(refs):
    """The job's ``refs`` may be anything a queue row holds: what is not a list of refs is
    skipped, never an exception."""
    assert outcomes.run({"refs": refs}, _ctx(), sleep=lambda s: None) == "written:0"


def test_outcome_times_in_utc_z_form_are_read():
    """Outcome rows are dated ``...Z`` (UTC); they are counted (Python 3.10's ``fromisoformat``
    reads no ``Z``: the reader must not depend on a newer one)."""
    prefix = outcome_prefix(REF)
    rows = [(f"{prefix}{'c' * 32}.json", "lakeloop-outcome v=2 verdict=failure", "2026-12-07T18:00:00.000000Z", 1)]
    assert [(u.version, u.verdict) for u in outcome_uses(rows, REF)] == [(2, "failure")]


def test_a_judged_use_queues_its_outcomes_job_after_the_skill_lease_is_released(monkeypatch):
    """The ``skill-improve`` job spools its judgment during its run and queues the ``outcomes`` job
    only once the run is over (its lease released), so the rollback decision sees what the run
    published."""
    from lakeloop.skillopt import job as skill_job

    queued: list[tuple[list[str], bool]] = []

    def scripted_improve(job, deps):
        deps.record(job, parse_verdict(optimizer.FAIL))
        return worker.Outcome("judged_success", "scripted")

    monkeypatch.setattr(worker, "improve", scripted_improve)
    monkeypatch.setattr(
        outcomes, "submit", lambda refs, log: queued.append((list(refs), SkillLease(REF).path.exists())) or "new"
    )
    with open_store() as store:
        optimizer.seed_skill(store)
    payload = {"session_id": optimizer.SID, "skill": REF, "reaction": "no", "armed_version": 1, "user": "tester"}
    assert skill_job.run(payload, _ctx()) == "judged_success"
    assert queued == [([REF], False)]
    assert len(list(outcomes.spool_dir().glob("*.json"))) == 1
