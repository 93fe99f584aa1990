"""A user's install: the wheel built from the checkout, installed as a tool into a fresh virtualenv;
``lakeloop install claude`` adds the plugin to the real, pinned Claude Code; the plugin's hooks run
that same installed lakeloop; ``lakeloop uninstall claude [--purge]`` takes it out again.

The wheel is built from a copy of the checkout's sources next to a ``.venv``, a ``.cache`` and
pytest caches of 40 MB (sparse files: no disk used), so the plugin copy's size shows that none of
them can reach it. Dependencies come from pip's configured index (PyPI, or this machine's
mirror), without pip's cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.support.cli import run_lakeloop
from tests.support.payloads import first_payload
from tests.support.repo import REPO
from tests.support.waiting import wait_until

#: What a checkout holds that the wheel is built from (the rest: tests, docs, benchmarks, caches).
SOURCES = ("pyproject.toml", "README.md", "plugin", "hooks", ".claude-plugin", "commands")
#: Build outputs and caches a developer's checkout has: each gets a sparse 10 MB file.
CHECKOUT_JUNK = (".venv/lib/big.bin", ".cache/claude-code/big.bin", ".pytest_cache/v/big.bin", ".hypothesis/big.bin")
MAX_COPY_BYTES = 5 * 1024 * 1024


def _tree_bytes(root: Path) -> int:
    return sum(os.lstat(os.path.join(d, f)).st_size for d, _dirs, files in os.walk(root) for f in files)


def _checkout_with_junk(dest: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    dest.mkdir()
    for name in SOURCES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)
    for junk in CHECKOUT_JUNK:
        (dest / junk).parent.mkdir(parents=True, exist_ok=True)
        with open(dest / junk, "wb") as fh:
            fh.truncate(10 * 1024 * 1024)
    return dest


def _run(argv: list, env: dict, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in argv], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{argv}: {proc.stdout[-1500:]}{proc.stderr[-1500:]}"
    return proc


def _install_tool(tmp_path: Path, env: dict) -> Path:
    """Build the wheel from a checkout copy and install it into a fresh virtualenv; returns its bin/."""
    checkout = _checkout_with_junk(tmp_path / "checkout")
    wheels = tmp_path / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-q", "-w", wheels, checkout],
        env,
        tmp_path,
    )
    shutil.rmtree(checkout)
    [wheel] = wheels.glob("lakeloop-*.whl")
    tool = tmp_path / "tool"
    _run([sys.executable, "-m", "venv", "--without-pip", tool], env, tmp_path)
    pip = [sys.executable, "-m", "pip", "--python", tool / "bin" / "python", "install", "--no-cache-dir", "-q"]
    _run([*pip, wheel], env, tmp_path)
    return tool / "bin"


def _claude_list(claude_bin: str, env: dict, cwd: Path, *what: str) -> list:
    return json.loads(_run([claude_bin, "plugin", *what, "list", "--json"], env, cwd).stdout)


def test_wheel_installs_as_a_tool_and_adds_a_small_plugin_running_that_tool(claude_bin, tmp_path, isolated_env):
    """Wheel -> fresh virtualenv -> `lakeloop install claude` (twice): the plugin is listed, its copy
    is small and pinned to the tool's interpreter, a recorded prompt through the copy's hook is
    stored by that lakeloop, and `uninstall claude --purge --yes` leaves no plugin and no lakeloop
    data, but the shared Deeplake credentials file and other skills untouched."""
    started = time.monotonic()
    env = {k: v for k, v in os.environ.items() if k not in ("LAKELOOP_PYTHON", "PYTHONPATH", "VIRTUAL_ENV")}
    env.update(LAKELOOP_CLAUDE_BIN=claude_bin, LAKELOOP_STORE="embedded", LAKELOOP_DRAIN_LINGER_S="0")
    creds = Path(env["LAKELOOP_DEEPLAKE_CREDENTIALS"])
    creds.parent.mkdir(parents=True)
    creds.write_text('{"token": "shared-with-other-tools"}')
    bin_dir = _install_tool(tmp_path, env)
    lakeloop = bin_dir / "lakeloop"
    where = _run([bin_dir / "python", "-c", "import lakeloop; print(lakeloop.__file__)"], env, tmp_path).stdout
    assert Path(where.strip()).is_relative_to(bin_dir.parent)  # the tool's own package, not the checkout

    first = _run([lakeloop, "install", "claude"], env, tmp_path)
    assert "plugin lakeloop@lakeloop installed" in first.stdout
    again = _run([lakeloop, "install", "claude"], env, tmp_path)
    assert "already installed" in again.stdout
    copy = isolated_env["LAKELOOP_DATA_DIR"] / "claude-plugin"
    [plugin] = [p for p in _claude_list(claude_bin, env, tmp_path) if p["id"] == "lakeloop@lakeloop"]
    assert Path(plugin["readFromFolder"]).resolve() == copy.resolve() and plugin["enabled"] is True
    size = _tree_bytes(copy)
    assert size < MAX_COPY_BYTES, size
    assert f"PINNED={bin_dir / 'python'}\n" in (copy / "hooks" / "run").read_text()
    report = json.loads(_run([claude_bin, "plugin", "validate", "--strict", "--json", copy], env, tmp_path).stdout)
    assert report["success"] is True and report["manifest"]["errors"] == []

    payload = first_payload("UserPromptSubmit")
    hook_env = {**env, "CLAUDE_PLUGIN_ROOT": str(copy), "CLAUDE_PLUGIN_DATA": str(tmp_path / "plugin-data")}
    proc = subprocess.run(
        [copy / "hooks" / "run", "UserPromptSubmit"],
        input=json.dumps(payload).encode(),
        env=hook_env,
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0 and proc.stdout == b""

    def stored() -> bool:
        out = _run([lakeloop, "sessions", "--json"], env, tmp_path).stdout
        return payload["session_id"] in out

    wait_until(stored, 30, "the prompt captured through the copy's hook, read back by the tool")

    skills = isolated_env["LAKELOOP_SKILLS_DIR"]
    for name in ("db-migrate--alice", "my-own-skill"):
        (skills / name).mkdir(parents=True)
        (skills / name / "SKILL.md").write_text(f"# {name}\n")
    manifest = {"skills": {"db-migrate--alice": {"path": str(skills / "db-migrate--alice" / "SKILL.md")}}}
    (isolated_env["LAKELOOP_DATA_DIR"] / "pulled-skills.json").write_text(json.dumps(manifest))

    gone = _run([lakeloop, "uninstall", "claude", "--purge", "--yes"], env, tmp_path)
    assert "plugin lakeloop@lakeloop uninstalled" in gone.stdout
    assert [p for p in _claude_list(claude_bin, env, tmp_path) if p["id"].startswith("lakeloop")] == []
    assert [m for m in _claude_list(claude_bin, env, tmp_path, "marketplace") if m["name"] == "lakeloop"] == []
    assert not isolated_env["LAKELOOP_DATA_DIR"].exists()
    assert list(isolated_env["LAKELOOP_LOG_DIR"].glob("lakeloop.log*")) == []
    assert not (skills / "db-migrate--alice").exists() and (skills / "my-own-skill" / "SKILL.md").exists()
    assert creds.read_text() == '{"token": "shared-with-other-tools"}' and str(creds) in gone.stdout
    shutil.rmtree(bin_dir.parent)  # ~40 MB: not left in the temporary directory
    assert time.monotonic() - started < 120


def test_uninstall_says_what_data_remains_and_purge_asks_first(tmp_path):
    """Without --purge the data stays and the output lists it with the command that removes it;
    --purge with no terminal and no --yes refuses (exit 2) before removing anything."""
    env = {"LAKELOOP_CLAUDE_BIN": str(tmp_path / "no-claude-here"), "LAKELOOP_STORE": "embedded"}
    assert run_lakeloop("flush", **env).returncode == 0  # creates the data directory
    data = Path(os.environ["LAKELOOP_DATA_DIR"])
    (data / "store.sqlite3").write_bytes(b"x" * 2048)

    refused = run_lakeloop("uninstall", "claude", "--purge", **env)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert (data / "store.sqlite3").exists()

    kept = run_lakeloop("uninstall", "claude", **env)
    assert kept.returncode == 0, kept.stderr
    assert "claude plugin uninstall lakeloop@lakeloop" in kept.stdout  # no Claude Code found: says what to run
    assert str(data) in kept.stdout and "lakeloop uninstall claude --purge" in kept.stdout
    assert (data / "store.sqlite3").exists()
