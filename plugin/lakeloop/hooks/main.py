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
#: does not touch the memory path: ``_memory_candidate``).
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


#: Bytes of shell expansion that could spell the memory path without naming it.
_EXPANSION = (b"*", b"?", b"[", b"$", b"`")


def _memory_candidate(event: str, data: bytes) -> bool:
    """True when a PreToolUse payload may touch the memory path (``lakeloop.memory``): with
    quotes and backslashes removed it contains ``deeplake`` (the default root), the last
    component of ``LAKELOOP_MEMORY_PATH``, or ``memory-answers`` (the answer files' directory,
    whose files Write/Edit may not change). Cheap and conservative: a false hit only costs a parse."""
    if event != "PreToolUse":
        return False
    import os

    flat = data.translate(None, b"'\"\\")
    override = os.environ.get("LAKELOOP_MEMORY_PATH", "").strip().rstrip("/")
    names = [b"memory-answers"]
    if not override or ".deeplake" in override:
        names.append(b"deeplake")
    if override:
        names.append(override.rsplit("/", 1)[-1].encode("utf-8", "surrogateescape"))
    if any(n and n in flat for n in names):
        return True
    # A Bash command can name the memory path without spelling it (`~/.dee*/memory`,
    # `~/.deep?ake`, `$D/memory`, `{a,b}`, backticks): any shell expansion character in a Bash
    # payload sends it to the full check (lakeloop.memory.command.touches_memory).
    return b'"Bash"' in data and _expands(data)


#: Bytes one of which a command must hold for an expansion to reach a hidden directory such as
#: ``~/.deeplake`` without spelling it: a dot starting a path component (``~/.d*``, `` .d*``,
#: ``{.,x}``, ``D=.d*``), or a command substitution (which can compute anything).
_HIDDEN = (b"/.", b" .", b"{.", b",.", b"=.", b'".', b"\t.", b";.", b"&.", b"|.", b"$(", b"`")


def _expands(data: bytes) -> bool:
    """True when a JSON payload's strings may hold a shell expansion that reaches a hidden
    directory: ``* ? [ $`` or a brace that does not open a JSON object (``{a,b}``; JSON text
    writes objects as ``{"``), together with a ``_HIDDEN`` marker. (``*`` does not match a
    leading dot, so ``~/*/memory`` cannot reach ``~/.deeplake``.)"""
    start = data.find(b'"tool_input"')  # only the tool's input: transcript_path and cwd hold `/.` too
    if start < 0:
        return True
    end = data.find(b'"tool_use_id"', start)
    data = data[start:end] if end > start else data[start:]
    if not (any(c in data for c in _EXPANSION) or data.count(b"{") > data.count(b'{"') + data.count(b"{}")):
        return False
    return any(h in data for h in _HIDDEN)


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
    import os

    umask = os.umask(0o077)  # files and dirs created here and by detached children: private (issue 7)
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
        if needles and shaped and not any(n in data for n in needles) and not _memory_candidate(event, data):
            return 0  # an object that cannot concern us; anything else is parsed (and logged if bad)
        payload, why = parse_payload(data)
        if payload is None:
            log.error("%s", why)
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
