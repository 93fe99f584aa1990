"""Secrets given by their name: values assigned to TOKEN/SECRET/PASSWORD/API_KEY-like names,
and HTTP authorization header values (issue 7).

``find_assignments`` finds, for every name that ``secret_name`` accepts, the value in

* JSON: ``"name": "value"``, at any depth of escaping (``\\"name\\": \\"value\\"`` inside a JSON
  string, as in a stored tool_input/tool_response, and deeper);
* ``.env`` and shell lines: ``NAME=value``, ``export NAME="value"``, ``NAME='value'``,
  ``NAME = "value"`` (spaces only with a quoted value), ``NAME := "value"``, and command-line
  flags ``--password=value``;
* ``name: value`` at the start of a line or after a quote (YAML, HTTP headers such as
  ``Private-Token: value``), the value running to the end of the line.

It is keyword-anchored: it looks for the keywords in the lower-cased text (one fast regex
without case folding), then inspects each hit's name and what follows it, so it costs a
fraction of a regex that would try every position. ``find_headers`` does the same for
``Authorization:`` (any scheme), ``Bearer <token>`` and ``X-Api-Key:``.

What is not taken for a secret: names about a secret rather than holding one (``TOKEN_FILE``,
``max_tokens``, ``password_length``: ``NOT_SECRET_LAST``), placeholders and references
(``$TOKEN``, ``${{ secrets.X }}``, ``<your-token>``, ``os.environ[...]``, ``***``), values
under ``MIN_VALUE_CHARS``, a dotted name (``settings.api_key``), and, for a bare (unquoted)
value of a lower-case name, anything that does not look generated (``f(password=password)``
is code; ``password=hunter2x9`` is not).
"""

from __future__ import annotations

import re
from typing import Iterator

from .rules import Span

#: A name holds a secret when one of its segments (split at _ - . and camelCase) is one of
#: these, or two adjacent segments are one of ``SECRET_PAIRS`` ...
SECRET_WORDS = frozenset({"token", "secret", "password", "passwd", "passphrase", "apikey", "accesskey",
                          "privatekey", "secretkey", "authtoken"})
SECRET_PAIRS = frozenset({("api", "key"), ("access", "key"), ("private", "key"), ("client", "secret"),
                          ("auth", "token")})
#: ... unless its last segment says it is about the secret, not the secret.
NOT_SECRET_LAST = frozenset({
    "file", "files", "path", "dir", "url", "uri", "endpoint", "host", "name", "names", "id", "ids", "type", "kind",
    "count", "len", "length", "limit", "max", "min", "size", "ttl", "expiry", "expires", "expiration", "env", "var",
    "header", "field", "prefix", "suffix", "format", "command", "cmd", "helper", "provider", "source", "policy",
    "usage", "budget", "timeout", "mode", "enabled", "required", "set", "present", "pattern", "patterns", "regex",
    "rules", "label", "hint", "location", "store", "manager", "version", "scope", "scopes", "index", "position",
    # names of code and of text about secrets: GitHubTokenDetector, secret_prompt, token_description
    "detector", "class", "plugin", "rule", "prompt", "message", "text", "description", "doc", "help",
})
#: Shortest value taken for a secret (shorter ones are test stubs: token="t").
MIN_VALUE_CHARS = 4
#: Longest value looked at (a longer "value" is not one assignment's).
MAX_VALUE_CHARS = 4096

_SEGMENT = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_PLACEHOLDER = re.compile(
    r"""^(?:\$|%[A-Za-z_]|<[^>]*>$|\[[^\]]*\]$|\{\{|\{%|\[REDACTED|\[PRIVATE\]|.*\*{3}|x{3,}$|X{3,}$|\.{3}|…"""
    r"""|(?:\\+u[0-9a-fA-F]{4})+$"""
    r"""|(?:null|none|nil|true|false|undefined|changeme|redacted|your[-_ ].*|example"""
    r"""|pass|password|passwd|pwd|secret|token|key|api[-_]?key|value"""
    r"""|string|str|number|int|bool|boolean|bytes|any|optional\[.*)$"""
    r"""|os\.environ|process\.env|env\(|getenv|secrets\.)""", re.IGNORECASE)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*[)\],]*")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
#: The keywords, searched in the lower-cased text.
_KEYWORDS = re.compile(r"token|secret|passw(?:or)?d|passphrase|api[_\-]?key|access[_\-]?key|private[_\-]?key")
#: Lower-case substrings one of which a text must hold for ``find_assignments`` to look.
NEEDLES = ("token", "secret", "passw", "passphrase", "apikey", "api_key", "api-key", "accesskey", "access_key",
           "access-key", "privatekey", "private_key", "private-key")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_BARE = re.compile(r"[^\s\"'`\\;&|<>(){}\[\]]{0,4095}[^\s\"'`\\;&|<>(){}\[\],]")
_COLON_VALUE = re.compile(r"[^\s\"'`\\#;,(){}\[\]<>]{4,4096}(?=[ \t]*(?:$|\r|\n|\\[rn]|\\*[\"']))")


def secret_name(name: str) -> bool:
    """True when a variable or key ``name`` says it holds a secret (``GITHUB_TOKEN``, ``apiKey``,
    ``client-secret``, ``--password``), False for names about one (``TOKEN_FILE``,
    ``max_tokens``, ``password_length``) and for the rest."""
    segments = [s.lower() for part in re.split(r"[_.\-]+", name) for s in _SEGMENT.findall(part)]
    if not segments or segments[-1] in NOT_SECRET_LAST:
        return False
    if any(s in SECRET_WORDS for s in segments):
        return True
    return any(pair in SECRET_PAIRS for pair in zip(segments, segments[1:]))


def plausible_value(value: str) -> bool:
    """False for values that are not secrets: empty, a variable reference or a placeholder."""
    value = value.strip()
    return bool(value) and not _PLACEHOLDER.match(value)


def _value_ok(name: str, value: str, bare: bool) -> bool:
    if len(value) < MIN_VALUE_CHARS or not plausible_value(value):
        return False
    if bare and _DOTTED.fullmatch(value):
        return False
    if bare and not name.startswith("-") and any(c.islower() for c in name):
        # name=value with a lower-case name is as often code (f(password=password)) as a
        # shell variable: only a value that looks generated counts.
        return len(value) >= 8 and not _IDENTIFIER.fullmatch(value) and any(c.isdigit() for c in value)
    return True


def _backslashes_before(text: str, at: int) -> int:
    count = 0
    while at - count > 0 and text[at - count - 1] == "\\":
        count += 1
    return count


def _closing(text: str, start: int, quote: str) -> int:
    """Index of the quote (with its escaping ``quote``) that ends a value starting at ``start``
    on the same line, or -1."""
    limit = min(len(text), start + MAX_VALUE_CHARS + len(quote))
    at = start
    while True:
        found = text.find(quote, at, limit)
        if found < 0:
            return -1
        if found > start and text[found - 1] == "\\":  # escaped once more: inside the value
            at = found + 1
            continue
        return -1 if text.find("\n", start, found) >= 0 else found


def _skip_blanks(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t":
        at += 1
    return at


def _json_value(text: str, start: int, end: int) -> Span | None:
    """``"name": "value"`` (at any escaping depth) around the name at ``[start, end)``."""
    if start == 0 or text[start - 1] != '"':
        return None
    quote = "\\" * _backslashes_before(text, start - 1) + '"'
    if not text.startswith(quote, end):
        return None
    at = _skip_blanks(text, end + len(quote))
    if text[at:at + 1] != ":":
        return None
    at = _skip_blanks(text, at + 1)
    if not text.startswith(quote, at):
        return None
    value_start = at + len(quote)
    value_end = _closing(text, value_start, quote)
    return None if value_end < 0 else (value_start, value_end)


def _line_start(text: str, start: int) -> bool:
    """True when only indentation (or a YAML list dash) separates ``start`` from a line start."""
    at = start
    while at > 0 and text[at - 1] in " \t-":
        at -= 1
    return at == 0 or text[at - 1] in "\r\n" or (at >= 2 and text[at - 2] == "\\" and text[at - 1] in "nr")


def _env_value(text: str, start: int, end: int, name: str) -> tuple[Span, bool] | None:
    """``NAME=value`` and friends (see the module docstring) after the name at ``[start, end)``;
    ``(span, bare)``."""
    if start > 0:
        before = text[start - 1]
        escaped_blank = start >= 2 and text[start - 2] == "\\" and before in "nt"
        if not (before.isspace() or before in ";&|(`\"'" or escaped_blank):
            return None
    at = end
    spaced = False
    if text[at:at + 1] == "=":
        at += 1
    else:
        at = _skip_blanks(text, at)
        if text.startswith(":=", at):
            at += 2
        elif text[at:at + 1] == "=":
            at += 1
        else:
            return None
        at = _skip_blanks(text, at)
        spaced = True
    if text[at:at + 1] == "=":  # == is a comparison
        return None
    slashes = 0
    while at + slashes < len(text) and text[at + slashes] == "\\":
        slashes += 1
    if at + slashes < len(text) and text[at + slashes] in "\"'":
        quote = text[at:at + slashes + 1]
        value_end = _closing(text, at + len(quote), quote)
        return None if value_end < 0 else ((at + len(quote), value_end), False)
    if spaced and not slashes and _line_start(text, start):
        # INI style at a line's start (~/.aws/credentials, .pypirc: "name = value"), to the line's end
        # (review finding); code such as "token = compute()" has no bare value to the line's end
        match = _COLON_VALUE.match(text, at)
        return None if match is None else (match.span(), True)
    if spaced or slashes:
        return None
    match = _BARE.match(text, at)
    return None if match is None else (match.span(), True)


def _colon_value(text: str, start: int, end: int) -> Span | None:
    """``name: value`` to the end of the line, the name at a line start or after a quote."""
    if text[end:end + 1] != ":" or not (_line_start(text, start) or (start > 0 and text[start - 1] in "\"'")):
        return None
    at = _skip_blanks(text, end + 1)
    if at == end + 1:
        return None
    match = _COLON_VALUE.match(text, at)
    return None if match is None else match.span()


def find_assignments(text: str, lower: str) -> Iterator[Span]:
    """Spans of the values assigned to secret-holding names in ``text`` (``lower`` is
    ``text.lower()``, same length)."""
    done_until = -1
    for hit in _KEYWORDS.finditer(lower):
        if hit.start() < done_until:
            continue
        start = hit.start()
        while start > 0 and text[start - 1] in _NAME_CHARS and not (start >= 2 and text[start - 2] == "\\"):
            start -= 1  # (the n of an escaped newline, \n or \\n in JSON in JSON, is not part of the name)
        end = hit.end()
        while end < len(text) and text[end] in _NAME_CHARS:
            end += 1
        done_until = end
        name = text[start:end]
        while name.endswith((".", "-")):  # "token." at a sentence's end
            end -= 1
            name = name[:-1]
        if not secret_name(name.lstrip("-")):
            continue
        span = _json_value(text, start, end)
        bare = False
        if span is None:
            found = _env_value(text, start, end, name)
            if found is not None:
                span, bare = found
        if span is None:
            span = _colon_value(text, start, end)
            bare = True
        if span is not None and _value_ok(name, text[span[0]:span[1]], bare):
            yield span


_HEADERS = re.compile(r"authorization|bearer|x-api-key")
_AFTER_NAMED = re.compile(r"(?:\\*[\"'])?[ \t]*[:=][ \t]*(?:\\*[\"'])?[ \t]*"
                          r"(?:(?:[Bb]earer|BEARER|[Bb]asic|BASIC|[Tt]oken|[Dd]igest)[ \t]+)?"
                          r"(?P<v>[A-Za-z0-9._~+/\-]{8,}=*)")
_AFTER_BEARER = re.compile(r"[ \t]+(?P<v>[A-Za-z0-9._~+/\-]{16,}=*)")
#: A snake_case name after ``Authorization:`` is code passing a variable, not a credential.
_SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")


def find_headers(text: str, lower: str) -> Iterator[Span]:
    """Spans of ``Authorization:`` values (any scheme), ``Bearer <token>`` and ``X-Api-Key:``
    values."""
    for hit in _HEADERS.finditer(lower):
        if hit.start() > 0 and text[hit.start() - 1].isalnum():
            continue
        after = _AFTER_BEARER if hit.group() == "bearer" else _AFTER_NAMED
        match = after.match(text, hit.end())
        if match is not None and plausible_value(match.group("v")) and not _SNAKE.fullmatch(match.group("v")):
            yield match.span("v")
