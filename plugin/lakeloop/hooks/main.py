"""Entry point of every hook process: ``python hooks/entry.py <HookEvent>``.

Reads the payload from stdin (at most ``MAX_STDIN_BYTES``), dispatches to the
handler of the event (imported lazily, so each hook imports only what it
uses) and always returns 0: a malformed payload, a store failure or a crash
is written to the log file, never to the agent. Handlers print nothing to
stdout, so nothing reaches the model's context; the one exception is
SessionStart's ``{"systemMessage": ...}`` JSON, which Claude Code shows to the
user only (``lakeloop.notices``).
"""

from __future__ import annotations

import json
import sys
import time

#: Payloads larger than this (bytes) are not parsed; the event is logged as dropped.
MAX_STDIN_BYTES = 32 * 1024 * 1024

#: event name (as Claude Code spells it) -> "module:function" in lakeloop.hooks
HANDLERS = {
    "SessionStart": "session_start:handle",
    "UserPromptSubmit": "user_prompt_submit:handle",
    "PreToolUse": "pre_tool_use:handle",
    "PostToolUse": "capture:handle",
    "Stop": "capture:handle",
    "SubagentStop": "capture:handle",
    "SessionEnd": "session_end:handle",
}


def read_payload(stream, log) -> dict | None:
    """Parse one JSON object from ``stream`` (bytes). None (and a log line) when the
    input is too large, not JSON, or not an object."""
    data = stream.read(MAX_STDIN_BYTES + 1)
    if len(data) > MAX_STDIN_BYTES:
        log.error("payload over %d bytes: event dropped", MAX_STDIN_BYTES)
        return None
    if not data.strip():
        log.error("empty stdin: no hook payload, event ignored")
        return None
    try:
        payload = json.loads(data.decode("utf-8", "replace"))
    except ValueError as exc:
        log.error("malformed JSON on stdin (%d bytes): %s", len(data), exc)
        return None
    if not isinstance(payload, dict):
        log.error("payload is %s, not a JSON object: ignored", type(payload).__name__)
        return None
    return payload


class LazyLog:
    """A ``logging.Logger`` stand-in that configures logging on first use.

    The fast paths (a PreToolUse on a tool that cannot load a skill) then never
    import ``logging`` at all: Python start-up is most of a hook's cost.
    """

    def __init__(self, component: str) -> None:
        self._component = component
        self._logger = None

    @property
    def used(self) -> bool:
        """True once a record was logged (logging configured)."""
        return self._logger is not None

    def __getattr__(self, name: str):
        if self._logger is None:
            from .. import log as logmod

            self._logger = logmod.setup(self._component)
        return getattr(self._logger, name)


def _short(value: object, limit: int = 60) -> str:
    text = str(value).replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "..."


def main(argv: list[str] | None = None) -> int:
    """Run the hook named by ``argv[0]``; returns 0 whatever happens."""
    argv = sys.argv[1:] if argv is None else argv
    event = argv[0] if argv else ""
    started = time.monotonic()
    log = LazyLog(f"hook.{_short(event, 40) or 'unknown'}")
    try:
        target = HANDLERS.get(event)
        if target is None:
            log.error("unknown hook event %r: nothing done", _short(event))
            return 0
        payload = read_payload(sys.stdin.buffer, log)
        if payload is None:
            return 0
        named = payload.get("hook_event_name")
        if named != event:
            if named:
                log.warning("payload says hook_event_name=%r, launched as %s: handled as %s",
                            _short(named), event, event)
            payload["hook_event_name"] = event
        module_name, func = target.split(":")
        module = __import__(f"lakeloop.hooks.{module_name}", fromlist=[func])
        getattr(module, func)(payload, log)
        if log.used:
            log.debug("done in %.1f ms", (time.monotonic() - started) * 1000)
    except BaseException as exc:  # the crash handler: log the traceback, exit 0
        try:
            if isinstance(exc, KeyboardInterrupt):
                log.warning("interrupted")
            else:
                log.exception("hook crashed (exit 0, agent unaffected): %s", type(exc).__name__)
        except Exception:  # pragma: no cover - the log itself failed
            pass
    return 0
