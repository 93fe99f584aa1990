"""Projects the user keeps out of capture: ``.lakeloop-ignore`` and ``LAKELOOP_EXCLUDE``.

A session is not captured when its working directory (the payload's ``cwd``) or any directory
above it holds a file (or directory) named ``.lakeloop-ignore``, or matches one of the
``LAKELOOP_EXCLUDE`` globs (``config.capture_exclude``: ``fnmatch`` against the directory and
each directory above it). Symbolic links may sit on either side, so both are looked at twice:

* the ``cwd`` as given (made absolute, ``..`` and ``//`` tidied by ``os.path.normpath``), its
  real path (``os.path.realpath`` on the path as given, before ``normpath`` tidies a ``..`` away:
  ``<link>/..`` is the parent of the link's target), and the real path of the tidied form;
* each glob as written (``~`` already expanded with the session's ``HOME``), and with its longest
  wildcard-free directory prefix replaced by that prefix's real path (``~/clients/*`` with a
  symlinked ``HOME`` also matches the physical ``<real home>/clients/acme``, the directory Claude
  Code reports).

Decided in the drainer, where the payload is parsed, with the globs of the session that captured
the event (recorded in its outbox entry). The ``.lakeloop-ignore`` lookup and the real paths are
cached for the process's life (a drainer lives seconds to minutes), so creating or removing the
file, or changing a link, takes effect with the next drainer.
"""

from __future__ import annotations

import fnmatch
import os

IGNORE_FILE = ".lakeloop-ignore"
#: The characters that make a path component a pattern (``fnmatch``).
WILDCARDS = frozenset("*?[")

#: cwd -> the directory holding the ignore file ("" when none), for the process's life.
_ignore_cache: dict[str, str] = {}
#: cwd -> the paths it is checked as (see ``checked_paths``).
_real_cache: dict[str, tuple[str, ...]] = {}
#: glob -> the forms it is matched as (see ``glob_forms``).
_glob_cache: dict[str, tuple[str, ...]] = {}


def _ancestors(path: str) -> list[str]:
    """``path`` (made absolute and normalised) and every directory above it, nearest first."""
    path = os.path.normpath(os.path.abspath(path))
    out = [path]
    while True:
        parent = os.path.dirname(path)
        if parent == path:
            return out
        out.append(parent)
        path = parent


def _realpath(path: str) -> str:
    """``os.path.realpath(path)``, or ``path`` itself when it cannot be resolved."""
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):  # e.g. a symlink loop on some platforms, a NUL byte
        return path


def _unique(paths) -> tuple[str, ...]:
    return tuple(dict.fromkeys(paths))


def checked_paths(cwd: str) -> tuple[str, ...]:
    """The absolute paths ``cwd`` is checked as, without repeats: ``cwd`` normalised
    (``os.path.normpath``), the real path of ``cwd`` as given (``..`` resolved after the links
    before it), and the real path of the normalised form. Cached per ``cwd``."""
    cached = _real_cache.get(cwd)
    if cached is None:
        raw = os.path.expanduser(cwd)
        if not os.path.isabs(raw):
            raw = os.path.join(os.getcwd(), raw)
        given = os.path.normpath(raw)
        cached = _real_cache[cwd] = _unique((given, _realpath(raw), _realpath(given)))
    return cached


def glob_forms(pattern: str) -> tuple[str, ...]:
    """The forms an absolute ``LAKELOOP_EXCLUDE`` glob is matched as, without repeats: as
    written, normalised, and with its longest wildcard-free directory prefix (every component
    before the first one holding ``*``, ``?`` or ``[``; the whole pattern when none does)
    replaced by that prefix's real path. A relative glob is matched only as written and
    normalised (it has no directory to resolve). Cached per ``pattern``."""
    cached = _glob_cache.get(pattern)
    if cached is not None:
        return cached
    forms = [pattern, os.path.normpath(pattern)]
    if os.path.isabs(pattern):
        first = min((pattern.find(c) for c in WILDCARDS if c in pattern), default=-1)
        cut = len(pattern) if first < 0 else max(pattern.rfind(sep, 0, first) for sep in {"/", os.sep})
        prefix, rest = pattern[:cut], pattern[cut:]
        if cut > 0:
            resolved = _realpath(prefix).rstrip("/") + rest
            forms += [resolved, os.path.normpath(resolved)]
    cached = _glob_cache[pattern] = _unique(forms)
    return cached


def ignore_file_dir(cwd: str) -> str:
    """The nearest directory at or above one of ``cwd``'s ``checked_paths`` (the given one
    first) that holds ``.lakeloop-ignore``, else ''. Cached per ``cwd``."""
    cached = _ignore_cache.get(cwd)
    if cached is not None:
        return cached
    found = ""
    for path in checked_paths(cwd):
        for directory in _ancestors(path):
            if os.path.lexists(os.path.join(directory, IGNORE_FILE)):
                found = directory
                break
        if found:
            break
    _ignore_cache[cwd] = found
    return found


def excluded(cwd: str, globs: list[str]) -> str:
    """Why a session in ``cwd`` is not captured ('' when it is): the ignore file's location or
    the ``LAKELOOP_EXCLUDE`` glob (as written) that matched, any of ``cwd``'s ``checked_paths``
    against any of the glob's ``glob_forms``. An empty ``cwd`` is never excluded."""
    if not cwd:
        return ""
    where = ignore_file_dir(cwd)
    if where:
        return f"{IGNORE_FILE} in {where}"
    if globs:
        forms = [(pattern, glob_forms(pattern)) for pattern in globs]
        for path in checked_paths(cwd):
            for directory in _ancestors(path):
                for pattern, variants in forms:
                    if any(fnmatch.fnmatchcase(directory, form) for form in variants):
                        return f"LAKELOOP_EXCLUDE pattern {pattern!r}"
    return ""


_noted: set[str] = set()


def first_note(reason: str) -> bool:
    """True the first time ``reason`` is seen in this process (log it once at INFO, then DEBUG)."""
    if reason in _noted:
        return False
    _noted.add(reason)
    return True
