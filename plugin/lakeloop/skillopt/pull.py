"""Propagation: pull the latest team skills into the skills dir (SessionStart).

Each current team skill ``(name, author)`` is written to
``<skills root>/<name>--<author>/SKILL.md`` and recorded in the pull manifest
(``paths.manifest_file()``): ``{"skills": {ref: {name, author, version, path,
sha256, pulled_at}}}``. Files and the manifest are written atomically, under
one file lock so concurrent SessionStarts do not interleave. A name or author
that is not one safe path component, or a path that would leave the skills
root, is refused and logged. A skill whose version and file are unchanged is
not rewritten.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import paths
from ..fsutil import atomic_write, atomic_write_json
from ..store.base import SkillRow, Store
from .refs import is_valid_part, load_manifest, split_ref

LOCK_TIMEOUT_S = 2.0


@dataclass
class PullResult:
    """What a pull did: refs written, refs unchanged, refs refused (with reasons)."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def skill_file(root: Path, row: SkillRow) -> Path | None:
    """``root/<name>--<author>/SKILL.md`` when it stays inside ``root``, else None."""
    if not (is_valid_part(row.name) and is_valid_part(row.author)) or split_ref(row.ref) != (row.name, row.author):
        return None
    target = (root / row.ref / "SKILL.md").resolve()
    try:
        target.relative_to(root.resolve())
    except ValueError:
        return None
    return target


def pull(store: Store, log: logging.Logger, root: Path | None = None) -> PullResult:
    """Write every current team skill newer than what the manifest records.

    Raises StoreError when the store cannot be read; filesystem errors on one
    skill are logged and that skill is skipped.
    """
    from filelock import FileLock

    root = root or paths.skills_root()
    result = PullResult()
    rows = store.latest_skills(scope="team")
    lock = paths.data_dir() / "pull.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock), timeout=LOCK_TIMEOUT_S):
        manifest = load_manifest()
        for row in rows:
            target = skill_file(root, row)
            if target is None:
                log.warning("pull: refused skill name=%r author=%r: not a safe path inside %s",
                            row.name[:80], row.author[:80], root)
                result.refused.append(f"{row.name[:80]}--{row.author[:80]}")
                continue
            sha = _sha(row.body)
            entry = manifest.get(row.ref)
            if (isinstance(entry, dict) and entry.get("version") == row.version
                    and entry.get("sha256") == sha and target.is_file()):
                result.unchanged.append(row.ref)
                continue
            try:
                atomic_write(target, row.body, mode=0o644)
            except OSError as exc:
                log.error("pull: cannot write %s: %s", target, exc)
                continue
            manifest[row.ref] = {"name": row.name, "author": row.author, "version": row.version,
                                 "path": str(target), "sha256": sha, "pulled_at": time.time()}
            result.written.append(row.ref)
            log.info("pull: wrote %s v%d to %s", row.ref, row.version, target)
        if result.written:
            atomic_write_json(paths.manifest_file(), {"skills": manifest})
    return result
