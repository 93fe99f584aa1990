"""Notes written through the memory path, and read-your-writes.

``save(store, vpath, text, identity, project)`` appends one memory-table row
(``NoteRow``: author, project, time) and remembers it in a small overlay file in the
data dir (``memory-notes.json``: ``{vpath: {"text", "date", "at"}}``, 0600). A read in
the next ``OVERLAY_TTL_S`` seconds sees the note even when the store does not show it
yet (Deeplake's insert-to-read visibility lag): ``overlay(prefixes)`` returns the
remembered notes under those prefixes, merged over the store's answer by the tree.
The overlay holds only what this machine wrote and expires, so it can never hide a
newer note for long. ``lakeloop forget`` calls ``purge`` after deleting notes from the store, so
neither the overlay nor an answer file of an earlier memory call shows a forgotten note again.
"""

from __future__ import annotations

import json
import os
import time

from .. import paths
from ..errors import MemoryRefused

#: Seconds a note written here shadows the store's answer (longer than the visibility lag).
OVERLAY_TTL_S = 120.0
#: Largest note (UTF-8 bytes) the memory path accepts.
MAX_NOTE_BYTES = 256 * 1024
#: Paths of the tree that cannot be written through the memory path: generated from the store, or
#: written only by lakeloop itself (session summaries: the ``summarize`` job; skill outcomes;
#: skillify's rejected procedures).
READ_ONLY = ("/index.md", "/sessions", "/skills", "/summaries", "/outcomes", "/skillify")


class NoteRefused(MemoryRefused):
    """A note the memory path does not store (a read-only path, over ``MAX_NOTE_BYTES``); ``str()``
    says why (no captured or secret text)."""


def _file():
    return paths.data_dir() / "memory-notes.json"


def writable(vpath: str) -> bool:
    """True when ``vpath`` may hold a note: inside the root, not the root, not generated."""
    if vpath in ("", "/") or vpath.endswith("/"):
        return False
    return not any(vpath == p or vpath.startswith(p + "/") for p in READ_ONLY)


def save(store, vpath: str, text: str, author: str, project: str, now: float | None = None) -> str:
    """Store ``text`` as the note at ``vpath``; returns the row id. Raises NoteRefused for a
    read-only path or an over-large note, StoreError when the store refuses the row. The
    overlay entry of ``vpath`` is dropped first, so a write that is cut off half way never
    leaves an older text shadowing what the store holds."""
    import uuid
    from datetime import datetime, timezone

    from ..store.memory_types import NoteRow

    if not writable(vpath):
        raise NoteRefused(f"{vpath[:200]} is read-only")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_NOTE_BYTES:
        raise NoteRefused(f"note over {MAX_NOTE_BYTES} bytes")
    now = time.time() if now is None else now
    date = datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    row = NoteRow(id=uuid.uuid4().hex, path=vpath, text=text, author=author, project=project, date=date)
    forget(vpath)
    store.insert_note(row)
    _remember(vpath, text, date, now)
    return row.id


def _remember(vpath: str, text: str, date: str, now: float) -> None:
    from ..fsutil import atomic_write_json, read_json  # only on a write: reads stay light

    try:
        data = read_json(_file())
    except (OSError, ValueError):
        data = None
    data = data if isinstance(data, dict) else {}
    data = {k: v for k, v in data.items() if isinstance(v, dict) and now - float(v.get("at", 0)) < OVERLAY_TTL_S}
    data[vpath] = {"text": text, "date": date, "at": now}
    try:
        paths.private_dir(_file().parent)
        atomic_write_json(_file(), data)
    except OSError:
        pass  # read-your-writes is best effort; the note itself is stored


def forget(vpath: str) -> None:
    """Drop the overlay entry of ``vpath`` (best effort)."""
    from ..fsutil import atomic_write_json, read_json

    try:
        data = read_json(_file())
        if isinstance(data, dict) and vpath in data:
            del data[vpath]
            atomic_write_json(_file(), data)
    except OSError:
        pass


def overlay(prefixes, now: float | None = None) -> dict[str, str]:
    """``{vpath: text}`` of notes written here in the last ``OVERLAY_TTL_S`` seconds that lie
    under ``prefixes`` (a prefix ending in ``/`` covers its subtree; else that exact path)."""
    path = _file()
    try:
        if not os.path.exists(path):
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    now = time.time() if now is None else now
    out = {}
    for vpath, entry in data.items() if isinstance(data, dict) else ():
        if not isinstance(entry, dict) or now - float(entry.get("at", 0)) >= OVERLAY_TTL_S:
            continue
        if any(vpath == p or (p.endswith("/") and vpath.startswith(p)) for p in prefixes):
            out[vpath] = str(entry.get("text", ""))
    return out


def purge(where, forgotten=()) -> int:
    """Drop this machine's cached copies of notes that ``lakeloop forget`` removed (best effort;
    never raises for a file system error). Returns the number of overlay entries dropped.

    ``where``: the ``store.base.SessionFilter`` forget ran with; ``forgotten``: the virtual paths
    whose rows (some version or all) it deleted. An overlay entry is dropped when its path is one of
    ``forgotten`` (the overlay holds the newest text written here, which may be the very version that
    was forgotten), or when it matches ``where`` itself as a memory row would (every given field:
    ``match`` in its path or text ignoring case (``str.casefold``), ``before`` after its date; a
    ``session_id`` matches no note). Every answer file (``<data dir>/memory-answers/*``: earlier Read,
    Grep and Bash answers, which may quote the note) is deleted too."""
    from ..fsutil import atomic_write_json, read_json

    gone = set(forgotten)
    fold = where.match.casefold() if where.match else None

    def matches(vpath: str, entry: dict) -> bool:
        if vpath in gone:
            return True
        if where.session_id or not (fold or where.before):
            return False
        if fold and fold not in vpath.casefold() and fold not in str(entry.get("text", "")).casefold():
            return False
        return not where.before or str(entry.get("date") or "\uffff") < where.before

    dropped = 0
    try:
        data = read_json(_file())
        if isinstance(data, dict):
            kept = {k: v for k, v in data.items() if not (isinstance(v, dict) and matches(k, v))}
            dropped = len(data) - len(kept)
            if dropped:
                atomic_write_json(_file(), kept)
    except (OSError, ValueError):
        pass
    answers = paths.data_dir() / "memory-answers"
    try:
        with os.scandir(answers) as it:
            for e in it:
                try:
                    os.unlink(e.path)
                except OSError:
                    pass
    except OSError:
        pass
    return dropped
