"""The one place where stored text is made safe to show: invisible controls become visible escapes.

Stored text (captured prompts and tool output, notes, skills, log lines) is hostile: an
``ESC ] 52 ; c ; ... BEL`` sequence printed raw sets the clipboard of the terminal that shows
it, ``ESC [ 2 J`` clears the screen, ``U+202E`` reorders what a reader sees, tag characters
(``U+E0020``-``U+E007F``) and zero-width characters carry text a person does not see but a model
reads. Every place that renders stored text for the agent or a terminal (the memory path's
answers, ``lakeloop search``, ``sessions``, ``logs``, the CLI's tables and JSON, session-start
notices) passes it through ``escape``.

What is escaped is one rule: every character of the Unicode categories Cc (controls), Cf
(format characters), Zl and Zp (line and paragraph separators) and Cs (lone surrogates, which
cannot even be encoded for a terminal), except tab and newline. That is
the C0 controls but tab and newline, DEL, the C1 controls, the bidi controls (``U+061C``,
``U+200E``, ``U+200F``, ``U+202A``-``U+202E``, ``U+2066``-``U+2069``), zero-width characters,
``U+FEFF``, the soft hyphen and the tag characters. (``UNSAFE`` lists them as of Unicode 15;
``tests/project/test_textsafe.py`` checks it against ``unicodedata``.) A character below ``U+0100``
becomes ``\\xHH`` (``\\x1b``), one below ``U+10000`` ``\\uHHHH`` (``\\u202e``), any other
``\\UHHHHHHHH``, as Python writes them.

Tab and newline are kept, so line numbers, line counts and columns of tab-separated output do
not change. A backslash is NOT escaped: session files are JSON lines full of ``\\"`` and
``\\u001b``, and doubling every backslash would make them unreadable and break greps for them.
The price is that an escape cannot be told from the same characters typed literally (a note
holding the four characters ``\\x1b`` shows as the same text as one holding ESC); both are inert
text, which is all this promises. ``escape`` is idempotent (its output holds no character it
escapes), so escaping twice on the way out is harmless.

Standard library only and import-light (``re`` is already loaded by every hook): it runs on
the PreToolUse path. Clean text costs one precompiled regex search and is returned as is.
"""

from __future__ import annotations

import re

#: Characters shown as escapes: categories Cc (but tab and newline), Cf, Zl, Zp, Cs (Unicode 15).
UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\ud800-\udfff\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escape(text: str) -> str:
    """``text`` with every character of ``UNSAFE`` (controls other than tab and newline, format
    characters such as bidi controls, line and paragraph separators) replaced by a visible escape
    (``\\x1b``, ``\\u202e``). Keeps every tab and newline; never raises for a ``str`` (lone
    surrogates, which no terminal can be sent, are escaped too)."""
    if UNSAFE.search(text) is None:
        return text
    return UNSAFE.sub(_visible, text)


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def escape_json(document: str) -> str:
    """A JSON ``document`` (as ``json.dumps(..., ensure_ascii=False)`` writes it) with every
    character ``escape`` would change written as a JSON ``\\uHHHH`` escape (a surrogate pair above
    ``U+FFFF``) instead: the same JSON value, and no raw control or format character on the
    terminal. (JSON already escapes ``U+0000``-``U+001F`` itself; ``ensure_ascii=False`` leaves the
    others raw.) Outside strings JSON text holds only ASCII punctuation, digits, letters and
    whitespace, so every such character is inside a string, where ``\\uHHHH`` means it."""
    if UNSAFE.search(document) is None:
        return document
    return UNSAFE.sub(_json_escape, document)


_BREAKS = str.maketrans({"\n": "\\n", "\t": "\\t"})


def escape_line(text: str) -> str:
    """``escape(text)`` on one line: newline and tab also shown as ``\\n`` and ``\\t``, for text
    quoted inside a one-line message (a refusal's reason, a path in a list), where a raw newline
    could forge a line of its own. Never raises for a ``str``."""
    return escape(text).translate(_BREAKS)


#: The mark ``cut`` ends a shortened text with.
CUT = "…"


def cut(text: str, limit: int) -> str:
    """``text`` when at most ``limit`` characters, else its first ``limit - 1`` characters and
    ``CUT`` (so the result is ``limit`` characters long; ``CUT`` alone for a ``limit`` below 1)."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + CUT
