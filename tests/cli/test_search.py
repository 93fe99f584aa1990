"""``lakeloop search`` on the embedded store: best matches first, ``--json``,
``--limit``, ``--user``, ``--project``, no match, an unreadable store, and output that stays
one line per hit whatever the stored text holds."""

from __future__ import annotations

import json

import pytest

from lakeloop import paths
from lakeloop.cli.main import main
from lakeloop.store.base import SessionRow, SkillRow
from lakeloop.store.embedded import EmbeddedStore
from lakeloop.store.memory_types import NoteRow

ALICE = "/sessions/alice/alice_local_default_s1.jsonl"
BOB = "/sessions/bob/bob_local_default_s2.jsonl"


def row(path: str, i: int, text: str, author: str = "alice", project: str = "acme") -> SessionRow:
    when = f"2026-03-01T10:00:{i:02d}.000000Z"
    message = {"id": f"{path}-{i}", "session_id": path, "type": "user_message", "content": text, "timestamp": when}
    return SessionRow(
        id=message["id"],
        path=path,
        filename=path.rsplit("/", 1)[-1],
        message=message,
        author=author,
        size_bytes=len(text),
        project=project,
        description="UserPromptSubmit",
        agent="claude_code",
        plugin_version="t",
        creation_date=when,
        last_update_date=when,
    )


def fill() -> None:
    store = EmbeddedStore(paths.store_file())
    store.append_session_rows(
        [
            row(ALICE, 1, "how do I rotate the kafka keys"),
            row(ALICE, 2, "kafka kafka: the kafka broker restarts"),
            row(ALICE, 3, "unrelated words " * 30 + "kafka at the end"),
            row(BOB, 1, "bob asks about kafka partitions", "bob", project="infra"),
        ]
        + [row(f"/sessions/c/c_{i}.jsonl", 1, f"filler text {i}", "carol") for i in range(12)]
    )
    store.insert_note(
        NoteRow(
            id="n1",
            path="/notes/kafka.md",
            text="kafka runbook",
            author="alice",
            project="acme",
            date="2026-03-02T00:00:00.000000Z",
        )
    )
    store.insert_skill(
        SkillRow(
            id="k1",
            name="kafka-ops",
            author="bob",
            body="Restart kafka safely.",
            scope="team",
            project="infra",
            created_at="2026-03-01T00:00:00Z",
        )
    )
    store.close()


def run_json(capsys, *argv: str) -> list[dict]:
    assert main(["search", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_lists_hits_best_first_with_their_fields(capsys):
    """--json: a list of hits (path, line, text, author, project, date, score, kind), scores
    descending, session lines with their line numbers, notes and skills with line 0."""
    fill()
    hits = run_json(capsys, "kafka")
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert {(h["path"], h["line"]) for h in hits} == {
        (ALICE, 1),
        (ALICE, 2),
        (ALICE, 3),
        (BOB, 1),
        ("/notes/kafka.md", 0),
        ("/skills/kafka-ops--bob/SKILL.md", 0),
    }
    first = hits[0]
    assert set(first) == {"path", "line", "text", "author", "project", "date", "score", "kind"}
    by = {(h["path"], h["line"]): h for h in hits}
    assert by[(ALICE, 2)]["score"] > by[(ALICE, 3)]["score"]
    assert by[(BOB, 1)]["author"] == "bob" and by[(BOB, 1)]["kind"] == "session"
    assert by[("/notes/kafka.md", 0)]["kind"] == "note"
    assert by[("/skills/kafka-ops--bob/SKILL.md", 0)]["kind"] == "skill"
    assert "kafka" in by[(ALICE, 3)]["text"] and len(by[(ALICE, 3)]["text"]) <= 210


def test_limit_user_and_project(capsys):
    """--limit N keeps the N best; --user and --project keep that author's / project's rows."""
    fill()
    everything = run_json(capsys, "kafka")
    assert run_json(capsys, "kafka", "--limit", "2") == everything[:2]
    assert {h["path"] for h in run_json(capsys, "kafka", "--user", "bob")} == {BOB, "/skills/kafka-ops--bob/SKILL.md"}
    assert {h["path"] for h in run_json(capsys, "kafka", "--project", "acme")} == {ALICE, "/notes/kafka.md"}
    with pytest.raises(SystemExit) as exit_:
        main(["search", "kafka", "--limit", "0"])
    assert exit_.value.code == 2 and "not a positive number" in capsys.readouterr().err


def test_no_match_exits_0_with_a_message(capsys):
    """Nothing found: exit 0 and a message (human) or [] (--json)."""
    fill()
    assert main(["search", "zeppelin"]) == 0
    assert capsys.readouterr().out == "no matches in the team memory\n"
    assert run_json(capsys, "zeppelin") == []


def test_human_output_is_two_lines_per_hit_best_first(capsys):
    """Human output: per hit, where it is (``session <id8> line N (<event>)``, or a note or
    skill path), user and local time, then the matching text indented; best first, in the
    --json order."""
    fill()
    order = [(h["path"], h["line"]) for h in run_json(capsys, "kafka", "broker")]
    assert main(["search", "kafka", "broker"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 * len(order)
    heads, texts = out[0::2], out[1::2]
    assert all(t.startswith("  ") and "kafka" in t.lower() for t in texts)
    first_place = heads[0].split("  ")[0]
    assert first_place == f"session {ALICE[:8]} line 2 (prompt)" or first_place.endswith("line 2 (prompt)")
    assert texts[0] == "  kafka kafka: the kafka broker restarts"
    assert any(h.startswith("/notes/kafka.md  alice  ") for h in heads)


def test_control_characters_in_stored_text_stay_inert(capsys):
    """A stored ESC sequence is shown escaped and a line break as a space, never as itself: the
    hit stays its two lines."""
    store = EmbeddedStore(paths.store_file())
    store.insert_note(
        NoteRow(
            id="x",
            path="/notes/evil.md",
            text="walrus\x1b[2J\nsecond line\r",
            author="a",
            project="p",
            date="2026-01-01T00:00:00.000000Z",
        )
    )
    store.close()
    assert main(["search", "walrus"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out and out.count("\n") == 2 and "second line" in out


def test_unreadable_store_exits_1_with_a_message(capsys, monkeypatch):
    """The store cannot be opened: exit 1 and one clear line on stderr, nothing on stdout."""
    monkeypatch.setenv("LAKELOOP_STORE", "deeplake")  # and no credentials anywhere
    assert main(["search", "kafka"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("lakeloop: cannot search the store:")


def _captured_grep_call(tmp_path) -> None:
    """A Grep call for ``migration`` captured through ``hooks/run`` (its input and output are
    stored as JSON text inside the message JSON)."""
    from tests.support.capture import capture, stored
    from tests.support.payloads import first_payload
    from tests.support.waiting import wait_until

    p = first_payload("PostToolUse", "Bash")
    p.update(
        cwd=str(tmp_path),
        tool_name="Grep",
        tool_input={"pattern": "migration", "path": "db/"},
        tool_response={"filenames": ["db/0042_orders_migration.py"], "numFiles": 1},
    )
    capture("PostToolUse", p)
    wait_until(lambda: stored(), 60, "the captured Grep call")


def test_a_session_hit_shows_where_and_the_plain_text(tmp_path, capsys):
    """A captured tool call is shown as where it is (short session id, line, ``Grep call``), user
    and local time, then its decoded text (``pattern: migration``), not escaped JSON."""
    from lakeloop.cli._output import local_time

    _captured_grep_call(tmp_path)
    assert main(["search", "migration"]) == 0
    head, text = capsys.readouterr().out.splitlines()
    [hit] = run_json(capsys, "migration")
    assert head == f"session {hit['path'].rsplit('_', 1)[1][:8]} line 1 (Grep call)  tester  {local_time(hit['date'])}"
    assert "pattern: migration" in text and "filenames: db/0042_orders_migration.py" in text
    assert '\\"' not in text and "{" not in text


def test_the_match_is_bold_on_a_terminal_only(tmp_path):
    """On a terminal the words are bold (ANSI); piped, or with NO_COLOR set, no escape sequence."""
    from tests.support.cli import run_lakeloop, run_lakeloop_on_tty

    _captured_grep_call(tmp_path)
    tty = run_lakeloop_on_tty("search", "migration", NO_COLOR="")
    assert "pattern: \x1b[1mmigration\x1b[0m" in tty
    assert "\x1b" not in run_lakeloop_on_tty("search", "migration", NO_COLOR="1")
    piped = run_lakeloop("search", "migration")
    assert piped.returncode == 0 and "pattern: migration" in piped.stdout and "\x1b" not in piped.stdout


def test_a_session_summary_is_a_hit_of_its_own_kind(capsys):
    """A summary row (``/summaries/<user>/<id>.md``) is found with the rest: ``kind`` ``summary``
    in --json, its path and text in the human output, and it obeys ``--project``."""
    fill()
    store = EmbeddedStore(paths.store_file())
    store.put_memory_doc(
        NoteRow(
            id="sum1",
            path="/summaries/alice/s1.md",
            text="# Session s1\n\n## What Happened\nAlice rotated the kafka keys.\n",
            author="alice",
            project="acme",
            date="2026-03-03T00:00:00.000000Z",
            description="summary",
        )
    )
    store.close()
    by = {h["path"]: h for h in run_json(capsys, "kafka")}
    assert by["/summaries/alice/s1.md"]["kind"] == "summary" and by["/notes/kafka.md"]["kind"] == "note"
    assert "/summaries/alice/s1.md" not in {h["path"] for h in run_json(capsys, "kafka", "--project", "infra")}
    assert main(["search", "rotated"]) == 0
    head, text = capsys.readouterr().out.splitlines()
    assert head.startswith("/summaries/alice/s1.md  alice  2026-03-0") and "Alice rotated the kafka keys." in text
