"""The Bash command parser of the memory path: understand a command fully, or refuse it.

``touches_memory(command, root, home, cwd=None)`` is the cheap, conservative test the
PreToolUse hook runs on every Bash call; only when it is true does ``parse`` run.

``parse(command, root=, home=, cwd=)`` returns a ``Script`` (run on the virtual tree by
``lakeloop.memory.shell``), None (the command does not touch the memory path, or it is a
fully understood read-only command on host paths only: pass it through), or raises
``Refused`` whose ``reason`` is one line telling the agent what it can do instead.

Accepted: pipelines (``|``) of ``cat [-n]``, ``head [-n N|-N]``, ``tail [-n N|-N|-n +N]``,
``ls [-1aAlRh]``, ``grep`` (``-rRinlcwvFEGhHsqy``, ``-e PAT``, ``-A/-B/-C N``, ``-NUM``, the
matching long options, ``--``), ``wc [-lwcm]``, ``find PATH... [-name P] [-iname P]
[-type f|d] [-maxdepth N] [-mindepth N] [-print]`` and ``echo [-n] ...``; the first stage
reads memory paths, later stages read stdin. Writes: ``echo TEXT >|>> PATH`` and
``cat >|>> PATH <<EOF`` (heredoc body verbatim) to a writable memory path, as the whole
command. Words are lexed like POSIX sh: quotes, backslashes, ``~``/``$HOME``/``${HOME}`` at
the start of a word. Everything else a shell would interpret (``;``, ``&&``, ``||``, ``&``,
``$(...)``, backticks, other ``$`` expansions, ``<``, ``<<<``, ``2>``, ``>&``, ``( )``,
``{ }``, unquoted globs, ``!``, ``#``, newlines outside a heredoc), unknown commands and
flags, ``..`` segments and paths outside the root are refused.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:  # no typing/dataclasses at run time: touches_memory runs on every Bash call
    from typing import Any

#: The commands the memory path runs, and the longest command (characters) it reads.
COMMANDS = ("cat", "head", "tail", "ls", "grep", "wc", "find", "echo")
MAX_COMMAND_CHARS = 65536
#: Generated parts of the tree that cannot be written (same as ``notes.READ_ONLY``).
READ_ONLY = ("/index.md", "/sessions", "/skills")

_OPS = frozenset("|&;<>()")
_BLANK = frozenset(" \t")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_STRIP = str.maketrans("", "", "'\"\\")
_WORDSPLIT = re.compile(r"[\s|&;<>()]+")
_LOOSE = re.compile(r"[^a-z0-9._-]+")
_DYNAMIC = frozenset("*?[{$`")
_SUBST = re.compile(r"\$\([^)]*\)?|`[^`]*`?")


class Refused(Exception):
    """The command touches the memory path but is not one of the accepted forms.

    ``reason``: one line for the agent: what was not accepted and what to do instead.
    """

    def __init__(self, reason: str) -> None:
        reason = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in reason)
        super().__init__(reason)
        self.reason = reason


def _show(text: str, limit: int = 120) -> str:
    """User text quoted in a refusal: one line, at most ``limit`` characters."""
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return text if len(text) <= limit else text[:limit] + "…"


class _Record:
    """A small value class (like a dataclass, without importing dataclasses): fields in
    ``__slots__``, equality and repr over them."""

    __slots__: tuple[str, ...] = ()
    __hash__ = None  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and all(getattr(self, f) == getattr(other, f) for f in self.__slots__)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + ", ".join(f"{f}={getattr(self, f)!r}" for f in self.__slots__) + ")"


class Stage(_Record):
    """One command of a pipeline.

    ``name``: one of ``COMMANDS``. ``options``: per command (all keys always present):

    * cat: ``number`` (bool, ``-n``)
    * head: ``lines`` (int), ``all_but`` (bool: ``-n -N``)
    * tail: ``lines`` (int), ``from_start`` (bool: ``-n +N``)
    * ls: ``all``, ``almost_all``, ``long``, ``recursive`` (bools); ``implicit`` (bool: no
      operand was given, the working directory is listed without a header)
    * grep: ``grep`` (``lakeloop.memory.grep.GrepOptions``; ``with_filename`` decided at
      run time unless ``filename`` is set), ``filename`` (True ``-H``, False ``-h``, None),
      ``recursive``, ``quiet``, ``no_messages`` (bools)
    * wc: ``lines``, ``words``, ``chars``, ``bytes`` (bools, GNU order)
    * find: ``tests`` (list of ``("name"|"iname", pattern)`` / ``("type", "f"|"d")``,
      all must hold), ``maxdepth`` (int or None), ``mindepth`` (int)
    * echo: ``newline`` (bool: False with ``-n``)

    ``operands``: virtual paths of the path operands (``/`` for the root); for echo, the
    words to print. ``display``: each path operand as the shell would pass it to the
    program (``~`` expanded), which is what GNU tools print (``''`` for grep's implicit
    working directory).
    """

    __slots__ = ("name", "options", "operands", "display")

    def __init__(self, name: str, options: dict[str, Any], operands: list[str],
                 display: list[str] | None = None) -> None:
        self.name, self.options, self.operands = name, options, operands
        self.display = [] if display is None else display


class Write(_Record):
    """A note write: ``op`` ``'>'`` (replace) or ``'>>'`` (append), ``vpath`` the target,
    ``text`` the bytes the command writes (echo output or heredoc body), ``display`` the
    target as written (expanded)."""

    __slots__ = ("op", "vpath", "text", "display")

    def __init__(self, op: str, vpath: str, text: str, display: str = "") -> None:
        self.op, self.vpath, self.text, self.display = op, vpath, text, display


class Script(_Record):
    """A parsed command: ``stages`` of a pipeline (first stage reads memory paths or
    ``stdin``), ``write`` when the command writes a note (then ``stages`` holds the single
    echo/cat stage producing ``write.text``), ``stdin`` the heredoc body fed to a first
    ``cat`` stage."""

    __slots__ = ("stages", "write", "stdin")

    def __init__(self, stages: list[Stage], write: Write | None = None, stdin: str | None = None) -> None:
        self.stages, self.write, self.stdin = stages, write, stdin


# the cheap test ----------------------------------------------------------------------------
def _norm_root(root: str) -> str:
    return "/" + "/".join(p for p in root.split("/") if p and p != ".")


def touches_memory(command: str, root: str, home: str, cwd: str | None = None) -> bool:
    """True when ``command`` may touch the memory ``root`` (absolute) and must not reach the
    host shell unparsed.

    Conservative and cheap (a few substring tests; words with glob or ``$`` characters
    are matched against the root): with quotes and backslashes removed and case folded,
    the command contains the root's last two components (``.deeplake/memory``), also with
    the separator or any non-ASCII, control, quote or punctuation characters in between
    (``~/.deep''lake/mem"ory"``, look-alike slashes); or a word whose glob, brace or
    ``$VAR`` parts could expand to the root or a path under it; or a path word that
    resolves (``~``, ``$HOME``, ``cwd``, ``..``) to the root or under it; or ``cwd`` is
    inside the root."""
    root = _norm_root(root)
    comps = [c for c in root.lower().split("/") if c]
    if cwd:
        c = _norm_root(cwd)
        if c == root or c.startswith(root + "/"):
            return True
    text = command.translate(_STRIP)
    low = text.lower()
    key = "/".join(comps[-2:]) if len(comps) >= 2 else root.lower()
    if key in low or root.lower() in low:
        return True
    if not command.isascii():
        import unicodedata

        low = unicodedata.normalize("NFKC", low).lower()
        if key in low:
            return True
    loose = "".join(comps[-2:])
    if len(loose) >= 8 and loose in _LOOSE.sub("", low):
        return True
    need_paths = bool(cwd) and _is_ancestor(_norm_root(cwd), root)
    if not (need_paths or "/" in low or any(ch in low for ch in _DYNAMIC)):
        return False
    home_l = (home or "").lower()
    cwd_l = _norm_root(cwd).lower() if cwd else None
    root_l = root.lower()
    if "$(" in low or "`" in low:
        low = _SUBST.sub("$x", low)
    words = [w for w in _WORDSPLIT.split(low) if w]
    if any(w in ("cd", "pushd") for w in words) and _after_cd_hits(words, comps[-2:]):
        return True
    for word in words:
        if any(ch in word for ch in _DYNAMIC):
            if _dynamic_hits(word, root_l, home_l, cwd_l):
                return True
        elif "/" in word or need_paths:
            if _word_hits(word, root_l, home_l, cwd_l, need_paths):
                return True
    return False


def _after_cd_hits(words: list[str], comps: list[str]) -> bool:
    """With a ``cd`` in the command the working directory is unknown: a relative word whose
    first component may be one of the root's last two components (``memory/x``, ``mem*``)
    counts."""
    import fnmatch

    for w in words:
        if w[0] in "/~$-":
            continue
        first = w.lstrip("./").split("/", 1)[0]
        if first and any(fnmatch.fnmatchcase(c, first) for c in comps):
            return True
    return False


def _is_ancestor(a: str, b: str) -> bool:
    return a == "/" or b.startswith(a + "/")


def _expand_start(word: str, home: str) -> str:
    for pre in ("~", "$home", "${home}"):
        if word == pre or word.startswith(pre + "/"):
            return home + word[len(pre):]
    return word


def _word_hits(word: str, root: str, home: str, cwd: str | None, need_paths: bool) -> bool:
    if word.startswith("-") and "=" in word:
        word = word.split("=", 1)[1]
    w = _expand_start(word, home)
    if not w.startswith("/"):
        if not cwd or not (need_paths or ".." in w):
            return False
        w = cwd + "/" + w
    import posixpath

    n = posixpath.normpath(w)
    return n == root or n.startswith(root + "/")


def _dynamic_hits(word: str, root: str, home: str, cwd: str | None) -> bool:
    """Can ``word`` (quotes removed, lower case) expand to the root or a path under it?
    Glob ``*``/``?``/``[...]`` match within one component; ``$VAR``, ``${...}``, ``$(...)``,
    backticks and ``{a,b}`` may expand to anything, slashes included."""
    if word.startswith("-") and "=" in word:
        word = word.split("=", 1)[1]
    w = _expand_start(word, home)
    if not w.startswith("/") and not w.startswith(("$", "`", "{")) and cwd:
        w = cwd + "/" + w
    candidates = {w}
    if "/." in w:
        import posixpath

        candidates.add(posixpath.normpath(w))
        # `x*/..` lands wherever `x*` matched: each prefix before a `..` is a candidate too
        candidates.update(w[:k] for k in range(len(w)) if w.startswith("/..", k))
    return any(_atoms_reach(c, root) for c in candidates)


def _atoms_reach(w: str, root: str) -> bool:
    atoms: list[str] = []   # single chars; "?" one non-slash; "*" non-slash run; "ANY" anything
    i, n = 0, len(w)
    while i < n:
        c = w[i]
        if c == "*":
            atoms.append("*")
        elif c == "?":
            atoms.append("?")
        elif c == "[":
            j = w.find("]", i + 2)
            if j < 0:
                atoms.append("[")
            else:
                atoms.append("?")
                i = j
        elif c in "{$`":
            atoms.append("ANY")
            if c == "$":
                m = re.match(r"\$(\{[^}]*\}?|\([^)]*\)?|[a-z0-9_]+|.)?", w[i:])
                i += max(len(m.group(0)), 1) - 1 if m else 0
            elif c == "{":
                j = w.find("}", i)
                i = j if j >= 0 else n
            else:
                j = w.find("`", i + 1)
                i = j if j >= 0 else n
        else:
            atoms.append(c)
        i += 1
    if atoms and atoms[0] not in ("ANY", "/"):
        return False    # relative, and no cwd to anchor it
    return _can_reach(atoms, root)


def _can_reach(atoms: list[str], root: str) -> bool:
    """NFA test: does some string matched by ``atoms`` equal ``root`` or start with ``root/``?"""
    def closure(states: set[int]) -> set[int]:
        out, todo = set(states), list(states)
        while todo:
            p = todo.pop()
            if p < len(atoms) and atoms[p] in ("*", "ANY") and p + 1 not in out:
                out.add(p + 1)
                todo.append(p + 1)
        return out

    if all(a in ("*", "ANY") for a in atoms):
        return False    # a bare `$VAR` or `*`: nothing ties it to the root
    states = closure({0})
    prev = ""
    for ch in root:
        nxt: set[int] = set()
        # like bash without dotglob, `*`, `?` and `[...]` never match a leading `.`
        hidden = ch == "/" or (ch == "." and prev == "/")
        for p in states:
            if p >= len(atoms):
                continue
            a = atoms[p]
            if a == "ANY" or (a == "*" and not hidden):
                nxt.add(p)
            elif a == ch or (a == "?" and not hidden):
                nxt.add(p + 1)
        prev = ch
        states = closure(nxt)
        if not states:
            return False
    for p in states:
        q = p
        while True:
            if q >= len(atoms) or atoms[q] in ("ANY", "/"):
                return True
            if atoms[q] != "*":
                break
            q += 1
    return False


# lexer -------------------------------------------------------------------------------------
class _Word(_Record):
    __slots__ = ("text", "quoted", "raw")

    def __init__(self, text: str, quoted: bool, raw: str) -> None:
        self.text, self.quoted, self.raw = text, quoted, raw


class _Heredoc(_Record):
    __slots__ = ("body", "quoted")

    def __init__(self, body: str, quoted: bool) -> None:
        self.body, self.quoted = body, quoted


class _Lexer:
    """A small POSIX-sh-like lexer producing words and the operators ``|``, ``>``, ``>>``
    and heredocs; raises Refused for anything else a shell would interpret."""

    def __init__(self, s: str, home: str, hint: str) -> None:
        self.s, self.n, self.home, self.hint = s, len(s), home, hint
        self.pending: list[tuple[str, bool, bool]] = []   # (delimiter, quoted, strip tabs)
        self.heredocs: list[_Heredoc] = []

    def refuse(self, what: str, instead: str = "") -> None:
        raise Refused(f"{what}: not supported on the memory path; {instead or self.hint}")

    def tokens(self) -> list[Any]:
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
                self.refuse("`&&`" if s.startswith("&&", i) else "`&` (background or `&>`)",
                            "run one command per call; " + self.hint)
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
                out.append(_Heredoc("", word.quoted))
            elif c == "#":
                self.refuse("A `#` comment")
            else:
                word, i = self._word(i)
                if i < n and s[i] in "<>" and word.raw.isdigit():
                    self.refuse(f"A file-descriptor redirection (`{word.raw}{s[i]}`, e.g. `2>/dev/null`)",
                                "drop it: error messages are shown inline; " + self.hint)
                out.append(word)
        if self.pending and not self.heredocs:
            self.refuse("A heredoc without its body", "use `cat > FILE <<'EOF'`, the text, then `EOF`")
        for k, tok in enumerate(out):
            if isinstance(tok, _Heredoc):
                out[k] = self.heredocs[0]
        return out

    def _bodies(self, i: int) -> int:
        delim, quoted, strip = self.pending[0]
        s = self.s
        lines: list[str] = []
        while True:
            if i >= self.n:
                self.refuse("A heredoc without its closing delimiter line",
                            f"end the text with a line `{delim}`")
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
                self.refuse("`$`, backticks or `\\` line joins in a heredoc with an unquoted delimiter",
                            "quote the delimiter: `cat > FILE <<'EOF'`")
            body = body.replace("\\\\", "\\")
        self.heredocs.append(_Heredoc(body, quoted))
        return i

    def _dollar(self, i: int, buf: list[str], in_dq: bool, at_start: bool) -> int:
        s = self.s
        if at_start:
            m = re.match(r"\$(HOME(?![A-Za-z0-9_])|\{HOME\})", s[i:i + 8])
            if m:
                buf.append(self.home)
                return i + m.end()
        nxt = s[i + 1] if i + 1 < self.n else ""
        if not (nxt.isalnum() or nxt in "_{(@*#?-$!" or (not in_dq and nxt in "'\"")):
            buf.append("$")    # a lone `$` is literal
            return i + 1
        self.refuse("`$` expansion (variables, `$(...)`, `$'...'`)",
                    "write paths literally or with `~`/`$HOME`; " + self.hint)
        return i  # pragma: no cover

    def _word(self, i: int) -> tuple[_Word, int]:
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
                buf.append(s[i + 1:j])
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
                self.refuse("An unquoted glob (`*`, `?`, `[`)",
                            "quote grep and find -name patterns; name memory files exactly or use "
                            "`grep -rl`/`find ROOT -name 'PATTERN'`")
            elif c in "{}":
                self.refuse("Brace expansion or `{ }` groups")
            elif c == "!":
                self.refuse("An unquoted `!`")
            elif c == "~" and i > start and s[i - 1] in "=:":
                self.refuse("A `~` after `=` or `:`")
            else:
                buf.append(c)
                i += 1
        return _Word("".join(buf), quoted, s[start:i]), i


# parsing ---------------------------------------------------------------------------------------
class _Ctx:
    def __init__(self, root: str, home: str, cwd: str) -> None:
        self.root, self.home, self.cwd = root, home, cwd
        self.hint = _hint(root)
        self.memory = False          # some path operand is inside the root
        self.host: list[str] = []    # path operands outside the root

    def refuse(self, what: str, instead: str = "") -> None:
        raise Refused(f"{what}; {instead or self.hint}")

    def path(self, text: str, display: str | None = None) -> str | None:
        """The virtual path of a path operand, or None for a host path (recorded)."""
        shown = _show(text if display is None else display)
        if not text:
            self.refuse("An empty path operand")
        p = text if text.startswith("/") else self.cwd.rstrip("/") + "/" + text
        segs = p.split("/")
        parts = [x for x in segs if x and x != "."]
        norm = "/" + "/".join(parts)
        root = self.root
        inside = norm == root or norm.startswith(root + "/")
        if ".." in segs:
            import posixpath

            resolved = posixpath.normpath(p)
            if inside or resolved == root or resolved.startswith(root + "/") or _looks_like(p, root):
                self.refuse(f"`..` in the memory path ({shown})", "name paths under " + root + " directly; " + self.hint)
            self.host.append(shown)
            return None
        if not inside:
            low = norm.lower()
            if low == root.lower() or low.startswith(root.lower() + "/") or _looks_like(p, root):
                self.refuse(f"{shown} looks like the memory path but is not it",
                            f"write it exactly as {root}/...; " + self.hint)
            self.host.append(shown)
            return None
        if any(ch in text[len(root):] for ch in "*?["):
            self.refuse(f"Glob characters in a memory path ({shown})",
                        f"name files exactly, or list them with `find {root} -name 'PATTERN'`")
        self.memory = True
        return norm[len(root):] or "/"


def _looks_like(path: str, root: str) -> bool:
    comps = [c for c in root.lower().split("/") if c]
    loose = "".join(comps[-2:])
    low = path.lower()
    if not path.isascii():
        import unicodedata

        low = unicodedata.normalize("NFKC", low).lower()
    return len(loose) >= 8 and loose in _LOOSE.sub("", low)


def _hint(root: str) -> str:
    return (f"on the memory path use one command such as `cat {root}/index.md`, "
            f"`grep -rn TERM {root} | head -20`, `ls {root}/sessions` or `find {root} -name 'PATTERN'` "
            f"(cat, head, tail, ls, grep, wc, find, echo and pipes between them); "
            f"to leave a note: `echo 'TEXT' >> {root}/notes/NAME.md`")


def parse(command: str, *, root: str, home: str, cwd: str) -> Script | None:
    """Parse a Bash ``command`` against the memory ``root`` (absolute), ``home`` and ``cwd``.

    Returns None when the command does not touch the memory path (``touches_memory`` is
    false), or when it is a fully understood read-only command whose path operands all lie
    outside the root (e.g. ``grep -rn '.deeplake/memory' src/``: the host may run it).
    Otherwise returns the ``Script``. Raises ``Refused`` (one-line ``reason``) for anything
    not accepted; see the module docstring."""
    root = _norm_root(root)
    home = (home or "/").rstrip("/") or "/"
    cwd = _norm_root(cwd or home)
    if not touches_memory(command, root, home, cwd=cwd):
        return None
    ctx = _Ctx(root, home, cwd)
    if len(command) > MAX_COMMAND_CHARS:
        ctx.refuse(f"A command over {MAX_COMMAND_CHARS} characters on the memory path")
    if _CONTROL.search(command):
        ctx.refuse("Control characters in a command on the memory path")
    tokens = _Lexer(command, home, ctx.hint).tokens()
    stages_raw: list[list[Any]] = [[]]
    for tok in tokens:
        if tok == "|":
            stages_raw.append([])
        else:
            stages_raw[-1].append(tok)
    if any(not st for st in stages_raw):
        ctx.refuse("An empty pipeline stage")
    parsed = [_split_stage(st, ctx) for st in stages_raw]
    single = len(parsed) == 1
    stdin: str | None = None
    stages: list[Stage] = []
    write: Write | None = None
    for k, (words, redirs, heredoc) in enumerate(parsed):
        name = words[0].text
        if name not in COMMANDS:
            _refuse_command(name, ctx)
        if redirs and not single:
            ctx.refuse("Redirection inside a pipeline", "a write must be the whole command: `echo TEXT >> FILE`")
        if heredoc is not None:
            if k or name != "cat":
                ctx.refuse("A heredoc here", "only `cat > FILE <<'EOF'` (a note) or `cat <<'EOF' | ...` is accepted")
            stdin = heredoc.body
        if redirs:
            write = _write(words, redirs, heredoc, ctx)
            stages.append(write_stage := _STAGES[name](words[1:], ctx, True, heredoc is not None))
            if write_stage.operands and name == "cat":
                ctx.refuse("`cat FILE > FILE`", "write notes with `echo TEXT >> FILE` or `cat > FILE <<'EOF'`")
            break
        stages.append(_STAGES[name](words[1:], ctx, k == 0, k > 0 or heredoc is not None))
    if write is not None:
        if ctx.host:
            ctx.refuse(f"{ctx.host[0]} is outside the memory path", "a note can only be written under " + root)
        return Script(stages, write, stdin)
    if ctx.host:
        if ctx.memory:
            ctx.refuse(f"The command mixes memory paths and host paths ({ctx.host[0]})",
                       "run memory commands on the memory path only, host commands separately")
        return None
    return Script(stages, None, stdin)


def _split_stage(tokens: list[Any], ctx: _Ctx) -> tuple[list[_Word], list[tuple[str, _Word]], _Heredoc | None]:
    words: list[_Word] = []
    redirs: list[tuple[str, _Word]] = []
    heredoc: _Heredoc | None = None
    it = iter(tokens)
    for tok in it:
        if tok in (">", ">>"):
            target = next(it, None)
            if not isinstance(target, _Word):
                ctx.refuse(f"`{tok}` without a file name")
            redirs.append((tok, target))
        elif isinstance(tok, _Heredoc):
            heredoc = tok
        else:
            words.append(tok)
    if not words:
        ctx.refuse("A redirection or heredoc without a command")
    if len(redirs) > 1:
        ctx.refuse("Several redirections", "write one note per command")
    return words, redirs, heredoc


_INTERPRETERS = frozenset("sh bash zsh dash ksh fish python python3 perl ruby node deno bun php lua "
                          "awk gawk mawk sed env xargs exec eval source . command builtin nohup timeout "
                          "sudo su watch time nice".split())
_MUTATORS = frozenset("rm cp mv ln tee touch mkdir rmdir chmod chown truncate dd install rsync "
                      "tar zip unzip git curl wget scp".split())


def _refuse_command(name: str, ctx: _Ctx) -> None:
    shown = _show(name, 40)
    if name in _INTERPRETERS:
        ctx.refuse(f"`{shown}` cannot run on the memory path (it is virtual and read-only)")
    if name in _MUTATORS or name == "cd":
        ctx.refuse(f"`{shown}` cannot run on the memory path (it is virtual and read-only)")
    ctx.refuse(f"`{shown}` is not available on the memory path")


def _write(words: list[_Word], redirs: list[tuple[str, _Word]], heredoc: _Heredoc | None, ctx: _Ctx) -> Write:
    op, target = redirs[0]
    name = words[0].text
    if name == "echo":
        if heredoc is not None:
            ctx.refuse("`echo` with a heredoc")
        text = _echo_text(words[1:], ctx)
    elif name == "cat" and heredoc is not None and len(words) == 1:
        text = heredoc.body
    else:
        ctx.refuse(f"Writing the output of `{name}` to a file",
                   f"notes are written with `echo 'TEXT' >> {ctx.root}/notes/NAME.md` or `cat > FILE <<'EOF'`")
    vpath = ctx.path(target.text, target.text)
    if vpath is None:
        ctx.refuse(f"Redirection to {_show(target.text)} (outside the memory path)",
                   "run host commands separately, without memory paths")
    if target.text.endswith("/") or vpath == "/" or any(vpath == p or vpath.startswith(p + "/") for p in READ_ONLY):
        ctx.refuse(f"{_show(target.text)} is read-only (generated from the store)",
                   f"write notes elsewhere, e.g. `echo 'TEXT' >> {ctx.root}/notes/NAME.md`")
    return Write(op, vpath, text, target.text)


# per-command option parsing --------------------------------------------------------------------
def _getopt(args: list[_Word], cmd: str, flags: str, with_arg: str, longs: dict[str, tuple[str, bool]],
            ctx: _Ctx, digits: bool = False) -> tuple[list[tuple[str, str | None]], list[_Word]]:
    """GNU getopt_long with argument permutation: ``(options, operands)``; ``options`` are
    ``(letter, value)``; a long option maps to its letter via ``longs`` (name -> (letter,
    takes value)); with ``digits``, ``-NUM`` gives ``("#", NUM)``. Unknown options: Refused."""
    opts: list[tuple[str, str | None]] = []
    operands: list[_Word] = []
    k = 0
    while k < len(args):
        w = args[k]
        t = w.text
        k += 1
        if t == "--":
            operands.extend(args[k:])
            break
        if t.startswith("--"):
            name, eq, val = t[2:].partition("=")
            if name not in longs:
                ctx.refuse(f"`{cmd} --{_show(name, 40)}` is not supported", _flag_help(cmd, ctx))
            letter, takes = longs[name]
            if takes and not eq:
                if k >= len(args):
                    ctx.refuse(f"`{cmd} --{name}` needs a value")
                val = args[k].text
                k += 1
            elif not takes and eq and letter != "color":
                ctx.refuse(f"`{cmd} --{name}` takes no value")
            opts.append((letter, val if (takes or eq) else None))
            continue
        if len(t) < 2 or not t.startswith("-"):
            operands.append(w)
            continue
        j = 1
        while j < len(t):
            c = t[j]
            if digits and c.isdigit():
                m = re.match(r"\d+", t[j:])
                opts.append(("#", m.group(0)))
                j += m.end()
                continue
            if c in flags:
                opts.append((c, None))
                j += 1
            elif c in with_arg:
                if j + 1 < len(t):
                    val = t[j + 1:]
                elif k < len(args):
                    val = args[k].text
                    k += 1
                else:
                    ctx.refuse(f"`{cmd} -{c}` needs a value")
                opts.append((c, val))
                break
            else:
                ctx.refuse(f"`{cmd} -{_show(c)}` is not supported", _flag_help(cmd, ctx))
    return opts, operands


_FLAG_HELP = {
    "cat": "cat accepts -n",
    "head": "head accepts -n N or -N",
    "tail": "tail accepts -n N, -n +N or -N",
    "ls": "ls accepts -1 -a -A -l -R -h",
    "grep": "grep accepts -r -R -i -n -l -c -w -v -F -E -G -e PAT -h -H -s -q -A N -B N -C N",
    "wc": "wc accepts -l -w -c -m",
    "find": "find accepts -name, -iname, -type f|d, -maxdepth, -mindepth, -print",
}


def _flag_help(cmd: str, ctx: _Ctx) -> str:
    return f"{_FLAG_HELP.get(cmd, '')} on the memory path; {ctx.hint}"


def _operands(cmd: str, words: list[_Word], ctx: _Ctx, first: bool, has_stdin: bool,
              need: bool = True) -> tuple[list[str], list[str]]:
    if words and not first:
        ctx.refuse(f"File operands for `{cmd}` after a pipe", "only the first command of a pipeline reads files")
    if not words and first and not has_stdin and need:
        ctx.refuse(f"`{cmd}` without a file would read the terminal", f"name a file under {ctx.root}")
    vpaths, display = [], []
    for w in words:
        if w.text == "-":
            ctx.refuse(f"`{cmd} -` (standard input)", f"name a file under {ctx.root}")
        vpaths.append(ctx.path(w.text))
        display.append(w.text)
    return vpaths, display  # type: ignore[return-value]


def _number(value: str | None, cmd: str, ctx: _Ctx, pattern: str = r"\d+") -> re.Match[str]:
    m = re.fullmatch(pattern, value or "")
    if not m or len(value or "") > 18:
        ctx.refuse(f"`{cmd}` count {_show(str(value), 20)!r} is not a plain number")
    return m  # type: ignore[return-value]


def _p_cat(args: list[_Word], ctx: _Ctx, first: bool, has_stdin: bool) -> Stage:
    opts, words = _getopt(args, "cat", "n", "", {"number": ("n", False)}, ctx)
    vpaths, display = _operands("cat", words, ctx, first, has_stdin)
    return Stage("cat", {"number": bool(opts)}, vpaths, display)


def _p_head(args: list[_Word], ctx: _Ctx, first: bool, has_stdin: bool, cmd: str = "head") -> Stage:
    n, sign = "10", ""
    obsolete = bool(args) and re.fullmatch(r"-\d+", args[0].text) is not None
    if obsolete:
        n = args[0].text[1:]
        args = args[1:]
    opts, words = _getopt(args, cmd, "", "n", {"lines": ("n", True)}, ctx)
    for _, val in opts:
        m = _number(val, cmd, ctx, r"(-?)(\d+)" if cmd == "head" else r"([+-]?)(\d+)")
        sign, n = m.group(1), m.group(2)
    vpaths, display = _operands(cmd, words, ctx, first, has_stdin)
    if cmd == "tail" and obsolete and len(words) > 1:
        ctx.refuse("`tail -N` with several files", "use `tail -n N FILE...`")
    _number(n, cmd, ctx)
    if cmd == "head":
        return Stage("head", {"lines": int(n), "all_but": sign == "-"}, vpaths, display)
    return Stage("tail", {"lines": int(n), "from_start": sign == "+"}, vpaths, display)


def _p_tail(args: list[_Word], ctx: _Ctx, first: bool, has_stdin: bool) -> Stage:
    return _p_head(args, ctx, first, has_stdin, "tail")


def _p_ls(args: list[_Word], ctx: _Ctx, first: bool, has_stdin: bool) -> Stage:
    opts, words = _getopt(args, "ls", "1aAlRh", "", {}, ctx)
    if not first:
        ctx.refuse("`ls` after a pipe", "ls reads no input; put it first")
    letters = {c for c, _ in opts}
    o = {"all": "a" in letters, "almost_all": "A" in letters, "long": "l" in letters,
         "recursive": "R" in letters, "implicit": not words}
    if not words:
        return Stage("ls", o, [ctx.path(ctx.cwd)], [""])  # type: ignore[list-item]
    vpaths, display = _operands("ls", words, ctx, first, has_stdin)
    return Stage("ls", o, vpaths, display)


def _p_wc(args: list[_Word], ctx: _Ctx, first: bool, has_stdin: bool) -> Stage:
    opts, words = _getopt(args, "wc", "lwcm", "",
                          {"lines": ("l", False), "words": ("w", False), "bytes": ("c", False),
                           "chars": ("m", False)}, ctx)
    letters = {c for c, _ in opts}
    if not letters:
        letters = {"l", "w", "c"}
    vpaths, display = _operands("wc", words, ctx, first, has_stdin)
    return Stage("wc", {"lines": "l" in letters, "words": "w" in letters, "chars": "m" in letters,
                        "bytes": "c" in letters}, vpaths, display)


def _echo_words(args: list[_Word], ctx: _Ctx) -> tuple[list[str], bool]:
    newline = True
    k = 0
    while k < len(args) and re.fullmatch(r"-[neE]+", args[k].text):
        if "e" in args[k].text:
            ctx.refuse("`echo -e`", "write the text literally, or use `cat > FILE <<'EOF'` for several lines")
        if "n" in args[k].text:
            newline = False
        k += 1
    return [w.text for w in args[k:]], newline


def _echo_text(args: list[_Word], ctx: _Ctx) -> str:
    words, newline = _echo_words(args, ctx)
    return " ".join(words) + ("\n" if newline else "")


def _p_echo(args: list[_Word], ctx: _Ctx, first: bool, has_stdin: bool) -> Stage:
    if not first:
        ctx.refuse("`echo` after a pipe", "echo reads no input; put it first")
    words, newline = _echo_words(args, ctx)
    return Stage("echo", {"newline": newline}, words, [])


_GREP_LONGS = {
    "extended-regexp": ("E", False), "fixed-strings": ("F", False), "basic-regexp": ("G", False),
    "regexp": ("e", True), "ignore-case": ("i", False), "no-ignore-case": ("I-", False),
    "word-regexp": ("w", False), "invert-match": ("v", False), "count": ("c", False),
    "files-with-matches": ("l", False), "line-number": ("n", False), "no-filename": ("h", False),
    "with-filename": ("H", False), "after-context": ("A", True), "before-context": ("B", True),
    "context": ("C", True), "recursive": ("r", False), "dereference-recursive": ("R", False),
    "no-messages": ("s", False), "quiet": ("q", False), "silent": ("q", False),
    "color": ("color", False), "colour": ("color", False),
}


def _p_grep(args: list[_Word], ctx: _Ctx, first: bool, has_stdin: bool) -> Stage:
    from .grep import GrepOptions

    opts, words = _getopt(args, "grep", "rRinlcwvFEGhHsqy", "eABC", _GREP_LONGS, ctx, digits=True)
    patterns: list[str] = []
    mode = None
    flags: dict[str, Any] = {"i": False, "w": False, "v": False, "n": False, "c": False, "l": False,
                             "r": False, "q": False, "s": False}
    filename: bool | None = None
    before = after = context = -1
    for c, val in opts:
        if c == "e":
            patterns.append(val or "")
        elif c in "EFG" and len(c) == 1:
            if mode is not None and mode != c:
                ctx.refuse("Conflicting grep matchers (-E, -F, -G)")
            mode = c
        elif c in ("A", "B", "C", "#"):
            num = int(_number(val, "grep", ctx).group(0))
            if c == "A":
                after = num
            elif c == "B":
                before = num
            else:
                context = num
        elif c == "I-":
            flags["i"] = False
        elif c == "color":
            if val not in (None, "never", "auto", "none", "tty", "if-tty", "no"):
                ctx.refuse("`grep --color=always`", "drop --color")
        elif c == "y":
            flags["i"] = True
        elif c == "R":
            flags["r"] = True
        elif c == "h":
            filename = False
        elif c == "H":
            filename = True
        else:
            flags[c] = True
    if not patterns:
        if not words:
            ctx.refuse("`grep` without a pattern")
        patterns.append(words[0].text)
        words = words[1:]
    pats: list[str] = []
    for p in patterns:
        pats.extend(p.split("\n"))
    if flags["r"] and not first:
        ctx.refuse("`grep -r` after a pipe", "-r would search the working directory; drop -r")
    if words or not flags["r"]:
        vpaths, display = _operands("grep", words, ctx, first, has_stdin)
    else:
        vpaths, display = [ctx.path(ctx.cwd)], [""]   # type: ignore[list-item]
    if after < 0:
        after = max(context, 0)
    if before < 0:
        before = max(context, 0)
    g = GrepOptions(patterns=tuple(pats), mode=mode or "G", ignore_case=flags["i"], word=flags["w"],
                    invert=flags["v"], line_number=flags["n"], count=flags["c"] and not flags["l"],
                    files_with_matches=flags["l"], before=before, after=after,
                    with_filename=bool(filename),
                    context_given=any(c in ("A", "B", "C", "#") for c, _ in opts))
    return Stage("grep", {"grep": g, "filename": filename, "recursive": flags["r"], "quiet": flags["q"],
                          "no_messages": flags["s"]},
                 vpaths, display)  # type: ignore[arg-type]


_FIND_ACTIONS = {"-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf",
                 "-fls", "-printf", "-print0", "-ls"}


def _p_find(args: list[_Word], ctx: _Ctx, first: bool, has_stdin: bool) -> Stage:
    if not first:
        ctx.refuse("`find` after a pipe", "find reads no input; put it first")
    k = 0
    starts: list[_Word] = []
    while k < len(args) and not args[k].text.startswith("-"):
        starts.append(args[k])
        k += 1
    tests: list[tuple[str, str]] = []
    maxdepth: int | None = None
    mindepth = 0
    while k < len(args):
        t = args[k].text
        k += 1
        if t == "-print":
            continue
        if t in _FIND_ACTIONS:
            ctx.refuse(f"`find {t}`", "find on the memory path only lists paths (-name, -iname, -type, -maxdepth)")
        if t not in ("-name", "-iname", "-type", "-maxdepth", "-mindepth"):
            ctx.refuse(f"`find {_show(t, 40)}` is not supported", _flag_help("find", ctx))
        if k >= len(args):
            ctx.refuse(f"`find {t}` needs a value")
        val = args[k].text
        k += 1
        if t == "-type":
            if val not in ("f", "d"):
                ctx.refuse(f"`find -type {_show(val, 10)}`", "use -type f or -type d")
            tests.append(("type", val))
        elif t == "-maxdepth":
            maxdepth = int(_number(val, "find", ctx).group(0))
        elif t == "-mindepth":
            mindepth = int(_number(val, "find", ctx).group(0))
        else:
            tests.append((t[1:], val))
    if starts:
        vpaths, display = _operands("find", starts, ctx, first, has_stdin)
    else:
        vpaths, display = [ctx.path(ctx.cwd)], ["."]  # type: ignore[list-item]
    return Stage("find", {"tests": tests, "maxdepth": maxdepth, "mindepth": mindepth}, vpaths, display)


_STAGES = {"cat": _p_cat, "head": _p_head, "tail": _p_tail, "ls": _p_ls, "grep": _p_grep,
           "wc": _p_wc, "find": _p_find, "echo": _p_echo}
