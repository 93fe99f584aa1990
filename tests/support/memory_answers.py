"""What the agent reads after the PreToolUse hook answered a memory-path call, acting on the answer
as Claude Code 2.1.330 does.

* ``agent_sees(tool, decision, out, cwd)``: the text the agent gets: the deny reason; for an allow,
  the redirected Read or Grep's answer file, or the output of the rewritten Bash command (run with
  bash in ``cwd``); ``""`` for a pass-through (nothing of lakeloop's).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def agent_sees(tool: str, decision: str, out: dict | None, cwd: str | os.PathLike) -> str:
    """The text the agent reads for ``tool``'s call answered with ``decision``/``out``
    (``tests.support.hooks.run_pretooluse``'s first two values)."""
    if decision == "pass" or out is None:
        return ""
    spec = out["hookSpecificOutput"]
    if decision == "deny":
        return spec.get("permissionDecisionReason", "")
    updated = spec["updatedInput"]
    if tool == "Bash":
        ran = subprocess.run(
            ["bash", "-c", updated["command"]], cwd=cwd, capture_output=True, timeout=30, stdin=subprocess.DEVNULL
        )
        return (ran.stdout + ran.stderr).decode("utf-8", "replace")
    path = updated.get("file_path") or updated.get("path")
    return Path(path).read_text(encoding="utf-8", errors="replace")
