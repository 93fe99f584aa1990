"""The dashboard's gate, over HTTP against a real ``lakeloop ui`` process: the token becomes a
strict cookie once, every request needs it, the Host must be ours, a POST needs a same-origin
form with the CSRF value, every answer carries the security headers, stored text is escaped, and
neither the token nor the session value reaches a log."""

from __future__ import annotations

import hashlib
import re

import pytest

from tests.support.stores import stop_rows
from tests.support.ui import DEBUG_ROUTES, start_ui

UNAUTHORIZED = "open the URL lakeloop ui printed\n"

HEADERS = {
    "content-security-policy": (
        "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}


def _seed(*rows) -> None:
    from lakeloop.store.embedded import EmbeddedStore

    with EmbeddedStore.open_default() as store:
        store.append_session_rows(list(rows) or stop_rows(2))


def _store_state() -> tuple[str, list[str]]:
    """The embedded store file's sha256 and the data dir's sorted listing (WAL files excluded)."""
    from lakeloop import paths

    digest = hashlib.sha256(paths.store_file().read_bytes()).hexdigest()
    names = sorted(
        str(p.relative_to(paths.data_dir()))
        for p in paths.data_dir().rglob("*")
        if not p.name.endswith(("-wal", "-shm"))
    )
    return digest, names


def _csrf(client, ui) -> str:
    """The CSRF value this run expects, computed as the server does from the session cookie."""
    import hashlib as h
    import hmac

    session = client.cookies.get(ui.cookie_name)
    return hmac.new(session.encode(), b"csrf:" + session.encode(), h.sha256).hexdigest()


def test_without_the_cookie_every_path_is_401_and_says_nothing_else(running_ui):
    with running_ui.client() as client:
        for path in ("/", "/sessions", "/skills/x--y", "/static/app.css", "/favicon.ico", "/no/such/page"):
            answer = client.get(path)
            assert answer.status_code == 401, path
            assert answer.text == UNAUTHORIZED, path
            assert "www-authenticate" not in answer.headers and "set-cookie" not in answer.headers
        client.cookies.set(running_ui.cookie_name, "not-the-session")
        wrong = client.get("/")
        assert wrong.status_code == 401 and wrong.text == UNAUTHORIZED


def test_a_wrong_token_is_403_and_sets_no_cookie(running_ui):
    with running_ui.client() as client:
        for query in ({"token": "x" * 43}, {"token": ""}, {"token": [running_ui.token, "other"]}):
            answer = client.get("/", params=query)
            assert answer.status_code == 403, query
            assert "set-cookie" not in answer.headers
            assert running_ui.token not in answer.text
        assert not client.cookies


def test_the_right_token_sets_a_strict_httponly_cookie_and_refreshes_without_it(running_ui):
    with running_ui.client() as client:
        answer = client.get("/sessions", params={"token": running_ui.token, "user": "alice"})
        assert answer.status_code == 200
        cookie = answer.headers["set-cookie"]
        name, _, rest = cookie.partition("=")
        assert name == running_ui.cookie_name
        flags = {f.strip().lower() for f in rest.split(";")[1:]}
        assert flags == {"httponly", "samesite=strict", "path=/"}
        session = rest.split(";")[0]
        assert session and session != running_ui.token
        refresh = re.search(r'<meta http-equiv="refresh" content="0; url=([^"]*)">', answer.text)
        assert refresh and refresh.group(1) == "/sessions?user=alice"
        assert running_ui.token not in answer.text
        # The page the token URL answers sends no Referer on (the browser check: tests/ui/test_browser.py).
        assert '<meta name="referrer" content="no-referrer">' in answer.text
        signed = client.get("/")
        assert signed.status_code == 200 and "<h1>Overview</h1>" in signed.text
        for path, target in (("//evil.example", "/"), ("/\\evil.example", "/%5Cevil.example"), ('/"a b', "/%22a%20b")):
            answer = client.get(path, params={"token": running_ui.token})
            refresh = re.search(r'<meta http-equiv="refresh" content="0; url=([^"]*)">', answer.text)
            assert refresh and refresh.group(1) == target, path


def test_a_wrong_host_is_refused_even_with_the_cookie(running_ui):
    with running_ui.signed_in() as client:
        assert client.get("/").status_code == 200
        for host in (f"evil.example:{running_ui.port}", f"localhost:{running_ui.port}", "127.0.0.1", ""):
            answer = client.get("/", headers={"host": host})
            assert answer.status_code == 403, host
            assert answer.text == "bad host\n"


def test_other_methods_are_405(running_ui):
    with running_ui.signed_in() as client:
        for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
            for path in ("/", "/no/such/page"):
                assert client.request(method, path).status_code == 405, (method, path)


def test_a_post_needs_a_same_origin_urlencoded_form_with_the_csrf_value(tmp_path):
    _seed()
    before = _store_state()
    ui = start_ui(prelude=DEBUG_ROUTES)
    try:
        with ui.signed_in() as client:
            csrf = _csrf(client, ui)
            good = {"origin": ui.base, "content-type": "application/x-www-form-urlencoded"}
            refused = {
                "no csrf": (good, "a=1"),
                "wrong csrf": (good, "csrf=" + "0" * 64),
                "two csrf": (good, f"csrf={csrf}&csrf={csrf}"),
                "foreign origin": ({**good, "origin": "http://evil.example"}, f"csrf={csrf}"),
                "no origin": ({"content-type": good["content-type"]}, f"csrf={csrf}"),
                "cross-site fetch": ({**good, "sec-fetch-site": "cross-site"}, f"csrf={csrf}"),
                "text/plain": ({**good, "content-type": "text/plain"}, f"csrf={csrf}"),
                "multipart": ({**good, "content-type": "multipart/form-data; boundary=x"}, f"csrf={csrf}"),
                "over 4 KiB": (good, f"csrf={csrf}&pad=" + "a" * 4096),
            }
            for what, (headers, body) in refused.items():
                answer = client.post("/_debug/form", headers=headers, content=body)
                assert answer.status_code == 403, what
                assert "form accepted" not in answer.text, what
            chunked = client.post(
                "/_debug/form", headers=good, content=iter([f"csrf={csrf}&pad=".encode(), b"a" * 4096])
            )
            assert chunked.status_code == 403 and "content-length" not in chunked.request.headers
            accepted = client.post(
                "/_debug/form", headers={**good, "sec-fetch-site": "same-origin"}, content=f"csrf={csrf}"
            )
            assert accepted.status_code == 200 and accepted.text == "form accepted"
            assert client.post("/", headers=good, content=f"csrf={csrf}").status_code == 405
    finally:
        ui.stop()
    assert _store_state() == before


def test_every_answer_carries_the_security_headers(running_ui):
    with running_ui.signed_in() as client:
        answers = {
            "page": client.get("/"),
            "placeholder": client.get("/skills"),
            "static": client.get("/static/app.css"),
            "favicon": client.get("/favicon.ico"),
            "404": client.get("/no/such/page"),
            "405": client.put("/"),
            "bad host": client.get("/", headers={"host": "evil.example"}),
        }
    with running_ui.client() as anonymous:
        answers["401"] = anonymous.get("/")
        answers["403"] = anonymous.get("/?token=wrong")
        answers["sign-in"] = anonymous.get("/", params={"token": running_ui.token})
    for what, answer in answers.items():
        for name, value in HEADERS.items():
            assert answer.headers.get(name) == value, (what, name)
        assert "server" not in answer.headers, what
    assert answers["static"].headers["cache-control"] == "private, max-age=3600"
    assert answers["favicon"].headers["content-type"] == "image/png"
    assert answers["page"].headers["cache-control"] == "no-store"
    assert answers["404"].status_code == 404 and "<h1>Not found</h1>" in answers["404"].text


def test_stored_text_on_the_overview_is_escaped(tmp_path):
    payload = '<img src=x onerror="window.__x=2">'
    script = "<script>window.__x=1</script>"
    rows = stop_rows(2)
    for row in rows:
        row.author, row.agent = payload, script
    _seed(*rows)
    ui = start_ui()
    try:
        with ui.signed_in() as client:
            html = client.get("/").text
    finally:
        ui.stop()
    assert "&lt;img src=x onerror=&#34;window.__x=2&#34;&gt;" in html
    assert "&lt;script&gt;window.__x=1&lt;/script&gt;" in html
    assert "<img src=x" not in html and "<script>window" not in html


def test_the_token_never_reaches_a_log_or_stderr(tmp_path):
    from lakeloop import paths

    ui = start_ui(prelude=DEBUG_ROUTES)
    try:
        with ui.signed_in() as client:
            session = client.cookies.get(ui.cookie_name)
            assert client.get("/").status_code == 200
            assert client.get("/no/such/page").status_code == 404
            boom = client.get("/_debug/boom", params={"token-ish": ui.token[:10]})
            assert boom.status_code == 500
            assert boom.text == "internal error (details in the lakeloop log)\n"
        with ui.client() as anonymous:
            assert anonymous.get("/", params={"token": "wrong"}).status_code == 403
            assert anonymous.get("/", params={"token": ui.token}).status_code == 200
    finally:
        code, out, err = ui.stop()
    assert code == 0
    log = "".join(p.read_text(errors="replace") for p in paths.log_dir().glob("*")) if paths.log_dir().exists() else ""
    assert "ui: GET /_debug/boom failed: RuntimeError" in log
    for secret in (ui.token, session):
        assert secret not in log
        assert secret not in err
        assert secret not in out
    assert err == ""
    assert ui.first_line.count(ui.token) == 1


@pytest.mark.parametrize("path", ["/", "/sessions", "/proposals"])
def test_pages_answer_without_a_store_and_create_none(running_ui, path):
    from lakeloop import paths

    with running_ui.signed_in() as client:
        answer = client.get(path)
    assert answer.status_code == 200
    assert not paths.store_file().exists()


def test_the_token_filter_hides_both_secrets_in_any_logger_record():
    import logging

    from lakeloop.ui.security import UiState, install_token_filter

    state = UiState(port=1)
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Keep()
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    token_filter = install_token_filter(state)
    try:
        logger.warning("GET /?token=%s cookie=%s", state.token, state.session)
    finally:
        logger.removeHandler(handler)
        for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "lakeloop", "lakeloop.ui"):
            logging.getLogger(name).removeFilter(token_filter)
            for h in logging.getLogger(name).handlers:
                h.removeFilter(token_filter)
    assert seen == ["GET /?token=[token] cookie=[token]"]
