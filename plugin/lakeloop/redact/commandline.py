"""Passwords given to programs on their command line, read the way each program reads them.

``find_commands`` finds the commands that may give a password (``" -p"``, ``"--user"``,
``"config"`` ...: ``SHORT_ANCHORS``, ``LONG_ANCHORS``, ``WORD_ANCHORS``; a few substring
searches), reads each from its start (after a line end that is not a continuation, ``;``, ``|``,
``&``, ``(`` or a quote) with ``rules.read_command`` (quotes, JSON escaping, redirections; up to
the next ``;``, ``|``, ``&&`` or line end), and looks up its program (``PROGRAMS``; after ``sudo``,
``env X=1``, a path). Each program has a ``Spec``:

* short options whose value is a password: ``-p`` of mysql (fused only: ``-pSECRET``; ``-p``
  alone prompts and ``-p NAME`` names a database), ``-p`` of ``docker/podman/helm/oras/az/oc/cf
  ... login`` (only in a ``login`` command: ``docker run -p 8080:80`` is a port), ``-a`` of
  redis-cli, ``-p`` of sshpass and mongo, ``-P`` of sqlcmd, zip and unzip, ``-w`` of the LDAP
  tools, ``-p`` of 7z (fused);
* ``user:password`` values: curl ``-u``/``--user``/``-U``/``--proxy-user``, httpie ``-a``/``--auth``,
  skopeo ``--creds``, smbclient ``-U user%password``, lftp ``-u user,password``; ssh-keygen's
  ``-N``/``-P`` passphrases;
* positional passwords: ``htpasswd -b [-c] FILE USER PASSWORD`` (``-nb USER PASSWORD``),
  ``mysqladmin password NEW``, ``rabbitmqctl add_user USER PASSWORD``, ``vault login TOKEN``,
  Oracle's ``sqlplus user/PASSWORD@db``, PowerShell's ``ConvertTo-SecureString PASSWORD``;
* ``NAME VALUE`` settings where NAME holds a secret: ``aws configure set``, ``git config``,
  ``npm/yarn/pnpm/pip config set``, ``poetry config``, ``dotnet user-secrets set``, fish's
  ``set -x`` and csh's ``setenv``; ``gh secret set NAME --body VALUE``;
* openssl's ``-passin pass:SECRET`` (and ``-passout``, ``-pass``);
* ``echo SECRET | docker login --password-stdin`` (and ``sudo -S``, ``chpasswd``, ``passwd
  --stdin``), ``docker login --password-stdin <<< SECRET``: what is given to a program that reads
  a password on its standard input.

Long options named like a password (``--password VALUE``, ``--db-password=VALUE``) are
``lakeloop.redact.assign``'s, for any program. Values that are placeholders
(``assign.option_value_ok``: ``$PW``, ``<password>``, ``PASSWORD``) are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from .assign import option_value_ok, secret_name
from .rules import Span, read_command, unquoted

#: How a short or long option's value holds the password.
NEXT = "next"  # the next word or fused (-pSECRET, --opt SECRET, --opt=SECRET)
FUSED = "fused"  # fused only (-pSECRET): a separate word is something else
USERPASS = "userpass"  # user:password (or user%password), either way


@dataclass(frozen=True)
class Spec:
    """How one program takes passwords. ``short``/``long``: option (``"p"``, ``"user"``) ->
    ``NEXT``/``FUSED``/``USERPASS``; ``after``: a word that must come before a short option (the
    ``login`` subcommand), and before a long one too when ``gate_long``; ``separator`` of
    ``USERPASS`` values; ``positional``: subcommand word -> index of the password among the words
    after it that are not options; ``settings``: the command sets ``NAME VALUE`` pairs (``git
    config``); ``handler``: a function for the rest (``_HANDLERS``)."""

    short: dict[str, str] = field(default_factory=dict)
    long: dict[str, str] = field(default_factory=dict)
    after: tuple[str, ...] = ()
    gate_long: bool = False
    separator: str = ":"
    positional: dict[str, int] = field(default_factory=dict)
    settings: tuple[str, ...] = ()
    handler: str = ""


_LOGIN = Spec(short={"p": NEXT}, after=("login",))
_MYSQL = Spec(short={"p": FUSED}, positional={"password": 0})
_MONGO = Spec(short={"p": NEXT})
_LDAP = Spec(short={"w": NEXT})
_CONFIG = Spec(settings=("config", "configure", "set", "user-secrets"))

#: Program name -> ``Spec``.
PROGRAMS: dict[str, Spec] = {
    **{
        name: _MYSQL
        for name in (
            "mysql",
            "mysqldump",
            "mysqladmin",
            "mysqlimport",
            "mysqlcheck",
            "mysqlshow",
            "mysqlpump",
            "mysqlslap",
            "mysqlbinlog",
            "mariadb",
            "mariadb-dump",
            "mariadb-admin",
            "mariadb-import",
            "mariadb-check",
        )
    },
    **{
        name: _LOGIN
        for name in (
            "docker",
            "podman",
            "buildah",
            "nerdctl",
            "helm",
            "oras",
            "crane",
            "regctl",
            "az",
            "oc",
            "cf",
            "argocd",
        )
    },
    "skopeo": Spec(
        short={"p": NEXT}, after=("login",), long={"creds": USERPASS, "src-creds": USERPASS, "dest-creds": USERPASS}
    ),
    "curl": Spec(short={"u": USERPASS, "U": USERPASS}, long={"user": USERPASS, "proxy-user": USERPASS}),
    **{name: Spec(short={"a": USERPASS}, long={"auth": USERPASS}) for name in ("http", "https", "xh")},
    "redis-cli": Spec(short={"a": NEXT}),
    "sshpass": Spec(short={"p": NEXT}),
    "mycli": Spec(short={"p": NEXT}),
    **{
        name: _MONGO
        for name in (
            "mongo",
            "mongosh",
            "mongodump",
            "mongorestore",
            "mongoexport",
            "mongoimport",
            "mongostat",
            "mongotop",
            "mongofiles",
        )
    },
    **{name: Spec(short={"P": NEXT}) for name in ("sqlcmd", "bcp", "osql", "zip", "unzip", "zipcloak")},
    **{name: Spec(short={"p": FUSED}) for name in ("7z", "7za", "7zz", "7zr")},
    **{
        name: _LDAP
        for name in (
            "ldapsearch",
            "ldapadd",
            "ldapmodify",
            "ldapdelete",
            "ldapwhoami",
            "ldappasswd",
            "ldapcompare",
            "ldapmodrdn",
            "ldapexop",
        )
    },
    **{
        name: Spec(short={"U": USERPASS}, long={"user": USERPASS}, separator="%")
        for name in ("smbclient", "rpcclient", "smbcacls", "smbget")
    },
    "htpasswd": Spec(handler="htpasswd"),
    **{name: Spec(handler="slash") for name in ("sqlplus", "sqlldr", "expdp", "impdp", "exp", "imp", "rman")},
    "convertto-securestring": Spec(handler="securestring"),
    "lftp": Spec(short={"u": USERPASS}, separator=","),
    "ssh-keygen": Spec(short={"N": NEXT, "P": NEXT}),
    "openssl": Spec(handler="openssl"),
    "rabbitmqctl": Spec(positional={"add_user": 1, "change_password": 1}),
    "vault": Spec(positional={"login": 0}),
    "gh": Spec(short={"b": NEXT}, long={"body": NEXT}, after=("secret",), gate_long=True),
    **{name: _CONFIG for name in ("aws", "git", "npm", "yarn", "pnpm", "pip", "pip3", "poetry", "dotnet")},
    "setenv": Spec(settings=("setenv",)),
    "set": Spec(settings=("set",)),
    **{name: Spec(handler="echo") for name in ("echo", "printf")},
}

#: What ``find_commands`` searches the text for (one substring search each): a short option
#: ``" -X"`` with X in ``SHORT_ANCHORS``, a long option ``"--NAME"`` with NAME in ``LONG_ANCHORS``
#: (or ending with ``-stdin``), or one of ``WORD_ANCHORS``. The command holding one is then read
#: from its start and its program looked up in ``PROGRAMS``.
SHORT_ANCHORS = frozenset("pPauUwbSN")
LONG_ANCHORS = frozenset({"user", "proxy-user", "auth", "body", "creds", "src-creds", "dest-creds"})
WORD_ANCHORS = (
    "pass:",
    "htpasswd",
    "mysqladmin",
    "rabbitmqctl",
    "vault login",
    "config",
    "user-secrets",
    "setenv ",
    "set -",
    "chpasswd",
    "<<<",
    "sqlplus ",
    "sqlldr ",
    "expdp ",
    "impdp ",
    "exp ",
    "imp ",
    "rman ",
    "SecureString",
    "securestring",
)
_LONG_NAME = re.compile(r"[a-z][a-z\-]*")
#: Lower-case substrings one of which a text must hold for ``find_commands`` to look.
NEEDLES = tuple(sorted({" -", "--"} | {anchor.lower() for anchor in WORD_ANCHORS}))
#: Words that may come before the program in a command (``sudo -u app mysql``, ``env X=1 curl``).
MAX_PREFIX_WORDS = 6
#: How far back from an anchor a command's start is looked for (characters).
MAX_COMMAND_BACK = 256
_STDIN_OPTION = re.compile(r"--[a-z\-]*pass[a-z\-]*-stdin")
#: openssl's password sources holding the password itself (``pass:SECRET``).
_OPENSSL_PASS = re.compile(r"-(?:passin|passout|pass|password|k)")


def _word(text: str, span: Span) -> str:
    return text[span[0] : span[1]]


def _value(text: str, span: Span, how: str, separator: str) -> Span | None:
    """The secret inside the value word ``span`` (unquoted; after ``user:`` for USERPASS)."""
    start, end = unquoted(text, *span)
    if how == USERPASS:
        at = text.find(separator, start, end)
        if at < 0:
            return None  # a user alone: the program asks for the password
        start = at + 1
        start, end = unquoted(text, start, end)
    return (start, end) if option_value_ok(text[start:end]) else None


def _options(text: str, words: list[Span], spec: Spec) -> Iterator[Span]:
    """The values of ``spec``'s short and long options among ``words``."""
    armed = not spec.after
    for index, span in enumerate(words):
        word = _word(text, span)
        if not armed and word in spec.after:
            armed = True
            continue
        nxt = words[index + 1] if index + 1 < len(words) else None
        if word.startswith("--") and spec.long and (armed or not spec.gate_long):
            name, eq, _rest = word[2:].partition("=")
            how = spec.long.get(name)
            if how is None:
                continue
            if eq:
                value = (span[0] + 3 + len(name), span[1])
            elif nxt is not None and how != FUSED:
                value = nxt
            else:
                continue
        elif armed and len(word) >= 2 and word[0] == "-" and word[1] in spec.short:
            how = spec.short[word[1]]
            if len(word) > 2:
                value = (span[0] + 2 + (word[2] == "="), span[1])
            elif how != FUSED and nxt is not None:
                value = nxt
            else:
                continue
        else:
            continue
        found = _value(text, value, how, spec.separator)
        if found is not None:
            yield found


def _positionals(text: str, words: list[Span]) -> list[Span]:
    return [w for w in words if not text.startswith("-", w[0])]


def _after_word(text: str, words: list[Span], spec: Spec) -> Iterator[Span]:
    """``spec.positional``: the password among the non-option words after a subcommand."""
    plain = _positionals(text, words)
    for index, span in enumerate(plain):
        skip = spec.positional.get(_word(text, span))
        if skip is not None and index + 1 + skip < len(plain):
            value = plain[index + 1 + skip]
            if "=" not in _word(text, value):
                found = _value(text, value, NEXT, "")
                if found is not None:
                    yield found
            return


def _settings(text: str, words: list[Span], spec: Spec, program: str) -> Iterator[Span]:
    """``NAME VALUE`` pairs of setting commands where NAME holds a secret (``git config
    user.password VALUE``, ``set -x API_TOKEN VALUE``)."""
    plain = _positionals(text, words)
    if program not in ("set", "setenv"):
        if not any(_word(text, w) in spec.settings for w in plain[:3]):
            return
    elif program == "set" and not any(_word(text, w).startswith("-") for w in words[:1]):
        return  # bash's set: fish's set exports with -x/-g/-U
    for index, span in enumerate(plain[:-1]):
        name = unquoted(text, *span)
        if secret_name(_word(text, name).rpartition(":")[2].rpartition("/")[2]):
            found = _value(text, plain[index + 1], NEXT, "")
            if found is not None:
                yield found
            return


def _htpasswd(text: str, words: list[Span], end: int) -> Iterator[Span]:
    """``htpasswd -b[c] FILE USER PASSWORD`` and ``htpasswd -nb USER PASSWORD``."""
    flags, plain, skip = "", [], False
    for span in words:
        word = _word(text, span)
        if skip:
            skip = False
        elif word.startswith("-") and len(word) > 1:
            flags += word[1:]
            skip = word[-1] in "Cr"  # -C cost, -r rounds take a number
        else:
            plain.append(span)
    if "b" in flags:
        wanted = 1 if "n" in flags else 2
        if len(plain) > wanted:
            found = _value(text, plain[wanted], NEXT, "")
            if found is not None:
                yield found


def _openssl(text: str, words: list[Span], end: int) -> Iterator[Span]:
    """``-passin pass:SECRET`` and the like (``env:VAR`` and ``file:PATH`` are not secrets)."""
    for index, span in enumerate(words[:-1]):
        if _OPENSSL_PASS.fullmatch(_word(text, span)):
            start, stop = unquoted(text, *words[index + 1])
            if text.startswith("pass:", start):
                found = _value(text, (start + 5, stop), NEXT, "")
                if found is not None:
                    yield found


def _user_slash_password(text: str, words: list[Span], end: int) -> Iterator[Span]:
    """Oracle's ``sqlplus user/password@db`` (``target sys/password`` for rman): the password."""
    for span in _positionals(text, words)[:2]:
        start, stop = unquoted(text, *span)
        slash = text.find("/", start, stop)
        if slash > start and "://" not in text[start:stop]:
            at = text.find("@", slash, stop)
            found = _value(text, (slash + 1, at if at > 0 else stop), NEXT, "")
            if found is not None:
                yield found
            return


def _securestring(text: str, words: list[Span], end: int) -> Iterator[Span]:
    """PowerShell's ``ConvertTo-SecureString "PASSWORD" -AsPlainText`` (or ``-String PASSWORD``)."""
    for index, span in enumerate(words):
        word = _word(text, span)
        if word.lower() == "-string" and index + 1 < len(words):
            span = words[index + 1]
        elif word.startswith("-"):
            continue
        found = _value(text, span, NEXT, "")
        if found is not None:
            yield found
        return


def _reads_password(text: str, words: list[Span]) -> str:
    """How the command ``words`` reads a password from its standard input: "whole" (``docker
    login --password-stdin``, ``sudo -S``, ``passwd --stdin``), "userpass" (``chpasswd``), or ''."""
    if not words:
        return ""
    first = _program_name(text, words[0])
    names = [_word(text, w) for w in words]
    if first == "chpasswd":
        return "userpass"
    if (first == "sudo" and "-S" in names) or (first == "passwd" and "--stdin" in names):
        return "whole"
    return "whole" if any(_STDIN_OPTION.fullmatch(n) for n in names) else ""


def _echo(text: str, words: list[Span], end: int) -> Iterator[Span]:
    """``echo SECRET | docker login --password-stdin`` (see ``_reads_password``)."""
    if not (end < len(text) and text[end] == "|" and text[end + 1 : end + 2] != "|"):
        return
    consumer, _stop = read_command(text, end + 1, 16)
    how = _reads_password(text, consumer)
    if not how:
        return
    values = [w for w in words if not _word(text, w).startswith("-") and "%" not in _word(text, w)]
    if len(values) == 1:
        found = _value(text, values[0], USERPASS if how == "userpass" else NEXT, ":")
        if found is not None:
            yield found


#: Characters before which a command starts (a quote: the start of a JSON string holding it).
_COMMAND_BREAK = frozenset("\n\r;|&(`\"'{")


def _command_begin(text: str, at: int, lo: int) -> int:
    """Where the command holding position ``at`` starts: after a line end (``\\n`` in JSON
    text too) that is not a continuation, ``;``, ``|``, ``&``, ``(``, a backquote, a quote or
    ``{``, at ``lo`` at the earliest."""
    lo = max(0, lo)
    i = at
    while i > lo:
        char = text[i - 1]
        if (char == "\n" and text[i - 2 : i - 1] == "\\") or (char == "n" and text[i - 4 : i - 1] == "\\\\\\"):
            i -= 2  # a line continuation: the command goes on
        elif char in _COMMAND_BREAK:
            return i
        elif char in "nrt" and i >= 2 and text[i - 2] == "\\":
            return i
        i -= 1
    return lo


def _program_name(text: str, span: Span) -> str:
    """The program a command word names: without its directory and ``.exe``, PowerShell's
    cmdlets in lower case."""
    name = _word(text, span).rpartition("/")[2].removesuffix(".exe")
    return name.lower() if "-" in name and name[:1].isupper() else name


def _program(text: str, words: list[Span]) -> int:
    """Index in ``words`` of the known program the command runs (after ``sudo``, ``env X=1``, a
    path), or -1."""
    for index, span in enumerate(words[:MAX_PREFIX_WORDS]):
        if _program_name(text, span) in PROGRAMS:
            return index
    return -1


#: ``Spec.handler`` -> function(text, words, end) yielding the password spans of one command.
_HANDLERS = {
    "htpasswd": _htpasswd,
    "openssl": _openssl,
    "echo": _echo,
    "slash": _user_slash_password,
    "securestring": _securestring,
}


def _apply(text: str, words: list[Span], end: int, program: str) -> Iterator[Span]:
    """The passwords of one command of ``program`` (its arguments: ``words``; ``end``: where the
    command stopped)."""
    spec = PROGRAMS[program]
    if spec.handler:
        yield from _HANDLERS[spec.handler](text, words, end)
    if spec.short or spec.long:
        yield from _options(text, words, spec)
    if spec.positional:
        yield from _after_word(text, words, spec)
    if spec.settings:
        yield from _settings(text, words, spec, program)


_ECHO = re.compile(r"(?:echo|printf)[ \t]")


def _piped_in(text: str, pipe: int) -> Iterator[Span]:
    """``echo SECRET |`` before the ``|`` at ``pipe`` (the last echo or printf of that line)."""
    lo = max(0, pipe - 256)
    for stop in ("\n", "\\n", ";", "&&"):
        found = text.rfind(stop, lo, pipe)
        if found >= 0:
            lo = max(lo, found + len(stop))
    last = None
    for match in _ECHO.finditer(text, lo, pipe):
        if match.start() == 0 or text[match.start() - 1] in " \t(`\"'" or match.start() == lo:
            last = match
    if last is not None:
        words, end = read_command(text, last.end())
        if end == pipe:
            yield from _echo(text, words, end)


def find_commands(text: str, lower: str) -> Iterator[Span]:
    """Spans of the passwords given on the command lines of known programs in ``text`` (see the
    module docstring; ``lower`` is unused). Each command holding an anchor (``_anchors``) is read
    from its start, once; ``echo ... |`` before one is read too."""
    covered = 0  # where the last command read stopped: each character is read about once
    for at in sorted(set(_anchors(text))):
        if at < covered:
            continue
        begin = _command_begin(text, at, max(covered, at - MAX_COMMAND_BACK))
        herestrings: list[Span] = []
        words, end = read_command(text, begin, herestrings=herestrings)
        covered = max(end, at + 1)
        index = _program(text, words)
        if index >= 0:
            program = _program_name(text, words[index])
            yield from _apply(text, words[index + 1 :], end, program)
        if herestrings and _reads_password(text, words):  # docker login --password-stdin <<< "$PW"
            for span in herestrings:
                found = _value(text, span, NEXT, "")
                if found is not None:
                    yield found
        if begin > 0 and text[begin - 1] == "|" and text[begin - 2 : begin - 1] != "|":
            yield from _piped_in(text, begin - 1)


def _anchors(text: str) -> Iterator[int]:
    """Positions of the ``*_ANCHORS`` in ``text`` (see there)."""
    at = text.find(" -")
    while at >= 0:
        if text[at + 2 : at + 3] in SHORT_ANCHORS:
            yield at
        at = text.find(" -", at + 2)
    at = text.find("--")
    while at >= 0:
        name = _LONG_NAME.match(text, at + 2)
        if name is not None and (name.group() in LONG_ANCHORS or name.group().endswith("-stdin")):
            yield at
        at = text.find("--", at + 2)
    for anchor in WORD_ANCHORS:
        at = text.find(anchor)
        while at >= 0:
            yield at
            at = text.find(anchor, at + len(anchor))
