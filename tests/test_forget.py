"""``lakeloop forget`` (issue 7, point 3) on both stores, through the real CLI process.

Filters ``--session``, ``--before`` (UTC; a date or ISO-8601), ``--match`` and their AND; it
counts, asks on the terminal (a real pseudo-terminal here), ``--yes`` skips the question, and
without a terminal and without ``--yes`` it refuses with exit 2 and deletes nothing. The
embedded store and the Deeplake stand-in (the API's DELETE) run the same cases.
"""

from __future__ import annotations

import datetime as dt
import os
import pty
import subprocess
import sys

import pytest

from conftest import PLUGIN_SRC
from lakeloop import paths
from lakeloop.rows import Identity, build_message, session_row
from tests.support.fixtures import deeplake, postgres_cluster  # noqa: F401

A, B = "11111111-aaaa-4aaa-8aaa-000000000001", "22222222-bbbb-4bbb-8bbb-000000000002"
#: id -> (session, creation time (UTC), text)
ROWS = {
    "a1": (A, "2025-01-10T12:00:00", "alpha apple"),
    "a2": (A, "2025-03-10T12:00:00", "alpha banana"),
    "b1": (B, "2025-01-20T12:00:00", "beta apple"),
    "b2": (B, "2025-04-01T12:00:00", "beta cherry"),
}


def _ns(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp() * 1e9)


def rows() -> list:
    out = []
    for rid, (session, when, text) in ROWS.items():
        message = build_message({"hook_event_name": "Stop", "session_id": session, "last_assistant_message": text},
                                received_at_ns=_ns(when), event_id=rid)
        out.append(session_row(message, Identity("tester")))
    return out


class Backend:
    """One store with the four rows, and the environment that makes the CLI use it."""

    def __init__(self, kind: str, env: dict[str, str], open_store) -> None:
        self.kind, self.env, self.open_store = kind, env, open_store

    def ids(self) -> set[str]:
        store = self.open_store()
        try:
            found = set()
            for session in (A, B):
                found |= {r.id for r in store.session_rows(Identity("tester").session_path(session))}
            return found
        finally:
            store.close()


@pytest.fixture(params=["embedded", "deeplake"])
def backend(request, monkeypatch) -> Backend:
    if request.param == "embedded":
        from lakeloop.store.embedded import EmbeddedStore

        env = {**os.environ, "LAKELOOP_STORE": "embedded"}
        opener = lambda: EmbeddedStore(paths.store_file())  # noqa: E731
    else:
        from lakeloop.deeplake.client import DeeplakeClient
        from lakeloop.deeplake.credentials import Credentials
        from lakeloop.store.deeplake import DeeplakeStore

        standin = request.getfixturevalue("deeplake")
        env = {**os.environ, "LAKELOOP_DEEPLAKE_TOKEN": standin.token, "LAKELOOP_DEEPLAKE_ORG_ID": standin.org_id,
               "LAKELOOP_DEEPLAKE_WORKSPACE": standin.workspace, "LAKELOOP_DEEPLAKE_API_URL": standin.base_url}
        creds = Credentials(token=standin.token, org_id=standin.org_id, workspace=standin.workspace,
                            api_url=standin.base_url)
        opener = lambda: DeeplakeStore(DeeplakeClient(creds))  # noqa: E731
    store = opener()
    store.append_session_rows(rows())
    store.close()
    b = Backend(request.param, env, opener)
    assert b.ids() == set(ROWS)
    return b


def forget(backend: Backend, *args: str, answer: str | None = None) -> tuple[int, str, str]:
    """Run ``lakeloop forget`` as its own process. ``answer``: typed on a pseudo-terminal as
    stdin; None: stdin is not a terminal (/dev/null)."""
    env = {**backend.env, "PYTHONPATH": str(PLUGIN_SRC)}
    cmd = [sys.executable, "-m", "lakeloop.cli.main", "forget", *args]
    if answer is None:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=60)
        return proc.returncode, proc.stdout, proc.stderr
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(cmd, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        os.close(slave)
        os.write(master, answer.encode() + b"\n")
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(master)
    return proc.returncode, out, err


@pytest.mark.parametrize("args, gone", [
    (["--session", A], {"a1", "a2"}),
    (["--before", "2025-02-01"], {"a1", "b1"}),
    (["--before", "2025-01-10T11:00:00-02:00"], {"a1"}),  # 13:00Z, after a1's 12:00Z
    (["--match", "apple"], {"a1", "b1"}),
    (["--session", B, "--before", "2025-03-01"], {"b1"}),
    (["--session", A, "--match", "banana"], {"a2"}),
    (["--session", A, "--before", "2025-02-01", "--match", "cherry"], set()),
])
def test_filters_select_the_rows_and_combine_with_and(backend, args, gone):
    """Each filter, and their combination (AND), deletes exactly the matching rows (--yes)."""
    code, out, err = forget(backend, *args, "--yes")
    assert code == 0, err
    assert f"{len(gone)} captured row(s)" in out
    assert backend.ids() == set(ROWS) - gone


def test_asks_on_the_terminal_and_deletes_on_yes(backend):
    code, out, _ = forget(backend, "--session", A, answer="y")
    assert code == 0 and "Delete these 2 row(s)?" in out and "deleted 2 row(s)" in out
    assert backend.ids() == {"b1", "b2"}


def test_answer_no_deletes_nothing(backend):
    code, out, _ = forget(backend, "--match", "apple", answer="n")
    assert code == 1 and "nothing deleted" in out
    assert backend.ids() == set(ROWS)


def test_refuses_without_a_terminal_and_without_yes(backend):
    """No TTY to ask on and no --yes: a clear refusal, exit 2, nothing deleted."""
    code, out, err = forget(backend, "--session", A)
    assert code == 2 and "2 captured row(s)" in out
    assert "refusing to delete without confirmation" in err and "--yes" in err
    assert backend.ids() == set(ROWS)


@pytest.mark.parametrize("args", [[], ["--before", "last tuesday"], ["--before", "2025-13-01"]])
def test_bad_usage_exits_2_and_deletes_nothing(backend, args):
    """No filter (it would match everything) or a date that is not one: exit 2."""
    code, _out, err = forget(backend, *args, "--yes")
    assert code == 2 and err
    assert backend.ids() == set(ROWS)


def test_before_means_utc():
    """--before values: a date is its midnight UTC; an offset is converted; none means UTC."""
    from lakeloop.cli.forget import parse_before

    assert parse_before("2025-06-30") == "2025-06-30T00:00:00.000000Z"
    assert parse_before("2025-06-30T12:00:00Z") == "2025-06-30T12:00:00.000000Z"
    assert parse_before("2025-06-30T12:00:00-05:00") == "2025-06-30T17:00:00.000000Z"
    assert parse_before("2025-06-30T12:00") == "2025-06-30T12:00:00.000000Z"
    with pytest.raises(ValueError):
        parse_before("30/06/2025")


def test_says_when_events_still_wait_in_the_outbox(backend):
    """An event spooled but not stored yet is not in the store: forget says so (and how to
    include it); with no row matching it deletes nothing and exits 0."""
    from lakeloop import outbox

    outbox.put_raw("Stop", b'{"session_id": "x"}')
    code, out, _ = forget(backend, "--match", "no such text", "--yes")
    assert code == 0 and "0 captured row(s)" in out and "nothing to forget" in out
    assert "1 event(s) still wait in the local outbox" in out and "lakeloop flush" in out
    assert backend.ids() == set(ROWS)
