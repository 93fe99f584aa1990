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
    return len(EmbeddedStore(paths.store_file())._run("SELECT id FROM sessions"))


def test_fresh_install_builds_its_virtualenv_in_the_background(tmp_path):
    """With no virtualenv yet, a hook exits 0 at once, spools its event and logs why; the venv is
    built detached; once ready, hooks run from it and the spooled events are stored too."""
    system_python = shutil.which("python3")
    if system_python is None:
        if os.environ.get("CI"):
            pytest.fail("no python3 on PATH (CI is set, so this is an error)", pytrace=False)
        pytest.skip("no python3 on PATH")
    plugin_data = tmp_path / "plugin-data"
    env = {k: v for k, v in os.environ.items() if k not in ("LAKELOOP_PYTHON", "VIRTUAL_ENV", "PYTHONPATH")}
    env["CLAUDE_PLUGIN_DATA"] = str(plugin_data)
    env["PATH"] = os.pathsep.join([str(Path(system_python).parent), "/usr/bin", "/bin"])
    payload = first_payload("PostToolUse", "Bash")

    first = _run("PostToolUse", payload, env)
    assert first.returncode == 0 and first.stdout == b""
    log = paths.log_file()
    wait_until(lambda: log.exists() and "building the plugin's virtualenv" in log.read_text(), 10, "bootstrap log line")
    second = _run("PostToolUse", payload, env)
    assert second.returncode == 0
    assert _rows() == 0  # spooled, not stored, until the venv is ready
    assert len(list((paths.data_dir() / "outbox").glob("*.json"))) == 2
    marker = plugin_data / "venv" / ".lakeloop-ready"
    wait_until(marker.exists, 600, "the virtualenv to be ready")
    assert marker.read_bytes() == (REPO / "hooks" / "requirements.txt").read_bytes()
    assert "still being built" in log.read_text() or "virtualenv ready" in log.read_text()

    third = _run("PostToolUse", payload, env)
    assert third.returncode == 0
    wait_until(lambda: _rows() == 3, 30, "the spooled rows and the new one stored from the new virtualenv")
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
