"""Every dashboard page on the Deeplake stand-in (real PostgreSQL behind it): a page sends at most
one statement per store section its module declares, a reload within the cache's TTL sends none,
no page writes, and an Accept through the page publishes the next version in the store.

Seeded: two sessions (alice's, with a summary), team skill ``db-migrate--alice`` v1 and v2 with
outcome rows, a held edit of it and a drafted new skill (``db-release``)."""

from __future__ import annotations

import re
import urllib.parse
import uuid

import pytest

from lakeloop.capture.rows import build_message, session_row
from lakeloop.identity import Identity
from lakeloop.skillopt import review
from lakeloop.skillopt.drafts import Draft, draft_row
from lakeloop.skillopt.parse import Edit
from lakeloop.store.memory_types import NoteRow
from lakeloop.summaries import path_for
from tests.support.optimizer import BODY_V1, REF, seed_skill
from tests.support.outcomes import seed_outcomes, uses
from tests.support.summaries import T0_NS
from tests.support.ui import start_ui

ALICE = Identity("alice", "acme", "default")
BOB = Identity("bob", "acme", "default")
ADDED = "0. Back up the database first."
BODY_V2 = BODY_V1.replace("2. Tell", "2. Check `alembic current`.\n3. Tell")
WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|TRUNCATE)\b", re.I)

#: (page, store sections its module docstring declares).
PAGES = [
    ("/sessions", 2),  # session_list + the page's summaries
    ("/sessions?q=zanzibar", 1),  # the BM25 search
    ("/sessions/view?path=" + urllib.parse.quote(ALICE.session_path("s-zan"), safe=""), 2),  # rows + summary
    ("/skills", 1),  # skill_rows
    (f"/skills/{REF}", 2),  # the skill's rows + its outcome rows
    ("/proposals", 1),  # list_proposals
]


def _row(identity: Identity, session: str, prompt: str, at_ns: int):
    message = build_message(
        {"hook_event_name": "UserPromptSubmit", "session_id": session, "cwd": "/work/shop", "prompt": prompt},
        received_at_ns=at_ns,
    )
    assert message is not None
    return session_row(message, identity)


def _seed(store) -> tuple[str, str]:
    """The module docstring's rows; ``(held edit id, draft id)``."""
    minute = 60 * 10**9
    store.append_session_rows(
        [
            _row(ALICE, "s-zan", "plan the zanzibar-migration please", T0_NS),
            _row(ALICE, "s-zan", "now run it", T0_NS + minute),
            _row(BOB, "s-bob", "fix the flaky test", T0_NS + 5 * minute),
        ]
    )
    summary = "## What Happened\nAlice migrated the zanzibar tables.\n"
    store.put_memory_doc(
        NoteRow(uuid.uuid4().hex, path_for("alice", "s-zan"), summary, "alice", "shop", "2026-03-01T11:00:00.000Z")
    )
    seed_skill(store, 1)
    v2 = seed_skill(store, 2, body=BODY_V2, contributors=["alice", "bob"])
    seed_outcomes(store, REF, uses(1, 2, 5, "a", "2026-11-02T10:00:00Z") + uses(2, 1, 5, "b", "2026-11-16T10:00:00Z"))
    body = BODY_V2.replace("## Steps\n", f"## Steps\n{ADDED}\n")
    held = review.proposal_row(
        v2, body, [Edit("insert_after", "## Steps", ADDED)], "judge", ["adds a step"], "bob", "s"
    )
    store.insert_skill(held)
    draft = Draft(
        name="db-release",
        description="Release the database.",
        body="---\nname: db-release\ndescription: Release the database.\n---\n# db-release\n1. Tag it.\n",
    )
    row = draft_row(draft, "e" * 32, ["git tag"], ["/sessions/alice/a.jsonl"], ["a"], [], "alice")
    store.insert_skill(row)
    return held.id, row.id


def _csrf(html: str) -> str:
    found = re.findall(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert len(found) == 1, html
    return found[0]


@pytest.mark.parametrize("store_kind", ["deeplake"], indirect=True)
def test_each_page_sends_at_most_one_query_per_section_none_on_a_reload_and_accept_publishes(store_kind, deeplake):
    from lakeloop.store import open_store

    with open_store() as store:
        edit_id, draft_id = _seed(store)
    confirm = "/proposals/confirm?" + urllib.parse.urlencode({"ref": REF, "id": edit_id, "action": "accept"})
    deeplake.reset_counters()
    ui = start_ui(LAKELOOP_UI_CACHE_S="30", LAKELOOP_USER="tester")
    sent: dict[str, tuple[int, int]] = {}
    failed: set[str] = set()
    try:
        with ui.signed_in() as client:
            for path, _ in [*PAGES, (confirm, 1)]:
                before = len(deeplake.queries())
                first = client.get(path)
                middle = len(deeplake.queries())
                second = client.get(path)
                assert first.status_code == second.status_code == 200, (path, first.text[-800:])
                sent[path] = (middle - before, len(deeplake.queries()) - middle)
                if 'class="bad"' in first.text:
                    failed.add(path)
                if "q=" in path:
                    assert "plan the <mark>zanzibar</mark>" in first.text or "zanzibar-migration" in first.text
            reads = list(deeplake.queries())
            csrf = _csrf(client.get(confirm).text)
            done = client.post(
                "/proposals/accept", data={"ref": REF, "id": edit_id, "csrf": csrf}, headers={"origin": ui.base}
            )
    finally:
        ui.stop()
    assert failed == set()  # the search too: a read-only store searches without creating an index
    declared = {path: n for path, n in PAGES} | {confirm: 0}  # the confirmation reuses the list's cached answer
    assert {p: first for p, (first, _) in sent.items() if first > declared[p]} == {}, sent
    assert {p: again for p, (_, again) in sent.items() if again} == {}, sent
    assert sent["/proposals"][0] == 1 and sent[f"/skills/{REF}"][0] == 2  # each section did query once
    assert not [q for q in reads if WRITES.match(q)]
    assert done.status_code == 200, done.text
    assert f"{REF} v3</a>" in done.text
    with open_store() as store:
        current = store.current_skill("db-migrate", "alice")
        left = {r.id for r in store.skill_rows(scope="proposal")}
    assert current is not None and current.version == 3 and ADDED in current.body
    assert current.contributors[-1] == "tester"
    assert left == {draft_id}
