"""The isolation every test runs in (tests/conftest.py's ``isolated_env``): a credentials file
in the user's real HOME, and the user's lakeloop, Deeplake and Hivemind variables, never reach a
test. Proved with a child pytest (tests/project/isolation_probe.py) whose "real home" is a fake one
holding valid Deeplake credentials."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.repo import PLUGIN_SRC, REPO

TOKEN = "dl-real-home-token-0123456789"


def _real_home(tmp_path):
    home = tmp_path / "real-home"
    creds = home / ".deeplake" / "credentials.json"
    creds.parent.mkdir(parents=True)
    creds.write_text(
        json.dumps({"token": TOKEN, "orgId": "org-real", "orgName": "real", "apiUrl": "http://127.0.0.1:9"})
    )
    return home, creds


def _user_env(home, creds) -> dict[str, str]:
    """An environment like a developer's with Deeplake set up: HOME holding the credentials file,
    and lakeloop, Deeplake, Hivemind, XDG and Claude Code settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAKELOOP_", "XDG_", "CLAUDE"))}
    env.update(
        {
            "HOME": str(home),
            "ISOLATION_PROBE_HOME": str(home),
            "PYTHONPATH": str(PLUGIN_SRC),
            "LAKELOOP_DEEPLAKE_TOKEN": TOKEN,
            "LAKELOOP_DEEPLAKE_ORG_ID": "org-real",
            "LAKELOOP_DEEPLAKE_API_URL": "http://127.0.0.1:9",
            "LAKELOOP_DEEPLAKE_CREDENTIALS": str(creds),
            "LAKELOOP_STORE": "deeplake",
            "LAKELOOP_DATA_DIR": str(home / "lakeloop-data"),
            "LAKELOOP_SKILLS_DIR": str(home / ".claude" / "skills"),
            "LAKELOOP_USER": "real-user",
            "DEEPLAKE_TOKEN": TOKEN,
            "DEEPLAKE_ORG_ID": "org-real",
            "HIVEMIND_TOKEN": TOKEN,
            "HIVEMIND_ORG_ID": "org-real",
            "XDG_DATA_HOME": str(home / "xdg-data"),
            "XDG_CONFIG_HOME": str(home / "xdg-config"),
            "CLAUDE_PLUGIN_DATA": str(home / "plugin-data"),
        }
    )
    return env


def _probe(tmp_path, env, test_name):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--basetemp",
            str(tmp_path / "inner"),
            f"tests/project/isolation_probe.py::{test_name}",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_real_home_credentials_are_never_read(tmp_path):
    """With valid credentials in the real HOME and Deeplake settings in the environment (which the
    plugin, run plainly, does use), a test sees no credentials and the embedded store, in-process
    and in its subprocesses, and never opens the real credentials file."""
    home, creds = _real_home(tmp_path)
    env = _user_env(home, creds)
    plain = subprocess.run(
        [
            sys.executable,
            "-c",
            "from lakeloop.deeplake.credentials import load; c = load(); print(c.source if c else None)",
        ],
        env={**env, "LAKELOOP_DEEPLAKE_TOKEN": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert plain.stdout.strip() == str(creds), plain.stderr  # outside the tests, this home is used
    proc = _probe(tmp_path, env, "test_probe_sees_no_credentials_and_the_embedded_store")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "1 passed" in proc.stdout


def test_opening_the_real_credentials_file_fails_the_test(tmp_path):
    """The guard behind the proof can fail: a test that opens the real home's credentials file is
    refused the read and fails."""
    home, creds = _real_home(tmp_path)
    proc = _probe(tmp_path, _user_env(home, creds), "test_probe_canary_opens_the_real_credentials_file")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "1 passed, 1 error" in proc.stdout
    assert f"the test opened the real home's Deeplake credentials: ['{creds}']" in proc.stdout
