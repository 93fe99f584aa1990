"""The dashboard's gate: every request passes ``Guard`` (a pure ASGI middleware, outside routing
and static files) before anything else runs. Rules, in order:

1. ``Host`` must be exactly ``127.0.0.1:<port>`` (a DNS-rebinding page sends its own name): else 403.
2. A GET carrying ``?token=T``: T must equal the printed token (constant-time compare), else 403;
   right, the answer is a small 200 page setting the session cookie (HttpOnly, SameSite=Strict,
   Path=/) and refreshing to the same URL without the token (a meta refresh, not a redirect: a
   SameSite=Strict cookie is not sent on a redirect hop of a navigation that began on another site).
3. The cookie ``lakeloop_ui_<port>`` must hold the session value (a second random value, never
   the URL token): else 401 with one plain line and nothing else.
4. Methods: GET and HEAD anywhere, POST only with an ``application/x-www-form-urlencoded`` body of
   at most ``MAX_FORM_BYTES``, an ``Origin`` equal to ``http://127.0.0.1:<port>``, a
   ``Sec-Fetch-Site`` (when sent) of ``same-origin`` and a form field ``csrf`` equal to
   ``csrf_for(state)``: else 403. Any other method: 405.
5. Every response carries ``SECURITY_HEADERS`` (a Content-Security-Policy of ``default-src 'self'``
   and the rest).

An exception escaping the application is logged with the method and path only (no query string)
and, when no response has started, answered with a plain 500. ``TokenFilter`` replaces the token
and the session value in any log record by ``[token]``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Largest POST body accepted, in bytes.
MAX_FORM_BYTES = 4096

#: Headers on every response (static files and refusals included).
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    (
        "content-security-policy",
        "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),  # no-referrer makes a form POST's Origin "null"
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
)

#: What a request without the session cookie gets (status 401), and nothing else.
UNAUTHORIZED_TEXT = "open the URL lakeloop ui printed"

_log = logging.getLogger("lakeloop.ui")


@dataclass(frozen=True)
class UiState:
    """One run's secrets and address. ``port``: the TCP port bound on 127.0.0.1. ``token``: the
    value printed in the URL (43 URL-safe characters). ``session``: the cookie's value, a second
    random value. Neither is ever written to a file or a log line."""

    port: int
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    session: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``: the only Origin a POST may carry."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        """``127.0.0.1:<port>``: the only Host header accepted."""
        return f"127.0.0.1:{self.port}"

    @property
    def cookie_name(self) -> str:
        """The session cookie's name; it carries the port because cookies ignore ports."""
        return f"lakeloop_ui_{self.port}"


def csrf_for(state: UiState) -> str:
    """The CSRF value a form must send back in its ``csrf`` field: an HMAC-SHA256 (hex, 64
    characters) of the session value, so it is bound to this run's cookie."""
    return hmac.new(state.session.encode(), b"csrf:" + state.session.encode(), hashlib.sha256).hexdigest()


class TokenFilter(logging.Filter):
    """A logging filter that rewrites a record's message so that neither ``state.token`` nor
    ``state.session`` appears in it (each becomes ``[token]``). Never drops a record."""

    def __init__(self, state: UiState) -> None:
        super().__init__()
        self._secrets = (state.token, state.session)

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the secrets in the formatted message (arguments folded in); returns True."""
        try:
            text = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler
            return True
        if any(s in text for s in self._secrets):
            for s in self._secrets:
                text = text.replace(s, "[token]")
            record.msg, record.args = text, None
        return True


def install_token_filter(state: UiState) -> TokenFilter:
    """Put one ``TokenFilter`` on the root, ``uvicorn*`` and ``lakeloop*`` loggers and on their
    handlers (a logger's filter does not see records its children propagate). Returns it."""
    token_filter = TokenFilter(state)
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "lakeloop", "lakeloop.ui")
    for name in names:
        logger = logging.getLogger(name)
        logger.addFilter(token_filter)
        for handler in logger.handlers:
            handler.addFilter(token_filter)
    return token_filter


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie") or ""
    for part in raw.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value
    return None


def _same(given: str | None, expected: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())


async def _plain(send: Send, status: int, text: str, extra: tuple[tuple[str, str], ...] = ()) -> None:
    body = (text + "\n").encode()
    headers = [("content-type", "text/plain; charset=utf-8"), ("content-length", str(len(body)))]
    headers += list(extra)
    await send(
        {"type": "http.response.start", "status": status, "headers": [(k.encode(), v.encode()) for k, v in headers]}
    )
    await send({"type": "http.response.body", "body": body})


def _signed_in_page(target: str) -> bytes:
    """The 200 page of a right token: refresh to ``target`` (a path and query we built, escaped),
    sending no ``Referer`` (the sign-in URL holds the token)."""
    from html import escape

    url = escape(target, quote=True)
    return (
        '<!doctype html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">'
        f'<meta http-equiv="refresh" content="0; url={url}"><title>lakeloop ui</title></head>'
        f'<body><p>Signed in. <a href="{url}">Continue</a></p></body></html>'
    ).encode()


class Guard:
    """ASGI middleware enforcing the module docstring's rules in front of ``app`` for ``state``.
    Non-HTTP scopes (lifespan is off; no websockets are served) are refused by closing."""

    def __init__(self, app: ASGIApp, state: UiState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then pass it (POST with its body replayed) to the app."""
        if scope["type"] != "http":
            return
        path = str(scope.get("path", ""))
        send = self._with_headers(send, path.startswith("/static/") or path == "/favicon.ico")
        state = self.state
        if _header(scope, b"host") != state.host:
            return await _plain(send, 403, "bad host")
        method = scope["method"]
        if method not in ("GET", "HEAD", "POST"):
            return await _plain(send, 405, "method not allowed", (("allow", "GET, HEAD, POST"),))
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        tokens = [v for k, v in query if k == "token"]
        if tokens and method == "GET":
            return await self._sign_in(scope, send, tokens, query)
        if not _same(_cookie(scope, state.cookie_name), state.session):
            return await _plain(send, 401, UNAUTHORIZED_TEXT)
        if method == "POST":
            body = await self._checked_form(scope, receive)
            if body is None:
                return await _plain(send, 403, "refused: this form did not come from this page")
            receive = _replay(body)
        await self._call_app(scope, receive, send)

    def _with_headers(self, send: Send, static: bool) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS]
                cache = "private, max-age=3600" if message.get("status") == 200 and static else "no-store"
                headers.append((b"cache-control", cache.encode()))
                message["headers"] = headers
            await send(message)

        return sending

    async def _sign_in(self, scope: Scope, send: Send, tokens: list[str], query: list[tuple[str, str]]) -> None:
        state = self.state
        if len(tokens) != 1 or not _same(tokens[0], state.token):
            return await _plain(send, 403, "wrong token: open the URL lakeloop ui printed")
        rest = urlencode([(k, v) for k, v in query if k != "token"])
        # Percent-quoted (a backslash, which browsers read as a slash, too), so the refresh stays on this origin.
        path = quote(str(scope.get("path", "/")), safe="/-._~")
        target = (path if path.startswith("/") and not path.startswith("//") else "/") + (f"?{rest}" if rest else "")
        body = _signed_in_page(target)
        cookie = f"{state.cookie_name}={state.session}; HttpOnly; SameSite=Strict; Path=/"
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"set-cookie", cookie.encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _checked_form(self, scope: Scope, receive: Receive) -> bytes | None:
        """The POST body when every POST rule holds, else None."""
        state = self.state
        ctype = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return None
        if _header(scope, b"origin") != state.origin:
            return None
        site = _header(scope, b"sec-fetch-site")
        if site is not None and site != "same-origin":
            return None
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_FORM_BYTES):
            return None
        body = b""
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            body += message.get("body", b"")
            if len(body) > MAX_FORM_BYTES:
                return None
            if not message.get("more_body"):
                break
        fields = [v for k, v in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True) if k == "csrf"]
        if len(fields) != 1 or not _same(fields[0], csrf_for(state)):
            return None
        return body

    async def _call_app(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            _log.error("ui: %s %s failed: %s", scope.get("method"), _safe_path(scope), type(exc).__name__)
            if not started:
                await _plain(send, 500, "internal error (details in the lakeloop log)")


def _safe_path(scope: Scope) -> str:
    from ..textsafe import escape_line

    return escape_line(str(scope.get("path", ""))[:200])


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
