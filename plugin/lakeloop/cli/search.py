"""``lakeloop search QUERY [--json] [--limit N] [--user U] [--project P]``: the team memory's
best matches for the words of QUERY, best first.

Searches the store in use (``Store.search``): captured session lines, notes of the memory table
and the current team skills; BM25 ranking where the store has it (the embedded store's FTS5
index; Deeplake's ``<#>``, else ``ILIKE`` ranked locally). ``--user``/``--project`` keep only
rows of that author/project. Human output, one hit per line, best first::

    /sessions/alice/alice_acme_default_<sid>.jsonl:12  3.41  …text around the first match…

(``path`` alone for a note or skill). ``--json`` prints the hits as a JSON list of
``{path, line, text, author, project, date, score, kind}``. Exit codes: 0 (also when nothing
matched: a message says so, or ``[]`` with ``--json``), 1 when the store cannot be read,
2 bad usage. The text shown is the stored text, redacted at capture, with control and bidi
characters shown as escapes (``\\x1b``; in ``--json`` as JSON ``\\u`` escapes); nothing else is printed.
"""

from __future__ import annotations

import argparse

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
    search = sub.add_parser("search", help="search the team memory (sessions, notes, skills), best matches first")
    search.add_argument("query", nargs="+", metavar="QUERY", help="words to look for (3+ characters match best)")
    search.add_argument("--json", action="store_true", help="print the hits as JSON")
    search.add_argument(
        "--limit", type=_positive, default=DEFAULT_LIMIT, help=f"most hits to show (default {DEFAULT_LIMIT})"
    )
    search.add_argument("--user", metavar="U", help="only rows written by this user")
    search.add_argument("--project", metavar="P", help="only rows of this project")


def _one_line(text: str) -> str:
    """``text`` on one line: line breaks and tabs become spaces, every other control or bidi
    character a visible escape (``lakeloop.textsafe.escape``: ``\\x1b``), so stored text cannot
    drive the terminal."""
    from ..textsafe import escape

    return escape(text).replace("\n", " ").replace("\t", " ")


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
    for h in hits:
        where = f"{h.path}:{h.line}" if h.line else h.path
        print(_one_line(f"{where}  {h.score:.2f}  {h.text}"))
    return 0
