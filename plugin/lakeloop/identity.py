"""Who rows are written for, the path components they are filed under, and row timestamps.

A bottom-layer module (it imports nothing from lakeloop): the stores, the capture pipeline, the
skill optimizer and the CLI all use it.

* ``Identity``: the author, org name and workspace of the rows written; ``session_path`` gives a
  session's row path, ``/sessions/<user>/<user>_<org name>_<workspace>_<session id>.jsonl``
  (docs/deeplake-store.md's convention).
* ``path_component``: untrusted values never become path components as they are: a session id or
  user name outside ``[A-Za-z0-9._-]{1,128}`` (or holding ``..``) is replaced by
  ``x<sha256 prefix>``.
* ``project_key``: the project a session's rows are filed under (the ``project`` column): the
  last component of its working directory.
* ``utc_now`` / ``utc_from_ns``: ISO-8601 UTC text of fixed width, so text order is time order.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from dataclasses import dataclass

_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def utc_now() -> str:
    """Now as ISO-8601 UTC with microseconds and ``Z`` (``2024-05-01T12:00:00.000000Z``), fixed
    width so text order is time order."""
    return utc_text(_dt.datetime.now(_dt.timezone.utc))


def utc_text(when: _dt.datetime) -> str:
    """``utc_now``'s format for ``when`` (an aware datetime, moved to UTC; a naive one is taken as
    this machine's local time). Raises OverflowError / ValueError when UTC is out of range."""
    return when.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_from_ns(ns: int) -> str:
    """``utc_now``'s format for ``ns``, a time in nanoseconds since the epoch (cut to
    microseconds). Raises OverflowError / ValueError for a time outside ``datetime``'s range."""
    stamp = _dt.datetime.fromtimestamp(ns // 1_000_000_000, _dt.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{(ns // 1000) % 1_000_000:06d}Z"


def path_component(value: str) -> str:
    """``value`` when it is a safe path component (``[A-Za-z0-9][A-Za-z0-9._-]{0,127}``, no
    ``..``), else ``x`` + the first 32 hex digits of its SHA-256 (of its UTF-8 bytes, lone
    surrogates kept). Never raises for a ``str``; an empty value gives the hash of ``""``."""
    if _SAFE.fullmatch(value or "") and ".." not in value:
        return value
    return "x" + hashlib.sha256((value or "").encode("utf-8", "surrogatepass")).hexdigest()[:32]


def project_key(cwd: str) -> str:
    """The project key of a session run in ``cwd``: the last path component (``/`` or ``\\``
    separated, trailing separators ignored), ``""`` for an empty ``cwd``. Captured rows carry it in
    their ``project`` column; summaries and SessionStart select by it. Two checkouts with the same
    directory name share a key. Never raises for a ``str``."""
    return cwd.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1] if cwd else ""


@dataclass(frozen=True)
class Identity:
    """Who and where rows are written for: ``user`` (the rows' author), ``org_name`` and
    ``workspace`` (``local`` / ``default`` on the embedded store). Values are kept as given;
    ``session_path`` makes them safe as path components."""

    user: str
    org_name: str = "local"
    workspace: str = "default"

    def session_path(self, session_id: str) -> str:
        """The row path of session ``session_id``:
        ``/sessions/<user>/<user>_<org name>_<workspace>_<session id>.jsonl``, each part through
        ``path_component`` (docs/deeplake-store.md convention)."""
        user = path_component(self.user)
        name = "_".join(
            (user, path_component(self.org_name), path_component(self.workspace), path_component(session_id))
        )
        return f"/sessions/{user}/{name}.jsonl"
