"""The lexer of the memory path's Bash parser (``lakeloop.memory.bash``).

``Lexer(command, home, hint).tokens()`` splits one command the way POSIX sh would into
``Word`` (text after quote removal and ``~``/``$HOME`` expansion at the start of a word,
whether any part was quoted, the raw source text), the operators ``"|"``, ``">"`` and
``">>"``, and ``Heredoc`` (body and whether its delimiter was quoted). Anything else a
shell would interpret (other operators, ``$`` expansions, backticks, unquoted globs and
braces, ``!``, ``#``, newlines outside a heredoc, fd redirections) raises
``syntax.CommandRefused``. Imported by ``parser`` only, never on the cheap path (``scan``).
"""

from __future__ import annotations

import re

from .syntax import CommandRefused, Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

_OPS = frozenset("|&;<>()")
_BLANK = frozenset(" \t")


class Word(Record):
    """One shell word: ``text`` after quote removal and expansion of ``~``/``$HOME`` at its start,
    ``quoted`` (some part of it was quoted), ``raw`` (its source text)."""

    __slots__ = ("text", "quoted", "raw")

    def __init__(self, text: str, quoted: bool, raw: str) -> None:
        self.text, self.quoted, self.raw = text, quoted, raw


class Heredoc(Record):
    """A heredoc: its ``body`` (verbatim text) and whether its delimiter was ``quoted``."""

    __slots__ = ("body", "quoted")

    def __init__(self, body: str, quoted: bool) -> None:
        self.body, self.quoted = body, quoted


class Lexer:
    """A small POSIX-sh-like lexer producing words and the operators ``|``, ``>``, ``>>``
    and heredocs; raises ``CommandRefused`` for anything else a shell would interpret.

    ``s``: the command; ``home``: the home directory ``~``/``$HOME``/``${HOME}`` expand to;
    ``hint``: the refusal's default advice (``syntax.Ctx.hint``)."""

    def __init__(self, s: str, home: str, hint: str) -> None:
        self.s, self.n, self.home, self.hint = s, len(s), home, hint
        self.pending: list[tuple[str, bool, bool]] = []  # (delimiter, quoted, strip tabs)
        self.heredocs: list[Heredoc] = []

    def refuse(self, what: str, instead: str = "") -> NoReturn:
        """Raise ``CommandRefused``: ``what`` is not supported; ``instead`` (default: the hint) what to do."""
        raise CommandRefused(f"{what}: not supported on the memory path; {instead or self.hint}")

    def tokens(self) -> list[Any]:
        """The command's tokens in order: ``Word``, ``"|"``, ``">"``, ``">>"``, ``Heredoc``.
        Raises ``CommandRefused``."""
        s, n = self.s, self.n
        out: list[Any] = []
        i = 0
        while i < n:
            c = s[i]
            if c in _BLANK:
                i += 1
            elif c == "\n":
                if self.pending:
                    i = self._bodies(i + 1)
                    if s[i:].strip(" \t\n"):
                        self.refuse("A second command after a heredoc", "run one command per call")
                    break
                if s[i:].strip(" \t\n"):
                    self.refuse("A newline (several commands)", "run one command per call; " + self.hint)
                break
            elif c == "|":
                if s.startswith("||", i):
                    self.refuse("`||`", "run one command per call; " + self.hint)
                if s.startswith("|&", i):
                    self.refuse("`|&`")
                out.append("|")
                i += 1
            elif c == "&":
                self.refuse(
                    "`&&`" if s.startswith("&&", i) else "`&` (background or `&>`)",
                    "run one command per call; " + self.hint,
                )
            elif c == ";":
                self.refuse("`;`", "run one command per call; " + self.hint)
            elif c in "()":
                self.refuse("A subshell or `( )`")
            elif c == ">":
                op = ">>" if s.startswith(">>", i) else ">"
                i += len(op)
                if i < n and s[i] in ">&|(":
                    self.refuse(f"`{op}{s[i]}`")
                out.append(op)
            elif c == "<":
                if s.startswith("<<<", i):
                    self.refuse("A here-string `<<<`")
                if not s.startswith("<<", i):
                    self.refuse("Input redirection `<` or `<(...)`", "name the file as an operand, e.g. `cat FILE`")
                i += 2
                strip = i < n and s[i] == "-"
                i += strip
                while i < n and s[i] in _BLANK:
                    i += 1
                start = i
                if i >= n or s[i] in _OPS or s[i] == "\n":
                    self.refuse("A heredoc without a delimiter", "use `cat > FILE <<'EOF'`, the text, then `EOF`")
                word, i = self._word(i)
                raw = s[start:i]
                if not word.text or not re.fullmatch(r"[A-Za-z0-9_.'\"\\-]+", raw):
                    self.refuse("This heredoc delimiter", "use `cat > FILE <<'EOF'` ... `EOF`")
                if self.pending:
                    self.refuse("More than one heredoc")
                self.pending.append((word.text, word.quoted, strip))
                out.append(Heredoc("", word.quoted))
            elif c == "#":
                self.refuse("A `#` comment")
            else:
                word, i = self._word(i)
                if i < n and s[i] in "<>" and word.raw.isdigit():
                    self.refuse(
                        f"A file-descriptor redirection (`{word.raw}{s[i]}`, e.g. `2>/dev/null`)",
                        "drop it: error messages are shown inline; " + self.hint,
                    )
                out.append(word)
        if self.pending and not self.heredocs:
            self.refuse("A heredoc without its body", "use `cat > FILE <<'EOF'`, the text, then `EOF`")
        for k, tok in enumerate(out):
            if isinstance(tok, Heredoc):
                out[k] = self.heredocs[0]
        return out

    def _bodies(self, i: int) -> int:
        delim, quoted, strip = self.pending[0]
        s = self.s
        lines: list[str] = []
        while True:
            if i >= self.n:
                self.refuse("A heredoc without its closing delimiter line", f"end the text with a line `{delim}`")
            j = s.find("\n", i)
            line = s[i:] if j < 0 else s[i:j]
            i = self.n if j < 0 else j + 1
            if strip:
                line = line.lstrip("\t")
            if line == delim:
                break
            lines.append(line)
        body = "".join(ln + "\n" for ln in lines)
        if not quoted:
            if "$" in body or "`" in body or "\\\n" in body:
                self.refuse(
                    "`$`, backticks or `\\` line joins in a heredoc with an unquoted delimiter",
                    "quote the delimiter: `cat > FILE <<'EOF'`",
                )
            body = body.replace("\\\\", "\\")
        self.heredocs.append(Heredoc(body, quoted))
        return i

    def _dollar(self, i: int, buf: list[str], in_dq: bool, at_start: bool) -> int:
        s = self.s
        if at_start:
            m = re.match(r"\$(HOME(?![A-Za-z0-9_])|\{HOME\})", s[i : i + 8])
            if m:
                buf.append(self.home)
                return i + m.end()
        nxt = s[i + 1] if i + 1 < self.n else ""
        if not (nxt.isalnum() or nxt in "_{(@*#?-$!" or (not in_dq and nxt in "'\"")):
            buf.append("$")  # a lone `$` is literal
            return i + 1
        self.refuse(
            "`$` expansion (variables, `$(...)`, `$'...'`)", "write paths literally or with `~`/`$HOME`; " + self.hint
        )
        return i  # pragma: no cover

    def _word(self, i: int) -> tuple[Word, int]:
        s, n = self.s, self.n
        start = i
        buf: list[str] = []
        quoted = False
        if s[i] == "~":
            j = i + 1
            if j == n or s[j] in " \t\n/" or s[j] in _OPS:
                buf.append(self.home)
                i = j
            else:
                self.refuse("`~user` and `~+`/`~-`", "write `~/...` or the absolute path")
        while i < n:
            c = s[i]
            if c in _BLANK or c == "\n" or c in _OPS:
                break
            if c == "'":
                j = s.find("'", i + 1)
                if j < 0:
                    self.refuse("An unterminated quote")
                buf.append(s[i + 1 : j])
                quoted = True
                i = j + 1
            elif c == '"':
                quoted = True
                dq_start = i
                i += 1
                while True:
                    if i >= n:
                        self.refuse("An unterminated quote")
                    c = s[i]
                    if c == '"':
                        i += 1
                        break
                    if c == "\\":
                        if i + 1 < n and s[i + 1] in '$`"\\\n':
                            if s[i + 1] != "\n":
                                buf.append(s[i + 1])
                            i += 2
                            continue
                        buf.append("\\")
                        i += 1
                    elif c == "`":
                        self.refuse("Command substitution with backticks")
                    elif c == "$":
                        i = self._dollar(i, buf, True, dq_start == start and i == start + 1)
                    else:
                        buf.append(c)
                        i += 1
            elif c == "\\":
                if i + 1 >= n:
                    self.refuse("A trailing backslash")
                if s[i + 1] != "\n":
                    buf.append(s[i + 1])
                    quoted = True
                i += 2
            elif c == "$":
                i = self._dollar(i, buf, False, i == start)
            elif c == "`":
                self.refuse("Command substitution with backticks")
            elif c in "*?[":
                self.refuse(
                    "An unquoted glob (`*`, `?`, `[`)",
                    "quote grep and find -name patterns; name memory files exactly or use "
                    "`grep -rl`/`find ROOT -name 'PATTERN'`",
                )
            elif c in "{}":
                self.refuse("Brace expansion or `{ }` groups")
            elif c == "!":
                self.refuse("An unquoted `!`")
            elif c == "~" and i > start and s[i - 1] in "=:":
                self.refuse("A `~` after `=` or `:`")
            else:
                buf.append(c)
                i += 1
        return Word("".join(buf), quoted, s[start:i]), i
