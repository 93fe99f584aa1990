"""A periodic summary, then the final one, through the real hooks, drainer, job runner and
``claude -p`` against a scripted model, on both stores: readers see one summary per session, the
final one; the memory table holds one row at the path; the refresh sent the previous summary and
only the events after it."""

from __future__ import annotations

import pytest

from lakeloop.store import open_store
from lakeloop.summaries import path_for
from lakeloop.summaries.prompts import DATA_FENCE, PREVIOUS_FENCE
from tests.support.fake_anthropic import FakeAnthropic, last_user_text
from tests.support.summaries import (
    answer,
    capture_session,
    end_session,
    fenced,
    memory_table,
    read_summary,
    summariser,
    summary_requests,
    summary_script,
    wait_summary,
)

SID = "4e3d2c1b-0a9f-4e8d-b7c6-5a4b3c2d1e0f"
PERIODIC = "Alice started moving the checkout to the new payment API."
FINAL = "Alice moved the checkout to the new payment API and the tests pass."


@pytest.fixture
def api():
    with FakeAnthropic(summary_script(answer(PERIODIC, "Finish the refund path."), answer(FINAL))) as server:
        yield server


def test_a_periodic_summary_then_the_final_one_leave_one_visible_summary(
    store_kind, api, claude_bin, monkeypatch, tmp_path
):
    summariser(monkeypatch, claude_bin, api, tmp_path)
    monkeypatch.setenv("LAKELOOP_SUMMARY_EVERY_N", "4")  # recorded by the session's hooks
    shop = tmp_path / "shop"
    shop.mkdir()
    capture_session(
        shop,
        SID,
        [("user", "move checkout to payapi"), ("assistant", "Started."), ("user", "go on"), ("assistant", "Half.")],
    )
    first = wait_summary(SID)
    assert first.outcome == "written"
    assert PERIODIC in read_summary("tester", SID, shop)

    capture_session(shop, SID, [("user", "now the refund path"), ("assistant", "All done, tests pass.")])
    end_session(shop, SID)
    final = wait_summary(SID, after=first.finished_at)
    assert final.outcome == "written"

    seen = read_summary("tester", SID, shop)
    assert FINAL in seen and PERIODIC not in seen
    assert seen.startswith(f"# Session {SID}\n")
    store = open_store()
    try:
        rows = memory_table(store)
    finally:
        store.close()
    assert [p for p, _, _ in rows] == [path_for("tester", SID)]  # one row: the refresh replaced it

    periodic_request, final_request = summary_requests(api)
    assert "payapi" in fenced(last_user_text(periodic_request), DATA_FENCE)[0]
    refresh = last_user_text(final_request)
    [previous] = fenced(refresh, PREVIOUS_FENCE)
    [data] = fenced(refresh, DATA_FENCE)
    assert PERIODIC in previous and "# Session" not in previous  # the sections we kept, not a store read
    assert "refund path" in data and "payapi" not in data and "go on" not in data
