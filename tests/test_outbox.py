"""The outbox: raw spooling, claims, and the drainer's behaviour when the store fails."""

from __future__ import annotations

import json
import logging
import os

import pytest

from conftest import first_payload
from lakeloop import outbox, paths
from lakeloop.errors import PaymentRequired, TransientError
from lakeloop.store.embedded import EmbeddedStore

LOG = logging.getLogger("lakeloop-tests")


class FlakyStore:
    """The real embedded store whose first ``fail`` inserts raise ``error``."""

    def __init__(self, error, fail: int):
        self.inner = EmbeddedStore(paths.store_file())
        self.error, self.fail, self.calls = error, fail, 0

    def append_session_row(self, row):
        self.calls += 1
        if self.calls <= self.fail:
            raise self.error
        self.inner.append_session_row(row)

    def close(self):
        self.inner.close()


@pytest.fixture
def flaky(monkeypatch):
    def install(error, fail):
        store = FlakyStore(error, fail)
        monkeypatch.setattr("lakeloop.store.open_store", lambda: store)
        return store
    return install


def _rows() -> int:
    return len(EmbeddedStore(paths.store_file())._run("SELECT id FROM sessions"))


def test_raw_entry_names_carry_time_and_event():
    """An entry is the payload's bytes as received, named <ns>-<pid>-<rand>-<Event>.json."""
    data = json.dumps(first_payload("Stop")).encode()
    path = outbox.put_raw("Stop", data, received_at_ns=1_795_000_000_123_456_789)
    name = os.path.basename(path)
    assert open(path, "rb").read() == data
    assert outbox.parse_name(name) == (1_795_000_000_123_456_789, "Stop")
    assert outbox.pending() == [name]


def test_transient_failure_is_retried_by_the_same_drainer(flaky):
    """A transient store failure puts the entry back and the drainer tries again after a pause."""
    store = flaky(TransientError("Deeplake is temporarily failing", 503), fail=2)
    outbox.put_raw("Stop", json.dumps(first_payload("Stop")).encode())
    pauses = []
    assert outbox.drain(LOG, sleep=pauses.append) == 1
    assert pauses == list(outbox.DRAIN_BACKOFF_S[:2]) and store.calls == 3
    assert outbox.pending() == [] and _rows() == 1


def test_permanent_failure_stops_and_keeps_the_entry(flaky):
    """A 402 (permanent) keeps the entry for a later drain without pausing or retrying."""
    flaky(PaymentRequired("out of credits", 402), fail=99)
    outbox.put_raw("Stop", json.dumps(first_payload("Stop")).encode())
    pauses = []
    assert outbox.drain(LOG, sleep=pauses.append) == 0
    assert pauses == [] and len(outbox.pending()) == 1 and outbox.pending()[0].endswith("-Stop.json")


def test_entries_are_stored_oldest_first_with_their_receipt_time(flaky):
    """Rows keep the time the hook received the event, whatever the drain order."""
    flaky(None, fail=0)
    outbox.put_raw("Stop", json.dumps(first_payload("Stop")).encode(), received_at_ns=2_000_000_000_000_000_000)
    outbox.put_raw("UserPromptSubmit", json.dumps(first_payload("UserPromptSubmit")).encode(),
                   received_at_ns=1_999_999_999_000_000_000)
    assert outbox.drain(LOG) == 2
    store = EmbeddedStore(paths.store_file())
    dates = [r[0] for r in store._run("SELECT creation_date FROM sessions ORDER BY rowid")]
    assert dates == ["2033-05-18T03:33:19.000000Z", "2033-05-18T03:33:20.000000Z"]


def test_claim_of_a_dead_drainer_is_released():
    """An entry claimed by a drainer that died goes back to the outbox and is stored."""
    path = outbox.put_raw("Stop", json.dumps(first_payload("Stop")).encode())
    dead = 2 ** 22 + 12345  # above pid_max defaults: no such process
    os.rename(path, f"{path}.{dead}.work")
    assert outbox.drain(LOG) == 1
    assert outbox.pending() == [] and _rows() == 1


def test_failed_reaction_does_not_cost_the_capture(flaky, monkeypatch):
    """If starting the worker fails (say, the jobs dir is unwritable) the prompt is still stored."""
    from lakeloop.skillopt import pending

    flaky(None, fail=0)
    pending.arm("e8f2d602-bc51-4170-b4d4-df65e830a9f4", "db-migrate--alice", "toolu_1", 3, 1)

    def broken(job, log):
        raise OSError("No space left on device")

    monkeypatch.setattr("lakeloop.skillopt.launch.start_worker", broken)
    outbox.put_raw("UserPromptSubmit", json.dumps(first_payload("UserPromptSubmit")).encode())
    assert outbox.drain(LOG) == 1
    assert _rows() == 1 and outbox.pending() == []
