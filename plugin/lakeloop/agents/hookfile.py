"""lakeloop's hook groups in an agent's JSON hooks file (Codex's ``hooks.json``, Gemini's
``settings.json``): validate, merge, take out, back up, record.

The file's shape is Claude Code's: ``{"hooks": {"<Event>": [{"matcher"?: ..., "hooks":
[{"type": "command", "command": ..., "timeout": ...}]}, ...]}, ...}``. lakeloop adds one group per
event it installs, whose single handler runs ``'<launcher>' <CanonicalEvent> <agent>``
(``command()``); a group is lakeloop's (``is_ours``) when its only handler's command is that
shape for this agent and the launcher is a ``hooks/run``. Everything else in the file is
somebody else's and is kept byte for byte: the edits are textual (``lakeloop.agents.jsonedit``).

* ``load`` reads and validates (a missing file is ``{}``; invalid JSON, a top level or ``hooks``
  that is not an object, an event that is not an array: ``InstallRefused`` naming the file).
* ``merged`` returns the new text: lakeloop's groups replaced in place when present (so their
  position, and Codex's trust keys, stay), else appended at the end of their event's array; an
  event member, or the ``hooks`` member, is added when missing and recorded as created.
* ``without_ours`` returns the text with every lakeloop group removed, and the event/``hooks``
  members lakeloop created removed once empty, plus which array indices were removed.
* ``backup`` and ``write`` (atomic, the original's mode kept, symlinks followed) do the writing.

Nothing here logs or prints a command line's contents beyond paths lakeloop wrote itself.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .base import Agent
    from .jsonedit import Node
    from .reports import AgentStatus

#: lakeloop backups kept per config file (older ones are deleted)
KEEP_BACKUPS = 3
BACKUP_MARK = ".lakeloop-backup-"


def new_status(agent: Agent, config_path: str) -> AgentStatus:
    """The status every hooks-file agent starts from: the binary found and its version, not yet
    installed, trusted or active, ``config_path``, the skills dir the install recorded (else the
    agent's default), and a problem line when no binary is found."""
    from . import registry
    from .reports import AgentStatus

    binary = agent.find_binary()
    recorded = registry.installed().get(agent.name, {})
    out = AgentStatus(
        agent=agent.name,
        path=binary,
        version=agent.version(binary) if binary else None,
        installed=False,
        trusted=None,
        active=False,
        config=config_path,
        skills_dir=str(recorded.get("skills_dir") or agent.skills_dir()),
    )
    if binary is None:
        out.problems.append(f"{agent.name} not found (PATH, {agent.bin_env})")
    return out


def command(launcher: str, canonical: str, agent: str) -> str:
    """``'<launcher>' <canonical> <agent>``: the launcher always single-quoted (a ``'`` inside
    becomes ``'"'"'``), so the command is one shape whatever the path."""
    return "'" + launcher.replace("'", "'\"'\"'") + "' " + canonical + " " + agent


def is_ours(group: Any, agent: Agent) -> bool:
    """True when ``group`` is a hook group lakeloop wrote for ``agent``: an object whose
    ``hooks`` is a list of one object whose ``command`` splits (shell words) into
    ``<.../hooks/run> <canonical event of agent> <agent.name>``."""
    import shlex

    if not isinstance(group, dict):
        return False
    handlers = group.get("hooks")
    if not isinstance(handlers, list) or len(handlers) != 1 or not isinstance(handlers[0], dict):
        return False
    cmd = handlers[0].get("command")
    if not isinstance(cmd, str):
        return False
    try:
        words = shlex.split(cmd)
    except ValueError:
        return False
    return (
        len(words) == 3
        and words[0].endswith("/hooks/run")
        and words[1] in agent.events.values()
        and words[2] == agent.name
    )


def shown(path: str) -> str:
    """``path`` with the home directory written ``~`` (for messages)."""
    import os

    home = os.path.expanduser("~")
    return "~" + path[len(home) :] if home not in ("", "/") and path.startswith(home + os.sep) else path


def refused(path: str, what: str, agent: Agent, verb: str = "install") -> Exception:
    """The ``InstallRefused`` for a config file that cannot be edited: it names the file, says
    what is wrong and that nothing was changed."""
    from ..errors import InstallRefused

    return InstallRefused(
        f"{shown(path)} {what}: fix it, then run lakeloop {verb} {agent.name} again; nothing was changed"
    )


def load(path: str, agent: Agent, comments: bool, verb: str = "install") -> tuple[str | None, dict[str, Any], Node]:
    """``(text or None when missing, value, node tree)`` of the hooks file at ``path``; a missing
    or blank file is ``{}``. Raises InstallRefused when it cannot be read as UTF-8, is not valid
    JSON (JSONC when ``comments``), its top level or ``hooks`` is not an object, or an event
    member of ``hooks`` is not an array."""
    from .jsonedit import JsonEditError, Node, parse

    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        return None, {}, Node("object", 0, 2)
    except OSError as exc:
        raise refused(path, f"cannot be read ({type(exc).__name__})", agent, verb) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise refused(path, "is not UTF-8 text", agent, verb) from None
    if text.strip() == "":
        return text, {}, Node("object", 0, 2)
    kind = "JSON (comments allowed)" if comments else "JSON"
    try:
        value, node = parse(text, comments=comments)
    except JsonEditError as exc:
        raise refused(path, f"is not valid {kind} ({exc})", agent, verb) from None
    if not isinstance(value, dict):
        raise refused(path, "does not hold a JSON object", agent, verb)
    hooks = value.get("hooks")
    if hooks is not None and not isinstance(hooks, dict):
        raise refused(path, 'has a "hooks" member that is not an object', agent, verb)
    for event in agent.events:  # others (Gemini's "enabled", "disabled", ...) are not ours to judge
        if isinstance(hooks, dict) and event in hooks and not isinstance(hooks[event], list):
            raise refused(path, f'has a "hooks.{event}" member that is not an array', agent, verb)
    return text, value, node


def event_groups(value: dict[str, Any]) -> dict[str, list[Any]]:
    """The array members of the document's ``hooks`` (event -> groups); other members (Gemini's
    ``enabled``/``disabled``/``notifications`` settings) are left out."""
    hooks = value.get("hooks")
    if not isinstance(hooks, dict):
        return {}
    return {event: groups for event, groups in hooks.items() if isinstance(groups, list)}


def has_ours(value: dict[str, Any], agent: Agent) -> bool:
    """Whether any event of the document holds a lakeloop group of ``agent``."""
    return any(is_ours(g, agent) for groups in event_groups(value).values() for g in groups)


def merged(
    text: str | None, value: dict[str, Any], groups: dict[str, dict[str, Any]], agent: Agent
) -> tuple[str, list[str]]:
    """``(new text, members created)`` with ``groups`` (native event -> the group lakeloop
    wants) merged into the hooks file ``text`` (None or blank: a new file). Our existing group of
    an event is replaced in place when it differs (further ones of ours in that event are
    removed); otherwise the group is appended at the end of the event's array. Members created:
    ``"hooks"`` or ``"hooks.<Event>"``. The result is re-parsed and checked to hold exactly the
    others' groups plus ours (AssertionError otherwise: a bug, nothing is written)."""
    from .jsonedit import append, parse, remove, replace

    created: list[str] = []
    if text is None or text.strip() == "":
        import json

        new = json.dumps({"hooks": {e: [g] for e, g in groups.items()}}, indent=2, ensure_ascii=False) + "\n"
        created.append("hooks")
        return new, created
    cur = text
    for event, group in groups.items():
        val, root = parse(cur, comments=True)
        hooks_member = root.member("hooks")
        if hooks_member is None:
            cur = append(cur, root, ("hooks", {event: [group]}))
            created.append("hooks")
            continue
        arr_member = hooks_member.value.member(event)
        if arr_member is None:
            cur = append(cur, hooks_member.value, (event, [group]))
            if "hooks" not in created:
                created.append(f"hooks.{event}")
            continue
        items = val["hooks"][event]
        ours = [i for i, g in enumerate(items) if is_ours(g, agent)]
        if not ours:
            cur = append(cur, arr_member.value, group)
            continue
        for i in reversed(ours[1:]):
            cur = remove(cur, _event_array(cur, event), i)
        if items[ours[0]] != group:
            cur = replace(cur, _event_array(cur, event).elements[ours[0]], group)
    _check(cur, value, groups, agent)
    return cur, created


def _event_array(text: str, event: str) -> Node:
    from .jsonedit import parse

    _, root = parse(text, comments=True)
    hooks = root.member("hooks")
    assert hooks is not None
    member = hooks.value.member(event)
    assert member is not None
    return member.value


def _others(value: dict[str, Any], agent: Agent) -> dict[str, Any]:
    """``value`` without lakeloop's groups (and without empty event arrays and ``hooks``)."""
    out = {k: v for k, v in value.items() if k != "hooks"}
    hooks = value.get("hooks")
    if isinstance(hooks, dict):
        kept = {e: [g for g in gs if not is_ours(g, agent)] if isinstance(gs, list) else gs for e, gs in hooks.items()}
        kept = {e: gs for e, gs in kept.items() if gs != []}
        if kept:
            out["hooks"] = kept
    return out


def _check(text: str, old: dict[str, Any], groups: dict[str, dict[str, Any]], agent: Agent) -> None:
    from .jsonedit import parse

    new, _ = parse(text, comments=True)
    assert _others(new, agent) == _others(old, agent), "the edit changed others' members"
    for event, group in groups.items():
        assert [g for g in new["hooks"][event] if is_ours(g, agent)] == [group], f"our {event} group is not in place"


def without_ours(
    text: str, value: dict[str, Any], agent: Agent, created: list[str]
) -> tuple[str, dict[str, list[int]]]:
    """``(new text, {event: [indices of our groups removed, ascending]})``: every lakeloop group
    of ``agent`` removed; event members (``"hooks.<Event>"``) and the ``hooks`` member listed in
    ``created`` removed when nothing else is left in them."""
    from .jsonedit import parse, remove

    removed: dict[str, list[int]] = {}
    cur = text
    for event, items in event_groups(value).items():
        ours = [i for i, g in enumerate(items) if is_ours(g, agent)]
        if not ours:
            continue
        removed[event] = ours
        for i in reversed(ours):
            cur = remove(cur, _event_array(cur, event), i)
        if len(ours) == len(items) and (f"hooks.{event}" in created or "hooks" in created):
            _, root = parse(cur, comments=True)
            hooks = root.member("hooks")
            assert hooks is not None
            names = [m.key for m in hooks.value.members]
            cur = remove(cur, hooks.value, len(names) - 1 - names[::-1].index(event))
    if "hooks" in created:
        val, root = parse(cur, comments=True)
        if val.get("hooks") == {}:
            names = [m.key for m in root.members]
            cur = remove(cur, root, len(names) - 1 - names[::-1].index("hooks"))
    new, _ = parse(cur, comments=True)
    assert _others(new, agent) == _others(value, agent), "the removal changed others' members"
    return cur, removed


def backup(path: str) -> str:
    """Copy ``path`` to ``<path>.lakeloop-backup-<UTC stamp>`` (the original's mode), keep the
    ``KEEP_BACKUPS`` newest such backups; returns the backup's path. Raises OSError."""
    import glob
    import os
    import shutil
    import time

    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = f"{path}{BACKUP_MARK}{stamp}"
    n = 1
    while os.path.exists(target):
        n += 1
        target = f"{path}{BACKUP_MARK}{stamp}-{n}"
    shutil.copy2(path, target)
    olds = sorted(glob.glob(glob.escape(path) + BACKUP_MARK + "*"), key=os.path.getmtime)
    for old in olds[:-KEEP_BACKUPS]:
        if old != target:
            os.unlink(old)
    return target


def write(path: str, text: str, default_mode: int = 0o600) -> None:
    """Replace the file at ``path`` (a symlink's target) with ``text`` atomically, keeping the
    original's permission bits (``default_mode`` for a new file). Raises OSError."""
    import os
    import stat
    from pathlib import Path

    from ..fsutil import atomic_write

    real = os.path.realpath(path)
    try:
        mode = stat.S_IMODE(os.stat(real).st_mode)
    except FileNotFoundError:
        mode = default_mode
    atomic_write(Path(real), text.encode("utf-8"), mode)


def iso_now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
