"""``Handlers.stored``: the drainer tells the layer above which rows a batch stored (capture wires it to
the summary trigger), once per stored batch, and a failing handler never loses or repeats an entry."""

from __future__ import annotations

import json

from lakeloop import outbox
from lakeloop.capture import drain as capture
from lakeloop.errors import StoreUnavailable, TransientError
from lakeloop.outbox import spool
from lakeloop.outbox.drainer import Drainer
from tests.support.outbox import LOG, Recorder, stop_payload, stored_rows


def _spool_stops(n: int, session: str = "s-1") -> None:
    for i in range(n):
        spool.put_raw("Stop", json.dumps(stop_payload(f"answer {i}", session)).encode())


def _drainer(rec: Recorder, stored, **kw) -> Drainer:
    handlers = rec.handlers()
    handlers.stored = stored
    return Drainer(handlers, LOG, linger_s=0.0, sleep=lambda s: None, **kw)


def test_stored_is_told_each_accepted_row_once():
    """A batch that fails (transient) is not reported; its retry that succeeds is, once."""
    _spool_stops(3)
    told: list[list[str]] = []
    rec = Recorder(store_errors=[TransientError("503", 503)])
    result = _drainer(rec, lambda rows: told.append([r.id for r in rows]), pauses=(0.0,)).run()
    assert result.stored == 3 and [c[0] for c in rec.calls] == ["store", "store"]
    assert len(told) == 1 and sorted(told[0]) == sorted(r[0] for r in stored_rows())


def test_nothing_is_told_when_the_store_is_down():
    """No batch stored: the handler is not called, the entries wait."""
    _spool_stops(2)
    told: list = []
    rec = Recorder(store_errors=[StoreUnavailable("down")])
    _drainer(rec, told.append).run()
    assert told == [] and len(outbox.pending()) == 2


def test_a_failing_handler_loses_and_repeats_nothing(caplog):
    """The handler raises: the batch is still stored once, its entries deleted, the next drain
    sends nothing again; the failure is logged."""
    _spool_stops(3)

    def boom(rows):
        raise RuntimeError("trigger bug")

    rec = Recorder()
    result = _drainer(rec, boom).run()
    assert result.stored == 3 and outbox.pending() == [] and len(stored_rows()) == 3
    assert "stored-rows handler failed" in caplog.text
    again = Recorder()
    assert _drainer(again, boom).run().stored == 0 and again.calls == []
    assert len(stored_rows()) == 3


def test_capture_passes_each_rows_session_settings_to_the_summary_trigger(monkeypatch):
    """``capture.drain.handlers`` hands the stored rows to ``summaries.trigger.note_stored`` with
    the settings each row's session recorded, never the drainer's own environment."""
    calls = []
    monkeypatch.setattr(
        "lakeloop.summaries.trigger.note_stored", lambda rows, log, settings=None: calls.append((rows, settings))
    )
    monkeypatch.setenv("LAKELOOP_SUMMARIES", "0")
    _spool_stops(1, session="off")
    monkeypatch.setenv("LAKELOOP_SUMMARIES", "1")
    _spool_stops(1, session="on")
    monkeypatch.delenv("LAKELOOP_SUMMARIES")
    Drainer(capture.handlers(LOG), LOG, linger_s=0.0, sleep=lambda s: None).run()
    assert len(calls) == 1
    rows, settings = calls[0]
    by_session = {r.message["session_id"]: settings[r.id].get("LAKELOOP_SUMMARIES") for r in rows}
    assert by_session == {"off": "0", "on": "1"}
