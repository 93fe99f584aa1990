"""``Store.outcome_uses(ref)`` on both stores (the embedded file and the Deeplake stand-in on
PostgreSQL): one statement reads the outcome rows under ``/outcomes/<ref>/`` grouped by path and
description; rows another client wrote in another shape are dropped, never an error; the refs
``a`` and ``ab`` never mix; and outcome rows never show in the memory path (through the real
PreToolUse hook) or in ``lakeloop search``."""

from __future__ import annotations

import json
import uuid

import pytest

from lakeloop.store import open_store
from lakeloop.store.base import OutcomeUse
from lakeloop.store.memory_types import NoteRow
from tests.support.cli import run_lakeloop
from tests.support.outcomes import seed_outcomes

REF = "db-migrate--alice"
T1, T2, T3 = "2026-03-02T10:00:00.000000Z", "2026-03-03T11:00:00.000000Z", "2026-03-09T12:00:00.000000Z"


def by_use(uses: list[OutcomeUse]) -> list[tuple]:
    return sorted((u.use, u.version, u.verdict, u.used_at, u.rows) for u in uses)


def foreign(path: str, description: str, summary: str = "{}", date: str = T1, rid: str | None = None) -> NoteRow:
    """A memory row another client wrote at ``path``."""
    return NoteRow(
        id=rid or str(uuid.uuid5(uuid.NAMESPACE_URL, repr((path, description, summary, date)))),
        path=path,
        text=summary,
        author="mallory",
        project="",
        date=date,
        description=description,
    )


def test_one_use_per_path_and_description_with_its_earliest_time_and_row_count(store):
    """Two judgments of u1 with one verdict merge (rows 2, the earlier time); a different verdict
    of u1 is its own entry (``stats.per_use`` ranks them); an unknown version reads as None; the
    same rows seeded again store nothing new."""
    entries = [
        (1, "failure", "u1", T2),
        (1, "failure", "u1", T1),
        (1, "success", "u1", T3),
        (2, "no_pushback", "u2", T2),
        (None, "unclear", "u3", T3),
    ]
    seed_outcomes(store, REF, entries)
    seed_outcomes(store, REF, entries, unsure=True)  # a retried write: the same row ids
    assert by_use(store.outcome_uses(REF)) == [
        ("u1", 1, "failure", T1, 2),
        ("u1", 1, "success", T3, 1),
        ("u2", 2, "no_pushback", T2, 1),
        ("u3", None, "unclear", T3, 1),
    ]
    assert store.outcome_uses("other--alice") == []


def test_outcome_uses_ignores_malformed_rows(store, store_kind):
    """A teammate's rows in another shape under the prefix are skipped: a description that is not
    the outcome format (a note, another verdict, a version 0, a trailing word, a non-ASCII digit),
    a file not ending ``.json``, a deeper path, an unreadable date, a control character in the
    path. A non-JSON summary cannot fail the statement (no JSON is read in SQL): with a
    well-formed description such a row still counts."""
    good = "lakeloop-outcome v=2 verdict=failure"
    bad = [
        foreign(f"/outcomes/{REF}/x1.json", "note"),
        foreign(f"/outcomes/{REF}/x2.json", "lakeloop-outcome v=2 verdict=maybe"),
        foreign(f"/outcomes/{REF}/x3.json", "lakeloop-outcome v=0 verdict=failure"),
        foreign(f"/outcomes/{REF}/x4.json", good + " extra"),
        foreign(f"/outcomes/{REF}/x5.json", "lakeloop-outcome v=\u0663 verdict=failure"),
        foreign(f"/outcomes/{REF}/x6.md", good),
        foreign(f"/outcomes/{REF}/deeper/x7.json", good),
        foreign(f"/outcomes/{REF}/x8.json", good, date="last tuesday"),
        foreign(f"/outcomes/{REF}/.json", good),
    ]
    if store_kind == "embedded":  # Deeplake's literals drop control characters on the way in
        bad.append(foreign(f"/outcomes/{REF}/x\x1b9.json", good))
    for row in bad:
        store.put_memory_doc(row)
    store.put_memory_doc(foreign(f"/outcomes/{REF}/kept.json", good, summary="not json {"))
    seed_outcomes(store, REF, [(1, "success", "u1", T1)])
    assert by_use(store.outcome_uses(REF)) == [("kept", 2, "failure", T1, 1), ("u1", 1, "success", T1, 1)]


def test_a_ref_and_a_longer_ref_with_the_same_start_never_mix(store):
    """``a--x`` reads only its own directory, not ``a--xy``'s nor ``a--x.y``'s; neither reads the other's."""
    seed_outcomes(store, "a--x", [(1, "failure", "short", T1)])
    seed_outcomes(store, "a--xy", [(1, "success", "long", T1)])
    seed_outcomes(store, "a--x.y", [(1, "unclear", "dotted", T1)])
    store.put_memory_doc(foreign("/outcomes/a--x", "lakeloop-outcome v=1 verdict=failure"))  # a file, no dir
    assert [u.use for u in store.outcome_uses("a--x")] == ["short"]
    assert [u.use for u in store.outcome_uses("a--xy")] == ["long"]
    assert [u.use for u in store.outcome_uses("a--x.y")] == ["dotted"]


def test_a_quote_in_a_ref_is_a_value_not_sql(store):
    """The ref reaches SQL through the dialect's one escaping place: a quote is matched, never run."""
    seed_outcomes(store, "o'brien--alice", [(1, "failure", "u1", T1)])
    assert [u.use for u in store.outcome_uses("o'brien--alice")] == ["u1"]
    assert store.outcome_uses("x' OR '1'='1") == []


@pytest.mark.parametrize("store_kind", ["deeplake"], indirect=True)
def test_deeplake_reads_the_outcomes_of_a_skill_in_one_request(store_kind, request):
    standin = request.getfixturevalue("deeplake")
    store = open_store()
    store.ensure_tables()
    seed_outcomes(store, REF, [(1, "failure", f"u{i}", T1) for i in range(5)])
    standin.reset_counters()
    assert len(store.outcome_uses(REF)) == 5
    assert len(standin.requests) == 1
    store.close()


def test_outcome_rows_are_stored_as_json_files_of_the_user(store, store_kind):
    """The row's columns as the outcome format says: mime type, author, agent, empty project."""
    [row] = seed_outcomes(store, REF, [(3, "failure", "u1", T1)], user="bob", agent="codex")
    statement = f"SELECT mime_type, author, agent, project, filename FROM memory WHERE id = '{row.id}'"
    if store_kind == "embedded":
        got = tuple(store._run(statement)[0])
    else:
        got = tuple(store.client.query(statement)[0].values())
    assert got == ("application/json", "bob", "codex", "", "u1.json")
    assert json.loads(row.text)["version"] == 3


def test_outcome_rows_hidden_from_memory_path_and_search(store, store_kind, tmp_path):
    """Outcome rows are lakeloop's own records: the memory path (``ls -R``, ``grep -r``, a Read
    of the file, through ``hooks/run PreToolUse``) and ``lakeloop search`` never show them, while
    a note beside them shows."""
    from tests.support.hooks import pretooluse_payload, run_pretooluse
    from tests.support.memory_answers import agent_sees

    seed_outcomes(store, REF, [(1, "failure", "u1", T1)])
    store.put_memory_doc(foreign("/outcomes", "note", summary="seeded failure as a file"))
    store.insert_note(
        NoteRow(id="n1", path="/notes/todo.md", text="seeded failure in a note\n", author="alice", project="", date=T1)
    )
    cwd = tmp_path / "project"
    cwd.mkdir()
    memory = "~/.deeplake/memory"

    def sees(tool: str, tool_input: dict) -> str:
        decision, out, _ = run_pretooluse(pretooluse_payload(tool, tool_input, cwd))
        return agent_sees(tool, decision, out, cwd)

    listing = sees("Bash", {"command": f"ls -R {memory}/"})
    assert "notes" in listing and "outcomes" not in listing
    found = sees("Bash", {"command": f"grep -r seeded {memory}/"})
    assert "todo.md" in found and "outcomes" not in found and "u1.json" not in found
    read = sees("Bash", {"command": f"cat {memory}/outcomes/{REF}/u1.json"})
    assert "seeded failure" not in read
    search = run_lakeloop("search", "seeded", "--json")
    assert search.returncode == 0, search.stderr
    assert "/notes/todo.md" in search.stdout and "/outcomes" not in search.stdout
