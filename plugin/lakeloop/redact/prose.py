"""Secrets written in words: "my password is VALUE", "use the db password VALUE for prod", "the
aws secret is VALUE", "VALUE is my password".

``find_prose`` looks for a keyword (``KEYWORDS``: password, passwd, passphrase, passcode, pwd,
pw, secret, token, key; a whole word, or the end of a compound such as ``db-password``), then
reads the words after it on the same line:

* ``KEYWORD CONNECTOR... VALUE``: connectors are ``is``, ``was``, ``=``, ``:``, ``to``, ``now``,
  ``will be``, ``changed to`` ... (``CONNECTORS``), or a ``:``/``=`` written against the keyword
  (after ``=`` alone, as in code, or ``to`` alone, "convert the key to PKCS#8", the value must
  be ``strong``);
* ``KEYWORD for/of/on/to WORDS CONNECTOR VALUE`` (up to four words: "the password for the prod
  db is VALUE");
* ``KEYWORD VALUE`` with nothing between ("use the db password VALUE for prod"; "key" only after
  api, access, secret, private, license ...: ``KEY_QUALIFIERS``);
* ``VALUE is/as [the|my ...] [WORD] KEYWORD`` ("use VALUE as the password").

Prose is full of words after these keywords ("the password is stored in the vault", "the
token is required", "key is missing"), so the value must look like a credential
(``value_ok``): not a placeholder (``assign.plausible_value``), six characters at least, a
letter and a digit or a symbol among ``!@#$%^&+=?~``, no backslash or comma, no ``=`` but
padding at its end, and not a path, URL, e-mail address,
file name, glob, version, quantity (``2048-bit``), snake_case name, ``NAME=...`` or call; with nothing between
keyword and value, or a value before the keyword, it must also have 8 characters, a digit and
digits between letters, mixed case or a symbol (``strong``). A quoted value is taken whole;
a trailing ``!`` counts as part of the value, other punctuation does not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .assign import CODE_DIGITS, DOTTED, IDENTIFIER, INNER_DIGITS, SNAKE_CASE, looks_generated, plausible_value
from .rules import Span, escaped_break, keyword_spans, read_word, skip_blanks, unquoted

#: The words a secret follows (lower case; a whole word or a compound's last part).
KEYWORDS = ("password", "passwd", "passphrase", "passcode", "pwd", "pw", "secret", "token", "key")
#: Lower-case substrings one of which a text must hold for ``find_prose`` to look.
NEEDLES = ("passw", "passphrase", "passcode", "pwd", "pw", "secret", "token", "key")
#: Words between a keyword and its value.
CONNECTORS = frozenset(
    {
        "is",
        "was",
        "are",
        "were",
        "be",
        "been",
        "will",
        "would",
        "should",
        "must",
        "has",
        "now",
        "still",
        "also",
        "just",
        "set",
        "changed",
        "updated",
        "reset",
        "becomes",
        "equals",
        "to",
        "as",
        "=",
        ":",
        ":=",
        "->",
        "=>",
        "→",
        "-",
        "–",
        "—",
        "here",
    }
)
#: Words starting a qualifier between the keyword and a connector ("the password for prod is").
QUALIFIERS = frozenset({"for", "of", "on", "at", "in", "to", "from"})
#: Characters of a typed password that prose rarely has inside a word.
_SYMBOLS = frozenset("!@#$%^&+=?~")
#: Punctuation ending a sentence or a clause after a value (not part of it).
_TRAILING = ".,;:?)]}\"'`*"
_VERSION = re.compile(r"v?\d+(?:\.\d+)+[a-z]*\d*", re.IGNORECASE)
_QUANTITY = re.compile(r"\d+(?:[.,]\d+)?[-_]?[A-Za-z]{1,6}")
_FILE_NAME = re.compile(r"[\w.\-]+\.[a-z]{1,5}")
_ASSIGNMENT = re.compile(r"[A-Za-z_][\w.\-]*=")
_EMAIL = re.compile(r"[^@\s]+@[A-Za-z0-9\-]+\.[A-Za-z.]+")
#: Most words read after a keyword.
MAX_WORDS = 7


def _words(text: str, at: int, count: int, stop: int | None = None) -> list[Span]:
    """Up to ``count`` shell-like words from ``at`` on the same line (and before ``stop``)."""
    words: list[Span] = []
    stop = len(text) if stop is None else stop
    while len(words) < count:
        at = skip_blanks(text, at)
        if at >= stop or text[at] in "\r\n" or escaped_break(text, at):
            break
        if text[at] == "`":  # `value` in Markdown
            close = text.find("`", at + 1, at + 258)
            end = close + 1 if close > at + 1 and text.find("\n", at, close) < 0 else at
        else:
            end = read_word(text, at)
        if end == at:
            break
        words.append((at, end))
        at = end
    return words


def _norm(text: str, span: Span) -> str:
    return text[span[0] : span[1]].lower().rstrip(",")


def _core(text: str, span: Span) -> tuple[Span, str]:
    """The value in the word ``span``: unquoted, or without trailing punctuation (a trailing ``!``
    is kept in the span but not in the returned text that is tested)."""
    start, end = unquoted(text, *span)
    if (start, end) == span and text[start] == "`" and text[end - 1] == "`" and end - start > 2:
        start, end = start + 1, end - 1
    if (start, end) != span:
        return (start, end), text[start:end]
    while end > start and text[end - 1] in _TRAILING:
        end -= 1
    core_end = end
    while core_end > start and text[core_end - 1] == "!":
        core_end -= 1
    return (start, end), text[start:core_end]


def value_ok(value: str, strong: bool) -> bool:
    """Whether a word after (or before) a secret keyword is the secret (see the module
    docstring)."""
    if not 6 <= len(value) <= 256 or not plausible_value(value):
        return False
    letters = any(c.isalpha() for c in value)
    digits = any(c.isdigit() for c in value)
    symbols = any(c in _SYMBOLS for c in value)
    if not letters or not (digits or symbols):
        return False
    if any(c in "()[]{}<>\\," for c in value) or "://" in value or value.startswith(("/", "~", ".", "-", "*")):
        return False  # code, a path, a URL, a list, an escape (roff's \fB)
    if "=" in value.rstrip("="):
        return False  # settings (a=b), not one value; base64 padding at the end is fine
    if SNAKE_CASE.fullmatch(value) or _VERSION.fullmatch(value) or _QUANTITY.fullmatch(value):
        return False
    if _ASSIGNMENT.match(value):
        return False  # "a secret: NAME=value" names an assignment (the assignment rule reads those)
    if _EMAIL.fullmatch(value) or (_FILE_NAME.fullmatch(value) and not symbols) or DOTTED.fullmatch(value):
        return False
    if digits and not symbols and not any(c.isdigit() for c in CODE_DIGITS.sub("", value)):
        return False  # sha256, utf8, base64
    if not strong:
        return True
    if IDENTIFIER.fullmatch(value):
        return looks_generated(value)  # token=accessToken2 is code
    mixed = any(c.isupper() for c in value) and any(c.islower() for c in value)
    inner = INNER_DIGITS.search(value) is not None
    return len(value) >= 8 and digits and (inner or mixed or symbols)


def _after(text: str, end: int, keyword: str, qualified: bool) -> Iterator[tuple[Span, bool]]:
    """Candidate value words after ``keyword`` ending at ``end``: ``(word, strong)``. With no
    connector, "key" takes a value only when ``qualified`` ("api key VALUE", ``KEY_QUALIFIERS``)."""
    at = end
    while at < len(text) and text[at] in "*`":  # **password**: ..., `password`: ...
        at += 1
    attached = at < len(text) and text[at] in ":="
    if attached:
        at += 1
        if text[at : at + 1] in ("=", ":"):
            return  # == is a comparison, :: something else
    elif at < len(text) and text[at] not in " \t":
        return  # the keyword runs on into something else: "user:password@host"
    words = _words(text, at, 3)  # most keywords are followed by words that decide at once
    if not words:
        return
    lowered = [_norm(text, w) for w in words]
    index = 0
    while index < len(words) and lowered[index].rstrip(":") in CONNECTORS:
        index += 1
    if len(words) == 3 and (index == 3 or lowered[0] in QUALIFIERS):
        words = _words(text, at, MAX_WORDS)
        lowered = [_norm(text, w) for w in words]
        while index < len(words) and lowered[index].rstrip(":") in CONNECTORS:
            index += 1
    if attached or index:
        if index < len(words):
            # "token = value" is as often code as prose, and "convert the key to PKCS#8" names a
            # format: after "=" or "to" alone the value must be strong
            code = (attached and text[end:at].endswith("=")) or (index == 1 and lowered[0] in ("=", "to"))
            yield words[index], code
    elif keyword != "key" or qualified:
        yield words[0], True  # "the db password VALUE"; a bare "key VALUE" names a key id
    if lowered[0] in QUALIFIERS:  # "password for the prod db is VALUE", "token for prod: VALUE"
        for k in range(1, min(6, len(words))):
            if lowered[k].rstrip(":") in CONNECTORS or lowered[k].endswith(":"):
                nxt = k + 1
                while nxt < len(words) and lowered[nxt].rstrip(":") in CONNECTORS:
                    nxt += 1
                if nxt < len(words):
                    yield words[nxt], False
                return


def _line_start(text: str, at: int, reach: int = 200) -> int:
    """Where ``at``'s line starts (after a newline or a ``\\n`` escape), at most ``reach`` back."""
    lo = max(0, at - reach)
    real, escaped = text.rfind("\n", lo, at), text.rfind("\\n", lo, at)
    return max(lo, real + 1 if real >= 0 else lo, escaped + 2 if escaped >= 0 else lo)


#: What comes before a keyword when a value precedes it: "VALUE is the db password" (searched in
#: the lower-cased text, on the keyword's line, ``REVERSE_CHARS`` back at most).
_REVERSE = re.compile(r"(?P<v>[^\s]{6,64})[ \t]+(?:is|as|was)[ \t]+(?:[a-z]{1,8}[ \t]+){0,2}$")
REVERSE_CHARS = 100


def _before(text: str, lower: str, start: int) -> Span | None:
    """The value word in "VALUE is/as [the|my ...] [WORD] KEYWORD" ending at the keyword's
    ``start``."""
    line = _line_start(text, start, REVERSE_CHARS)
    near = max(line, start - 32)  # "is"/"as"/"was" and up to two short words before the keyword
    if all(lower.find(word, near, start) < 0 for word in (" is", " as", " was")):
        return None
    match = _REVERSE.search(lower, line, start)
    if match is None or (match.start() > line and not lower[match.start() - 1].isspace()):
        return None  # (a word longer than the value's limit)
    return match.span("v")


#: Words before "key" that make it a secret's name ("api key VALUE"); "key C9597E8F" alone names
#: a key (a GPG key id, a map key).
KEY_QUALIFIERS = frozenset(
    {
        "api",
        "access",
        "secret",
        "private",
        "license",
        "deploy",
        "master",
        "encryption",
        "signing",
        "auth",
        "app",
        "client",
        "admin",
        "account",
        "service",
    }
)
_PREVIOUS_WORD = re.compile(r"([a-z]+)[ \t_\-]+$")


def _qualified(lower: str, start: int) -> bool:
    """True when the word before the "key" at ``start`` is one of ``KEY_QUALIFIERS``."""
    match = _PREVIOUS_WORD.search(lower, max(0, start - 24), start)
    return match is not None and match.group(1) in KEY_QUALIFIERS


def find_prose(text: str, lower: str) -> Iterator[Span]:
    """Spans of the secrets given in words in ``text`` (see the module docstring; ``lower`` is
    ``text.lower()``, same length)."""
    done_until = 0  # the end of the last value word looked at: a keyword inside it is not read again
    for start, end in keyword_spans(lower, KEYWORDS):
        if start < done_until:
            continue
        if (
            start > 0
            and (lower[start - 1].isalnum() or lower[start - 1] == ".")
            and not escaped_break(text, start - 2 if start >= 2 else start)
        ):
            continue  # inside a word ("keyboard"), or an attribute; a \n escape before is a line start
        if end < len(lower) and (
            lower[end].isalnum() or lower[end] in "_-\"'" or (lower[end] == "\\" and not escaped_break(text, end))
        ):
            continue  # inside a word, or a quoted key ("password": ...)
        found = False
        keyword = lower[start:end]
        qualified = keyword == "key" and _qualified(lower, start)
        for word, strong in _after(text, end, keyword, qualified):
            done_until = max(done_until, word[1])
            span, value = _core(text, word)
            after = text[word[1] : word[1] + 1]
            if after == "(" or (after == ")" and start > 0 and text[start - 1] == "_"):
                continue  # a call, or a parameter's type (peer_public_key: X448PublicKey): code
            if value_ok(value, strong):
                yield span
                found = True
                break
        if not found:
            preceding = _before(text, lower, start)
            if preceding is not None:
                span, value = _core(text, preceding)
                if value_ok(value, True):
                    yield span
