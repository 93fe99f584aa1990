"""``lakeloop forget [--session ID] [--before DATE] [--match TEXT] [--yes]``: delete captured rows and notes.

Deletes, in the store in use (embedded: SQLite ``DELETE``; Deeplake: the API's ``DELETE``
statement), the captured (sessions) rows and the memory-table rows (notes and summaries, shown
on the memory path at their own path, e.g. ``/notes/plan.md``; each row is one version of the
file) that match every filter given (AND; at least one is required; ``store.base.SessionFilter``):

* ``--session ID``: captured rows of that session, and its summary (``/summaries/<user>/<ID>.md``;
  notes record no session: none matches);
* ``--before DATE``: captured rows created, and memory rows last written, before DATE, UTC
  (``YYYY-MM-DD`` means its midnight UTC; an ISO-8601 time without an offset is UTC);
* ``--match TEXT``: captured rows whose message JSON text contains TEXT, and memory rows whose
  text or path contains it, ignoring case on both stores.

A note is gone when every version of it matches; when only its newer versions match (the text
was added later), the newest version left becomes its content again. The memory path's local caches
(the overlay of notes written on this machine, answer files of earlier calls) are cleared of them
too, so the agent stops seeing a forgotten note at once. The local summary state of every session
whose summary is forgotten (or of ``--session ID``) goes too (``summaries.state.forget_sessions``):
it keeps the previous summary's text, which a later refresh would send to the model again. A
summary job of those sessions still queued is deleted (``jobs.queue.drop_queued``); one already
running ends on its own.

It first prints how many rows and notes match and asks for confirmation on the terminal; ``--yes``
skips the question. Without a terminal and without ``--yes`` it refuses (exit 2): nothing is
deleted unasked. Exit codes: 0 deleted (or nothing matched), 1 store failure or answered no,
2 bad usage or refused. Events still waiting in the local outbox are not in the store yet:
the command says so (``lakeloop flush`` stores them first).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys


def add_parser(sub) -> None:
    """Register ``forget`` on the ``lakeloop`` sub-command parsers ``sub``."""
    forget = sub.add_parser("forget", help="delete captured rows and notes (by session, date, text)")
    forget.add_argument("--session", metavar="ID", help="captured rows of this session id")
    forget.add_argument(
        "--before",
        metavar="DATE",
        type=before_arg,
        help="rows and notes written before DATE, UTC (YYYY-MM-DD or ISO-8601)",
    )
    forget.add_argument(
        "--match",
        metavar="TEXT",
        help="rows whose message, and notes or summaries whose text or path, contains TEXT (case-insensitive)",
    )
    forget.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")


def parse_before(text: str) -> str:
    """``--before``'s value as the stores' ``creation_date`` text (``YYYY-MM-DDTHH:MM:SS.ffffffZ``,
    UTC, fixed width, so text order is time order). ``YYYY-MM-DD`` is that day's 00:00 UTC;
    an ISO-8601 time with an offset is converted to UTC, one without is UTC.
    Raises ValueError for anything else."""
    from ..identity import utc_text

    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    if len(raw) == 10:
        stamp = _dt.datetime.strptime(raw, "%Y-%m-%d")
    else:
        stamp = _dt.datetime.fromisoformat(raw)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=_dt.timezone.utc)
    return utc_text(stamp)


def before_arg(text: str) -> str:
    """argparse type of ``--before`` (``parse_before``; a bad date is a usage error, exit 2)."""
    try:
        return parse_before(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date: {text!r} (use YYYY-MM-DD or ISO-8601, e.g. 2025-06-30 or 2025-06-30T12:00:00Z)"
        ) from None


def _describe(args) -> str:
    parts = []
    if args.session:
        parts.append(f"session {args.session}")
    if args.before:
        parts.append(f"written before {args.before}")
    if args.match:
        parts.append(f"containing {args.match!r}")
    return " and ".join(parts)


def _shown(text: str) -> str:
    """``text`` with characters that are not printable (controls, bidi and other format
    characters) as escapes, so a stored path cannot drive the terminal."""
    from ..textsafe import escape_line

    return escape_line(text)


def _what(count: int, notes: list[tuple[str, int]]) -> str:
    """``N row(s) and M note(s)/summary(ies)`` (with the versions when they outnumber the notes)."""
    versions = sum(n for _path, n in notes)
    extra = f" ({versions} stored version(s))" if versions != len(notes) else ""
    return f"{count} captured row(s) and {len(notes)} note(s)/summary(ies){extra}"


#: Note paths listed before asking.
SHOWN_PATHS = 10


def _confirm(what: str) -> bool | None:
    """True/False: the user's answer; None: no terminal to ask on."""
    if not sys.stdin or not sys.stdin.isatty():
        return None
    print(f"Delete these {what}? This cannot be undone. [y/N] ", end="", flush=True)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def _purge_cached(where, notes: list[tuple[str, int]]) -> None:
    """Drop this machine's cached copies of the forgotten notes (the memory path's read-your-writes
    overlay and its answer files: ``lakeloop.memory.notes.purge``), so the agent no longer sees them."""
    from ..memory.notes import purge

    purge(where, [path for path, _n in notes])


def _drop_queued_summaries(session_ids: list[str]) -> int:
    """Delete the queued (not yet running) summary jobs of ``session_ids``, so none of them
    summarises what is left after the forget. Returns how many. Raises JobsUnavailable."""
    import os

    from .. import paths
    from ..jobs import db, queue
    from ..summaries import KEY_PREFIX, KIND

    keys = [KEY_PREFIX + sid for sid in session_ids if sid]
    if not keys or not os.path.exists(paths.jobs_db()):
        return 0
    conn = db.connect()
    try:
        return queue.drop_queued(conn, KIND, keys)
    finally:
        conn.close()


def _forget_summary_state(session_id: str | None, notes: list[tuple[str, int]], log) -> int:
    """Drop the local summary state of ``session_id`` and of the sessions whose summaries
    (``/summaries/<user>/<session id>.md`` among ``notes``) were forgotten; how many had one.
    A state that cannot be written is logged and counted as 0 (the store rows are gone already)."""
    from ..jobs import JobsUnavailable
    from ..log import short
    from ..summaries import PREFIX
    from ..summaries.state import forget_sessions

    sids = [session_id or ""]
    sids += [
        path.rsplit("/", 1)[-1][: -len(".md")] for path, _n in notes if path.startswith(PREFIX) and path.endswith(".md")
    ]
    try:
        _drop_queued_summaries(sids)
        return forget_sessions(sids)
    except JobsUnavailable as exc:
        log.warning("forget: the local summary state was not cleared: %s", short(str(exc), 200))
        print("lakeloop forget: the local summary state could not be cleared (see the log)", file=sys.stderr)
        return 0


def run(args) -> int:
    """Count, confirm, delete. See the module docstring for the exit codes. Raises StoreError
    when the store fails (``cli.error_handler`` says nothing (more) was deleted: exit 1)."""
    from ..log import setup
    from ..outbox.usage import status as outbox_status
    from ..store import open_store
    from ..store.base import SessionFilter

    where = SessionFilter(session_id=args.session or None, before=args.before or None, match=args.match or None)
    if where.empty:
        print("lakeloop forget: give at least one of --session, --before, --match", file=sys.stderr)
        return 2
    log = setup("forget")
    with open_store() as store:
        count = store.count_session_rows(where)
        notes = store.memory_rows_matching(where)
        what = _what(count, notes)
        where_text = f"the {store.name} store ({getattr(store, 'path', '')})"
        print(f"{what} {_describe(args)} in {where_text}")
        for path, _n in notes[:SHOWN_PATHS]:
            print(f"  {_shown(path)}")
        if len(notes) > SHOWN_PATHS:
            print(f"  ... and {len(notes) - SHOWN_PATHS} more")
        waiting = outbox_status().get("pending", 0)
        if waiting:
            print(
                f"note: {waiting} event(s) still wait in the local outbox and are not in the store yet; "
                "`lakeloop flush` stores them, then run forget again to include them"
            )
        if count == 0 and not notes:
            _purge_cached(where, notes)
            _forget_summary_state(args.session, notes, log)
            print("nothing to forget")
            return 0
        if not args.yes:
            answer = _confirm(what)
            if answer is None:
                print(
                    "lakeloop forget: refusing to delete without confirmation: there is no terminal to ask "
                    "on; run it again with --yes",
                    file=sys.stderr,
                )
                return 2
            if not answer:
                print("nothing deleted")
                return 1
        if count:
            store.delete_session_rows(where)
        if notes:
            store.delete_memory_rows(where)
        _purge_cached(where, notes)
        states = _forget_summary_state(args.session, notes, log)
    # The match text may be a secret the user wants gone: never logged.
    log.info(
        "forget: deleted %d row(s) and %d memory row(s) (filters: %s)",
        count,
        sum(n for _p, n in notes),
        ",".join(n for n, v in (("session", args.session), ("before", args.before), ("match", args.match)) if v),
    )
    print(f"deleted {what}" + (f"; cleared the local summary state of {states} session(s)" if states else ""))
    return 0
