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

A proposal's JSON may carry ``kind``: absent or ``edit`` for a held change as above, ``new_skill``
for a new skill drafted by skillify (``skillopt.drafts``: version 0, the drafter's whole body, the
evidence sessions and steps). Accepting a draft publishes version 1 of ``<name>--<accepting user>``
(refused when that skill exists), authored by the accepting user; accepting or rejecting one also
records the decision on the procedure for the whole team (``drafts.decision_doc``), so skillify never
proposes it again.

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
from .drafts import ACCEPTED, NEW_SKILL, REJECTED
from .edits import apply_edits
from .parse import OPS, Edit
from .refs import split_ref
from .versions import OPTIMIZER, next_version, with_reason

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
    #: ``edit`` (a held optimizer change) or ``new_skill`` (a skillify draft; the fields below).
    kind: str = "edit"
    fingerprint: str = ""
    steps: list[str] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)
    skill_description: str = ""

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


def _strings(raw: Any) -> list[str]:
    return [str(x) for x in raw] if isinstance(raw, list) else []


def read_proposal(row: SkillRow) -> Proposal:
    """The ``Proposal`` a row holds; a description that is not the JSON object reads as empty fields."""
    try:
        meta = json.loads(row.description)
    except ValueError:
        meta = None
    meta = meta if isinstance(meta, dict) else {}
    base = meta.get("base_version")
    held = meta.get("held_by")
    if meta.get("kind") == NEW_SKILL:
        return Proposal(
            row=row,
            base_version=0,
            reason=str(meta.get("reason") or ""),
            held_by=[str(h) for h in held] if isinstance(held, list) else [],
            proposed_by=str(meta.get("proposed_by") or row.author),
            kind=NEW_SKILL,
            fingerprint=str(meta.get("fingerprint") or ""),
            steps=_strings(meta.get("steps")),
            sessions=_strings(meta.get("sessions")),
            skill_description=str(meta.get("skill_description") or ""),
        )
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
    if proposal.kind == NEW_SKILL:
        return _preview_draft(proposal, current, label)
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


def _preview_draft(proposal: Proposal, existing: SkillRow | None, label: str) -> Preview:
    """A new-skill draft's preview: its whole body as added lines; ``existing`` is the skill an
    accept would create (``<name>--<accepting user>``): when it exists, the draft cannot be accepted."""
    body = proposal.row.body
    diff = unified_diff(proposal.ref, "", body, "(new skill)", label)
    checks = guard.check_draft(body)
    if existing is not None:
        problem = f"{existing.ref} exists already (v{existing.version}); push or rename instead"
        return Preview(proposal, existing, None, False, checks, diff, problem)
    return Preview(proposal, None, body, False, checks, diff)


def list_proposals(
    store: Store,
    ref: str | None = None,
    user: str | None = None,
    limit: int | None = None,
    total: int | None = None,
) -> list[Preview]:
    """Every proposal (of ``ref`` when given), oldest first, each id once, previewed against its
    skill's current version; a new-skill draft against ``<name>--<user>`` (``user``: who would
    accept it; default the drafter). ``limit`` (characters; None: no limit, as the CLI lists): a
    proposal whose bodies add up to more is previewed by ``bounded_preview`` (no guard run, the diff
    of the bodies' starts only), so a huge proposal cannot hold a listing for minutes; ``total``
    (characters; None: no limit): once the proposals previewed in full add up to more, the rest
    are previewed by ``bounded_preview`` too (many mid-sized proposals cannot either). ONE store
    statement (``Store.skill_rows``: every row, or every row of ``ref``'s name, from which the
    proposals and the current versions are both taken), so the dashboard's proposals section is
    one query. Raises StoreError, ReviewError for a ref that is not
    an org skill ref."""
    name = author = None
    if ref is not None:
        parts = split_ref(ref)
        if parts is None:
            raise ReviewError(f"not an org skill ref: {ref[:120]!r}")
        name, author = parts
    rows = store.skill_rows(name)
    held = [r for r in rows if r.scope == PROPOSAL_SCOPE and (author is None or r.author == author)]
    unique = {r.id: r for r in reversed(held)}
    currents = _current_versions(rows) if unique else {}
    out = []
    spent = 0
    for row in sorted(unique.values(), key=lambda r: (r.created_at, r.id)):
        proposal = read_proposal(row)
        key = (row.name, (user or row.author) if proposal.kind == NEW_SKILL else row.author)
        current = currents.get(key)
        size = len(row.body) + (len(current.body) if current is not None else 0)
        over_total = total is not None and spent + size > total
        if limit is not None and size > limit:
            out.append(bounded_preview(proposal, current, limit))
        elif over_total:
            why = f"the listing checked {spent:,} characters of proposals before this one, at most {total:,}"
            out.append(bounded_preview(proposal, current, limit if limit is not None else size, why))
        else:
            spent += size
            out.append(preview(proposal, current))
    return out


#: Lines and characters of each body a ``bounded_preview`` diffs (difflib's time grows faster
#: than linearly).
BOUNDED_DIFF_LINES = 2000
BOUNDED_DIFF_CHARS = 50_000


def bounded_preview(proposal: Proposal, current: SkillRow | None, limit: int, why: str = "") -> Preview:
    """``preview`` of a proposal too large to preview fully: whether it applies and what it would
    publish are worked out as ``preview`` does (edits re-applied: linear), but the guard is not run
    (``checks`` says so, with the size) and the diff is of the first ``BOUNDED_DIFF_CHARS`` characters
    and ``BOUNDED_DIFF_LINES`` lines of each body, followed by a line saying so. ``why``: the reason
    the note gives (default: the size against ``limit``). Milliseconds for bodies of megabytes."""
    if proposal.kind == NEW_SKILL:
        problem = (
            f"{current.ref} exists already (v{current.version}); push or rename instead" if current is not None else ""
        )
        old, new, body = "", proposal.row.body, (None if current is not None else proposal.row.body)
        labels, moved = ("(new skill)", f"proposal {proposal.id[:8]}"), False
    elif current is None:
        return preview(proposal, None)
    else:
        moved = current.version != proposal.base_version
        problem = ""
        if proposal.edits:
            result = apply_edits(current.body, proposal.edits)
            body = None if result.skipped else result.body
            if result.skipped:
                why = "; ".join(f"{e.op}: {reason}" for e, reason in result.skipped)
                problem = f"its edits no longer apply to v{current.version} ({why})"
        elif not moved:
            body = proposal.row.body
        else:
            body, problem = None, f"it records no edits to re-apply on v{current.version}"
        old, new = current.body, body or ""
        labels = (f"v{current.version}", f"proposal {proposal.id[:8]}")
    size = len(old) + len(new)
    note = f"not checked here: {why or f'{size:,} characters, more than the {limit:,} a listing checks'}"

    def head(text: str) -> str:
        return "".join(text[:BOUNDED_DIFF_CHARS].splitlines(keepends=True)[:BOUNDED_DIFF_LINES])

    diff = unified_diff(proposal.ref, head(old), head(new), *labels) if body is not None else ""
    if diff and (head(old) != old or head(new) != new):
        diff += (
            f"\\ the diff covers only the first {BOUNDED_DIFF_LINES:,} lines and {BOUNDED_DIFF_CHARS:,} characters"
            " of each body\n"
        )
    return Preview(proposal, current, body, moved, [note], diff, problem)


def _current_versions(rows: Sequence[SkillRow]) -> dict[tuple[str, str], SkillRow]:
    """``{(name, author): current row}`` among ``rows`` that are not proposals: what
    ``Store.current_skill`` answers for each (``store.base.winner_key``), without a query each."""
    from ..store.base import winner_key

    out: dict[tuple[str, str], SkillRow] = {}
    for row in rows:
        if row.scope == PROPOSAL_SCOPE:
            continue
        key = (row.name, row.author)
        if key not in out or winner_key(row) < winner_key(out[key]):
            out[key] = row
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


#: Largest proposal body, and current body it applies to, that ``accept`` checks and publishes
#: (characters): the guard's and the diff's time grow faster than the text (a 255,000-character
#: body took the guard 3 s), and an accept must not hold the dashboard's store thread for minutes.
ACCEPT_MAX_CHARS = 200_000


def accept(store: Store, ref: str, proposal_id: str, user: str, now: str | None = None) -> Accepted:
    """Publish the proposal as the current version + 1, then delete the proposal row.

    contributors = the current version's ending with [proposer, optimizer marker, ``user``]: the
    proposal's contributors then the accepter, who is last (the publisher); source_sessions += the
    proposal's session; description = the current one with its note set to the judge's reason.
    A new-skill draft is published instead as version 1 of ``<name>--<user>`` (``_accept_draft``).
    Raises ReviewError when the proposal is missing, its edits no longer apply (a draft: when
    that skill exists), or it or the body it edits is over ``ACCEPT_MAX_CHARS``; StoreError.
    """
    proposal = find_proposal(store, ref, proposal_id)
    _check_size(proposal, "the proposal", proposal.row.body)
    if proposal.kind == NEW_SKILL:
        return _accept_draft(store, proposal, user, now)
    current_row = store.current_skill(proposal.row.name, proposal.row.author)
    if current_row is not None:
        _check_size(proposal, f"{ref} v{current_row.version}", current_row.body)
    view = preview(proposal, current_row)
    if view.body is None or view.current is None:
        raise ReviewError(f"cannot accept proposal {proposal.id[:8]} of {ref}: {view.problem}")
    current = view.current
    row = next_version(
        current,
        now or utc_now(),
        body=view.body,
        source_sessions=with_session(current.source_sessions, proposal.session),
        source_agent=proposal.row.source_agent or "claude_code",
        contributors=ending_with(current.contributors, [proposal.proposed_by, OPTIMIZER_MARKER, user]),
        description=with_reason(current.description, proposal.reason),
    )
    store.insert_skill(row)
    return Accepted(proposal, row, view.moved, view.checks, _cleanup(store, proposal))


def _check_size(proposal: Proposal, what: str, body: str) -> None:
    """ReviewError when ``body`` (of ``what``) is over ``ACCEPT_MAX_CHARS`` characters."""
    if len(body) > ACCEPT_MAX_CHARS:
        raise ReviewError(
            f"cannot accept proposal {proposal.id[:8]}: {what} has {len(body):,} characters, more than "
            f"the {ACCEPT_MAX_CHARS:,} an accept checks; reject it"
        )


def _cleanup(store: Store, proposal: Proposal) -> str:
    """Delete an accepted proposal's row; '' when done, else the store's error text."""
    from ..errors import StoreError

    try:
        store.delete_skill_rows([proposal.id])
    except StoreError as exc:
        return str(exc)
    return ""


def _accept_draft(store: Store, proposal: Proposal, user: str, now: str | None) -> Accepted:
    """Publish a new-skill draft as version 1 of ``<name>--<user>``: ``contributors`` ``[user]``,
    ``source_sessions`` the draft's evidence, ``description`` (and trigger text) the drafted
    description. Raises ReviewError when that skill exists already, StoreError."""
    from .refs import is_valid_part

    draft = proposal.row
    if not is_valid_part(user) or "--" in user:
        raise ReviewError(f"cannot publish under user name {user[:80]!r}: not a safe skill author")
    existing = store.current_skill(draft.name, user)
    view = _preview_draft(proposal, existing, f"proposal {proposal.id[:8]}")
    if view.body is None:
        raise ReviewError(f"cannot accept draft {proposal.id[:8]} of {proposal.ref}: {view.problem}")
    now = now or utc_now()
    row = SkillRow(
        id=str(uuid.uuid4()),
        name=draft.name,
        author=user,
        body=view.body,
        version=1,
        source_sessions=list(draft.source_sessions),
        source_agent=draft.source_agent or "claude_code",
        scope="team",
        contributors=[user],
        description=proposal.skill_description,
        trigger_text=proposal.skill_description,
        created_at=now,
        updated_at=now,
    )
    store.insert_skill(row)
    _record_decision(store, proposal, user, ACCEPTED)
    return Accepted(proposal, row, False, view.checks, _cleanup(store, proposal))


def _record_decision(store: Store, proposal: Proposal, user: str, decision: str) -> None:
    """Store ``decision`` on a draft's procedure (``drafts.decision_doc``, idempotent by fingerprint
    and decision); nothing for a draft without a well-formed fingerprint. Raises StoreError."""
    from .drafts import decision_doc

    try:
        doc = decision_doc(proposal.fingerprint, proposal.steps, user or proposal.proposed_by, decision)
    except ValueError:  # a malformed fingerprint: nothing to remember it by
        return
    store.put_memory_doc(doc, unsure=True)


def reject(store: Store, ref: str, proposal_id: str, user: str = "") -> Proposal:
    """Delete the proposal row. A new-skill draft's procedure is first recorded as rejected by
    ``user`` (``drafts.decision_doc``), so no teammate's skillify proposes it again. Raises
    ReviewError when it is missing, StoreError."""
    proposal = find_proposal(store, ref, proposal_id)
    if proposal.kind == NEW_SKILL:
        _record_decision(store, proposal, user, REJECTED)
    store.delete_skill_rows([proposal.id])
    return proposal
