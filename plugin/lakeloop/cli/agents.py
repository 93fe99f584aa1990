"""``lakeloop agents [--json]``: every coding agent lakeloop knows, found or not, and whether
lakeloop's hooks are in it.

One row per agent (``lakeloop.agents.NAMES`` order): ``path`` (the binary found, else null),
``version``, ``installed`` (lakeloop's hooks are in the agent's config: Claude Code's plugin list,
Codex's ``hooks.json``, Gemini's ``settings.json``), ``trusted`` (Codex: every lakeloop hook is
recorded as trusted, as ``codex app-server`` reports; null for agents without hook trust),
``active`` (installed, and trusted/enabled where that applies), ``config``, ``skills_dir`` and
``problems`` (short sentences: "hooks.json edited since install: untrusted ..."). ``--json``
prints the list of these objects. Writes nothing; each agent's probe is bounded (``--version``
10 s, Codex's app-server 20 s, ``claude plugin list`` 30 s).
"""

from __future__ import annotations

from typing import Any

from ._output import emit_json


def add_parser(sub: Any) -> None:
    """Register ``agents``."""
    agents = sub.add_parser("agents", help="the coding agents found here and whether lakeloop's hooks are in them")
    agents.add_argument("--json", action="store_true", help="print a JSON list of objects")


def collect(probe: bool = True) -> list[dict[str, Any]]:
    """``[AgentStatus.as_json(), ...]`` for every known agent; ``probe`` False reads local files
    only (no app-server, no ``claude plugin list``: ``lakeloop status`` uses that). An agent whose
    status cannot be read is listed with the reason in ``problems``. Never raises for one agent."""
    from ..agents import all_agents
    from ..textsafe import escape_line

    out: list[dict[str, Any]] = []
    for agent in all_agents():
        try:
            out.append(agent.status(probe=probe).as_json())
        except Exception as exc:  # one broken agent must not hide the others
            out.append(
                {
                    "agent": agent.name,
                    "path": None,
                    "version": None,
                    "installed": False,
                    "trusted": None,
                    "active": False,
                    "config": None,
                    "skills_dir": None,
                    "problems": [escape_line(f"status failed: {type(exc).__name__}: {exc}")],
                }
            )
    return out


def _yes_no(value: Any) -> str:
    return "-" if value is None else ("yes" if value else "no")


def run(args: Any) -> int:
    """Print the agents (a table, or ``--json``). Exit 0."""
    rows = collect()
    if args.json:
        emit_json(rows)
        return 0
    from ._output import table

    table(
        ["AGENT", "VERSION", "INSTALLED", "TRUSTED", "ACTIVE", "PATH", "PROBLEMS"],
        [
            [
                r["agent"],
                r["version"] or "-",
                _yes_no(r["installed"]),
                _yes_no(r["trusted"]),
                _yes_no(r["active"]),
                r["path"] or "not found",
                "; ".join(r["problems"]) or "-",
            ]
            for r in rows
        ],
    )
    return 0
