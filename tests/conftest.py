"""Shared test setup.

* ``plugin/`` goes on ``sys.path`` so the sources import as ``lakeloop``.
* Every test runs isolated: data, log and skills directories under ``tmp_path``,
  ``LAKELOOP_USER=tester`` and none of the switches that change behaviour.
* ``fresh_log`` resets the once-per-process log configuration so a test can read
  what ``lakeloop.log.setup`` writes to the (isolated) log file.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PLUGIN_SRC = REPO / "plugin"
if str(PLUGIN_SRC) not in sys.path:
    sys.path.insert(0, str(PLUGIN_SRC))

_CLEARED = (
    "LAKELOOP_WORKER",
    "LAKELOOP_CAPTURE",
    "LAKELOOP_JUDGE_WINDOW",
    "LAKELOOP_INVOCATION_BACKOFF_S",
    "LAKELOOP_CLAUDE_BIN",
)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Point every lakeloop location at ``tmp_path`` and clear behaviour switches."""
    dirs = {
        "LAKELOOP_DATA_DIR": tmp_path / "data",
        "LAKELOOP_LOG_DIR": tmp_path / "log",
        "LAKELOOP_SKILLS_DIR": tmp_path / "skills",
    }
    for name, path in dirs.items():
        monkeypatch.setenv(name, str(path))
    monkeypatch.setenv("LAKELOOP_USER", "tester")
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    return dirs


def _reset_lakeloop_logger() -> None:
    import lakeloop.log

    lakeloop.log._configured = False
    logger = logging.getLogger("lakeloop")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        try:
            handler.close()
        except Exception:
            pass


@pytest.fixture
def fresh_log():
    """Reset ``lakeloop.log``'s module-global configuration before and after the test,
    so ``setup`` opens the log file of *this* test's log dir. Returns a reader of it."""
    from lakeloop import paths

    _reset_lakeloop_logger()

    def read() -> str:
        for handler in logging.getLogger("lakeloop").handlers:
            handler.flush()
        try:
            return paths.log_file().read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""

    yield read
    _reset_lakeloop_logger()


PAYLOADS_FILE = PLUGIN_SRC / "lakeloop" / "data" / "claude-code-2.1.330-hook-payloads.jsonl"


def recorded_payloads() -> list[dict]:
    """The real Claude Code 2.1.330 hook payloads recorded for this plugin, in order."""
    import json

    return [json.loads(line) for line in PAYLOADS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


def first_payload(event: str, tool_name: str | None = None) -> dict:
    """A copy of the first recorded payload of ``event`` (and ``tool_name`` when given)."""
    import copy

    for payload in recorded_payloads():
        if payload["hook_event_name"] == event and (tool_name is None or payload.get("tool_name") == tool_name):
            return copy.deepcopy(payload)
    raise LookupError(f"no recorded {event} payload for tool {tool_name}")


def run_together(code: str, arg_lists: list[list[str]], timeout: float = 60) -> list[str]:
    """Run ``python -c code <args>`` once per arg list, all at the same moment, and return
    their stdouts (asserting exit 0). The child's ``sys.path`` has ``plugin/`` first and its
    environment is this test's (isolated) one; ``code`` should wait for one stdin line
    (``sys.stdin.readline()``) before the racy part: every child is started first, then
    all are released together."""
    import os
    import subprocess

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PLUGIN_SRC), env.get("PYTHONPATH", "")) if p)
    procs = [subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for args in arg_lists]
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, err
        outs.append(out)
    return outs


def wait_until(condition, timeout: float, what: str, step: float = 0.05):
    """Poll ``condition`` until it returns something truthy (returned), or fail after ``timeout``
    seconds naming ``what``. Tests await conditions with this instead of sleeping."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
