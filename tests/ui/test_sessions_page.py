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
from tests.support.ui import Ui, running_ui_fixture, start_ui
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
    yield from running_ui_fixture(LAKELOOP_STORE="embedded")


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


def _started(**env: str) -> Ui:
    return start_ui(**env)


def _stopped(ui: Ui) -> None:
    if ui.proc.poll() is None:
        ui.proc.kill()
    ui.proc.communicate()


def test_a_long_session_and_a_huge_output_are_read_bounded_on_both_stores(store_kind, request):
    """A session longer than MAX_EVENTS shows its oldest MAX_EVENTS events and says how many were
    left out; a multi-megabyte tool output is cut by the store and marked. On Deeplake the page is
    one session query (with its LIMIT) and one summary query, and the answer stays small."""
    from lakeloop.store import open_store
    from lakeloop.ui.pages.sessions import MAX_EVENTS, MESSAGE_BYTES

    extra = 7
    rows = [_row(ALICE, "s-long", ("user", f"prompt number {i}"), T0_NS + i * 10**9) for i in range(MAX_EVENTS + extra)]
    huge = _row(ALICE, "s-huge", ("tool", "Bash", {"command": "cat big.log"}, "x"), T0_NS)
    huge.message["tool_response"] = "z" * 6_000_000  # another client's row: capture would have cut it
    with open_store() as store:
        if store_kind == "deeplake":
            store.ensure_tables()
        store.append_session_rows(rows)
        store.append_session_rows([huge])
    deeplake = request.getfixturevalue("deeplake") if store_kind == "deeplake" else None
    ui = _started()
    try:
        with ui.signed_in() as client:
            if deeplake is not None:
                deeplake.reset_counters()
            long_page = client.get(_view(ALICE.session_path("s-long")))
            queries = list(deeplake.queries()) if deeplake is not None else []
            huge_page = client.get(_view(ALICE.session_path("s-huge")))
    finally:
        _stopped(ui)
    assert long_page.status_code == 200, long_page.text
    html = long_page.text
    assert f"{MAX_EVENTS + extra} events" in html
    assert f"{extra} later events are not shown." in html
    assert html.count('<li class="event prompt">') == MAX_EVENTS
    assert f"prompt number {MAX_EVENTS - 1}<" in html and f"prompt number {MAX_EVENTS}<" not in html
    assert huge_page.status_code == 200, huge_page.text
    size = len(huge.message["tool_response"])
    assert re.search(r'<span class="cut">\((\d{1,3}(,\d{3})+) bytes, cut\)</span>', huge_page.text)
    cut_at = int(re.search(r"\((\S+) bytes, cut\)", huge_page.text).group(1).replace(",", ""))
    assert size < cut_at < size + 1000
    assert "cat big.log" in huge_page.text and "zzzz" in huge_page.text
    assert len(huge_page.text) < 100_000 and len(huge_page.text) < MESSAGE_BYTES * 4
    if deeplake is not None:
        assert len(queries) == 2, queries  # the session's rows (and count), its summary
        assert f"LIMIT {MAX_EVENTS}" in queries[0] and "octet_length" in queries[0]


def _agents_seed() -> None:
    """The word quokka in a claude_code session of March 1st and a codex session of today."""
    with EmbeddedStore.open_default() as store:
        store.append_session_rows(
            [
                _row(ALICE, "s-claude", ("user", "feed the quokka"), T0_NS),
                _row(BOB, "s-codex", ("user", "count the quokka"), None),
            ]
        )
        store._db.execute("UPDATE sessions SET agent = 'codex' WHERE path = ?", (BOB.session_path("s-codex"),))
        store._db.commit()
        store.put_memory_doc(
            NoteRow(uuid.uuid4().hex, path_for("alice", "s-claude"), "## What Happened\nA quokka.\n", "alice",
                    "shop", "2026-03-01T11:00:00.000Z")
        )  # fmt: skip


def test_search_applies_the_agent_and_since_filters_and_says_what_they_mean(tmp_path):
    _agents_seed()
    ui = _started()
    claude, codex = ALICE.session_path("s-claude"), BOB.session_path("s-codex")
    summary = path_for("alice", "s-claude")
    try:
        with ui.signed_in() as client:
            every = client.get("/sessions", params={"q": "quokka"}).text
            by_agent = client.get("/sessions", params={"q": "quokka", "agent": "codex"}).text
            today = client.get("/sessions", params={"q": "quokka", "since": "today"}).text
            by_date = client.get("/sessions", params={"q": "quokka", "since": "2026-02-01"}).text
            bad_since = client.get("/sessions", params={"q": "quokka", "since": "someday"}).text
    finally:
        _stopped(ui)

    def found(html: str) -> set[str]:
        return {p for p in (claude, codex, summary) if p.replace("/", "%2F") in html or f"<code>{p}</code>" in html}

    assert found(every) == {claude, codex, summary}
    assert found(by_agent) == {codex}
    assert "The agent filter keeps session lines only" in by_agent and "agent filter" not in every
    assert found(today) == {codex}
    assert found(by_date) == {claude, codex, summary}
    assert found(bad_since) == {claude, codex, summary} and "The since filter is ignored" in bad_since


#: Hostile stored messages (JSON text or not), each with the text its event must show.
HOSTILE = [
    ('{"type": {"nested": true}, "content": "odd type"}', "odd type"),
    ('{"type": "tool_call", "tool_name": ["a", 1], "tool_input": ' + "[" * 900 + "]" * 900
     + ', "tool_response": "out-12"}', "out-12"),
    ('{"type": "user_message", "content": null}', 'class="event prompt"'),
    ('{"type": "assistant_message", "content": "bell\\u0007 and \\u202eevil"}', "bell\\x07 and \\u202eevil"),
    ('{"type": "user_message", "content": {"deep": ' + "[" * 3000 + "]" * 3000 + "}}", 'class="event prompt"'),
    ("[1, 2, 3]", "event other"),
    ("not json at all", "event other"),
    ('{"type": "user_message", "content": "' + "w" * 40_000 + '"}', "(40,"),
    ('{"type": "user_message", "content": 1e400, "session_id": 7}', 'class="event prompt"'),
]  # fmt: skip


def test_hostile_stored_values_render_clearly_and_never_fail(tmp_path):
    from lakeloop.ui.pages.sessions import SUMMARY_CHARS

    path = ALICE.session_path("s-odd")
    with EmbeddedStore.open_default() as store:
        store.append_session_rows([_row(ALICE, "s-odd", ("user", "a fine prompt"), T0_NS)])
        for n, (message, _) in enumerate(HOSTILE):
            when = ("9999-12-31T23:59:59Z", "garbage", "")[n % 3] if n < 3 else f"2026-03-01T1{n}:00:00.000000Z"
            store._db.execute(
                "INSERT INTO sessions (id, path, filename, message, author, size_bytes, project, description, agent,"
                " plugin_version, creation_date, last_update_date) VALUES (?, ?, 'f', ?, ?, 0, ?, '', ?, '', ?, ?)",
                (f"odd-{n}", path, message, "ali\x1bce", "pro\u202eject", "age\x07nt", when, when),
            )
        store._db.commit()
        store.put_memory_doc(
            NoteRow(uuid.uuid4().hex, path_for("alice", "s-odd"), "## What Happened\n" + "long summary " * 5000,
                    "alice", "shop", "2026-03-01T11:00:00.000Z")
        )  # fmt: skip
    ui = _started(TZ="JST-9")  # 9999-12-31T23:59:59Z is past the last local year here
    try:
        with ui.signed_in() as client:
            page = client.get(_view(path))
            listing = client.get("/sessions")
            search = client.get("/sessions", params={"q": "fine"})
            since = client.get("/sessions", params={"since": "0001-01-01"})  # before year 1 in UTC
            both = client.get("/sessions", params={"q": "fine", "since": "0001-01-01"})
    finally:
        _stopped(ui)
    for name, answer in (("page", page), ("list", listing), ("search", search), ("since", since), ("both", both)):
        assert answer.status_code == 200, (name, answer.text)
        assert "\x1b" not in answer.text and "\u202e" not in answer.text and "\x07" not in answer.text, name
    html = page.text
    assert f"{len(HOSTILE) + 1} events" in html and "a fine prompt" in html
    for _, shown in HOSTILE:
        assert shown in html, shown
    assert "9999-12-31T23:59:59Z" in html  # shown as stored: not a local time here
    assert "ali\\x1bce" in listing.text and "pro\\u202eject" in listing.text
    assert "a fine prompt" in search.text and "fine" in both.text
    summary = html.split('<section id="summary">', 1)[1].split("</section>", 1)[0]
    assert "long summary" in summary and len(summary) < SUMMARY_CHARS + 200 and summary.count("…") == 1


def test_an_event_of_any_stored_shape_is_text():
    """``event`` on messages a store can hand over (Deeplake decodes JSONB itself): values nested
    too deep to print, non-string names, a cut message; every field comes out as text."""
    from types import SimpleNamespace

    from lakeloop.store.memory_sql import CUT_KEY
    from lakeloop.ui.pages.sessions import TEXT_CHARS, event

    deep: list = []
    inner = deep
    for _ in range(100_000):
        inner.append([])
        inner = inner[0]
    tool = event(
        SimpleNamespace(
            creation_date="2026-03-01T00:00:00.000000Z",
            message={"type": "tool_call", "tool_name": {"n": 1}, "tool_input": deep, "tool_response": 10**5000},
        )
    )
    assert tool["kind"] == "tool" and tool["input"] == "(list, not shown)" and tool["output"] == "(int, not shown)"
    assert tool["tool"] == '{\n  "n": 1\n}' and tool["cut"] == ""
    cut = event(
        SimpleNamespace(creation_date="", message={"type": "user_message", "content": "a" * 9000, CUT_KEY: 12345678})
    )
    assert cut["kind"] == "prompt" and cut["cut"] == "(12,345,678 bytes, cut)" and len(cut["text"]) == TEXT_CHARS
    odd = event(SimpleNamespace(creation_date=None, message=["not", "a", "dict"]))
    assert odd["kind"] == "other" and odd["text"] == "{}" and odd["when"] == ""
