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
* ``uses(version, failures, n, tag, used_at=...)``: ``n`` entries of ``version`` for the lists above,
  the first ``failures`` of them ``failure``, the rest ``success``; use ids ``<tag>-v<version>-<i>``.
* ``spool_outcomes(ref, entries, ...)``: the same rows as ``seed_outcomes`` written as spool files
  (``skillopt.outcomes.spool_dir()``), where the ``outcomes`` job picks them up.
* ``run_outcomes_job(refs, log, timeout=120)``: submit the ``outcomes`` job through ``jobs.submit``
  (the real runner runs it) and await it ``done``; returns its queue row (``.outcome``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from lakeloop.fsutil import atomic_write_json
from lakeloop.records import fields
from lakeloop.skillopt import outcomes
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
    ``no_pushback``) of use ``use_id`` of ``ref``: ``skillopt.outcomes.outcome_row`` (the product's
    builder) with this module's id namespace and seeded session, confidence and reason."""
    closed = verdict == "no_pushback"
    return outcomes.outcome_row(
        ref,
        version,
        verdict,
        use_id,
        used_at,
        source,
        user,
        agent,
        session=f"session-{use_id}",
        confidence=None if closed else 0.9,
        reason="" if closed else f"seeded {verdict}",
        judged_at=used_at,
        namespace=str(SEED_NAMESPACE),
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


def uses(
    version: int | None, failures: int, n: int, tag: str, used_at: str = "2026-12-01T10:00:00Z"
) -> list[tuple[int | None, str, str, str]]:
    """``n`` entries ``(version, verdict, use_id, used_at)``: ``failures`` failures, then successes."""
    return [(version, "failure" if i < failures else "success", f"{tag}-v{version}-{i}", used_at) for i in range(n)]


def spool_outcomes(
    ref: str, entries: Iterable[tuple[int | None, str, str, str]], user: str = "alice", agent: str = "claude_code"
) -> list[NoteRow]:
    """Write the rows ``seed_outcomes`` would store as spool files for the ``outcomes`` job."""
    rows = [
        outcome_row(
            ref, version, verdict, use_id, used_at, "closed" if verdict == "no_pushback" else f"seed-{i}", user, agent
        )
        for i, (version, verdict, use_id, used_at) in enumerate(entries)
    ]
    for row in rows:
        atomic_write_json(outcomes.spool_dir() / f"{row.id}.json", {name: getattr(row, name) for name in fields(row)})
    return rows


def run_outcomes_job(refs: list[str], log, timeout: float = 120):
    """Submit the ``outcomes`` job for ``refs`` and await it ``done``; returns its queue row."""
    from tests.support.jobs import wait_state

    outcomes.submit(refs, log)
    return wait_state(outcomes.KIND, "done", timeout, kind=outcomes.KIND)
