"""The Skills pages of ``lakeloop ui`` (``ui/pages/skills.py``): a real ``lakeloop ui`` process on a
seeded embedded store, read over HTTP with the session cookie, and once in a real browser.

Seeded: team skill ``db-migrate--alice`` v1 (alice), v2 (bob), v3 (the optimizer, from a session
of a user whose name is markup, with a reason and a body line that are markup too); outcome rows
v1 2/10 failed, v2 6/10, v3 1/10; two proposals for it; this machine pinned at v2; a second
skill ``lint-fix--bob`` v1 without outcomes; a drafted new skill (a proposal only) that is no
team skill. The failure rates and their 95 % Wilson intervals were worked out by hand:
2/10 = 20 % (6-51 %), 6/10 = 60 % (31-83 %), 1/10 = 10 % (2-40 %).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakeloop.skillopt import pins
from lakeloop.skillopt.versions import OPTIMIZER, with_reason
from lakeloop.store.base import SkillRow
from tests.support import browser as browser_support
from tests.support.optimizer import AUTHOR, BODY_V1, NAME, REF, seed_skill
from tests.support.outcomes import seed_outcomes, uses
from tests.support.ui import Ui, running_ui_fixture
from tests.support.waiting import wait_until

#: Stored markup the pages must show as text.
PAYLOAD = '<img src=x onerror="window.__x=1">'
ESCAPED = "&lt;img src=x onerror=&#34;window.__x=1&#34;&gt;"
BODY_V2 = BODY_V1.replace("2. Tell", "2. Check `alembic current`.\n3. Tell")
BODY_V3 = BODY_V2 + f"\nNote: {PAYLOAD}\n"
UI_DIR = Path(__file__).resolve().parents[2] / "plugin" / "lakeloop" / "ui"


def _seed(store) -> None:
    seed_skill(store, 1)
    seed_skill(store, 2, body=BODY_V2, contributors=["alice", "bob"])
    store.insert_skill(
        SkillRow(
            id="skill-v3",
            name=NAME,
            author=AUTHOR,
            body=BODY_V3,
            version=3,
            contributors=["alice", "bob", PAYLOAD, OPTIMIZER],
            source_sessions=["origin-session", "s-77"],
            description=with_reason("Run the project's database migrations", f"it skipped the check {PAYLOAD}"),
            created_at="2026-01-03T00:00:00.000000Z",
        )
    )
    store.insert_skill(
        SkillRow(id="lint-1", name="lint-fix", author="bob", body="# lint", created_at="2026-01-05T00:00:00Z")
    )
    for i in (1, 2):
        store.insert_skill(
            SkillRow(id=f"prop-{i}", name=NAME, author=AUTHOR, body=BODY_V3, version=4, scope="proposal")
        )
    store.insert_skill(SkillRow(id="draft-1", name="deploy", author="carol", body="# deploy", scope="proposal"))
    seed_outcomes(
        store,
        REF,
        uses(1, 2, 10, "a", "2026-11-02T10:00:00Z")
        + uses(2, 6, 10, "b", "2026-11-16T10:00:00Z")
        + uses(3, 1, 10, "c", "2026-11-30T10:00:00Z"),
    )


@pytest.fixture
def skills_ui() -> Iterator[Ui]:
    """A running ``lakeloop ui`` on the seeded embedded store (module docstring)."""
    from lakeloop.store.embedded import EmbeddedStore

    with EmbeddedStore.open_default() as store:
        _seed(store)
    pins.pin(REF, 2)
    yield from running_ui_fixture(LAKELOOP_STORE="embedded")


def _cells(page: str, table_id: str | None = None) -> list[list[str]]:
    """The text of each body row's cells (tags dropped, entities decoded) of the page's first
    table, or of the table ``table_id``."""
    if table_id is not None:
        page = page[page.index(f'id="{table_id}"') :]
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    return [
        [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def test_the_list_shows_each_team_skill_with_its_version_pin_and_waiting_proposals(skills_ui):
    with skills_ui.signed_in() as client:
        answer = client.get("/skills")
    assert answer.status_code == 200
    assert "<h1>Skills</h1>" in answer.text
    rows = _cells(answer.text)
    assert [row[0] for row in rows] == ["db-migrate--alice", "lint-fix--bob"]  # the draft is no team skill
    assert rows[0][1:2] == ["v3"] and rows[0][4:] == ["v2", "2"]
    assert rows[0][2] == f"lakeloop-skillopt, from {PAYLOAD}'s session optimizer"
    assert rows[1][1] == "v1" and rows[1][2] == "bob push" and rows[1][4:] == ["not pinned", "0"]
    assert 'href="/skills/db-migrate--alice"' in answer.text
    assert ESCAPED in answer.text and PAYLOAD not in answer.text


def test_the_skill_page_shows_versions_figures_chart_data_and_a_diff(skills_ui):
    with skills_ui.signed_in() as client:
        answer = client.get(f"/skills/{REF}?a=1&b=3")
    page = answer.text
    assert answer.status_code == 200 and "<h1>Skill</h1>" in page
    versions = _cells(page)
    assert [row[:3] for row in versions] == [
        ["v3 (current)", f"lakeloop-skillopt, from {PAYLOAD}'s session", "optimizer"],
        ["v2", "bob", "push"],
        ["v1", "alice", "push"],
    ]
    assert versions[0][3] == f"it skipped the check {PAYLOAD}"
    assert "This machine is pinned at v2" in page

    figures = [row[:8] for row in _cells(page, "version-stats")]
    assert figures == [
        ["v1", "10", "2", "8", "0", "0", "20%", "6–51%"],
        ["v2", "10", "6", "4", "0", "0", "60%", "31–83%"],
        ["v3 (current)", "10", "1", "9", "0", "0", "10%", "2–40%"],
    ]

    attributes = re.findall(r"data-series='([^']*)'", page)
    assert len(attributes) == 2
    chart = json.loads(html.unescape(attributes[0]))
    assert chart["versions"] == [1, 2, 3] and chart["rate"] == [0.2, 0.6, 0.1]
    assert [round(x * 100) for x in chart["low"]] == [6, 31, 2]
    assert [round(x * 100) for x in chart["high"]] == [51, 83, 40]
    assert chart["uses"] == [10, 10, 10] and chart["failures"] == [2, 6, 1]
    assert chart["weeks"] == [1793577600, 1794787200, 1795996800]  # Mondays 2026-11-02, -16, -30 (UTC)
    assert '<script src="/static/vendor/uPlot.iife.min.js" defer></script>' in page

    diff = re.search(r'<pre class="diff">(.*?)</pre>', page, re.S)
    assert diff is not None
    lines = re.findall(r'<span class="(\w+)">(.*?)</span>', diff.group(1))
    assert ("file", "--- v1") in lines and ("file", "+++ v3") in lines
    assert ("del", "-2. Tell the user the migration ran.") in lines
    assert ("add", "+2. Check `alembic current`.") in lines
    assert ("add", f"+Note: {ESCAPED}") in lines
    assert PAYLOAD not in page
    assert page.count(ESCAPED) == 3  # the publisher, the reason, the diff line


def test_the_default_diff_is_the_previous_version_against_the_current_one(skills_ui):
    with skills_ui.signed_in() as client:
        page = client.get(f"/skills/{REF}").text
        lone = client.get("/skills/lint-fix--bob").text
    assert '<option value="2" selected>v2</option>' in page and '<option value="3" selected>v3</option>' in page
    assert '<span class="file">--- v2</span>' in page
    assert "Showing v1 against itself" in lone and "No outcome records for this skill yet." in lone
    assert "data-series" not in lone


def test_a_ref_or_version_the_store_does_not_hold_answers_404(skills_ui):
    with skills_ui.signed_in() as client:
        for path in (
            "/skills/nobody--here",  # well formed, unknown
            "/skills/deploy--carol",  # a drafted skill: a proposal, no team skill
            "/skills/not%20a%20ref",  # malformed
            f"/skills/{REF}?a=9",
            f"/skills/{REF}?a=1&b=x",
            f"/skills/{REF}?a=%C2%B2",  # "²": str.isdigit, not a number int() reads
            f"/skills/{REF}?b=%D9%A1",  # Arabic-Indic one: a digit, not an ASCII one
        ):
            answer = client.get(path)
            assert answer.status_code == 404, path
            assert "<h1>Not found</h1>" in answer.text, path


#: A skill whose diffs pass the page's bounds: v1 and v2 differ in every one of 2,000 lines (a diff
#: of 4,003 lines); v3's body is exactly DIFF_MAX_CHARS characters, v4's one more.
LONG_REF = "long--carol"


def _long_bodies() -> list[str]:
    from lakeloop.ui.pages.skills import DIFF_MAX_CHARS

    return [
        "".join(f"old line {i}\n" for i in range(2000)),
        "".join(f"new line {i}\n" for i in range(2000)),
        "y" * DIFF_MAX_CHARS,
        "z" * (DIFF_MAX_CHARS + 1),
    ]


@pytest.fixture
def long_ui() -> Iterator[Ui]:
    """A running ``lakeloop ui`` whose store holds ``LONG_REF`` v1 to v4 (``_long_bodies``)."""
    from lakeloop.store.embedded import EmbeddedStore

    with EmbeddedStore.open_default() as store:
        for v, body in enumerate(_long_bodies(), 1):
            store.insert_skill(SkillRow(id=f"long-{v}", name="long", author="carol", body=body, version=v))
    yield from running_ui_fixture(LAKELOOP_STORE="embedded")


def test_bounded_diff_cuts_the_lines_and_refuses_bodies_over_the_cap():
    from lakeloop.ui.pages.skills import DIFF_MAX_CHARS, DIFF_MAX_LINES, bounded_diff

    v1, v2, at_cap, over_cap = _long_bodies()
    cut = bounded_diff(v1, v2, 1, 2)
    assert len(cut["lines"]) == DIFF_MAX_LINES == 3000 and cut["left_out"] == 4003 - 3000
    assert cut["lines"][:3] == [("file", "--- v1"), ("file", "+++ v2"), ("hunk", "@@ -1,2000 +1,2000 @@")]
    assert cut["too_large"] == []
    assert bounded_diff("a\n", "b\n", 1, 2)["left_out"] == 0
    assert bounded_diff(v2, at_cap, 2, 3)["lines"][-1] == ("add", "+" + "y" * DIFF_MAX_CHARS)
    refused = bounded_diff(at_cap, over_cap, 3, 4)
    assert refused == {"lines": [], "left_out": 0, "too_large": [(4, DIFF_MAX_CHARS + 1, 1)]}
    assert bounded_diff(over_cap, over_cap, 4, 4)["too_large"] == [(4, DIFF_MAX_CHARS + 1, 1)] * 2


def test_a_body_of_too_many_lines_is_not_diffed_and_the_diff_runs_off_the_event_loop():
    import random

    from lakeloop.ui.pages.skills import DIFF_MAX_BODY_LINES, bounded_diff

    at_cap = "\n".join("x" for _ in range(DIFF_MAX_BODY_LINES))
    over = at_cap + "\ny"
    assert bounded_diff(at_cap, at_cap + "z", 1, 2)["too_large"] == []
    assert bounded_diff(at_cap, over, 1, 2)["too_large"] == [(2, len(over), DIFF_MAX_BODY_LINES + 1)]
    # Short lines repeating just under difflib's junk threshold: the shape that took 20 s at
    # 66,000 lines; at the cap it stays a fraction of a second (no timing asserted here).
    rnd = random.Random(0)
    values = [f"{i % 102:03x}" for i in range(DIFF_MAX_BODY_LINES)]
    rnd.shuffle(values)
    old = "\n".join(values)
    rnd.shuffle(values)
    assert bounded_diff(old, "\n".join(values), 1, 2)["lines"]


def test_the_skill_page_shows_a_bounded_diff_and_says_what_it_left_out(long_ui):
    with long_ui.signed_in() as client:
        long = client.get(f"/skills/{LONG_REF}?a=1&b=2")
        at_cap = client.get(f"/skills/{LONG_REF}?a=2&b=3")
        over_cap = client.get(f"/skills/{LONG_REF}?a=3&b=4")
    assert long.status_code == at_cap.status_code == over_cap.status_code == 200
    shown = re.search(r'<pre class="diff">(.*?)</pre>', long.text, re.S)
    assert shown is not None and len(re.findall(r"<span ", shown.group(1))) == 3000
    assert "+new line 1998" not in long.text  # the tail is left out
    assert "1,003 more diff lines not shown (the first 3,000 are;" in long.text
    assert f"lakeloop skills diff {LONG_REF} 1 2" in long.text

    assert '<pre class="diff">' in at_cap.text and "Not diffed" not in at_cap.text and "not shown" not in at_cap.text
    assert '<pre class="diff">' not in over_cap.text and "z" * 1000 not in over_cap.text
    assert (
        "Not diffed: v4 has 200,001 characters in 1 line, more than a diff is shown for here "
        "(200,000 characters or 5,000 lines;" in over_cap.text
    )


def test_the_skill_templates_hold_no_inline_script_or_style():
    for name in ("skills.html", "skill.html"):
        text = (UI_DIR / "templates" / name).read_text()
        assert "style=" not in text and "<style" not in text and "|safe" not in text.replace(" ", ""), name
        assert re.findall(r"<script(?![^>]*\bsrc=)", text) == [], name


def test_the_skill_page_in_a_browser_draws_its_charts_and_runs_no_stored_markup(browser, skills_ui, screenshots):
    from selenium.webdriver.common.by import By

    browser.get(skills_ui.url)
    wait_until(lambda: "token=" not in browser.current_url, 10, "the sign-in page to refresh")
    browser_support.console_errors(browser)  # the sign-in page's entries, if any
    for name, path, heading in (("skills", "/skills", "Skills"), ("skill", f"/skills/{REF}?a=1&b=3", "Skill")):
        browser.get(skills_ui.base + path)
        assert browser.find_element(By.CSS_SELECTOR, "main#content h1").text == heading
        content = browser.find_element(By.ID, "content")
        assert PAYLOAD in content.text  # shown, as text
        assert content.find_elements(By.CSS_SELECTOR, "img, svg, iframe, object") == []
        if name == "skill":
            wait_until(
                lambda: (
                    len(browser.find_elements(By.CSS_SELECTOR, "#rate-chart .uplot canvas")) == 1
                    and len(browser.find_elements(By.CSS_SELECTOR, "#uses-chart .uplot canvas")) == 1
                ),
                10,
                "uPlot to draw both charts",
            )
            assert "60%" in browser.find_element(By.ID, "version-stats").text
        assert browser.execute_script("return window.__x") is None
        assert browser_support.open_alert(browser) is None
        assert browser_support.console_errors(browser) == [], name  # a CSP violation would be one
        browser_support.screenshot(browser, screenshots, f"skills-{name}")
