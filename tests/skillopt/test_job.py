"""The skill optimizer as a job kind, in process: ``lakeloop.skillopt.job`` (the kind's limits, its
reaction key, the store wait as ``RetryLater``, the per-skill lease, the adoption of job files an
older lakeloop left). The same run through the real job runner is tests/skillopt/test_worker_processes.py."""

from __future__ import annotations

import json
import logging
import os
import socket
import time

import pytest

from lakeloop import paths
from lakeloop.errors import AuthError, PaymentRequired, StoreUnavailable, TransientError
from lakeloop.jobs import JobFailed, RetryLater
from lakeloop.jobs.kinds import Context
from lakeloop.skillopt import job as J

LOG = logging.getLogger("lakeloop-tests")
REF = "db-migrate--alice"
SID = "e8f2d602-bc51-4170-b4d4-df65e830a9f4"


def _ctx(key: str = "reaction:e1") -> Context:
    return Context(job_id=1, key=key, attempt=1, max_attempts=1, log=LOG, deadline=time.time() + 900)


def _payload(**extra) -> dict:
    return {
        "session_id": SID,
        "skill": REF,
        "reaction": "that's wrong, the migration failed",
        "tool_use_id": "toolu_0001_Skill",
        "armed_version": 1,
        "user": "tester",
        "reacted_at": time.time(),
        **extra,
    }


def test_the_kind_has_one_attempt_and_a_900s_bound():
    """A reaction is never judged or published twice: one attempt; 900 s per run."""
    kind = J.kind()
    assert (kind.name, kind.max_attempts, kind.timeout_s) == ("skill-improve", 1, 900.0)
    from lakeloop.cli.job_kinds import kinds

    assert kinds()["skill-improve"].run is J.run


def test_reaction_key_is_the_event_id_or_a_fresh_one():
    """``reaction:<event id>`` (a replay gets the same key); without a usable event id a fresh key."""
    assert J.reaction_key("0a1b-2c") == "reaction:0a1b-2c"
    fresh = {J.reaction_key(None), J.reaction_key(""), J.reaction_key("../../x"), J.reaction_key("f" * 65)}
    assert len(fresh) == 4 and all(k.startswith("reaction:") and len(k) == len("reaction:") + 32 for k in fresh)


def test_store_probes_follow_the_pauses_within_480s_of_the_reaction():
    """Probes at 0, 5, 15, 35, 75, 135, 195, ... s after the reaction; none past 480 s; no wait
    without a reaction time."""
    t0 = 1_000_000.0
    assert J.next_probe_in(t0, t0) == 5.0
    assert J.next_probe_in(t0, t0 + 5.2) == pytest.approx(9.8)
    assert J.next_probe_in(t0, t0 + 4.5) == pytest.approx(10.5)  # 5 s is under MIN_RETRY_S away
    assert J.next_probe_in(t0, t0 + 100) == 35.0  # next at 135
    assert J.next_probe_in(t0, t0 + 420) == 15.0  # 435 is the last one
    assert J.next_probe_in(t0, t0 + 436) is None  # 495 would be past 480
    assert J.next_probe_in(t0, t0 - 50) == 5.0  # a clock ahead of ours counts as now
    assert J.next_probe_in(None, t0) is None
    probes, t = [0.0], 0.0
    while (after := J.next_probe_in(t0, t0 + t)) is not None:
        t += after
        probes.append(t)
    assert probes == [0, 5, 15, 35, 75, 135, 195, 255, 315, 375, 435]


class _Store:
    closed = 0

    def close(self):
        _Store.closed += 1


def _failing(exc):
    def open_store():
        raise exc

    return open_store


@pytest.mark.parametrize("exc", [StoreUnavailable("down"), TransientError("503", 503)])
def test_a_store_down_is_retried_later_not_waited_for(exc):
    """A store that is down or failing: ``RetryLater`` at the next probe time (no sleep in the
    process); past the wait, ``store_error``."""
    now = time.time()
    with pytest.raises(RetryLater) as caught:
        J.probe_store(_failing(exc), lambda s: None, now - 20, LOG, now)
    assert caught.value.after_s == pytest.approx(15.0)
    assert J.probe_store(_failing(exc), lambda s: None, now - 470, LOG, now) is None


@pytest.mark.parametrize("exc", [PaymentRequired("402", 402), AuthError("401", 401)])
def test_402_and_bad_credentials_end_at_once(exc):
    """Out of credits or bad credentials: no wait, outcome store_error."""
    now = time.time()
    assert J.probe_store(_failing(exc), lambda s: None, now, LOG, now) is None


def test_a_failing_probe_closes_the_store_and_a_good_one_returns_it():
    """The probe runs on the opened store; a failing probe closes it."""
    now = time.time()
    store = _Store()
    assert J.probe_store(lambda: store, lambda s: None, now, LOG, now) is store
    before = _Store.closed

    def probe(s):
        raise TransientError("503", 503)

    with pytest.raises(RetryLater):
        J.probe_store(lambda: _Store(), probe, now, LOG, now)
    assert _Store.closed == before + 1


@pytest.mark.parametrize(
    "payload", [{}, {"session_id": SID, "skill": REF}, {"session_id": 3, "skill": REF, "reaction": ""}]
)
def test_a_payload_that_is_not_a_job_fails_at_once(payload):
    """A bad payload is ``JobFailed`` (no retry, no store, no model)."""
    with pytest.raises(JobFailed, match="not a skill-improve job"):
        J.run(payload, _ctx())


def test_a_live_lease_makes_the_job_done_locked(caplog):
    """Another live improver holds the skill's lease: outcome ``locked``, nothing else done."""
    from lakeloop.skillopt.lease import SkillLease

    caplog.set_level(logging.INFO)
    lease = SkillLease(REF)
    lease.path.parent.mkdir(parents=True, exist_ok=True)
    lease.path.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "acquired_at": time.time()}))
    assert J.run(_payload(), _ctx()) == "locked"
    assert "worker outcome=locked" in caplog.text


def test_the_store_wait_releases_the_lease(monkeypatch):
    """While the store is down the job is queued again: it holds no lease meanwhile."""
    from lakeloop.skillopt.lease import SkillLease

    monkeypatch.setattr("lakeloop.store.open_store", _failing(StoreUnavailable("down")))
    with pytest.raises(RetryLater):
        J.run(_payload(), _ctx())
    with SkillLease(REF) as lease:
        assert lease.acquired and not lease.taken_over


def test_the_store_wait_counts_from_the_reaction_not_from_the_run(monkeypatch, caplog):
    """A reaction received 10 minutes ago meets a store that is down: no more waiting."""
    caplog.set_level(logging.INFO)
    monkeypatch.setattr("lakeloop.store.open_store", _failing(StoreUnavailable("down")))
    assert J.run(_payload(reacted_at=time.time() - 600), _ctx()) == "store_error"
    assert "worker outcome=store_error" in caplog.text


# -- job files of an older lakeloop -------------------------------------------------------------


def _leftover(name: str, payload: dict | None = None, age_s: float = 3600) -> os.PathLike:
    path = paths.jobs_dir() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_payload(created_at=time.time() - age_s) if payload is None else payload))
    os.utime(path, (time.time() - age_s, time.time() - age_s))
    return path


@pytest.fixture
def submitted(monkeypatch):
    """``jobs.submit`` recorded, with the queue's rule for a key seen before (``exists``)."""
    seen: dict[tuple[str, str], dict] = {}

    def submit(kind, key, payload, *, log, merge=None, delay_s=0.0):
        if (kind, key) in seen:
            return "exists"
        seen[(kind, key)] = payload
        return "new"

    monkeypatch.setattr("lakeloop.jobs.submit", submit, raising=False)
    return seen


def test_leftover_job_files_become_jobs_with_their_reaction_key(submitted):
    """``reaction-<event id>.json`` becomes job ``reaction:<event id>``; a file without an event id
    gets a key fixed by its name (both adopters agree); each file is deleted once adopted."""
    a = _leftover("reaction-0a1b2c3d-0001.json")
    b = _leftover("1760000000-abcdef123456.json")
    assert J.adopt_leftovers(LOG) == 2
    assert sorted(k for _, k in submitted) == ["reaction:0a1b2c3d-0001", "reaction:file-1760000000-abcdef123456"]
    assert not os.path.exists(a) and not os.path.exists(b)
    assert all(p["skill"] == REF for p in submitted.values())


def test_a_leftover_adopted_twice_is_one_job(submitted):
    """The same file seen by ``lakeloop worker FILE`` and by a drainer: one job (``exists``)."""
    path = _leftover("reaction-0a1b2c3d-0002.json")
    payload = path.read_text()
    assert J.adopt_file(path, LOG) == "new"
    path.write_text(payload)
    assert J.adopt_file(path, LOG) == "exists"
    assert len(submitted) == 1 and not path.exists()


def test_young_files_are_left_to_their_worker_and_bad_ones_are_removed(submitted, caplog):
    """A file younger than a minute is its worker's; a file that is not a job is deleted, logged,
    and does not stop the others."""
    young = _leftover("reaction-0a1b2c3d-0003.json", age_s=5)
    bad = _leftover("reaction-0a1b2c3d-0004.json", payload={"nope": 1})
    good = _leftover("reaction-0a1b2c3d-0005.json")
    assert J.adopt_leftovers(LOG) == 1
    assert young.exists() and not bad.exists() and not good.exists()
    assert list(submitted) == [("skill-improve", "reaction:0a1b2c3d-0005")]
    assert "not adopted" in caplog.text


def test_a_missing_jobs_dir_adopts_nothing(submitted):
    """No jobs directory (a fresh install): nothing, no error."""
    assert J.adopt_leftovers(LOG) == 0 and not submitted
