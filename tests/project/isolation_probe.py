"""The inside of ``tests/project/test_isolation.py``: run in a child pytest whose HOME is a fake
"real home" holding ``.deeplake/credentials.json``, with Deeplake, Hivemind, XDG and Claude
Code settings in its environment. Its name does not match ``test_*.py``, so the suite never
collects it on its own; the child names it on its command line.

``ISOLATION_PROBE_HOME`` (not a cleared prefix) names that fake home.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support import isolation
from tests.support.repo import PLUGIN_SRC

PROBE_HOME = Path(os.environ["ISOLATION_PROBE_HOME"])
CREDENTIALS = PROBE_HOME / ".deeplake" / "credentials.json"


def test_probe_sees_no_credentials_and_the_embedded_store(tmp_path):
    """Nothing of the user's home or environment reaches the test: no credentials, the embedded
    store, in this process and in a subprocess, and no open of the real credentials file."""
    from lakeloop.deeplake import credentials
    from lakeloop.store import current_identity, open_store

    assert str(PROBE_HOME / ".deeplake") in isolation.REAL_DEEPLAKE_DIRS  # the audit hook watches it
    assert credentials.load() is None
    with open_store() as store:
        assert store.name == "embedded"
        assert Path(store.path).is_relative_to(tmp_path)
    assert current_identity().user == "tester"
    env = {**os.environ, "PYTHONPATH": str(PLUGIN_SRC)}
    proc = subprocess.run(
        [sys.executable, "-m", "lakeloop.cli.main", "status", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["store"]["kind"] == "embedded"
    assert isolation.real_home_reads == []
    assert not credentials.credentials_file().exists()
    assert Path.home() == tmp_path / "home" and Path.home() != PROBE_HOME
    leaked = sorted(
        k
        for k in os.environ
        if k.startswith(isolation.CLEARED_PREFIXES)
        and k
        not in (
            "LAKELOOP_DATA_DIR",
            "LAKELOOP_LOG_DIR",
            "LAKELOOP_SKILLS_DIR",
            "LAKELOOP_USER",
            "LAKELOOP_DEEPLAKE_CREDENTIALS",
        )
    )
    assert leaked == []


def test_probe_canary_opens_the_real_credentials_file():
    """Opening the real home's credentials file is refused, and the isolation fixture then fails
    this test (the outer test expects exactly that failure)."""
    try:
        CREDENTIALS.read_text()
    except PermissionError:
        pass
