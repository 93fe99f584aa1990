"""``lakeloop uninstall [claude|codex|gemini] [--purge [--yes]]``: remove lakeloop from an agent
(no agent: ``claude``).

Claude Code: ``claude plugin uninstall lakeloop@lakeloop`` (which also drops the plugin's Claude
Code data directory), ``claude plugin marketplace remove lakeloop``, delete the plugin copy
(``install.plugin_copy_dir()``). Codex CLI, Gemini CLI: ``lakeloop.agents.get(name).uninstall()``
takes exactly lakeloop's hook groups (and Codex trust entries) out of the agent's config and
forgets the agent in ``lakeloop.agents.registry``. Then it prints what lakeloop data remains and
how to remove it.

``--purge`` also deletes what lakeloop itself wrote on this machine: its data directory (the
embedded store, outbox, jobs, judgment windows, notes, manifests), its log files, and the pulled
team skills each agent's pull manifest lists under that agent's skills directory; but only once
no other agent still uses lakeloop (another agent in the registry, or Claude Code's plugin copy):
then it says which agents still do and purges nothing. It asks first on a terminal;
``--yes`` skips the question; without a terminal and without ``--yes`` it refuses (exit 2)
before changing anything. Never touched: the Deeplake credentials file (shared with other
Deeplake tools), any other file under the skills root, and the team store (Deeplake's tables:
the team's data, not this machine's).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import RequestRefused
from ..textsafe import escape_line
from .install import (
    MARKETPLACE,
    PLUGIN_ID,
    InstallError,
    claude,
    claude_binary,
    claude_json,
    plugin_copy_dir,
)


def _size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def pulled_skill_dirs() -> list[Path]:
    """The directories of pulled team skills every agent's pull manifest lists, each directly
    under that agent's skills directory (anything else a manifest names is ignored). Missing or
    bad manifests: nothing from them."""
    from ..agents import NAMES, get

    found: list[Path] = []
    for name in NAMES:
        manifest = paths.manifest_file(name)
        root = paths.skills_root() if name == "claude" else get(name).skills_dir()
        found.extend(_manifest_dirs(manifest, root))
    return sorted(set(found))


def _manifest_dirs(manifest: Path, skills_root: Path) -> list[Path]:
    try:
        skills = json.loads(manifest.read_text(encoding="utf-8")).get("skills", {})
    except (OSError, ValueError, AttributeError):
        return []
    root = skills_root.resolve()
    found = []
    for entry in skills.values() if isinstance(skills, dict) else []:
        raw = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(raw, str):
            continue
        target = Path(raw)
        directory = (target.parent if target.name == "SKILL.md" else target).resolve()
        if directory.parent == root and directory.is_dir():
            found.append(directory)
    return found


def _log_files() -> list[Path]:
    return sorted(paths.log_dir().glob("lakeloop.log*"))


def _guarded(path: Path) -> bool:
    """True when ``path`` may be deleted whole: not ``/``, the home directory or one of its parents."""
    resolved = path.resolve()
    home = Path.home().resolve()
    return resolved != Path("/") and resolved != home and resolved not in home.parents


def remains() -> list[tuple[str, Path, int]]:
    """What lakeloop data is on this machine: ``[(label, path, bytes)]`` for what exists."""
    found = []
    data = paths.data_dir()
    if data.exists():
        found.append(("data (store, outbox, jobs, notes)", data, _size(data)))
    logs = _log_files()
    if logs:
        found.append(
            (f"log ({len(logs)} file{'s' if len(logs) != 1 else ''})", paths.log_dir(), sum(_size(p) for p in logs))
        )
    for skill in pulled_skill_dirs():
        found.append(("pulled team skill", skill, _size(skill)))
    return found


def _confirm(question: str) -> bool | None:
    """True/False: the user's answer; None: no terminal to ask on."""
    if not sys.stdin or not sys.stdin.isatty():
        return None
    print(f"{question} [y/N] ", end="", flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def _purge(found: list[tuple[str, Path, int]]) -> None:
    skills = pulled_skill_dirs()
    for skill in skills:
        shutil.rmtree(skill, ignore_errors=True)
    for log in _log_files():
        log.unlink(missing_ok=True)
    try:
        paths.log_dir().rmdir()  # only when empty: the directory may be shared
    except OSError:
        pass
    data = paths.data_dir()
    left = _purge_data(data) if data.is_dir() and not data.is_symlink() and _guarded(data) else []
    print(f"deleted: {', '.join(str(path) for _label, path, _n in found) or 'nothing was there'}")
    if left:
        shown = ", ".join(escape_line(name) for name in left[:5]) + (" ..." if len(left) > 5 else "")
        print(f"left alone in {data}: {len(left)} entries lakeloop did not write ({shown})")


#: What lakeloop writes in its data directory (``lakeloop.paths`` and the modules naming files
#: there): only these are deleted by ``--purge``, so a data directory that is shared or was set
#: to a folder holding other things (``LAKELOOP_DATA_DIR``/``LAKELOOP_HOME`` pointing at one)
#: loses nothing else. ``fnmatch`` patterns.
OWN_ENTRIES = (
    "store.sqlite3", "store.sqlite3-wal", "store.sqlite3-shm", "store.sqlite3-journal",
    "outbox", "pending", "locks", "jobs", "attempts", "slots", "notices", "session-start",
    "memory-answers", "memory-notes.json", "pulled-skills.json", "pins.json", "pull.lock",
    "reviews-announced.json", "redact-patterns.json", "plugin-venv", "claude-plugin",
    "claude-plugin.new", "claude-plugin.old", "claude-plugin.lock",
    "pulled-skills-*.json", "agents.json", "agents.json.lock", "agent-runs",
    "agent-hooks", "agent-hooks.new", "agent-hooks.old", "agent-hooks.lock",
    "deeplake-schema-*.ok", "deeplake-search-*",
)  # fmt: skip


def _purge_data(data: Path) -> list[str]:
    """Delete the entries of ``data`` that ``OWN_ENTRIES`` names (symlinks removed, never
    followed), then the directory itself when nothing else is left. Returns the names of the
    entries left in place (not lakeloop's)."""
    import fnmatch

    left = []
    for entry in sorted(data.iterdir()):
        if not any(fnmatch.fnmatchcase(entry.name, pattern) for pattern in OWN_ENTRIES):
            left.append(entry.name)
        elif entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    if not left:
        try:
            data.rmdir()
        except OSError:
            pass
    return left


def _untouched() -> None:
    from ..deeplake.credentials import credentials_file

    creds = credentials_file()
    if creds.exists():
        print(f"left alone: {creds} (Deeplake credentials, shared with other Deeplake tools; delete it yourself")
        print("  when no tool needs it)")
    print("left alone: the team store (Deeplake's tables are your team's data, not this machine's)")


def _remove_from_claude() -> None:
    """Uninstall the plugin and remove its marketplace through Claude Code's CLI (each only when
    there). Raises InstallError (Claude Code missing or failing)."""
    binary = claude_binary()
    if any(p.get("id") == PLUGIN_ID for p in claude_json(binary, "list")):
        claude(binary, "uninstall", PLUGIN_ID)
        print(f"Claude Code: plugin {PLUGIN_ID} uninstalled")
    else:
        print(f"Claude Code: plugin {PLUGIN_ID} was not installed")
    if any(m.get("name") == MARKETPLACE for m in claude_json(binary, "marketplace", "list")):
        claude(binary, "marketplace", "remove", MARKETPLACE)
        print(f"Claude Code: marketplace {MARKETPLACE} removed")


def still_used_by(name: str) -> list[str]:
    """The agents other than ``name`` that still use lakeloop on this machine: those in the
    agents registry, and ``claude`` while its plugin copy is there."""
    from ..agents import registry

    users = [n for n in registry.installed() if n != name]
    if name != "claude" and plugin_copy_dir().exists():
        users.insert(0, "claude")
    return users


def run(args: Any) -> int:
    """``lakeloop uninstall [AGENT] [--purge] [--yes]``; returns 0, or 1 when the purge was
    declined. Raises RequestRefused (``--purge`` with no terminal and no ``--yes``),
    InstallRefused (an agent's config file is invalid: nothing was changed)."""
    name = getattr(args, "agent", None) or "claude"
    found = remains()
    if args.purge and not args.yes:
        listed = "\n".join(f"  {label}: {path} ({n / 1024:.0f} kB)" for label, path, n in found)
        answer = _confirm(f"Remove lakeloop from {name} and delete lakeloop's data on this machine?\n{listed}\n")
        if answer is None:
            raise RequestRefused("--purge deletes lakeloop's data and there is no terminal to ask on; add --yes")
        if not answer:
            print("nothing removed")
            return 1
    if name == "claude":
        try:
            _remove_from_claude()
        except InstallError as exc:  # the rest still runs: the copy and the data are lakeloop's own
            print(f"{exc}\n  remove the plugin from Claude Code yourself: claude plugin uninstall {PLUGIN_ID}")
        copy = plugin_copy_dir()
        if copy.exists():
            shutil.rmtree(copy)
            print(f"deleted the plugin files: {copy}")
    else:
        from ..agents import get

        for line in get(name).uninstall().lines:
            print(line)
    users = still_used_by(name)
    if args.purge and users:
        print(f"not purged: lakeloop's data is still used by {', '.join(users)}")
        print(f"  uninstall {'them' if len(users) > 1 else 'it'} first, then: lakeloop uninstall {users[-1]} --purge")
    elif args.purge:
        _purge(remains())
    else:
        rest = remains()
        if rest:
            print("lakeloop's data remains on this machine:")
            for label, path, n in rest:
                print(f"  {label}: {path} ({n / 1024:.0f} kB)")
            print(f"remove it with: lakeloop uninstall {name} --purge   (asks first)")
    _untouched()
    return 0
