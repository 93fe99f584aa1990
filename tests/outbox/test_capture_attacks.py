"""Regression tests for the attacks on the capture path found in a security review: each reproduces
a confirmed problem and asserts the fixed behaviour."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import respx

from lakeloop import boundedjson, outbox
from lakeloop.errors import OutcomeUnknown, PermanentError, StoreUnavailable
from lakeloop.outbox import spool, usage
from tests.support.hooks import run_quiet_hook
from tests.support.outbox import LOG, Recorder, drainer, failed_names, stop_payload
from tests.support.payloads import first_payload
from tests.support.repo import PLUGIN_SRC
from tests.support.stores import stop_rows


def test_unterminated_string_full_of_escaped_quotes_is_refused_in_linear_time():
    """A 600 KB unterminated string of \\" used to take quadratic time in the depth scan (minutes,
    holding the drain lock); now it is refused at once and the following events are stored."""
    poison = b'{"session_id":"q","hook_event_name":"PostToolUse","tool_response":"' + b'\\"' * 300_000
    spool.put_raw("PostToolUse", poison, received_at_ns=1)
    for i in range(3):
        spool.put_raw("Stop", json.dumps(stop_payload(f"after {i}")).encode(), received_at_ns=2 + i)
    started = time.process_time()
    result = drainer(Recorder()).run()
    assert (result.stored, result.failed) == (3, 1)
    assert time.process_time() - started < 20  # was hundreds of seconds; a generous, not a timing, bound
    with pytest.raises(boundedjson.PayloadError, match="unterminated string"):
        boundedjson.loads_object(poison)


def _spool(n: int) -> None:
    for i in range(n):
        spool.put_raw("Stop", json.dumps(stop_payload(f"m{i}")).encode(), received_at_ns=i + 1)


@pytest.mark.parametrize("error", [PermanentError("no such workspace", 404), StoreUnavailable("no credentials")])
def test_a_store_level_refusal_never_moves_the_backlog_to_failed(error):
    """A wrong workspace (404) or missing credentials: the store is failing, not the rows. Nothing
    moves to failed/; the entries wait, and the drain reports the store error."""
    _spool(5)
    result = drainer(Recorder(store_errors=[error] * 10)).run()
    assert result.failed == 0 and failed_names() == [] and len(outbox.pending()) == 5
    assert result.gave_up


def test_identity_failure_while_building_rows_is_the_stores_failure():
    """current_identity() raising StoreUnavailable (LAKELOOP_STORE=deeplake, no credentials) used to
    be blamed on each entry."""
    _spool(4)
    rec = Recorder()

    def rows(payload, received, eid):
        raise StoreUnavailable("LAKELOOP_STORE=deeplake but no Deeplake credentials were found")

    rec.real.rows = rows
    result = drainer(rec).run()
    assert result.failed == 0 and len(outbox.pending()) == 4 and "credentials" in result.gave_up


def test_a_bad_store_configuration_never_moves_the_backlog_to_failed():
    """open_store raising ValueError (a table name that is not an identifier) is the store's."""
    _spool(4)
    rec = Recorder()
    handlers = rec.handlers()

    def broken():
        raise ValueError("refused identifier 'team-sessions'")

    handlers.open_store = broken
    from lakeloop.outbox.drainer import Drainer

    result = Drainer(handlers, LOG, linger_s=0.0, sleep=lambda s: None).run()
    assert result.failed == 0 and len(outbox.pending()) == 4 and result.gave_up


def test_row_level_refusal_sets_aside_nothing_until_the_store_accepted_a_row():
    """Every single entry refused with HTTP 400: that is the store, not the rows (none is set aside)."""
    _spool(3)
    result = drainer(Recorder(store_errors=[PermanentError("bad request", 400)] * 10)).run()
    assert result.failed == 0 and len(outbox.pending()) == 3


def test_lookup_failure_after_an_unknown_outcome_stays_unknown():
    """INSERT applied but answered 502, then the id lookup fails: the store raises OutcomeUnknown (so
    the drainer keeps the u mark), never a plain error that would clear it and re-send blindly."""
    from lakeloop.deeplake.client import DeeplakeClient
    from lakeloop.deeplake.credentials import Credentials
    from lakeloop.store.deeplake import DeeplakeStore

    api = "https://api.example.test"
    with respx.mock(assert_all_mocked=True) as router:
        router.post(f"{api}/workspaces/default/tables/query").mock(
            side_effect=[httpx.Response(502, json={})] + [httpx.Response(503, json={})] * 4
        )
        client = DeeplakeClient(
            Credentials(token="t", org_id="o", workspace="default", api_url=api), sleep=lambda s: None, rand=lambda: 0.0
        )
        store = DeeplakeStore(client, visibility_wait_s=0.0)
        store._healed = True
        with pytest.raises(OutcomeUnknown):
            store.append_session_rows(stop_rows(2))


def test_many_mid_sized_members_keep_parsing_memory_bounded(tmp_path):
    """126 members of ~250 KiB of nested empty arrays used to build 750 MiB of objects; the parsed
    members are now bounded in total, the rest kept as cut raw text."""
    member = "[" + ",".join(["[]"] * 80_000) + "]"
    doc = "{" + ",".join(f'"k{i}": {member}' for i in range(126)) + ', "session_id": "s"}'
    path = tmp_path / "doc.json"
    path.write_text(doc)
    code = (
        "import sys\n"
        "from lakeloop.boundedjson import loads_object\n"
        "d = loads_object(open(sys.argv[1], 'rb').read())\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
        "print(len(d), d['session_id'], hwm)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        env={**os.environ, "PYTHONPATH": str(PLUGIN_SRC)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    assert out[:2] == ["127", "s"]
    assert int(out[2]) < 150 * 1024, f"peak {int(out[2]) // 1024} MiB"


def test_an_entry_that_cannot_be_moved_aside_does_not_spin():
    """failed/ is a file: the bad entry cannot be moved; the drainer stops after a few passes instead
    of spinning and flooding the log."""
    os.makedirs(outbox.outbox_dir(), exist_ok=True)
    Path(outbox.outbox_dir(), "failed").write_text("x")
    spool.put_raw("Stop", b"not json")
    calls = []

    class CountingLog(logging.LoggerAdapter):
        def log(self, level, msg, *args, **kwargs):
            calls.append(msg)

    from lakeloop.outbox.drainer import Drainer

    result = Drainer(Recorder().handlers(), CountingLog(LOG, {}), linger_s=0.0, sleep=lambda s: None).run()
    assert result.gave_up == "no progress" and len(calls) < 10


def test_a_fifo_or_symlink_named_like_an_entry_goes_to_failed():
    """Neither blocks the drainer (a FIFO's open would hang; /dev/zero reads forever)."""
    d = outbox.outbox_dir()
    os.makedirs(d, exist_ok=True)
    os.mkfifo(os.path.join(d, "00000000000000000001-1-aa-PostToolUse.json"))
    os.symlink("/dev/zero", os.path.join(d, "00000000000000000002-1-bb-PostToolUse.json"))
    os.symlink("/nonexistent", os.path.join(d, "00000000000000000003-1-cc-PostToolUse.json"))
    spool.put_raw("Stop", json.dumps(stop_payload("fine")).encode(), received_at_ns=4)
    result = drainer(Recorder()).run()
    assert result.stored == 1 and result.failed == 3 and outbox.pending() == []


def test_a_prompt_spooled_while_the_drainer_gives_up_still_gets_its_reaction(monkeypatch):
    """The store is given up; a prompt spooled meanwhile is reacted to before the drainer leaves."""
    from lakeloop.outbox.drainer import Drainer, run_locked
    from lakeloop.outbox.lock import try_lock

    monkeypatch.setattr("lakeloop.jobs.submit", lambda kind, key, payload, **kw: "new", raising=False)
    _spool(1)
    reacted = []
    rec = Recorder(store_errors=[StoreUnavailable("down")] * 5)
    handlers = rec.handlers()
    real_open = handlers.open_store

    def open_and_spool():  # the prompt arrives while the store is failing
        if not reacted:
            prompt = first_payload("UserPromptSubmit")
            spool.put_raw("UserPromptSubmit", json.dumps(prompt).encode())
            reacted.append(True)
        return real_open()

    handlers.open_store = open_and_spool
    fd = try_lock(outbox.outbox_dir())
    run_locked(lambda: Drainer(handlers, LOG, linger_s=0.0, sleep=lambda s: None), fd, LOG)
    assert [c[0] for c in rec.calls].count("react") == 1
    assert any(n.endswith("-UserPromptSubmit.r.json") for n in outbox.pending())


def test_the_cap_holds_while_no_drainer_runs(monkeypatch):
    """The store is pausing (.retry-after) so hooks start no drainer: hooks themselves re-measure
    the outbox (at most every 5 s) and drop events past the cap."""
    monkeypatch.setenv("LAKELOOP_OUTBOX_MAX_MB", "1")
    os.makedirs(outbox.outbox_dir(), exist_ok=True)
    retry = Path(outbox.outbox_dir(), ".retry-after")
    retry.touch()
    os.utime(retry, (time.time() + 600, time.time() + 600))
    big = first_payload("PostToolUse", "Bash")
    big["tool_response"] = {"stdout": "x" * 300_000}
    for _ in range(6):
        run_quiet_hook("PostToolUse", big)
    status = usage.status()
    assert status["full"] and status["dropped"] >= 1 and status["bytes"] < 2 * (1 << 20)


def test_stale_hook_temp_files_are_pruned():
    """A hook killed mid-write leaves .<stem>.tmp; the drainer removes it after an hour."""
    d = outbox.outbox_dir()
    os.makedirs(d, exist_ok=True)
    old = Path(d, ".00000000000000000001-1-aa-Stop.tmp")
    old.write_bytes(b"partial")
    hour_ago = time.time() - 3700
    os.utime(old, (hour_ago, hour_ago))
    fresh = Path(d, ".00000000000000000002-1-bb-Stop.tmp")
    fresh.write_bytes(b"being written")
    usage.prune_failed(LOG)
    assert not old.exists() and fresh.exists()
