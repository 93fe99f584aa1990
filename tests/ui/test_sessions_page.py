"""The Sessions pages of ``lakeloop ui`` (``/sessions`` and ``/sessions/view``), through a real
``lakeloop ui`` process on a seeded embedded store: the list (user, agent, project, start, length,
summary's first sentence), its filters and paging, the BM25 search, a session's summary and
timeline, the 404 for anything not a session path, stored markup escaped, and the pages in a real
browser."""

from __future__ import annotations

import re
import uuid

import pytest

from lakeloop.capture.rows import build_message, session_row
from lakeloop.identity import Identity
from lakeloop.store.embedded import EmbeddedStore
from lakeloop.store.memory_types import NoteRow
from lakeloop.summaries import path_for
from tests.support import browser as browser_support
from tests.support.summaries import T0_NS
from tests.support.ui import Ui, start_ui
from tests.support.waiting import wait_until

PAYLOAD = '<img src=x onerror="window.__x=1">'
ESCAPED = "&lt;img src=x onerror=&#34;window.__x=1&#34;&gt;"
ALICE = Identity("alice", "acme", "default")
BOB = Identity("bob", "acme", "default")
ALICE_PATH = ALICE.session_path("s-zan")
SUMMARY = "# Session s-zan\n\n## What Happened\nAlice migrated the zanzibar tables. Then she wrote notes.\n"


def _row(identity: Identity, session: str, turn: tuple, at_ns: int | None, cwd: str = "/work/shop"):
    payload: dict = {"session_id": session, "cwd": cwd}
    kind = turn[0]
    if kind == "user":
        payload.update(hook_event_name="UserPromptSubmit", prompt=turn[1])
    elif kind == "assistant":
        payload.update(hook_event_name="Stop", last_assistant_message=turn[1])
    else:
        payload.update(hook_event_name="PostToolUse", tool_name=turn[1], tool_input=turn[2], tool_response=turn[3])
    message = build_message(payload, received_at_ns=at_ns)
    assert message is not None
    return session_row(message, identity)


def _seed(extra_sessions: int = 0) -> None:
    """alice's March session (prompt, Bash call, answer; summary), bob's session of today, and the
    XSS payload in a prompt, a tool call, an answer, a project and a summary (session s-xss)."""
    minute = 60 * 10**9
    rows = [
        _row(ALICE, "s-zan", ("user", "plan the zanzibar-migration please"), T0_NS),
        _row(ALICE, "s-zan", ("tool", "Bash", {"command": "psql -f migrate.sql"}, "ALTER TABLE done"), T0_NS + minute),
        _row(ALICE, "s-zan", ("assistant", "The tables are migrated."), T0_NS + 12 * minute),
        _row(BOB, "s-bob", ("user", "fix the flaky test"), None, cwd="/work/api"),
        _row(ALICE, "s-xss", ("user", PAYLOAD), T0_NS - 60 * minute, cwd="/work/" + PAYLOAD),
        _row(ALICE, "s-xss", ("tool", "Bash", {"command": PAYLOAD}, PAYLOAD), T0_NS - 59 * minute, "/work/" + PAYLOAD),
        _row(ALICE, "s-xss", ("assistant", PAYLOAD), T0_NS - 58 * minute, cwd="/work/" + PAYLOAD),
    ]
    rows += [
        _row(BOB, f"s-old{i:03d}", ("user", f"old prompt {i}"), T0_NS - (i + 100) * 60 * minute)
        for i in range(extra_sessions)
    ]
    with EmbeddedStore.open_default() as store:
        store.append_session_rows(rows)
        for session, text in (("s-zan", SUMMARY), ("s-xss", f"## What Happened\n{PAYLOAD} ran.\n")):
            store.put_memory_doc(
                NoteRow(uuid.uuid4().hex, path_for("alice", session), text, "alice", "shop", "2026-03-01T11:00:00.000Z")
            )


@pytest.fixture
def seeded() -> Ui:
    _seed()
    ui = start_ui(LAKELOOP_STORE="embedded")
    try:
        yield ui
    finally:
        if ui.proc.poll() is None:
            ui.proc.kill()
        ui.proc.communicate()


def _rows(html: str) -> list[list[str]]:
    """The list table's body rows as cell texts (tags dropped)."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def _view(path: str) -> str:
    from urllib.parse import quote

    return "/sessions/view?path=" + quote(path, safe="")


def test_the_list_shows_each_session_with_the_first_sentence_of_its_summary(seeded):
    with seeded.signed_in() as client:
        answer = client.get("/sessions")
    assert answer.status_code == 200
    assert "<h1>Sessions</h1>" in answer.text
    rows = _rows(answer.text)
    users = [r[0] for r in rows]
    assert users[0] == "bob"  # newest first: bob's session is from today
    zan = next(r for r in rows if r[6].startswith("Alice"))
    assert zan[:3] == ["alice", "claude_code", "shop"]
    assert zan[4:] == ["12 min", "3", "Alice migrated the zanzibar tables."]
    assert _view(ALICE_PATH).replace("/sessions/view?", "") in answer.text.replace("&amp;", "&")


def test_the_filters_narrow_the_list(seeded):
    with seeded.signed_in() as client:
        by_user = _rows(client.get("/sessions", params={"user": "bob"}).text)
        by_project = _rows(client.get("/sessions", params={"project": "shop"}).text)
        today = _rows(client.get("/sessions", params={"since": "today"}).text)
        none = client.get("/sessions", params={"agent": "codex"}).text
        form = client.get("/sessions", params={"user": "bob"}).text
    assert [r[0] for r in by_user] == ["bob"]
    assert [(r[0], r[2]) for r in by_project] == [("alice", "shop")]
    assert [r[0] for r in today] == ["bob"]
    assert "No sessions match." in none and _rows(none) == []
    assert 'name="user" value="bob"' in form  # the form keeps the filter


def test_the_list_is_paged_and_the_pages_keep_the_filters(tmp_path):
    _seed(extra_sessions=55)
    ui = start_ui(LAKELOOP_STORE="embedded")
    try:
        with ui.signed_in() as client:
            first = client.get("/sessions", params={"user": "bob"}).text
            second = client.get("/sessions", params={"user": "bob", "page": "2"}).text
    finally:
        ui.proc.kill()
        ui.proc.communicate()
    assert len(_rows(first)) == 50 and 'href="?user=bob&amp;page=2"' in first and 'rel="prev"' not in first
    assert len(_rows(second)) == 6 and 'href="?user=bob&amp;page=1"' in second and 'rel="next"' not in second


def test_a_hostile_page_number_is_still_a_page(seeded):
    with seeded.signed_in() as client:
        for page in ("99999999999999999999999", "-3", "x"):
            answer = client.get("/sessions", params={"page": page})
            assert answer.status_code == 200 and "cannot read the store" not in answer.text, (page, answer.text)


def test_search_finds_the_seeded_term_and_links_its_session(seeded):
    with seeded.signed_in() as client:
        answer = client.get("/sessions", params={"q": "zanzibar-migration"})
        nothing = client.get("/sessions", params={"q": "qwertyuiopasdf"})
    assert answer.status_code == 200
    assert "zanzibar-migration" in answer.text
    assert 'href="/sessions/view?path=%2Fsessions%2Falice%2Falice_acme_default_s-zan.jsonl"' in answer.text
    assert "No matches in the team memory." in nothing.text


def test_a_session_page_shows_its_summary_and_a_timeline(seeded):
    with seeded.signed_in() as client:
        answer = client.get(_view(ALICE_PATH))
    html = answer.text
    assert answer.status_code == 200 and "<h1>Session</h1>" in html
    assert '<pre class="text"># Session s-zan' in html and "Then she wrote notes." in html
    prompt = html.index("plan the zanzibar-migration please")
    tool = html.index('<details><summary><span class="label">Bash</span> call</summary>')
    answer_at = html.index("The tables are migrated.")
    assert prompt < tool < answer_at  # oldest first
    details = html[tool : html.index("</details>", tool)]
    assert "psql -f migrate.sql" in details and "ALTER TABLE done" in details
    assert "12 min" in html and "3 events" in html


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/summaries/alice/s-zan.md",
        "/sessions/alice/../../etc/passwd.jsonl",
        "/sessions/alice/alice_acme_default_nobody.jsonl",
        "/sessions/alice/x.jsonl\n",
    ],
)
def test_a_path_that_is_not_a_stored_session_is_not_found(seeded, path):
    with seeded.signed_in() as client:
        answer = client.get("/sessions/view", params={"path": path} if path else None)
    assert answer.status_code == 404 and "<h1>Not found</h1>" in answer.text


def test_stored_markup_is_escaped_on_the_list_the_search_and_the_session_page(seeded):
    with seeded.signed_in() as client:
        pages = {
            "list": client.get("/sessions").text,
            "search": client.get("/sessions", params={"q": "onerror"}).text,
            "session": client.get(_view(ALICE.session_path("s-xss"))).text,
        }
    for name, html in pages.items():
        assert PAYLOAD not in html and "<img" not in html, name
        assert ESCAPED in html, name
    assert pages["session"].count(ESCAPED) >= 5  # prompt, tool input, tool output, answer, summary, project


def test_the_sessions_pages_in_a_real_browser(browser, seeded, screenshots):
    from selenium.webdriver.common.by import By

    browser.get(seeded.url)
    wait_until(lambda: "token=" not in browser.current_url, 10, "the sign-in refresh")
    browser_support.console_errors(browser)
    for name, path, heading, text in (
        ("sessions-list", "/sessions", "Sessions", "Alice migrated the zanzibar tables."),
        ("sessions-search", "/sessions?q=zanzibar-migration", "Sessions", "zanzibar-migration"),
        ("session-page", _view(ALICE_PATH), "Session", "plan the zanzibar-migration please"),
        ("session-xss", _view(ALICE.session_path("s-xss")), "Session", PAYLOAD),
    ):
        browser.get(seeded.base + path)
        content = browser.find_element(By.ID, "content")
        assert content.find_element(By.TAG_NAME, "h1").text == heading, name
        assert text in content.text, name
        assert content.find_elements(By.CSS_SELECTOR, "img, script, svg") == [], name
        assert browser.execute_script("return window.__x") is None, name
        assert browser_support.open_alert(browser) is None, name
        assert browser_support.console_errors(browser) == [], name
        browser_support.screenshot(browser, screenshots, name)
    summary = browser.find_element(By.CSS_SELECTOR, "li.event.tool details summary")
    summary.click()  # a collapsed tool call opens
    assert PAYLOAD in browser.find_element(By.CSS_SELECTOR, "li.event.tool details").text
    assert (screenshots / "session-page.png").read_bytes().startswith(b"\x89PNG")
