"""hooks/run: the launcher works with only python3 on PATH, prepares its own virtualenv without
blocking, fails open until it is ready, and honours LAKELOOP_PYTHON."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lakeloop import paths
from lakeloop.cli.status import plugin_env_state
from lakeloop.store.embedded import EmbeddedStore
from tests.support.payloads import first_payload
from tests.support.repo import HOOK_RUN, REPO
from tests.support.waiting import wait_until


def _run(event: str, payload: dict | bytes, env: dict) -> subprocess.CompletedProcess:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return subprocess.run([str(HOOK_RUN), event], input=data, env=env, capture_output=True, timeout=60)


def _rows() -> int:
    if not paths.store_file().exists():
        return 0
    with EmbeddedStore(paths.store_file()) as store:  # closed: a leaked connection's locks are not kept
        return len(store._run("SELECT id FROM sessions"))


def _bootstrap_env(tmp_path: Path) -> dict:
    """The environment of a machine where only the system python3 is there: no LAKELOOP_PYTHON,
    no virtualenv of ours on PATH, the plugin's data under ``tmp_path/plugin-data``."""
    system_python = shutil.which("python3")
    if system_python is None:
        if os.environ.get("CI"):
            pytest.fail("no python3 on PATH (CI is set, so this is an error)", pytrace=False)
        pytest.skip("no python3 on PATH")
    env = {k: v for k, v in os.environ.items() if k not in ("LAKELOOP_PYTHON", "VIRTUAL_ENV", "PYTHONPATH")}
    env["CLAUDE_PLUGIN_DATA"] = str(tmp_path / "plugin-data")
    env["PATH"] = os.pathsep.join([str(Path(system_python).parent), "/usr/bin", "/bin"])
    return env


def test_fresh_install_builds_its_virtualenv_once_and_stores_what_waited(tmp_path, monkeypatch):
    """With no virtualenv yet, hooks started at the same moment exit 0 at once and spool their
    events; exactly one of them starts the detached build (a lock), and ``lakeloop status`` says
    the environment is being prepared. Once it is ready, the build itself stores the spooled
    events, with no further hook; then hooks run from the new virtualenv."""
    env = _bootstrap_env(tmp_path)
    plugin_data = Path(env["CLAUDE_PLUGIN_DATA"])
    payload = first_payload("PostToolUse", "Bash")
    events = ["PostToolUse", "UserPromptSubmit", "PostToolUse", "SessionStart"]
    hooks = [
        subprocess.Popen([str(HOOK_RUN), event], stdin=subprocess.PIPE, env=env, stdout=subprocess.PIPE)
        for event in events
    ]
    for hook, event in zip(hooks, events):
        hook.stdin.write(json.dumps(first_payload(event)).encode())
    for hook in hooks:  # every hook reads its payload at once: they race for the build
        hook.stdin.close()
    outputs = [hook.stdout.read() for hook in hooks]  # EOF: the hook exited (no detached child keeps it)
    for hook in hooks:
        hook.wait(timeout=60)
        hook.stdout.close()
    assert [hook.returncode for hook in hooks] == [0] * len(events) and outputs == [b""] * len(events)
    assert len(list((paths.data_dir() / "outbox").glob("*.json"))) == 3  # SessionStart is not spooled
    assert _rows() == 0  # spooled, not stored, until the venv is ready

    monkeypatch.setenv("CLAUDE_PLUGIN_DATA", str(plugin_data))
    status = subprocess.run(
        [sys.executable, "-m", "lakeloop.cli.main", "status"], capture_output=True, text=True, timeout=60, check=True
    )
    assert "plugin env:   being prepared since " in status.stdout
    preparing = plugin_env_state()
    assert preparing["state"] == "preparing" and preparing["venv"] == str(plugin_data / "venv")
    monkeypatch.delenv("CLAUDE_PLUGIN_DATA")  # outside Claude Code, status finds it through the data dir
    assert plugin_env_state()["pid"] == preparing["pid"]

    marker = plugin_data / "venv" / ".lakeloop-ready"
    wait_until(marker.exists, 600, "the virtualenv to be ready")
    assert marker.read_bytes() == (REPO / "hooks" / "requirements.txt").read_bytes()
    wait_until(lambda: _rows() == 3, 120, "the spooled events stored by the build, with no further hook")
    log = paths.log_file().read_text()
    assert log.count("building the plugin's virtualenv") == 1, log
    assert "SessionStart: not handled until the plugin's virtualenv" in log
    assert " WARNING " not in log, log  # every step of a normal first use is INFO
    wait_until(lambda: plugin_env_state()["state"] == "ready", 30, "status to say ready")

    third = _run("PostToolUse", payload, env)
    assert third.returncode == 0
    wait_until(lambda: _rows() == 4, 30, "a new row stored from the new virtualenv")
    venv_python = plugin_data / "venv" / "bin" / "python"
    out = subprocess.run(
        [str(venv_python), "-c", "import httpx, platformdirs; print('ok')"], capture_output=True, text=True
    )
    assert out.stdout.strip() == "ok"


def test_no_python3_on_path_still_exits_0(tmp_path):
    """A machine without python3: the launcher exits 0 and prints nothing."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "dirname", "cmp"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "CLAUDE_PLUGIN_DATA": str(tmp_path / "pd")}
    proc = subprocess.run(
        [str(bin_dir / "sh"), str(HOOK_RUN), "PostToolUse"], input=b"{}", env=env, capture_output=True, timeout=30
    )
    assert proc.returncode == 0 and proc.stdout == b""


def test_lakeloop_python_overrides_the_interpreter(tmp_path):
    """LAKELOOP_PYTHON runs the hook on that interpreter, with no virtualenv involved."""
    env = {**os.environ, "LAKELOOP_PYTHON": sys.executable, "CLAUDE_PLUGIN_DATA": str(tmp_path / "pd")}
    proc = _run("PostToolUse", first_payload("PostToolUse", "Bash"), env)
    assert proc.returncode == 0 and proc.stdout == b""
    wait_until(lambda: _rows() == 1, 30, "the captured row")
    assert not (tmp_path / "pd" / "venv").exists()


def test_broken_lakeloop_python_fails_open(tmp_path):
    """A LAKELOOP_PYTHON that does not exist still exits 0 (the agent is never broken)."""
    env = {**os.environ, "LAKELOOP_PYTHON": str(tmp_path / "no-such-python")}
    proc = _run("PreToolUse", first_payload("PreToolUse", "Bash"), env)
    assert proc.returncode == 0
