"""``lakeloop status``'s ``summaries`` key: today's summary runs on this machine (UTC day), the
characters sent to the model and the failures, read from the local ledger the ``summarize`` job
writes (``summaries.state``); all zero before any run, without creating the jobs database."""

from __future__ import annotations

import json
import os
import time

from lakeloop import paths
from lakeloop.cli.main import main
from lakeloop.summaries.state import State


def _status(capsys) -> dict:
    assert main(["status", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_summaries_are_zero_before_any_run_and_nothing_is_created(capsys):
    assert _status(capsys)["summaries"] == {"enabled": True, "today": 0, "chars_sent": 0, "failed": 0}
    assert not os.path.exists(paths.jobs_db())
    assert main(["status"]) == 0
    assert "summaries:    0 today, 0 characters sent to the model, 0 failed" in capsys.readouterr().out


def test_summaries_count_todays_runs_characters_and_failures(capsys, monkeypatch):
    now = time.time()
    state = State.open()
    try:
        for sid, ok, sent, at in (
            ("s1", True, 12_000, now),
            ("s2", False, 3_000, now),
            ("s3", True, 500, now - 2 * 86_400),  # another day: not counted
        ):
            state.record_run(
                sid, ok=ok, chars_sent=sent, chars_received=900, model_ms=4_000, reason="" if ok else "rejected", now=at
            )
    finally:
        state.close()
    assert _status(capsys)["summaries"] == {"enabled": True, "today": 2, "chars_sent": 15_000, "failed": 1}
    monkeypatch.setenv("LAKELOOP_SUMMARIES", "0")
    assert main(["status"]) == 0
    assert (
        "summaries:    2 today, 15,000 characters sent to the model, 1 failed  (off: LAKELOOP_SUMMARIES=0)"
        in capsys.readouterr().out
    )


def test_an_unreadable_jobs_database_is_reported_not_raised(capsys):
    os.makedirs(paths.jobs_db())  # a directory where the database file should be
    got = _status(capsys)["summaries"]
    assert (got["today"], got["chars_sent"], got["failed"]) == (0, 0, 0) and got["error"]
    assert main(["status"]) == 0
    assert "summaries:    cannot read the local job database:" in capsys.readouterr().out
