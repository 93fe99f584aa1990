"""``/sessions`` (the list) and ``/sessions/view?path=…`` (one session).

List: one page of ``Store.session_list`` (filters ``user``, ``agent``, ``project``, ``since``,
paged by ``page``) and ONE memory query for those sessions' summaries (their first sentence).
With ``q``, the list is replaced by the hits of ``Store.search`` (the BM25 search of
``lakeloop search``, with the same four filters; an agent filter keeps session lines only, and the
page says so), one query. Session page: ``Store.session_rows`` (one query: the oldest
``MAX_EVENTS`` rows and the session's count; a message longer than ``MESSAGE_BYTES`` is cut in
SQL and marked ``(N bytes, cut)``) and its summary (one memory query, shown up to
``SUMMARY_CHARS``), shown as a timeline: prompts, tool calls collapsed in ``<details>`` (input and
output cut to ``TEXT_CHARS``), answers. A ``path`` that is not a session path, or a session with no
rows, answers the 404 page. Every stored text reaches the template as plain text (escaped there,
by the autoescaping environment of ``render``); a stored value of any JSON type or depth renders.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import re
from typing import Any

#: Sessions per page of the list.
PAGE_SIZE = 50
#: Highest page number taken (a larger one is this one: the offset stays an SQLite integer).
MAX_PAGE = 100_000
#: Hits shown for a search.
SEARCH_LIMIT = 50
#: Characters shown of one prompt, answer, tool input or tool output (then ``…``).
TEXT_CHARS = 4000
#: Events shown of one session (the oldest first); a longer session says how many were left out.
MAX_EVENTS = 2000
#: A stored message longer than this (bytes of its JSON text) is not read whole for the session
#: page: the store cuts its fields in SQL (``Store.session_rows(message_bytes=...)``).
MESSAGE_BYTES = 16_384
#: Characters shown of a session's summary.
SUMMARY_CHARS = 20_000
#: A search hit's stored session line longer than this (characters) is not JSON-decoded.
HIT_DECODE_CHARS = 262_144
#: A session row path: ``/sessions/<user>/<file>.jsonl``, one safe component each (``identity.session_path``).
SESSION_PATH = re.compile(r"/sessions/[A-Za-z0-9._@+-]{1,200}/[A-Za-z0-9._@+-]{1,400}\.jsonl")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def cut(text: str, limit: int = TEXT_CHARS) -> str:
    """``textsafe.cut`` with the page's default of ``TEXT_CHARS`` characters."""
    from ...textsafe import cut as cut_to

    return cut_to(text, limit)


def since_bound(value: str, now: _dt.datetime | None = None) -> str | None:
    """The UTC bound (``identity.utc_now``'s format) of a ``since`` filter: ``today`` (local
    midnight), ``week`` (local Monday midnight) or a local date ``YYYY-MM-DD``; None for ``""`` or
    anything else (no filter)."""
    from ...identity import utc_text
    from .overview import bounds

    week, day = bounds(now)
    if value == "today":
        return day
    if value == "week":
        return week
    if _DAY.fullmatch(value):
        try:
            local = _dt.datetime.strptime(value, "%Y-%m-%d").astimezone()
        except ValueError:
            return None
        return utc_text(local)
    return None


def length(first: str, last: str) -> str:
    """The time between two ISO-8601 UTC texts as ``3 h 05 min``, ``12 min`` or ``< 1 min``; ``""``
    when either does not parse."""
    try:
        start = _dt.datetime.fromisoformat(first.replace("Z", "+00:00"))
        end = _dt.datetime.fromisoformat(last.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return ""
    minutes = int((end - start).total_seconds() // 60)
    if minutes < 1:
        return "< 1 min"
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _text(value: Any) -> str:
    """A stored value as readable text: JSON text (a tool's input or output) decoded, a JSON
    string as its text, an object or list pretty-printed; other values as they are; ``""`` for None."""
    if value is None:
        return ""
    if isinstance(value, str):
        if value[:1] not in '{["' or len(value) > MESSAGE_BYTES:
            return value
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return value
        if isinstance(value, str):
            return value
    try:
        return json.dumps(value, indent=2, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        pass
    try:
        return str(value)
    except (ValueError, TypeError, RecursionError):  # nested too deep, or an int too long to print
        return f"({type(value).__name__}, not shown)"


def _plain(value: Any) -> str:
    """A stored value as text without decoding JSON text: a ``str`` as it is, ``""`` for None,
    anything else as ``_text`` shows it."""
    return value if isinstance(value, str) else _text(value)


def event(row: Any) -> dict[str, Any]:
    """One timeline entry of a ``SessionRow``: ``{kind: prompt|tool|answer|other, when, tool,
    text, input, output, cut}`` (stored text, cut to ``TEXT_CHARS``; not escaped; ``cut``: ``""``, or
    ``(N bytes, cut)`` when the store cut the message, ``memory_sql.CUT_KEY``)."""
    from ...store.memory_sql import CUT_KEY

    message = row.message if isinstance(row.message, dict) else {}
    kind = {"user_message": "prompt", "assistant_message": "answer", "tool_call": "tool"}.get(
        _plain(message.get("type")), "other"
    )
    size = message.get(CUT_KEY)
    out = {
        "kind": kind,
        "when": _plain(row.creation_date),
        "tool": "",
        "text": "",
        "input": "",
        "output": "",
        "cut": f"({size:,} bytes, cut)" if type(size) is int else "",
    }
    if kind == "tool":
        out["tool"] = cut(_plain(message.get("tool_name")) or "tool", 200)
        out["input"] = cut(_text(message.get("tool_input")))
        out["output"] = cut(_text(message.get("tool_response")))
    elif kind == "other":
        out["tool"] = cut(_plain(message.get("hook_event_name")) or _plain(message.get("type")) or "event", 200)
        out["text"] = cut(_text(message))
    else:
        out["text"] = cut(_text(message.get("content")))
    return out


def _summary_paths(sessions: list[dict[str, Any]]) -> dict[str, str]:
    from ...summaries import path_for

    return {s["path"]: path_for(s["author"], s["session_id"]) for s in sessions if s.get("session_id")}


def _summaries(paths: tuple[str, ...]) -> Any:
    """A store call: ``{summary path: text}`` of the memory rows at ``paths`` (ONE memory query)."""
    from ...store.memory_types import DOC, MemoryQuery

    def call(store: Any) -> dict[str, str]:
        if not paths:
            return {}
        records = store.memory_query(MemoryQuery(prefixes=paths, content=True))
        return {r.path: r.text for r in records if r.kind == DOC}

    return call


def _hit(hit: Any, words: list[str]) -> dict[str, Any]:
    """A search hit for the template: ``{kind, path, session (bool), line, author, date, text}``."""
    from ...cli.search import session_text
    from ...store.memory_sql import snippet

    kind = str(hit.extra.get("kind", ""))
    source = hit.extra.get("source", hit.text)
    text = _text(source) if not isinstance(source, str) else source
    if kind == "session" and len(text) <= HIT_DECODE_CHARS:  # a longer line is shown as stored
        try:
            message = json.loads(text)
            text = session_text(message, words) if isinstance(message, dict) else text
        except (TypeError, ValueError, RecursionError):
            pass
    return {
        "kind": kind or "document",
        "path": hit.path,
        "session": kind == "session" and SESSION_PATH.fullmatch(hit.path) is not None,
        "line": hit.line,
        "author": hit.author,
        "date": hit.date,
        "text": cut(snippet(text, words), 400),
    }


def _search_notes(form: dict[str, str], agent: str | None, since: str | None) -> list[str]:
    """What the search's filters mean, one line each (not escaped): an agent filter keeps only
    session lines (notes, summaries and skills belong to no agent); a ``since`` that is not a
    bound is ignored."""
    notes = []
    if agent:
        notes.append("The agent filter keeps session lines only: notes, summaries and skills have no agent.")
    if form["since"] and since is None:
        notes.append("The since filter is ignored: use today, week or YYYY-MM-DD.")
    return notes


async def page(request: Any) -> Any:
    """GET ``/sessions``: the filtered, paged list of sessions, or the search hits for ``q``
    (HTML, 200 also when the store is unreachable: the section shows its error)."""
    from ...store.base import SessionListQuery
    from ...store.memory_sql import search_words
    from ...summaries.recall import first_sentence
    from ..render import render

    params = request.query_params
    form = {k: params.get(k, "").strip() for k in ("user", "agent", "project", "since", "q")}
    try:
        number = min(MAX_PAGE, max(1, int(params.get("page", "1"))))
    except ValueError:
        number = 1
    context: dict[str, Any] = {
        "title": "Sessions",
        "form": form,
        "error": None,
        "sessions": [],
        "hits": None,
        "notes": [],
    }
    if form["q"]:
        query, user, project = form["q"], form["user"] or None, form["project"] or None
        agent, since = form["agent"] or None, since_bound(form["since"])
        hits, context["error"] = await request.app.state.runner.section(
            ("sessions.search", query, user, project, agent, since),
            lambda store: store.search(query, limit=SEARCH_LIMIT, user=user, project=project, agent=agent, since=since),
        )
        words = search_words(query)
        # Decoding lines and cutting snippets is CPU work on up to SEARCH_LIMIT large texts: off the loop.
        context["hits"] = await asyncio.to_thread(lambda: [_hit(h, words) for h in hits or []])
        context["notes"] = _search_notes(form, agent, since)
        return render(request, "sessions.html", context)
    listing = SessionListQuery(
        user=form["user"] or None,
        agent=form["agent"] or None,
        project=form["project"] or None,
        since=since_bound(form["since"]),
        limit=PAGE_SIZE + 1,
        offset=(number - 1) * PAGE_SIZE,
    )
    sessions, context["error"] = await request.app.state.runner.section(
        ("sessions.list", listing), lambda store: store.session_list(listing)
    )
    sessions = sessions or []
    more = len(sessions) > PAGE_SIZE
    sessions = sessions[:PAGE_SIZE]
    paths = _summary_paths(sessions)
    wanted = tuple(sorted(set(paths.values())))
    texts, summary_error = await request.app.state.runner.section(("sessions.summaries", wanted), _summaries(wanted))
    texts = texts or {}
    for s in sessions:
        summary = texts.get(paths.get(s["path"], ""), "")
        s["summary"] = cut(first_sentence(summary), 300) if summary else ""
        s["length"] = length(s.get("first", ""), s.get("last", ""))
    kept = {k: v for k, v in form.items() if v and k != "q"}
    context.update(
        sessions=sessions,
        summary_error=summary_error,
        number=number,
        previous={**kept, "page": number - 1} if number > 1 else None,
        following={**kept, "page": number + 1} if more else None,
    )
    return render(request, "sessions.html", context)


async def view(request: Any) -> Any:
    """GET ``/sessions/view?path=…``: one session's summary and timeline; the 404 page when
    ``path`` is not a session path or has no rows."""
    from starlette.exceptions import HTTPException

    from ...summaries import path_for
    from ..render import render

    path = request.query_params.get("path", "")
    if SESSION_PATH.fullmatch(path) is None or ".." in path:
        raise HTTPException(404)
    rows, error = await request.app.state.runner.section(
        ("session.rows", path),
        lambda store: store.session_rows(path, limit=MAX_EVENTS, message_bytes=MESSAGE_BYTES),
    )
    if error is None and not rows:
        raise HTTPException(404)
    rows = rows or []
    total = max(len(rows), int(getattr(rows, "total", 0) or 0))
    last = str(getattr(rows, "last", "") or (rows[-1].creation_date if rows else ""))
    # the session's user and id: from its first row that names its session (another client's row may not)
    first = next(
        (r for r in rows if isinstance(r.message, dict) and r.message.get("session_id")), rows[0] if rows else None
    )
    summary, summary_error = "", None
    if first is not None:
        session_id = _plain(first.message.get("session_id")) if isinstance(first.message, dict) else ""
        where = path_for(first.author, session_id)
        texts, summary_error = await request.app.state.runner.section(("session.summary", where), _summaries((where,)))
        summary = cut(_plain((texts or {}).get(where)), SUMMARY_CHARS)
    return render(
        request,
        "session.html",
        {
            "title": "Session",
            "path": path,
            "error": error,
            "summary": summary,
            "summary_error": summary_error,
            "user": first.author if first else "",
            "agent": first.agent if first else "",
            "project": first.project if first else "",
            "first": rows[0].creation_date if rows else "",
            "length": length(rows[0].creation_date, last) if rows else "",
            "count": total,
            "events": [event(r) for r in rows[:MAX_EVENTS]],
            "left_out": max(0, total - min(len(rows), MAX_EVENTS)),
        },
    )
