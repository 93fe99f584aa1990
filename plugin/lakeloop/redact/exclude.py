"""Projects the user keeps out of capture (issue 7): ``.lakeloop-ignore`` and ``LAKELOOP_EXCLUDE``.

A session is not captured when its working directory (the payload's ``cwd``) or any directory
above it holds a file (or directory) named ``.lakeloop-ignore``, or matches one of the
``LAKELOOP_EXCLUDE`` globs (``config.capture_exclude``: ``fnmatch`` against the directory and
each directory above it). Decided in the drainer, where the payload is parsed; the
``.lakeloop-ignore`` lookup is cached per working directory for the process's life (a drainer
lives seconds to minutes), so creating or removing the file takes effect with the next drainer.
"""

from __future__ import annotations

import fnmatch
import os

IGNORE_FILE = ".lakeloop-ignore"

#: cwd -> the directory holding the ignore file ("" when none), for the process's life.
_ignore_cache: dict[str, str] = {}


def _ancestors(cwd: str) -> list[str]:
    """``cwd`` (made absolute and normalised) and every directory above it, nearest first."""
    path = os.path.normpath(os.path.abspath(os.path.expanduser(cwd)))
    out = [path]
    while True:
        parent = os.path.dirname(path)
        if parent == path:
            return out
        out.append(parent)
        path = parent


def ignore_file_dir(cwd: str) -> str:
    """The nearest directory at or above ``cwd`` holding ``.lakeloop-ignore``, else ''. Cached
    per ``cwd``."""
    cached = _ignore_cache.get(cwd)
    if cached is not None:
        return cached
    found = ""
    for directory in _ancestors(cwd):
        if os.path.lexists(os.path.join(directory, IGNORE_FILE)):
            found = directory
            break
    _ignore_cache[cwd] = found
    return found


def excluded(cwd: str, globs: list[str]) -> str:
    """Why a session in ``cwd`` is not captured ('' when it is): the ignore file's location or
    the ``LAKELOOP_EXCLUDE`` glob that matched. An empty ``cwd`` is never excluded."""
    if not cwd:
        return ""
    where = ignore_file_dir(cwd)
    if where:
        return f"{IGNORE_FILE} in {where}"
    if globs:
        for directory in _ancestors(cwd):
            for pattern in globs:
                if fnmatch.fnmatchcase(directory, os.path.normpath(pattern)) or fnmatch.fnmatchcase(directory, pattern):
                    return f"LAKELOOP_EXCLUDE pattern {pattern!r}"
    return ""


_noted: set[str] = set()


def first_note(reason: str) -> bool:
    """True the first time ``reason`` is seen in this process (log it once at INFO, then DEBUG)."""
    if reason in _noted:
        return False
    _noted.add(reason)
    return True
