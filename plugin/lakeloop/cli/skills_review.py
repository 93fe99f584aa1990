"""Reviewing held optimizer changes: ``lakeloop skills proposals|accept|reject``.

* ``proposals [--json]``: every waiting proposal, oldest first: ref, proposal id, the base
  version it was proposed against and the current version, who it came from, the judge's
  reason, the checks that held it, and the unified diff of what accepting would publish
  now (``skillopt.review.preview``), or why it can no longer be accepted.
* ``accept REF ID [--json]``: publishes the proposal as the current version + 1 (its edits
  re-applied when the skill moved since), recorded as published by you, then deletes the
  proposal. The guard's reasons are shown; they do not stop a person's accept.
* ``reject REF ID [--json]``: deletes the proposal.

Both kinds of proposal are listed: held optimizer edits (``kind`` ``edit``) and new skills
drafted from repeated work (``kind`` ``new_skill``, ``skillopt.skillify``): a draft shows its
evidence (the sessions' paths and the abstracted repeated steps), the guard's marks as "risky",
and its whole body as a diff; ``accept`` publishes it as version 1 of ``<name>--<you>`` (refused
when that skill exists), ``reject`` also records the procedure as rejected for the whole team.

``ID`` may be a unique prefix of at least 6 characters. Text that comes from the store
(diffs, reasons) is printed with control characters made visible, so a proposal cannot
drive the terminal. Exit codes: 0 done, 1 the store failed, 2 bad input or refused
(malformed ref, unknown proposal, edits that no longer apply: ``skillopt.review.ReviewError``);
``cli.error_handler`` prints the errors (with ``--json`` also as ``{"error": ...}``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..textsafe import escape
from ._output import emit_json


def _safe(text: str) -> str:
    """``text`` as ``lakeloop.textsafe.escape`` shows it: controls other than newline and tab, and
    format characters, as visible escapes."""
    return escape(text)


def _run(fn: Callable[[Any], int]) -> int:
    """``fn(store)`` on the configured store; ReviewError and StoreError go to ``cli.error_handler``."""
    from ..store import open_store

    with open_store() as store:
        return fn(store)


def proposal_item(view) -> dict[str, Any]:
    """One JSON-ready dict per ``review.Preview``: ``kind`` (``edit`` or ``new_skill``), ``ref, id,
    base_version, current_version, proposed_by, session, created_at, reason, held_by, checks,
    applies, problem, diff``; a ``new_skill`` draft also has ``name``, ``description`` and
    ``evidence`` ``{sessions, steps, occurrences}``, with ``base_version`` null and
    ``current_version`` the version of an existing skill of that name (null: none)."""
    p = view.proposal
    item: dict[str, Any] = {
        "kind": p.kind,
        "ref": p.ref,
        "id": p.id,
        "base_version": p.base_version,
        "current_version": view.current.version if view.current else None,
        "proposed_by": p.proposed_by,
        "session": p.session,
        "created_at": p.row.created_at,
        "reason": p.reason,
        "held_by": p.held_by,
        "checks": view.checks,
        "applies": view.body is not None,
        "problem": view.problem,
        "diff": view.diff,
    }
    if p.kind == "new_skill":
        item.update(
            base_version=None,
            name=p.row.name,
            description=p.skill_description,
            evidence={"sessions": p.sessions, "steps": p.steps, "occurrences": len(p.sessions)},
        )
    return item


def _print_draft(item: dict[str, Any]) -> None:
    """A new-skill draft as ``proposals`` prints it (every store text escaped)."""
    evidence = item["evidence"]
    risky = f"  [risky: {_safe('; '.join(item['checks']))}]" if item["checks"] else ""
    print(
        f"NEW  {item['ref']}  proposal {item['id']}  ({_safe(item['reason'] or 'repeated work')}, "
        f"{_safe(item['created_at'])}){risky}"
    )
    print(f"  steps: {_safe(' -> '.join(evidence['steps']))}")
    for path in evidence["sessions"]:
        print(f"  session: {_safe(path)}")
    print(f"  description: {_safe(item['description'])}")
    if not item["applies"]:
        print(f"  cannot be accepted: {_safe(item['problem'])}")
        return
    print(
        f"  accept: lakeloop skills accept {item['ref']} {item['id'][:8]}   "
        f"reject: lakeloop skills reject {item['ref']} {item['id'][:8]}"
    )
    print(_safe(item["diff"]).rstrip("\n"))


def proposals(args) -> int:
    """``lakeloop skills proposals [--json]`` (``args.json``; ``args.ref`` optional filter)."""
    from .. import config
    from ..skillopt.review import list_proposals

    def show(store) -> int:
        views = list_proposals(store, getattr(args, "ref", None), config.user_name())
        items = [proposal_item(v) for v in views]
        if getattr(args, "json", False):
            emit_json({"proposals": items})
            return 0
        if not items:
            print("no optimizer changes are waiting for review, and no new skill drafts")
            return 0
        for i, item in enumerate(items):
            if i:
                print()
            if item["kind"] == "new_skill":
                _print_draft(item)
                continue
            now = item["current_version"]
            moved = f", skill now at v{now}" if now is not None and now != item["base_version"] else ""
            print(
                f"{item['ref']}  proposal {item['id']}  (against v{item['base_version']}{moved}, "
                f"{_safe(item['created_at'])})"
            )
            who = _safe(item["proposed_by"] or "unknown")
            print(f"  from {who}'s session {_safe(item['session'] or '?')}")
            print(f"  judge: {_safe(item['reason'] or '(no reason recorded)')}")
            print(f"  held by: {_safe('; '.join(item['held_by']) or '(nothing recorded)')}")
            if not item["applies"]:
                print(f"  cannot be accepted: {_safe(item['problem'])}")
                continue
            print(
                f"  accept: lakeloop skills accept {item['ref']} {item['id'][:8]}   "
                f"reject: lakeloop skills reject {item['ref']} {item['id'][:8]}"
            )
            print(_safe(item["diff"]).rstrip("\n"))
        return 0

    return _run(show)


#: The keys ``accept --json`` prints, in this order (``accept_item`` returns more).
ACCEPT_JSON_KEYS = ("kind", "ref", "proposal_id", "version", "reapplied", "checks", "cleanup_error")


def accept_item(store, ref: str, proposal_id: str) -> dict[str, Any]:
    """Accept proposal ``proposal_id`` (id or unique prefix of >= 6 characters) of ``ref`` as the
    configured user (``skillopt.review.accept``): the published version. Returns ``{kind, ref,
    proposal_id, version, reapplied, checks, cleanup_error, proposal_ref, base_version,
    rolled_back_before}``: ``ref``/``version`` the published row's (a draft publishes
    ``<name>--<you>`` v1), ``proposal_ref`` the proposal's own ref, ``reapplied`` True when the
    edits were re-applied on a newer version, ``checks`` the guard's marks, ``cleanup_error`` why
    the proposal row could not be deleted (None: deleted), ``rolled_back_before`` the version an
    automatic rollback replaced whose body this is (edits only; None: none). Raises
    ``ReviewError`` (refused) and ``StoreError``. Every text is as stored (not escaped)."""
    from .. import config
    from ..skillopt.review import accept as accept_proposal

    done = accept_proposal(store, ref, proposal_id, config.user_name())
    return {
        "kind": done.proposal.kind,
        "ref": done.row.ref,
        "proposal_id": done.proposal.id,
        "version": done.row.version,
        "reapplied": done.moved,
        "checks": done.checks,
        "cleanup_error": done.cleanup_error or None,
        "proposal_ref": done.proposal.ref,
        "base_version": done.proposal.base_version,
        "rolled_back_before": None if done.proposal.kind == "new_skill" else _rolled_back_before(store, done.row),
    }


def reject_item(store, ref: str, proposal_id: str) -> dict[str, Any]:
    """Reject proposal ``proposal_id`` of ``ref`` as the configured user (``skillopt.review.reject``:
    the row deleted; a draft's procedure recorded as rejected for the team). Returns ``{kind, ref,
    proposal_id, rejected: True}``. Raises ``ReviewError`` and ``StoreError``."""
    from .. import config
    from ..skillopt.review import reject as reject_proposal

    gone = reject_proposal(store, ref, proposal_id, config.user_name())
    return {"kind": gone.kind, "ref": gone.ref, "proposal_id": gone.id, "rejected": True}


def accept(args) -> int:
    """``lakeloop skills accept REF ID [--json]`` (``args.ref``, ``args.proposal_id``, ``args.json``)."""

    def do(store) -> int:
        done = accept_item(store, args.ref, args.proposal_id)
        if getattr(args, "json", False):
            emit_json({key: done[key] for key in ACCEPT_JSON_KEYS})
            return 0
        pid = done["proposal_id"][:8]
        if done["kind"] == "new_skill":
            print(f"accepted draft {pid}: published {done['ref']} v{done['version']}")
            if done["checks"]:
                print(f"  the guard's marks (accepted anyway): {_safe('; '.join(done['checks']))}")
            if done["cleanup_error"]:
                print(
                    f"  the draft row could not be deleted ({_safe(done['cleanup_error'])}); "
                    f"reject it: lakeloop skills reject {done['proposal_ref']} {pid}"
                )
            return 0
        how = (
            f" (its edits re-applied on v{done['version'] - 1}: the skill moved since v{done['base_version']})"
            if done["reapplied"]
            else ""
        )
        print(f"accepted proposal {pid}: published {done['ref']} v{done['version']}{how}")
        if done["checks"]:
            print(f"  the guard's checks (accepted anyway): {_safe('; '.join(done['checks']))}")
        if done["cleanup_error"]:
            print(
                f"  the proposal row could not be deleted ({_safe(done['cleanup_error'])}); "
                f"reject it: lakeloop skills reject {done['ref']} {pid}"
            )
        if done["rolled_back_before"] is not None:
            print(f"note: this body is v{done['rolled_back_before']}'s, which was rolled back automatically before")
        return 0

    return _run(do)


def _rolled_back_before(store, row) -> int | None:
    """The version an automatic rollback replaced whose body is ``row``'s (one query), else None;
    a failed read is None (the note is a courtesy, the accept is done)."""
    from ..errors import StoreError
    from ..skillopt.versions import body_sha, rolled_back, team_rows

    try:
        return rolled_back(team_rows(store, row.name, row.author)).get(body_sha(row.body))
    except StoreError:
        return None


def reject(args) -> int:
    """``lakeloop skills reject REF ID [--json]`` (``args.ref``, ``args.proposal_id``, ``args.json``)."""

    def do(store) -> int:
        gone = reject_item(store, args.ref, args.proposal_id)
        if getattr(args, "json", False):
            emit_json(gone)
        elif gone["kind"] == "new_skill":
            pid = gone["proposal_id"][:8]
            print(f"rejected draft {pid} of {gone['ref']}: this procedure will not be proposed again")
        else:
            print(f"rejected proposal {gone['proposal_id'][:8]} of {gone['ref']}")
        return 0

    return _run(do)
