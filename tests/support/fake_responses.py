"""Scripted stand-in for the OpenAI Responses API, for driving Codex CLI offline.

Run it on loopback and point a Codex model provider at :attr:`FakeResponses.base_url`
(``codex_config`` writes that provider block): every ``POST /v1/responses`` is answered by a
*script*, a callable taking the request JSON body and returning a :class:`Reply`, sent as the
server-sent events Codex reads (``response.created``, ``response.output_item.done`` per output
item, ``response.completed``). ``GET /v1/models`` gets an empty list; any other path a 404.
Every request is kept in :attr:`FakeResponses.requests` (the body as sent, parsed).

Observed with Codex CLI 0.169.0:

* A main-agent turn offers the shell as the function tool ``exec_command`` (arguments
  ``{"cmd": ...}``); its output comes back in the next request's ``input`` as a
  ``function_call_output`` item (:func:`last_tool_output`). The hook sees that call as
  ``PreToolUse`` ``Bash{command}``.
* ``codex exec --disable shell_tool --disable unified_exec ...`` (lakeloop's judge and proposer)
  offers no ``exec_command`` (:func:`is_tool_less`).
* ``instructions`` holds the base (system) prompt; ``model_instructions_file`` replaces it.

Example::

    def script(body):
        if last_tool_output(body) is None:
            return Reply.shell("echo hi")
        return Reply.text("done")

    with FakeResponses(script) as api:
        (codex_home / "config.toml").write_text(codex_config(api.base_url))
        ...
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support.npm import node_env

__all__ = [
    "FakeResponses",
    "Reply",
    "codex_config",
    "codex_env",
    "run_codex",
    "session_id",
    "whole_text",
    "input_text",
    "is_tool_less",
    "last_tool_output",
    "last_user_text",
    "after_tool",
    "tool_names",
    "tool_outputs",
]

Request = dict[str, Any]
"""A received ``/v1/responses`` body (parsed JSON)."""

ScriptFn = Callable[[Request], "Reply"]
"""A script: decides the reply to one request body."""

_ids = itertools.count(1)
_TOOL_OUTPUTS = ("function_call_output", "custom_tool_call_output", "local_shell_call_output")


@dataclass
class Reply:
    """One model answer: a list of Responses-API output items.

    Build with :meth:`text` or :meth:`shell`.
    """

    items: list[dict[str, Any]]

    @classmethod
    def text(cls, text: str) -> Reply:
        """An assistant message ending the turn."""
        n = next(_ids)
        item = {
            "type": "message",
            "role": "assistant",
            "id": f"msg_fake_{n}",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }
        return cls([item])

    @classmethod
    def shell(cls, command: str) -> Reply:
        """One call of Codex's shell tool (``exec_command``) running ``command``."""
        n = next(_ids)
        item = {
            "type": "function_call",
            "id": f"fc_fake_{n}",
            "call_id": f"call_fake_{n}",
            "name": "exec_command",
            "arguments": json.dumps({"cmd": command}),
        }
        return cls([item])

    def sse(self) -> bytes:
        """This reply as the complete server-sent-event stream of one response."""
        rid = f"resp_fake_{next(_ids)}"
        events: list[tuple[str, dict[str, Any]]] = [("response.created", {"response": {"id": rid}})]
        events += [("response.output_item.done", {"item": item}) for item in self.items]
        usage = {
            "input_tokens": 10,
            "input_tokens_details": None,
            "output_tokens": 5,
            "output_tokens_details": None,
            "total_tokens": 15,
        }
        events.append(("response.completed", {"response": {"id": rid, "usage": usage}}))
        return b"".join(
            f"event: {name}\ndata: {json.dumps(dict(data, type=name))}\n\n".encode() for name, data in events
        )


# ---------------------------------------------------------------- request helpers


def tool_names(body: Request) -> list[str]:
    """Names of the tools the request offers (a function tool's ``name``, else its ``type``)."""
    return [str(t.get("name") or t.get("type")) for t in body.get("tools") or [] if isinstance(t, dict)]


def is_tool_less(body: Request) -> bool:
    """True when the request offers no shell (``exec_command``): lakeloop's judge/proposer/summary
    runs disable it, a main-agent turn offers it."""
    return "exec_command" not in tool_names(body)


def _items(body: Request) -> list[dict[str, Any]]:
    items = body.get("input")
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def tool_outputs(body: Request) -> list[str]:
    """Every tool output the request carries (``function_call_output``'s ``output``), in order."""
    out = []
    for item in _items(body):
        if item.get("type") in _TOOL_OUTPUTS:
            value = item.get("output")
            out.append(value if isinstance(value, str) else json.dumps(value))
    return out


def last_tool_output(body: Request) -> str | None:
    """The output of the last tool call in the request's ``input`` (None when none ran yet)."""
    outputs = tool_outputs(body)
    return outputs[-1] if outputs else None


def after_tool(body: Request) -> bool:
    """True when the request's last input item is a tool output (the model is to go on after a
    tool ran), False when it ends with a message (a new prompt)."""
    items = _items(body)
    return bool(items) and items[-1].get("type") in _TOOL_OUTPUTS


def last_user_text(body: Request) -> str:
    """Text of the request's last user message (the prompt of the current turn)."""
    for item in reversed(_items(body)):
        if item.get("type", "message") == "message" and item.get("role") == "user":
            return input_text({"input": [item]})
    return ""


def input_text(body: Request, role: str = "user") -> str:
    """Text of the request's messages with ``role`` (``user``, ``developer``), joined by newlines."""
    texts = []
    for item in _items(body):
        if item.get("type", "message") == "message" and item.get("role") == role:
            content = item.get("content")
            if isinstance(content, str):
                texts.append(content)
            elif isinstance(content, list):
                texts += [str(c.get("text", "")) for c in content if isinstance(c, dict)]
    return "\n".join(texts)


def whole_text(body: Request) -> str:
    """``instructions`` and the text of every message (developer, user, assistant), joined by
    newlines: where a system prompt lands whichever way the caller passed it."""
    texts = [str(body.get("instructions") or "")]
    texts += [input_text(body, role) for role in ("developer", "system", "user", "assistant")]
    return "\n".join(t for t in texts if t)


def session_id(body: Request) -> str | None:
    """The Codex session (thread) id the request belongs to (``client_metadata.session_id``, else
    ``prompt_cache_key``): the hooks' ``session_id`` of that run."""
    meta = body.get("client_metadata")
    sid = meta.get("session_id") if isinstance(meta, dict) else None
    return str(sid or body.get("prompt_cache_key") or "") or None


def codex_config(base_url: str) -> str:
    """A ``config.toml`` pointing Codex at the stand-in at ``base_url`` (``.../v1``): the model
    provider ``standin`` (key from ``STANDIN_API_KEY``, no retries), no approvals, no sandbox,
    uncompressed request bodies."""
    return f"""model = "standin-model"
model_provider = "standin"
approval_policy = "never"
sandbox_mode = "danger-full-access"

[model_providers.standin]
name = "standin"
base_url = "{base_url}"
wire_api = "responses"
env_key = "STANDIN_API_KEY"
request_max_retries = 0
stream_max_retries = 0

[features]
enable_request_compression = false
"""


def codex_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of an offline Codex CLI run: this process's without ``CODEX*``, ``OPENAI*``
    and ``LAKELOOP_SKILLS_DIR`` (Claude Code's skills directory), with ``HOME=home``,
    ``CODEX_HOME=home/.codex`` (created: Codex refuses one that does not exist), the stand-in's key
    ``STANDIN_API_KEY``, ``node`` first on PATH and the hooks run by this interpreter
    (``LAKELOOP_PYTHON``); ``extra`` is added last."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX", "OPENAI", "LAKELOOP_SKILLS_DIR"))}
    env = node_env(env)
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), CODEX_HOME=str(codex_home), STANDIN_API_KEY="test-key", LAKELOOP_PYTHON=sys.executable)
    env.update(extra)
    return env


def run_codex(
    codex_bin: str, prompt: str, env: dict[str, str], cwd: Path, *resume: str, timeout: float = 120
) -> tuple[str, list[dict[str, Any]]]:
    """One ``codex exec --json --skip-git-repo-check [resume ID] PROMPT`` turn (no bypass flag:
    hooks fire only when trusted); asserts exit 0; returns ``(thread id, events)``, the thread id
    being the hooks' ``session_id``. ``resume`` is empty or ``("resume", ID)``."""
    proc = subprocess.run(
        [codex_bin, "exec", "--json", "--skip-git-repo-check", *resume, prompt],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    thread = next((e["thread_id"] for e in events if e.get("type") == "thread.started"), "")
    assert thread, proc.stdout[-2000:]
    return thread, events


# ---------------------------------------------------------------- the server


class FakeResponses:
    """A scripted Responses API server on ``127.0.0.1`` (random port), in a background thread.

    Use as a context manager, or call :meth:`start` / :meth:`stop`. If the script raises, the
    request gets an HTTP 400 and the exception lands in :attr:`errors`.
    """

    def __init__(self, script: ScriptFn) -> None:
        self.script = script
        self._requests: list[Request] = []
        self.errors: list[Exception] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def requests(self) -> list[Request]:
        """A snapshot of every ``/v1/responses`` body received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``, for the provider's ``base_url``."""
        if self._server is None:
            raise RuntimeError("FakeResponses not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeResponses:
        """Bind to a free loopback port and serve in a daemon thread."""
        if self._server is None:
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
            self._server.daemon_threads = True
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeResponses:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _answer(self, body: Request) -> Reply:
        with self._lock:
            self._requests.append(body)
        return self.script(body)


def _make_handler(api: FakeResponses) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, json.dumps({"object": "list", "data": [], "models": []}).encode())
            else:
                self._send(404, b"{}")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if not self.path.rstrip("/").endswith("/responses"):
                self._send(404, b"{}")
                return
            try:
                if self.headers.get("Content-Encoding"):
                    raise ValueError(f"compressed body ({self.headers['Content-Encoding']}): not supported")
                body = json.loads(raw or b"{}")
                reply = api._answer(body)
            except Exception as exc:
                api.errors.append(exc)
                self._send(400, json.dumps({"error": {"message": str(exc)[:300]}}).encode())
                return
            self._send(200, reply.sse(), "text/event-stream")

    return Handler
