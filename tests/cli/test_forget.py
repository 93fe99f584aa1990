"""``lakeloop forget`` (the user removes what was captured) on both stores, through the real CLI process.

Filters ``--session``, ``--before`` (UTC; a date or ISO-8601), ``--match`` (case-insensitive)
and their AND, on captured rows and on notes and summaries (memory-table rows, one per version
of a file); it counts both, asks on the terminal (a real pseudo-terminal here), ``--yes`` skips
the question, and without a terminal and without ``--yes`` it refuses with exit 2 and deletes
nothing. The embedded store and the Deeplake stand-in (the API's DELETE) run the same cases.
"""

from __future__ import annotations

import datetime as dt
import os
import pty
import subprocess
import sys

import pytest

from lakeloop import paths
from lakeloop.capture.rows import build_message, session_row
from lakeloop.identity import Identity
from lakeloop.store.memory_types import MemoryQuery, NoteRow
from tests.support.repo import PLUGIN_SRC

A, B = "11111111-aaaa-4aaa-8aaa-000000000001", "22222222-bbbb-4bbb-8bbb-000000000002"
#: id -> (session, creation time (UTC), text)
ROWS = {
    "a1": (A, "2025-01-10T12:00:00", "alpha apple"),
    "a2": (A, "2025-03-10T12:00:00", "alpha banana"),
    "b1": (B, "2025-01-20T12:00:00", "beta apple"),
    "b2": (B, "2025-04-01T12:00:00", "beta cherry"),
}


#: memory-table rows: id -> (path, date (UTC), text). /notes/todo.md has two versions: the
#: word "apple" was added by the second. The last two tell LIKE's wildcards from the text.
NOTES = {
    "n1": ("/notes/plan.md", "2025-01-15T09:00:00.000000Z", "Deploy plan: rotate the APPLE keys"),
    "n2": ("/summaries/tester/beta.md", "2025-03-01T09:00:00.000000Z", "summary of the beta work"),
    "n3": ("/notes/todo.md", "2025-01-01T09:00:00.000000Z", "buy milk"),
    "n4": ("/notes/todo.md", "2025-05-01T09:00:00.000000Z", "buy milk\nbake an Apple pie"),
    "n5": ("/notes/done_100%.md", "2025-04-01T09:00:00.000000Z", "progress: 100% of a_b"),
    "n6": ("/notes/score.md", "2025-04-02T09:00:00.000000Z", "scored 1000 points, axb"),
}


def _ns(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp() * 1e9)


def rows() -> list:
    out = []
    for rid, (session, when, text) in ROWS.items():
        message = build_message(
            {"hook_event_name": "Stop", "session_id": session, "last_assistant_message": text},
            received_at_ns=_ns(when),
            event_id=rid,
        )
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

    def notes(self) -> dict[str, str]:
        """``{path: text}`` of the notes and summaries as the memory path shows them (newest
        version of each path)."""
        store = self.open_store()
        try:
            return {
                r.path: r.text
                for r in store.memory_query(MemoryQuery(prefixes=("/",), content=True))
                if not r.path.startswith(("/sessions/", "/skills/"))
            }
        finally:
            store.close()


@pytest.fixture(params=["embedded", "deeplake"])
def backend(request, monkeypatch) -> Backend:
    if request.param == "embedded":
        from lakeloop.store.embedded import EmbeddedStore

        env = {**os.environ, "LAKELOOP_STORE": "embedded"}

        def opener():
            return EmbeddedStore(paths.store_file())

    else:
        from lakeloop.deeplake.client import DeeplakeClient
        from lakeloop.deeplake.credentials import Credentials
        from lakeloop.store.deeplake import DeeplakeStore

        standin = request.getfixturevalue("deeplake")
        env = {
            **os.environ,
            "LAKELOOP_DEEPLAKE_TOKEN": standin.token,
            "LAKELOOP_DEEPLAKE_ORG_ID": standin.org_id,
            "LAKELOOP_DEEPLAKE_WORKSPACE": standin.workspace,
            "LAKELOOP_DEEPLAKE_API_URL": standin.base_url,
        }
        creds = Credentials(
            token=standin.token, org_id=standin.org_id, workspace=standin.workspace, api_url=standin.base_url
        )

        def opener():
            return DeeplakeStore(DeeplakeClient(creds))

    store = opener()
    store.append_session_rows(rows())
    for nid, (path, when, text) in NOTES.items():
        store.insert_note(NoteRow(id=nid, path=path, text=text, author="tester", project="p", date=when))
    store.close()
    b = Backend(request.param, env, opener)
    assert b.ids() == set(ROWS)
    assert b.notes() == {**{p: t for p, _w, t in NOTES.values()}, "/notes/todo.md": NOTES["n4"][2]}
    return b


def forget(backend: Backend, *args: str, answer: str | None = None, command: str = "forget") -> tuple[int, str, str]:
    """Run ``lakeloop forget`` (or another ``command``) as its own process. ``answer``: typed on
    a pseudo-terminal as stdin; None: stdin is not a terminal (/dev/null)."""
    env = {**backend.env, "PYTHONPATH": str(PLUGIN_SRC)}
    cmd = [sys.executable, "-m", "lakeloop.cli.main", command, *args]
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


@pytest.mark.parametrize(
    "args, gone",
    [
        (["--session", A], {"a1", "a2"}),
        (["--before", "2025-02-01"], {"a1", "b1"}),
        (["--before", "2025-01-10T11:00:00-02:00"], {"a1"}),  # 13:00Z, after a1's 12:00Z
        (["--match", "apple"], {"a1", "b1"}),
        (["--match", "ALPHA"], {"a1", "a2"}),  # case-insensitive
        (["--session", B, "--before", "2025-03-01"], {"b1"}),
        (["--session", A, "--match", "banana"], {"a2"}),
        (["--session", A, "--before", "2025-02-01", "--match", "cherry"], set()),
    ],
)
def test_filters_select_the_rows_and_combine_with_and(backend, args, gone):
    """Each filter, and their combination (AND), deletes exactly the matching rows (--yes)."""
    code, out, err = forget(backend, *args, "--yes")
    assert code == 0, err
    assert f"{len(gone)} captured row(s)" in out
    assert backend.ids() == set(ROWS) - gone


def test_asks_on_the_terminal_and_deletes_on_yes(backend):
    code, out, _ = forget(backend, "--session", A, answer="y")
    assert code == 0 and "Delete these 2 captured row(s) and 0 note(s)/summary(ies)?" in out
    assert "deleted 2 captured row(s)" in out
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
    from lakeloop.outbox import spool

    spool.put_raw("Stop", b'{"session_id": "x"}')
    code, out, _ = forget(backend, "--match", "no such text", "--yes")
    assert code == 0 and "0 captured row(s)" in out and "nothing to forget" in out
    assert "1 event(s) still wait in the local outbox" in out and "lakeloop flush" in out
    assert backend.ids() == set(ROWS)


# -- notes and summaries (memory-table rows) ----------------------------------------------------


def test_match_removes_notes_and_summaries_that_search_shows(backend):
    """A note ``lakeloop search`` shows is found by ``--match`` (ignoring case) and removed with
    the captured rows; the count asked about includes it. /notes/todo.md had the word added by
    its second version: that version goes and the first is its content again."""
    code, out, _ = forget(backend, "apple", "--json", command="search")
    assert code == 0 and '"/notes/plan.md"' in out and '"/notes/todo.md"' in out
    code, out, err = forget(backend, "--match", "aPpLe", answer="y")
    assert code == 0, err
    assert "Delete these 2 captured row(s) and 2 note(s)/summary(ies)?" in out
    assert "  /notes/plan.md\n" in out and "  /notes/todo.md\n" in out
    assert backend.ids() == set(ROWS) - {"a1", "b1"}
    assert backend.notes() == {
        "/summaries/tester/beta.md": NOTES["n2"][2],
        "/notes/todo.md": "buy milk",
        "/notes/done_100%.md": NOTES["n5"][2],
        "/notes/score.md": NOTES["n6"][2],
    }
    code, out, _ = forget(backend, "apple", "--json", command="search")
    assert code == 0 and "/notes/" not in out


def test_match_on_a_note_path_and_wildcards_taken_literally(backend):
    """``--match`` also looks at a note's path; ``%`` and ``_`` are plain characters (escaped for
    Deeplake's ILIKE), so ``100%`` and ``a_b`` select only the note that holds them."""
    code, out, _ = forget(backend, "--match", "100%", "--yes")
    assert code == 0 and "0 captured row(s) and 1 note(s)/summary(ies)" in out
    code, out, _ = forget(backend, "--match", "a_b", "--yes")
    assert code == 0 and "nothing to forget" in out
    code, out, _ = forget(backend, "--match", "SUMMARIES/tester", "--yes")
    assert code == 0 and "0 captured row(s) and 1 note(s)/summary(ies)" in out
    assert set(backend.notes()) == {"/notes/plan.md", "/notes/todo.md", "/notes/score.md"}
    assert backend.ids() == set(ROWS)


def test_before_removes_older_note_versions_and_session_selects_no_note(backend):
    """``--before`` takes every version written before the date (the newer todo.md version
    stays); ``--session`` of a session without a summary selects captured rows only (notes
    record no session)."""
    code, out, _ = forget(backend, "--session", A, "--yes")
    assert code == 0 and "2 captured row(s) and 0 note(s)/summary(ies)" in out
    assert len(backend.notes()) == 5
    code, out, _ = forget(backend, "--before", "2025-02-01", "--yes")
    assert code == 0 and "1 captured row(s) and 2 note(s)/summary(ies)" in out
    notes = backend.notes()
    assert "/notes/plan.md" not in notes and notes["/notes/todo.md"] == NOTES["n4"][2]
    assert backend.ids() == {"b2"}


def _summarize(backend: Backend, session: str, what: str) -> None:
    """Write ``session``'s summary with the real ``summarize`` job on ``backend``'s store (a
    scripted model), which also keeps its local state (the previous summary's text)."""
    from lakeloop.summaries.job import summarize
    from tests.support.summaries import Model, answer, deps, payload

    store = backend.open_store()
    try:
        job = payload(session, path=Identity("tester").session_path(session), user="tester", min_prompts=0)
        assert summarize(job, deps(store, Model(answer(what)))) == "written"
    finally:
        store.close()


def _summary_state(session: str):
    from lakeloop.summaries.state import State

    state = State.open()
    try:
        return state.session(session)
    finally:
        state.close()


def test_session_forgets_its_summary_and_its_local_summary_state(backend):
    """A session's AI summary (``/summaries/<user>/<id>.md``) goes with its captured rows, counted,
    and so does the local state that keeps the summary's text for the next refresh; another
    session's summary and state stay."""
    _summarize(backend, A, "Alpha work with the orchard keys.")
    _summarize(backend, B, "Beta work.")
    summary_a, summary_b = f"/summaries/tester/{A}.md", f"/summaries/tester/{B}.md"
    assert {summary_a, summary_b} <= set(backend.notes())
    assert "orchard" in _summary_state(A).summary
    code, out, err = forget(backend, "--session", A, "--yes")
    assert code == 0, err
    assert "2 captured row(s) and 1 note(s)/summary(ies)" in out and f"  {summary_a}\n" in out
    assert "cleared the local summary state of 1 session(s)" in out
    assert summary_a not in backend.notes() and summary_b in backend.notes()
    assert _summary_state(A) is None and _summary_state(B) is not None
    assert backend.ids() == {"b1", "b2"}


def test_session_forget_drops_its_queued_summary_job_only(backend):
    """A summary job still queued for the forgotten session is deleted, so it never summarises
    what is left; another session's queued job stays."""
    from lakeloop.jobs import db, queue
    from lakeloop.summaries import KEY_PREFIX, KIND

    for sid in (A, B):
        assert queue.enqueue(KIND, KEY_PREFIX + sid, {"session_id": sid}, delay_s=3600) == "new"
    code, _out, err = forget(backend, "--session", A, "--yes")
    assert code == 0, err
    conn = db.connect()
    try:
        keys = {job.key for job in queue.jobs(conn)}
    finally:
        conn.close()
    assert keys == {KEY_PREFIX + B}


def test_match_on_a_summary_forgets_that_sessions_local_summary_state(backend):
    """A summary removed by ``--match`` takes its session's local state (the text a refresh
    would send again) with it."""
    _summarize(backend, B, "Beta work on the walrus gateway.")
    code, out, err = forget(backend, "--match", "WALRUS", "--yes")
    assert code == 0, err
    assert "0 captured row(s) and 1 note(s)/summary(ies)" in out
    assert _summary_state(B) is None


def test_note_paths_are_shown_inert(backend):
    """A stored path with terminal control and bidi characters is listed with them escaped (the
    Deeplake store drops control characters on the way in: only the bidi override is left)."""
    store = backend.open_store()
    store.insert_note(
        NoteRow(
            id="evil",
            path="/notes/\x1b]0;PWNED\x07x\u202e.md",
            text="zebra",
            author="m",
            project="p",
            date="2025-01-01T00:00:00.000000Z",
        )
    )
    store.close()
    code, out, _ = forget(backend, "--match", "zebra", "--yes")
    assert code == 0 and "0 captured row(s) and 1 note(s)/summary(ies)" in out
    assert not {"\x1b", "\x07", "\u202e"} & set(out)
    assert "PWNED\\x07x\\u202e.md" in out if backend.kind == "embedded" else "PWNEDx\\u202e.md" in out


# -- the memory path's local caches (read-your-writes overlay, answer files) --------------------
M = "~/.deeplake/memory"
SECRET = "db password for prod is Kangaroo-7781"


def _memory_call(backend: Backend, tmp_path, tool: str, tool_input: dict) -> str:
    """One memory-path call through ``hooks/run PreToolUse`` on ``backend``'s store; returns what
    the agent reads (``tests.support.memory_answers.agent_sees``)."""
    from tests.support.hooks import pretooluse_payload, run_pretooluse
    from tests.support.memory_answers import agent_sees

    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    env = {k: v for k, v in backend.env.items() if k.startswith("LAKELOOP_")}
    decision, out, _proc = run_pretooluse(pretooluse_payload(tool, tool_input, project), **env)
    return agent_sees(tool, decision, out, project)


#: name -> (Bash commands writing notes, path of the note that must end up without the secret,
#: what Read shows of it afterwards (None: the note is gone))
WRITTEN = {
    "a-note": ([f"echo '{SECRET}' > {M}/notes/oops.md"], "/notes/oops.md", None),
    "a-heredoc": ([f"cat > {M}/notes/hd.md <<'EOF'\nfirst\n{SECRET}\nEOF"], "/notes/hd.md", None),
    "a-newer-version": (
        [f"echo 'alpha line' > {M}/notes/ver.md", f"echo '{SECRET}' >> {M}/notes/ver.md"],
        "/notes/ver.md",
        "alpha line\n",
    ),
}


@pytest.mark.parametrize("case", sorted(WRITTEN))
def test_a_forgotten_note_is_not_shown_from_the_local_caches(backend, tmp_path, case):
    """A note written through the memory path is remembered locally (the overlay that bridges
    Deeplake's visibility lag) and quoted in answer files. After ``forget --match`` (in another
    case), neither cat, ls, grep, Read nor the Grep tool shows the forgotten text; a note whose
    newer version was forgotten shows its older version, not the overlay's copy."""
    commands, vpath, after = WRITTEN[case]
    for command in commands:
        assert "Note not saved" not in _memory_call(backend, tmp_path, "Bash", {"command": command})
    home = os.path.expanduser(M)
    assert SECRET in _memory_call(backend, tmp_path, "Read", {"file_path": home + vpath})
    assert any(SECRET in p.read_text() for p in (paths.data_dir() / "memory-answers").iterdir())

    code, out, err = forget(backend, "--match", "kANGAROO-7781", "--yes")
    assert code == 0 and "1 note(s)/summary(ies)" in out, (out, err)

    views = [
        ("Bash", {"command": f"cat {M}{vpath}"}),
        ("Bash", {"command": f"ls {M}/notes"}),
        ("Bash", {"command": f"grep -rni kangaroo {M}"}),
        ("Read", {"file_path": home + vpath}),
        ("Grep", {"pattern": "kangaroo", "path": home, "-i": True, "output_mode": "content"}),
        ("Grep", {"pattern": "kangaroo", "path": home, "-i": True}),
    ]
    for tool, tool_input in views:
        seen = _memory_call(backend, tmp_path, tool, tool_input)
        assert "kangaroo" not in seen.casefold(), (tool, tool_input, seen)
        if tool_input.get("command", "").startswith("ls") and after is None:
            assert vpath.rsplit("/", 1)[-1] not in seen, seen
    read = _memory_call(backend, tmp_path, "Read", {"file_path": home + vpath})
    if after is None:
        assert "No such file in team memory" in read, read
    else:
        assert read == after
    for answer in (paths.data_dir() / "memory-answers").iterdir():
        assert "kangaroo" not in answer.read_text().casefold(), answer
