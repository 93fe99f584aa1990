"""Reviewing held optimizer changes: ``lakeloop skills proposals|accept|reject``.

* ``proposals [--json]``: every waiting proposal, oldest first: ref, proposal id, the base
  version it was proposed against and the current version, who it came from, the judge's
  reason, the checks that held it, and the unified diff of what accepting would publish
  now (``skillopt.review.preview``), or why it can no longer be accepted.
* ``accept REF ID [--json]``: publishes the proposal as the current version + 1 (its edits
  re-applied when the skill moved since), recorded as published by you, then deletes the
  proposal. The guard's reasons are shown; they do not stop a person's accept.
* ``reject REF ID [--json]``: deletes the proposal.

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
    """One JSON-ready dict per ``review.Preview``: ``ref, id, base_version, current_version,
    proposed_by, session, created_at, reason, held_by, checks, applies, problem, diff``."""
    p = view.proposal
    return {
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


def proposals(args) -> int:
    """``lakeloop skills proposals [--json]`` (``args.json``; ``args.ref`` optional filter)."""
    from ..skillopt.review import list_proposals

    def show(store) -> int:
        items = [proposal_item(v) for v in list_proposals(store, getattr(args, "ref", None))]
        if getattr(args, "json", False):
            emit_json({"proposals": items})
            return 0
        if not items:
            print("no optimizer changes are waiting for review")
            return 0
        for i, item in enumerate(items):
            if i:
                print()
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
                    "ref": done.row.ref,
                    "proposal_id": done.proposal.id,
                    "version": done.row.version,
                    "reapplied": done.moved,
                    "checks": done.checks,
                    "cleanup_error": done.cleanup_error or None,
                }
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
        return 0

    return _run(do)


def reject(args) -> int:
    """``lakeloop skills reject REF ID [--json]`` (``args.ref``, ``args.proposal_id``, ``args.json``)."""
    from ..skillopt.review import reject as reject_proposal

    def do(store) -> int:
        gone = reject_proposal(store, args.ref, args.proposal_id)
        if getattr(args, "json", False):
            emit_json({"ref": gone.ref, "proposal_id": gone.id, "rejected": True})
        else:
            print(f"rejected proposal {gone.id[:8]} of {gone.ref}")
        return 0

    return _run(do)
