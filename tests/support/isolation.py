"""What keeps every test away from the user's real lakeloop and Deeplake setup (used by
``tests/conftest.py``'s autouse ``isolated_env`` fixture, and by ``tests/project/isolation_probe.py``,
which proves it).

* ``CLEARED_PREFIXES``/``CLEARED_NAMES``: the user's environment variables no test may see
  (lakeloop's settings and credentials, other Deeplake/Hivemind clients', the XDG base directories,
  a surrounding Claude Code's, Codex's ``CODEX_*`` and Gemini's ``GEMINI_*``); ``HARNESS``:
  test-harness knobs (read by tests/support, never by the plugin) that survive the clearing.
* ``REAL_DEEPLAKE_DIRS``: the real home's ``.deeplake`` directories (the ``HOME`` this process
  started with, and the passwd entry's), as found on import, before any test changed ``HOME``.
* ``REAL_USER_CACHE``: the user cache directory (``platformdirs.user_cache_dir``) of the user running
  the tests, as found on import, before any test changed ``HOME`` or cleared ``XDG_CACHE_HOME``: where
  machine-wide test downloads (the pinned Claude Code) are kept once, outside every test's ``tmp_path``.
* ``watch_real_deeplake_dirs()``: installs (once per process) an audit hook (``sys.addaudithook``)
  that refuses any open or listing under ``REAL_DEEPLAKE_DIRS`` with ``RealHomeAccess`` and
  appends the path to ``real_home_reads`` (the fixture fails the test when that list is not empty).
"""

from __future__ import annotations

import os
import sys

import platformdirs

CLEARED_PREFIXES = ("LAKELOOP_", "DEEPLAKE_", "HIVEMIND_", "XDG_", "CLAUDE_", "ANTHROPIC_", "CODEX_", "GEMINI_")
CLEARED_NAMES = ("CLAUDECODE",)
HARNESS = ("LAKELOOP_TEST_CLAUDE_BIN", "LAKELOOP_TEST_CODEX_BIN", "LAKELOOP_TEST_GEMINI_BIN", "LAKELOOP_UI_SCREENSHOTS")


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
#: The user cache dir of the user running the tests, resolved once, before any test's isolation.
REAL_USER_CACHE: str = platformdirs.user_cache_dir()
_WATCHED = tuple({p for d in REAL_DEEPLAKE_DIRS for p in (os.path.normpath(d), os.path.realpath(d))})
_AUDITED = frozenset({"open", "os.listdir", "os.scandir"})
#: Paths under ``REAL_DEEPLAKE_DIRS`` a test tried to open or list (the audit hook appends).
real_home_reads: list[str] = []
_installed = False


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


def watch_real_deeplake_dirs() -> None:
    """Install the audit hook that refuses the real home's ``.deeplake/`` (once per process: an
    audit hook cannot be removed)."""
    global _installed
    if not _installed:
        sys.addaudithook(_watch_real_deeplake_dir)
        _installed = True
