"""The per-skill worker lease (skillopt/lease.py).

Rules under test (docs/skill-loop.md "Worker" step 1): one improver per skill on a machine;
a second taker fails while the lease is held; a lease older than 10 minutes is stale and
taken over, and so is one whose holder process on this host is dead; when processes race
for a lease exactly one wins.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from lakeloop.skillopt import lease as lease_mod
from lakeloop.skillopt.lease import SkillLease
from tests.support.repo import PLUGIN_SRC

REF = "db-migrate--alice"
T0 = 1_800_000_000.0


def clock(at: float):
    return lambda: at


def write_lease(path, **holder):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(holder))


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_after_is_ten_minutes():
    """The staleness bound is the reference's 10 minutes (far above the ~45 s poll)."""
    assert lease_mod.STALE_AFTER_S == 600.0


def test_second_acquire_fails_while_held():
    """While one holder has the lease, another taker fails and learns who holds it."""
    first = SkillLease(REF, clock=clock(T0))
    assert first.acquire() is True
    second = SkillLease(REF, clock=clock(T0 + 1))
    assert second.acquire() is False
    assert second.acquired is False and second.taken_over is False
    assert second.holder["pid"] == os.getpid()
    assert second.holder["acquired_at"] == T0
    assert second.holder["host"] == socket.gethostname()


def test_release_lets_the_next_taker_in():
    """Released, the lease file is gone and the next taker wins without a takeover."""
    first = SkillLease(REF, clock=clock(T0))
    first.acquire()
    first.release()
    assert not first.path.exists()
    second = SkillLease(REF, clock=clock(T0 + 1))
    assert second.acquire() is True
    assert second.taken_over is False


def test_context_manager_releases_even_on_error():
    """Leaving the ``with`` block, even by an exception, releases the lease."""
    with pytest.raises(RuntimeError):
        with SkillLease(REF) as held:
            assert held.acquired
            raise RuntimeError("worker crashed")
    assert SkillLease(REF).acquire() is True


def test_leases_are_per_skill():
    """Holding one skill's lease does not block another skill's improver."""
    assert SkillLease(REF).acquire()
    assert SkillLease("deploy--bob").acquire()


def test_lease_file_is_named_by_hash_not_by_ref():
    """A hostile ref never becomes a path: the lease lives in the locks dir under a hash."""
    held = SkillLease("../../etc/passwd")
    held.acquire()
    from lakeloop import paths

    assert held.path.parent == paths.locks_dir()
    assert held.path.name.endswith(".lease") and "passwd" not in held.path.name


@pytest.mark.parametrize("age, taken", [(599.0, False), (600.0, False), (600.5, True), (3600.0, True)])
def test_stale_lease_is_taken_over(age, taken):
    """A lease older than 600 s (injected clock) is stale: the next taker replaces it."""
    SkillLease(REF, clock=clock(T0)).acquire()
    later = SkillLease(REF, clock=clock(T0 + age))
    assert later.acquire() is taken
    assert later.taken_over is taken
    if taken:
        assert later.holder["acquired_at"] == T0  # whom it took over from
        assert json.loads(later.path.read_text())["acquired_at"] == T0 + age


def test_lease_of_a_dead_process_on_this_host_is_taken_over():
    """A fresh lease whose holder pid on this host no longer runs is taken over at once."""
    path = SkillLease(REF).path
    pid = dead_pid()
    write_lease(path, pid=pid, host=socket.gethostname(), acquired_at=T0)
    taker = SkillLease(REF, clock=clock(T0 + 1))
    assert taker.acquire() is True
    assert taker.taken_over is True
    assert taker.holder["pid"] == pid
    assert json.loads(path.read_text())["pid"] == os.getpid()


def test_lease_of_a_live_process_is_respected():
    """A fresh lease whose holder on this host is alive blocks the taker."""
    path = SkillLease(REF).path
    write_lease(path, pid=os.getppid(), host=socket.gethostname(), acquired_at=T0)
    assert SkillLease(REF, clock=clock(T0 + 1)).acquire() is False


def test_lease_of_a_dead_pid_on_another_host_is_respected_until_stale():
    """On another host the pid means nothing here: only age can free the lease."""
    path = SkillLease(REF).path
    write_lease(path, pid=dead_pid(), host="some-other-host", acquired_at=T0)
    assert SkillLease(REF, clock=clock(T0 + 10)).acquire() is False
    assert SkillLease(REF, clock=clock(T0 + 601)).acquire() is True


@pytest.mark.parametrize("content", ["", "{not json", '{"pid": 1, "acquired_at": "yesterday"}'])
def test_unreadable_lease_does_not_block_forever(content):
    """A garbled lease file (or one with a bad date) cannot wedge the skill."""
    path = SkillLease(REF).path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    assert SkillLease(REF).acquire() is True


def test_release_leaves_a_lease_that_is_no_longer_ours():
    """After a takeover by another process, the old holder's release does not delete the new lease."""
    mine = SkillLease(REF, clock=clock(T0))
    mine.acquire()
    write_lease(mine.path, pid=os.getppid(), host=socket.gethostname(), acquired_at=T0 + 700)
    mine.release()
    assert json.loads(mine.path.read_text())["pid"] == os.getppid()
    assert mine.acquired is False


_RACER = """
import sys
sys.path.insert(0, sys.argv[1])
from lakeloop.skillopt.lease import SkillLease
lease = SkillLease(sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()              # go
print("won" if lease.acquire() else "lost", flush=True)
sys.stdin.readline()              # hold the lease until every racer has tried
lease.release()
"""


def test_racing_processes_exactly_one_wins():
    """Six processes try to take the same lease at the same moment: exactly one wins."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(PLUGIN_SRC), REF],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        results = [p.stdout.readline().strip() for p in procs]
        assert sorted(results) == ["lost"] * 5 + ["won"]
    finally:
        for p in procs:
            try:
                p.stdin.write("done\n")
                p.stdin.close()
            except OSError:
                pass
        for p in procs:
            assert p.wait(timeout=30) == 0, p.stderr.read()
            p.stdout.close()
            p.stderr.close()
    assert not SkillLease(REF).path.exists()  # the winner released it
