"""``Store.skill_rows(..., bodies=False)`` on both stores (the embedded file and the Deeplake
stand-in on PostgreSQL): the same rows, in the same order, with every field but ``body`` as
stored and ``body`` empty; one statement, which does not read the body column (on Deeplake the
statement is checked: no megabyte body crosses the network for a list of skills)."""

from __future__ import annotations

import pytest

from lakeloop.store import open_store
from lakeloop.store.base import SkillRow

#: A body large enough that reading it would show, with markup in it.
BIG = "# big\n" + "line <b>of</b> the skill\n" * 20_000


def _rows() -> list[SkillRow]:
    return [
        SkillRow(id="a1", name="alpha", author="alice", body=BIG, version=1, created_at="2026-01-01T00:00:00Z"),
        SkillRow(
            id="a2",
            name="alpha",
            author="alice",
            body=BIG + "more\n",
            version=2,
            contributors=["alice", "bob"],
            source_sessions=["s-1"],
            description="Alpha things",
            created_at="2026-01-02T00:00:00Z",
        ),
        SkillRow(id="p1", name="alpha", author="alice", body="proposed", version=3, scope="proposal"),
        SkillRow(id="b1", name="beta", author="bob", body="# beta", version=1, created_at="2026-01-03T00:00:00Z"),
    ]


@pytest.fixture
def store(store_kind):
    s = open_store()
    if store_kind == "deeplake":
        s.ensure_tables()
    for row in _rows():
        s.insert_skill(row)
    yield s
    s.close()


def test_without_bodies_the_rows_are_the_same_but_for_an_empty_body(store):
    full = store.skill_rows()
    bare = store.skill_rows(bodies=False)
    assert [r.id for r in full] == ["a1", "a2", "p1", "b1"]
    assert [r.id for r in bare] == [r.id for r in full]
    assert [r.body for r in bare] == ["", "", "", ""]
    assert [{**vars(r), "body": ""} for r in full] == [vars(r) for r in bare]
    assert full[1].body == BIG + "more\n"  # the default still reads them


def test_the_filters_apply_without_bodies_too(store):
    assert [r.id for r in store.skill_rows("alpha", "alice", bodies=False)] == ["a1", "a2", "p1"]
    assert [r.id for r in store.skill_rows(scope="proposal", bodies=False)] == ["p1"]


def test_on_deeplake_one_statement_that_reads_no_body(store, store_kind, request):
    if store_kind != "deeplake":
        pytest.skip("the statement sent to Deeplake")
    standin = request.getfixturevalue("deeplake")
    standin.reset_counters()
    assert len(store.skill_rows(bodies=False)) == 4
    sent = standin.queries()
    assert len(sent) == 1
    assert sent[0].count('"body"') == 1 and "'' AS \"body\"" in sent[0]  # a constant, the column never read
