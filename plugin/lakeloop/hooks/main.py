"""Entry point of every hook process: ``python hooks/entry.py <HookEvent> [<agent>]``.

``<HookEvent>`` is the canonical (Claude Code) event name; ``<agent>`` a ``lakeloop.agents`` name
(Codex CLI's and Gemini CLI's installed hooks pass ``codex`` / ``gemini``; Claude Code's
``hooks/hooks.json`` passes none, which means ``claude``). An unknown agent, or an event that
agent does not install (``Agent.events``, ``Agent.ignored_events``), is one log line and
nothing else (for a capture event the drainer checks the event, ``capture.parse``, and sets
such an entry aside in ``outbox/failed``). For another agent than Claude Code, a parsed
payload whose ``hook_event_name`` is not the agent's native name of the event is logged and
dropped; otherwise it is turned into the canonical payload (``Agent.canonical_payload``) with the native one kept under
``agents.base.NATIVE_KEY`` and the agent's name under ``agents.base.AGENT_KEY``. Capture
events are spooled raw with the agent recorded in the outbox entry; the drainer normalises
them. Claude Code's path imports nothing of ``lakeloop.agents``.

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
#: does not touch the memory path: ``lakeloop.memory.prefilter.is_candidate``). Gemini CLI uses
#: a skill through its ``activate_skill`` tool.
PREFILTERS = {"PreToolUse": (b'"Skill"', b"SKILL.md", b'"activate_skill"')}

#: The default agent (Claude Code's hooks pass no agent argument): ``lakeloop.agents.DEFAULT``
CLAUDE = "claude"

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


def _canonical(name: str, event: str, payload: dict, log: LazyLog) -> dict | None:
    """``payload`` of agent ``name`` as the canonical payload of ``event`` (the native dict and
    the agent's name kept in it), or None (logged) when its ``hook_event_name`` is not the
    agent's native name of ``event``."""
    from .. import agents
    from ..agents.base import AGENT_KEY, NATIVE_KEY

    agent = agents.get(name)
    native = agent.native_event(event)
    named = payload.get("hook_event_name")
    if named != native:
        log.warning(
            "%s payload says hook_event_name=%r, launched as %s (%s expected): dropped",
            name,
            _short(named),
            event,
            native,
        )
        return None
    canonical = agent.canonical_payload(event, payload)
    canonical["hook_event_name"] = event
    canonical[NATIVE_KEY] = payload
    canonical[AGENT_KEY] = name
    return canonical


def agent_of(payload: dict) -> tuple[str, dict] | None:
    """``(agent name, native payload)`` of a payload ``_canonical`` made canonical, None for
    Claude Code's: only ``_canonical`` loads ``lakeloop.agents.base``, so Claude Code's hooks
    need no import to tell (``sys.modules`` is only looked at)."""
    base = sys.modules.get("lakeloop.agents.base")
    if base is None:
        return None
    name = payload.get(base.AGENT_KEY)
    if not isinstance(name, str):
        return None
    native = payload.get(base.NATIVE_KEY)
    return name, native if isinstance(native, dict) else {}


def main(argv: list[str] | None = None) -> int:
    """Run the hook named by ``argv[0]`` for the agent ``argv[1]`` (default ``claude``); returns 0
    whatever happens."""
    argv = sys.argv[1:] if argv is None else argv
    event = argv[0] if argv else ""
    agent = argv[1] if len(argv) > 1 else CLAUDE
    started = time.monotonic()
    import os

    umask = os.umask(0o077)  # files and dirs created here and by detached children: private
    try:
        return _main(event, started, agent)
    finally:
        os.umask(umask)


def _served(agent: str, event: str, log: LazyLog, name_only: bool = False) -> bool:
    """Is ``agent`` a known agent that installs the canonical ``event``? Logs why not. With
    ``name_only``, and always for a capture event, only the agent's name is checked
    (``lakeloop.agents``'s package, no agent module: the capture path, and a PreToolUse the
    prefilter drops, stay as light as Claude Code's); the drainer checks a capture event
    (``capture.parse``), and ``_main`` checks a prefiltered event again once it passed."""
    from .. import agents

    if agent not in agents.NAMES:
        log.error("unknown agent %r (hook event %s): nothing done", _short(agent), _short(event))
        return False
    if name_only or event in CAPTURE_EVENTS:
        return True
    served = agents.get(agent)
    if event in served.ignored_events or event not in served.events.values():
        log.info("%s is not an event lakeloop handles for %s: nothing done", _short(event), agent)
        return False
    return True


def _main(event: str, started: float, agent: str = CLAUDE) -> int:
    log = LazyLog(f"hook.{_short(event, 40) or 'unknown'}")
    try:
        if agent != CLAUDE and not _served(agent, event, log, name_only=event in PREFILTERS):
            return 0
        if event in CAPTURE_EVENTS:  # fast path: spool the raw bytes, parse in the drainer
            from .capture import spool

            data = read_bytes(sys.stdin.buffer, log)
            if data is not None:
                spool(event, data, log, agent)
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

            if not is_candidate(event, data, agent):
                return 0  # an object that cannot concern us; anything else is parsed (and logged if bad)
        if agent != CLAUDE and event in PREFILTERS and not _served(agent, event, log):
            return 0
        payload, why = parse_payload(data)
        if payload is None:
            log.error("%s", why)
            return 0
        if agent != CLAUDE:
            payload = _canonical(agent, event, payload, log)
            if payload is None:
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
