"""A team skill's versions: which row is version N, who published each, and why.

Conventions:

* ``contributors`` is append-only and its LAST element names the publisher of that
  version: a user name, or ``OPTIMIZER`` (``"lakeloop-skillopt"``) for a version the
  optimizer published, in which case the element before it is the user whose session
  it learned from and ``source_sessions``' last element is that session.
* The judge's reason for an optimizer version follows a line ``"\\n[lakeloop-skillopt] "``
  at the end of the row's ``description`` (one such note; a later one replaces it).
* A version the ``outcomes`` job published as an automatic rollback (``skillopt.rollback``) has
  contributors ending ``[deciding user, ROLLBACK]`` and, as its note, ``"\\n[lakeloop-rollback] "``
  followed by the figures of the test (``v2 failed 9/12 uses (75%) vs v1 2/12 (17%), one-sided
  Fisher p = 0.0061``). Its body is the previous version's: the version it replaced is
  *rolled back* (``rolled_back``), and its body is never published again by the optimizer nor
  rolled back to. Contributors being append-only, every later version still names ``ROLLBACK``
  among them, which tells a reader cheaply that a skill has a rollback in its history.
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
#: Last contributor of a version the ``outcomes`` job published as an automatic rollback.
ROLLBACK = "lakeloop-rollback"
#: What precedes a rollback's figures in its description.
ROLLBACK_NOTE = "\n[lakeloop-rollback] "
_NOTES = (REASON_NOTE, ROLLBACK_NOTE)
#: Publisher kinds: a person published it, the optimizer did, or an automatic rollback.
PUSH, OPTIMIZED, ROLLED_BACK = "push", "optimizer", "rollback"


@dataclass(frozen=True)
class Publisher:
    """Who published one version: ``user`` (the publisher; for an optimizer version the user
    whose session it learned from; for a rollback the user whose machine decided it; "" when
    unknown), ``by_optimizer`` and ``session`` (the source session of an optimizer version, else
    ""), ``kind``: ``push`` (a person), ``optimizer`` or ``rollback``."""

    user: str
    by_optimizer: bool = False
    session: str = ""
    kind: str = PUSH

    def label(self) -> str:
        """``alice`` for a user publication; ``lakeloop-skillopt, from bob's session`` for the
        optimizer's; ``lakeloop-rollback, decided on bob's machine`` for a rollback (the marker
        alone when the user is unknown)."""
        if self.kind == ROLLED_BACK:
            return f"{ROLLBACK}, decided on {self.user}'s machine" if self.user else ROLLBACK
        if not self.by_optimizer:
            return self.user or "unknown"
        return f"{OPTIMIZER}, from {self.user}'s session" if self.user else OPTIMIZER


def publisher(row: SkillRow) -> Publisher:
    """Who published ``row`` (module docstring). A row without contributors counts as
    published by its author."""
    contributors = [c for c in row.contributors if isinstance(c, str)]
    if not contributors:
        return Publisher(user=row.author)
    last = contributors[-1]
    if last not in (OPTIMIZER, ROLLBACK):
        return Publisher(user=last)
    user = contributors[-2] if len(contributors) >= 2 and contributors[-2] not in (OPTIMIZER, ROLLBACK) else ""
    if last == ROLLBACK:
        return Publisher(user=user, kind=ROLLED_BACK)
    session = row.source_sessions[-1] if row.source_sessions else ""
    return Publisher(user=user, by_optimizer=True, session=str(session), kind=OPTIMIZED)


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


def _split_note(description: str) -> tuple[str, str]:
    """``(the skill's own description, the note)``: split at the last optimizer or rollback note
    marker; ``(description, "")`` when there is none."""
    text = description or ""
    at, marker = max((text.rfind(m), m) for m in _NOTES)
    return (text[:at], text[at + len(marker) :]) if at >= 0 else (text, "")


def reason(description: str) -> str:
    """The note of a version's ``description``: the judge's reason of an optimizer version, the
    figures of a rollback, or "" when there is none."""
    return _split_note(description)[1].strip()


def without_reason(description: str) -> str:
    """``description`` without its optimizer or rollback note (the skill's own description)."""
    return _split_note(description)[0]


def with_rollback_note(description: str, figures: str) -> str:
    """``description`` without its note, then the rollback note carrying ``figures`` (one line)."""
    return without_reason(description) + ROLLBACK_NOTE + " ".join((figures or "").split())


def with_reason(description: str, why: str) -> str:
    """``description`` carrying the judge's reason ``why`` as its one note (replaces an earlier note)."""
    text = " ".join((why or "").split())
    return without_reason(description) + (REASON_NOTE + text if text else "")


def next_version(current: SkillRow, now: str, **changes: object) -> SkillRow:
    """Version ``current.version + 1`` of ``current``'s skill, as a new team row (a fresh id,
    scope ``team``, ``created_at`` = ``updated_at`` = ``now``, ISO-8601 UTC), keeping its name,
    author and placement; ``changes`` set the other fields (``body``, ``contributors``,
    ``description``, ...), and every field not named keeps ``current``'s value (lists copied).
    Raises TypeError for a name that is not a SkillRow field."""
    import uuid

    from ..records import replace

    copied = {"source_sessions": list(current.source_sessions), "contributors": list(current.contributors)}
    return replace(
        current,
        **{
            **copied,
            **changes,
            "id": str(uuid.uuid4()),
            "version": current.version + 1,
            "scope": "team",
            "created_at": now,
            "updated_at": now,
        },
    )


def team_rows(store: Store, name: str, author: str) -> list[SkillRow]:
    """Every team version row of ``(name, author)`` (proposals left out), ordered by version,
    created_at, id. One query. Raises StoreError."""
    return [r for r in store.skill_rows(name, author) if r.scope != "proposal"]


def losers(rows: list[SkillRow]) -> set[str]:
    """Ids of the rows that lost a publish race: every row of a version number that is not
    that version's winner (``winner_key``)."""
    best = counted(rows)
    return {r.id for r in rows if best[r.version].id != r.id}


def version_row(rows: list[SkillRow], version: int) -> SkillRow | None:
    """The row that counts as ``version`` (the race winner), or None when there is none."""
    matching = [r for r in rows if r.version == version]
    return min(matching, key=winner_key) if matching else None


def current_row(rows: list[SkillRow]) -> SkillRow | None:
    """The current version among ``rows`` (what ``Store.current_skill`` returns)."""
    return min(rows, key=winner_key) if rows else None


def body_sha(body: str) -> str:
    """sha256 hex digest of a skill body (UTF-8, unpaired surrogates escaped)."""
    import hashlib

    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


def counted(rows: list[SkillRow]) -> dict[int, SkillRow]:
    """``{version: the row that counts for it}`` (race winners only)."""
    out: dict[int, SkillRow] = {}
    for row in rows:
        if row.version not in out or winner_key(row) < winner_key(out[row.version]):
            out[row.version] = row
    return out


def rolled_back(rows: list[SkillRow]) -> dict[str, int]:
    """``{body sha256: version}`` of every version k-1 whose successor k is an automatic rollback
    (the counted row of k has ``ROLLBACK`` as its last contributor). Counted rows only: a rollback
    row that lost a publish race rolls nothing back. The latest such version wins for a body."""
    by_version = counted(rows)
    out: dict[str, int] = {}
    for version in sorted(by_version):
        before = by_version.get(version - 1)
        if before is not None and publisher(by_version[version]).kind == ROLLED_BACK:
            out[body_sha(before.body)] = before.version
    return out


def rolled_back_bodies(rows: list[SkillRow]) -> set[str]:
    """sha256 of the body of every version that an automatic rollback replaced (``rolled_back``)."""
    return set(rolled_back(rows))
