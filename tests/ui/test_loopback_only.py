"""The dashboard is unreachable on any interface but loopback: checked inside a network namespace
this test creates (a veth pair with its own address), so no traffic leaves that namespace. Needs
root, ``unshare`` and ``ip``: skipped without them, a failure when ``CI`` is set."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.support.repo import PLUGIN_SRC, REPO

#: The veth address inside the test's own namespace (a private range; exists nowhere else).
ADDRESS = "10.200.0.1"

SETUP = (
    "set -e; ip link set lo up; ip link add v0 type veth peer name v1; "
    f"ip addr add {ADDRESS}/24 dev v0; ip link set v0 up; ip link set v1 up; "
    'exec "$0" -m tests.support.ui_netns_probe ' + ADDRESS
)


def _can_unshare() -> str | None:
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        return "needs root, unshare and ip"
    done = subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=10)
    return None if done.returncode == 0 else "cannot create a network namespace here"


def test_another_interface_is_refused_while_loopback_answers():
    reason = _can_unshare()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is an error)", pytrace=False)
        pytest.skip(reason)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(REPO), str(PLUGIN_SRC)))}
    done = subprocess.run(
        ["unshare", "--net", "bash", "-c", SETUP, sys.executable],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"loopback": 401, "other": "ECONNREFUSED"}
