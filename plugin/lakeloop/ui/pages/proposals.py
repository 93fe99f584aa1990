"""``/proposals``: the review queue and its actions.

* GET ``/proposals``: every held optimizer edit (``kind`` ``edit``) and every drafted new skill
  (``kind`` ``new_skill``) from ``skillopt.review.list_proposals`` (one store section), each with its
  diff or body, evidence (who, which session, the judge's reason; a draft's sessions and steps) and
  the guard's findings, and links to Accept / Reject.
* GET ``/proposals/confirm?ref=R&id=I&action=accept|reject``: what the action will do, and a POST
  form (fields ``ref``, ``id``, ``csrf``) with a Confirm button; 404 for an unknown proposal or action.
* POST ``/proposals/accept`` and ``/proposals/reject``: the same code path as ``lakeloop skills
  accept|reject`` (``cli.skills_review.accept_item`` / ``reject_item``), then the store cache is
  cleared and the result page shows the published ref and version, or the refusal (409, any
  ``LakeloopError`` or ``ValueError`` that is not a store failure) / store failure (503). The CSRF
  value, Origin and body size are checked before (``security.Guard``).

Sections: both GET pages have ONE store section (``list_proposals``: one statement, cached under
one key, shared by the list and the confirmation). What is shown is bounded (``bounded``,
``PREVIEW_CHARS``): a proposal of megabytes renders in milliseconds and says what it left out.

Every stored text reaches the page only through the templates' autoescaping (``visible`` filter).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

#: The actions a confirmation or a POST may name.
ACTIONS = ("accept", "reject")
#: Characters of a proposal's bodies (current + proposed) previewed in full (guard run, whole diff);
#: a larger one gets ``review.bounded_preview`` (the guard runs on accept, not on every listing).
PREVIEW_CHARS = 30_000
#: Characters of all proposals previewed in full together; the proposals after are bounded too.
PREVIEW_TOTAL_CHARS = 200_000
#: Lines and characters shown of one diff (then how much was left out).
DIFF_LINES = 1500
DIFF_CHARS = 60_000
#: Characters shown of one stored text (reason, description, a step, a session path, a finding).
TEXT_CHARS = 2000
#: Entries shown of one list (evidence sessions, steps, findings).
LIST_ITEMS = 50


def _items(store: Any) -> list[dict[str, Any]]:
    """``proposal_item`` dicts of every proposal, previewed for the configured user, bounded for the
    page (``bounded``)."""
    from ... import config
    from ...cli.skills_review import proposal_item
    from ...skillopt.review import list_proposals

    views = list_proposals(store, None, config.user_name(), limit=PREVIEW_CHARS, total=PREVIEW_TOTAL_CHARS)
    return [bounded(proposal_item(view)) for view in views]


def _cut(text: str) -> str:
    from ...textsafe import cut

    return cut(text, TEXT_CHARS)


def bounded(item: dict[str, Any]) -> dict[str, Any]:
    """``item`` (a ``proposal_item`` dict) with what the page shows bounded: ``diff`` cut to
    ``DIFF_LINES`` lines and ``DIFF_CHARS`` characters, with ``diff_omitted`` (``""``, or e.g.
    ``"98,500 more lines (3,100,000 characters) not shown"``); every stored text to ``TEXT_CHARS``
    characters and every list to ``LIST_ITEMS`` entries (evidence ``occurrences`` keeps the true count).
    A new dict; ``item`` is not changed."""
    out = dict(item)
    diff = item["diff"] or ""
    lines = diff.splitlines(keepends=True)
    shown = "".join(lines[:DIFF_LINES])[:DIFF_CHARS]
    out["diff"], out["diff_omitted"] = shown, ""
    if len(shown) < len(diff):
        more_lines = len(lines) - shown.count("\n")
        out["diff_omitted"] = f"{more_lines:,} more lines ({len(diff) - len(shown):,} characters) not shown"
    for key in ("reason", "description", "problem", "proposed_by", "session", "name"):
        if isinstance(item.get(key), str):
            out[key] = _cut(item[key])
    for key in ("checks", "held_by"):
        out[key] = [_cut(str(x)) for x in item.get(key) or []][:LIST_ITEMS]
    if "evidence" in item:
        evidence = dict(item["evidence"])
        evidence["sessions"] = [_cut(str(x)) for x in evidence["sessions"][:LIST_ITEMS]]
        evidence["steps"] = [_cut(str(x)) for x in evidence["steps"][:LIST_ITEMS]]
        out["evidence"] = evidence
    return out


async def _listing(request: Any) -> tuple[list[dict[str, Any]], str | None]:
    """``(items, None)`` or ``([], one-line error)``: the page's one section (``list_proposals``
    raises ``ReviewError`` too, which is shown the same way)."""
    from ...errors import LakeloopError

    items, error = await request.app.state.runner.section("proposals.list", _items, (LakeloopError,))
    return items or [], error


def _links(request: Any, item: dict[str, Any]) -> dict[str, str]:
    """The confirmation URLs of ``item``'s two actions (query strings percent-encoded)."""
    from urllib.parse import urlencode

    base = request.url_for("proposal_confirm").path
    return {a: f"{base}?{urlencode({'ref': item['ref'], 'id': item['id'], 'action': a})}" for a in ACTIONS}


async def page(request: Any) -> Any:
    """GET ``/proposals``: the list (HTML 200; a store failure is shown as one line)."""
    from ..render import render

    items, error = await _listing(request)
    links = [_links(request, item) for item in items]
    return render(request, "proposals.html", {"title": "Proposals", "items": items, "links": links, "error": error})


async def confirm(request: Any) -> Any:
    """GET ``/proposals/confirm``: the confirmation page of ``action`` on proposal ``id`` of ``ref``
    (404 when the action is unknown or no waiting proposal has that ref and id)."""
    from starlette.exceptions import HTTPException

    from ..render import render

    ref, pid, action = (request.query_params.get(k, "") for k in ("ref", "id", "action"))
    items, error = await _listing(request)
    found = [i for i in items if i["ref"] == ref and i["id"] == pid]
    if action not in ACTIONS or not found:
        if error:
            return render(request, "review_done.html", {"title": "Refused", "outcome": None, "error": error}, 503)
        raise HTTPException(404)
    item = found[0]
    if item["kind"] == "new_skill":
        target = f"{item['name']}--{_user()} v1"
    else:
        target = f"{item['ref']} v{(item['current_version'] or 0) + 1}"
    title = "Accept this proposal?" if action == "accept" else "Reject this proposal?"
    return render(
        request,
        "confirm.html",
        {
            "title": title,
            "item": item,
            "action": action,
            "target": target,
            "cancel": request.url_for("proposals").path,
        },
    )


def _user() -> str:
    from ... import config

    return config.user_name()


async def accept(request: Any) -> Any:
    """POST ``/proposals/accept`` (form fields ``ref``, ``id``): ``act(request, "accept")``."""
    return await act(request, "accept")


async def reject(request: Any) -> Any:
    """POST ``/proposals/reject`` (form fields ``ref``, ``id``): ``act(request, "reject")``."""
    return await act(request, "reject")


async def act(request: Any, action: str) -> Any:
    """POST of ``action`` (``accept`` or ``reject``; form fields ``ref``, ``id``): runs
    ``accept_item`` / ``reject_item`` on the store thread, clears the cache, renders the result
    (200), the refusal (409: ``RequestRefused`` such as ``ReviewError``: unknown proposal, edits that
    no longer apply, a draft whose skill exists; or any other ``LakeloopError`` or ``ValueError`` the
    accept raises, such as skillify's ``DraftError``) or the store failure (503, ``StoreError``)."""
    from ...cli.skills_review import accept_item, reject_item
    from ...errors import LakeloopError, RequestRefused, StoreError
    from ...textsafe import escape_line

    fields = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
    ref, pid = fields.get("ref", ""), fields.get("id", "")
    fn = accept_item if action == "accept" else reject_item
    runner = request.app.state.runner
    try:
        # A writable store for this one call (pages read a read-only one); the cache is cleared after.
        outcome = await runner.write(lambda store: fn(store, ref, pid))
    except RequestRefused as exc:
        return _done(request, None, escape_line(str(exc)), 409)
    except StoreError as exc:
        return _done(request, None, escape_line(str(exc)), 503)
    except (LakeloopError, ValueError) as exc:  # e.g. skillify's DraftError: refused, not a crash
        return _done(request, None, escape_line(f"cannot {action} proposal {pid[:64]!r} of {ref[:120]!r}: {exc}"), 409)
    outcome["action"] = action
    return _done(request, outcome, None, 200)


def _done(request: Any, outcome: dict[str, Any] | None, error: str | None, status: int) -> Any:
    from ..render import render

    if outcome is None:
        title = "Refused"
    else:
        title = "Proposal accepted" if outcome["action"] == "accept" else "Proposal rejected"
    return render(request, "review_done.html", {"title": title, "outcome": outcome, "error": error}, status)
