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


def test_human_output_is_one_line_per_hit_best_first(capsys):
    """Human output: ``path:line  score  text`` (``path`` alone for a document), best first, in
    the --json order, and each hit on one line."""
    fill()
    order = [(h["path"], h["line"]) for h in run_json(capsys, "kafka", "broker")]
    assert main(["search", "kafka", "broker"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(order)
    shown = []
    for line in out:
        where, score, text = line.split("  ", 2)
        path, _, num = where.partition(":")
        shown.append((path, int(num) if num else 0))
        assert float(score) > 0 and text
    assert shown == order and shown[0] == (ALICE, 2)


def test_control_characters_in_stored_text_stay_inert(capsys):
    """A stored ESC sequence or line break is printed as spaces, never as itself."""
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
    assert "\x1b" not in out and "\r" not in out and out.count("\n") == 1 and "second line" in out


def test_unreadable_store_exits_1_with_a_message(capsys, monkeypatch):
    """The store cannot be opened: exit 1 and one clear line on stderr, nothing on stdout."""
    monkeypatch.setenv("LAKELOOP_STORE", "deeplake")  # and no credentials anywhere
    assert main(["search", "kafka"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("lakeloop: cannot search the store:")
