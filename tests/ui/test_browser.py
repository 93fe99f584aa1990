"""The dashboard in a real browser: headless Debian Chromium driven by Selenium (tests/ui/conftest.py).

The first tests prove the instruments the page tests rely on: the browser/driver pair matches, a
dialog and a console error are seen, a full-page screenshot is written, and the net log check tells
loopback from the rest. The others drive a real ``lakeloop ui`` (``tests.support.ui.start_ui``) on a
seeded embedded store: the token URL signs in (also from a link on another site, and from the page
the browser is opened on) with an HttpOnly,
SameSite=Strict cookie; every page loads with its heading, no console error and no dialog, and is
screenshotted; stored markup is shown as text and never runs; a browser without the cookie gets
only the refusal.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest

from lakeloop.ui.security import UNAUTHORIZED_TEXT
from tests.support import browser as browser_support
from tests.support.ui import running_ui_fixture
from tests.support.waiting import wait_until


def _data_url(html: str) -> str:
    return "data:text/html," + urllib.parse.quote(html)


def test_chromium_and_chromedriver_share_a_major_version(chromium):
    browser_line, driver_line = browser_support.check_versions(chromium)
    assert browser_line.startswith("Chromium ") and driver_line.startswith("ChromeDriver ")


def test_a_driver_of_another_major_version_is_refused(tmp_path):
    def fake(name: str, line: str) -> str:
        path = tmp_path / name
        path.write_text(f"#!/bin/sh\necho '{line}'\n")
        path.chmod(0o755)
        return str(path)

    browser = fake("chromium", "Chromium 156.0.8078.129 built on Debian GNU/Linux 12 (bookworm)")
    same = fake("same", "ChromeDriver 156.0.8078.129 (1a2e4e6f-refs/branch-heads/8078@{#2497})")
    other = fake("other", "ChromeDriver 150.0.7871.100 (0b1c2d3e-refs/branch-heads/7871@{#100})")
    assert browser_support.check_versions((browser, same))[1].startswith("ChromeDriver 156.")
    with pytest.raises(AssertionError, match="differ in major version: .*156.* vs .*150"):
        browser_support.check_versions((browser, other))


def test_a_dialog_and_a_console_error_are_seen(browser):
    browser.get(_data_url("<p>plain</p>"))
    assert browser_support.open_alert(browser) is None
    assert browser_support.console_errors(browser) == []

    browser.get(_data_url('<script>alert("hello"); throw new Error("boom")</script>'))
    assert browser_support.open_alert(browser) == "hello"
    browser.switch_to.alert.accept()
    assert any("boom" in message for message in browser_support.console_errors(browser))
    assert browser_support.console_errors(browser) == []  # reading empties the log


def test_a_full_page_screenshot_is_written_where_asked(browser, tmp_path):
    browser.get(_data_url("<p>" + "line<br>" * 400 + "</p>"))
    path = browser_support.screenshot(browser, tmp_path / "shots", "tall")
    data = path.read_bytes()
    assert path == tmp_path / "shots" / "tall.png" and data.startswith(b"\x89PNG")
    height = int.from_bytes(data[20:24], "big")  # the IHDR chunk: width, then height
    assert height > 900  # beyond the 900-pixel window


def _netlog(tmp_path: Path, events: list[dict]) -> Path:
    kinds = sorted({event["type"] for event in events})
    constants = {"logEventTypes": {name: number for number, name in enumerate(kinds)}}
    path = tmp_path / "netlog.json"
    coded = [{**event, "type": constants["logEventTypes"][event["type"]]} for event in events]
    path.write_text(json.dumps({"constants": constants, "events": coded}))
    return path


def test_the_net_log_check_tells_loopback_from_the_rest(tmp_path):
    quiet = [
        {"type": "TCP_CONNECT_ATTEMPT", "source": {"id": 1}, "params": {"address": "127.0.0.1:9"}},
        {"type": "TCP_CONNECT_ATTEMPT", "source": {"id": 2}, "params": {"address": "[::1]:8080"}},
        # Chromium's IPv6 reachability probe: a UDP connect is a route lookup, no datagram leaves.
        {"type": "UDP_CONNECT", "source": {"id": 3}, "params": {"address": "[2001:4860:4860::8888]:443"}},
        {"type": "UDP_CONNECT", "source": {"id": 4}, "params": {"address": "127.0.0.1:53"}},
        {"type": "UDP_BYTES_SENT", "source": {"id": 4}, "params": {"byte_count": 30}},
    ]
    assert browser_support.offbox_traffic(_netlog(tmp_path, quiet)) == []
    loud = [
        *quiet,
        {"type": "TCP_CONNECT_ATTEMPT", "source": {"id": 5}, "params": {"address": "93.184.215.14:443"}},
        {"type": "UDP_BYTES_SENT", "source": {"id": 3}, "params": {"byte_count": 1200}},
        {"type": "HOST_RESOLVER_SYSTEM_TASK", "source": {"id": 6}, "params": {"hostname": "example.com"}},
    ]
    assert browser_support.offbox_traffic(_netlog(tmp_path, loud)) == [
        "dns example.com",
        "tcp 93.184.215.14:443",
        "udp [2001:4860:4860::8888]:443",
    ]


# ---------------------------------------------------------------------------------------------
# The dashboard: a real ``lakeloop ui`` on a seeded embedded store, signed in by its token URL.

#: Stored markup the pages must show as text: as a user name and as an agent name.
PAYLOAD_USER = '<img src=x onerror="window.__x=1">'
PAYLOAD_AGENT = "<script>window.__x=2</script>"

#: (screenshot name, path, the page's <h1>)
PAGES = (
    ("overview", "/", "Overview"),
    ("sessions", "/sessions", "Sessions"),
    ("session", "/sessions/view?path=%2Fsessions%2Falice%2Falice_acme_default_s1.jsonl", "Session"),
    ("skills", "/skills", "Skills"),
    ("skill", "/skills/db-migrate--alice", "Skill"),
    ("proposals", "/proposals", "Proposals"),
    ("jobs", "/jobs?state=failed", "Jobs: failed"),
)


def _prompt_row(user: str, agent: str, session: str, prompt: str):
    from lakeloop.capture.rows import build_message, session_row
    from lakeloop.identity import Identity

    payload = {"hook_event_name": "UserPromptSubmit", "session_id": session, "prompt": prompt, "cwd": "/work/app"}
    message = build_message(payload)
    assert message is not None
    return session_row(message, Identity(user, "acme", "default"), agent=agent)


@pytest.fixture
def dashboard():
    """A running ``lakeloop ui`` (``tests.support.ui.Ui``) on an embedded store holding this
    week's prompts of alice and bob (claude_code) and one of PAYLOAD_USER (agent PAYLOAD_AGENT),
    and team skill db-migrate--alice v1 (the skill page answers 404 for a skill it does not hold)."""
    from lakeloop.store.embedded import EmbeddedStore
    from tests.support.optimizer import seed_skill

    with EmbeddedStore.open_default() as store:
        store.append_session_rows(
            [
                _prompt_row("alice", "claude_code", "s1", "migrate the zanzibar tables"),
                _prompt_row("bob", "claude_code", "s2", "fix the flaky test"),
                _prompt_row(PAYLOAD_USER, PAYLOAD_AGENT, "s3", PAYLOAD_AGENT),
            ]
        )
        seed_skill(store, 1)
    yield from running_ui_fixture(LAKELOOP_STORE="embedded")


def _heading(driver) -> str | None:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, "main#content h1")
    return found[0].text if found else None


def _sign_in(driver, ui) -> None:
    """Open the printed URL and wait for the meta refresh to the same page without the token."""
    driver.get(ui.url)
    wait_until(
        lambda: "token=" not in driver.current_url and _heading(driver) == "Overview",
        10,
        "the sign-in page to refresh to the overview",
        explain=lambda: driver.current_url,
    )


def test_the_token_url_signs_in_with_a_strict_http_only_cookie(browser, dashboard):
    _sign_in(browser, dashboard)
    assert browser.current_url == dashboard.base + "/"
    cookies = {cookie["name"]: cookie for cookie in browser.get_cookies()}
    cookie = cookies[dashboard.cookie_name]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert dashboard.token not in cookie["value"]
    assert browser.execute_script("return document.cookie") == ""  # HttpOnly: no script reads it
    assert dashboard.token not in browser.execute_script("return document.referrer")  # nor the next page


def test_a_link_from_another_site_signs_in_too(fresh_browser, dashboard):
    from selenium.webdriver.common.by import By

    # A SameSite=Strict cookie set on a navigation that began cross-site still goes with the next
    # page: the sign-in answers a page that refreshes itself (same-site) instead of a redirect.
    fresh_browser.get(_data_url(f'<a id="go" href="{dashboard.url}">open the dashboard</a>'))
    fresh_browser.find_element(By.ID, "go").click()
    wait_until(lambda: _heading(fresh_browser) == "Overview", 10, "the overview after a cross-site link")
    assert "token=" not in fresh_browser.current_url


def test_the_page_lakeloop_ui_opens_the_browser_on_signs_in(fresh_browser, dashboard):
    from lakeloop.ui.server import launch_page

    # ``lakeloop ui`` opens the browser on this 0600 file, not on the URL: no token in any argv.
    page = launch_page(dashboard.url, dashboard.port)
    fresh_browser.get(page.as_uri())
    wait_until(lambda: _heading(fresh_browser) == "Overview", 10, "the overview after the launch page")
    assert fresh_browser.current_url == dashboard.base + "/"


def test_every_page_loads_without_a_console_error_or_a_dialog(browser, dashboard, screenshots):
    from selenium.webdriver.common.by import By

    _sign_in(browser, dashboard)
    browser_support.console_errors(browser)  # the sign-in page's entries, if any
    for name, path, heading in PAGES:
        browser.get(dashboard.base + path)
        assert _heading(browser) == heading, (name, browser.page_source[:2000])
        assert browser.title == f"{heading} · lakeloop"
        nav = [link.get_attribute("href") for link in browser.find_elements(By.CSS_SELECTOR, "header nav a")]
        assert nav == [dashboard.base + p for p in ("/", "/sessions", "/skills", "/proposals")], name
        assert browser_support.console_errors(browser) == [], name
        assert browser_support.open_alert(browser) is None, name
        # Readable on a laptop screen (the 1366-pixel window): nothing wider than the window.
        overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (name, overflow)
        browser_support.screenshot(browser, screenshots, name)
    assert sorted(p.name for p in screenshots.glob("*.png")) == sorted(f"{name}.png" for name, _, _ in PAGES)


def test_the_overview_shows_the_seeded_activity(browser, dashboard):
    from selenium.webdriver.common.by import By

    _sign_in(browser, dashboard)
    assert "reachable" in browser.find_element(By.ID, "store").text
    rows = [
        [cell.text for cell in row.find_elements(By.CSS_SELECTOR, "td")]
        for row in browser.find_elements(By.CSS_SELECTOR, "#activity tbody tr")
    ]
    assert ["alice", "claude_code", "1", "1", "1", "1"] in rows
    assert ["bob", "claude_code", "1", "1", "1", "1"] in rows


def test_stored_markup_is_shown_as_text_and_never_runs(browser, dashboard):
    from selenium.webdriver.common.by import By

    _sign_in(browser, dashboard)
    activity = browser.find_element(By.ID, "activity")
    assert PAYLOAD_USER in activity.text and PAYLOAD_AGENT in activity.text  # shown, as text
    content = browser.find_element(By.ID, "content")
    injected = content.find_elements(By.CSS_SELECTOR, "img, script, svg, iframe, object")
    assert injected == [], [element.get_attribute("outerHTML") for element in injected]
    assert browser.execute_script("return window.__x") is None
    assert browser_support.open_alert(browser) is None
    assert browser_support.console_errors(browser) == []  # nor a handler the CSP had to block


def test_a_browser_without_the_cookie_gets_only_the_refusal(fresh_browser, dashboard):
    from selenium.webdriver.common.by import By

    for path in ("/", "/sessions", "/static/app.css"):
        fresh_browser.get(dashboard.base + path)
        assert fresh_browser.find_element(By.TAG_NAME, "body").text == UNAUTHORIZED_TEXT, path
        assert _heading(fresh_browser) is None
    assert fresh_browser.get_cookies() == []
