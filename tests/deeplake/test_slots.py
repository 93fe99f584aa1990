"""Slots: the per-process and machine-wide bounds on Deeplake requests in flight, with real file
locks, real threads and real processes.

Nothing here sleeps to synchronise: holders wait on threading.Event (or on their stdin, for
processes), and "a waiter is blocked" is observed through the Slots' injected ``sleep``, which
is only called after a full pass over the machine slots found every one of them busy.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import threading
import time
from contextlib import ExitStack

import pytest

from lakeloop.deeplake import slots as slots_mod
from lakeloop.deeplake.slots import Slots, default_slots
from lakeloop.errors import SlotTimeout, TransientError
from tests.support.repo import PLUGIN_SRC

WAIT = 10.0  # bound on every wait for a thread or process event (a hang fails instead of blocking)


class Occupancy:
    """Counts holders under a lock; remembers the peak and which machine slots are held."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.now = self.peak = self.entered = self.blocked = self.timeouts = 0
        self.indexes: set = set()
        self.index_clash = False

    def enter(self, index) -> None:
        with self.lock:
            if index is not None:
                self.index_clash |= index in self.indexes
                self.indexes.add(index)
            self.now += 1
            self.entered += 1
            self.peak = max(self.peak, self.now)
            self.changed.notify_all()

    def leave(self, index) -> None:
        with self.lock:
            self.indexes.discard(index)
            self.now -= 1
            self.changed.notify_all()

    def note(self, attr: str) -> None:
        with self.lock:
            setattr(self, attr, getattr(self, attr) + 1)
            self.changed.notify_all()

    def wait_for(self, predicate) -> None:
        with self.lock:
            assert self.changed.wait_for(lambda: predicate(self), timeout=WAIT), "timed out waiting"


def reporting_sleep(occupancy: Occupancy):
    """A Slots sleep that reports "blocked" once per thread (the first time it has to poll)."""
    local = threading.local()

    def sleep(seconds: float) -> None:
        if not getattr(local, "reported", False):
            local.reported = True
            occupancy.note("blocked")
        time.sleep(seconds)  # the Slots' own poll interval, not test synchronisation

    return sleep


def holder(slots: Slots, occupancy: Occupancy, release: threading.Event):
    def run() -> None:
        try:
            with slots.hold() as index:
                occupancy.enter(index)
                try:
                    assert release.wait(WAIT)
                finally:
                    occupancy.leave(index)
        except SlotTimeout:
            occupancy.note("timeouts")

    return run


def start(targets) -> list[threading.Thread]:
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for t in threads:
        t.start()
    return threads


def join(threads) -> None:
    for t in threads:
        t.join(WAIT)
        assert not t.is_alive()


# -- per process -----------------------------------------------------------------------------------------


def test_per_process_bound_refuses_the_holder_beyond_it(tmp_path):
    """per_process=3, 8 threads all trying while the first holders keep their slots: exactly 3
    get in, the other 5 get SlotTimeout (wait_s=0), never more than 3 at once."""
    slots = Slots(tmp_path / "slots", per_process=3, machine=0, wait_s=0)
    occ, release = Occupancy(), threading.Event()
    threads = start([holder(slots, occ, release) for _ in range(8)])
    try:
        occ.wait_for(lambda o: o.entered + o.timeouts == 8)
        assert (occ.entered, occ.timeouts, occ.peak) == (3, 5, 3)
    finally:
        release.set()
        join(threads)
    assert occ.now == 0
    with slots.hold():  # everything was released
        pass


def test_per_process_waiters_get_in_as_slots_free(tmp_path):
    """per_process=3 with a generous wait: 8 threads all eventually hold a slot, the 5 extra ones
    only after holders leave, and never more than 3 hold at once."""
    slots = Slots(tmp_path / "slots", per_process=3, machine=0, wait_s=WAIT)
    occ, release = Occupancy(), threading.Event()
    threads = start([holder(slots, occ, release) for _ in range(8)])
    try:
        occ.wait_for(lambda o: o.entered == 3)
        with pytest.raises(SlotTimeout):  # the bound is reached: nobody else gets in now
            with _zero_wait(slots).hold():
                pass
        assert occ.entered == 3
    finally:
        release.set()
        join(threads)
    assert (occ.entered, occ.timeouts, occ.peak, occ.now) == (8, 0, 3, 0)


def _zero_wait(slots: Slots) -> Slots:
    """The same Slots (same semaphore) seen with wait_s=0, to probe it without blocking."""
    probe = Slots(slots.directory, per_process=slots.per_process, machine=slots.machine, wait_s=0)
    probe._semaphore = slots._semaphore
    return probe


def test_per_process_bound_is_at_least_one(tmp_path):
    """per_process <= 0 is taken as 1: one holder at a time."""
    slots = Slots(tmp_path / "slots", per_process=0, machine=0, wait_s=0)
    with slots.hold():
        with pytest.raises(SlotTimeout):
            with slots.hold():
                pass
    with slots.hold():
        pass


# -- machine wide ----------------------------------------------------------------------------------------


def test_machine_bound_across_two_slots_objects(tmp_path):
    """Two Slots on one directory (two processes) with machine=3 and a roomy per-process bound:
    of 10 threads (5 on each), exactly 3 hold at once, each on a different slot file; the other
    7 have polled and found every slot busy; once released, all 10 get through, peak 3."""
    occ, release = Occupancy(), threading.Event()
    sleep = reporting_sleep(occ)
    a = Slots(tmp_path / "slots", per_process=5, machine=3, wait_s=WAIT, sleep=sleep)
    b = Slots(tmp_path / "slots", per_process=5, machine=3, wait_s=WAIT, sleep=sleep)
    threads = start([holder(s, occ, release) for s in (a, b) for _ in range(5)])
    try:
        occ.wait_for(lambda o: o.entered == 3 and o.blocked == 7)
        assert occ.entered == 3 and occ.now == 3 and occ.indexes <= {0, 1, 2}
    finally:
        release.set()
        join(threads)
    assert (occ.entered, occ.peak, occ.timeouts, occ.now) == (10, 3, 0, 0)
    assert not occ.index_clash
    assert sorted(p.name for p in (tmp_path / "slots").iterdir()) == ["slot-0.lock", "slot-1.lock", "slot-2.lock"]


def test_machine_bound_refuses_with_zero_wait(tmp_path):
    """machine=2, two holders (one per Slots object): a third attempt from either object raises
    SlotTimeout at once; after one leaves, a new attempt gets the freed slot index."""
    a = Slots(tmp_path / "slots", per_process=5, machine=2, wait_s=0)
    b = Slots(tmp_path / "slots", per_process=5, machine=2, wait_s=0)
    with ExitStack() as stack:
        first = stack.enter_context(a.hold())
        second_cm = b.hold()
        second = second_cm.__enter__()
        assert {first, second} == {0, 1}
        for s in (a, b):
            with pytest.raises(SlotTimeout) as info:
                with s.hold():
                    pass
            assert isinstance(info.value, TransientError)
        second_cm.__exit__(None, None, None)
        with a.hold() as third:
            assert third == second


def test_slot_timeout_is_raised_after_wait_s_on_the_injected_clock(tmp_path):
    """All machine slots busy: hold() polls every POLL_S on the injected clock and raises
    SlotTimeout once wait_s has passed on that clock, not before."""
    clock = [100.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    busy = Slots(tmp_path / "slots", machine=2, wait_s=0)
    slots = Slots(tmp_path / "slots", machine=2, wait_s=1.0, clock=lambda: clock[0], sleep=sleep)
    with busy.hold(), busy.hold():
        with pytest.raises(SlotTimeout):
            with slots.hold():
                pass
    assert set(sleeps) == {slots_mod.POLL_S}
    waited = clock[0] - 100.0
    assert 1.0 <= waited < 1.0 + slots_mod.POLL_S + 1e-9
    assert len(sleeps) == pytest.approx(1.0 / slots_mod.POLL_S, abs=1)


def test_a_slot_freed_before_wait_s_is_taken(tmp_path):
    """A slot released while waiting (at 0.5 s of a 1 s wait, injected clock) is taken: no timeout."""
    clock = [0.0]
    stack = ExitStack()

    def sleep(seconds: float) -> None:
        clock[0] += seconds
        if clock[0] >= 0.5:
            stack.close()  # the other holder leaves

    busy = Slots(tmp_path / "slots", machine=1, wait_s=0)
    slots = Slots(tmp_path / "slots", machine=1, wait_s=1.0, clock=lambda: clock[0], sleep=sleep)
    stack.enter_context(busy.hold())
    with slots.hold() as index:
        assert index == 0
    assert 0.5 <= clock[0] < 0.5 + 2 * slots_mod.POLL_S


@pytest.mark.parametrize("machine", [0, -1])
def test_machine_bound_of_zero_disables_it(tmp_path, machine):
    """machine <= 0: no lock files at all; two Slots on one directory hold 5 each at once
    (only the per-process bound applies) and yield no slot index."""
    a = Slots(tmp_path / "slots", per_process=5, machine=machine, wait_s=0)
    b = Slots(tmp_path / "slots", per_process=5, machine=machine, wait_s=0)
    with ExitStack() as stack:
        indexes = [stack.enter_context(s.hold()) for s in (a, b) for _ in range(5)]
        assert indexes == [None] * 10
        with pytest.raises(SlotTimeout):  # the per-process bound still holds
            with a.hold():
                pass
    assert not (tmp_path / "slots").exists()


def test_slots_are_released_when_the_body_raises(tmp_path):
    """An exception in the body releases both the per-process and the machine slot."""
    slots = Slots(tmp_path / "slots", per_process=1, machine=1, wait_s=0)
    with pytest.raises(RuntimeError):
        with slots.hold():
            raise RuntimeError("request failed")
    with slots.hold() as index:
        assert index == 0


def test_default_slots_follow_the_settings(monkeypatch, isolated_env):
    """default_slots: under <data dir>/slots with the LAKELOOP_DEEPLAKE_* bounds (defaults 5, 8, 5 s)."""
    slots = default_slots()
    assert (slots.directory, slots.per_process, slots.machine, slots.wait_s) == (
        isolated_env["LAKELOOP_DATA_DIR"] / "slots",
        5,
        8,
        5.0,
    )
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_MAX_IN_FLIGHT", "2")
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_MACHINE_MAX_IN_FLIGHT", "0")
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_SLOT_WAIT_S", "1.5")
    slots = default_slots()
    assert (slots.per_process, slots.machine, slots.wait_s) == (2, 0, 1.5)


# -- real processes ------------------------------------------------------------------------------------------

CHILD = r"""
import os, sys, time
from pathlib import Path
from lakeloop.deeplake.slots import Slots

name, directory, machine, journal = sys.argv[1:]
reported = []

def sleep(seconds):
    if not reported:                     # every machine slot was busy on a full pass
        reported.append(1)
        print("blocked", flush=True)
    time.sleep(seconds)

def record(line):
    fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)

slots = Slots(Path(directory), per_process=1, machine=int(machine), wait_s=60, sleep=sleep)
with slots.hold() as index:
    record(f"enter {name} {index}")
    print("entered", flush=True)
    sys.stdin.readline()                 # hold the slot until the test says so
    record(f"exit {name} {index}")
print("done", flush=True)
"""


def test_machine_bound_holds_across_real_processes(tmp_path):
    """6 processes, machine=2: each holds its slot until released through its stdin and journals
    enter/exit (O_APPEND, inside the slot). Exactly 2 enter first while the 4 others report having
    found every slot busy; after release all 6 get through, and replaying the journal shows never
    more than 2 inside at once and never two on the same slot file."""
    n, machine = 6, 2
    journal = tmp_path / "journal.txt"
    env = dict(os.environ, PYTHONPATH=str(PLUGIN_SRC))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, f"p{i}", str(tmp_path / "slots"), str(machine), str(journal)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(n)
    ]
    try:
        first = first_words(procs)
        assert sorted(first.values()) == ["blocked"] * (n - machine) + ["entered"] * machine
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            assert out.split()[-1] == "done"
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    inside: dict[str, str] = {}
    peak = 0
    entries = 0
    for line in journal.read_text().splitlines():
        event, name, index = line.split()
        if event == "enter":
            assert name not in inside and index not in inside.values(), line
            inside[name] = index
            entries += 1
            peak = max(peak, len(inside))
        else:
            assert inside.pop(name) == index, line
    assert entries == n and inside == {} and peak == machine


def first_words(procs) -> dict[int, str]:
    """The first line each process prints ("entered" or "blocked"), waiting without polling."""
    sel = selectors.DefaultSelector()
    for i, proc in enumerate(procs):
        sel.register(proc.stdout, selectors.EVENT_READ, i)
    words: dict[int, str] = {}
    deadline = time.monotonic() + 60
    while len(words) < len(procs):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"only got {words} from the processes"
        for key, _ in sel.select(remaining):
            i = key.data
            line = procs[i].stdout.readline()
            assert line, procs[i].stderr.read()
            words[i] = line.strip()
            sel.unregister(procs[i].stdout)
    sel.close()
    return words
