"""``lakeloop install claude``: add the lakeloop plugin to Claude Code, run by this same lakeloop.

It writes a small plugin copy into lakeloop's data directory (``plugin_copy_dir()``: the hooks'
launcher and wiring, the manifests, the slash commands; a few kB, never a virtualenv or a cache)
with the launcher ``hooks/run`` pinned to the interpreter running this command
(``sys.executable``), so every hook and slash command runs the installed lakeloop package and
needs no virtualenv of its own. Then it asks Claude Code's own CLI to add that directory as the
marketplace ``lakeloop`` and to install ``lakeloop@lakeloop`` from it. Claude Code loads a
directory marketplace's plugin in place, so rewriting the copy is what updates it.

Idempotent: a second run rewrites the copy (and so refreshes the plugin after an upgrade) and
says the plugin was already installed. A marketplace named ``lakeloop`` that points elsewhere
(a checkout added by hand) is replaced by the copy. The Claude Code binary is
``LAKELOOP_CLAUDE_BIN``, else ``claude`` on PATH, else its usual install locations
(``lakeloop.skillopt.agent.find_claude``). Nothing secret is passed in argv: only paths and names.

The plugin files ship in the wheel as ``lakeloop/claude_plugin/{hooks,manifest,commands}``
(pyproject.toml maps them from the checkout's ``hooks/``, ``.claude-plugin/`` and ``commands/``);
in a development checkout they are read from the checkout itself.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import LakeloopError

MARKETPLACE = "lakeloop"
PLUGIN_ID = "lakeloop@lakeloop"
#: What the copy holds: directory in the copy -> the files taken from that part of the plugin.
COPY_FILES = {
    ".claude-plugin": ("plugin.json", "marketplace.json", "icon.png"),
    "hooks": ("run", "entry.py", "hooks.json"),
    "commands": ("*.md",),
}
#: The launcher's line that names the pinned interpreter (empty in a checkout).
PINNED_LINE = "PINNED=''"
CLAUDE_TIMEOUT_S = 120


class InstallError(LakeloopError):
    """Adding or removing the plugin failed: Claude Code missing or one of its commands failed,
    or the plugin's files are missing from this lakeloop. The message says which and what to do."""


def add_parser(sub: Any) -> None:
    """Register ``install`` and ``uninstall`` (each takes the agent: ``claude``)."""
    install = sub.add_parser("install", help="add the lakeloop plugin to Claude Code (run by this lakeloop)")
    install.add_argument("agent", choices=["claude"], help="the agent to add the plugin to")
    uninstall = sub.add_parser("uninstall", help="remove the plugin from Claude Code; --purge also lakeloop's data")
    uninstall.add_argument("agent", choices=["claude"], help="the agent to remove the plugin from")
    uninstall.add_argument(
        "--purge", action="store_true", help="also delete lakeloop's data, logs, outbox, jobs and pulled skills"
    )
    uninstall.add_argument("--yes", "-y", action="store_true", help="do not ask before purging")


def plugin_copy_dir() -> Path:
    """Where ``install claude`` writes the plugin copy Claude Code loads: ``<data dir>/claude-plugin``."""
    return paths.data_dir() / "claude-plugin"


def plugin_sources() -> dict[str, Path]:
    """The plugin's files of this lakeloop: ``{".claude-plugin": dir, "hooks": dir, "commands": dir}``.

    From the installed package (``lakeloop/claude_plugin/``) when present, else from the
    development checkout holding the package. Raises InstallError when neither has them."""
    package = Path(__file__).resolve().parents[1]
    shipped = package / "claude_plugin"
    if (shipped / "hooks" / "run").is_file():
        return {".claude-plugin": shipped / "manifest", "hooks": shipped / "hooks", "commands": shipped / "commands"}
    checkout = package.parents[1]
    if (checkout / "hooks" / "run").is_file() and (checkout / ".claude-plugin" / "plugin.json").is_file():
        return {part: checkout / part for part in COPY_FILES}
    raise InstallError(f"the plugin's files are missing from this lakeloop ({package}): reinstall the package")


def pinned_launcher(text: str, interpreter: str) -> str:
    """The launcher ``text`` with its ``PINNED=''`` line naming ``interpreter`` (shell-quoted).
    Raises InstallError when the launcher has no such line (or more than one)."""
    lines = text.split("\n")
    at = [i for i, line in enumerate(lines) if line == PINNED_LINE]
    if len(at) != 1:
        raise InstallError(f"hooks/run has {len(at)} '{PINNED_LINE}' lines, expected one: reinstall the package")
    lines[at[0]] = f"PINNED={shlex.quote(interpreter)}"
    return "\n".join(lines)


#: The copy's record of the plugin files it was written from (``sources_digest``), in ``hooks/``.
STAMP = ".lakeloop-stamp"


def sources_digest() -> str:
    """SHA-256 (hex) over the names and bytes of the plugin files this lakeloop ships
    (``plugin_sources``, the ``COPY_FILES`` patterns): it changes when a release changes the hook
    wiring, the launcher, the manifests or the slash commands. Raises InstallError, OSError."""
    return _digest((part, src.name, src.read_bytes()) for part, src in plugin_files())


def _digest(entries: Iterable[tuple[str, str, bytes]]) -> str:
    """SHA-256 (hex) over ``(part, file name, bytes)`` entries, in their order."""
    import hashlib

    digest = hashlib.sha256()
    for part, name, data in entries:
        digest.update(f"{part}/{name}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def plugin_files() -> list[tuple[str, Path]]:
    """``(part, source file)`` for every file the copy holds (``COPY_FILES`` over
    ``plugin_sources()``), in a stable order. Raises InstallError."""
    sources = plugin_sources()
    return [
        (part, src)
        for part, patterns in COPY_FILES.items()
        for pattern in patterns
        for src in sorted(sources[part].glob(pattern))
    ]


def refresh_if_stale(root: str, interpreter: str) -> bool:
    """Rewrite the plugin copy when it is the one ``install claude`` wrote (``root`` is
    ``plugin_copy_dir()`` and holds a ``STAMP``) and this lakeloop ships other plugin files than
    the stamp records (the tool was upgraded): so upgrading the tool is the only step, and the
    new hook wiring and slash commands apply from the next session. Returns True when it
    rewrote the copy. A development checkout (no stamp) is never touched. Raises InstallError,
    OSError."""
    dest = plugin_copy_dir()
    if not root or not _same_dir(root, dest):
        return False
    try:
        recorded = (dest / "hooks" / STAMP).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return False
    if recorded == sources_digest():
        return False
    write_copy(dest, interpreter)
    return True


def write_copy(dest: Path, interpreter: str) -> int:
    """Write the plugin copy at ``dest`` (replacing an older one whole), with ``hooks/run`` pinned
    to ``interpreter``, holding the lock ``<dest>.lock`` (one writer at a time). Returns its size
    in bytes. Raises InstallError (files missing), LockTimeout (another writer for
    ``WRITE_LOCK_S`` seconds), OSError."""
    from ..locks import hold

    paths.private_dir(dest.parent)
    # one writer at a time (an install and a SessionStart refresh after an upgrade may race)
    with hold(dest.with_name(dest.name + ".lock"), WRITE_LOCK_S):
        return _write_copy(dest, interpreter)


#: Longest wait for another process writing the plugin copy, seconds.
WRITE_LOCK_S = 10.0


def _write_copy(dest: Path, interpreter: str) -> int:
    staging = dest.with_name(dest.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700)
    for part in COPY_FILES:
        (staging / part).mkdir(mode=0o700)
    size = 0
    read: list[tuple[str, str, bytes]] = []  # for the stamp: sources_digest() of the bytes read here
    for part, src in plugin_files():
        data = src.read_bytes()
        read.append((part, src.name, data))
        if part == "hooks" and src.name == "run":
            data = pinned_launcher(data.decode(), interpreter).encode()
        target = staging / part / src.name
        target.write_bytes(data)
        target.chmod(0o700 if part == "hooks" and src.name in ("run", "entry.py") else 0o600)  # private
        size += len(data)
    stamp = staging / "hooks" / STAMP
    stamp.write_text(_digest(read) + "\n", encoding="utf-8")
    stamp.chmod(0o600)
    old = dest.with_name(dest.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        dest.rename(old)
    staging.rename(dest)
    shutil.rmtree(old, ignore_errors=True)
    return size


def claude_binary() -> str:
    """The Claude Code binary to drive. Raises InstallError when none is found."""
    from ..skillopt.agent import find_claude

    found = find_claude()
    if found is None:
        raise InstallError("Claude Code not found: put claude on PATH or set LAKELOOP_CLAUDE_BIN to its path")
    return found


def claude(binary: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``binary plugin ARGV...``; returns the finished process. Raises InstallError when it
    cannot run, times out, or (``check``) exits non-zero; the message holds the end of its output."""
    try:
        proc = subprocess.run(
            [binary, "plugin", *argv],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CLAUDE_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallError(f"`claude plugin {' '.join(argv)}` could not run: {type(exc).__name__}") from None
    if check and proc.returncode != 0:
        said = " ".join((proc.stderr or proc.stdout).split())[-300:]
        raise InstallError(f"`claude plugin {' '.join(argv)}` failed (exit {proc.returncode}): {said}")
    return proc


def claude_json(binary: str, *argv: str) -> list[dict[str, Any]]:
    """``claude plugin ARGV... --json`` parsed as a list of objects. Raises InstallError."""
    out = claude(binary, *argv, "--json").stdout
    try:
        listed = json.loads(out)
    except ValueError:
        raise InstallError(f"`claude plugin {' '.join(argv)} --json` printed no JSON") from None
    return [item for item in listed if isinstance(item, dict)] if isinstance(listed, list) else []


def _same_dir(a: str, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def run(args: Any) -> int:
    """``lakeloop install claude``: write the copy, add the marketplace, install the plugin. Exit 0."""
    binary = claude_binary()
    dest = plugin_copy_dir()
    size = write_copy(dest, sys.executable)
    print(f"plugin files: {dest} ({size / 1024:.0f} kB); hooks run {sys.executable}")

    markets = {m.get("name"): m for m in claude_json(binary, "marketplace", "list")}
    market = markets.get(MARKETPLACE)
    if market is not None and _same_dir(str(market.get("path") or market.get("installLocation") or ""), dest):
        print(f"Claude Code: marketplace {MARKETPLACE} already added")
    else:
        if market is not None:
            claude(binary, "marketplace", "remove", MARKETPLACE)
            print(f"Claude Code: marketplace {MARKETPLACE} pointed at {market.get('path')}; replaced")
        claude(binary, "marketplace", "add", str(dest))
        print(f"Claude Code: marketplace {MARKETPLACE} added")

    if any(p.get("id") == PLUGIN_ID for p in claude_json(binary, "list")):
        print(f"Claude Code: plugin {PLUGIN_ID} already installed (refreshed: it loads from the copy above)")
    else:
        claude(binary, "install", PLUGIN_ID)
        print(f"Claude Code: plugin {PLUGIN_ID} installed")
    print("New Claude Code sessions capture into lakeloop; slash commands: /lakeloop:status, /lakeloop:search.")
    return 0
