"""An agent CLI's version (``lakeloop.agents.binary.version``) read from whatever its
``--version`` prints, within a bound.

Rules: bytes that are not UTF-8 are replaced, never raised (``lakeloop agents`` still lists the
agent); a ``--version`` that hangs is killed with every process it started (an npm launcher's
grandchildren), and the answer is None.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from lakeloop.agents import binary
from tests.support.cli import run_lakeloop
from tests.support.waiting import wait_until


def _script(path: Path, text: str) -> str:
    path.write_text("#!/bin/sh\n" + text)
    path.chmod(0o755)
    return str(path)


def test_a_version_printed_among_bytes_that_are_not_utf8_is_read(tmp_path):
    fake = _script(tmp_path / "gemini", "printf '\\377\\376 gemini 1.2.3 \\200\\n'\n")
    assert binary.version(fake) == "1.2.3"
    listed = json.loads(run_lakeloop("agents", "--json", LAKELOOP_GEMINI_BIN=fake).stdout)
    gemini = next(row for row in listed if row["agent"] == "gemini")
    assert (gemini["path"], gemini["version"]) == (fake, "1.2.3")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def test_a_hanging_version_is_killed_with_its_grandchildren(tmp_path, monkeypatch):
    pid_file = tmp_path / "grandchild.pid"
    fake = _script(tmp_path / "codex", f"sleep 300 >/dev/null 2>&1 &\necho $! > {pid_file}\nsleep 300\n")
    monkeypatch.setattr(binary, "VERSION_TIMEOUT_S", 0.5)
    started = time.monotonic()
    assert binary.version(fake) is None
    assert time.monotonic() - started < 5
    grandchild = int(wait_until(lambda: pid_file.read_text().strip() if pid_file.exists() else None, 5, "the pid"))
    try:
        wait_until(lambda: not _alive(grandchild), 5, "the grandchild killed")
    finally:
        if _alive(grandchild):
            os.kill(grandchild, signal.SIGKILL)
