"""Notices for the user (never the model): written once, shown at the next SessionStart.

``post(kind, text)`` leaves ``<data dir>/notices/<kind>.json`` unless one of that
kind is already waiting or was shown in the last ``REPEAT_AFTER_S``.
``take()`` returns the waiting texts and marks them shown; SessionStart prints
them as the hook output's ``systemMessage``, which Claude Code shows to the
user and does not add to the model's context.

``memory_root_on_disk(root, kind)`` posts the notice for a memory root that exists on disk
(``lakeloop.memory.answer`` refuses to answer from it until the user removes it).

``post_event(text)`` leaves a one-off notice (``<data dir>/notices/event-<time>-<id>.json``)
that is never merged or held back: e.g. the skill changes a session start's pull found after
the hook stopped waiting for it. ``take()`` shows it once and deletes it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from . import paths

#: A notice of the same kind is not posted again within this many seconds of being shown.
REPEAT_AFTER_S = 24 * 3600
#: File-name prefix of one-off notices (``post_event``).
EVENT_PREFIX = "event-"


def _dir() -> Path:
    return paths.data_dir() / "notices"


def post(kind: str, text: str) -> bool:
    """Leave one notice of ``kind`` (a fixed identifier). Returns True when written."""
    directory = _dir()
    waiting = directory / f"{kind}.json"
    shown = directory / f"{kind}.shown"
    try:
        if waiting.exists():
            return False
        if shown.exists() and time.time() - shown.stat().st_mtime < REPEAT_AFTER_S:
            return False
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(waiting, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    except OSError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"kind": kind, "text": text, "at": time.time()}, fh)
    return True


#: Kind of the notice ``memory_root_on_disk`` posts.
MEMORY_ROOT_ON_DISK = "memory-root-on-disk"


def memory_root_on_disk(root: str, kind: str) -> bool:
    """Post (at most once a day, ``post``) the notice telling the user that the memory path
    ``root`` exists on disk as a ``kind`` (``"directory"``, ``"file"``, ``"symlink"``) and must be
    removed. Returns True when written."""
    return post(
        MEMORY_ROOT_ON_DISK,
        f"lakeloop: {root} exists on disk (a {kind}). lakeloop serves team memory there as virtual "
        f"files and nothing should exist at that path, so it does not answer from it until you remove "
        f"it. Look at what it holds, then move it away (for example: mv {root} {root}.moved).",
    )


def post_event(text: str) -> bool:
    """Leave a one-off notice holding ``text`` (shown once, oldest first, then deleted).
    Returns True when written; False when the notices directory cannot be written."""
    import uuid

    from .fsutil import atomic_write

    name = f"{EVENT_PREFIX}{time.time_ns():020d}-{uuid.uuid4().hex}.json"
    try:  # written whole, then renamed in: take() never sees a part of it
        atomic_write(_dir() / name, json.dumps({"kind": "event", "text": text, "at": time.time()}), mode=0o600)
    except OSError:
        return False
    return True


def take() -> list[str]:
    """Texts of the waiting notices, each marked shown (so it is shown once)."""
    directory = _dir()
    if not directory.is_dir():
        return []
    texts = []
    for waiting in sorted(directory.glob("*.json")):
        shown = waiting.with_suffix(".shown")
        try:
            os.replace(waiting, shown)  # claim it: a concurrent SessionStart cannot show it twice
            data = json.loads(shown.read_text(encoding="utf-8"))
            os.utime(shown)
        except (OSError, ValueError):
            continue
        if waiting.name.startswith(EVENT_PREFIX):
            try:
                shown.unlink()
            except OSError:
                pass
        if isinstance(data, dict) and isinstance(data.get("text"), str):
            texts.append(data["text"])
    return texts
