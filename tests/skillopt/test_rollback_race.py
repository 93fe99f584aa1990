"""Two machines deciding the same rollback at once publish one (docs/skill-loop.md, "Automatic
rollback"): both insert version c+1 with the same body; the publish race check
(``skillopt.race.winner_after_insert``, the optimizer's) makes the later row the loser, which ends
``duplicate`` and publishes nothing more. Two decider processes with their own HOMEs and data
directories run on the Deeplake stand-in with a visibility lag, lined up just before their insert
as in ``test_publish_race.py``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lakeloop.deeplake.client import DeeplakeClient
from lakeloop.deeplake.credentials import Credentials
from lakeloop.skillopt.versions import ROLLBACK, counted, publisher
from lakeloop.store.base import SkillRow
from lakeloop.store.deeplake import DeeplakeStore
from tests.support.outcomes import seed_outcomes, uses
from tests.support.repo import PLUGIN_SRC

REF = "db-migrate--alice"
V1 = "---\nname: db-migrate\n---\n1. Back up.\n2. Run `alembic upgrade head`.\n"
V2 = "---\nname: db-migrate\n---\n1. Run `alembic upgrade head` at once.\n"
T_ANN, T_BEN = "2026-12-07T05:00:00.000001Z", "2026-12-07T05:00:00.000002Z"

DECIDER = r"""
import json, logging, os, sys, time
from lakeloop.deeplake.client import DeeplakeClient
from lakeloop.deeplake.credentials import Credentials
from lakeloop.skillopt import rollback
from lakeloop.store.deeplake import DeeplakeStore

cfg = json.loads(os.environ["RACE_DECIDER"])
logging.basicConfig(stream=sys.stderr, level=logging.INFO)
creds = Credentials(token=cfg["token"], org_id=cfg["org_id"], workspace=cfg["workspace"], api_url=cfg["url"])
store = DeeplakeStore(DeeplakeClient(creds), visibility_wait_s=cfg["wait"])
lined_up = []

def barrier(row):
    lined_up.append(row.id)
    print("ready", flush=True)
    sys.stdin.readline()

result = rollback.decide(store, cfg["ref"], logging.getLogger("race"), user=cfg["user"], min_uses=10,
                         now=lambda: cfg["now"], before_publish=barrier)
print(json.dumps({"status": result.status, "version": result.version, "reason": result.reason,
                  "row": lined_up[0] if lined_up else None}), flush=True)
"""


def _store(standin) -> DeeplakeStore:
    creds = Credentials(
        token=standin.token, org_id=standin.org_id, workspace=standin.workspace, api_url=standin.base_url
    )
    return DeeplakeStore(DeeplakeClient(creds, sleep=lambda s: None), visibility_wait_s=0.0)


def _version(version: int, body: str, contributors: list[str]) -> SkillRow:
    when = f"2026-11-0{version}T00:00:00.000000Z"
    return SkillRow(
        id=f"v{version}",
        name="db-migrate",
        author="alice",
        body=body,
        version=version,
        scope="team",
        contributors=contributors,
        description="Migrate.",
        created_at=when,
        updated_at=when,
    )


def _decider(standin, tmp_path: Path, user: str, now: str, wait_s: float) -> subprocess.Popen:
    home = tmp_path / user
    env = {
        **os.environ,
        "PYTHONPATH": str(PLUGIN_SRC),
        "HOME": str(home / "home"),
        "LAKELOOP_DATA_DIR": str(home / "data"),
        "LAKELOOP_LOG_DIR": str(home / "log"),
        "LAKELOOP_USER": user,
        "RACE_DECIDER": json.dumps(
            {
                "token": standin.token,
                "org_id": standin.org_id,
                "workspace": standin.workspace,
                "url": standin.base_url,
                "wait": wait_s,
                "user": user,
                "ref": REF,
                "now": now,
            }
        ),
    }
    return subprocess.Popen(
        [sys.executable, "-c", DECIDER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_two_machines_deciding_at_once_publish_one_rollback(deeplake, tmp_path):
    """ann (earlier clock) and ben both find v2 regressed (9/12 against 2/12) and insert v3 at
    the same moment through a 1 s visibility lag: ann's v3 counts (rolled_back); ben's re-reads
    over his 2 s wait find it, with the same body: ben ends ``duplicate``. One counted v3, a
    rollback; no v4."""
    store = _store(deeplake)
    store.insert_skill(_version(1, V1, ["alice"]))
    store.insert_skill(_version(2, V2, ["alice", "bob", "lakeloop-skillopt"]))
    seed_outcomes(store, REF, uses(1, 2, 12, "a") + uses(2, 9, 12, "b"))
    procs = {
        "ann": _decider(deeplake, tmp_path, "ann", T_ANN, 2.0),
        "ben": _decider(deeplake, tmp_path, "ben", T_BEN, 2.0),
    }
    results = {}
    try:
        for proc in procs.values():
            line = proc.stdout.readline()
            assert line == "ready\n", (line, proc.stderr.read() if proc.poll() is not None else "")
        deeplake.configure(visibility_lag_s=1.0)  # both decided; neither has inserted
        for proc in procs.values():
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for user, proc in procs.items():
            out, err = proc.communicate(timeout=90)
            assert proc.returncode == 0, err
            results[user] = json.loads(out.strip().splitlines()[-1])
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    deeplake.configure(visibility_lag_s=0.0)
    assert (results["ann"]["status"], results["ann"]["version"]) == ("rolled_back", 3)
    assert results["ann"]["reason"] == "v2 -> v3 (body of v1) p=0.0061"
    assert (results["ben"]["status"], results["ben"]["version"]) == ("duplicate", 3)
    rows = [r for r in store.skill_rows("db-migrate", "alice") if r.scope != "proposal"]
    assert [r.version for r in rows] == [1, 2, 3, 3]
    v3 = counted(rows)[3]
    assert v3.id == results["ann"]["row"] and v3.body == V1
    assert publisher(v3).kind == "rollback" and v3.contributors[-2:] == ["ann", ROLLBACK]
    assert store.current_skill("db-migrate", "alice").id == v3.id
