"""Scripted stand-in for the Anthropic Messages API, for driving Claude Code offline.

Run it on loopback, point ``ANTHROPIC_BASE_URL`` at ``FakeAnthropic.base_url`` and
every ``POST /v1/messages`` is answered by a *script*: a callable taking the request
JSON body and returning a :class:`Reply`. Streaming requests (``"stream": true``, what
Claude Code sends) get the server-sent-event sequence Claude Code expects; other
requests get a plain JSON message. Any other endpoint gets a harmless answer.

Observed with Claude Code 2.1.330 (``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1``):

* Main-agent turns carry ``tools`` (Agent, Bash, Read, Skill, ...). The system prompt
  starts "You are a Claude agent, built on Anthropic's Claude Agent SDK." under
  ``claude -p`` ("You are Claude Code, ..." interactively). After a tool ran, the
  follow-up's last user message holds a ``tool_result`` block.
* A subagent started with the ``Agent`` tool sends its own turns, also with tools, in
  the same session; its system prompt holds "You are an agent for Claude Code"
  (:func:`is_subagent`; :func:`is_main_agent` excludes these).
* ``claude -p --tools ""`` (judge/proposer style) sends ``"tools": []``; its
  ``--system-prompt`` text is the last ``system`` block; a stdin prompt arrives as the
  user message (a plain string).
* Every request is ``POST /v1/messages?beta=true`` with ``"stream": true``; nothing else
  was requested, and no background side-call was seen, neither in ``-p`` runs nor in an
  interactive one. :func:`is_background` still recognises the helper calls the binary
  can make (title, summary label, rename, prompt suggestion, quota probe) by their fixed
  prompt text; :class:`Script` answers them with its ``background`` reply.
* No header tells calls apart; ``metadata.user_id`` holds the session id
  (:func:`session_id`), also sent as header ``X-Claude-Code-Session-Id``.

Example::

    script = (Script()
              .on(is_tool_less, Reply.text('{"verdict": "ok"}'))
              .on(is_main_agent,
                  Reply.tool_use("Skill", {"skill": "db-migrate--alice"}),  # 1st turn
                  Reply.text("done")))                                       # then
    with FakeAnthropic(script) as api:
        env["ANTHROPIC_BASE_URL"] = api.base_url
        ...
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "FakeAnthropic",
    "Reply",
    "Script",
    "ScriptFn",
    "has_tools",
    "is_main_agent",
    "is_subagent",
    "is_tool_less",
    "is_background",
    "system_text",
    "last_user_text",
    "has_tool_result",
    "tool_results",
    "is_messages_request",
    "session_id",
]

Request = dict[str, Any]
"""A received request body (parsed JSON)."""

_ids = itertools.count(1)


@dataclass
class Reply:
    """One assistant message: content blocks plus a stop reason.

    Build with :meth:`text`, :meth:`tool_use` or :meth:`error`; combine blocks with ``+``
    (e.g. ``Reply.text("Let me look.") + Reply.tool_use("Bash", {"command": "ls"})``).
    """

    content: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str = "end_turn"
    status: int = 200
    error_message: str = ""

    @classmethod
    def text(cls, text: str) -> Reply:
        """A plain text answer ending the turn (``stop_reason`` ``end_turn``)."""
        return cls([{"type": "text", "text": text}], "end_turn")

    @classmethod
    def tool_use(cls, name: str, input: dict[str, Any], id: str | None = None) -> Reply:
        """A call of tool ``name`` with ``input`` (``stop_reason`` ``tool_use``).

        ``id`` defaults to a fresh ``toolu_fake_NNNN_<name>``.
        """
        tool_id = id or f"toolu_fake_{next(_ids):04d}_{name}"
        block = {"type": "tool_use", "id": tool_id, "name": name, "input": input}
        return cls([block], "tool_use")

    @classmethod
    def error(cls, status: int = 400, message: str = "scripted error") -> Reply:
        """An HTTP error answer (Anthropic error JSON).

        On a 400, ``claude -p`` exits 1 within a second with ``is_error`` true and
        ``result`` "API Error: 400 <message>" (after a few quick re-sends). A 500 is
        retried with growing back-off (6 tries in 20 s, still running): avoid in tests.
        """
        return cls([], "end_turn", status, message)

    def __add__(self, other: Reply) -> Reply:
        stop = "tool_use" if "tool_use" in (self.stop_reason, other.stop_reason) else other.stop_reason
        return Reply(self.content + other.content, stop)

    def message(self, model: str) -> dict[str, Any]:
        """This reply as a complete (non-streaming) Messages API response body."""
        return {
            "id": f"msg_fake_{next(_ids):04d}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": self.content,
            "stop_reason": self.stop_reason,
            "stop_sequence": None,
            "usage": _usage(self),
        }

    def sse_events(self, model: str) -> list[tuple[str, dict[str, Any]]]:
        """This reply as the ``(event, data)`` sequence of a streaming response."""
        start = self.message(model) | {"content": [], "stop_reason": None}
        start["usage"] = start["usage"] | {"output_tokens": 1}
        events: list[tuple[str, dict[str, Any]]] = [("message_start", {"type": "message_start", "message": start})]
        for index, block in enumerate(self.content):
            if block["type"] == "tool_use":
                head = {**block, "input": {}}
                delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
            else:
                head = {**block, "text": ""}
                delta = {"type": "text_delta", "text": block["text"]}
            events += [
                ("content_block_start", {"type": "content_block_start", "index": index, "content_block": head}),
                ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}),
                ("content_block_stop", {"type": "content_block_stop", "index": index}),
            ]
        events += [
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": self.stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": _usage(self)["output_tokens"]},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        return events


def _usage(reply: Reply) -> dict[str, int]:
    out = sum(len(json.dumps(b)) // 4 + 1 for b in reply.content)
    return {"input_tokens": 10, "output_tokens": out, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


ScriptFn = Callable[[Request], Reply]
"""A script: decides the reply to one ``/v1/messages`` request body."""


# ---------------------------------------------------------------- request helpers

_BILLING_HEADER = "x-anthropic-billing-header:"
_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.S)

# Fixed prompt text of Claude Code's helper side-calls (taken from the 2.1.330 binary:
# query sources generate_session_title, tool_use_summary_generation,
# rename_generate_name, prompt_suggestion). None of them was seen in `claude -p` runs.
_BACKGROUND_MARKERS = (
    'Return JSON with a single "title" field',
    "Write a short summary label",
    "Generate a short kebab-case name",
    "predict what THEY would type",
)


_SUBAGENT_MARKER = "You are an agent for Claude Code"


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text")


def is_messages_request(request: Request) -> bool:
    """True for a ``/v1/messages`` body (not a logged call of another endpoint)."""
    return "_path" not in request and "messages" in request


def has_tools(request: Request) -> bool:
    """True when the request offers tools (a main-agent turn).

    ``claude -p --tools ""`` sends ``"tools": []``, which counts as no tools.
    """
    return bool(request.get("tools"))


def system_text(request: Request) -> str:
    """The ``system`` prompt as one string (text blocks joined by newlines).

    Claude Code's leading ``x-anthropic-billing-header: ...`` block is left out, so for
    ``claude -p --system-prompt X`` this is the SDK preamble line, a newline, then ``X``.
    """
    system = request.get("system")
    if isinstance(system, list):
        system = [b for b in system if not str(b.get("text", "")).startswith(_BILLING_HEADER)]
    return _text_of(system)


def session_id(request: Request) -> str | None:
    """The Claude Code session id carried in ``metadata.user_id`` (a JSON string), if any."""
    try:
        return json.loads(request["metadata"]["user_id"]).get("session_id")
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _last_user(request: Request) -> dict[str, Any] | None:
    # Claude Code may put a role "system" message after the user's, so search backwards.
    for message in reversed(request.get("messages") or []):
        if message.get("role") == "user":
            return message
    return None


def last_user_text(request: Request, raw: bool = False) -> str:
    """Text of the last user message: text blocks joined, ``tool_result`` blocks skipped.

    Unless ``raw``, ``<system-reminder>...</system-reminder>`` sections Claude Code adds
    are removed and the result stripped, so a first turn yields just the prompt.
    """
    message = _last_user(request)
    text = _text_of(message.get("content")) if message else ""
    return text if raw else _REMINDER.sub("", text).strip()


def tool_results(request: Request) -> list[dict[str, Any]]:
    """The ``tool_result`` blocks of the last user message (empty if none)."""
    message = _last_user(request)
    content = message.get("content") if message else None
    if not isinstance(content, list):
        return []
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]


def has_tool_result(request: Request) -> bool:
    """True when the last user message carries a ``tool_result`` (a follow-up after a tool ran)."""
    return bool(tool_results(request))


def is_background(request: Request) -> bool:
    """True for Claude Code's own helper side-calls (session title, tool summary label,
    session rename, prompt suggestion, the ``"quota"`` probe with ``max_tokens`` 1).

    Recognised by their fixed prompt text; some of them fork the main conversation and
    so may carry its tools. Claude Code sends no header telling them apart.
    """
    if not is_messages_request(request):
        return False
    if request.get("max_tokens") == 1 and last_user_text(request) == "quota":
        return True
    text = system_text(request) + "\n" + last_user_text(request, raw=True)
    return any(marker in text for marker in _BACKGROUND_MARKERS)


def is_subagent(request: Request) -> bool:
    """True for a turn of a subagent started by the ``Agent`` tool (it offers tools too).

    Its system prompt holds "You are an agent for Claude Code" (general-purpose agent).
    """
    return (
        is_messages_request(request)
        and has_tools(request)
        and _SUBAGENT_MARKER in system_text(request)
        and not is_background(request)
    )


def is_main_agent(request: Request) -> bool:
    """True for a main-agent turn: offers tools, not a subagent turn, not a side-call."""
    return (
        is_messages_request(request) and has_tools(request) and not is_subagent(request) and not is_background(request)
    )


def is_tool_less(request: Request) -> bool:
    """True for a ``claude -p --tools ""`` call (judge/proposer style): no tools, not a side-call."""
    return is_messages_request(request) and not has_tools(request) and not is_background(request)


# ---------------------------------------------------------------- rule-based script


def _background_reply(request: Request) -> Reply:
    # Title / rename helpers ask for JSON with "title" / "name"; the others take any text.
    return Reply.text('{"title": "Test session", "name": "test-session"}')


Responder = Reply | ScriptFn
_OK = Reply.text("ok")


class Script:
    """Ordered rules mapping a request to a reply; usable as a :data:`ScriptFn`.

    ``on(predicate, *replies)`` adds a rule; the first rule whose predicate matches
    answers. A rule with several replies hands them out in order and then repeats the
    last one. A reply may also be a callable ``(request) -> Reply``. Background
    side-calls (:func:`is_background`) are answered with ``background`` (by default a
    small JSON with ``title``/``name``) before any rule is consulted; unmatched requests
    get ``default``.
    """

    def __init__(self, default: Responder = _OK, background: Responder | None = None) -> None:
        self._rules: list[tuple[Callable[[Request], bool], list[Responder]]] = []
        self._default = default
        self._background = background or _background_reply
        self._lock = threading.Lock()

    def on(self, predicate: Callable[[Request], bool], *replies: Responder) -> Script:
        """Add a rule answering requests matching ``predicate``; returns ``self`` for chaining."""
        if not replies:
            raise ValueError("a rule needs at least one reply")
        self._rules.append((predicate, list(replies)))
        return self

    def __call__(self, request: Request) -> Reply:
        with self._lock:
            chosen = self._choose(request)
        return chosen(request) if callable(chosen) else chosen

    def _choose(self, request: Request) -> Responder:
        if is_background(request):
            return self._background
        for predicate, replies in self._rules:
            if predicate(request):
                return replies.pop(0) if len(replies) > 1 else replies[0]
        return self._default


# ---------------------------------------------------------------- the server


class FakeAnthropic:
    """A scripted Messages API server on ``127.0.0.1`` (random port), in a background thread.

    ``script`` is any :data:`ScriptFn` (e.g. a :class:`Script`). Use as a context
    manager, or call :meth:`start` / :meth:`stop`. Every received request is appended
    to :attr:`requests`: ``/v1/messages`` bodies as sent, any other endpoint as
    ``{"_method": ..., "_path": ..., "_body": ...}`` (answered 200 with ``{}``, or
    ``{"input_tokens": 10}`` for ``count_tokens``, or an empty list for ``/models``).
    If the script raises, the request gets an HTTP 400 and the exception lands in
    :attr:`errors`.
    """

    def __init__(self, script: ScriptFn) -> None:
        self.script = script
        self._requests: list[Request] = []
        self._errors: list[Exception] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def requests(self) -> list[Request]:
        """A snapshot of all requests received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def message_requests(self) -> list[Request]:
        """Only the ``/v1/messages`` request bodies."""
        return [r for r in self.requests if is_messages_request(r)]

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, for ``ANTHROPIC_BASE_URL``."""
        if self._server is None:
            raise RuntimeError("FakeAnthropic not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeAnthropic:
        """Bind to a free loopback port and serve in a daemon thread."""
        if self._server is None:
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
            self._server.daemon_threads = True
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Shut the server down and wait for its thread."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def errors(self) -> list[Exception]:
        """Exceptions raised by the script (each answered with an HTTP 400)."""
        with self._lock:
            return list(self._errors)

    def _record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    def _record_error(self, exc: Exception) -> None:
        with self._lock:
            self._errors.append(exc)


def _make_handler(fake: FakeAnthropic) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                return json.loads(raw) if raw else None
            except ValueError:
                return raw.decode("utf-8", "replace")

        def _send_json(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("request-id", f"req_fake_{next(_ids):04d}")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _other(self, body: Any = None) -> None:
            path = urlsplit(self.path).path
            fake._record({"_method": self.command, "_path": self.path, "_body": body})
            if path.endswith("/count_tokens"):
                self._send_json(200, {"input_tokens": 10})
            elif path.rstrip("/").endswith("/models"):
                self._send_json(200, {"data": [], "has_more": False, "first_id": None, "last_id": None})
            else:
                self._send_json(200, {})

        def do_GET(self) -> None:
            self._other()

        def do_HEAD(self) -> None:
            self._other()

        def do_POST(self) -> None:
            body = self._body()
            if urlsplit(self.path).path.rstrip("/") != "/v1/messages" or not isinstance(body, dict):
                self._other(body)
                return
            fake._record(body)
            try:
                reply = fake.script(body)
            except Exception as exc:  # a 400 is not retried: claude fails fast
                fake._record_error(exc)
                reply = Reply.error(400, f"fake_anthropic script raised {exc!r}")
            model = body.get("model", "claude-fake")
            if reply.status != 200:
                kind = "invalid_request_error" if reply.status < 500 else "api_error"
                self._send_json(
                    reply.status, {"type": "error", "error": {"type": kind, "message": reply.error_message}}
                )
            elif body.get("stream"):
                self._stream(reply.sse_events(model))
            else:
                self._send_json(200, reply.message(model))

        def _stream(self, events: list[tuple[str, dict[str, Any]]]) -> None:
            data = b"".join(f"event: {e}\ndata: {json.dumps(d)}\n\n".encode() for e, d in events)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("request-id", f"req_fake_{next(_ids):04d}")
            self.end_headers()
            self.wfile.write(data)

    return Handler
