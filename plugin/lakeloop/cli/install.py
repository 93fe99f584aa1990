"""``lakeloop install [claude|codex|gemini]``: add lakeloop's hooks to a coding agent, run by this
same lakeloop (no agent: ``claude``).

**Claude Code** (``claude``, the default): it writes a small plugin copy into lakeloop's data
directory (``plugin_copy_dir()``: the hooks' launcher and wiring, the manifests, the slash
commands; a few kB, never a virtualenv or a cache) with the launcher ``hooks/run`` pinned to the
interpreter running this command (``sys.executable``), so every hook and slash command runs the
installed lakeloop package and needs no virtualenv of its own. Then it asks Claude Code's own CLI
to add that directory as the marketplace ``lakeloop`` and to install ``lakeloop@lakeloop`` from
it. Claude Code loads a directory marketplace's plugin in place, so rewriting the copy is what
updates it. This flow stays here (it drives Claude Code's CLI, an entry point's business);
``lakeloop.agents.claude`` knows Claude Code's binary, version and status.

Idempotent: a second run rewrites the copy (and so refreshes the plugin after an upgrade) and
says the plugin was already installed. A marketplace named ``lakeloop`` that points elsewhere
(a checkout added by hand) is replaced by the copy. The Claude Code binary is
``LAKELOOP_CLAUDE_BIN``, else ``claude`` on PATH, else its usual install locations. Nothing
secret is passed in argv: only paths and names.

**Codex CLI, Gemini CLI** (``codex``, ``gemini``): ``lakeloop.agents.get(name).install`` merges
lakeloop's hook groups into the agent's config (``$CODEX_HOME/hooks.json`` and its trust records;
``~/.gemini/settings.json``), each running the launcher copy ``agent_launcher()``; see
``lakeloop.agents.hookfile``. An invalid config file is refused (exit 2) with nothing written.

The plugin files ship in the wheel as ``lakeloop/claude_plugin/{hooks,manifest,commands}``
(pyproject.toml maps them from the checkout's ``hooks/``, ``.claude-plugin/`` and ``commands/``);
in a development checkout they are read from the checkout itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..agents import NAMES
from ..agents.hookcopy import STAMP as STAMP  # re-exported: these used to live here
from ..agents.hookcopy import InstallError as InstallError
from ..agents.hookcopy import plugin_copy_dir as plugin_copy_dir
from ..agents.hookcopy import refresh_if_stale as refresh_if_stale
from ..agents.hookcopy import sources_digest as sources_digest
from ..agents.hookcopy import write_copy as write_copy

MARKETPLACE = "lakeloop"
PLUGIN_ID = "lakeloop@lakeloop"
CLAUDE_TIMEOUT_S = 120


def add_parser(sub: Any) -> None:
    """Register ``install`` and ``uninstall`` (each takes the agent, ``claude`` when left out)."""
    agents = list(NAMES)
    install = sub.add_parser("install", help="add lakeloop's hooks to an agent: claude (default), codex, gemini")
    install.add_argument("agent", nargs="?", default="claude", choices=agents, help="the agent (default: claude)")
    uninstall = sub.add_parser("uninstall", help="remove lakeloop's hooks from an agent; --purge also lakeloop's data")
    uninstall.add_argument("agent", nargs="?", default="claude", choices=agents, help="the agent (default: claude)")
    uninstall.add_argument(
        "--purge", action="store_true", help="also delete lakeloop's data, logs, outbox, jobs and pulled skills"
    )
    uninstall.add_argument("--yes", "-y", action="store_true", help="do not ask before purging")


def claude_binary() -> str:
    """The Claude Code binary to drive. Raises InstallError when none is found."""
    from ..agents import get

    found = get("claude").find_binary()
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
    """``lakeloop install [AGENT]``: Claude Code's flow (``install_claude``) or the agent's own
    ``install`` with the agents' launcher copy. Exit 0. Raises InstallRefused (exit 2: binary
    missing, invalid config; nothing written), InstallError (exit 1: the agent's CLI failed)."""
    name = getattr(args, "agent", None) or "claude"
    if name == "claude":
        return install_claude()
    from ..agents import get
    from ..agents.hookcopy import agent_launcher

    agent = get(name)
    report = agent.install(str(agent_launcher()))
    for line in report.lines:
        print(line)
    print(status_line(agent.status()))
    return 0


def status_line(status: Any) -> str:
    """One human line for an ``AgentStatus``: installed/trusted/active, then its problems."""
    state = "installed" if status.installed else "not installed"
    if status.trusted is not None and status.installed:
        state += ", trusted" if status.trusted else ", NOT trusted"
    state += ", active" if status.active else ", inactive"
    line = f"{status.agent}: {state}"
    if status.problems:
        line += " (" + "; ".join(status.problems) + ")"
    return line


def install_claude() -> int:
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
