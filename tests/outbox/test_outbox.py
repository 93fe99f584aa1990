"""The outbox: entry names and event ids, poison entries, exactly-once re-drains, the drain lock,
batching, reactions first and once, the size cap, pruning, and the layering rule.

Hook-level tests run ``hooks/run`` as real subprocesses; drainer-level tests run the real
``Drainer`` on the real embedded store with an injected clock and sleep.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lakeloop import outbox
from lakeloop.capture import drain as capture
from lakeloop.errors import OutcomeUnknown, PaymentRequired, PermanentError, StoreUnavailable, TransientError
from lakeloop.outbox import entries, lock, spool, usage
from tests.support.hooks import run_hook, run_quiet_hook
from tests.support.logs import log_text
from tests.support.outbox import Recorder, drainer, failed_names, stop_payload, stored_rows
from tests.support.payloads import first_payload
from tests.support.repo import PLUGIN_SRC
from tests.support.waiting import wait_until

LOG = logging.getLogger("lakeloop-tests")
SID = "e8f2d602-bc51-4170-b4d4-df65e830a9f4"


# -- names and ids -----------------------------------------------------------------------------


def test_entry_name_fixes_the_event_id():
    """An entry is the session's settings header then the payload's bytes as received, named
    <ns>-<pid>-<rand>-<Event>.json; its event id depends only on the stem, so a flag rename keeps it."""
    from lakeloop.outbox.spool import split_entry

    data = json.dumps(first_payload("Stop")).encode()
    path = spool.put_raw("Stop", data, received_at_ns=1_795_000_000_123_456_789)
    assert split_entry(open(path, "rb").read())[2] == data
    entry = entries.parse(outbox.outbox_dir(), os.path.basename(path))
    assert (entry.received_ns, entry.event, entry.flags) == (1_795_000_000_123_456_789, "Stop", "")
    before = entry.event_id
    assert entry.set_flags(add="u") and entry.name.endswith(".u.json") and entry.event_id == before
    assert entry.set_flags(add="r") and entry.name.endswith(".ru.json")
    assert entries.parse(outbox.outbox_dir(), entry.name).event_id == before
    other = entries.parse(outbox.outbox_dir(), os.path.basename(spool.put_raw("Stop", data)))
    assert other.event_id != before


def test_row_and_message_ids_are_the_event_id():
    """The stored row's id and its message's id are the entry's event id."""
    path = spool.put_raw("Stop", json.dumps(stop_payload("hello")).encode())
    eid = entries.parse(outbox.outbox_dir(), os.path.basename(path)).event_id
    drainer(Recorder()).run()
    ((row_id, message),) = stored_rows()
    assert row_id == eid and json.loads(message)["id"] == eid


# -- poison entries ----------------------------------------------------------------------------


def test_deeply_nested_payload_does_not_stop_capture():
    """A PostToolUse whose tool_input is 1,500 nested arrays, then ordinary events, all through
    hooks/run: every ordinary event is stored, the poison entry is in failed/ with one log line."""
    poison = first_payload("PostToolUse", "Bash")
    raw = json.dumps(poison).replace('"tool_input": {', '"tool_input": {"x": ' + "[" * 1500 + "]" * 1500 + ", ", 1)
    run_quiet_hook("PostToolUse", raw.encode())
    for i in range(9):
        run_quiet_hook("Stop", stop_payload(f"ordinary {i}"))
    wait_until(lambda: not outbox.pending(), 30, "the outbox to drain")
    texts = sorted(json.loads(m)["content"] for _, m in stored_rows())
    assert texts == [f"ordinary {i}" for i in range(9)]
    (name,) = failed_names()
    assert name.endswith("-PostToolUse.json")
    assert log_text().count(f"moved {name}") == 1
    assert "nested deeper than 100" in log_text()


@pytest.mark.parametrize("error", [RecursionError("deep"), MemoryError(), KeyError("bug")])
def test_any_exception_on_one_entry_moves_it_aside_and_the_drain_goes_on(error, monkeypatch):
    """RecursionError, MemoryError or a bug while building one entry's row: that entry goes to
    failed/ with its cause, and the next one is stored."""
    spool.put_raw("Stop", json.dumps(stop_payload("poison")).encode(), received_at_ns=1)
    spool.put_raw("Stop", json.dumps(stop_payload("fine")).encode(), received_at_ns=2)
    rec = Recorder()
    real_rows = rec.real.rows

    def rows(payload, received, eid):
        if payload.get("last_assistant_message") == "poison":
            raise error
        return real_rows(payload, received, eid)

    rec.real.rows = rows
    result = drainer(rec).run()
    assert (result.stored, result.failed) == (1, 1)
    assert [json.loads(m)["content"] for _, m in stored_rows()] == ["fine"]
    assert len(failed_names()) == 1
    assert outbox.pending() == []


def test_a_row_the_store_refuses_is_set_aside_and_the_rest_stored():
    """A batch refused for a row-level reason (a PermanentError that is not 402/401/403) is split
    and sent entry by entry: only the refused entry goes to failed/."""
    for i in range(3):
        spool.put_raw("Stop", json.dumps(stop_payload(f"m{i}")).encode(), received_at_ns=i + 1)
    rec = Recorder(store_errors=[PermanentError("bad row", 400), None, PermanentError("bad row", 400), None])
    result = drainer(rec).run()
    assert (result.stored, result.failed) == (2, 1)
    assert [c[1] for c in rec.calls] == [["assistant_message"] * 3] + [["assistant_message"]] * 3
    assert sorted(json.loads(m)["content"] for _, m in stored_rows()) == ["m0", "m2"]


def test_a_name_that_is_not_an_entry_goes_to_failed():
    """A stray file in the outbox is moved aside, not retried forever."""
    os.makedirs(outbox.outbox_dir(), exist_ok=True)
    Path(outbox.outbox_dir(), "garbage.json").write_text("{}")
    drainer(Recorder()).run()
    assert failed_names() == ["garbage.json"]


# -- exactly once --------------------------------------------------------------------------------


def test_redrain_after_a_crash_between_insert_and_delete_stores_once():
    """A drainer that died after the insert but before deleting the entry: the entry is still
    marked u, the next drain sends it again, and the store keeps one row."""
    path = spool.put_raw("Stop", json.dumps(stop_payload("once")).encode())
    data = open(path, "rb").read()
    drainer(Recorder()).run()
    name = os.path.basename(path).replace(".json", ".u.json")
    Path(outbox.outbox_dir(), name).write_bytes(data)  # the entry as the crash left it
    rec = Recorder()
    drainer(rec).run()
    assert rec.calls == [("store", ["assistant_message"], True)]
    assert len(stored_rows()) == 1 and outbox.pending() == []


def test_outcome_unknown_keeps_entries_marked_for_a_lookup():
    """An insert whose outcome is unknown (applied, then 5xx): the entries stay marked u, and the next
    send says unsure (so Deeplake looks the ids up) and stores nothing twice."""
    for i in range(2):
        spool.put_raw("Stop", json.dumps(stop_payload(f"m{i}")).encode(), received_at_ns=i + 1)
    rec = Recorder(store_errors=[(OutcomeUnknown("500 after commit", 500),)])
    result = drainer(rec, pauses=(0.0,)).run()
    assert result.stored == 2
    assert [c[2] for c in rec.calls] == [False, True]
    assert len(stored_rows()) == 2


def test_known_failure_clears_the_in_flight_mark():
    """A failure known not to have applied anything (429 exhausted, 402) leaves the entry unmarked:
    no lookup is needed next time."""
    spool.put_raw("Stop", json.dumps(stop_payload("x")).encode())
    rec = Recorder(store_errors=[PaymentRequired("out of credits", 402)])
    result = drainer(rec).run()
    assert result.stored == 0 and result.gave_up
    (name,) = outbox.pending()
    assert entries.parse(outbox.outbox_dir(), name).flags == ""


def test_old_backlog_with_six_drainers_is_stored_exactly_once():
    """200 entries 20 minutes old, 6 drainers started 50 to 300 ms apart: exactly 200 rows, and no
    crash in the log (claims are the drain lock, never taken from a live drainer)."""
    old = time.time_ns() - 20 * 60 * 10**9
    for i in range(200):
        path = spool.put_raw("Stop", json.dumps(stop_payload(f"old {i}")).encode(), received_at_ns=old + i)
        os.utime(path, (old / 1e9, old / 1e9))
    code = (
        "import logging, sys\n"
        "from lakeloop.log import setup\n"
        "from lakeloop.capture.drain import drain\n"
        "r = drain(setup('drain'), linger_s=0.2)\n"
        "print('busy' if r is None else r.stored)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(PLUGIN_SRC)}
    procs = []
    for delay in (0.0, 0.05, 0.1, 0.15, 0.2, 0.3):
        target = time.monotonic() + delay
        while time.monotonic() < target:
            pass
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert len(stored_rows()) == 200
    assert len({m for _, m in stored_rows()}) == 200
    assert "Traceback" not in log_text() and "ERROR" not in log_text()
    assert sum(int(o) for o, _ in outs if o.strip() != "busy") == 200


# -- one drainer, batches, linger ----------------------------------------------------------------


def test_a_hook_that_finds_a_drainer_running_only_spools():
    """While another process holds the drain lock, capture hooks spool and return; the lock holder
    (here: the test, then a flush) stores everything."""
    fd = lock.try_lock(outbox.outbox_dir())
    assert fd is not None
    try:
        for i in range(5):
            run_quiet_hook("Stop", stop_payload(f"held {i}"))
        assert len(outbox.pending()) == 5 and stored_rows() == []
    finally:
        lock.unlock(fd)
    result = capture.drain(LOG)
    assert result.stored == 5 and result.batches == 1


def test_one_lingering_drainer_stores_a_stream_of_events_in_batches():
    """Back-to-back hooks start one drainer, which lingers and stores them all."""
    for i in range(12):
        run_quiet_hook("Stop", stop_payload(f"stream {i}"), LAKELOOP_DRAIN_LINGER_S="5")
    wait_until(lambda: len(stored_rows()) == 12, 30, "12 rows")
    pids = {line.split("pid=")[1].split()[0] for line in log_text().splitlines() if " captured " in line}
    assert len(pids) == 1, pids


def test_batches_are_bounded_by_count_and_bytes(monkeypatch):
    """A backlog larger than a batch is sent in several inserts, each within the bounds."""
    monkeypatch.setattr("lakeloop.outbox.drainer.BATCH_EVENTS", 7)
    for i in range(20):
        spool.put_raw("Stop", json.dumps(stop_payload(f"b{i}")).encode(), received_at_ns=i + 1)
    rec = Recorder()
    result = drainer(rec).run()
    assert result.stored == 20 and [len(c[1]) for c in rec.calls] == [7, 7, 6]
    monkeypatch.setattr("lakeloop.outbox.drainer.BATCH_BYTES", 1)
    for i in range(3):
        spool.put_raw("Stop", json.dumps(stop_payload(f"c{i}")).encode(), received_at_ns=100 + i)
    rec = Recorder()
    drainer(rec).run()
    assert [len(c[1]) for c in rec.calls] == [1, 1, 1]


def test_idle_drainer_watches_only_the_outbox():
    """A lingering drainer with nothing to do opens no store and sends nothing."""
    rec = Recorder()
    clock = iter(range(0, 10_000)).__next__
    drainer(rec, linger_s=3.0, clock=lambda: clock() * 0.01).run()
    assert rec.calls == []


# -- reactions -------------------------------------------------------------------------------------


def _arm():
    from lakeloop.skillopt import pending

    pending.arm(SID, "db-migrate--alice", "toolu_1", 3, 1)
    return pending


def test_reactions_run_before_older_backlog_and_while_the_store_is_down(monkeypatch):
    """Old capture backlog, then a prompt: the prompt's reaction runs first, even though the
    store is down; the capture entries wait."""
    monkeypatch.setattr("lakeloop.jobs.submit", lambda kind, key, payload, **kw: "new", raising=False)
    pending = _arm()
    for i in range(5):
        spool.put_raw("Stop", json.dumps(stop_payload(f"old {i}")).encode())
    prompt = first_payload("UserPromptSubmit")
    prompt["prompt"] = "that is wrong"
    spool.put_raw("UserPromptSubmit", json.dumps(prompt).encode())
    rec = Recorder(store_errors=[StoreUnavailable("down")])
    rec.calls.clear()
    drainer(rec).run()
    assert rec.calls[0][0] == "react" and rec.calls[0][1] == "that is wrong"
    assert pending.peek(SID)["budget"] == 2
    assert len(outbox.pending()) == 6 and stored_rows() == []
    assert any(n.endswith("-UserPromptSubmit.r.json") for n in outbox.pending())


def test_a_reaction_runs_once_when_its_store_write_fails_and_is_retried(monkeypatch):
    """The prompt's store write fails (transient), the entry is retried and stored: one reaction,
    one unit of budget, one worker job."""
    jobs = []
    monkeypatch.setattr(
        "lakeloop.jobs.submit", lambda kind, key, payload, **kw: jobs.append(key) or "new", raising=False
    )
    pending = _arm()
    prompt = first_payload("UserPromptSubmit")
    prompt["prompt"] = "no, that broke it"
    spool.put_raw("UserPromptSubmit", json.dumps(prompt).encode())
    rec = Recorder(store_errors=[TransientError("503", 503)])
    result = drainer(rec, pauses=(0.0,)).run()
    assert result.stored == 1 and result.reacted == 1
    assert [c[0] for c in rec.calls] == ["react", "store", "store"]
    assert pending.peek(SID)["budget"] == 2 and len(jobs) == 1
    # A replay of the same event (a crash before the r mark) spends nothing and starts nothing.
    from lakeloop.capture.react import react

    assert react(prompt, LOG, time.time_ns(), rec.calls[0][2]) is None
    assert pending.peek(SID)["budget"] == 2 and len(jobs) == 1


def test_reaction_cap_is_applied_on_the_hook_path(monkeypatch):
    """Through hooks/run: a 20,000-character reaction reaches the worker's job capped at 8000."""
    monkeypatch.setenv("LAKELOOP_CLAUDE_BIN", "/nonexistent/claude")
    monkeypatch.setenv("LAKELOOP_INVOCATION_BACKOFF_S", "0")
    _arm()
    prompt = first_payload("UserPromptSubmit")
    prompt["prompt"] = "x" * 20_000
    run_quiet_hook("UserPromptSubmit", prompt)
    wait_until(lambda: "worker outcome=" in log_text(), 30, "the worker")
    assert "reaction_chars=8000 " in log_text(), log_text()[-2000:]


# -- bounds -----------------------------------------------------------------------------------------


def test_outbox_cap_drops_new_events_counts_them_and_tells_the_user(monkeypatch):
    """Past LAKELOOP_OUTBOX_MAX_MB, capture hooks drop new events with a counted log line and one
    notice; prompts are still spooled (their reactions need them)."""
    monkeypatch.setenv("LAKELOOP_OUTBOX_MAX_MB", "1")
    os.makedirs(outbox.outbox_dir(), exist_ok=True)
    big = json.dumps(stop_payload("y" * (1100 * 1024))).encode()
    spool.put_raw("Stop", big)
    assert usage.refresh(1 << 20) > 1 << 20
    fd = lock.try_lock(outbox.outbox_dir())  # no drainer: the test looks at the outbox as it is
    try:
        run_quiet_hook("Stop", stop_payload("dropped 1"))
        run_quiet_hook("PostToolUse", first_payload("PostToolUse", "Bash"))
        run_quiet_hook("UserPromptSubmit", first_payload("UserPromptSubmit"))
    finally:
        lock.unlock(fd)
    names = outbox.pending()
    assert len(names) == 2 and names[-1].endswith("-UserPromptSubmit.json")
    status = usage.status()
    assert status["dropped"] == 2 and status["full"] and status["pending"] == 2
    assert "outbox full (cap 1 MiB, LAKELOOP_OUTBOX_MAX_MB): Stop event dropped, 1 dropped so far" in log_text()
    from lakeloop import notices

    texts = notices.take()
    assert len(texts) == 1 and "size cap" in texts[0]


def test_failed_entries_older_than_7_days_are_pruned():
    """failed/ keeps an entry for 7 days after it failed."""
    d = Path(outbox.outbox_dir(), "failed")
    d.mkdir(parents=True)
    old, new = d / "old.json", d / "new.json"
    old.write_text("x")
    new.write_text("y")
    eight_days = time.time() - 8 * 86400
    os.utime(old, (eight_days, eight_days))
    assert usage.prune_failed(LOG) == 1
    assert failed_names() == ["new.json"]


def test_status_reports_the_outbox():
    """``usage.status`` (lakeloop status --json, key outbox) counts waiting and failed entries."""
    entry = spool.put_raw("Stop", b"{}", received_at_ns=time.time_ns() - 90 * 10**9)
    d = Path(outbox.outbox_dir(), "failed")
    d.mkdir()
    (d / "x.json").write_bytes(b"12345")
    status = usage.status()
    assert status["pending"] == 1 and status["failed"] == 1 and status["bytes"] == os.path.getsize(entry) + 5
    assert 89 <= status["oldest_age_s"] <= 120


def test_flush_command_stores_and_says_so(capsys):
    """``lakeloop flush`` drains now and prints what it stored; status --json shows the outbox."""
    from lakeloop.cli.main import main

    for i in range(3):
        spool.put_raw("Stop", json.dumps(stop_payload(f"f{i}")).encode(), received_at_ns=i + 1)
    assert main(["status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["outbox"]["pending"] == 3
    assert main(["flush"]) == 0
    out = capsys.readouterr().out
    assert "stored 3 event(s) in 1 batch(es)" in out and "outbox now: 0 waiting" in out
    assert len(stored_rows()) == 3


def test_large_payloads_keep_drainer_memory_bounded(tmp_path):
    """A 31 MB tool output and a 31 MB array of tiny values are captured (cut) by a drainer whose
    peak resident memory stays under 100 MiB (the bound in the README)."""
    for i, response in enumerate(('"' + "z" * (31 << 20) + '"', "[" + "0," * ((31 << 20) // 2) + "0]")):
        p = first_payload("PostToolUse", "Bash")
        raw = json.dumps(p).replace('"tool_response": {', f'"tool_response": {{"stdout": {response}, ', 1)
        spool.put_raw("PostToolUse", raw.encode(), received_at_ns=i + 1)
    del raw, p
    code = (
        "from lakeloop.log import setup\n"
        "from lakeloop.capture.drain import drain\n"
        "r = drain(setup('drain'))\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
        "print(r.stored, r.failed, hwm)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(PLUGIN_SRC)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split()
    stored_n, failed_n, maxrss_kib = map(int, out)
    assert (stored_n, failed_n) == (2, 0)
    assert maxrss_kib < 100 * 1024, f"peak RSS {maxrss_kib // 1024} MiB"
    for _, message in stored_rows():
        response = json.loads(message)["tool_response"]
        assert "[lakeloop: truncated" in response and len(response) < 600 * 1024


# -- layering -----------------------------------------------------------------------------------------


def test_outbox_imports_nothing_from_hooks_or_cli():
    """The outbox is a lower layer: importing and using it loads no lakeloop.hooks or cli module."""
    code = (
        "import sys\n"
        "import lakeloop.outbox, lakeloop.outbox.drainer, lakeloop.outbox.spool, lakeloop.outbox.usage\n"
        "import lakeloop.outbox.lock, lakeloop.outbox.entries\n"
        "bad = [m for m in sys.modules if m.startswith(('lakeloop.hooks', 'lakeloop.cli'))]\n"
        "print(bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(PLUGIN_SRC)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == "[]"
    for source in Path(PLUGIN_SRC, "lakeloop", "outbox").glob("*.py"):
        imports = [line for line in source.read_text().splitlines() if line.strip().startswith(("import ", "from "))]
        assert not [line for line in imports if ".hooks" in line or ".cli" in line], source


def test_spool_module_needs_only_the_standard_library():
    """bootstrap.py spools with the system python3 before the virtualenv exists."""
    code = (
        "import sys\n"
        "import lakeloop.outbox.spool\n"
        "third = [m for m in sys.modules if m.split('.')[0] in ('httpx', 'filelock', 'platformdirs')]\n"
        "print(third)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(PLUGIN_SRC)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == "[]"


def test_session_end_drains_the_sessions_last_events_left_waiting():
    """Events whose drainer never ran (its hook was cut short) are stored at SessionEnd, so the
    final summary, which waits for the outbox to drain, does not wait for nothing."""
    for i in range(2):
        spool.put_raw("Stop", json.dumps(stop_payload(f"last {i}")).encode(), received_at_ns=i + 1)
    hook_out = run_hook(
        "SessionEnd", {"session_id": "s", "hook_event_name": "SessionEnd", "reason": "other"}, LAKELOOP_SUMMARIES="0"
    )
    assert hook_out.returncode == 0 and hook_out.stdout == b""
    wait_until(lambda: len(stored_rows()) == 2, 30, "the waiting events to be stored")
    assert outbox.pending() == []


def test_session_start_drains_what_an_earlier_session_left():
    """Events left in the outbox (the store was down when that session ended) are stored when the
    next session starts, without waiting for a capture hook."""
    for i in range(3):
        spool.put_raw("Stop", json.dumps(stop_payload(f"left {i}")).encode(), received_at_ns=i + 1)
    hook_out = run_hook("SessionStart", {"session_id": "next", "hook_event_name": "SessionStart", "source": "startup"})
    assert hook_out.returncode == 0 and b"systemMessage" not in hook_out.stdout
    wait_until(lambda: len(stored_rows()) == 3, 30, "the left-over events to be stored")
    assert outbox.pending() == []
