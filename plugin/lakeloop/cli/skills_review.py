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


def accept(args) -> int:
    """``lakeloop skills accept REF ID [--json]`` (``args.ref``, ``args.proposal_id``, ``args.json``)."""
    from .. import config
    from ..skillopt.review import accept as accept_proposal

    def do(store) -> int:
        done = accept_proposal(store, args.ref, args.proposal_id, config.user_name())
        if getattr(args, "json", False):
            emit_json(
                {
                    "kind": done.proposal.kind,
                    "ref": done.row.ref,
                    "proposal_id": done.proposal.id,
                    "version": done.row.version,
                    "reapplied": done.moved,
                    "checks": done.checks,
                    "cleanup_error": done.cleanup_error or None,
                }
            )
            return 0
        if done.proposal.kind == "new_skill":
            print(f"accepted draft {done.proposal.id[:8]}: published {done.row.ref} v{done.row.version}")
            if done.checks:
                print(f"  the guard's marks (accepted anyway): {_safe('; '.join(done.checks))}")
            if done.cleanup_error:
                print(
                    f"  the draft row could not be deleted ({_safe(done.cleanup_error)}); "
                    f"reject it: lakeloop skills reject {done.proposal.ref} {done.proposal.id[:8]}"
                )
            return 0
        how = (
            f" (its edits re-applied on v{done.row.version - 1}: the skill moved since v{done.proposal.base_version})"
            if done.moved
            else ""
        )
        print(f"accepted proposal {done.proposal.id[:8]}: published {done.row.ref} v{done.row.version}{how}")
        if done.checks:
            print(f"  the guard's checks (accepted anyway): {_safe('; '.join(done.checks))}")
        if done.cleanup_error:
            print(
                f"  the proposal row could not be deleted ({_safe(done.cleanup_error)}); "
                f"reject it: lakeloop skills reject {done.row.ref} {done.proposal.id[:8]}"
            )
        gone = _rolled_back_before(store, done.row)
        if gone is not None:
            print(f"note: this body is v{gone}'s, which was rolled back automatically before")
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
    from .. import config
    from ..skillopt.review import reject as reject_proposal

    def do(store) -> int:
        gone = reject_proposal(store, args.ref, args.proposal_id, config.user_name())
        if getattr(args, "json", False):
            emit_json({"kind": gone.kind, "ref": gone.ref, "proposal_id": gone.id, "rejected": True})
        elif gone.kind == "new_skill":
            print(f"rejected draft {gone.id[:8]} of {gone.ref}: this procedure will not be proposed again")
        else:
            print(f"rejected proposal {gone.id[:8]} of {gone.ref}")
        return 0

    return _run(do)
