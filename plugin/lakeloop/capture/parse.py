"""An outbox entry's bytes -> the hook payload dict, with the capturing session's settings.

What is stored of an event (capture on or off, project excluded, ``<private>`` spans, secret
redaction with or without custom patterns) and whom its row is filed under (the author and the
row's path) are decided by the settings of the session that captured it, recorded by its hook in
the entry (``EntrySettings``), never by the drainer's own environment: the drainer may have been
started by another session or by ``lakeloop flush``.

The agent that ran the hook (Claude Code, Codex CLI, Gemini CLI: ``lakeloop.agents``) is recorded
in the entry too (``EntrySettings.agent``); ``parse`` turns another agent's payload into the
canonical (Claude Code-shaped) one with ``Agent.canonical_payload``, and the rows carry that
agent's ``row_agent``.
"""

from __future__ import annotations

from .. import config
from ..agents.base import OUTBOX_AGENT_FIELD
from ..boundedjson import loads_object
from ..outbox.spool import RECORDED_SETTINGS, parse_header, split_entry

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from typing import Any

#: Key of the parsed payload under which ``parse`` puts the entry's ``EntrySettings`` (always
#: set by ``parse``, replacing anything a payload had under that name).
SETTINGS_KEY = "_lakeloop_settings"
#: Key under which ``parse`` records ``(name the payload gave, event launched as)`` when the
#: payload's ``hook_event_name`` differs from the event the hook was launched for (a tuple,
#: which no JSON payload can hold); ``event_rows`` logs and removes it.
LAUNCHED_AS_KEY = "_launched_as"


class EntrySettings:
    """The capture settings of the session that spooled an event, as its hook recorded them.

    ``env``: ``{variable: value}`` of the recorded variables (``lakeloop.outbox.spool.
    RECORDED_SETTINGS``) that were set; read with the ``lakeloop.config`` functions, so they
    mean what they mean in a session. ``cut``: variables whose value was over the recording
    bound (the event is then not stored, nor reacted to). ``recorded``: False for an entry
    written without a header (an older lakeloop): ``env`` is then empty, which means the
    defaults: capture on, redaction on, no custom patterns, no ``LAKELOOP_EXCLUDE`` (a
    ``.lakeloop-ignore`` still applies), and the row filed under the drainer's own identity.
    ``agent``: the ``lakeloop.agents`` name of the agent whose hook spooled the event
    (``"claude"`` when the entry names none).
    """

    __slots__ = ("env", "cut", "recorded", "agent")

    def __init__(
        self, env: dict[str, str], cut: tuple[str, ...] = (), recorded: bool = True, agent: str = "claude"
    ) -> None:
        self.env, self.cut, self.recorded, self.agent = env, cut, recorded, agent

    @property
    def row_agent(self) -> str:
        """The rows' ``agent`` value for this entry (``Agent.row_agent``: ``claude_code``,
        ``codex``, ``gemini``). Raises KeyError for an agent ``lakeloop.agents`` does not know."""
        from .. import agents

        return agents.get(self.agent).row_agent

    @classmethod
    def from_environment(cls) -> EntrySettings:
        """This process's own settings (callers other than the drainer: benchmarks, tests)."""
        import os

        return cls({n: os.environ[n] for n in RECORDED_SETTINGS if n in os.environ})

    @property
    def capture(self) -> bool:
        """``LAKELOOP_CAPTURE`` of the session."""
        return config.capture_enabled(self.env)

    @property
    def redact(self) -> bool:
        """``LAKELOOP_REDACT`` of the session."""
        return config.redact_enabled(self.env)

    @property
    def patterns(self) -> list[str]:
        """``LAKELOOP_REDACT_PATTERNS`` of the session (one regular expression per item)."""
        return config.redact_patterns(self.env)

    @property
    def exclude(self) -> list[str]:
        """``LAKELOOP_EXCLUDE`` globs of the session, ``~`` expanded with its ``HOME``."""
        return config.capture_exclude(self.env)

    @property
    def author_env(self) -> dict[str, str] | None:
        """Where the row's author is read (``store.current_identity(env)``): the session's
        ``LAKELOOP_USER`` and login-name variables, or None (the drainer's own environment)
        for an entry written without a header."""
        if not self.recorded:
            return None
        return {n: self.env[n] for n in ("LAKELOOP_USER", *config.LOGIN_NAME_VARIABLES) if n in self.env}


def parse(data: bytes, event: str, header: bytes | None = None, log: logging.Logger | None = None) -> dict[str, Any]:
    """The hook payload as a dict, its ``hook_event_name`` set to ``event`` (the launcher's
    event argument wins; a different name in the payload is kept under ``LAUNCHED_AS_KEY``) and
    the entry's ``EntrySettings`` under ``SETTINGS_KEY``. ``header`` is the entry's settings
    header line and ``data`` its payload (the drainer splits them,
    ``lakeloop.outbox.drainer.read_entry``; ``b""``: no header); with ``header`` None, ``data``
    is a whole entry file's bytes. An entry without a settings header (an older lakeloop's)
    gets the defaults, with one ``log`` line. Another agent's payload (the entry names one) is
    first made canonical (``Agent.canonical_payload``); for it a ``hook_event_name`` other than
    the agent's native name of ``event`` is not stored. Raises ValueError (a header that does not
    parse, an agent ``lakeloop.agents`` does not know, another agent's payload naming another
    event) and ``boundedjson.PayloadError`` (a payload that is not a JSON object within its
    bounds)."""
    if header is None:
        env, cut, data = split_entry(data)
    elif header:
        env, cut = parse_header(header)
    else:
        env, cut = None, ()
    agent_name = env.pop(OUTBOX_AGENT_FIELD, "claude") if env is not None else "claude"
    payload = loads_object(data)
    if agent_name != "claude":
        payload = _canonical(agent_name, event, payload)
    if env is None:
        settings = EntrySettings({}, recorded=False)
        if log is not None:
            log.info(
                "%s entry has no settings header (spooled by an older lakeloop): stored with the "
                "defaults (redaction on, no custom patterns, no LAKELOOP_EXCLUDE) under this "
                "process's user",
                event,
            )
    else:
        settings = EntrySettings(env, cut, agent=agent_name)
    named = payload.get("hook_event_name")
    if named != event:
        payload[LAUNCHED_AS_KEY] = (str(named)[:60] if named else "", event)
        payload["hook_event_name"] = event
    payload[SETTINGS_KEY] = settings
    return payload


def _canonical(name: str, event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Agent ``name``'s ``payload`` as the canonical payload of ``event``. Raises ValueError for
    an unknown agent, an event that agent does not install (a hook wired by hand), or a payload
    whose ``hook_event_name`` is not the agent's native name of ``event`` (the entry then goes
    to ``outbox/failed/`` with one log line)."""
    from .. import agents

    if name not in agents.NAMES:
        raise ValueError(f"entry names an unknown agent {name[:40]!r}: not stored")
    agent = agents.get(name)
    native = agent.native_event(event)
    if event not in agent.events.values() or native in agent.ignored_events:
        raise ValueError(f"{event} is not an event lakeloop handles for {name}: not stored")
    named = payload.get("hook_event_name")
    if named != native:
        shown = str(named)[:60] if named else ""
        raise ValueError(f"{name} payload says hook_event_name={shown!r}, launched as {event} ({native}): not stored")
    canonical = agent.canonical_payload(event, payload)
    canonical["hook_event_name"] = event
    return canonical


def settings_of(payload: dict[str, Any]) -> EntrySettings:
    """The ``EntrySettings`` ``parse`` put in ``payload`` (this process's own, from its
    environment, for a payload that did not come through ``parse``). Leaves ``payload`` as it
    is, so a second call on it sees the same settings."""
    settings = payload.get(SETTINGS_KEY)
    return settings if isinstance(settings, EntrySettings) else EntrySettings.from_environment()
