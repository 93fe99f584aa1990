"""A team skill's versions: which row is version N, who published each, and why.

Conventions:

* ``contributors`` is append-only and its LAST element names the publisher of that
  version: a user name, or ``OPTIMIZER`` (``"lakeloop-skillopt"``) for a version the
  optimizer published, in which case the element before it is the user whose session
  it learned from and ``source_sessions``' last element is that session.
* The judge's reason for an optimizer version follows a line ``"\\n[lakeloop-skillopt] "``
  at the end of the row's ``description`` (one such note; a later one replaces it).
* Team versions are every row of ``(name, author)`` whose scope is not ``"proposal"``.
  Two rows with the same version number are a publish race: ``store.base.winner_key``
  picks the one that counts (created first, then smaller id); the other is the loser.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..store.base import SkillRow, Store, winner_key

#: Last contributor of a version the optimizer published (skillopt.worker.OPTIMIZER_MARKER).
OPTIMIZER = "lakeloop-skillopt"
#: What precedes the judge's reason in an optimizer version's description.
REASON_NOTE = "\n[lakeloop-skillopt] "


@dataclass(frozen=True)
class Publisher:
    """Who published one version: ``user`` (the publisher, or for an optimizer version the
    user whose session it learned from; "" when unknown), ``by_optimizer`` and ``session``
    (the source session of an optimizer version, else "")."""

    user: str
    by_optimizer: bool = False
    session: str = ""

    def label(self) -> str:
        """``alice`` for a user publication; ``lakeloop-skillopt, from bob's session`` for the
        optimizer's (``lakeloop-skillopt`` alone when the user is unknown)."""
        if not self.by_optimizer:
            return self.user or "unknown"
        return f"{OPTIMIZER}, from {self.user}'s session" if self.user else OPTIMIZER


def publisher(row: SkillRow) -> Publisher:
    """Who published ``row`` (module docstring). A row without contributors counts as
    published by its author."""
    contributors = [c for c in row.contributors if isinstance(c, str)]
    if not contributors:
        return Publisher(user=row.author)
    if contributors[-1] != OPTIMIZER:
        return Publisher(user=contributors[-1])
    user = contributors[-2] if len(contributors) >= 2 and contributors[-2] != OPTIMIZER else ""
    session = row.source_sessions[-1] if row.source_sessions else ""
    return Publisher(user=user, by_optimizer=True, session=str(session))


def with_publisher(contributors: list[str], user: str) -> list[str]:
    """``contributors`` with ``user`` appended as the publisher of a new user version (not
    appended again when it is already the last element: the last element names the publisher)."""
    out = list(contributors)
    if not out or out[-1] != user:
        out.append(user)
    return out


def current_user() -> str:
    """Who publishes from this machine: the user name captured rows carry
    (``store.current_identity``: on Deeplake ``LAKELOOP_USER``, else the credentials'
    userName, else the login name). Raises StoreError when the store is misconfigured."""
    from ..store import current_identity

    return current_identity().user


def reason(description: str) -> str:
    """The judge's reason noted in an optimizer version's ``description``, or ""."""
    head, sep, note = (description or "").rpartition(REASON_NOTE)
    return note.strip() if sep else ""


def without_reason(description: str) -> str:
    """``description`` without the optimizer's reason note (the skill's own description)."""
    head, sep, _note = (description or "").rpartition(REASON_NOTE)
    return head if sep else (description or "")


def with_reason(description: str, why: str) -> str:
    """``description`` carrying the judge's reason ``why`` as its one note (replaces an earlier note)."""
    text = " ".join((why or "").split())
    return without_reason(description) + (REASON_NOTE + text if text else "")


def team_rows(store: Store, name: str, author: str) -> list[SkillRow]:
    """Every team version row of ``(name, author)`` (proposals left out), ordered by version,
    created_at, id. One query. Raises StoreError."""
    return [r for r in store.skill_rows(name, author) if r.scope != "proposal"]


def losers(rows: list[SkillRow]) -> set[str]:
    """Ids of the rows that lost a publish race: every row of a version number that is not
    that version's winner (``winner_key``)."""
    best: dict[int, SkillRow] = {}
    for row in rows:
        if row.version not in best or winner_key(row) < winner_key(best[row.version]):
            best[row.version] = row
    return {r.id for r in rows if best[r.version].id != r.id}


def version_row(rows: list[SkillRow], version: int) -> SkillRow | None:
    """The row that counts as ``version`` (the race winner), or None when there is none."""
    matching = [r for r in rows if r.version == version]
    return min(matching, key=winner_key) if matching else None


def current_row(rows: list[SkillRow]) -> SkillRow | None:
    """The current version among ``rows`` (what ``Store.current_skill`` returns)."""
    return min(rows, key=winner_key) if rows else None
