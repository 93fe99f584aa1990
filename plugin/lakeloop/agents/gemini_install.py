"""``lakeloop install gemini`` / ``uninstall gemini`` / Gemini's status: lakeloop's hook groups
in Gemini CLI's ``settings.json`` (``lakeloop.agents.gemini.GeminiCLI.config_file``).

Gemini reads that file as JSON with comments, so it is parsed with ``//`` and ``/* */`` comments
outside strings allowed and edited as text (``lakeloop.agents.hookfile``): comments and every
other member stay as they were. Timeouts are in milliseconds; each handler is named
``lakeloop-<CanonicalEvent>``. Gemini has no hook trust (``trusted`` is None); hooks are off when
``hooksConfig.enabled`` is false, and a hook is off when its name is in ``hooksConfig.disabled``:
``status`` reports either as inactive. Members of ``hooks`` that are not event arrays (Gemini's
own ``enabled``/``disabled``/``notifications``) are left as they are.
"""

from __future__ import annotations

import os

from . import hookfile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .base import Agent
    from .reports import AgentStatus, InstallReport


def groups(
    agent: Agent, launcher: str, timeouts: dict[str, int], matchers: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Native event -> the hook group lakeloop writes for it (``timeouts``: milliseconds per
    native event; ``matchers``: the events that get a matcher)."""
    out: dict[str, dict[str, Any]] = {}
    for native, canonical in agent.events.items():
        group: dict[str, Any] = {}
        if native in matchers:
            group["matcher"] = matchers[native]
        group["hooks"] = [
            {
                "name": f"lakeloop-{canonical}",
                "type": "command",
                "command": hookfile.command(launcher, canonical, agent.name),
                "timeout": timeouts[native],
            }
        ]
        out[native] = group
    return out


def install(
    agent: Agent, launcher: str, path: str, timeouts: dict[str, int], matchers: dict[str, str]
) -> InstallReport:
    """See ``GeminiCLI.install``. Raises InstallRefused (no binary, invalid ``settings.json``:
    nothing written)."""
    import sys

    from ..errors import InstallRefused
    from . import registry
    from .hookcopy import agent_launcher, ensure_agent_copy
    from .reports import InstallReport

    if agent.find_binary() is None:
        raise InstallRefused(f"gemini not found: put it on PATH or set {agent.bin_env}; nothing was changed")
    text, value, _ = hookfile.load(path, agent, comments=True)
    want = groups(agent, launcher, timeouts, matchers)
    new_text, created = hookfile.merged(text, value, want, agent)
    previous = registry.installed().get(agent.name, {})
    report = InstallReport(agent.name, changed=False)
    if os.path.abspath(launcher) == str(agent_launcher()) and ensure_agent_copy(sys.executable):
        report.changed = True
        report.lines.append(f"hook launcher: {launcher} (runs {sys.executable})")
    if new_text != text:
        if text is not None:
            report.backups.append(hookfile.backup(path))
            report.lines.append(f"backup: {report.backups[-1]}")
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        hookfile.write(path, new_text)
        report.changed = True
        report.lines.append(f"{hookfile.shown(path)}: lakeloop's hooks for {', '.join(want)}")
    info = {
        "config": path,
        "skills_dir": str(previous.get("skills_dir") or agent.skills_dir()),
        "launcher": launcher,
        "created_members": sorted(set(created) | set(previous.get("created_members", []))),
        "created_file": bool(previous.get("created_file")) if previous else text is None,
        "blank_original": previous.get("blank_original")
        if previous
        else (text if text is not None and not text.strip() else None),
    }
    if not (previous.get("installed_at") and all(previous.get(k) == v for k, v in info.items())):
        info["installed_at"] = hookfile.iso_now()
        registry.record(agent.name, info)
        report.changed = True
    if not report.changed:
        report.lines.append(f"Gemini CLI: lakeloop's hooks already installed in {hookfile.shown(path)}")
    return report


def uninstall(agent: Agent, path: str) -> InstallReport:
    """See ``GeminiCLI.uninstall``. Raises InstallRefused (invalid ``settings.json``: nothing
    written)."""
    from . import registry
    from .hookcopy import remove_agent_copy
    from .reports import InstallReport

    text, value, _ = hookfile.load(path, agent, comments=True, verb="uninstall")
    previous = registry.installed().get(agent.name, {})
    report = InstallReport(agent.name, changed=False)
    if text is not None and hookfile.has_ours(value, agent):
        new_text, _removed = hookfile.without_ours(text, value, agent, list(previous.get("created_members", [])))
        report.backups.append(hookfile.backup(path))
        report.lines.append(f"backup: {report.backups[-1]}")
        from .jsonedit import parse

        remaining, _ = parse(new_text, comments=True)
        blank = previous.get("blank_original")
        if remaining == {} and isinstance(blank, str):
            hookfile.write(path, blank)
            report.lines.append(f"{hookfile.shown(path)}: back to the blank file it was")
        elif remaining == {} and previous.get("created_file"):
            os.unlink(os.path.realpath(path))
            report.lines.append(f"{hookfile.shown(path)}: removed (lakeloop had created it)")
        else:
            hookfile.write(path, new_text)
            report.lines.append(f"{hookfile.shown(path)}: lakeloop's hooks removed")
        report.changed = True
    if previous:
        registry.forget(agent.name)
        report.changed = True
    if not (set(registry.installed()) - {agent.name}) and remove_agent_copy():
        report.lines.append("hook launcher copy removed (no agent uses it any more)")
    if not report.changed:
        report.lines.append(f"Gemini CLI: lakeloop's hooks were not installed in {hookfile.shown(path)}")
    return report


def status(agent: Agent, path: str, probe: bool = True) -> AgentStatus:
    """See ``GeminiCLI.status`` (``probe`` changes nothing: Gemini needs no process to ask)."""
    import shlex

    from ..errors import InstallRefused

    out = hookfile.new_status(agent, path)
    try:
        _, value, _ = hookfile.load(path, agent, comments=True)
    except InstallRefused as exc:
        out.problems.append(str(exc))
        return out
    ours = {
        event: group
        for event, items in hookfile.event_groups(value).items()
        for group in items
        if hookfile.is_ours(group, agent)
    }
    out.installed = bool(ours)
    if not ours:
        return out
    missing = [e for e in agent.events if e not in ours]
    if missing:
        out.problems.append(f"lakeloop's hooks missing for {', '.join(missing)}: run lakeloop install gemini")
    launcher = shlex.split(next(iter(ours.values()))["hooks"][0]["command"])[0]
    if not os.access(launcher, os.X_OK):
        out.problems.append(f"hook launcher {launcher} is missing: run lakeloop install gemini")
    config = value.get("hooksConfig")
    config = config if isinstance(config, dict) else {}
    enabled = config.get("enabled") is not False
    if not enabled:
        out.problems.append("hooks are disabled in settings.json (hooksConfig.enabled is false)")
    names = {h.get("name") for g in ours.values() for h in g["hooks"]}
    disabled = (
        sorted(n for n in config.get("disabled", []) if n in names) if isinstance(config.get("disabled"), list) else []
    )
    if disabled:
        out.problems.append(f"disabled in settings.json (hooksConfig.disabled): {', '.join(disabled)}")
    out.active = enabled and not missing and not disabled
    return out
