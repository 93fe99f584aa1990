"""A loopback stand-in for the Gemini API, to see the requests Gemini CLI really sends.

Gemini CLI's ``--fake-responses`` mode replays answers without showing what the model would have
received; pointing ``GOOGLE_GEMINI_BASE_URL`` at this server does (Gemini 0.61 then uses its
``gateway`` auth with ``GEMINI_API_KEY``). It answers ``POST /v1beta/models/<m>:streamGenerateContent``
with one server-sent event carrying ``reply`` as the model's text, ``:generateContent`` with the
same as JSON (Gemini's model router asks there first; it gets a low complexity score), and
``:countTokens``. Every POST body is kept in ``requests`` (``{"path", "body"}``, parsed JSON).
``function_names(body)`` lists the function declarations a request offers the model.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_USAGE = {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}


def _candidate(text: str) -> dict[str, Any]:
    return {
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": _USAGE,
    }


def function_names(body: dict[str, Any]) -> list[str]:
    """Names of the function declarations ``body`` offers the model (every ``tools[*]``)."""
    names = []
    for tool in body.get("tools") or []:
        for decl in (tool.get("functionDeclarations") or []) if isinstance(tool, dict) else []:
            names.append(str(decl.get("name")))
    return names


def system_text(body: dict[str, Any]) -> str:
    """The request's system instruction text (its parts joined)."""
    sysi = body.get("systemInstruction") or {}
    parts = sysi.get("parts", []) if isinstance(sysi, dict) else []
    return "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))


class FakeGeminiApi:
    """The stand-in on ``127.0.0.1`` (random port) in a daemon thread; a context manager.
    ``base_url`` is the value for ``GOOGLE_GEMINI_BASE_URL``."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every POST so far, ``{"path", "body"}``, in arrival order."""
        with self._lock:
            return list(self._requests)

    def model_requests(self) -> list[dict[str, Any]]:
        """The bodies of the main model requests (``streamGenerateContent``), in order."""
        return [r["body"] for r in self.requests if ":streamGenerateContent" in r["path"]]

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeGeminiApi:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _answer(self, path: str, body: dict[str, Any]) -> tuple[bytes, str]:
        with self._lock:
            self._requests.append({"path": path, "body": body})
        if ":countTokens" in path:
            return json.dumps({"totalTokens": 10}).encode(), "application/json"
        text = self.reply
        if "complexity" in system_text(body).lower():  # the model router's question
            text = json.dumps({"complexity_reasoning": "scripted", "complexity_score": 10})
        if ":streamGenerateContent" in path:
            return f"data: {json.dumps(_candidate(text))}\r\n\r\n".encode(), "text/event-stream"
        return json.dumps(_candidate(text)).encode(), "application/json"


def _handler(api: FakeGeminiApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, data: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._send(200, b"{}", "application/json")

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {"unparsed": raw[:200].decode("utf-8", "replace")}
            data, content_type = api._answer(self.path, body if isinstance(body, dict) else {})
            self._send(200, data, content_type)

    return Handler
