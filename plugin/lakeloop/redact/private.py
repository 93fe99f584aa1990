"""``<private>...</private>`` in a prompt: the span is never stored (issue 7).

Each span, tags included, becomes ``[PRIVATE]``; an unclosed ``<private>`` hides the rest of
the prompt. Tags are matched case-insensitively (``<PRIVATE>``, ``<Private >`` too).
"""

from __future__ import annotations

import re

MARK = "[PRIVATE]"
_SPAN = re.compile(r"<\s*private\s*>.*?(?:<\s*/\s*private\s*>|\Z)", re.IGNORECASE | re.DOTALL)


def hide_private(text: str) -> tuple[str, int]:
    """``(text with each <private> span replaced by [PRIVATE], number of spans)``."""
    if "<" not in text:
        return text, 0
    return _SPAN.subn(MARK, text)
