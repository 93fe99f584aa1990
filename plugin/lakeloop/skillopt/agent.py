"""The judge's and proposer's model calls, through the user's own agent CLI.

For Claude Code: ``claude -p --model M --system-prompt S --tools ""
--strict-mcp-config --no-session-persistence --output-format json`` with the
prompt on stdin (the transcript is untrusted text: no tools at all, and the
prompt is not put in argv). The output's ``result`` field holds the reply.
The process runs with ``LAKELOOP_WORKER=1`` so its own hooks capture nothing.

Binary: ``LAKELOOP_CLAUDE_BIN``, else ``claude`` on PATH, else the usual
install locations.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from .. import config
from ..errors import AgentError

_USUAL = (
    "~/.claude/local/claude",
    "~/.local/bin/claude",
    "~/.npm-global/bin/claude",
    "/usr/local/bin/claude",
    "/opt/homebrew/bin/claude",
)


def find_claude() -> str | None:
    """Path of the Claude Code binary, or None when none is installed."""
    override = os.environ.get("LAKELOOP_CLAUDE_BIN", "").strip()
    if override:
        return override
    found = shutil.which("claude")
    if found:
        return found
    for candidate in _USUAL:
        path = Path(candidate).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    return None


def claude_call(prompt: str, system: str, model: str, timeout_s: float | None = None) -> str:
    """One tool-less ``claude -p`` turn; returns the ``result`` text.

    ``timeout_s`` defaults to ``LAKELOOP_AGENT_TIMEOUT_S`` (seconds).
    Raises AgentError when the binary is missing, times out, exits non-zero or
    prints no JSON result. Error messages hold at most 200 characters of output.
    """
    from ..detach import worker_env

    binary = find_claude()
    if binary is None:
        raise AgentError("no agent CLI: set LAKELOOP_CLAUDE_BIN or put claude on PATH")
    argv = [
        binary,
        "-p",
        "--model",
        model,
        "--system-prompt",
        system,
        "--tools",
        "",
        "--strict-mcp-config",
        "--no-session-persistence",
        "--output-format",
        "json",
    ]
    try:
        proc = subprocess.run(
            argv,
            input=prompt,
            capture_output=True,
            text=True,
            timeout=timeout_s or config.agent_timeout_s(),
            env=worker_env(),
        )
    except subprocess.TimeoutExpired as exc:
        raise AgentError(f"agent CLI timed out after {exc.timeout:.0f} s") from None
    except OSError as exc:
        raise AgentError(f"agent CLI could not start: {exc}") from None
    if proc.returncode != 0:
        raise AgentError(f"agent CLI exited {proc.returncode}: {(proc.stderr or proc.stdout)[-200:]!r}")
    try:
        out = json.loads(proc.stdout)
    except ValueError:
        raise AgentError(f"agent CLI printed no JSON: {proc.stdout[:200]!r}") from None
    if not isinstance(out, dict) or out.get("is_error") or not isinstance(out.get("result"), str):
        raise AgentError(f"agent CLI reported an error: {str(out)[:200]!r}")
    return out["result"]
