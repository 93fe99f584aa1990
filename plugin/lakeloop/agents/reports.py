"""The value classes ``install``, ``uninstall`` and ``status`` return (``lakeloop.agents.base.Agent``).

Kept apart from ``base`` so a hook process, which needs the agent's mappings but never these,
does not build them (``records.dataclass`` costs about a millisecond at import).
"""

from __future__ import annotations

from ..records import dataclass, field

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from typing import Any


@dataclass
class InstallReport:
    """What ``install``/``uninstall`` did, for the CLI to print.

    ``changed``: False when nothing had to be written (already installed / not installed).
    ``lines``: human lines, in order (files written, backup paths, trust recorded, warnings).
    ``backups``: paths of the backup files written (empty when nothing changed).
    """

    agent: str
    changed: bool
    lines: list[str] = field(default_factory=list)
    backups: list[str] = field(default_factory=list)


@dataclass
class AgentStatus:
    """One agent as ``lakeloop agents`` shows it (``as_json`` gives the ``--json`` object).

    ``path``: the binary found (``find_binary``) or None; ``version``: its ``--version`` text
    parsed, or None; ``installed``: lakeloop's hooks are in the agent's config; ``trusted``:
    Codex only (every lakeloop hook recorded as trusted), None for agents without hook trust;
    ``active``: installed, and trusted / enabled where that applies; ``config``: the config file
    lakeloop edits (or the plugin dir for Claude Code); ``skills_dir``: where team skills are
    pulled for this agent; ``problems``: short human sentences (never secrets).
    """

    agent: str
    path: str | None
    version: str | None
    installed: bool
    trusted: bool | None
    active: bool
    config: str | None = None
    skills_dir: str | None = None
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """``{"agent", "path", "version", "installed", "trusted", "active", "config",
        "skills_dir", "problems"}``."""
        return {
            "agent": self.agent,
            "path": self.path,
            "version": self.version,
            "installed": self.installed,
            "trusted": self.trusted,
            "active": self.active,
            "config": self.config,
            "skills_dir": self.skills_dir,
            "problems": list(self.problems),
        }
