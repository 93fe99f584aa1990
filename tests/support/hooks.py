"""Run lakeloop's hooks as Claude Code runs them: ``hooks/run <Event>`` as a subprocess, the
payload on stdin, ``LAKELOOP_PYTHON`` set to this interpreter, the test's (isolated) environment.

* ``pretooluse_payload(tool, tool_input, cwd, ...)``: a PreToolUse payload shaped like the
  recorded Claude Code 2.1.330 ones.
* ``run_pretooluse(payload, **env)``: ``(decision, output, process)``; decision is ``"allow"``,
  ``"deny"`` or ``"pass"`` (no output). Asserts exit 0 and an answer within the hook's timeout.
* ``run_hook(event, payload, timeout=60, text=False, agent=None, **env)``: any event; returns the
  finished process (bytes output, or str with ``text=True``). ``agent`` is the hook command's
  second argument, as Codex CLI's and Gemini CLI's installed hooks pass it (``"codex"``,
  ``"gemini"``; None: none, as Claude Code's ``hooks.json``). This is THE hook launcher of the tests: every
  test that runs a hook as Claude Code does goes through it (or through a wrapper of it, such as
  ``tests.support.capture.capture``).
* ``run_quiet_hook(event, payload, **env)``: ``run_hook``, also asserting the hook printed nothing
  (no stdout, which would reach the model, and no stderr).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.support.payloads import first_payload
from tests.support.repo import HOOK_RUN, REPO

_HOOKS = json.loads((REPO / "hooks" / "hooks.json").read_text())["hooks"]
#: The PreToolUse hook's timeout (seconds) in hooks.json: an answer later than this is no answer.
HOOK_TIMEOUT_S = next(h["timeout"] for entry in _HOOKS["PreToolUse"] for h in entry["hooks"])
SESSION_ID = "5b0c9a51-7d0e-4d43-9a51-0c0ffee0a8e1"


def pretooluse_payload(
    tool: str,
    tool_input: dict,
    cwd: str | os.PathLike,
    *,
    session_id: str = SESSION_ID,
    transcript: str | os.PathLike | None = None,
) -> dict:
    """A PreToolUse payload for ``tool`` with ``tool_input``, run in ``cwd``."""
    p = first_payload("PreToolUse", "Bash")
    transcript = transcript or Path.home() / ".claude" / "projects" / "p" / f"{session_id}.jsonl"
    p.update(
        session_id=session_id,
        cwd=str(cwd),
        tool_name=tool,
        tool_input=tool_input,
        tool_use_id="toolu_01SecTest",
        transcript_path=str(transcript),
    )
    return p


def run_hook(
    event: str,
    payload: dict | bytes,
    timeout: float = 60,
    text: bool = False,
    agent: str | None = None,
    **env_extra: str,
) -> subprocess.CompletedProcess:
    """Run ``hooks/run event [agent]`` on ``payload`` (a dict is sent as JSON, bytes as they are)
    in this test's environment plus ``env_extra``, with ``LAKELOOP_PYTHON`` set to this
    interpreter; asserts exit 0. Output is bytes, or str (UTF-8) with ``text``. Raises
    ``subprocess.TimeoutExpired`` after ``timeout`` seconds."""
    env = {**os.environ, "LAKELOOP_PYTHON": sys.executable, **env_extra}
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
    proc = subprocess.run(
        [str(HOOK_RUN), event, *([agent] if agent else [])],
        input=data.decode("utf-8") if text else data,
        capture_output=True,
        env=env,
        timeout=timeout,
        encoding="utf-8" if text else None,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def run_quiet_hook(
    event: str, payload: dict | bytes, agent: str | None = None, **env_extra: str
) -> subprocess.CompletedProcess:
    """``run_hook`` that also asserts empty stdout and stderr."""
    proc = run_hook(event, payload, agent=agent, **env_extra)
    assert proc.stdout == b"" and proc.stderr == b"", (proc.stdout, proc.stderr)
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
