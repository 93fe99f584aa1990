"""The Proposals page of ``lakeloop ui``: a real ``lakeloop ui`` subprocess on a seeded embedded store.

Rules under test: the list shows each held edit (its diff, who/which session, the judge's reason,
what held it) and each drafted new skill (its body, the sessions and steps it came from, the
guard's findings), every stored text escaped; Accept and Reject go through a confirmation page
whose POST form carries the CSRF value; the POST runs the same code path as ``lakeloop skills
accept|reject`` (the next version published, the proposal row deleted) and clears the store cache;
a second accept is refused with its reason; a POST without the CSRF value, with a wrong one or
from another origin is refused and changes nothing. In a real browser: Accept -> Confirm publishes
v+1 (checked in the store), and the stored markup never runs.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator

import pytest

from lakeloop import paths
from lakeloop.skillopt import review
from lakeloop.skillopt.drafts import Draft, decision_path, draft_row
from lakeloop.skillopt.parse import Edit
from lakeloop.store.embedded import EmbeddedStore
from tests.support import browser as browser_support
from tests.support.optimizer import BODY_V1, REF, seed_skill
from tests.support.ui import Ui, start_ui
from tests.support.waiting import wait_until

#: Stored markup the pages must show as text (judge reason, draft description, step, session path).
PAYLOAD = '<img src=x onerror="window.__x=1">'
ESCAPED = "&lt;img src=x onerror=&#34;window.__x=1&#34;&gt;"
ADDED = "0. Back up the database first."
DRAFT_REF = "db-release--tester"
FORM = "application/x-www-form-urlencoded"


def _seed(store: EmbeddedStore) -> tuple[str, str]:
    """db-migrate--alice v1, a held edit of it and a new-skill draft; ``(edit id, draft id)``."""
    base = seed_skill(store)
    edit = Edit("insert_after", "## Steps", ADDED)
    body = BODY_V1.replace("## Steps\n", f"## Steps\n{ADDED}\n")
    held = review.proposal_row(base, body, [edit], f"judge says {PAYLOAD}", ["adds a step"], "alice", "s-42")
    store.insert_skill(held)
    draft = Draft(
        name="db-release",
        description=f"Release the database {PAYLOAD}",
        body=f"---\nname: db-release\ndescription: Release the database.\n---\n# db-release\n1. {PAYLOAD}\n",
    )
    sessions = ["/sessions/tester/a.jsonl", f"/sessions/tester/{PAYLOAD}.jsonl", "/sessions/tester/c.jsonl"]
    row = draft_row(draft, "f" * 32, ["git fetch", PAYLOAD], sessions, ["a", "b", "c"], ["risky: runs git"], "tester")
    store.insert_skill(row)
    return held.id, row.id


@pytest.fixture
def seeded() -> Iterator[tuple[Ui, str, str]]:
    """A running ``lakeloop ui`` (as user ``tester``) on the seeded store; ``(ui, edit id, draft id)``."""
    with EmbeddedStore(paths.store_file()) as store:
        edit_id, draft_id = _seed(store)
    ui = start_ui(LAKELOOP_STORE="embedded", LAKELOOP_USER="tester", LAKELOOP_UI_CACHE_S="60")
    try:
        yield ui, edit_id, draft_id
    finally:
        if ui.proc.poll() is None:
            ui.proc.kill()
        ui.proc.communicate()


def _team_versions() -> list[int]:
    with EmbeddedStore(paths.store_file()) as store:
        return sorted(r.version for r in store.skill_rows("db-migrate", "alice", scope="team"))


def _proposal_ids() -> set[str]:
    with EmbeddedStore(paths.store_file()) as store:
        return {r.id for r in store.skill_rows(scope="proposal")}


def _confirm_path(ref: str, pid: str, action: str) -> str:
    return "/proposals/confirm?" + urllib.parse.urlencode({"ref": ref, "id": pid, "action": action})


def _csrf(html: str) -> str:
    found = re.findall(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert len(found) == 1, html
    return found[0]


def test_the_list_shows_each_edit_and_draft_with_diff_evidence_and_findings_escaped(seeded):
    ui, edit_id, draft_id = seeded
    with ui.signed_in() as client:
        page = client.get("/proposals")
    assert page.status_code == 200
    html = page.text
    assert "<h1>Proposals</h1>" in html and "2 waiting for review" in html
    assert f"Edit of {REF}" in html and f"+{ADDED}" in html  # the diff against v1
    assert "alice's session s-42" in html and "adds a step" in html
    assert "New skill db-release" in html and "adds markup" in html and "seen in 3 sessions" in html
    assert "/sessions/view?path=%2Fsessions%2Ftester%2Fa.jsonl" in html  # evidence links to the session page
    assert _confirm_path(REF, edit_id, "accept").replace("&", "&amp;") in html
    assert _confirm_path(DRAFT_REF, draft_id, "reject").replace("&", "&amp;") in html
    # the payload, in the reason, the description, a step, a session path and the body: text only
    assert html.count(ESCAPED) >= 5 and PAYLOAD not in html and "<img" not in html


def test_the_confirmation_says_what_will_happen_and_posts_with_the_csrf_value(seeded):
    ui, edit_id, draft_id = seeded
    with ui.signed_in() as client:
        accept = client.get(_confirm_path(REF, edit_id, "accept"))
        reject = client.get(_confirm_path(DRAFT_REF, draft_id, "reject"))
        draft = client.get(_confirm_path(DRAFT_REF, draft_id, "accept"))
        unknown = [
            client.get(_confirm_path(REF, "0" * 36, "accept")).status_code,
            client.get(_confirm_path(REF, edit_id, "delete")).status_code,
            client.get("/proposals/confirm").status_code,
        ]
    assert accept.status_code == 200 and "<h1>Accept this proposal?</h1>" in accept.text
    assert f"publishes <strong>{REF} v2</strong>" in accept.text and f"+{ADDED}" in accept.text
    assert 'action="/proposals/accept"' in accept.text and 'method="post"' in accept.text
    assert f'name="id" value="{edit_id}"' in accept.text and _csrf(accept.text)
    assert reject.status_code == 200 and 'action="/proposals/reject"' in reject.text
    assert "will not be proposed again" in reject.text
    assert "publishes <strong>db-release--tester v1</strong>" in draft.text
    assert unknown == [404, 404, 404]
    assert ESCAPED in accept.text and PAYLOAD not in accept.text + reject.text + draft.text
    assert _team_versions() == [1] and _proposal_ids() == {edit_id, draft_id}  # a GET writes nothing


def test_accept_publishes_the_next_version_like_the_cli_and_clears_the_cache(seeded):
    ui, edit_id, draft_id = seeded
    with ui.signed_in() as client:
        assert edit_id[:8] in client.get("/proposals").text  # now cached for 60 s
        csrf = _csrf(client.get(_confirm_path(REF, edit_id, "accept")).text)
        done = client.post(
            "/proposals/accept", data={"ref": REF, "id": edit_id, "csrf": csrf}, headers={"origin": ui.base}
        )
        after = client.get("/proposals").text
        again = client.post(
            "/proposals/accept", data={"ref": REF, "id": edit_id, "csrf": csrf}, headers={"origin": ui.base}
        )
    assert done.status_code == 200, done.text
    assert "<h1>Proposal accepted</h1>" in done.text
    assert f'published\n<a href="/skills/{REF}">{REF} v2</a>' in done.text
    assert _team_versions() == [1, 2] and _proposal_ids() == {draft_id}
    with EmbeddedStore(paths.store_file()) as store:
        current = store.current_skill("db-migrate", "alice")
    assert current is not None and ADDED in current.body and current.contributors[-1] == "tester"
    assert edit_id[:8] not in after and "1 waiting for review" in after  # the cache was cleared
    assert again.status_code == 409 and "<h1>Refused</h1>" in again.text and "no proposal" in again.text.lower()
    assert _team_versions() == [1, 2]


def test_reject_deletes_a_draft_and_records_the_decision_like_the_cli(seeded):
    ui, edit_id, draft_id = seeded
    with ui.signed_in() as client:
        csrf = _csrf(client.get(_confirm_path(DRAFT_REF, draft_id, "reject")).text)
        done = client.post(
            "/proposals/reject", data={"ref": DRAFT_REF, "id": draft_id, "csrf": csrf}, headers={"origin": ui.base}
        )
    assert done.status_code == 200 and "<h1>Proposal rejected</h1>" in done.text
    assert f"Rejected draft <code>{draft_id[:8]}</code> of {DRAFT_REF}: this procedure will not be proposed again" in (
        done.text
    )
    assert _proposal_ids() == {edit_id} and _team_versions() == [1]
    with EmbeddedStore(paths.store_file()) as store:
        [(path,)] = store._run("SELECT path FROM memory WHERE path LIKE '/skillify/%'")
    assert path == decision_path("f" * 32)  # the procedure recorded as rejected for the team


def test_a_post_without_the_csrf_value_or_from_another_origin_is_refused_and_changes_nothing(seeded):
    ui, edit_id, draft_id = seeded
    with ui.signed_in() as client:
        csrf = _csrf(client.get(_confirm_path(REF, edit_id, "accept")).text)
        fields = {"ref": REF, "id": edit_id}
        for path in ("/proposals/accept", "/proposals/reject"):
            refused = {
                "no csrf": client.post(path, data=fields, headers={"origin": ui.base}),
                "wrong csrf": client.post(path, data={**fields, "csrf": "0" * 64}, headers={"origin": ui.base}),
                "other origin": client.post(
                    path, data={**fields, "csrf": csrf}, headers={"origin": "http://evil.example"}
                ),
                "no origin": client.post(path, data={**fields, "csrf": csrf}),
            }
            assert {k: r.status_code for k, r in refused.items()} == dict.fromkeys(refused, 403), path
            assert client.get(path).status_code == 405
    with ui.client() as stranger:  # no cookie at all
        assert stranger.post("/proposals/accept", data={**fields, "csrf": csrf}).status_code == 401
    assert _team_versions() == [1] and _proposal_ids() == {edit_id, draft_id}


def test_accept_in_a_real_browser_publishes_the_next_version(browser, seeded, screenshots):
    from selenium.webdriver.common.by import By

    ui, edit_id, _ = seeded

    def heading() -> str | None:  # one script call: no element that a navigation could make stale
        return browser.execute_script("const h = document.querySelector('main#content h1'); return h && h.textContent")

    browser.get(ui.url)
    wait_until(lambda: heading() == "Overview", 10, "the sign-in to reach the overview")
    browser_support.console_errors(browser)  # the sign-in page's entries, if any
    browser.get(ui.base + "/proposals")
    assert heading() == "Proposals"
    content = browser.find_element(By.ID, "content")
    assert PAYLOAD in content.text and f"Edit of {REF}" in content.text and "New skill db-release" in content.text
    assert content.find_elements(By.CSS_SELECTOR, "img, script, svg, iframe, object") == []
    browser_support.screenshot(browser, screenshots, "proposals")
    browser.find_element(By.CSS_SELECTOR, f"#p-{edit_id[:8]} a.accept").click()
    wait_until(lambda: heading() == "Accept this proposal?", 10, "the confirmation page")
    assert f"{REF} v2" in browser.find_element(By.CSS_SELECTOR, "p.what").text
    browser_support.screenshot(browser, screenshots, "proposal-confirm")
    browser.find_element(By.ID, "confirm").click()
    wait_until(
        lambda: heading() == "Proposal accepted", 10, "the result page", explain=lambda: browser.page_source[-1500:]
    )
    assert f"published {REF} v2" in browser.find_element(By.ID, "result").text
    browser_support.screenshot(browser, screenshots, "proposal-accepted")
    assert _team_versions() == [1, 2]
    assert browser.execute_script("return window.__x") is None
    assert browser_support.open_alert(browser) is None
    assert browser_support.console_errors(browser) == []


def test_a_proposal_of_megabytes_renders_bounded_and_says_what_it_left_out():
    from lakeloop.ui.pages.proposals import DIFF_CHARS, DIFF_LINES

    old = BODY_V1 + "".join(f"Step {i} of the old body.\n" for i in range(100_000))
    new = BODY_V1 + "".join(f"Step {i} of the {'new' if i % 3 else 'old'} body.\n" for i in range(100_000))
    with EmbeddedStore(paths.store_file()) as store:
        base = seed_skill(store, body=old)
        store.insert_skill(review.proposal_row(base, new, [], "judge", ["too big"], "alice", "s-1"))
        huge = Draft(
            name="huge", description="Huge.", body="---\nname: huge\ndescription: Huge.\n---\n" + "x" * 3_000_000
        )
        store.insert_skill(draft_row(huge, "d" * 32, ["a"], ["/sessions/a/b.jsonl"], ["a"], [], "tester"))
    ui = start_ui(LAKELOOP_STORE="embedded", LAKELOOP_USER="tester")
    try:
        with ui.signed_in() as client:
            page = client.get("/proposals", timeout=20)  # unbounded, the guard and difflib took minutes
    finally:
        ui.proc.kill()
        ui.proc.communicate()
    assert page.status_code == 200 and "2 waiting for review" in page.text
    diffs = re.findall(r'<pre class="diff">(.*?)</pre>', page.text, re.S)
    assert len(diffs) == 2 and all(len(d) <= DIFF_CHARS + 5_000 and d.count("\n") <= DIFF_LINES for d in diffs)
    assert re.search(r"[\d,]+ more lines \([\d,]+ characters\) not shown", page.text)
    assert page.text.count("not checked here: ") == 2  # the guard was not run on either
    assert "the diff covers only the first 2,000 lines" in page.text
    assert len(page.text) < 400_000


def test_an_accept_refused_by_another_error_answers_a_clear_409(tmp_path):
    """A draft the guard now refuses (skillify's ``DraftError``, made to be raised here) is a 409
    page naming the refusal, not a bare 500; nothing is published and the draft stays."""
    with EmbeddedStore(paths.store_file()) as store:
        edit_id, draft_id = _seed(store)
    prelude = (
        "import lakeloop.skillopt.review as _r\n"
        "from lakeloop.skillopt.drafts import DraftError as _E\n"
        "def _refuse(*a, **k):\n    raise _E('the draft is over 12000 characters: 99999')\n"
        "_r._accept_draft = _refuse"
    )
    ui = start_ui(LAKELOOP_STORE="embedded", LAKELOOP_USER="tester", prelude=prelude)
    try:
        with ui.signed_in() as client:
            csrf = _csrf(client.get(_confirm_path(DRAFT_REF, draft_id, "accept")).text)
            done = client.post(
                "/proposals/accept", data={"ref": DRAFT_REF, "id": draft_id, "csrf": csrf}, headers={"origin": ui.base}
            )
    finally:
        ui.proc.kill()
        ui.proc.communicate()
    assert done.status_code == 409, done.text
    assert "<h1>Refused</h1>" in done.text
    assert f"cannot accept proposal &#39;{draft_id}&#39; of &#39;{DRAFT_REF}&#39;: the draft is over 12000" in done.text
    assert _proposal_ids() == {edit_id, draft_id} and _team_versions() == [1]
