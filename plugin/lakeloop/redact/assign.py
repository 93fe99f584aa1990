"""Secrets given by their name: values assigned to TOKEN/SECRET/PASSWORD/API_KEY-like names,
and HTTP authorization header values.

``find_assignments`` finds, for every name that ``name_strength`` accepts, the value in

* JSON and other mappings: ``"name": "value"`` at any depth of escaping (``\\"name\\": \\"value\\"``
  inside a JSON string, as in a stored tool_input/tool_response, and deeper), single-quoted
  ``{'PASSWORD': 'value'}`` (Python), ``'name' => 'value'`` (PHP, Ruby);
* ``.env`` and shell lines: ``NAME=value``, ``export NAME="value"``, ``NAME='value'``,
  ``NAME = "value"`` (spaces only with a quoted value), ``NAME := "value"``, ``$env:NAME = "value"``
  (PowerShell), ``//registry/:_authToken=value`` (``.npmrc``), ``a=b,password=value`` (mount options), an option's value
  (``--from-literal=password=value``, ``-e DB_PASSWORD=value``, ``--set auth.password=value``),
  and command-line flags ``--password=value`` and ``--password value``;
* ``- name: DB_PASSWORD`` then ``value: SECRET`` (Kubernetes and ECS environment lists, YAML
  or JSON);
* ``name: value`` at the start of a line or after a quote (YAML, HTTP headers such as
  ``Private-Token: value``), the value running to the end of the line (a ``# comment`` may
  follow), or quoted (``password: "value"``; also inline: ``{ password: 'value' }``).

Names are read in any case and spelling: segments split at ``_ - . : /`` and camelCase
(``dbPassword``, ``client-secret``), fused upper-case names (``PGPASSWORD``, ``SSHPASS``,
``DBPASS``), mixed case (``PassWord``). ``pass``, ``pwd`` and ``auth`` are weak words: a name
holds a secret through one of them only as its last segment after another one (``MYSQL_PWD``,
``db_pass``, ``REDISCLI_AUTH``) or as an option (``--pass``), and its value must look like a
credential, not a word (``auth: basic``). A lone ``auth`` holds one when its value is base64 of
``user:password`` (a Docker ``config.json``).

It is keyword-anchored: it looks for the keywords in the lower-cased text (a substring search
each), then inspects each hit's name and what follows it, so it costs a
fraction of a regex that would try every position. ``find_headers`` does the same for
``Authorization:`` (any scheme), ``Bearer <token>`` and ``X-Api-Key:``.

What is not taken for a secret: names about a secret rather than holding one (``TOKEN_FILE``,
``max_tokens``, ``password_length``, ``--password-stdin``: ``NOT_SECRET_LAST``; the flags
``--no-password``, ``--ask-pass``: ``NOT_SECRET_FIRST``), placeholders and references
(``plausible_value``: ``$TOKEN``, ``${{ secrets.X }}``, ``<your-token>``, ``os.environ[...]``,
``***``, ``changeme``), values under ``MIN_VALUE_CHARS``, a dotted name (``settings.api_key``),
and, for a bare (unquoted) value of a lower-case name, anything that does not look generated
(``looks_generated``: ``f(password=password)`` and ``token=new_token2`` are code; a value
with digits inside a word, or upper-case first with digits, is not).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from .rules import Span, closing_quote, keyword_spans, quote_at, read_word, unquoted

#: A name holds a secret when one of its segments (split at _ - . : / and camelCase) is one of
#: these, or two adjacent segments are one of ``SECRET_PAIRS``, or one of its parts (split at
#: _ - . : /) ends with one of ``FUSED_WORDS`` (``PGPASSWORD``, ``PassWord``) ...
SECRET_WORDS = frozenset(
    {
        "token",
        "secret",
        "password",
        "passwd",
        "passphrase",
        "apikey",
        "accesskey",
        "privatekey",
        "secretkey",
        "authtoken",
        "dockerconfigjson",
        "dockercfg",
    }
)
SECRET_PAIRS = frozenset(
    {("api", "key"), ("access", "key"), ("private", "key"), ("client", "secret"), ("auth", "token")}
)
FUSED_WORDS = ("password", "passwd", "passphrase", "secret", "token")
#: ... or, weakly, its last segment is one of these after another segment (``MYSQL_PWD``), or
#: its last upper-case part ends with ``pass``/``pwd`` (``SSHPASS``, ``DBPASS``) ...
WEAK_WORDS = frozenset({"pass", "pwd", "auth"})
#: ... unless its last segment says it is about the secret, not the secret.
NOT_SECRET_LAST = frozenset(
    {
        "file",
        "files",
        "path",
        "dir",
        "url",
        "uri",
        "endpoint",
        "host",
        "name",
        "names",
        "id",
        "ids",
        "type",
        "kind",
        "count",
        "len",
        "length",
        "limit",
        "max",
        "min",
        "size",
        "ttl",
        "expiry",
        "expires",
        "expiration",
        "env",
        "var",
        "header",
        "field",
        "prefix",
        "suffix",
        "format",
        "command",
        "cmd",
        "helper",
        "provider",
        "source",
        "policy",
        "usage",
        "budget",
        "timeout",
        "mode",
        "enabled",
        "required",
        "set",
        "present",
        "pattern",
        "patterns",
        "regex",
        "rules",
        "label",
        "hint",
        "location",
        "store",
        "manager",
        "version",
        "scope",
        "scopes",
        "index",
        "position",
        # names of code and of text about secrets: GitHubTokenDetector, secret_prompt, token_description
        "detector",
        "class",
        "plugin",
        "rule",
        "prompt",
        "message",
        "text",
        "description",
        "doc",
        "help",
        # options that say where the secret comes from: --password-stdin, SSH_AUTH_SOCK
        "stdin",
        "sock",
        "socket",
    }
)
#: Names ending like a secret word that are not secrets (the shell's previous working directory).
NOT_SECRET_NAMES = frozenset({"oldpwd", "bypass", "compass", "surpass", "trespass", "overpass", "underpass"})
#: Option names starting with one of these are switches, not secrets: --no-password, --ask-pass.
NOT_SECRET_FIRST = frozenset({"no", "ask", "prompt", "show", "hide", "skip", "use", "reset", "change", "forgot"})
#: Shortest value taken for a secret (shorter ones are test stubs: token="t").
MIN_VALUE_CHARS = 4
#: Longest value looked at (a longer "value" is not one assignment's).
MAX_VALUE_CHARS = 4096

_SEGMENT = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_PARTS = re.compile(r"[_.\-:/]+")
_PLACEHOLDER = re.compile(
    r"""^(?:\$|%[A-Za-z_(]|<[^>]*>$|\[[^\]]*\]$|\{\{|\{%|\{[A-Za-z_][\w.]*\}$|\[REDACTED|\[PRIVATE\]|.*\*{3}"""
    r"""|[xX*•]{3,}(?:[-_.][xX*•]{2,})*$|\.{3}|…"""
    r"""|(?:\\+u[0-9a-fA-F]{4})+$"""
    r"""|(?:null|none|nil|true|false|undefined|changeme|changeit|redacted|your[-_ ].*|example|placeholder|dummy"""
    r"""|sample|todo|tbd|fixme|n/a|my[-_]?[a-z_\-]*(?:pass|password|passwd|secret|token|key)|.*[-_ ]here"""
    r"""|(?:dead|beef|cafe|babe|bad|face|feed|f00d)+|[a-z_\-]*(?:password|secret|token)[a-z_\-]*"""
    r"""|pass|password|passwd|pwd|secret|token|key|api[-_]?key|value"""
    r"""|string|str|number|int|bool|boolean|bytes|any|optional\[.*)$"""
    r"""|os\.environ|process\.env|env\(|getenv|secrets\.|(?:env|file|fd):)""",
    re.IGNORECASE,
)
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*[)\],]*")
DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
#: Names with digits that code is full of (removed before looking for digits inside words).
CODE_DIGITS = re.compile(
    r"sha\d+|base\d+|utf-?\d+|x509|oauth\d|ec2|k8s|s3|md5|http\d|ipv[46]|i18n|l10n|u?int\d+"
    r"|float\d+|b64|(?<![a-z])v\d+|(?:x|ed)\d{3,5}|secp\d+\w*|(?:rsa|aes|p)\d{3,4}|pbkdf2"
    r"|chacha20|poly1305|blake2[bs]?",
    re.IGNORECASE,
)
#: Digits between letters (C0nnInfo, Lit3ral, a9f3c2): typed or generated, not a code name.
INNER_DIGITS = re.compile(r"[A-Za-z][0-9]+[A-Za-z]")
#: A snake_case name (code; after ``Authorization:``, a variable), and an all-caps word (a metavar
#: in usage text: ``--token TOKEN``).
SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")
_METAVAR = re.compile(r"[A-Z][A-Z_]*")
#: Lower-case words joined by - or _ (``user-id``, ``key_file``): a metavar in usage text.
_LOWER_WORDS = re.compile(r"[a-z]+(?:[-_][a-z]+)*")
_WORD = re.compile(r"[a-z]+|[A-Z][a-z]+|[A-Z]+")
#: Words and spaces only ("will be replaced", "Private key password 1"): a description, not a
#: secret.
_PHRASE = re.compile(r"[A-Za-z]+(?: [A-Za-z]+)+(?: [0-9]{1,3})?")
#: The keywords, searched in the lower-cased text; a text must hold one for ``find_assignments``
#: to look.
NEEDLES = (
    "token",
    "secret",
    "pass",
    "pwd",
    "auth",
    "apikey",
    "api_key",
    "api-key",
    "accesskey",
    "access_key",
    "access-key",
    "privatekey",
    "private_key",
    "private-key",
    "dockercfg",
    "dockerconfigjson",
)
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
#: A bare value: no blank, quote or shell operator; an ``=`` only as base64 padding at its end (an
#: inner one starts another assignment: ``password=password=...`` is not one long value).
_BARE = re.compile(r"[^\s\"'`\\;&|<>(){}\[\]=]{0,4095}[^\s\"'`\\;&|<>(){}\[\],=]={0,2}(?![^\s\"'`\\;&|<>(){}\[\],])")
_COLON_VALUE = re.compile(r"[^\s\"'`\\#;,(){}\[\]<>]{4,4096}(?=[ \t]*(?:$|\r|\n|\\[rn]|\\*[\"'])|[ \t]+#)")
#: An option word (``-e``, ``--from-literal``) before a ``NAME=value``: the value is a literal.
_OPTION = re.compile(r"--?[A-Za-z][A-Za-z0-9\-]*")


@functools.lru_cache(maxsize=2048)
def name_strength(name: str, option: bool = False) -> int:
    """How surely a variable, key or option ``name`` holds a secret: 2 (``GITHUB_TOKEN``,
    ``apiKey``, ``client-secret``, ``PGPASSWORD``, ``PassWord``), 1 through a weak word
    (``MYSQL_PWD``, ``DBPASS``, ``REDISCLI_AUTH``, an option ``--pass``), 0 for names about one
    (``TOKEN_FILE``, ``max_tokens``, ``password_length``, ``--password-stdin``) and for the rest.
    An ``option`` (``--name``) must end with the secret word (``--secret-keyring`` is a file's),
    and ``--no-password`` is a switch. Cached: names repeat."""
    if name.lower() in NOT_SECRET_NAMES:
        return 0
    parts = [p for p in _PARTS.split(name) if p]
    segments = [s.lower() for part in parts for s in _SEGMENT.findall(part)]
    if not segments or segments[-1] in NOT_SECRET_LAST:
        return 0
    if option:
        # an option names what its value is by its last word: --db-password VALUE, but not
        # --secret-keyring FILE, --passphrase-repeat N, --export-secret-key-p12 ID
        if len(segments) > 1 and segments[0] in NOT_SECRET_FIRST:
            return 0
        if (
            segments[-1] in SECRET_WORDS
            or tuple(segments[-2:]) in SECRET_PAIRS
            or (parts[-1].lower().endswith(FUSED_WORDS))
        ):
            return 2
    elif any(s in SECRET_WORDS for s in segments) or any(p in SECRET_PAIRS for p in zip(segments, segments[1:])):
        return 2
    elif any(part.lower().endswith(FUSED_WORDS) for part in parts):
        return 2
    if segments[-1] in WEAK_WORDS and (len(segments) > 1 or option):
        return 1
    last = parts[-1]
    if (last.isupper() or option) and len(last) > 4 and last.lower().endswith(("pass", "pwd")):
        return 1
    return 0


def secret_name(name: str, option: bool = False) -> bool:
    """True when ``name`` says it holds a secret (``name_strength`` above 0)."""
    return name_strength(name, option) > 0


def plausible_value(value: str) -> bool:
    """False for values that are not secrets: empty, a variable reference or a placeholder
    (``$VAR``, ``${VAR}``, ``<password>``, ``{password}``, ``***``, ``xxxx``, ``changeme``,
    ``example``, ``your-password``, ``os.environ[...]``)."""
    value = value.strip()
    return bool(value) and not _PLACEHOLDER.match(value)


def phrase(value: str) -> bool:
    """True for words and spaces only ("will be replaced", "top secret"): a description, not a
    secret."""
    return _PHRASE.fullmatch(value) is not None


def looks_generated(value: str, relaxed: bool = False) -> bool:
    """True when a bare ``value`` (of a lower-case name, where code is as likely as a secret)
    looks like a credential: it holds a digit, and has characters no code name has
    (``hunter2-Xy9!``, 8 characters at least), or digits between letters (``C0nnInfoPw_31``,
    ``a9f3c2e1``), or starts upper-case and mixes cases (``Summer`` + a year); digits of names
    such as ``sha256`` or ``utf8`` do not count. ``relaxed`` (a YAML ``name: value`` line)
    also takes a word with digits (``hunter2``) that is not snake_case."""
    if len(value) < 6 or not any(c.isdigit() for c in value):
        return False
    if not IDENTIFIER.fullmatch(value):
        return len(value) >= 8
    core = CODE_DIGITS.sub("", value)
    if not any(c.isdigit() for c in core):
        return False
    if relaxed and not SNAKE_CASE.fullmatch(value):
        return True
    if INNER_DIGITS.search(core):
        return True
    return core[:1].isupper() and any(c.islower() for c in core)


def word_like(value: str) -> bool:
    """True for a plain word (``basic``, ``Required``, ``OPTION``): not a credential."""
    return _WORD.fullmatch(value) is not None


def option_value_ok(value: str) -> bool:
    """True when a word given after a password option (``--password VALUE``, ``-p VALUE``) may be
    the secret: not a placeholder, not an option, not an all-caps metavar (``PASSWORD``), not
    lower-case words (``--password option``, ``--passwd user-id``), not a roff or shell escape
    (``\\fIstring``), at least ``MIN_VALUE_CHARS`` long."""
    word = value.rstrip(",.;:")  # "--password VALUE, ...": punctuation of the sentence around it
    return (
        len(value) >= MIN_VALUE_CHARS
        and plausible_value(word)
        and not value.startswith(("-", "\\"))
        and not _METAVAR.fullmatch(word)
        and not _LOWER_WORDS.fullmatch(word)
    )


def _value_ok(name: str, value: str, context: str, strength: int) -> bool:
    """Whether ``value`` assigned to ``name`` is taken for a secret. ``context``: "quoted",
    "inline" (quoted after ``name:``: ``{ name: 'value' }``, YAML), "bare" (``name=value``), "yaml" (``name: value``
    to the line's end), "literal" (an option's ``NAME=value``), "option" (``--name=value``).
    Never: a placeholder, a phrase of plain words."""
    if len(value) < MIN_VALUE_CHARS or not plausible_value(value) or phrase(value):
        return False
    if context in ("bare", "yaml") and DOTTED.fullmatch(value):
        return False
    upper = not any(c.islower() for c in name)
    if strength == 1 and not (upper or context == "option"):
        return looks_generated(value, relaxed=context == "yaml")
    if context == "option" and not option_value_ok(value):
        return False  # --private-key=file, --password=PASSWORD: usage text
    if strength == 1 and (not any(c.isalpha() for c in value) or value.startswith(("/", "~", "."))):
        return False  # CLIENT_AUTH = '1.3.6.1.5.5.7.3.2', OLDPWD=/home/x: an OID, a path
    if strength == 1 or context == "literal":
        return not word_like(value) or len(value) >= 16
    if context == "inline" and IDENTIFIER.fullmatch(value) and not any(c.isdigit() for c in value):
        return False  # def f(backend: "Backend", private_key: "_RSAPrivateKey"): a quoted type
    if context in ("bare", "yaml") and not upper:
        # name=value with a lower-case name is as often code (f(password=password)) as a
        # shell variable: only a value that looks generated counts.
        return looks_generated(value, relaxed=context == "yaml")
    return True


def _backslashes_before(text: str, at: int) -> int:
    count = 0
    while at - count > 0 and text[at - count - 1] == "\\":
        count += 1
    return count


def _skip_blanks(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t":
        at += 1
    return at


def _quoted_value(text: str, at: int) -> Span | None:
    """The content of the quoted value starting at ``at`` (any quote, any escaping), or None."""
    quote = quote_at(text, at)
    if not quote:
        return None
    start = at + len(quote)
    end = closing_quote(text, start, quote, MAX_VALUE_CHARS)
    return None if end < 0 else (start, end)


def _mapping_value(text: str, start: int, end: int) -> Span | None:
    """``"name": "value"`` (at any escaping depth), ``'name': 'value'``, ``"name" => 'value'``
    around the name at ``[start, end)``."""
    if start == 0 or text[start - 1] not in "\"'":
        return None
    quote = "'" if text[start - 1] == "'" else "\\" * _backslashes_before(text, start - 1) + '"'
    if not text.startswith(quote, end):
        return None
    at = _skip_blanks(text, end + len(quote))
    if text.startswith("=>", at):
        at += 2
    elif text[at : at + 1] == ":":
        at += 1
    else:
        return None
    return _quoted_value(text, _skip_blanks(text, at))


def _line_start(text: str, start: int) -> bool:
    """True when only indentation (or a YAML list dash) separates ``start`` from a line start."""
    at = start
    while at > 0 and text[at - 1] in " \t-":
        at -= 1
    return at == 0 or text[at - 1] in "\r\n" or (at >= 2 and text[at - 2] == "\\" and text[at - 1] in "nr")


def _word_start(text: str, at: int, reach: int = 64) -> int:
    """Start of the blank-separated word ending at ``at`` (a quote also starts one), at most
    ``reach`` back."""
    lo = max(0, at - reach)
    return max(lo, *(text.rfind(c, lo, at) + 1 for c in " \t\n\"'`"))


def _after_option(text: str, start: int) -> bool:
    """True when the name at ``start`` is inside an option word (``--from-literal=NAME=``) or in
    the word after one (``-e NAME=``, ``-o user=bob,NAME=``): its value is a literal."""
    at = _word_start(text, start)
    if text[at : at + 1] == "-":
        return True
    end = at
    while end > 0 and at - end < 8 and text[end - 1] in " \t":
        end -= 1
    if end == at:
        return False
    return _OPTION.fullmatch(text, _word_start(text, end), end) is not None


def _env_value(text: str, start: int, end: int, name: str) -> tuple[Span, str] | None:
    """``NAME=value`` and friends (see the module docstring) after the name at ``[start, end)``;
    ``(span, context)``."""
    if start > 0:
        before = text[start - 1]
        escaped_blank = start >= 2 and text[start - 2] == "\\" and before in "nt"
        powershell = before == ":" and text[max(0, start - 5) : start - 1].lower() == "$env"
        npmrc = before == ":" and text[start - 2 : start - 1] == "/"  # //registry.npmjs.org/:_authToken=
        after_option = before == "=" and _after_option(text, start)
        if not (before.isspace() or before in ";&|(`\"',?" or escaped_blank or powershell or npmrc or after_option):
            return None
    at = end
    spaced = False
    if text[at : at + 1] == "=":
        at += 1
    else:
        at = _skip_blanks(text, at)
        if text.startswith(":=", at):
            at += 2
        elif text[at : at + 1] == "=":
            at += 1
        else:
            return None
        at = _skip_blanks(text, at)
        spaced = True
    if text[at : at + 1] == "=":  # == is a comparison
        return None
    quoted = _quoted_value(text, at)
    if quoted is not None:
        return quoted, "quoted"
    if text[at : at + 1] == "\\":
        return None
    if spaced and _line_start(text, start):
        # INI style at a line's start (~/.aws/credentials, .pypirc: "name = value"), to the line's end;
        # code such as "token = compute()" has no bare value to the line's end
        match = _COLON_VALUE.match(text, at)
        return None if match is None else (match.span(), "bare")
    if spaced:
        return None
    match = _BARE.match(text, at)
    if match is None:
        return None
    if name.startswith("-"):
        return match.span(), "option"
    return match.span(), "literal" if _after_option(text, start) else "bare"


def _option_word(text: str, end: int, weak: bool) -> Span | None:
    """``--password VALUE``: the word after an option name ending at ``end`` (``weak``: the name
    holds a secret through a weak word, ``--pass``)."""
    if text[end : end + 1] not in (" ", "\t"):
        return None
    at = _skip_blanks(text, end)
    stop = read_word(text, at)
    if stop == at:
        return None
    start, stop = unquoted(text, at, stop)
    if text.startswith("pass:", start):  # openssl's -pass pass:SECRET
        start += 5
    value = text[start:stop]
    if not option_value_ok(value) or (weak and not looks_generated(value)):
        return None  # (--mail-auth user@example.com: a weak name takes only a generated value)
    return start, stop


def _colon_value(text: str, start: int, end: int) -> tuple[Span, str] | None:
    """``name: value`` to the end of the line, the name at a line start or after a quote; or a
    quoted value, also after ``{`` or ``,`` (``{ password: 'x' }``)."""
    if text[end : end + 1] != ":":
        return None
    line = _line_start(text, start)
    after_quote = start > 0 and text[start - 1] in "\"'"
    at = _skip_blanks(text, end + 1)
    if not (line or after_quote):
        before = start
        while before > 0 and text[before - 1] in " \t":
            before -= 1
        if not (before > 0 and text[before - 1] in "{,(") or at == end + 1 and not quote_at(text, at):
            return None
        quoted = _quoted_value(text, at)
        return None if quoted is None else (quoted, "inline")
    # (a Capitalized key is code's, a class: pygments' {Token: <color>}; YAML keys are lower or upper case)
    capitalized = text[start].isupper() and any(c.islower() for c in text[start:end])
    quoted = _quoted_value(text, at) if line and not capitalized else None
    if quoted is not None:
        return quoted, "inline"
    if at == end + 1:
        return None
    match = _COLON_VALUE.match(text, at)
    return None if match is None else (match.span(), "yaml")


_NAME_KEY = re.compile(r"name\\*[\"']?[ \t]*:[ \t]*\\*[\"']?$")
_VALUE_KEY = re.compile(r"[\s,{](?:\\*[\"'])?value(?:\\*[\"'])?[ \t]*:[ \t]*")


def _name_value(text: str, start: int, end: int) -> tuple[Span, str] | None:
    """The value of a ``name: DB_PASSWORD`` / ``value: SECRET`` pair (Kubernetes and ECS
    environment lists, in YAML or JSON) whose name is at ``[start, end)``."""
    if _NAME_KEY.search(text, max(0, start - 24), start) is None:
        return None
    key = _VALUE_KEY.search(text, end, min(len(text), end + 200))
    if key is None or "name" in text[end : key.start()]:
        return None
    quoted = _quoted_value(text, key.end())
    if quoted is not None:
        return quoted, "quoted"
    match = _COLON_VALUE.match(text, key.end())
    return None if match is None else (match.span(), "yaml")


def _basic_auth(value: str) -> bool:
    """True when ``value`` is base64 of ``user:password`` (a Docker ``config.json`` ``auth``)."""
    import base64
    import binascii

    if len(value) < 8 or len(value) > MAX_VALUE_CHARS:
        return False
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    user, colon, password = decoded.partition(":")
    return bool(colon and password) and decoded.isprintable()


def find_assignments(text: str, lower: str) -> Iterator[Span]:
    """Spans of the values assigned to secret-holding names in ``text`` (``lower`` is
    ``text.lower()``, same length)."""
    done_until = -1
    for start, hit_end in keyword_spans(lower, NEEDLES):
        if start < done_until:
            continue
        while start > 0 and text[start - 1] in _NAME_CHARS and not (start >= 2 and text[start - 2] == "\\"):
            start -= 1  # (the n of an escaped newline, \n or \\n in JSON in JSON, is not part of the name)
        end = hit_end
        while end < len(text) and text[end] in _NAME_CHARS:
            end += 1
        done_until = end
        name = text[start:end]
        while name.endswith((".", "-")):  # "token." at a sentence's end
            end -= 1
            name = name[:-1]
        option = name.startswith("-")
        strength = name_strength(name.lstrip("-"), option)
        if not strength:
            if name.lower() == "auth":
                span = _mapping_value(text, start, end)
                if span is not None and _basic_auth(text[span[0] : span[1]]):
                    yield span
            continue
        span = _mapping_value(text, start, end)
        context = "quoted"
        if span is None:
            found = _env_value(text, start, end, name)
            if found is None:
                found = _colon_value(text, start, end)
            if found is not None:
                span, context = found
        if span is None:
            found = _name_value(text, start, end)
            if found is not None:
                span, context = found
        if span is None and option:
            span = _option_word(text, end, strength == 1)
            if span is not None:
                yield span
            continue
        if span is not None and _value_ok(name, text[span[0] : span[1]], context, strength):
            yield span


_HEADERS = ("authorization", "bearer", "x-api-key")
_AFTER_NAMED = re.compile(
    r"(?:\\*[\"'])?[ \t]*[:=][ \t]*(?:\\*[\"'])?[ \t]*"
    r"(?:(?:[Bb]earer|BEARER|[Bb]asic|BASIC|[Tt]oken|[Dd]igest)[ \t]+)?"
    r"(?P<v>[A-Za-z0-9._~+/\-]{8,}=*)"
)
_AFTER_BEARER = re.compile(r"[ \t]+(?P<v>[A-Za-z0-9._~+/\-]{16,}=*)")


def find_headers(text: str, lower: str) -> Iterator[Span]:
    """Spans of ``Authorization:`` values (any scheme), ``Bearer <token>`` and ``X-Api-Key:``
    values."""
    for start, end in keyword_spans(lower, _HEADERS):
        if start > 0 and text[start - 1].isalnum():
            continue
        after = _AFTER_BEARER if lower[start:end] == "bearer" else _AFTER_NAMED
        match = after.match(text, end)
        if match is not None and plausible_value(match.group("v")) and not SNAKE_CASE.fullmatch(match.group("v")):
            yield match.span("v")
