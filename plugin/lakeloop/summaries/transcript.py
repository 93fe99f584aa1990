"""The session text a summary is made from: stored rows -> one bounded text.

``build_input(rows, limit, home)``:

* One line per row: ``USER: <prompt>``, ``ASSISTANT: <answer>``, ``TOOL <name> <target>`` (the
  target is the tool input's file or path, else the first ``TOOL_TARGET_CHARS`` characters of its
  command, pattern, url or first text value; the tool's output is never sent). A line is at most
  ``line_chars(limit)`` characters (longer text is cut, saying how much).
* The rows are the session as stored, so already without ``<private>`` spans and redacted; each
  kept row's values go through both again (``redact.private.hide_private``, ``redact.redact_text``),
  because a session captured with ``LAKELOOP_REDACT=0`` must not feed a team summary. Then home
  directories become ``~`` (``tilde_home``) and controls become visible escapes, newlines
  included (``textsafe.escape_line``): a row is exactly one line. A value is cleaned whole and
  only then cut (``clean_line``): a secret straddling a cut is redacted, not cut into a prefix
  the patterns no longer recognise.
* At most ``limit`` characters in all. A longer session keeps its start (``HEAD_SHARE`` of the
  budget) and its end (the rest), and says what was left out between them:
  ``[... N events (M characters) elided ...]``. Only the kept rows (and the one that first does not
  fit, at each end) are cleaned: at most about ``limit / line_chars(limit) + 2`` rows longer than a
  line, each at most ``capture.rows.MAX_FIELD_CHARS``, so the redaction's cost does not grow with
  the session's length.
"""

from __future__ import annotations

import json
import re

from ..records import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..store.base import SessionRow

#: The message types a summary reads.
TYPES = ("user_message", "assistant_message", "tool_call")
#: Share of the budget given to the session's start when the middle is elided (the end gets the rest).
HEAD_SHARE = 0.4
#: Characters of a command (or other tool input text), of a file path and of a tool's name shown on
#: a TOOL line (cut after the cleaning).
TOOL_TARGET_CHARS = 80
PATH_CHARS = 300
TOOL_NAME_CHARS = 60
#: Tool input keys naming the file a tool worked on, by preference.
_TARGET_KEYS = ("file_path", "notebook_path", "path", "command", "pattern", "url", "query", "skill", "description")

#: An absolute path inside a home directory (POSIX ``/home/<user>``, ``/Users/<user>``, ``/root``,
#: Windows ``C:\\Users\\<user>``), not preceded by a path character.
HOME_PATH = re.compile(
    r"(?<![\w.~/\\-])(?:/(?:home|Users)/[^/\s\"'`<>|;,()\[\]{}]+|/root(?![\w.-])"
    r"|[A-Za-z]:[\\/]+(?:Users|Documents and Settings)[\\/]+[^\\/\s\"'`<>|;,()\[\]{}]+)"
)


def tilde_home(text: str, home: str = "") -> str:
    """``text`` with ``home`` (this machine's home directory, when given and not ``/``) and every
    ``HOME_PATH`` (another user's home, a macOS or Windows one) replaced by ``~``."""
    home = home.rstrip("/")
    if len(home) > 1 and home in text:
        text = re.sub(re.escape(home) + r"(?![\w.-])", "~", text)
    return HOME_PATH.sub("~", text)


def line_chars(limit: int) -> int:
    """Longest line (characters) of a ``limit``-character input: an eighth of it, at least 200."""
    return max(200, limit // 8)


@dataclass(frozen=True)
class Input:
    """What ``build_input`` made: ``text`` (at most the limit, in characters), ``rows`` read,
    ``elided`` rows left out of the middle (``elided_chars`` their characters), ``prompts`` (user
    prompts among the rows), ``through`` (``(creation_date, id)``, the largest of the rows; None
    without rows), ``started`` / ``ended`` (the first and last rows' creation dates, '' without)."""

    text: str
    rows: int
    elided: int
    elided_chars: int
    prompts: int
    through: tuple[str, str] | None
    started: str
    ended: str


def _target(raw: object) -> tuple[str, int]:
    """What a TOOL line names, uncut, and how many characters of it are shown once clean: the
    tool input's file or path (``PATH_CHARS``), else its command, pattern, ... or first text
    value (``TOOL_TARGET_CHARS``)."""
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            return raw, TOOL_TARGET_CHARS
    if not isinstance(value, dict):
        return str(value), TOOL_TARGET_CHARS
    for key in _TARGET_KEYS:
        item = value.get(key)
        if isinstance(item, str) and item:
            return item, PATH_CHARS if key in ("file_path", "notebook_path", "path") else TOOL_TARGET_CHARS
    return next((v for v in value.values() if isinstance(v, str) and v), ""), TOOL_TARGET_CHARS


def parts(row: SessionRow) -> list[tuple[str, int]]:
    """``row``'s line before cleaning, as ``[(text, characters shown once clean; -1: all)]``: the
    label (``USER: ``, ``ASSISTANT: ``, ``TOOL ``) and the recorded values, uncut (the cut comes
    after the cleaning, so a secret is redacted whole, never cut into a piece the patterns miss)."""
    message = row.message
    if row.type == "tool_call":
        target, shown = _target(message.get("tool_input"))
        return [("TOOL ", 5), (str(message.get("tool_name") or "?"), TOOL_NAME_CHARS), (" ", 1), (target, shown)]
    who = "USER: " if row.type == "user_message" else "ASSISTANT: "
    return [(who, len(who)), (str(message.get("content") or ""), -1)]


def raw_line(row: SessionRow) -> str:
    """``row``'s line before cleaning and uncut (its length counts what an elision leaves out)."""
    return "".join(text for text, _ in parts(row))


def clean(line: str, home: str = "") -> str:
    """A line made safe to send: ``<private>`` spans hidden, secrets redacted, homes as ``~``,
    controls and newlines as visible escapes (one line)."""
    from ..redact import redact_text
    from ..redact.private import hide_private
    from ..textsafe import escape_line

    line = hide_private(line)[0]
    line = redact_text(line)[0]
    return escape_line(tilde_home(line, home))


def clean_line(row: SessionRow, cap: int, home: str = "") -> str:
    """``row`` as one clean line of at most about ``cap`` characters: each recorded value cleaned
    whole (``clean``), then cut to what is shown of it; a line longer than ``cap`` is cut, saying
    how much."""
    line = ""
    for text, shown in parts(row):
        text = clean(text, home)
        line += text if shown < 0 else text[:shown]
    if len(line) > cap:
        line = line[:cap] + f" [... {len(line) - cap} characters cut]"
    return line


def build_input(rows: Sequence[SessionRow], limit: int, home: str = "") -> Input:
    """The bounded session text of ``rows`` (oldest first), at most ``limit`` characters (see
    the module docstring); ``home`` is this machine's home directory (shown as ``~``)."""
    cap = line_chars(limit)
    raws = [raw_line(row) for row in rows]
    cleaned: dict[int, str] = {}

    def line(i: int) -> str:
        if i not in cleaned:
            cleaned[i] = clean_line(rows[i], cap, home)
        return cleaned[i]

    n = len(raws)
    text = ""
    elided = elided_chars = 0
    if sum(len(r) + 1 for r in raws) <= limit:
        text = "\n".join(line(i) for i in range(n))
    if not text or len(text) > limit:
        elided, elided_chars, text = _elide(raws, line, limit)
    through = max(((r.creation_date, r.id) for r in rows), default=None)
    return Input(
        text=text,
        rows=n,
        elided=elided,
        elided_chars=elided_chars,
        prompts=sum(1 for r in rows if r.type == "user_message"),
        through=through,
        started=rows[0].creation_date if rows else "",
        ended=max((r.creation_date for r in rows), default=""),
    )


def _elide(raws: list[str], line, limit: int) -> tuple[int, int, str]:
    """``(rows elided, their characters, text)``: the first lines within ``HEAD_SHARE`` of
    ``limit``, the last lines within the rest, and the marker between them."""
    n = len(raws)
    marker_room = 80
    head: list[str] = []
    used, i = 0, 0
    budget = int(limit * HEAD_SHARE)
    while i < n and used + len(line(i)) + 1 <= budget:
        head.append(line(i))
        used += len(head[-1]) + 1
        i += 1
    tail: list[str] = []
    used, j = 0, n - 1
    budget = limit - sum(len(h) + 1 for h in head) - marker_room
    while j >= i and used + len(line(j)) + 1 <= budget:
        tail.append(line(j))
        used += len(tail[-1]) + 1
        j -= 1
    gone = j - i + 1
    if gone <= 0:
        return 0, 0, "\n".join(head + tail[::-1])
    chars = sum(len(raws[k]) for k in range(i, j + 1))
    marker = f"[... {gone} events ({chars} characters) elided ...]"
    return gone, chars, "\n".join([*head, marker, *tail[::-1]])
