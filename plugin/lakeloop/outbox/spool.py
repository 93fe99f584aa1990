"""The hook side of the outbox: spool one event, start a drainer only when none runs.

Standard library only (``hooks/bootstrap.py`` spools with the system python3
before the plugin's virtualenv exists) and import-light (every capture hook).

**The session's settings travel with the event.** The drainer that stores an entry may have been
started by another session's hook, or by ``lakeloop flush``, with another environment. So the
hook records, in the entry itself, the settings that decide what is stored and whom the row is
filed under: the values of ``RECORDED_SETTINGS`` in its own environment. An entry file is one
header line, then the payload bytes exactly as the hook read them (``<NUL>`` is the byte 0,
``<LF>`` the newline)::

    <NUL>lakeloop-settings/1 LAKELOOP_EXCLUDE=7e2f636c69656e74732f2a HOME=2f686f6d652f61<LF>{"session_id": ...

Each recorded variable is ``NAME=<hex of its bytes>`` (``NAME=`` when set but empty; absent when
unset). A value over ``MAX_SETTING_BYTES`` is recorded cut, as ``NAME!=<hex>``: the drainer then
stores nothing of that event (``lakeloop.capture.rows``). Hex keeps newlines, spaces and any byte
of a hostile value inside its field. The header is always written, by the hook, as the first line,
and the drainer reads only that line (``split_entry``): a payload that itself begins with the
header's magic is just payload after it (and fails to parse as JSON). The magic begins with a NUL
byte, which no JSON payload can begin with, so an entry written without a header (by an older
lakeloop) is never read as having one.

**The agent travels with the event too.** An event from another agent than Claude Code (the hook
command's second argument, ``lakeloop.agents``) gets one more field, ``agent=<hex of its name>``
(the field name is ``AGENT_FIELD``, ``lakeloop.agents.base.OUTBOX_AGENT_FIELD``: lower case, so
it can never be taken for a recorded variable). It is written from the hook's argument only, never from the
environment, and left out for Claude Code, whose entries stay as they were; an older lakeloop
skips the field.
"""

from __future__ import annotations

import os
import time

from ..errors import LakeloopError
from . import outbox_dir

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable

#: Flag file: present while the outbox is over its size cap (``usage.refresh`` sets it).
FULL_FLAG = ".full"
#: Flag file whose mtime is the earliest time (epoch seconds) a new drainer should try the
#: store again after the last one gave up on it; UserPromptSubmit still starts one (reactions).
RETRY_AFTER = ".retry-after"
#: Events that are spooled even when the outbox is full: prompts are small and their
#: reactions need the entry.
ALWAYS_SPOOLED = ("UserPromptSubmit",)


#: Environment variables whose values decide what the drainer stores of an event, recorded in its
#: entry: the capture settings, ``HOME`` (``~`` in the globs), the author the row is filed
#: under (``LAKELOOP_USER``, then the login-name variables ``getpass.getuser`` reads, in its order:
#: ``lakeloop.config.LOGIN_NAME_VARIABLES``), and whether and when the session is summarised
#: (``lakeloop.summaries.trigger``, called by the drainer after it stored the rows).
RECORDED_SETTINGS = (
    "LAKELOOP_CAPTURE",
    "LAKELOOP_EXCLUDE",
    "LAKELOOP_REDACT",
    "LAKELOOP_REDACT_PATTERNS",
    "HOME",
    "LAKELOOP_USER",
    "LOGNAME",
    "USER",
    "LNAME",
    "USERNAME",
    "LAKELOOP_SUMMARIES",
    "LAKELOOP_SUMMARY_EVERY_N",
    "LAKELOOP_SUMMARY_EVERY_HOURS",
    "LAKELOOP_SUMMARY_MIN_PROMPTS",
)
#: First bytes of an entry's header line.
SETTINGS_MAGIC = b"\0lakeloop-settings/1"
#: Longest value recorded per variable (bytes); a longer one is recorded cut and marked.
MAX_SETTING_BYTES = 64 * 1024
#: Longest agent name recorded (bytes); the hook records only the names ``lakeloop.agents`` knows.
MAX_AGENT_BYTES = 64
#: The header field naming the agent: ``lakeloop.agents.base.OUTBOX_AGENT_FIELD`` (a test keeps
#: them equal; the capture hook then loads no agent module).
AGENT_FIELD = "agent"
#: Longest header line (bytes, newline included): every variable at its cap, and the agent field.
MAX_HEADER_BYTES = (
    len(SETTINGS_MAGIC)
    + 1
    + sum(len(n) + 3 + 2 * MAX_SETTING_BYTES for n in RECORDED_SETTINGS)
    + len(f" {AGENT_FIELD}=")
    + 2 * MAX_AGENT_BYTES
)


class OutboxFull(LakeloopError, OSError):
    """The outbox is over its size cap (``LAKELOOP_OUTBOX_MAX_MB``): the event was not spooled.
    An OSError too (a write the outbox refused), so a caller that catches OSError still does."""


def settings_header(agent: str | None = None) -> bytes:
    """The entry header line recording this process's ``RECORDED_SETTINGS`` and, for an
    ``agent`` other than None or ``"claude"``, its name (see the module docstring), newline
    included. Raises ValueError for an agent name longer than ``MAX_AGENT_BYTES``."""
    fields = [SETTINGS_MAGIC]
    environ = os.environ
    for name in RECORDED_SETTINGS:
        value = environ.get(name)
        if value is None:
            continue
        raw = os.fsencode(value)  # the bytes the environment holds
        if len(raw) > MAX_SETTING_BYTES:
            fields.append(f" {name}!={raw[:MAX_SETTING_BYTES].hex()}".encode())
        else:
            fields.append(f" {name}={raw.hex()}".encode())
    if agent is not None and agent != "claude":
        raw = agent.encode("utf-8")
        if len(raw) > MAX_AGENT_BYTES:
            raise ValueError("agent name too long for the outbox header")
        fields.append(f" {AGENT_FIELD}={raw.hex()}".encode())
    fields.append(b"\n")
    return b"".join(fields)


def parse_header(line: bytes) -> tuple[dict[str, str], tuple[str, ...]]:
    """``(settings, names recorded cut)`` of an entry's header ``line`` (from ``SETTINGS_MAGIC``
    to its newline, which may be left out): ``settings`` is ``{variable: value}`` of the
    recorded variables that were set, plus the agent's name under ``AGENT_FIELD`` when the
    entry names one. Raises ValueError for a line that does not parse."""
    if not line.startswith(SETTINGS_MAGIC) or len(line) > MAX_HEADER_BYTES:
        raise ValueError("not a settings header")
    settings: dict[str, str] = {}
    cut: list[str] = []
    for field in line[len(SETTINGS_MAGIC) :].rstrip(b"\n").split(b" "):
        if not field:
            continue
        name, sep, value = field.partition(b"=")
        if not sep:
            raise ValueError("settings header: a field without '='")
        trimmed = name.endswith(b"!")
        key = (name[:-1] if trimmed else name).decode("ascii", "replace")
        if key == AGENT_FIELD and not trimmed:
            settings[key] = bytes.fromhex(value.decode("ascii")).decode("utf-8", "replace")
            continue
        if key not in RECORDED_SETTINGS:
            continue  # a later version's: ignored
        settings[key] = os.fsdecode(bytes.fromhex(value.decode("ascii")))  # ValueError when not hex
        if trimmed:
            cut.append(key)
    return settings, tuple(cut)


def header_end(data: bytes) -> int:
    """The length of the header line at the start of ``data`` (newline included), 0 when
    ``data`` does not begin with ``SETTINGS_MAGIC`` (an entry written by an older lakeloop).
    Raises ValueError when the line has no end within ``MAX_HEADER_BYTES``."""
    if not data.startswith(SETTINGS_MAGIC):
        return 0
    end = data.find(b"\n", 0, MAX_HEADER_BYTES)
    if end < 0:
        raise ValueError("settings header: no end of line within its size bound")
    return end + 1


def split_entry(data: bytes) -> tuple[dict[str, str] | None, tuple[str, ...], bytes]:
    """``(settings, names recorded cut, payload)`` of an entry file's bytes (``parse_header``);
    ``settings`` is None when the entry has no header (written by an older lakeloop: ``data``
    is all payload). Only the first line is read as the header, and only when it begins with
    ``SETTINGS_MAGIC``. Raises ValueError for a header that does not parse."""
    end = header_end(data)
    if not end:
        return None, (), data
    settings, cut = parse_header(data[:end])
    return settings, cut, data[end:]


def put_raw(event: str, data: bytes, received_at_ns: int | None = None, agent: str | None = None) -> str:
    """Spool one event atomically (temp file + rename, mode 0600): the settings header of this
    process (``settings_header``, naming ``agent``: the hook command's agent argument, None or
    ``"claude"`` for Claude Code), then the raw payload bytes.

    Returns the entry's path. Raises OutboxFull when the outbox is over its cap (except
    for ``ALWAYS_SPOOLED`` events) and OSError when it cannot be written.
    """
    directory = outbox_dir()
    if event not in ALWAYS_SPOOLED and os.path.exists(os.path.join(directory, FULL_FLAG)):
        raise OutboxFull(f"outbox over its size cap: {event} event not spooled")
    from .. import paths

    paths.private_dir(os.path.dirname(directory))  # the data dir: 0700
    paths.private_dir(directory)
    now = received_at_ns or time.time_ns()
    name = f"{now:020d}-{os.getpid()}-{os.urandom(4).hex()}-{event}"
    tmp = os.path.join(directory, f".{name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        for chunk in (settings_header(agent), data):  # no copy of the payload
            view = memoryview(chunk)
            while view:  # no fsync: durable across process crashes and kills, the case hooks face
                view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        try:
            os.unlink(tmp)  # e.g. disk full: leave no partial file behind
        except OSError:
            pass
        raise
    os.close(fd)
    final = os.path.join(directory, f"{name}.json")
    os.replace(tmp, final)
    return final


def store_paused() -> bool:
    """True while the last drainer's give-up on the store is recent (``RETRY_AFTER``)."""
    try:
        return os.stat(os.path.join(outbox_dir(), RETRY_AFTER)).st_mtime > time.time()
    except OSError:
        return False


def start_drainer(run: Callable[[int], object], component: str = "drain") -> str:
    """Start a detached drainer unless one runs. ``run(lock_fd)`` is the drainer body,
    called in the child with the drain lock held through ``lock_fd``.

    Returns ``"started"``, ``"running"`` (another process holds the lock: it sees the
    new entry) or ``"inline"`` (this platform cannot fork: the caller should drain
    itself). Raises OSError when the lock file cannot be opened.
    """
    from .lock import try_lock, unlock

    fd = try_lock(outbox_dir())
    if fd is None:
        return "running"
    if not hasattr(os, "fork"):
        unlock(fd)
        return "inline"
    from ..detach import fork_detached

    try:
        fork_detached(lambda: run(fd), component)
    finally:
        unlock(fd)  # the child holds the lock through its own copy of the descriptor
    return "started"
