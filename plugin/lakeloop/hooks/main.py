"""Entry point of every hook process: ``python hooks/entry.py <HookEvent>``.

Reads the payload from stdin (at most ``MAX_STDIN_BYTES``), dispatches to the
handler of the event (imported lazily, so each hook imports only what it
uses; capture events are spooled unparsed, and a PreToolUse payload naming no
skill is dropped before JSON is even imported) and always returns 0: a
malformed payload, a store failure or a crash is written to the log file,
never to the agent. Handlers print nothing to
stdout except hook decisions: SessionStart's ``systemMessage`` (shown to the user
only, ``lakeloop.notices``) and ``additionalContext`` (a few lines on the memory path,
for the model), and PreToolUse's answers for tool calls on the memory path
(``lakeloop.memory.answer``).
"""

from __future__ import annotations

import sys
import time

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook start-up time)
if TYPE_CHECKING:
    from logging import Logger

    _LoggerLike = Logger  # what type checkers see: every Logger attribute is forwarded
else:
    _LoggerLike = object

#: Payloads larger than this (bytes) are not parsed; the event is logged as dropped.
MAX_STDIN_BYTES = 32 * 1024 * 1024

#: event name (as Claude Code spells it) -> "module:function" in lakeloop.hooks, for the events
#: whose handler takes the parsed payload (capture events take the raw bytes: CAPTURE_EVENTS)
HANDLERS = {
    "SessionStart": "session_start:handle",
    "PreToolUse": "pre_tool_use:handle",
    "SessionEnd": "session_end:handle",
}


#: Byte strings one of which a payload must contain for the event's handler to have work; any
#: other payload is done with before JSON parsing (a PreToolUse that cannot load a skill and
#: does not touch the memory path: ``lakeloop.memory.prefilter.is_candidate``).
PREFILTERS = {"PreToolUse": (b'"Skill"', b"SKILL.md")}

#: Events whose hook only spools the raw payload (``lakeloop.outbox``): no JSON parsing in the hook.
CAPTURE_EVENTS = frozenset({"UserPromptSubmit", "PostToolUse", "Stop", "SubagentStop"})


def read_bytes(stream, log) -> bytes | None:
    """The payload bytes from ``stream``, or None (and a log line) when empty or too large."""
    data = stream.read(MAX_STDIN_BYTES + 1)
    if len(data) > MAX_STDIN_BYTES:
        log.error("payload over %d bytes: event dropped", MAX_STDIN_BYTES)
        return None
    if not data.strip():
        log.error("empty stdin: no hook payload, event ignored")
        return None
    return data


def parse_payload(data: bytes) -> tuple[dict | None, str]:
    """``(payload, "")`` for a JSON object within ``lakeloop.boundedjson``'s depth and size
    bounds, else ``(None, why)``: the one check of hook input."""
    from ..boundedjson import PayloadError, loads_object

    try:
        return loads_object(data), ""
    except PayloadError as exc:
        return None, f"{exc}: ignored"


class LazyLog(_LoggerLike):
    """A ``logging.Logger`` stand-in that configures logging on first use (every attribute
    is the configured logger's, so it passes wherever a Logger is expected).

    The fast paths (a PreToolUse on a tool that cannot load a skill) then never
    import ``logging`` at all: Python start-up is most of a hook's cost.
    """

    def __init__(self, component: str) -> None:
        self._component = component
        self._logger: Logger | None = None

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
    import os

    umask = os.umask(0o077)  # files and dirs created here and by detached children: private
    try:
        return _main(event, started)
    finally:
        os.umask(umask)


def _main(event: str, started: float) -> int:
    log = LazyLog(f"hook.{_short(event, 40) or 'unknown'}")
    try:
        if event in CAPTURE_EVENTS:  # fast path: spool the raw bytes, parse in the drainer
            from .capture import spool

            data = read_bytes(sys.stdin.buffer, log)
            if data is not None:
                spool(event, data, log)
            return 0
        target = HANDLERS.get(event)
        if target is None:
            log.error("unknown hook event %r: nothing done", _short(event))
            return 0
        data = read_bytes(sys.stdin.buffer, log)
        if data is None:
            return 0
        needles = PREFILTERS.get(event)
        shaped = data.lstrip()[:1] == b"{" and data.rstrip()[-1:] == b"}"
        if needles and shaped and not any(n in data for n in needles):
            from ..memory.prefilter import is_candidate  # os-level only: runs on every such payload

            if not is_candidate(event, data):
                return 0  # an object that cannot concern us; anything else is parsed (and logged if bad)
        payload, why = parse_payload(data)
        if payload is None:
            log.error("%s", why)
            return 0
        named = payload.get("hook_event_name")
        if named != event:
            if named:
                log.warning(
                    "payload says hook_event_name=%r, launched as %s: handled as %s", _short(named), event, event
                )
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
