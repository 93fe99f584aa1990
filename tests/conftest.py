"""Shared test setup.

* ``plugin/`` goes on ``sys.path`` so the sources import as ``lakeloop``.
* Every test runs isolated (``isolated_env``): its own ``HOME``, credentials path and data,
  log and skills directories under ``tmp_path``, ``LAKELOOP_USER=tester``, and every
  ``LAKELOOP_*``, ``DEEPLAKE_*``, ``HIVEMIND_*``, ``XDG_*``, ``CLAUDE_*`` and ``ANTHROPIC_*``
  variable of the user's environment removed.
* An audit hook (``sys.addaudithook``) watches the real home's ``.deeplake/`` (the HOME this
  process started with, and the passwd entry's): any open or listing of it during a test is
  refused and fails the test (``tests/test_isolation.py`` proves it).
* ``fresh_log`` resets the once-per-process log configuration so a test can read
  what ``lakeloop.log.setup`` writes to the (isolated) log file.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

from tests.support.stores import wait_until  # noqa: F401 - re-exported for the test modules that import it from here

REPO = Path(__file__).resolve().parents[1]
PLUGIN_SRC = REPO / "plugin"
if str(PLUGIN_SRC) not in sys.path:
    sys.path.insert(0, str(PLUGIN_SRC))

#: Prefixes of the user's variables no test may see: lakeloop's settings and credentials,
#: other Deeplake/Hivemind clients', the XDG base directories, and a surrounding Claude Code's.
_CLEARED_PREFIXES = ("LAKELOOP_", "DEEPLAKE_", "HIVEMIND_", "XDG_", "CLAUDE_", "ANTHROPIC_")
_CLEARED_NAMES = ("CLAUDECODE",)
#: Test-harness knobs (read by tests/support, never by the plugin) that survive the clearing.
_HARNESS = ("LAKELOOP_TEST_CLAUDE_BIN",)


def _real_homes() -> tuple[str, ...]:
    """The home directories of the user running the tests: ``HOME`` as this process started,
    and the passwd entry's (what ``Path.home()`` falls back to)."""
    homes = {os.path.expanduser("~")}
    try:
        import pwd

        homes.add(pwd.getpwuid(os.getuid()).pw_dir)
    except (ImportError, KeyError):
        pass
    return tuple(sorted(h for h in homes if h))


#: The real home's Deeplake directory (``~/.deeplake``), as this process found it before any test.
REAL_DEEPLAKE_DIRS = tuple(os.path.join(home, ".deeplake") for home in _real_homes())
_WATCHED = tuple({p for d in REAL_DEEPLAKE_DIRS for p in (os.path.normpath(d), os.path.realpath(d))})
_AUDITED = frozenset({"open", "os.listdir", "os.scandir"})
#: Paths under ``REAL_DEEPLAKE_DIRS`` a test tried to open or list (the audit hook appends).
real_home_reads: list[str] = []


class RealHomeAccess(PermissionError):
    """Raised into code that tries to open the real home's ``.deeplake/`` during the tests."""


def _watch_real_deeplake_dir(event: str, args: tuple) -> None:
    if event not in _AUDITED or not args:
        return
    target = args[0]
    if target is None or isinstance(target, int):
        return
    try:
        text = os.fsdecode(target)
    except TypeError:
        return
    full = os.path.normpath(os.path.join(os.getcwd(), text)) if not os.path.isabs(text) else os.path.normpath(text)
    for watched in _WATCHED:
        if full == watched or full.startswith(watched + os.sep):
            real_home_reads.append(full)
            raise RealHomeAccess(f"a test opened the real home's Deeplake file {full}")


sys.addaudithook(_watch_real_deeplake_dir)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Give the test its own HOME, credentials path and lakeloop directories under ``tmp_path``,
    with the user's lakeloop, Deeplake, Hivemind, XDG and Claude Code variables removed.
    Fails the test if it opened anything under the real home's ``.deeplake/``."""
    for name in list(os.environ):
        if (name.startswith(_CLEARED_PREFIXES) or name in _CLEARED_NAMES) and name not in _HARNESS:
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    dirs = {
        "LAKELOOP_DATA_DIR": tmp_path / "data",
        "LAKELOOP_LOG_DIR": tmp_path / "log",
        "LAKELOOP_SKILLS_DIR": tmp_path / "skills",
    }
    for name, path in dirs.items():
        monkeypatch.setenv(name, str(path))
    monkeypatch.setenv("LAKELOOP_USER", "tester")
    # Nothing is there: a test that wants Deeplake credentials writes this file or sets its own.
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_CREDENTIALS", str(tmp_path / "no-deeplake" / "credentials.json"))
    del real_home_reads[:]
    yield dirs
    if real_home_reads:
        seen, real_home_reads[:] = list(real_home_reads), []
        pytest.fail(f"the test opened the real home's Deeplake credentials: {seen}", pytrace=False)


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
