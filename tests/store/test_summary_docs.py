"""The store methods the summary job uses, on both stores (the embedded file and the Deeplake
stand-in on PostgreSQL): ``session_rows(after=)`` reads only the rows after a ``(creation_date,
id)`` pair; ``put_memory_doc`` writes a document exactly once by id (a retake, ``unsure``, and an
INSERT whose answer was lost never make a second row) and, with ``supersede``, leaves one row at
its path; on Deeplake the normal write is one request, two with ``supersede``."""

from __future__ import annotations

import copy

import pytest

from lakeloop.store import open_store
from lakeloop.store.memory_types import NoteRow
from tests.support.summaries import memory_table, rows_of

PATH = "/summaries/alice/s-1.md"


def twin(row, rid: str, content: str):
    """A copy of sessions row ``row`` (same date) with id ``rid`` and ``content``."""
    out = copy.copy(row)
    out.id = rid
    out.message = {**row.message, "id": rid, "content": content}
    return out


def doc(rid: str, text: str = "# Session s-1\n", path: str = PATH) -> NoteRow:
    return NoteRow(id=rid, path=path, text=text, author="alice", project="shop", date="2026-03-01T10:00:00.000000Z")


def test_session_rows_after_a_row_reads_only_what_follows_it(store):
    """Rows strictly after ``(creation_date, id)``, ties on the date broken by id; with a type filter."""
    turns = [("user", "a"), ("assistant", "b"), ("user", "c"), ("assistant", "d"), ("user", "e")]
    rows = rows_of("s-1", turns)
    # rows[2]'s date with an id before and one after its own
    before, behind = twin(rows[2], "s-0", "just before"), twin(rows[2], rows[2].id + "z", "just after")
    store.append_session_rows([*rows, before, behind])
    path = rows[0].path
    assert len(store.session_rows(path)) == 7
    cut = (rows[2].creation_date, rows[2].id)
    after = store.session_rows(path, after=cut)
    assert [r.message["content"] for r in after] == ["just after", "d", "e"]
    users = store.session_rows(path, types=("assistant_message",), after=cut)
    assert [r.message["content"] for r in users] == ["d"]
    last = rows[-1]
    assert store.session_rows(path, after=(last.creation_date, last.id)) == []


def test_put_memory_doc_writes_once_by_id_and_supersede_leaves_one_row(store):
    other = doc("o1", "another file", path="/summaries/alice/s-2.md")
    store.put_memory_doc(other)
    store.put_memory_doc(doc("v1", "first"))
    store.put_memory_doc(doc("v1", "first, sent again"), unsure=True)  # a retake: same id
    assert [(p, i) for p, i, _ in memory_table(store)] == [(PATH, "v1"), (other.path, "o1")]
    store.put_memory_doc(doc("v2", "second"), supersede=True)
    assert memory_table(store) == [(PATH, "v2", "second"), (other.path, "o1", "another file")]
    store.put_memory_doc(doc("v2", "second again"), unsure=True, supersede=True)
    assert memory_table(store) == [(PATH, "v2", "second"), (other.path, "o1", "another file")]


@pytest.mark.parametrize("store_kind", ["deeplake"], indirect=True)
def test_deeplake_put_memory_doc_costs_one_request_and_never_duplicates_a_lost_answer(store_kind, request):
    """One INSERT; ``supersede`` adds the DELETE; ``unsure`` adds one lookup first. An INSERT
    committed whose answer was a 500 is looked up, not sent again: one row."""
    standin = request.getfixturevalue("deeplake")
    store = open_store()
    store.ensure_tables()
    store.visibility_wait_s = 0.0
    try:
        for kw, sent in (({}, 1), ({"supersede": True}, 2), ({"unsure": True, "supersede": True}, 3)):
            standin.reset_counters()
            store.put_memory_doc(doc(f"id-{sent}"), **kw)
            assert len(standin.requests) == sent, standin.queries()
        standin.configure(after_commit_fail_sequence=[True])
        store.put_memory_doc(doc("lost-answer", path="/summaries/alice/s-3.md"))
        assert standin.after_commit_failed == 1
        assert [i for p, i, _ in memory_table(store) if p.endswith("s-3.md")] == ["lost-answer"]
    finally:
        store.close()
