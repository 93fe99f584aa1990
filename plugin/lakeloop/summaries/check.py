"""The summariser's answer, checked, and the file we write around it.

``header(...)`` is ours: ``# Session <id>``, ``- **Source**``, ``- **Started**``, ``- **Ended**``,
``- **Project**``, a blank line. Its values come from the job and the rows, never from the model,
each escaped to one line (``textsafe.escape_line``).

``check(answer, head, home) -> (file, reasons)``: the model's sections are taken from its answer
(anything before the first ``## `` heading, such as "Here is the summary:", is dropped, and so
is a Markdown code fence around the whole answer), made safe (``<private>`` spans hidden, secrets
redacted, controls escaped) and put under ``head``. Headings are counted as the reader counts
them (``recall.heading``: up to 3 leading spaces, level 1 or 2, title in any case), so what passes
the check reads back the same. The answer is rejected, with one reason each, when a heading of
``HEADINGS`` is missing, repeated or out of order, another heading of level 1 or 2 appears (a
``# Session`` title, an indented ``## Next Steps``), a line reads as one of our header's fields
(``recall.HEADER_LINE``: ``- **Source**``, ``**Started**``, ...), the file is not under
``MAX_SUMMARY_CHARS`` characters, or it holds an absolute path inside a home directory
(``transcript.HOME_PATH`` or this machine's home). Reasons are our words only, never the model's
text (they go back to the model on the retry and into the job's failure).
"""

from __future__ import annotations

from . import HEADINGS, MAX_SUMMARY_CHARS
from .recall import HEADER_FIELDS, HEADER_LINE, heading
from .transcript import HOME_PATH

#: The title keys (``recall.heading``) of ``HEADINGS``.
_KEYS = {h.casefold(): h for h in HEADINGS}


def header(session_id: str, source: str, started: str, ended: str, project: str) -> str:
    """The file's first lines, ending with the blank line before the sections."""
    from ..textsafe import escape_line

    def one(value: str) -> str:
        return escape_line(value)[:300]

    fields = "".join(
        f"- **{name}**: {one(value)}\n" for name, value in zip(HEADER_FIELDS, (source, started, ended, project))
    )
    return f"# Session {one(session_id)}\n{fields}\n"


def _unwrap(text: str) -> str:
    """``text`` without a code fence around all of it (```` ```markdown ... ``` ````)."""
    lines = text.strip().splitlines()
    if len(lines) >= 2 and lines[0].startswith("```") and lines[-1].strip() == "```":
        return "\n".join(lines[1:-1])
    return text


def sections(answer: str) -> str:
    """The answer from its first ``## `` heading on (the whole answer when it has none), made
    safe: ``<private>`` spans hidden, secrets redacted, controls escaped; trailing blanks
    removed, ending with one newline."""
    from ..redact import redact_text
    from ..redact.private import hide_private
    from ..textsafe import escape

    lines = _unwrap(answer).splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith("## ")), 0)
    body = "\n".join(line.rstrip() for line in lines[first:]).strip("\n")
    body = redact_text(hide_private(body)[0])[0]
    return escape(body) + "\n"


def reasons_of(body: str, file_chars: int, home: str = "") -> list[str]:
    """Why ``body`` (the sections, as ``sections`` made them) cannot be written, [] when it can;
    ``file_chars``: the length of the whole file (header included)."""
    heads = [h for h in map(heading, body.splitlines()) if h]
    found = [_KEYS[key] for level, key in heads if level == 2 and key in _KEYS]
    reasons = [f"missing '## {h}'" for h in HEADINGS if h not in found]
    if len(found) < len(heads):
        reasons.append("a heading that is not one of the eight (write only those, each once, as '## <name>')")
    reasons += [f"repeated heading '## {h}'" for h in HEADINGS if found.count(h) > 1]
    if not reasons and found != list(HEADINGS):
        reasons.append("headings out of order")
    if any(HEADER_LINE.match(line) for line in body.splitlines()):
        reasons.append(f"a line written like the file's header ({', '.join(f'**{f}**' for f in HEADER_FIELDS)})")
    if file_chars >= MAX_SUMMARY_CHARS:
        reasons.append(f"{file_chars} characters (must be under {MAX_SUMMARY_CHARS})")
    home = home.rstrip("/")
    if HOME_PATH.search(body) or (len(home) > 1 and home in body):
        reasons.append("an absolute path inside a home directory")
    return reasons


def check(answer: str, head: str, home: str = "") -> tuple[str, list[str]]:
    """``(file, reasons)``: ``head`` followed by the answer's sections, and why it cannot be
    written ([] when it can). ``home``: this machine's home directory."""
    body = sections(answer)
    text = head + body
    return text, reasons_of(body, len(text), home)
