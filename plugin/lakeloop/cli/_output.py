"""Shared output helpers for subcommands (plain tables or ``--json``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any


def emit_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout; a control or bidi character inside a string is
    written as a ``\\u`` escape (``lakeloop.textsafe.escape_json``), never raw."""
    from ..textsafe import escape_json

    sys.stdout.write(escape_json(json.dumps(obj, indent=2, ensure_ascii=False, default=str)) + "\n")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print an aligned plain-text table; cells (stored text) have their control and bidi
    characters shown as escapes (``lakeloop.textsafe.escape``) and line breaks as spaces."""
    from ..textsafe import escape

    def cell(value: Any) -> str:
        return escape(str(value)).replace("\n", " ").replace("\t", " ")

    cells = [[cell(h) for h in headers]] + [[cell(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for r in cells:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
