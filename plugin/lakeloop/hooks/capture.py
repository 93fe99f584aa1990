"""Capture (UserPromptSubmit, PostToolUse, Stop, SubagentStop).

In the hook process, ``spool`` only writes the raw payload to the outbox (no
JSON parsing: json and its regular expressions are a fifth of a hook's
start-up) and starts a detached drainer unless one already runs
(``lakeloop.outbox``). The drainer calls back into this module through
``handlers``: ``parse`` (the entry's settings header, ``lakeloop.outbox.spool``, then
bounded JSON, ``lakeloop.boundedjson``), ``react`` (``user_prompt_submit.react``), ``rows``
(one sessions row per event, ``lakeloop.rows``, its id the event id) and ``open_store``.
Skipped when ``LAKELOOP_CAPTURE=0`` or inside the skill optimizer's own processes (the
judge and proposer calls are never captured).

What is stored of an event (capture on or off, project excluded, ``<private>`` spans, secret
redaction with or without custom patterns) and whom its row is filed under (the author and the
row's path) are decided by the settings of the session that captured it, recorded by its hook in
the entry (``EntrySettings``), never by the drainer's own environment: the drainer may have been
started by another session or by ``lakeloop flush``.
"""

from __future__ import annotations

from .. import config

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook start-up time)
if TYPE_CHECKING:
    from typing import Any

    import logging

    from ..outbox.drainer import Handlers, Result
    from ..rows import Identity

#: Hard backstop on a detached drainer's life (seconds): SIGALRM ends one stuck in a system
#: call, which releases the drain lock (its in-flight entries are then looked up, not lost).
DRAINER_ALARM_S = 900
#: Key of the parsed payload under which ``parse`` puts the entry's ``EntrySettings`` (always
#: set by ``parse``, replacing anything a payload had under that name).
SETTINGS_KEY = "_lakeloop_settings"


class EntrySettings:
    """The capture settings of the session that spooled an event, as its hook recorded them.

    ``env``: ``{variable: value}`` of the recorded variables (``lakeloop.outbox.spool.
    RECORDED_SETTINGS``) that were set; read with the ``lakeloop.config`` functions, so they
    mean what they mean in a session. ``cut``: variables whose value was over the recording
    bound (the event is then not stored, nor reacted to). ``recorded``: False for an entry
    written without a header (an older lakeloop): ``env`` is then empty, which means the
    defaults: capture on, redaction on, no custom patterns, no ``LAKELOOP_EXCLUDE`` (a
    ``.lakeloop-ignore`` still applies), and the row filed under the drainer's own identity.
    """

    __slots__ = ("env", "cut", "recorded")

    def __init__(self, env: dict[str, str], cut: tuple[str, ...] = (), recorded: bool = True) -> None:
        self.env, self.cut, self.recorded = env, cut, recorded

    @classmethod
    def from_environment(cls) -> EntrySettings:
        """This process's own settings (callers other than the drainer: benchmarks, tests)."""
        import os

        from ..outbox.spool import RECORDED_SETTINGS

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


def spool(event: str, data: bytes, log: logging.Logger) -> None:
    """Hook fast path: spool the raw payload bytes and start a drainer unless one runs
    (or the store is pausing after the last drainer gave up on it; a UserPromptSubmit
    starts one anyway, for its reaction). UserPromptSubmit is spooled even with
    capture off (its reaction still counts)."""
    if config.in_worker():
        return
    if event != "UserPromptSubmit" and not config.capture_enabled():
        return
    from ..outbox import spool as outbox_spool

    try:
        outbox_spool.put_raw(event, data)
    except outbox_spool.OutboxFull:
        from ..outbox.usage import record_drop

        record_drop(event, log, config.outbox_max_mb())
        return
    if event != "UserPromptSubmit" and outbox_spool.store_paused():
        from ..outbox.usage import maybe_refresh

        maybe_refresh(config.outbox_max_mb() << 20, len(data))  # no drainer runs: keep the cap enforced
        return
    if outbox_spool.start_drainer(drainer_child) == "inline":
        drain(log, linger_s=0.0)


def drainer_child(lock_fd: int) -> None:
    """Body of the detached drainer (runs in the forked child holding the drain lock)."""
    import signal

    signal.alarm(DRAINER_ALARM_S)
    from ..log import setup

    log = setup("drain")
    from ..outbox.drainer import Drainer, run_locked

    run_locked(lambda: Drainer(handlers(log), log, linger_s=config.drain_linger_s(),
                               max_bytes=config.outbox_max_mb() << 20), lock_fd, log)


def drain(log: logging.Logger, linger_s: float = 0.0, wait_s: float = 0.0, sleep=None) -> Result | None:
    """Drain the outbox in this process (``lakeloop flush``, platforms without fork, tests).
    Waits up to ``wait_s`` seconds for a running drainer to finish first. Returns the
    ``Result``, or None when another drainer still holds the lock."""
    from ..outbox import outbox_dir
    from ..outbox.drainer import Drainer, run_locked
    from ..outbox.lock import wait_lock

    fd = wait_lock(outbox_dir(), wait_s)
    if fd is None:
        return None
    extra = {} if sleep is None else {"sleep": sleep}
    return run_locked(lambda: Drainer(handlers(log), log, linger_s=linger_s,
                                      max_bytes=config.outbox_max_mb() << 20, **extra), fd, log)


def handlers(log: logging.Logger) -> Handlers:
    """The drainer's callbacks for capture (see ``lakeloop.outbox.drainer.Handlers``). Each row
    is filed under the identity of the session that captured it (``EntrySettings.author_env``),
    resolved once per distinct author per drain, on first need."""
    from ..outbox.drainer import Handlers

    identities: dict[tuple[tuple[str, str], ...] | None, Identity] = {}

    def rows(payload: dict[str, Any], received_ns: int, event_id: str) -> list:
        env = _settings_of(payload).author_env
        key = None if env is None else tuple(sorted(env.items()))
        identity = identities.get(key)
        if identity is None:
            from ..store import current_identity

            identity = identities[key] = current_identity(env)
        return event_rows(payload, received_ns, event_id, identity, log)

    def open_store():
        from ..store import open_store as _open

        return _open()

    return Handlers(parse=lambda data, event, header=None: parse(data, event, header, log), react=_react(log),
                    rows=rows, open_store=open_store)


def parse(data: bytes, event: str, header: bytes | None = None, log: logging.Logger | None = None) -> dict[str, Any]:
    """The hook payload as a dict, its ``hook_event_name`` set to ``event`` (the launcher's
    event argument wins) and the entry's ``EntrySettings`` under ``SETTINGS_KEY``. ``header``
    is the entry's settings header line and ``data`` its payload (the drainer splits them,
    ``lakeloop.outbox.drainer.read_entry``; ``b""``: no header); with ``header`` None, ``data``
    is a whole entry file's bytes. An entry without a settings header (an older lakeloop's)
    gets the defaults, with one ``log`` line. Raises ValueError (a header that does not
    parse) and ``boundedjson.PayloadError``."""
    from ..boundedjson import loads_object
    from ..outbox.spool import parse_header, split_entry

    if header is None:
        env, cut, data = split_entry(data)
    elif header:
        env, cut = parse_header(header)
    else:
        env, cut = None, ()
    payload = loads_object(data)
    if env is None:
        settings = EntrySettings({}, recorded=False)
        if log is not None:
            log.info("%s entry has no settings header (spooled by an older lakeloop): stored with the "
                     "defaults (redaction on, no custom patterns, no LAKELOOP_EXCLUDE) under this "
                     "process's user", event)
    else:
        settings = EntrySettings(env, cut)
    named = payload.get("hook_event_name")
    if named != event:
        payload["_launched_as"] = (str(named)[:60] if named else "", event)
        payload["hook_event_name"] = event
    payload[SETTINGS_KEY] = settings
    return payload


def _settings_of(payload: dict[str, Any]) -> EntrySettings:
    """The ``EntrySettings`` ``parse`` put in ``payload`` (this process's own for a payload that
    did not come through ``parse``)."""
    settings = payload.get(SETTINGS_KEY)
    return settings if isinstance(settings, EntrySettings) else EntrySettings.from_environment()


def _react(log: logging.Logger):
    def react(payload: dict[str, Any], received_ns: int, event_id: str) -> None:
        from .user_prompt_submit import react as react_prompt

        settings = _settings_of(payload)
        if settings.cut:
            log.warning("event %s: no reaction: %s over %d bytes in its session, recorded cut", event_id,
                        ", ".join(settings.cut), _max_setting_bytes())
            return
        react_prompt(payload, log, received_ns, event_id, settings=settings)
    return react


def _max_setting_bytes() -> int:
    from ..outbox.spool import MAX_SETTING_BYTES

    return MAX_SETTING_BYTES


def event_rows(payload: dict[str, Any], received_at_ns: int, event_id: str, identity: Identity,
               log: logging.Logger) -> list:
    """The sessions rows for one payload (0 or 1): empty when capture is off, the payload
    has no session_id, the event is not captured, or its project is excluded (a
    ``.lakeloop-ignore`` at or above its ``cwd`` or its real path, ``LAKELOOP_EXCLUDE``). The
    row's id is ``event_id``. In the built row, ``<private>`` spans of every text field become
    ``[PRIVATE]`` and then secrets ``[REDACTED:<kind>]`` (``lakeloop.redact``;
    ``LAKELOOP_REDACT=0`` turns the latter off): this runs in the drainer, so the row is
    cleaned before it reaches either store. The settings are the entry's (``SETTINGS_KEY``,
    set by ``parse``; this process's own for a payload that did not come through it)."""
    settings = _settings_of(payload)  # left in the payload: a second call on it must see the same
    if settings.cut:
        log.warning("event %s not captured: %s over %d bytes in its session, recorded cut (its exclusion "
                    "or redaction settings cannot be applied faithfully)", event_id, ", ".join(settings.cut),
                    _max_setting_bytes())
        return []
    if not settings.capture:
        log.debug("capture skipped: LAKELOOP_CAPTURE=0")
        return []
    launched = payload.pop("_launched_as", None)
    if isinstance(launched, tuple) and launched[0]:  # set by parse (a JSON payload cannot hold a tuple)
        log.warning("payload says hook_event_name=%r, launched as %s: handled as %s", launched[0], launched[1],
                    launched[1])
    from ..rows import build_message, session_row

    if not payload.get("session_id"):
        log.error("%s payload has no session_id: not captured", payload.get("hook_event_name"))
        return []
    from ..redact import exclude

    cwd = payload.get("cwd")
    why = exclude.excluded(cwd if isinstance(cwd, str) else "", settings.exclude)
    if why:
        (log.info if exclude.first_note(why) else log.debug)("not captured (project excluded: %s)", why)
        return []
    truncated: list[str] = []
    message = build_message(payload, truncated, received_at_ns, event_id=event_id)
    if message is None:
        return []
    if truncated:
        log.warning("oversized fields cut to fit: %s", ", ".join(truncated))
    from ..redact import hide_private_message, redact_message

    message, spans = hide_private_message(message)
    if spans:
        log.info("event %s: %d <private> span(s) (or stray closing tags) not stored", event_id, spans)
    kinds: dict[str, int] = {}
    # the message itself when the session has LAKELOOP_REDACT=0
    message = redact_message(message, kinds, enabled=settings.redact, patterns=settings.patterns)
    if kinds:  # kinds and counts only: never the secret
        log.info("event %s: redacted %s", event_id, ", ".join(f"{k}={n}" for k, n in sorted(kinds.items())))
    return [session_row(message, identity)]
