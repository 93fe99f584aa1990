"""``/proposals``: the review queue and its actions.

* GET ``/proposals``: every held optimizer edit (``kind`` ``edit``) and every drafted new skill
  (``kind`` ``new_skill``) from ``skillopt.review.list_proposals`` (one store section), each with its
  diff or body, evidence (who, which session, the judge's reason; a draft's sessions and steps) and
  the guard's findings, and links to Accept / Reject.
* GET ``/proposals/confirm?ref=R&id=I&action=accept|reject``: what the action will do, and a POST
  form (fields ``ref``, ``id``, ``csrf``) with a Confirm button; 404 for an unknown proposal or action.
* POST ``/proposals/accept`` and ``/proposals/reject``: the same code path as ``lakeloop skills
  accept|reject`` (``cli.skills_review.accept_item`` / ``reject_item``), then the store cache is
  cleared and the result page shows the published ref and version, or the refusal (409) / store
  failure (503). The CSRF value, Origin and body size are checked before (``security.Guard``).

Every stored text reaches the page only through the templates' autoescaping (``visible`` filter).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

#: The actions a confirmation or a POST may name.
ACTIONS = ("accept", "reject")


def _items(store: Any) -> list[dict[str, Any]]:
    """``proposal_item`` dicts of every proposal, previewed for the configured user."""
    from ... import config
    from ...cli.skills_review import proposal_item
    from ...skillopt.review import list_proposals

    return [proposal_item(view) for view in list_proposals(store, None, config.user_name())]


async def _listing(request: Any) -> tuple[list[dict[str, Any]], str | None]:
    """``(items, None)`` or ``([], one-line error)``."""
    from ...errors import LakeloopError
    from ...textsafe import escape_line

    try:
        return await request.app.state.runner.call("proposals.list", _items), None
    except LakeloopError as exc:
        return [], escape_line(str(exc))


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
    (200), the refusal (409, ``RequestRefused`` such as an unknown proposal) or the store failure (503)."""
    from ...cli.skills_review import accept_item, reject_item
    from ...errors import RequestRefused, StoreError
    from ...textsafe import escape_line

    fields = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
    ref, pid = fields.get("ref", ""), fields.get("id", "")
    fn = accept_item if action == "accept" else reject_item
    runner = request.app.state.runner
    try:
        # A fresh key: a write is never answered from the cache.
        outcome = await runner.call(object(), lambda store: fn(store, ref, pid))
    except RequestRefused as exc:
        return _done(request, None, escape_line(str(exc)), 409)
    except StoreError as exc:
        return _done(request, None, escape_line(str(exc)), 503)
    finally:
        runner.clear()
    outcome["action"] = action
    return _done(request, outcome, None, 200)


def _done(request: Any, outcome: dict[str, Any] | None, error: str | None, status: int) -> Any:
    from ..render import render

    if outcome is None:
        title = "Refused"
    else:
        title = "Proposal accepted" if outcome["action"] == "accept" else "Proposal rejected"
    return render(request, "review_done.html", {"title": title, "outcome": outcome, "error": error}, status)
