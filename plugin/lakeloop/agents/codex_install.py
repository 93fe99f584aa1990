"""``lakeloop install codex`` / ``uninstall codex`` / Codex's status: lakeloop's hooks in
``$CODEX_HOME/hooks.json``, recorded as trusted in ``$CODEX_HOME/config.toml``.

Codex runs a hook only when ``config.toml`` holds ``[hooks.state."<key>"] trusted_hash =
"<hash>"`` for it, where ``key`` is ``<hooks.json path>:<event_snake>:<group index>:<handler
index>`` and ``hash`` is ``trust_hash`` of the handler (any edit of the handler changes it, and
the hook is then skipped silently). So after writing ``hooks.json`` the install asks ``codex
app-server`` which of lakeloop's hooks are not trusted and records them through Codex's own
config writer (``config/batchWrite``), then checks again. lakeloop's groups go at the end of each
event's array, so others' keys (and their trust) do not move; on uninstall the hooks that were
after ours move up one group, and their trust is recorded again under their new key.

``status`` asks the app-server when ``probe`` is set and the binary is there, else compares the
local ``trust_hash`` with ``config.toml``.
"""

from __future__ import annotations

import os

from ..errors import LakeloopError
from . import hookfile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .base import Agent
    from .codex_rpc import AppServer
    from .reports import AgentStatus, InstallReport

#: the top-level members Codex 0.169 reads in hooks.json (``description`` a string); with any
#: other member Codex fails to parse the file and loads none of its hooks
HOOKS_FILE_MEMBERS = ("description", "hooks")
#: matcher lakeloop writes per Codex event (others get none: they match everything)
MATCHERS = {"PreToolUse": "*", "PostToolUse": "*"}
#: Codex's timeout for a handler without one, seconds (SessionEnd: 1 s)
DEFAULT_TIMEOUT_S = 600
SESSION_END_DEFAULT_TIMEOUT_S = 1


def snake(event: str) -> str:
    """``PreToolUse`` -> ``pre_tool_use`` (the event part of a Codex hook key)."""
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(event))


def trust_hash(event: str, command: str, timeout: int, matcher: str | None = None) -> str:
    """Codex 0.169's hash of one command handler, as ``hooks/list`` reports it in ``currentHash``:
    ``"sha256:" + sha256(compact JSON with sorted keys of {"event_name": snake(event), "hooks":
    [{"async": false, "command": command, "timeout": timeout, "type": "command"}], "matcher":
    matcher})``, ``matcher`` present only when set; ``timeout`` in seconds, the effective one
    (``DEFAULT_TIMEOUT_S`` when the handler has none; 1 for SessionEnd)."""
    import hashlib
    import json

    obj: dict[str, Any] = {
        "event_name": snake(event),
        "hooks": [{"async": False, "command": command, "timeout": timeout, "type": "command"}],
    }
    if matcher is not None:
        obj["matcher"] = matcher
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def groups(agent: Agent, launcher: str, timeouts: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Native event -> the hook group lakeloop writes for it (``timeouts``: seconds per native event)."""
    out: dict[str, dict[str, Any]] = {}
    for native, canonical in agent.events.items():
        group: dict[str, Any] = {}
        if native in MATCHERS:
            group["matcher"] = MATCHERS[native]
        group["hooks"] = [
            {
                "type": "command",
                "command": hookfile.command(launcher, canonical, agent.name),
                "timeout": timeouts[native],
            }
        ]
        out[native] = group
    return out


class NoTomlParser(LakeloopError):
    """No TOML parser here (Python 3.10 without ``tomli``): ``config.toml`` is checked by Codex."""


def toml_loads(text: str) -> dict[str, Any]:
    """``text`` parsed as TOML: the standard library's ``tomllib`` (Python 3.11+), else ``tomli``
    when installed. Raises ValueError (not TOML), NoTomlParser (neither is there)."""
    import sys

    if sys.version_info >= (3, 11):
        try:
            import tomllib
        except ModuleNotFoundError:  # a stripped-down interpreter
            raise NoTomlParser from None
    else:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise NoTomlParser from None
    return tomllib.loads(text)


def _load_toml(path: str, agent: Agent, verb: str) -> dict[str, Any] | None:
    """``config.toml`` parsed (None when missing; ``{}`` when no parser is here: then
    ``_codex_checks_toml`` asks Codex). Raises InstallRefused when it is not TOML."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise hookfile.refused(path, f"cannot be read ({type(exc).__name__})", agent, verb) from None
    try:
        return toml_loads(raw.decode("utf-8"))
    except NoTomlParser:
        return {}
    except ValueError as exc:  # UnicodeDecodeError, TOMLDecodeError
        raise hookfile.refused(path, f"is not valid TOML ({exc})", agent, verb) from None


def _home(agent: Agent, home: str, create: bool) -> str:
    """``home`` when ``$CODEX_HOME`` names it (it must exist: Codex refuses a missing one), else
    (``~/.codex``) created 0700 when ``create``. Raises InstallRefused."""
    if os.environ.get("CODEX_HOME", "").strip():
        if not os.path.isdir(home):
            raise hookfile.refused(home, "(CODEX_HOME) is not a directory", agent)
    elif create:
        os.makedirs(home, mode=0o700, exist_ok=True)
    return home


def _same_file(a: Any, b: str) -> bool:
    return isinstance(a, str) and os.path.realpath(a) == os.path.realpath(b)


def _split_key(key: str) -> tuple[str, str, int, int] | None:
    parts = key.rsplit(":", 3)
    try:
        return parts[0], parts[1], int(parts[2]), int(parts[3])
    except (IndexError, ValueError):
        return None


def _ours_listed(listed: list[dict[str, Any]], hooks_path: str, agent: Agent) -> list[dict[str, Any]]:
    return [
        h
        for h in listed
        if _same_file(h.get("sourcePath"), hooks_path)
        and hookfile.is_ours({"hooks": [{"command": h.get("command")}]}, agent)
    ]


def install(agent: Agent, launcher: str, home: str, timeouts: dict[str, int]) -> InstallReport:
    """See ``CodexCLI.install``. Raises InstallRefused (nothing written: no binary, invalid
    ``hooks.json``/``config.toml``, a missing ``CODEX_HOME``), InstallError (Codex did not record
    the trust; the hooks file is written then, and the message says how to trust by hand)."""
    from . import registry
    from .hookcopy import agent_launcher, ensure_agent_copy
    from .reports import InstallReport

    binary = agent.find_binary()
    if binary is None:
        raise _no_binary(agent)
    _home(agent, home, create=False)
    hooks_path, toml_path = os.path.join(home, "hooks.json"), os.path.join(home, "config.toml")
    text, value, _ = hookfile.load(hooks_path, agent, comments=False)
    _load_toml(toml_path, agent, "install")
    _codex_checks_toml(agent, binary, toml_path, "install")
    _codex_loads(agent, binary, hooks_path, text, value)
    want = groups(agent, launcher, timeouts)
    new_text, created = hookfile.merged(text, value, want, agent)
    previous = registry.installed().get(agent.name, {})
    created = sorted(set(created) | set(previous.get("created_members", [])))

    _home(agent, home, create=True)
    report = InstallReport(agent.name, changed=False)
    import sys

    if os.path.abspath(launcher) == str(agent_launcher()) and ensure_agent_copy(sys.executable):
        report.changed = True
        report.lines.append(f"hook launcher: {launcher} (runs {sys.executable})")
    if new_text != text:
        if text is not None:
            report.backups.append(hookfile.backup(hooks_path))
            report.lines.append(f"backup: {report.backups[-1]}")
        hookfile.write(hooks_path, new_text)
        report.changed = True
        report.lines.append(f"{hookfile.shown(hooks_path)}: lakeloop's hooks for {', '.join(want)}")
    info: dict[str, Any] = {
        "config": hooks_path,
        "trust_file": toml_path,
        "skills_dir": str(previous.get("skills_dir") or agent.skills_dir()),
        "launcher": launcher,
        "created_members": created,
        "created_file": bool(previous.get("created_file")) if previous else text is None,
        "created_trust_file": bool(previous.get("created_trust_file")),
        "trust": previous.get("trust") or {},
    }
    try:
        info["trust"], toml_created = _record_trust(agent, binary, hooks_path, toml_path, previous, report)
    except BaseException:  # the hooks file is ours now: record it, so uninstall knows what it added
        registry.record(agent.name, {**info, "installed_at": hookfile.iso_now()})
        raise
    info["created_trust_file"] = info["created_trust_file"] or toml_created
    if not (previous.get("installed_at") and _same_record(previous, info)):
        registry.record(agent.name, {**info, "installed_at": hookfile.iso_now()})
        report.changed = True
    if not report.changed:
        report.lines.append(
            f"Codex CLI: lakeloop's hooks already installed and trusted in {hookfile.shown(hooks_path)}"
        )
    return report


def _codex_checks_toml(agent: Agent, binary: str | None, toml_path: str, verb: str) -> None:
    """Without a local TOML parser (Python 3.10 without ``tomli``), let Codex load
    ``config.toml``: an empty ``config/batchWrite`` reads it and writes nothing. Raises
    InstallRefused when Codex cannot load it; a Codex that cannot be asked is left to the
    trust step."""
    try:
        toml_loads("")
        return
    except NoTomlParser:
        pass
    if binary is None or not os.path.exists(toml_path):
        return
    from .codex_rpc import AppServer, CodexRpcError

    try:
        with AppServer(binary) as server:
            server.batch_write([])
    except CodexRpcError as exc:
        if "configuration" in str(exc):
            raise hookfile.refused(toml_path, f"is not valid TOML ({exc})", agent, verb) from None


def _codex_loads(agent: Agent, binary: str, hooks_path: str, text: str | None, value: dict[str, Any]) -> None:
    """Refuse (InstallRefused, before anything is written) a ``hooks.json`` Codex would not load:
    Codex skips a whole file it cannot parse, so hooks added to it would never run. A top-level
    member besides ``HOOKS_FILE_MEMBERS``, or a ``description`` that is not a string, is refused
    here; any other file is shown to Codex (``hooks/list``) and refused when Codex reports it
    cannot parse it (``parse_warning``). A Codex that cannot be asked is left to the trust step."""
    extra = sorted(set(value) - set(HOOKS_FILE_MEMBERS))
    if extra:
        named = ", ".join(f'"{k[:40]}"' for k in extra[:5])
        raise hookfile.refused(
            hooks_path,
            f"has top-level member(s) {named} that Codex does not accept (it reads only "
            '"description" and "hooks", and loads none of the hooks of a file with any other)',
            agent,
        )
    if value.get("description") is not None and not isinstance(value.get("description"), str):
        raise hookfile.refused(
            hooks_path, 'has a "description" that is not a string (Codex then loads none of its hooks)', agent
        )
    if text is None or not text.strip():
        return
    from .codex_rpc import AppServer, CodexRpcError

    try:
        with AppServer(binary) as server:
            _, warnings = server.hooks_report(os.path.expanduser("~"))
    except CodexRpcError:
        return
    why = parse_warning(warnings, hooks_path)
    if why is not None:
        raise hookfile.refused(hooks_path, f"cannot be read by Codex, which loads none of its hooks ({why})", agent)


def parse_warning(warnings: list[str], hooks_path: str) -> str | None:
    """Codex's warning that it could not parse ``hooks_path`` (its text after the path, at most
    300 characters), or None."""
    for warning in warnings:
        for spelled in dict.fromkeys((hooks_path, os.path.realpath(hooks_path))):
            at = warning.find(spelled)
            if at >= 0 and "parse" in warning[:at]:
                return warning[at + len(spelled) :].lstrip(": ")[:300]
    return None


def _same_record(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return all(old.get(k) == v for k, v in new.items())


def _no_binary(agent: Agent) -> Exception:
    from ..errors import InstallRefused

    return InstallRefused(f"codex not found: put it on PATH or set {agent.bin_env}; nothing was changed")


def _record_trust(
    agent: Agent,
    binary: str,
    hooks_path: str,
    toml_path: str,
    previous: dict[str, Any],
    report: InstallReport,
) -> tuple[dict[str, str], bool]:
    """Trust every lakeloop hook Codex lists as not trusted (one batch), drop stale trust entries
    lakeloop recorded earlier, check again. Returns ``({key: hash} of ours, config.toml created)``.
    Raises InstallError when Codex cannot be asked or still does not trust them."""
    from .codex_rpc import AppServer, CodexRpcError, forget_edit, trust_edit
    from .hookcopy import InstallError

    toml_existed = os.path.exists(toml_path)
    try:
        with AppServer(binary) as server:
            listed, warnings = server.hooks_report(os.path.expanduser("~"))
            ours = _ours_listed(listed, hooks_path, agent)
            why = parse_warning(warnings, hooks_path) if not ours else None
            if why is not None:
                raise InstallError(
                    f"Codex could not read {hookfile.shown(hooks_path)} ({why}), so it loads none of its hooks, "
                    "lakeloop's included: fix the file, then run lakeloop install codex again"
                )
            keys = {h["key"]: h["currentHash"] for h in ours if isinstance(h.get("key"), str)}
            edits = [trust_edit(h["key"], h["currentHash"]) for h in ours if h.get("trustStatus") != "trusted"]
            state = _trust_state(toml_path)
            for key, recorded in dict(previous.get("trust") or {}).items():
                if key not in keys and state.get(key) == recorded:
                    edits.append(forget_edit(key))
            if edits:
                if toml_existed:
                    report.backups.append(hookfile.backup(toml_path))
                    report.lines.append(f"backup: {report.backups[-1]}")
                server.batch_write(edits)
                ours = _ours_listed(server.hooks_list(os.path.expanduser("~")), hooks_path, agent)
                report.changed = True
                report.lines.append(f"{hookfile.shown(toml_path)}: lakeloop's hooks recorded as trusted")
    except CodexRpcError as exc:
        raise InstallError(f"{exc}; {_by_hand(hooks_path)}") from None
    untrusted = [h for h in ours if h.get("trustStatus") != "trusted"]
    if len(ours) < len(agent.events) or untrusted:
        raise InstallError(
            f"Codex lists {len(ours)} of lakeloop's {len(agent.events)} hooks, {len(untrusted)} not trusted; "
            + _by_hand(hooks_path)
        )
    return {h["key"]: h["currentHash"] for h in ours}, not toml_existed and os.path.exists(toml_path)


def _by_hand(hooks_path: str) -> str:
    return (
        f"lakeloop's hooks in {hookfile.shown(hooks_path)} will not run until trusted: open codex, "
        "review them in its hooks view (/hooks) and trust them, or run lakeloop install codex again"
    )


def _trust_state(toml_path: str) -> dict[str, str]:
    """``{key: trusted_hash}`` of ``config.toml``'s ``hooks.state`` (empty when unreadable)."""
    try:
        with open(toml_path, "rb") as fh:
            data = toml_loads(fh.read().decode("utf-8"))
    except (OSError, ValueError, NoTomlParser):
        return {}
    state = data.get("hooks", {}).get("state", {}) if isinstance(data.get("hooks"), dict) else {}
    return {
        k: v["trusted_hash"]
        for k, v in (state.items() if isinstance(state, dict) else [])
        if isinstance(v, dict) and isinstance(v.get("trusted_hash"), str)
    }


def uninstall(agent: Agent, home: str) -> InstallReport:
    """See ``CodexCLI.uninstall``. Raises InstallRefused (invalid files; nothing written)."""
    from . import registry
    from .hookcopy import remove_agent_copy
    from .reports import InstallReport

    _home(agent, home, create=False)
    hooks_path, toml_path = os.path.join(home, "hooks.json"), os.path.join(home, "config.toml")
    text, value, _ = hookfile.load(hooks_path, agent, comments=False, verb="uninstall")
    _load_toml(toml_path, agent, "uninstall")
    binary = agent.find_binary()
    _codex_checks_toml(agent, binary, toml_path, "uninstall")
    previous = registry.installed().get(agent.name, {})
    report = InstallReport(agent.name, changed=False)
    from contextlib import ExitStack

    from .codex_rpc import AppServer, CodexRpcError

    with ExitStack() as stack:
        server: AppServer | None = None
        before: list[dict[str, Any]] = []
        if binary is not None:
            try:
                server = stack.enter_context(AppServer(binary))
                before = server.hooks_list(os.path.expanduser("~"))
            except CodexRpcError as exc:
                report.lines.append(f"warning: {exc}")
                server = None
        removed: dict[str, list[int]] = {}
        if text is not None and hookfile.has_ours(value, agent):
            new_text, removed = hookfile.without_ours(text, value, agent, list(previous.get("created_members", [])))
            report.backups.append(hookfile.backup(hooks_path))
            report.lines.append(f"backup: {report.backups[-1]}")
            if previous.get("created_file") and _parse(new_text) == {}:
                os.unlink(os.path.realpath(hooks_path))
                report.lines.append(f"{hookfile.shown(hooks_path)}: removed (lakeloop had created it)")
            else:
                hookfile.write(hooks_path, new_text)
                report.lines.append(f"{hookfile.shown(hooks_path)}: lakeloop's hooks removed")
            report.changed = True
        _forget_trust(agent, server, before, value, removed, hooks_path, toml_path, previous, report)
    if previous:
        registry.forget(agent.name)
        report.changed = True
    if not (set(registry.installed()) - {agent.name}) and remove_agent_copy():
        report.lines.append("hook launcher copy removed (no agent uses it any more)")
    if not report.changed:
        report.lines.append(f"Codex CLI: lakeloop's hooks were not installed in {hookfile.shown(hooks_path)}")
    return report


def _parse(text: str) -> Any:
    import json

    return json.loads(text) if text.strip() else {}


def _forget_trust(
    agent: Agent,
    server: AppServer | None,
    before: list[dict[str, Any]],
    old_value: dict[str, Any],
    removed: dict[str, list[int]],
    hooks_path: str,
    toml_path: str,
    previous: dict[str, Any],
    report: InstallReport,
) -> None:
    """Drop lakeloop's trust entries; re-record the trust of others' hooks whose key moved up
    because our group before them went away (their table moved to the new key)."""
    from .codex_rpc import CodexRpcError, forget_edit, trust_edit

    state = _trust_state(toml_path)
    ours_before = {h["key"] for h in _ours_listed(before, hooks_path, agent)}
    ours_keys = (ours_before | set(previous.get("trust") or {})) & set(state)
    if server is None:
        if ours_keys:
            report.lines.append(
                f"warning: Codex could not be asked; lakeloop's trust entries were left in {hookfile.shown(toml_path)}"
            )
        return
    edits: dict[str, dict[str, Any]] = {key: forget_edit(key) for key in ours_keys}
    try:
        if removed:
            by_key = {h.get("key"): h for h in before}
            after = server.hooks_list(os.path.expanduser("~"))
            native = {snake(e): e for e in hookfile.event_groups(old_value)}
            for hook in after:
                parts = _split_key(str(hook.get("key", "")))
                if parts is None or not _same_file(hook.get("sourcePath"), hooks_path):
                    continue
                path, event, group, handler = parts
                gone = removed.get(native.get(event, ""), [])
                if not gone:
                    continue
                total = len(old_value["hooks"][native[event]])
                kept = [i for i in range(total) if i not in gone]
                old_key = f"{path}:{event}:{kept[group]}:{handler}" if group < len(kept) else None
                was = by_key.get(old_key)
                if (
                    old_key is not None
                    and was is not None
                    and was.get("trustStatus") == "trusted"
                    and was.get("currentHash") == hook.get("currentHash")
                    and hook.get("trustStatus") != "trusted"
                ):
                    edits[hook["key"]] = trust_edit(hook["key"], hook["currentHash"])
                    if old_key not in {h.get("key") for h in after}:
                        edits.setdefault(old_key, forget_edit(old_key))
        if edits:
            existed = os.path.exists(toml_path)
            if existed:
                report.backups.append(hookfile.backup(toml_path))
                report.lines.append(f"backup: {report.backups[-1]}")
            ordered = [e for e in edits.values() if e["value"] is None] + [e for e in edits.values() if e["value"]]
            server.batch_write(ordered)
            report.changed = True
            report.lines.append(f"{hookfile.shown(toml_path)}: lakeloop's trust entries removed")
            moved = sum(1 for e in edits.values() if e["value"])
            if moved:
                report.lines.append(f"{moved} other hook(s) moved up in hooks.json: their trust was recorded again")
            if previous.get("created_trust_file") and _blank(toml_path):
                os.unlink(toml_path)
    except CodexRpcError as exc:
        report.lines.append(f"warning: {exc}; lakeloop's trust entries may be left in {hookfile.shown(toml_path)}")


def _blank(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read().strip() == b""
    except OSError:
        return False


def status(agent: Agent, home: str, probe: bool = True) -> AgentStatus:
    """See ``CodexCLI.status``: ``probe`` asks ``codex app-server`` (20 s bound) for the trust,
    otherwise the local hash is compared with ``config.toml``. Writes nothing."""
    from ..errors import InstallRefused

    hooks_path, toml_path = os.path.join(home, "hooks.json"), os.path.join(home, "config.toml")
    out = hookfile.new_status(agent, hooks_path)
    binary = out.path
    try:
        _, value, _ = hookfile.load(hooks_path, agent, comments=False)
        config = _load_toml(toml_path, agent, "install") or {}
    except InstallRefused as exc:
        out.problems.append(str(exc))
        return out
    ours: dict[str, tuple[int, dict[str, Any]]] = {}
    for event, items in hookfile.event_groups(value).items():
        for index, group in enumerate(items):
            if hookfile.is_ours(group, agent) and event not in ours:
                ours[event] = (index, group)
    missing = [e for e in agent.events if e not in ours]
    out.installed = bool(ours)
    if not ours:
        return out
    if missing:
        out.problems.append(f"lakeloop's hooks missing for {', '.join(missing)}: run lakeloop install codex")
    import shlex

    launcher = shlex.split(ours[next(iter(ours))][1]["hooks"][0]["command"])[0]
    if not os.access(launcher, os.X_OK):
        out.problems.append(f"hook launcher {launcher} is missing: run lakeloop install codex")
    features = config.get("features")
    features = features if isinstance(features, dict) else {}
    hooks_on = features.get("hooks", features.get("codex_hooks", True)) is not False
    if not hooks_on:
        out.problems.append("hooks are disabled in config.toml ([features] hooks = false)")
    out.trusted = None
    if probe and binary is not None:
        out.trusted = _probe_trust(agent, binary, hooks_path, len(ours), out)
    if out.trusted is None:
        state = _trust_state(toml_path)
        out.trusted = True
        for event, (index, group) in ours.items():
            handler = group["hooks"][0]
            timeout = handler.get("timeout", handler.get("timeoutSec"))
            if not isinstance(timeout, int):
                timeout = SESSION_END_DEFAULT_TIMEOUT_S if event == "SessionEnd" else DEFAULT_TIMEOUT_S
            matcher = group.get("matcher") if isinstance(group.get("matcher"), str) else None
            key = f"{os.path.abspath(hooks_path)}:{snake(event)}:{index}:0"
            if state.get(key) != trust_hash(event, handler["command"], timeout, matcher):
                out.trusted = False
    if out.trusted is False:
        out.problems.append(
            "hooks.json edited since install: untrusted; run lakeloop install codex to trust them again"
        )
    out.active = out.installed and not missing and bool(out.trusted) and hooks_on
    return out


def _probe_trust(agent: Agent, binary: str, hooks_path: str, expected: int, out: AgentStatus) -> bool | None:
    """All of lakeloop's hooks trusted, as ``codex app-server`` says; None when it cannot be asked."""
    from .codex_rpc import AppServer, CodexRpcError

    try:
        with AppServer(binary) as server:
            ours = _ours_listed(server.hooks_list(os.path.expanduser("~")), hooks_path, agent)
    except CodexRpcError as exc:
        out.problems.append(f"{exc} (trust checked locally)")
        return None
    if len(ours) < expected:
        out.problems.append(f"Codex lists {len(ours)} of lakeloop's {expected} hooks")
    return bool(ours) and all(h.get("trustStatus") == "trusted" for h in ours)
