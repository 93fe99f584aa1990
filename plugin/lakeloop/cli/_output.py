"""Shared output helpers for subcommands (plain tables or ``--json``), and how stored text and
times are shown to a person: local time, one escaped line, cut to the terminal's width."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from ..textsafe import cut


def emit_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout; a control or bidi character inside a string is
    written as a ``\\u`` escape (``lakeloop.textsafe.escape_json``), never raw."""
    from ..textsafe import escape_json

    sys.stdout.write(escape_json(json.dumps(obj, indent=2, ensure_ascii=False, default=str)) + "\n")


def one_line(value: Any) -> str:
    """``value`` as text safe to show on one line: whitespace runs (line breaks, tabs) as one space,
    every other control or bidi character as a visible escape (``lakeloop.textsafe.escape_line``)."""
    from ..textsafe import escape_line

    return escape_line(" ".join(str(value).split()))


def local_time(stamp: str) -> str:
    """An ISO-8601 timestamp (``2026-12-07T01:02:49.806270Z``; UTC when it names no zone) as
    ``YYYY-MM-DD HH:MM`` in this machine's time zone; a stamp that does not parse comes back
    escaped as it is (stored text)."""
    from datetime import datetime, timezone

    try:
        when = datetime.fromisoformat(stamp.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return one_line(stamp)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    try:  # a stored year 9999 or 0001 overflows once moved to this machine's zone
        return when.astimezone().strftime("%Y-%m-%d %H:%M")
    except (OverflowError, ValueError, OSError):
        return one_line(stamp)


def terminal_width() -> int:
    """Columns of the terminal (``shutil.get_terminal_size``: ``COLUMNS``, else the terminal of
    stdout, else 80)."""
    import shutil

    return shutil.get_terminal_size().columns


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], width: int | None = None) -> None:
    """Print an aligned plain-text table; cells (stored text) are shown by ``one_line``. With
    ``width`` (columns), the last column is cut (``cut``) so no line is longer than ``width``,
    keeping at least 10 characters of it."""
    cells = [[one_line(h) for h in headers]] + [[one_line(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    if width is not None:
        room = max(10, width - sum(widths[:-1]) - 2 * (len(widths) - 1))
        for r in cells:
            r[-1] = cut(r[-1], room)
        widths[-1] = min(widths[-1], room)
    for r in cells:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
