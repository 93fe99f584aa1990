"""No lost publish: two workers publishing the same skill version.

Rules under test:
* after inserting version N, a worker reads the skill's rows again; when another row took N
  and wins (``store.base.winner_key``: earlier created_at, then smaller id), the loser
  re-applies its edits on the current version and publishes N + 1 (outcome ``republished``),
  through the guard again (held as a proposal if the guard now objects), or records that the
  edits no longer apply (outcome ``race_lost``: logged and in the attempts record);
* the winner keeps its version and publishes nothing more;
* the re-read is repeated over the store's visibility wait (3 reads at 0, wait/2, wait): a rival
  row that becomes visible only at the last read is still found; one that is never visible
  within the wait is not (the documented residual risk);
* end to end on the Deeplake stand-in with a visibility lag: two worker processes with their own
  data directories (two machines), lined up before publishing, leave v1, v2 (the winner) and
  v3 (the loser's edits on the winner's body), or the loser records that its edits no longer apply.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lakeloop.deeplake.client import DeeplakeClient
from lakeloop.deeplake.credentials import Credentials
from lakeloop.identity import Identity
from lakeloop.skillopt import attempts
from lakeloop.skillopt.edits import apply_edits
from lakeloop.skillopt.parse import Edit
from lakeloop.skillopt.worker import improve
from lakeloop.store.base import SkillRow
from lakeloop.store.deeplake import DeeplakeStore
from lakeloop.store.embedded import EmbeddedStore
from tests.support.optimizer import (
    AUTHOR,
    BODY_V1,
    NAME,
    REF,
    SID,
    Agent,
    Session,
    edits_reply,
    job,
    make_deps,
    proposals,
    seed_skill,
)
from tests.support.repo import PLUGIN_SRC

OURS = {
    "op": "replace",
    "target": "2. Tell the user the migration ran.",
    "text": "2. Tell the user the migration ran and which revisions ran.",
}
THEIRS = Edit("insert_after", "## Steps", "0. Back up the database first.")
T_RIVAL, T_OURS = "2026-06-08T05:00:00.000001Z", "2026-06-08T05:00:00.000002Z"


@pytest.fixture
def store(tmp_path):
    s = EmbeddedStore(tmp_path / "data" / "store.sqlite3")
    yield s
    s.close()


def rival_row(body: str, version: int = 2, created_at: str = T_RIVAL, **kw) -> SkillRow:
    """A version published by another machine (carol's session), on top of v1."""
    return SkillRow(
        id=kw.pop("id", "rival-" + str(version)),
        name=NAME,
        author=AUTHOR,
        body=body,
        version=version,
        scope="team",
        contributors=kw.pop("contributors", ["alice", "carol", "lakeloop-skillopt"]),
        source_sessions=kw.pop("source_sessions", ["origin-session", "carol-session"]),
        description="Run the project's database migrations\n[lakeloop-skillopt] carol's reason",
        created_at=created_at,
        updated_at=created_at,
        **kw,
    )


class RivalOnPublish:
    """``Deps.before_publish``: the first time, another machine's rows land first (inserted just
    before ours, as when both computed their edits at the same moment)."""

    def __init__(self, store, *rows: SkillRow):
        self.store, self.rows, self.calls = store, rows, []

    def __call__(self, row: SkillRow) -> None:
        self.calls.append(row)
        if len(self.calls) == 1:
            for rival in self.rows:
                self.store.insert_skill(rival)


class HidingStore:
    """The store as seen through a visibility lag: ``skill_rows`` hides the rows whose ids are in
    ``hidden`` for its first ``reads`` calls."""

    def __init__(self, inner, hidden: set[str], reads: int):
        self.inner, self.hidden, self.reads, self.calls = inner, hidden, reads, 0

    def skill_rows(self, *args, **kw):
        self.calls += 1
        rows = self.inner.skill_rows(*args, **kw)
        return rows if self.calls > self.reads else [r for r in rows if r.id not in self.hidden]

    def __getattr__(self, name):
        return getattr(self.inner, name)


def setup(store):
    seed_skill(store)
    Session(store).standard()


def rows(store) -> list[tuple[int, str]]:
    return [(r.version, r.id) for r in store.skill_rows(NAME, AUTHOR) if r.scope != "proposal"]


# -- the worker's logic on SQLite (deterministic) ----------------------------------------------------------


def test_loser_reapplies_its_edits_on_the_winner_and_publishes_the_next_version(store):
    """A rival v2 created earlier wins; ours (v2 too) loses: v3 = our edits on the rival's body, with
    the rival's contributors and sessions carried and ours appended."""
    setup(store)
    rival = rival_row(apply_edits(BODY_V1, [THEIRS]).body)
    hook = RivalOnPublish(store, rival)
    outcome = improve(
        job(), make_deps(store, propose=Agent(edits_reply(OURS)), before_publish=hook, now=lambda: T_OURS)
    )
    assert (outcome.status, outcome.version) == ("republished", 3)
    ours = hook.calls[0]
    assert rows(store) == [(1, "skill-v1"), (2, rival.id), (2, ours.id), (3, hook.calls[1].id)]
    current = store.current_skill(NAME, AUTHOR)
    assert current.version == 3
    assert current.body == apply_edits(rival.body, [Edit(**OURS)]).body
    assert "0. Back up the database first." in current.body and "which revisions ran" in current.body
    assert current.contributors == ["alice", "carol", "lakeloop-skillopt", "bob", "lakeloop-skillopt"]
    assert current.source_sessions == ["origin-session", "carol-session", SID]
    assert outcome.details["lost_rows"] == [ours.id]
    assert [(r["outcome"], r["version"]) for r in attempts.previous(REF)] == [("republished", 3)]


def test_the_winner_keeps_its_version(store):
    """A rival v2 created later loses to ours: we stay v2 and publish nothing more."""
    setup(store)
    rival = rival_row(apply_edits(BODY_V1, [THEIRS]).body, created_at="2026-06-08T05:00:00.000009Z")
    hook = RivalOnPublish(store, rival)
    outcome = improve(
        job(), make_deps(store, propose=Agent(edits_reply(OURS)), before_publish=hook, now=lambda: T_OURS)
    )
    assert (outcome.status, outcome.version) == ("published", 2)
    assert len(hook.calls) == 1
    assert store.current_skill(NAME, AUTHOR).id == hook.calls[0].id


def test_equal_created_at_is_decided_by_the_smaller_id(store):
    """Same created_at: the smaller id wins (winner_key), so ours (a uuid) loses to id 000...."""
    setup(store)
    rival = rival_row(apply_edits(BODY_V1, [THEIRS]).body, created_at=T_OURS, id="00000000-rival")
    outcome = improve(
        job(),
        make_deps(
            store, propose=Agent(edits_reply(OURS)), before_publish=RivalOnPublish(store, rival), now=lambda: T_OURS
        ),
    )
    assert (outcome.status, outcome.version) == ("republished", 3)


def test_edits_that_no_longer_apply_are_recorded_as_race_lost(store, caplog):
    """The rival rewrote the line our edit replaces: no v3; outcome race_lost, logged as a warning,
    and the attempts record says so."""
    import logging

    setup(store)
    rival = rival_row(BODY_V1.replace("2. Tell the user the migration ran.", "2. Report the revisions."))
    with caplog.at_level(logging.INFO, logger="lakeloop-tests"):
        outcome = improve(
            job(),
            make_deps(
                store, propose=Agent(edits_reply(OURS)), before_publish=RivalOnPublish(store, rival), now=lambda: T_OURS
            ),
        )
    assert (outcome.status, outcome.version) == ("race_lost", 2)
    assert "no longer apply" in outcome.reason and "target not found" in outcome.reason
    assert [v for v, _ in rows(store)] == [1, 2, 2]
    assert store.current_skill(NAME, AUTHOR).id == rival.id
    assert [(r["outcome"], r["version"]) for r in attempts.previous(REF)] == [("race_lost", 2)]
    assert any(r.levelname == "WARNING" and "worker outcome=race_lost" in r.getMessage() for r in caplog.records)


def test_a_rebased_change_the_guard_now_objects_to_is_held_against_the_winner(store):
    """Our edit names a URL v1 named; the rival removed it: on the rival's body the URL is new,
    so the re-applied change is held as a proposal against v2, not published."""
    body = BODY_V1 + "\nDocs: https://docs.example.org/alembic/upgrade\n"
    seed_skill(store, body=body)
    Session(store).standard()
    rival = rival_row(body.replace("\nDocs: https://docs.example.org/alembic/upgrade\n", "\n"))
    ours = {"op": "append", "text": "See https://docs.example.org/alembic/upgrade for branches."}
    outcome = improve(
        job(),
        make_deps(
            store, propose=Agent(edits_reply(ours)), before_publish=RivalOnPublish(store, rival), now=lambda: T_OURS
        ),
    )
    assert (outcome.status, outcome.version) == ("held", 2)
    assert outcome.details["held_by"] == ["adds a path, URL, host or e-mail address: docs.example.org"]
    (proposal,) = proposals(store)
    assert json.loads(proposal.description)["base_version"] == 2
    assert store.current_skill(NAME, AUTHOR).id == rival.id


def test_a_winner_built_on_our_row_already_carries_our_edits(store):
    """A third machine saw our v2 first and published v3 on it (its sessions include ours), and a
    rival v2 wins ours: our edits live on in v3; nothing is re-applied (no duplicate)."""
    setup(store)
    rival = rival_row(apply_edits(BODY_V1, [THEIRS]).body)
    ours_body = apply_edits(BODY_V1, [Edit(**OURS)]).body
    third = rival_row(
        ours_body + "\nMore.\n",
        version=3,
        id="third-3",
        created_at="2026-06-08T05:00:01.000000Z",
        source_sessions=["origin-session", SID, "dan-session"],
    )
    hook = RivalOnPublish(store, rival, third)
    outcome = improve(
        job(), make_deps(store, propose=Agent(edits_reply(OURS)), before_publish=hook, now=lambda: T_OURS)
    )
    assert (outcome.status, outcome.version) == ("published", 3)
    assert len(hook.calls) == 1 and [v for v, _ in rows(store)] == [1, 2, 2, 3]


def test_a_session_already_in_the_base_does_not_count_as_carried(store):
    """The session's id was already among v1's sources (an earlier reaction of the same session):
    a newer winner naming it does not prove our edits are in it, so they are re-applied (v4)."""
    seed_skill(store, source_sessions=["origin-session", SID])
    Session(store).standard()
    rival = rival_row(apply_edits(BODY_V1, [THEIRS]).body, source_sessions=["origin-session", SID, "carol"])
    third = rival_row(
        rival.body + "\nMore.\n",
        version=3,
        id="third-3",
        created_at="2026-06-08T05:00:01.000000Z",
        source_sessions=["origin-session", SID, "carol", "dan-session"],
    )
    outcome = improve(
        job(),
        make_deps(
            store,
            propose=Agent(edits_reply(OURS)),
            before_publish=RivalOnPublish(store, rival, third),
            now=lambda: T_OURS,
        ),
    )
    assert (outcome.status, outcome.version) == ("republished", 4)
    assert store.current_skill(NAME, AUTHOR).body == apply_edits(third.body, [Edit(**OURS)]).body


@pytest.mark.parametrize(
    "hidden_reads, status, reads, sleeps_taken",
    [
        (0, "republished", 1 + 3, [1.0, 1.0]),
        (2, "republished", 3 + 3, [1.0, 1.0, 1.0, 1.0]),
        (3, "published", 3, [1.0, 1.0]),
    ],
)
def test_rereads_over_the_visibility_wait_find_a_lagging_rival(store, hidden_reads, status, reads, sleeps_taken):
    """3 reads spread over a 2 s wait (sleeps 1 s, 1 s): a visible rival is found at the first read,
    one hidden from the first two reads at the last (then v3's own check reads 3 times); one hidden
    from all three is missed (the residual risk: published, and the rival wins for readers)."""
    setup(store)
    rival = rival_row(apply_edits(BODY_V1, [THEIRS]).body)
    lagging = HidingStore(store, {rival.id}, hidden_reads)
    sleeps: list[float] = []
    outcome = improve(
        job(),
        make_deps(
            lagging,
            propose=Agent(edits_reply(OURS)),
            sleeps=sleeps,
            before_publish=RivalOnPublish(store, rival),
            now=lambda: T_OURS,
            race_wait_s=2.0,
        ),
    )
    assert outcome.status == status
    assert lagging.calls == reads
    assert sleeps == sleeps_taken


def test_without_a_visibility_wait_one_read_and_no_sleep(store):
    """SQLite has no visibility lag: one read after the insert, no sleep."""
    setup(store)
    sleeps: list[float] = []
    counting = HidingStore(store, set(), 0)
    assert improve(job(), make_deps(counting, sleeps=sleeps)).status == "published"
    assert counting.calls == 1 and sleeps == []


def test_the_store_visibility_wait_is_the_default(store):
    """The wait defaults to the store's ``visibility_wait_s`` (the Deeplake store's setting)."""
    setup(store)
    sleeps: list[float] = []
    counting = HidingStore(store, set(), 0)
    counting.visibility_wait_s = 5.0
    assert improve(job(), make_deps(counting, sleeps=sleeps)).status == "published"
    assert counting.calls == 3 and sleeps == [2.5, 2.5]


# -- two worker processes on the Deeplake stand-in ---------------------------------------------------------

WORKER = r"""
import json, logging, os, sys, time
from lakeloop.deeplake.client import DeeplakeClient
from lakeloop.deeplake.credentials import Credentials
from lakeloop.identity import Identity
from lakeloop.skillopt.worker import Deps, Job, improve
from lakeloop.store.deeplake import DeeplakeStore

cfg = json.loads(os.environ["RACE_WORKER"])
logging.basicConfig(stream=sys.stderr, level=logging.INFO)
creds = Credentials(token=cfg["token"], org_id=cfg["org_id"], workspace=cfg["workspace"], api_url=cfg["url"])
store = DeeplakeStore(DeeplakeClient(creds), visibility_wait_s=cfg["wait"])
lined_up = []

def barrier(row):
    if not lined_up:  # only the first publish waits for the other machine
        lined_up.append(row)
        print("ready", flush=True)
        sys.stdin.readline()

fail = json.dumps({"success": 0, "confidence": 0.9, "reason": "the migration dropped a table"})
deps = Deps(store=store, identity=Identity(user=cfg["user"]), judge=lambda p, s: fail,
            propose=lambda p, s: cfg["reply"], sleep=time.sleep, log=logging.getLogger("race"), retries=5,
            backoff_s=0.2, now=lambda: cfg["now"], before_publish=barrier)
job = Job(session_id=cfg["sid"], skill=cfg["ref"], reaction="that's wrong, it dropped my table",
          tool_use_id="toolu_arm", user=cfg["user"], armed_version=1)
outcome = improve(job, deps)
print(json.dumps({"status": outcome.status, "version": outcome.version, "reason": outcome.reason,
                  "first": lined_up[0].id if lined_up else None}), flush=True)
"""


def _stand_in_store(standin, wait: float = 0.0) -> DeeplakeStore:
    creds = Credentials(
        token=standin.token, org_id=standin.org_id, workspace=standin.workspace, api_url=standin.base_url
    )
    return DeeplakeStore(DeeplakeClient(creds, sleep=lambda s: None), visibility_wait_s=wait)


def _race(standin, tmp_path: Path, replies: dict[str, str], lag_s: float = 1.0, wait_s: float = 2.0) -> dict:
    """Seed v1 and one session per machine, start both workers, line them up before their first
    publish, switch the stand-in's visibility lag on, release both; returns their outcomes."""
    store = _stand_in_store(standin)
    seed_skill(store)
    clocks = {"ann": T_RIVAL, "ben": T_OURS}
    procs = {}
    for user, reply in replies.items():
        sid = f"{user}-session"
        Session(store, sid=sid, identity=Identity(user=user)).standard()
        home = tmp_path / user
        env = {
            **os.environ,
            "PYTHONPATH": str(PLUGIN_SRC),
            "HOME": str(home / "home"),
            "LAKELOOP_DATA_DIR": str(home / "data"),
            "LAKELOOP_LOG_DIR": str(home / "log"),
            "LAKELOOP_USER": user,
            "RACE_WORKER": json.dumps(
                {
                    "token": standin.token,
                    "org_id": standin.org_id,
                    "workspace": standin.workspace,
                    "url": standin.base_url,
                    "wait": wait_s,
                    "user": user,
                    "sid": sid,
                    "ref": REF,
                    "reply": reply,
                    "now": clocks[user],
                }
            ),
        }
        procs[user] = subprocess.Popen(
            [sys.executable, "-c", WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
    try:
        for proc in procs.values():
            line = proc.stdout.readline()
            assert line == "ready\n", (line, proc.stderr.read() if proc.poll() is not None else "")
        standin.configure(visibility_lag_s=lag_s)  # both have computed their edits; neither has inserted
        for proc in procs.values():
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outcomes = {}
        for user, proc in procs.items():
            out, err = proc.communicate(timeout=90)
            assert proc.returncode == 0, err
            outcomes[user] = json.loads(out.strip().splitlines()[-1])
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    standin.configure(visibility_lag_s=0.0)
    return outcomes


def _attempts(tmp_path: Path, user: str) -> list[dict]:
    files = list((tmp_path / user / "data").rglob("*.jsonl"))
    records = []
    for f in files:
        if "attempts" in str(f):
            records += [json.loads(line) for line in f.read_text().splitlines()]
    return records


def test_two_machines_racing_on_the_stand_in_leave_v1_v2_and_v3(deeplake, tmp_path):
    """ann (earlier clock) and ben publish v2 at the same moment through a 1 s visibility lag;
    ben's re-reads over his 2 s wait find ann's row: v1, v2 (ann's, current for v2), ben's losing v2,
    and v3 = ben's edit on ann's body."""
    outcomes = _race(deeplake, tmp_path, {"ann": edits_reply(THEIRS.as_dict()), "ben": edits_reply(OURS)})
    assert outcomes["ann"]["status"] == "published" and outcomes["ann"]["version"] == 2
    assert outcomes["ben"]["status"] == "republished" and outcomes["ben"]["version"] == 3
    store = _stand_in_store(deeplake)
    history = [r for r in store.skill_rows(NAME, AUTHOR) if r.scope != "proposal"]
    assert [r.version for r in history] == [1, 2, 2, 3]
    winner_v2 = history[1]
    assert winner_v2.id == outcomes["ann"]["first"] and winner_v2.created_at == T_RIVAL
    assert history[2].id == outcomes["ben"]["first"]
    current = store.current_skill(NAME, AUTHOR)
    assert current.version == 3
    assert current.body == apply_edits(winner_v2.body, [Edit(**OURS)]).body
    assert "0. Back up the database first." in current.body and "which revisions ran" in current.body
    assert current.contributors[-2:] == ["ben", "lakeloop-skillopt"]
    assert [r["outcome"] for r in _attempts(tmp_path, "ben")] == ["republished"]
    assert [r["outcome"] for r in _attempts(tmp_path, "ann")] == ["published"]


def test_the_loser_records_that_its_edits_no_longer_apply(deeplake, tmp_path):
    """Both rewrite the same line: ann's wins; ben's target is gone on ann's body, so ben records
    race_lost (outcome and attempts record in his own data dir) and v2 (ann's) stays current."""
    theirs = {
        "op": "replace",
        "target": "2. Tell the user the migration ran.",
        "text": "2. Tell the user the migration ran and report the revisions.",
    }
    outcomes = _race(deeplake, tmp_path, {"ann": edits_reply(theirs), "ben": edits_reply(OURS)})
    assert outcomes["ann"]["status"] == "published"
    assert outcomes["ben"]["status"] == "race_lost" and "no longer apply" in outcomes["ben"]["reason"]
    store = _stand_in_store(deeplake)
    assert [r.version for r in store.skill_rows(NAME, AUTHOR)] == [1, 2, 2]
    assert store.current_skill(NAME, AUTHOR).id == outcomes["ann"]["first"]
    assert [(r["outcome"], r["version"]) for r in _attempts(tmp_path, "ben")] == [("race_lost", 2)]
