"""``lakeloop search QUERY [--json] [--limit N] [--user U] [--project P]``: the team memory's
best matches for the words of QUERY, best first.

Searches the store in use (``Store.search``): captured session lines, session summaries and notes
of the memory table, and the current team skills; BM25 ranking where the store has it (the
embedded store's FTS5 index; Deeplake's ``<#>``, else ``ILIKE`` ranked locally); between equal
scores a summary comes first, then a note, a skill, a raw session line. ``--user``/``--project``
keep only rows of that author/project. Human output, two lines per hit, best first: where it is (a
session's short id, the line and its event; or the summary, note or skill path), the user and the
local time, then
the matching text as plain text (a session line's JSON decoded: the prompt or answer, or a tool
call's input and output as ``key: value``), a window around the first match cut to the
terminal's width::

    session e8f2d602 line 12 (Grep call)  alice  2026-12-07 14:02
      …pattern: migration · path: db/…

The words of QUERY are shown in bold when stdout is a terminal and ``NO_COLOR`` is not set. All
stored text is shown on one line with its control and bidi characters as escapes (``\\x1b``;
``_output.one_line``); the only escape sequences printed are that bold.

``--json`` prints the hits as a JSON list of ``{path, line, text, author, project, date, score,
kind}`` (``text``: the stored text around the match; ``kind``: ``session``, ``summary``, ``note``
or ``skill``). Exit codes: 0 (also when nothing matched:
a message says so, or ``[]`` with ``--json``), 1 when the store cannot be read, 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any

DEFAULT_LIMIT = 10


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"not a positive number: {text!r}")
    return value


def add_parser(sub) -> None:
    """Register ``search`` on the ``lakeloop`` sub-command parsers ``sub``."""
    search = sub.add_parser(
        "search", help="search the team memory (sessions, summaries, notes, skills), best matches first"
    )
    search.add_argument("query", nargs="+", metavar="QUERY", help="words to look for (3+ characters match best)")
    search.add_argument("--json", action="store_true", help="print the hits as JSON")
    search.add_argument(
        "--limit", type=_positive, default=DEFAULT_LIMIT, help=f"most hits to show (default {DEFAULT_LIMIT})"
    )
    search.add_argument("--user", metavar="U", help="only rows written by this user")
    search.add_argument("--project", metavar="P", help="only rows of this project")


#: Fields of a session line's message that hold what was said or done, by message type.
_TEXT_FIELDS = {"tool_call": ("tool_input", "tool_response")}
_EVENTS = {"user_message": "prompt", "assistant_message": "answer"}
BOLD, PLAIN = "\x1b[1m", "\x1b[0m"


#: Deepest nesting of stored JSON shown as ``key: text`` leaves; deeper values are shown as text.
MAX_DEPTH = 20


def _leaves(value: Any, key: str, out: list[str], depth: int = 0) -> None:
    """Append the text leaves of ``value`` to ``out`` as ``key: text`` (``text`` alone without a
    key); a string holding a JSON object or list (a tool call's input and output are stored as
    JSON text) is decoded first. Stored text is hostile: JSON too deep to decode, or nested
    beyond ``MAX_DEPTH``, is shown as text."""
    if isinstance(value, str) and value[:1] in "{[" and depth < MAX_DEPTH:
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            pass
    if depth >= MAX_DEPTH and isinstance(value, (dict, list)):
        value = str(value)
    if isinstance(value, dict):
        for k, v in value.items():
            _leaves(v, str(k), out, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _leaves(v, key, out, depth + 1)
    elif value not in (None, "", [], {}):
        out.append(f"{key}: {value}" if key else str(value))


def session_text(message: dict[str, Any], words: list[str]) -> str:
    """What a session line's ``message`` says, as plain text: the prompt or answer (``content``),
    or a tool call's input and output as ``key: text`` parts joined with `` · ``. When no word of
    ``words`` is in it (the match was in another field), every field of the message."""
    out: list[str] = []
    for name in _TEXT_FIELDS.get(str(message.get("type")), ("content",)):
        _leaves(message.get(name), "", out)
    text = " · ".join(out)
    low = text.lower()
    if not any(w.lower() in low for w in words):
        out = []
        _leaves(message, "", out)
        text = " · ".join(out)
    return text


def _colour() -> bool:
    """True when stdout is a terminal and ``NO_COLOR`` is unset or empty (no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def highlight(text: str, words: list[str]) -> str:
    """``text`` with every occurrence of ``words`` (ASCII case-insensitive) in bold (ANSI)."""
    if not words:
        return text
    pattern = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.IGNORECASE)
    return pattern.sub(lambda m: f"{BOLD}{m.group()}{PLAIN}", text)


def where(hit, message: dict[str, Any] | None) -> str:
    """Where ``hit`` is, on one line: ``session <id8> line N (<event>)`` for a session line (the
    event: prompt, answer or ``<tool> call``), else the summary, note or skill path; then user and local
    time. Stored text, escaped (``_output.one_line``)."""
    from ._output import local_time, one_line

    if message is not None:
        sid = str(message.get("session_id") or hit.path.rsplit("_", 1)[-1].removesuffix(".jsonl"))
        kind = str(message.get("type", ""))
        event = _EVENTS.get(kind) or (f"{message.get('tool_name') or 'tool'} call" if kind == "tool_call" else kind)
        place = f"session {sid[:8]} line {hit.line} ({event})"
    else:
        place = hit.path
    return "  ".join((one_line(place), one_line(hit.author or "?"), local_time(hit.date)))


def show(hit, words: list[str], width: int, colour: bool) -> list[str]:
    """The two lines printed for ``hit``: ``where`` and the matching text, a window around the
    first of ``words`` (``memory_sql.snippet``) escaped on one line, cut to ``width`` columns and
    highlighted when ``colour``."""
    from ..store.memory_sql import snippet
    from ._output import cut, one_line

    source = hit.extra.get("source", hit.text)
    message = None
    if hit.extra.get("kind") == "session":
        try:
            decoded = json.loads(source)
        except (TypeError, ValueError, RecursionError):
            decoded = None
        message = decoded if isinstance(decoded, dict) else None
    text = session_text(message, words) if message is not None else str(source)
    shown = cut(one_line(snippet(text, words)), max(10, width - 2))
    return [cut(where(hit, message), width), "  " + (highlight(shown, words) if colour else shown)]


def run(args) -> int:
    """Print the hits for ``args.query``. Raises StoreError when the store cannot be read
    (``cli.error_handler``: exit 1, one line on stderr)."""
    from ..store import open_store

    query = " ".join(args.query)
    with open_store() as store:
        hits = store.search(query, limit=args.limit, user=args.user, project=args.project)
    if args.json:
        from ._output import emit_json

        emit_json(
            [
                {
                    "path": h.path,
                    "line": h.line,
                    "text": h.text,
                    "author": h.author,
                    "project": h.project,
                    "date": h.date,
                    "score": h.score,
                    "kind": h.extra.get("kind", ""),
                }
                for h in hits
            ]
        )
        return 0
    if not hits:
        print("no matches in the team memory")
        return 0
    from ..store.memory_sql import search_words
    from ._output import terminal_width

    words, width, colour = search_words(query), terminal_width(), _colour()
    for h in hits:
        for line in show(h, words, width, colour):
            print(line)
    return 0
