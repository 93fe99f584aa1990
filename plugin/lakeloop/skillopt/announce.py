"""What the user (never the model) is told at session start about team skills.

* One line per skill a pull changed (``pull.Change.line``), e.g.
  ``db-migrate--alice v3 (lakeloop-skillopt, from bob's session): +2 -0 lines;
  lakeloop skills diff db-migrate--alice``; at most ``MAX_CHANGE_LINES``, then a summary.
* One line per skill of this user with optimizer changes held for their review
  (skills rows of scope ``proposal`` whose author is the user), e.g.
  ``db-migrate--alice: 1 change waiting for your review; lakeloop skills proposals``, or for a
  new skill drafted from repeated work (a proposal of version 0)
  ``release-notes--alice: a new skill drafted from work you repeat; lakeloop skills proposals``.
  A skill is announced again only when a proposal not yet announced appears; the
  announced proposal ids are kept in ``<data dir>/reviews-announced.json`` (0600).
"""

from __future__ import annotations

import logging
from pathlib import Path

from .. import paths
from ..fsutil import atomic_write_json, read_json
from ..store.base import Store
from .pull import PullResult

#: Most per-skill change lines shown at one session start; the rest are summed up in one line.
MAX_CHANGE_LINES = 10


def change_lines(result: PullResult) -> list[str]:
    """The lines for the skills ``result`` changed (none when nothing changed)."""
    lines = [c.line() for c in result.changes[:MAX_CHANGE_LINES]]
    more = len(result.changes) - MAX_CHANGE_LINES
    if more > 0:
        lines.append(f"... and {more} more team skill(s) updated; lakeloop status")
    return lines


def _seen_file() -> Path:
    return paths.data_dir() / "reviews-announced.json"


def review_lines(store: Store, user: str, log: logging.Logger) -> list[str]:
    """Lines for ``user``'s skills with proposals waiting for review, when one of them was not
    announced before (one query). Raises StoreError."""
    waiting: dict[str, list[str]] = {}
    drafts: set[str] = set()  # refs of new-skill drafts (version 0: no base version)
    for row in store.skill_rows(author=user, scope="proposal"):
        waiting.setdefault(row.ref, []).append(row.id)
        if row.version == 0:
            drafts.add(row.ref)
    data = read_json(_seen_file())
    seen = set(data.get("ids", [])) if isinstance(data, dict) and isinstance(data.get("ids"), list) else set()
    current = {i for ids in waiting.values() for i in ids}
    lines = []
    for ref in sorted(waiting):
        ids = waiting[ref]
        if any(i not in seen for i in ids):
            n = len(ids)
            if ref in drafts:
                lines.append(f"{ref}: a new skill drafted from work you repeat; lakeloop skills proposals")
            else:
                what = f"{n} change{'s' if n != 1 else ''}"
                lines.append(f"{ref}: {what} waiting for your review; lakeloop skills proposals")
    if current != seen:
        try:
            atomic_write_json(_seen_file(), {"ids": sorted(current)})
        except OSError as exc:
            log.warning("cannot record announced proposals: %s", exc)
    return lines
