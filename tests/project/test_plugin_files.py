"""The plugin's files: manifest, hooks wiring, marketplace, packaging, and Claude Code's own validator."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import tomllib

import lakeloop
from tests.support.repo import REPO

ROOT = REPO
EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "SubagentStop", "SessionEnd")
CAPTURE_EVENTS = ("UserPromptSubmit", "PostToolUse", "Stop", "SubagentStop")


def test_manifest_copies_cannot_drift():
    """plugin.json and .claude-plugin/plugin.json (where Claude Code reads it) are byte-identical."""
    assert (ROOT / "plugin.json").read_bytes() == (ROOT / ".claude-plugin" / "plugin.json").read_bytes()


def test_manifest_fields_and_versions_agree():
    """The manifest has name, version, description, author, license, keywords; versions agree everywhere."""
    manifest = json.loads((ROOT / "plugin.json").read_text())
    for key in ("name", "version", "description", "author", "license", "keywords"):
        assert manifest.get(key), key
    assert manifest["name"] == "lakeloop"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert manifest["version"] == project["version"] == lakeloop.__version__


def test_hooks_json_wires_every_event_with_timeouts():
    """All seven events run hooks/run with an explicit timeout; capture hooks are async, arming is not."""
    hooks = json.loads((ROOT / "hooks" / "hooks.json").read_text())["hooks"]
    assert set(hooks) == set(EVENTS)
    for event in EVENTS:
        [group] = hooks[event]
        [hook] = group["hooks"]
        assert hook["type"] == "command"
        assert hook["command"] == f'"${{CLAUDE_PLUGIN_ROOT}}/hooks/run" {event}'
        assert isinstance(hook["timeout"], (int, float)) and 0 < hook["timeout"] <= 30
        assert hook.get("async", False) is (event in CAPTURE_EVENTS), event


def test_launcher_is_executable_posix_sh():
    """hooks/run is an executable POSIX shell script (only python3 needed on the machine)."""
    run = ROOT / "hooks" / "run"
    assert run.stat().st_mode & 0o111
    assert run.read_text().startswith("#!/bin/sh\n")


def test_venv_requirements_match_pyproject():
    """hooks/requirements.txt (what the plugin's virtualenv installs) lists pyproject's dependencies."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [
        line.strip()
        for line in (ROOT / "hooks" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert sorted(reqs) == sorted(project["dependencies"])
    names = {re.split(r"[<>=]", r)[0] for r in reqs}
    assert names == {"httpx", "platformdirs", "detect-secrets", "starlette", "uvicorn", "jinja2"}
    assert project["requires-python"] == ">=3.10"
    assert project["scripts"]["lakeloop"] == "lakeloop.cli.main:main"
    assert set(project["optional-dependencies"]["test"]) >= {
        "pytest>=8",
        "respx>=0.21",
        "hypothesis>=6",
        "psycopg[binary]>=3.1",
    }


def test_marketplace_lists_the_plugin_at_the_root():
    """marketplace.json makes this repository installable as lakeloop@lakeloop."""
    market = json.loads((ROOT / ".claude-plugin" / "marketplace.json").read_text())
    [entry] = market["plugins"]
    assert entry["name"] == "lakeloop" and entry["source"] == "./"
    assert market["name"] and market["owner"]["name"]


@pytest.mark.parametrize("target", [".", ".claude-plugin/plugin.json"])
def test_claude_plugin_validate_strict_reports_nothing(claude_bin, target):
    """`claude plugin validate --strict` passes with no error, warning, note or directory finding."""
    proc = subprocess.run(
        [claude_bin, "plugin", "validate", "--strict", "--json", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["success"] is True
    assert report["manifest"]["errors"] == [] and report["manifest"]["warnings"] == []
    assert report["manifest"]["notes"] == []
    assert report.get("advice", []) == []
    assert report.get("directory", {}).get("findings", []) == []


def test_settings_page_documents_every_environment_variable():
    """Every LAKELOOP_* variable the code reads is named in the settings reference, docs/settings.md."""
    used = set()
    for path in list((ROOT / "plugin").rglob("*.py")) + list((ROOT / "hooks").iterdir()):
        if path.is_file():
            used |= set(re.findall(r"LAKELOOP_[A-Z_]+[A-Z]", path.read_text(errors="replace")))
    documented = set(re.findall(r"LAKELOOP_[A-Z_]+[A-Z]", (ROOT / "docs" / "settings.md").read_text()))
    assert used and used <= documented, sorted(used - documented)


def test_wheel_lists_every_package_and_maps_the_plugin_files():
    """pyproject's hand-written package list holds every package under plugin/ (a missing one would
    be absent from the wheel), and the plugin's files map from the checkout's own directories."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {
        ".".join(init.parent.relative_to(ROOT / "plugin").parts) for init in (ROOT / "plugin").rglob("__init__.py")
    }
    listed = set(setuptools["packages"])
    assert found <= listed, sorted(found - listed)
    mapped = {name: ROOT / where for name, where in setuptools["package-dir"].items() if name}
    assert listed - found == set(mapped)
    for name, directory in mapped.items():
        for pattern in setuptools["package-data"][name]:
            assert list(directory.glob(pattern)), (name, pattern)
