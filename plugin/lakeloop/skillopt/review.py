"""Held optimizer changes (proposals): the rows, listing, accepting and rejecting them.

When the guard finds a risky change, or ``LAKELOOP_SKILL_REVIEW=all``,
the worker stores the change as a skills row with scope ``proposal`` instead of
publishing it (the lead's convention): same name and author as the skill, ``version`` =
the base version it was proposed against, ``body`` = the full proposed body, ``id`` =
the proposal id (uuid4), contributors and source_sessions as a published optimizer
version would have them, and ``description`` = JSON text ``{"base_version", "reason",
"held_by", "edits", "proposed_by", "session"}``. Pull reads scope ``team`` only and
``current_skill`` excludes proposals, so a proposal reaches no one until a person
accepts it.

Accepting publishes the current version + 1: the proposal's edits re-applied on the
current body (when the skill moved since, the edits must still apply exactly, else the
accept is refused); the guard's reasons for that change are reported but do not stop
it (accepting is a person's decision). The proposal row is then deleted. Rejecting
deletes it.

Also here, shared with the worker: ``ending_with``, how a version records who published
it (``contributors`` ends with them, common.md; the judge's-reason note is
``skillopt.versions.with_reason``).
"""

from __future__ import annotations

import difflib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import RequestRefused
from ..identity import utc_now
from ..store.base import SkillRow, Store
from . import guard
from .edits import apply_edits
from .parse import OPS, Edit
from .refs import split_ref
from .versions import OPTIMIZER, with_reason

PROPOSAL_SCOPE = "proposal"
#: Marker of the optimizer in contributors (the last element of an optimizer version's list).
OPTIMIZER_MARKER = OPTIMIZER
#: Longest judge's reason kept in a proposal, characters.
MAX_REASON_CHARS = 2000
#: Shortest proposal-id prefix accepted on the command line.
MIN_ID_PREFIX = 6


class ReviewError(RequestRefused):
    """A proposal could not be listed, accepted or rejected as asked (not found, ambiguous,
    its edits no longer apply). The message is for the user (a command exits 2)."""


def ending_with(names: Sequence[str], tail: Sequence[str]) -> list[str]:
    """``names`` (append-only) extended so that it ends with ``tail`` (empty names skipped):
    nothing is added when it already does; otherwise each name of ``tail`` is appended,
    even when it appears earlier (its LAST element names the publisher, common.md)."""
    tail = [n for n in tail if n]
    out = list(names)
    for k in range(min(len(tail), len(out)), 0, -1):  # the longest start of tail already at the end
        if out[-k:] == tail[:k]:
            return out + tail[k:]
    return out + tail


def with_session(sessions: Sequence[str], session: str) -> list[str]:
    """``sessions`` plus ``session`` when it is not there yet."""
    out = list(sessions)
    if session and session not in out:
        out.append(session)
    return out


@dataclass
class Proposal:
    """A held change, read from its row. ``edits`` are the applied edits it holds (malformed
    entries of the row dropped); ``base_version`` falls back to the row's version."""

    row: SkillRow
    base_version: int
    reason: str = ""
    held_by: list[str] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    proposed_by: str = ""
    session: str = ""

    @property
    def id(self) -> str:
        """The proposal id (the row's id)."""
        return self.row.id

    @property
    def ref(self) -> str:
        """The skill's ref ``<name>--<author>``."""
        return self.row.ref


def proposal_row(
    base: SkillRow,
    body: str,
    edits: Sequence[Edit],
    reason: str,
    held_by: Sequence[str],
    user: str,
    session: str,
    now: str | None = None,
    source_agent: str = "claude_code",
) -> SkillRow:
    """The skills row that holds a change to ``base`` (the convention in the module docstring);
    ``source_agent`` is the rows' agent of the session the change came from."""
    now = now or utc_now()
    description = json.dumps(
        {
            "base_version": base.version,
            "reason": str(reason)[:MAX_REASON_CHARS],
            "held_by": list(held_by),
            "edits": [e.as_dict() for e in edits],
            "proposed_by": user,
            "session": session,
        },
        ensure_ascii=False,
    )
    return SkillRow(
        id=str(uuid.uuid4()),
        name=base.name,
        author=base.author,
        body=body,
        version=base.version,
        project=base.project,
        project_key=base.project_key,
        local_path=base.local_path,
        install=base.install,
        source_sessions=with_session(base.source_sessions, session),
        source_agent=source_agent,
        scope=PROPOSAL_SCOPE,
        contributors=ending_with(base.contributors, [user, OPTIMIZER_MARKER]),
        description=description,
        trigger_text=base.trigger_text,
        created_at=now,
        updated_at=now,
    )


def _edits(raw: Any) -> list[Edit]:
    out = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and item.get("op") in OPS:
            target, text = item.get("target", ""), item.get("text", "")
            if isinstance(target, str) and isinstance(text, str):
                out.append(Edit(item["op"], target, text))
    return out


def read_proposal(row: SkillRow) -> Proposal:
    """The ``Proposal`` a row holds; a description that is not the JSON object reads as empty fields."""
    try:
        meta = json.loads(row.description)
    except ValueError:
        meta = None
    meta = meta if isinstance(meta, dict) else {}
    base = meta.get("base_version")
    held = meta.get("held_by")
    return Proposal(
        row=row,
        base_version=base if isinstance(base, int) and not isinstance(base, bool) else row.version,
        reason=str(meta.get("reason") or ""),
        held_by=[str(h) for h in held] if isinstance(held, list) else [],
        edits=_edits(meta.get("edits")),
        proposed_by=str(meta.get("proposed_by") or ""),
        session=str(meta.get("session") or ""),
    )


@dataclass
class Preview:
    """What accepting ``proposal`` now would publish: ``body`` on top of ``current`` (None with
    ``problem`` when it cannot), ``moved`` when the skill is past the proposal's base version,
    ``checks`` the guard's reasons for that change, ``diff`` the unified diff."""

    proposal: Proposal
    current: SkillRow | None
    body: str | None
    moved: bool
    checks: list[str]
    diff: str
    problem: str = ""


def unified_diff(ref: str, old: str, new: str, old_label: str, new_label: str) -> str:
    """Unified diff of two bodies, labelled ``<ref> <label>``."""
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), f"{ref} {old_label}", f"{ref} {new_label}"
        )
    )


def preview(proposal: Proposal, current: SkillRow | None) -> Preview:
    """What accepting would publish on top of ``current`` (the skill's current version).

    The proposal's edits are re-applied on the current body (all must apply); a proposal
    without readable edits can only be accepted while the skill is still at its base version
    (its stored body is used)."""
    label = f"proposal {proposal.id[:8]}"
    if current is None:
        return Preview(proposal, None, None, True, [], "", f"{proposal.ref} is not in the skills table any more")
    moved = current.version != proposal.base_version
    if proposal.edits:
        result = apply_edits(current.body, proposal.edits)
        if result.skipped:
            why = "; ".join(f"{e.op}: {reason}" for e, reason in result.skipped)
            return Preview(
                proposal, current, None, moved, [], "", f"its edits no longer apply to v{current.version} ({why})"
            )
        body = result.body
    elif not moved:
        body = proposal.row.body
    else:
        return Preview(proposal, current, None, moved, [], "", f"it records no edits to re-apply on v{current.version}")
    checks = guard.check(current.body, body, proposal.edits)
    diff = unified_diff(proposal.ref, current.body, body, f"v{current.version}", label)
    return Preview(proposal, current, body, moved, checks, diff)


def list_proposals(store: Store, ref: str | None = None) -> list[Preview]:
    """Every proposal (of ``ref`` when given), oldest first, previewed against its skill's current
    version. Raises StoreError, ReviewError for a ref that is not an org skill ref."""
    name = author = None
    if ref is not None:
        parts = split_ref(ref)
        if parts is None:
            raise ReviewError(f"not an org skill ref: {ref[:120]!r}")
        name, author = parts
    rows = sorted(store.skill_rows(name, author, scope=PROPOSAL_SCOPE), key=lambda r: (r.created_at, r.id))
    currents: dict[tuple[str, str], SkillRow | None] = {}
    out = []
    for row in rows:
        key = (row.name, row.author)
        if key not in currents:
            currents[key] = store.current_skill(*key)
        out.append(preview(read_proposal(row), currents[key]))
    return out


def find_proposal(store: Store, ref: str, proposal_id: str) -> Proposal:
    """The proposal of ``ref`` whose id is ``proposal_id`` or starts with it (at least
    ``MIN_ID_PREFIX`` characters). Raises ReviewError (not found, ambiguous, bad ref), StoreError."""
    parts = split_ref(ref)
    if parts is None:
        raise ReviewError(f"not an org skill ref: {ref[:120]!r}")
    wanted = proposal_id.strip().lower()
    rows = store.skill_rows(*parts, scope=PROPOSAL_SCOPE)
    exact = [r for r in rows if r.id.lower() == wanted]
    matches = exact or ([r for r in rows if r.id.lower().startswith(wanted)] if len(wanted) >= MIN_ID_PREFIX else [])
    if not matches:
        raise ReviewError(f"no proposal {proposal_id[:64]!r} for {ref}")
    if len({r.id for r in matches}) > 1:
        raise ReviewError(f"proposal id {proposal_id[:64]!r} is ambiguous for {ref}: give more of it")
    return read_proposal(matches[0])


@dataclass
class Accepted:
    """An accepted proposal: the published ``row``, whether the edits were re-applied on a newer
    version (``moved``), the guard's ``checks`` of the published change, and ``cleanup_error``
    when the proposal row could not be deleted afterwards."""

    proposal: Proposal
    row: SkillRow
    moved: bool
    checks: list[str]
    cleanup_error: str = ""


def accept(store: Store, ref: str, proposal_id: str, user: str, now: str | None = None) -> Accepted:
    """Publish the proposal as the current version + 1, then delete the proposal row.

    contributors = the current version's ending with [proposer, optimizer marker, ``user``]: the
    proposal's contributors then the accepter, who is last (the publisher); source_sessions += the
    proposal's session; description = the current one with its note set to the judge's reason.
    Raises ReviewError when the proposal is missing or its edits no longer apply, StoreError.
    """
    from ..errors import StoreError

    proposal = find_proposal(store, ref, proposal_id)
    view = preview(proposal, store.current_skill(proposal.row.name, proposal.row.author))
    if view.body is None or view.current is None:
        raise ReviewError(f"cannot accept proposal {proposal.id[:8]} of {ref}: {view.problem}")
    current = view.current
    now = now or utc_now()
    row = SkillRow(
        id=str(uuid.uuid4()),
        name=current.name,
        author=current.author,
        body=view.body,
        version=current.version + 1,
        project=current.project,
        project_key=current.project_key,
        local_path=current.local_path,
        install=current.install,
        source_sessions=with_session(current.source_sessions, proposal.session),
        source_agent=proposal.row.source_agent or "claude_code",
        scope="team",
        contributors=ending_with(current.contributors, [proposal.proposed_by, OPTIMIZER_MARKER, user]),
        description=with_reason(current.description, proposal.reason),
        trigger_text=current.trigger_text,
        created_at=now,
        updated_at=now,
    )
    store.insert_skill(row)
    cleanup = ""
    try:
        store.delete_skill_rows([proposal.id])
    except StoreError as exc:
        cleanup = str(exc)
    return Accepted(proposal, row, view.moved, view.checks, cleanup)


def reject(store: Store, ref: str, proposal_id: str) -> Proposal:
    """Delete the proposal row. Raises ReviewError when it is missing, StoreError."""
    proposal = find_proposal(store, ref, proposal_id)
    store.delete_skill_rows([proposal.id])
    return proposal
