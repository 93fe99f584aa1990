"""Run lakeloop's hooks as Claude Code runs them: ``hooks/run <Event>`` as a subprocess, the
payload on stdin, ``LAKELOOP_PYTHON`` set to this interpreter, the test's (isolated) environment.

* ``pretooluse_payload(tool, tool_input, cwd, ...)``: a PreToolUse payload shaped like the
  recorded Claude Code 2.1.330 ones.
* ``run_pretooluse(payload, **env)``: ``(decision, output, process)``; decision is ``"allow"``,
  ``"deny"`` or ``"pass"`` (no output). Asserts exit 0 and an answer within the hook's timeout.
* ``run_hook(event, payload, **env)``: any other event; returns the finished process.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HOOK_RUN = REPO / "hooks" / "run"
PAYLOADS_FILE = REPO / "plugin" / "lakeloop" / "data" / "claude-code-2.1.330-hook-payloads.jsonl"
_HOOKS = json.loads((REPO / "hooks" / "hooks.json").read_text())["hooks"]
#: The PreToolUse hook's timeout (seconds) in hooks.json: an answer later than this is no answer.
HOOK_TIMEOUT_S = next(h["timeout"] for entry in _HOOKS["PreToolUse"] for h in entry["hooks"])
SESSION_ID = "5b0c9a51-7d0e-4d43-9a51-0c0ffee0a8e1"


def recorded(event: str, tool_name: str | None = None) -> dict:
    """A copy of the first recorded payload of ``event`` (and ``tool_name`` when given)."""
    for line in PAYLOADS_FILE.read_text(encoding="utf-8").splitlines():
        payload = json.loads(line)
        if payload["hook_event_name"] == event and (tool_name is None or payload.get("tool_name") == tool_name):
            return copy.deepcopy(payload)
    raise LookupError(f"no recorded {event} payload for tool {tool_name}")


def pretooluse_payload(tool: str, tool_input: dict, cwd: str | os.PathLike, *, session_id: str = SESSION_ID,
                       transcript: str | os.PathLike | None = None) -> dict:
    """A PreToolUse payload for ``tool`` with ``tool_input``, run in ``cwd``."""
    p = recorded("PreToolUse", "Bash")
    transcript = transcript or Path.home() / ".claude" / "projects" / "p" / f"{session_id}.jsonl"
    p.update(session_id=session_id, cwd=str(cwd), tool_name=tool, tool_input=tool_input,
             tool_use_id="toolu_01SecTest", transcript_path=str(transcript))
    return p


def run_hook(event: str, payload: dict | bytes, timeout: float = 60, **env_extra: str) -> subprocess.CompletedProcess:
    """Run ``hooks/run event`` on ``payload`` (a dict is sent as JSON); asserts exit 0."""
    env = dict(os.environ, LAKELOOP_PYTHON=sys.executable, **env_extra)
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
    proc = subprocess.run([str(HOOK_RUN), event], input=data, capture_output=True, env=env, timeout=timeout)
    assert proc.returncode == 0
    return proc


def run_pretooluse(payload: dict, **env_extra: str) -> tuple[str, dict | None, subprocess.CompletedProcess]:
    """Run the PreToolUse hook on ``payload``: ``(decision, output, process)``."""
    started = time.monotonic()
    proc = run_hook("PreToolUse", payload, **env_extra)
    elapsed = time.monotonic() - started
    assert elapsed < HOOK_TIMEOUT_S, f"the hook took {elapsed:.1f} s (timeout {HOOK_TIMEOUT_S} s)"
    if not proc.stdout.strip():
        return "pass", None, proc
    out = json.loads(proc.stdout)
    return out["hookSpecificOutput"]["permissionDecision"], out, proc


def files_holding(root: str | os.PathLike, secret: str, *, besides: str | os.PathLike = "") -> list[str]:
    """Regular files under ``root`` (symlinks not followed, ``besides`` skipped: the file that holds
    ``secret`` on purpose) whose bytes contain ``secret``: where a leak landed."""
    found = []
    for top, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(top, name)
            if path == str(besides) or os.path.islink(path):
                continue
            try:
                with open(path, "rb") as fh:
                    if secret.encode() in fh.read():
                        found.append(path)
            except OSError:
                pass
    return found
