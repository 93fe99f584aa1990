"""Passwords in connection strings and password files.

* ``find_conninfo``: ``password=VALUE`` (or ``pwd=``, any case) in a libpq conninfo
  (``host=db user=app password=VALUE dbname=prod``, the value bare or single-quoted), an
  ODBC/ADO.NET/JDBC connection string (``Server=db;User Id=sa;Password=VALUE;``, the value up to
  ``;`` or in braces) and a URL's query (``?user=app&password=VALUE``). The keyword counts only in
  a connection string: another connection keyword (``CONNECTION_KEYS``: host, user, dbname,
  server, uid, data source, ...) within ``CONTEXT_CHARS`` before or after it on the same line,
  or a ``?``/``&`` before it. The value is a literal there (no code), so any value that is not a
  placeholder counts (in code's keyword arguments, ``connect(host=h, password=pw)``, only one
  that looks generated).
* ``find_pgpass``: a ``.pgpass`` line, ``host:port:database:user:password`` (port digits or
  ``*``; ``\\:`` escapes a colon), the last field.
* ``find_sql``: the quoted password of SQL's ``IDENTIFIED BY 'SECRET'`` and ``IDENTIFIED WITH
  plugin BY 'SECRET'`` (MySQL, MariaDB, Oracle; PostgreSQL's ``PASSWORD 'SECRET'`` is the prose
  rule's, ``lakeloop.redact.prose``); not a plain word ("commits identified by "squash"").
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from .assign import MIN_VALUE_CHARS, looks_generated, phrase, plausible_value, word_like
from .rules import Span, closing_quote, keyword_spans, quote_at

#: The password's keys (lower case).
_KEYWORDS = ("password", "passwd", "pwd")
#: Keys of a connection string other than the password's (any case, then ``=``).
CONNECTION_KEYS = (
    "host",
    "hostaddr",
    "port",
    "user",
    "username",
    "dbname",
    "sslmode",
    "server",
    "database",
    "uid",
    "user id",
    "data source",
    "initial catalog",
    "driver",
    "dsn",
    "addr",
    "address",
    "network address",
    "trusted_connection",
)
#: How far (characters, same line) another connection keyword may be from the password's.
CONTEXT_CHARS = 160
#: Lower-case substrings one of which a text must hold for ``find_conninfo`` to look.
NEEDLES = ("password=", "passwd=", "pwd=", "password =", "pwd =")
_VALUE_END = frozenset(" \t\r\n;&\"'`#,()[]")


def _line_bounds(text: str, at: int, reach: int) -> tuple[int, int]:
    """The part of ``at``'s line within ``reach`` characters each side (a ``\\n`` escape ends a
    line too)."""
    lo, hi = max(0, at - reach), min(len(text), at + reach)
    real, escaped = text.rfind("\n", lo, at), text.rfind("\\n", lo, at)
    start = max(lo, real + 1 if real >= 0 else lo, escaped + 2 if escaped >= 0 else lo)
    end_real, end_escaped = text.find("\n", at, hi), text.find("\\n", at, hi)
    ends = [e for e in (end_real, end_escaped) if e >= 0]
    return start, (min(ends) if ends else hi)


def _conninfo_value(text: str, at: int) -> Span | None:
    """The value starting at ``at``: single-quoted (libpq), braced (ODBC), double-quoted, or bare
    up to a blank, ``;`` or ``&``."""
    if text.startswith("{", at):
        end = text.find("}", at + 1, at + 1 + 512)
        return None if end < 0 else (at + 1, end)
    quote = quote_at(text, at)
    if quote:
        start = at + len(quote)
        end = start
        while end < len(text) and end - start < 512:
            if text[end] == "\\" and quote == "'":
                end += 2
                continue
            if text.startswith(quote, end) and (quote != "'" or text[end - 1] != "\\"):
                return start, end
            if text[end] == "\n":
                return None
            end += 1
        return None
    end = at
    while (
        end < len(text)
        and end - at < 512
        and text[end] not in _VALUE_END
        and not (text[end] == "\\" and end + 1 < len(text) and text[end + 1] in 'nrt"\\')
    ):
        end += 1
    return (at, end) if end > at else None


class _Keys:
    """Where ``CONNECTION_KEYS`` followed by ``=`` (blanks between allowed) start a word in
    ``lower``, found a ``CHUNK`` of text at a time when first asked about (each chunk once)."""

    CHUNK = 4096

    def __init__(self, lower: str) -> None:
        self.lower = lower
        self.chunks: dict[int, list[int]] = {}

    def _chunk(self, index: int) -> list[int]:
        found = self.chunks.get(index)
        if found is None:
            lower, lo = self.lower, index * self.CHUNK
            hi = min(len(lower), lo + self.CHUNK)
            found = []
            for key in CONNECTION_KEYS:
                at = lower.find(key, lo, hi + len(key))
                while 0 <= at < hi:
                    end = at + len(key)
                    while end < len(lower) and end - at < len(key) + 8 and lower[end] in " \t":
                        end += 1
                    if lower[end : end + 1] == "=" and (
                        at == 0 or not (lower[at - 1].isalnum() or lower[at - 1] in "_-.")
                    ):
                        found.append(at)
                    at = lower.find(key, at + 1, hi + len(key))
            found.sort()
            self.chunks[index] = found
        return found

    def near(self, lo: int, hi: int) -> bool:
        """True when a key starts in ``[lo, hi)``."""
        for index in range(lo // self.CHUNK, (hi - 1) // self.CHUNK + 1):
            found = self._chunk(index)
            at = bisect.bisect_left(found, lo)
            if at < len(found) and found[at] < hi:
                return True
        return False


def find_conninfo(text: str, lower: str) -> Iterator[Span]:
    """Spans of the passwords in connection strings and URL queries (see the module docstring)."""
    done_until = 0  # the end of the last value read: a keyword inside it is not read again
    keys: _Keys | None = None
    for start, end in keyword_spans(lower, _KEYWORDS):
        if start < done_until:
            continue
        if start > 0 and (lower[start - 1].isalnum() or lower[start - 1] in "_-."):
            continue
        at = end
        while at < len(text) and text[at] in " \t":
            at += 1
        if text[at : at + 1] != "=" or text[at + 1 : at + 2] == "=":
            continue
        at += 1
        while at < len(text) and text[at] in " \t":
            at += 1
        query = start > 0 and text[start - 1] in "?&"
        if not query:
            keys = keys or _Keys(lower)
            if not keys.near(*_line_bounds(text, start, CONTEXT_CHARS)):
                continue
        span = _conninfo_value(text, at)
        if span is None:
            continue
        done_until = span[1]
        value = text[span[0] : span[1]]
        if len(value) < MIN_VALUE_CHARS or not plausible_value(value) or phrase(value):
            continue
        if (start > 0 and text[start - 1] in ",(") or text[span[1] : span[1] + 1] in (",", ")", "[", "("):
            # connect(host=h, password=pw): keyword arguments of code, not a connection string
            if not looks_generated(value):
                continue
        yield span


_PGPASS_ANCHOR = re.compile(r":(?:\d{1,5}|\*):")
_PGPASS_HOST = re.compile(r"\*|[A-Za-z0-9][A-Za-z0-9.\-_]*|\[[0-9A-Fa-f:]+\]")
_PGPASS_FIELD = re.compile(r"(?:[^:\s\\\"']|\\[:\\])+")


def find_pgpass(text: str, lower: str) -> Iterator[Span]:
    """Spans of the passwords of ``.pgpass`` lines (``host:port:database:user:password``)."""
    done = -1
    for anchor in _PGPASS_ANCHOR.finditer(text):
        if anchor.start() < done:
            continue
        line_start, line_end = _line_bounds(text, anchor.start(), 1024)
        done = line_end
        line_start = max(
            line_start, text.rfind(" ", line_start, anchor.start()) + 1, text.rfind('"', line_start, anchor.start()) + 1
        )
        host = text[line_start : anchor.start()]
        if not _PGPASS_HOST.fullmatch(host) or host.isdigit():
            continue
        fields, at = [], anchor.end()
        for _ in range(3):
            match = _PGPASS_FIELD.match(text, at)
            if match is None:
                break
            fields.append(match.span())
            at = match.end() + 1
            if len(fields) < 3 and text[match.end() : match.end() + 1] != ":":
                break
        if len(fields) != 3:
            continue
        start, end = fields[2]
        after = text[end : end + 1]
        if after and after not in " \t\r\n\"'\\":
            continue  # the line goes on: not a .pgpass line (a backslash: a JSON escape, \n or \")
        value = text[start:end]
        if len(value) >= MIN_VALUE_CHARS and plausible_value(value) and not value.isdigit():
            yield start, end


#: Lower-case substrings one of which a text must hold for ``find_sql`` to look.
SQL_NEEDLES = ("identified by", "identified with")


def find_sql(text: str, lower: str) -> Iterator[Span]:
    """Spans of the passwords in ``IDENTIFIED [WITH plugin] BY 'SECRET'`` (any case)."""
    for start, end in keyword_spans(lower, SQL_NEEDLES):
        if lower[start:end] == "identified with":
            by = lower.find(" by ", end, end + 80)
            if by < 0 or "\n" in text[end:by]:
                continue
            end = by + 3
        at = end
        while at < len(text) and text[at] in " \t":
            at += 1
        quote = quote_at(text, at)
        if not quote:
            continue
        close = closing_quote(text, at + len(quote), quote)
        if close < 0:
            continue
        value = text[at + len(quote) : close]
        if len(value) >= MIN_VALUE_CHARS and plausible_value(value) and not word_like(value):
            yield at + len(quote), close  # (a plain word is prose's: commits identified by "squash")
