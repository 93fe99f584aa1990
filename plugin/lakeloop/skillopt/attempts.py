"""The dedup record: edit sets already proposed for a skill (append-only JSONL).

One file per skill ref in ``paths.attempts_dir()``; a line is ``{key, edits,
outcome, version, at}`` where ``key`` is the SHA-256 of the canonical edit set and
``outcome`` one of published, republished (after a lost publish race), held (kept as a
proposal; ``version`` is its base), race_lost (lost a publish race, the edits no longer
apply to the winner), duplicate (the race winner already had the change),
publish_failed, hold_failed.
The worker never publishes an edit set whose key is recorded, and shows the
previous attempts to the proposer. Written under the per-skill lease.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from .. import paths
from ..fsutil import safe_key
from .parse import Edit


def edit_set_key(edits: list[Edit]) -> str:
    """SHA-256 hex of the edits' canonical JSON (order matters)."""
    canonical = json.dumps([e.as_dict() for e in edits], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _file(ref: str) -> Path:
    return paths.attempts_dir() / f"{safe_key(ref)}.jsonl"


def previous(ref: str, limit: int = 20) -> list[dict[str, Any]]:
    """The last ``limit`` records for ``ref`` (malformed lines skipped)."""
    try:
        lines = _file(ref).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    records = []
    for line in lines[-limit:]:
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            records.append(item)
    return records


def seen(ref: str, key: str) -> bool:
    """True when ``key`` was recorded for ``ref``."""
    return any(r.get("key") == key for r in previous(ref, limit=10_000))


def record(ref: str, edits: list[Edit], outcome: str, version: int | None) -> str:
    """Append one record; returns its key."""
    key = edit_set_key(edits)
    path = _file(ref)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    line = json.dumps(
        {
            "ref": ref,
            "key": key,
            "edits": [e.as_dict() for e in edits],
            "outcome": outcome,
            "version": version,
            "at": time.time(),
        },
        ensure_ascii=False,
    )
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
    return key
