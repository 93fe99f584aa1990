"""Outcome rows in tests, written the way the ``outcomes`` job stores them (docs/skill-loop.md,
"Outcomes and ``skills stats``"): one memory-table row per judgment of one use.

* ``seed_outcomes(store, ref, entries, user="alice", agent="claude_code", unsure=False)``: for each entry
  ``(version, verdict, use_id, used_at)`` (``version`` None for an unknown one, ``used_at``
  ISO-8601 UTC) one row at ``/outcomes/<ref>/<use_id>.json`` through ``store.put_memory_doc``:
  description ``lakeloop-outcome v=<version or -> verdict=<verdict>``, project ``""``, the JSON
  summary (schema 1), both dates ``used_at``. A judged row's id is
  ``uuid5(SEED_NAMESPACE, "<use_id>:seed-<i>")`` (``i`` the entry's index, so the same list seeded
  again with ``unsure=True`` stores nothing new), a ``no_pushback`` row's ``"<use_id>:closed"``. Returns the rows.
* ``outcome_row(ref, version, verdict, use_id, used_at, source, ...)``: one such row (``NoteRow``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable

from lakeloop.store.memory_types import NoteRow

#: Namespace of the seeded rows' ids (a fixed literal: ids are stable across runs).
SEED_NAMESPACE = uuid.UUID("6f1d2c1e-5b3a-4e2f-9a57-0c8e4b1d7a11")


def outcome_row(
    ref: str,
    version: int | None,
    verdict: str,
    use_id: str,
    used_at: str,
    source: str,
    user: str = "alice",
    agent: str = "claude_code",
) -> NoteRow:
    """The outcome row of one judgment (``source``: the reaction's event id, ``closed`` for
    ``no_pushback``) of use ``use_id`` of ``ref``."""
    summary = {
        "schema": 1,
        "ref": ref,
        "version": version,
        "use": use_id,
        "event": "" if verdict == "no_pushback" else source,
        "session": f"session-{use_id}",
        "user": user,
        "agent": agent,
        "verdict": verdict,
        "confidence": None if verdict == "no_pushback" else 0.9,
        "reason": "" if verdict == "no_pushback" else f"seeded {verdict}",
        "used_at": used_at,
        "judged_at": used_at,
    }
    return NoteRow(
        id=str(uuid.uuid5(SEED_NAMESPACE, f"{use_id}:{source}")),
        path=f"/outcomes/{ref}/{use_id}.json",
        text=json.dumps(summary, sort_keys=True),
        author=user,
        project="",
        date=used_at,
        agent=agent,
        description=f"lakeloop-outcome v={'-' if version is None else version} verdict={verdict}",
    )


def seed_outcomes(
    store,
    ref: str,
    entries: Iterable[tuple[int | None, str, str, str]],
    user: str = "alice",
    agent: str = "claude_code",
    unsure: bool = False,
) -> list[NoteRow]:
    """Store one outcome row per ``(version, verdict, use_id, used_at)`` entry (module docstring);
    ``unsure`` as ``put_memory_doc`` takes it (a retried write: Deeplake looks each id up first)."""
    rows = [
        outcome_row(
            ref, version, verdict, use_id, used_at, "closed" if verdict == "no_pushback" else f"seed-{i}", user, agent
        )
        for i, (version, verdict, use_id, used_at) in enumerate(entries)
    ]
    for row in rows:
        store.put_memory_doc(row, unsure=unsure)
    return rows
