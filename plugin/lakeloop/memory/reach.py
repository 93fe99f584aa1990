"""Bash commands that can reach lakeloop's credentials without naming them.

``lakeloop.memory.bash.scan.touches_memory`` finds commands that name the memory root or a guarded
path (``lakeloop.memory.paths.guarded``: ``~/.deeplake``, the credentials file lakeloop is
configured with), however spelled. A command can also reach ``~/.deeplake/credentials.json``
without naming any part of it, in two ways, and ``reason`` refuses both:

1. **A tree walk from above it.** A recursive or tree-walking program (``grep -r``/``-R``/
   ``--recursive``/``-d recurse``, ``rg``, ``ag``, ``ack``, ``find``, ``tree``, ``du``, ``tar``,
   ``zip -r``, ``cp -r``/``-a``, ``rsync``, ``ls -R``, ``git grep``, any command given a recursive
   option) whose starting directory is a *sensitive directory*: the home directory, or any
   directory at or above a guarded path (``~``, ``$HOME``, ``/``, ``/home``, the directory above a
   configured credentials file), spelled in any way (``~/.``, ``//``, ``/./``, ``..``, a symlink
   to it), or the working directory when it is one (the payload's ``cwd``, or a ``cd`` in the
   command: a bare ``cd``, ``cd ~``, ``cd ..``). A glob that can name one (``/*``, ``/home/*``)
   counts too.
2. **File names computed at run time next to the home directory.** A command that builds the
   names it opens while it runs (``xargs``, ``find -exec``/``-execdir``/``-ok``, a command or
   process substitution, ``eval``, ``read`` loops, ``source`` of a computed file, an interpreter
   given its program inline or on stdin: ``python3 -c``, ``perl -e``, ``node -e``, ``awk``,
   ``| sh``; a tree walk from a computed directory) is refused when it is at a sensitive
   directory (as above) or names the home directory (``~``, ``$HOME``, ``expanduser``,
   ``os.environ['HOME']``, ``Path.home``, ``getpwuid``, ``${PWD%/*}``, ``dirname``, ``..`` or a
   path word that is a sensitive directory).

Everything else is left to ``touches_memory`` and ``bash.parser.parse``: a walk from a project directory, or
``xargs``/``$(...)``/``python3 -c`` in a project directory without naming home, passes. What a
hook reading command text cannot see is listed in ``docs/memory-security.md`` (names computed
relative to a project directory below home, scripts written earlier, variables set outside the
command).

Standard library only; ``reason`` costs a small hand-written lexer and a few path operations,
and runs only on payloads the PreToolUse byte prefilter (``lakeloop.memory.prefilter``) lets through.
"""

from __future__ import annotations

import re

from .paths import proc_self as _proc_self
from .paths import squeeze as _squeeze
from .paths import with_real as _with_real

#: Programs that walk a directory tree whatever their options.
WALKERS = frozenset(
    "rg ag ack ack-grep ugrep rgrep fd fdfind find tree du tar bsdtar 7z 7za cpio pax rsync rclone restic borg".split()
)
#: Programs whose first operand is a pattern, not a path (the working directory is searched when
#: no path follows it), and ``find``-like ones that search it when no path is given at all.
_PATTERN_FIRST = frozenset("grep egrep fgrep zgrep rgrep ugrep rg ag ack ack-grep fd fdfind git".split())
_DEFAULT_DOT = frozenset("find tree du ls".split())
#: Programs that take the names they open from their input or build them while running.
COMPUTING = frozenset("xargs parallel eval read mapfile readarray".split())
#: Interpreters: their program, given inline (``-c``/``-e``) or on stdin, computes names at run time.
INTERPRETERS = frozenset(
    "sh bash zsh dash ksh mksh yash fish csh tcsh busybox python python2 python3 pypy pypy3 "
    "perl ruby node nodejs deno bun php lua luajit tclsh wish Rscript osascript pwsh "
    "powershell jshell groovy scala julia".split()
)
_INTERPRETER_PREFIXES = ("python", "pypy", "perl", "ruby", "php", "lua", "node")
#: Interpreters whose first operand is the program itself.
_PROGRAM_FIRST = frozenset("awk gawk mawk nawk".split())
#: Options whose value is a directory the program starts from (``tar -C DIR``, ``git -C DIR``).
_DIR_OPTIONS = frozenset("-C --directory --cwd --chdir --base-directory --search-path".split())
#: Options of the pattern programs that give the pattern (then no operand is a pattern).
_PATTERN_OPTIONS = frozenset("-e -f --regexp --file".split())

_HOME_TEXT = re.compile(
    r"(?:^|[\s=:;&|(){}<>'\"`,\[+])~"  # `~` where a shell or an interpreter string starts a path
    r"|\bHOME\b|\bUSERPROFILE\b|expanduser|expand_path|getpw|passwd|homedir|\.home\b|['\"]home['\"]"
    r"|\$\{?OLDPWD|\$\{PWD[^}]|\bdirname\b"
)
#: Path-like tokens of the raw text (also inside an interpreter's strings: `'/home/u/'+x`).
_TOKENS = re.compile(r"[^\s'\"`;&|()<>=:,+{}\[\]]+")
_GLOB = re.compile(r"[*?\[]")
#: Most paths one command may ask to be checked (each costs a ``realpath``); more is refused.
MAX_PATHS = 256


def reason(command: str, *, home: str, cwd: str | None, guards: tuple[str, ...], root: str) -> str | None:
    """A one-line deny reason when Bash ``command`` can reach a guarded path without naming it
    (see the module docstring), else None.

    ``home``: the home directory; ``cwd``: the payload's working directory (None: unknown);
    ``guards``: absolute paths no tool call may reach (``paths.guarded()``); ``root``: the memory
    root (answered virtually: a walk of it is not a walk of the disk). Never raises for a ``str``."""
    home = _squeeze(home or "/")
    ctx = _Context(home, guards, root)
    lexed = _Lexed(command)
    cwds = _working_dirs(lexed.commands, home, cwd)
    computed = "a command substitution" if lexed.substitution else ""
    for words in lexed.commands:
        name, args = _name(words)
        if not name:
            continue
        walk = _walk_roots(name, args)
        if walk is not None:
            roots, dynamic = walk
            if len(roots) > MAX_PATHS:
                return (
                    f"`{_shown(name)}` walks more than {MAX_PATHS} paths, too many to check against lakeloop's "
                    f"Deeplake credentials ({ctx.creds}); walk fewer at a time."
                )
            for word in roots:
                hit = _word_hits(word, ctx, cwds, home)
                if hit:
                    return (
                        f"`{_shown(name)}` would walk {_shown(hit)} recursively, down to lakeloop's Deeplake "
                        f"credentials ({ctx.creds}), which tool calls may not read. Walk a project directory "
                        f"instead (e.g. `grep -rn TERM src/`); team memory is at {ctx.root}."
                    )
            if dynamic:
                computed = f"`{_shown(name)}` from a computed directory"
        computed = _computes(name, args) or computed
    if not computed:
        return None
    at = next((d for d in cwds if d is not None and ctx.sensitive(d)), None)
    where = f"in {_shown(at)}" if at else _names_home(command, lexed, ctx, cwds, home)
    if not where:
        return None
    return (
        f"This command computes the names it opens at run time ({computed}) {where}; lakeloop's Deeplake "
        f"credentials ({ctx.creds}) lie below it, so lakeloop cannot tell whether it would read them or "
        f"create files beside them. Name the files literally, or run it from the project directory without "
        f"naming the home directory."
    )


class _Context:
    """The guarded paths, the directories at or above them (the sensitive directories), the
    home directory and the memory root."""

    def __init__(self, home: str, guards: tuple[str, ...], root: str) -> None:
        self.root = _squeeze(root)
        self.guards = tuple(dict.fromkeys(_squeeze(g) for g in guards if g))
        self.creds = ", ".join(g for g in self.guards[1:]) or home + "/.deeplake/credentials.json"
        self.tops = tuple(dict.fromkeys(p for g in self.guards for p in _with_real(g)))
        self.homes = _with_real(home)

    def sensitive(self, path: str) -> bool:
        """Is absolute normalised ``path`` (or its real path) the home directory, at or above a
        guarded path, or under one (the memory root, answered virtually, excepted)?"""
        for p in _with_real(path):
            if p == self.root or p.startswith(self.root + "/"):
                continue
            if p in self.homes:
                return True
            inside = p.rstrip("/") + "/"
            if any(top == p or top.startswith(inside) or p.startswith(top + "/") for top in self.tops):
                return True
        return False

    def glob_hits(self, pattern: str) -> bool:
        """Can glob ``pattern`` (absolute, normalised) name the home directory or a directory at or
        above a guarded path? Components are matched one by one (``*`` does not match a leading
        dot, as in bash); ``**`` may be anything."""
        import fnmatch

        if "**" in pattern:
            return True
        pat = [c for c in pattern.split("/") if c]
        for top in (*self.tops, *self.homes):
            comps = [c for c in top.split("/") if c]
            target = comps[: len(pat)]
            if len(target) == len(pat) and all(
                fnmatch.fnmatchcase(t, g) and (g.startswith(".") or not t.startswith(".")) for t, g in zip(target, pat)
            ):
                return True
        return False


def _shown(text: str, limit: int = 80) -> str:
    from ..textsafe import escape_line

    text = escape_line(text)
    return text if len(text) <= limit else text[:limit] + "…"


# lexing ----------------------------------------------------------------------------------------
class _Lexed:
    """``command`` cut into simple commands, as lists of words with quotes and backslashes removed
    (``$'...'`` decoded as bash does).

    Split on ``; & | ( )``, newlines and backticks; a command or process substitution (``$(…)``,
    backticks, ``<(…)``, ``>(…)``, also inside double quotes) is a command of its own and sets
    ``substitution``, and the word it stood in holds ``$(…)`` in its place (an expansion); a
    redirection's target is dropped; a heredoc's body is skipped (it sets ``substitution`` when
    its delimiter is unquoted and it holds ``$(`` or a backtick); ``#`` starts a comment. The
    programs of ``sh -c``, ``eval`` and ``env -S`` are lexed as commands too. Rough by design:
    what matters is that no program or path word is lost."""

    def __init__(self, command: str, depth: int = 0) -> None:
        self.commands: list[list[str]] = []
        self.substitution = False
        self._cur: list[str] = []
        self.commands.append(self._cur)
        self._word: list[str] = []
        self._started = self._quoted = self._strip = False
        self._redirect: bool | str = False  # True: the next word is a redirection's target; "<<": a heredoc's
        self._heredocs: list[tuple[str, bool, bool]] = []  # (delimiter, quoted, strip tabs)
        self._lex(command)
        self.commands = [w for w in self.commands if w]
        if depth < 3:
            for program in [p for words in self.commands for p in _programs(words)]:
                inner = _Lexed(program, depth + 1)
                self.commands += inner.commands
                self.substitution = self.substitution or inner.substitution

    def _end_word(self) -> None:
        if self._started:
            word = "".join(self._word)
            if self._redirect == "<<":
                self._heredocs.append((word, self._quoted, self._strip))
            elif not self._redirect:
                self._cur.append(word)
            self._redirect = False
        self._word = []
        self._started = False
        self._quoted = False

    def _end_command(self) -> None:
        self._end_word()
        if self._cur:
            self._cur = []
            self.commands.append(self._cur)

    def _open(self, kind: str, quote: str, stack: list) -> None:
        """A substitution starts: the enclosing command and word wait on ``stack``."""
        self.substitution = True
        stack.append((kind, quote, self._cur, self._word, self._started, self._redirect))
        self._cur, self._word, self._started, self._redirect = [], [], False, False
        self.commands.append(self._cur)

    def _close(self, stack: list) -> str:
        """The substitution on top of ``stack`` ends: its enclosing word goes on, holding ``$(…)``;
        returns the quote mode to go on in."""
        self._end_word()
        _kind, quote, self._cur, self._word, _started, self._redirect = stack.pop()
        self._word.append("$(…)")
        self._started = True
        return quote

    def _lex(self, command: str) -> None:
        stack: list = []  # open `(`, `$(`, backtick: (kind, quote, command, word, started, redirect)
        quote = ""
        i, n = 0, len(command)
        while i < n:
            c = command[i]
            nxt = command[i + 1] if i + 1 < n else ""
            if quote == "'":
                end = command.find("'", i)
                end = n if end < 0 else end
                self._word.append(command[i:end])
                quote = "" if end < n else quote
                i = end + 1
                continue
            if quote == '"' and c == '"':
                quote = ""
            elif quote == '"' and c == "\\" and nxt in '"\\$`\n':
                self._word.append(nxt)
                i += 1
            elif c == "`" and stack and stack[-1][0] == "`":
                quote = self._close(stack)
            elif c == "`" or (c == "$" and nxt == "(") or (c in "<>" and nxt == "(" and not quote):
                self._open("`" if c == "`" else "$(", quote, stack)
                quote = ""
                i += c != "`"
            elif quote == '"':
                self._word.append(c)
            elif c == "$" and nxt == "'":
                end, text = _ansi_c(command, i + 2)
                self._word.append(text)
                self._started = self._quoted = True
                i = end
                continue
            elif c in "'\"":
                quote, self._started, self._quoted = c, True, True
            elif c == "\\":
                if nxt and nxt != "\n":
                    self._word.append(nxt)
                    self._started = self._quoted = True
                i += 1
            elif c in " \t":
                self._end_word()
            elif c in "<>":
                self._end_word()
                op = c
                while i + 1 < n and command[i + 1] in "<>&|-":
                    i += 1
                    op += command[i]
                self._redirect = "<<" if op.startswith("<<") and not op.startswith("<<<") else True
                self._strip = op.startswith("<<-")
            elif c == "\n":
                self._end_command()
                i = self._skip_heredocs(command, i + 1)
                continue
            elif c == ")" and stack and stack[-1][0] == "$(":
                quote = self._close(stack)
            elif c in ";&|()":
                self._end_command()
                if c == ")" and stack:
                    stack.pop()
                elif c == "(":
                    stack.append(("(", "", self._cur, [], False, False))
            elif c == "#" and not self._started:
                while i < n and command[i] != "\n":
                    i += 1
                continue
            else:
                m = _PLAIN.match(command, i)
                self._word.append(m.group() if m else c)
                self._started = True
                i += len(m.group()) if m else 1
                continue
            i += 1
        while stack and stack[-1][0] != "(":  # an unclosed substitution
            quote = self._close(stack)
        self._end_command()

    def _skip_heredocs(self, command: str, i: int) -> int:
        """Skip the bodies of the heredocs opened on the line that just ended; returns the index
        after the last body."""
        docs, self._heredocs = self._heredocs, []
        for delimiter, quoted, strip in docs:
            while i < len(command):
                end = command.find("\n", i)
                line = command[i:] if end < 0 else command[i:end]
                i = len(command) if end < 0 else end + 1
                if (line.lstrip("\t") if strip else line) == delimiter:
                    break
                if not quoted and ("$(" in line or "`" in line):
                    self.substitution = True
        return i


_C_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}


def _ansi_c(command: str, i: int) -> tuple[int, str]:
    """Decode the ``$'...'`` string whose text starts at ``i``: ``(index after its closing quote,
    text)``; ``\\xHH``, ``\\uHHHH``, ``\\UHHHHHHHH``, octal and the letter escapes as bash reads them."""
    out, n = [], len(command)
    while i < n and command[i] != "'":
        c = command[i]
        if c != "\\" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        e = command[i + 1]
        i += 2
        digits = {"x": 2, "u": 4, "U": 8}.get(e)
        if digits:
            j = i
            while j < min(n, i + digits) and command[j] in "0123456789abcdefABCDEF":
                j += 1
            out.append(chr(min(int(command[i:j], 16), 0x10FFFF)) if j > i else "\\" + e)
            i = j
        elif e in "01234567":
            j = i
            while j < min(n, i + 2) and command[j] in "01234567":
                j += 1
            out.append(chr(int(e + command[i:j], 8) & 0xFF))
            i = j
        elif e == "c" and i < n:
            out.append(chr(ord(command[i]) & 0x1F))
            i += 1
        else:
            out.append(_C_ESCAPES.get(e, "\\" + e))
    return i + 1, "".join(out)


#: A run of characters with no meaning to the lexer outside quotes.
_PLAIN = re.compile(r"[^\s'\"\\`$<>;&|()#]+")
_SHELLS = frozenset("sh bash zsh dash ksh mksh yash busybox".split())


def _programs(words: list[str]) -> list[str]:
    """Shell programs given as words: the operand of ``sh -c`` (anywhere in the command:
    ``xargs sh -c '...'``), the words after ``eval``, the value of ``env -S``; they are lexed as
    commands too."""
    out = []
    for k, w in enumerate(words):
        name = w.rsplit("/", 1)[-1]
        if name == "eval":
            out.append(" ".join(words[k + 1 :]))
        elif name == "env":  # `env -S 'CMD ARGS'`
            out += [
                a.split("=", 1)[1] if "=" in a else b
                for a, b in zip(words[k + 1 :], words[k + 2 :] + [""])
                if a.split("=", 1)[0] in ("-S", "--split-string")
            ]
        elif name in _SHELLS:
            inline = False
            for a in words[k + 1 :]:
                if a.startswith("-") and not a.startswith("--"):
                    inline = inline or "c" in a
                elif inline:
                    out.append(a)
                    break
                else:
                    break
    return out


_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")
_KEYWORDS = frozenset("{ } ! if then else elif fi do done while until for in case esac time".split())
_WRAPPERS = frozenset(
    "sudo doas nice nohup timeout stdbuf ionice env command builtin exec chrt taskset unbuffer".split()
)


#: Each wrapper's options that are followed by a value (skipped with it); ``_CHDIR`` change directory.
_VALUE_OPTIONS = {
    "env": frozenset("-u -C -S --unset --chdir --split-string".split()),
    "sudo": frozenset(
        "-u -g -C -D -h -p -U -r -t -T --user --group --chdir --host --prompt --other-user "
        "--close-from --role --type --command-timeout".split()
    ),
    "doas": frozenset(("-u", "-C")),
    "nice": frozenset(("-n", "--adjustment")),
    "timeout": frozenset(("-s", "-k", "--signal", "--kill-after")),
    "ionice": frozenset("-c -n -p -P -u --class --classdata".split()),
    "stdbuf": frozenset("-i -o -e --input --output --error".split()),
    "exec": frozenset(("-a",)),
}
_CHDIR = {"env": frozenset(("-C", "--chdir")), "sudo": frozenset(("-D", "--chdir"))}


def _name(words: list[str]) -> tuple[str, list[str]]:
    """``(program name, its arguments)`` of a simple command: leading assignments, keywords and
    wrappers (``sudo -u bob``, ``env -C DIR``, ``timeout 5``, ``nice -n 5``) with their options
    and option values skipped; the name is a basename."""
    k = _wrapped(words)[0]
    if k >= len(words):
        return "", []
    return words[k].rsplit("/", 1)[-1], words[k + 1 :]


def _wrapped(words: list[str]) -> tuple[int, list[str]]:
    """``(index of the program's word, directories a wrapper changes to first)``: ``env -C DIR``,
    ``env --chdir=DIR``, ``sudo -D DIR``."""
    k, wrapper, dirs = 0, "", []
    while k < len(words):
        w = words[k]
        if w in _KEYWORDS or w in _WRAPPERS:
            wrapper = w if w in _WRAPPERS else wrapper
        elif wrapper and w.startswith("-"):
            key, eq, value = w.partition("=")
            if key in _VALUE_OPTIONS.get(wrapper, ()) and not eq and k + 1 < len(words):
                k += 1
                value = words[k]
            if key in _CHDIR.get(wrapper, ()) and value:
                dirs.append(value)
        elif not (_ASSIGNMENT.match(w) or (wrapper and w[:1].isdigit())):
            break
        k += 1
    return k, dirs


def _is_option(word: str) -> bool:
    return word.startswith("-") and word != "-"


def _recursive(name: str, args: list[str]) -> bool:
    """Does the command walk directories: a walker, ``git grep``, or a recursive option (``-r``
    or ``-R`` in a cluster (only ``-R`` for ls), ``--recursive``, ``recurse``; ``-a``/``--archive``
    for cp, rsync and scp)?"""
    if name in WALKERS:
        return True
    if name == "git":
        return "grep" in args
    archive = name in ("cp", "rsync", "scp")
    for a in args:
        if a.startswith("--"):
            key = a.split("=", 1)[0]
            if (
                key in ("--recursive", "--dereference-recursive")
                or a.endswith("=recurse")
                or (archive and key == "--archive")
            ):
                return True
        elif a.startswith("-") and a[1:].isalnum():
            if "R" in a or ("r" in a and name != "ls") or (archive and "a" in a):
                return True
        elif a == "recurse":
            return True
    return False


_EXEC = frozenset(("-exec", "-execdir", "-ok", "-okdir"))


def _walk_roots(name: str, args: list[str]) -> tuple[list[str], bool] | None:
    """``(root words, dynamic)`` of a command that walks directories, else None.

    Root words: every operand (number values of options skipped) and option value (``-C DIR``,
    ``--directory=DIR``, ``--x=VALUE``), and ``.`` when the program starts from the working
    directory (no path operand); for ``find``, the paths before its expression. ``dynamic``: a
    root holds an expansion other than ``~``/``$HOME`` (``$DIR``, a brace): computed."""
    if not _recursive(name, args):
        return None
    roots: list[str] = []
    if name == "find":
        for a in args:
            if a.startswith(("-", "(", "!")):
                break
            roots.append(a)
        roots = roots or ["."]
        return roots, any(_dynamic(r) for r in roots)
    operands: list[str] = []
    pattern_given = False
    k = 0
    while k < len(args):
        a = args[k]
        key = a.split("=", 1)[0]
        k += 1
        if key in _DIR_OPTIONS:
            if "=" in a:
                roots.append(a.split("=", 1)[1])
            elif k < len(args):
                roots.append(args[k])
                k += 1
            continue
        if key in _PATTERN_OPTIONS or (
            name in _PATTERN_FIRST and a.startswith("-") and not a.startswith("--") and len(a) > 1 and a[-1] in "ef"
        ):
            pattern_given = True
        if _is_option(a):
            if "=" in a:
                roots.append(a.split("=", 1)[1])
        elif not a.isdigit():
            operands.append(a)
    if name == "git" and "grep" in operands:
        operands = operands[operands.index("grep") + 1 :]
    roots += operands
    if name in _PATTERN_FIRST:
        if len(operands) < (1 if pattern_given else 2):
            roots.append(".")
    elif name in _DEFAULT_DOT and not operands:
        roots.append(".")
    return roots, any(_dynamic(r) for r in roots)


_HOME_PREFIX = re.compile(r"~[^/]*|\$HOME(?![A-Za-z0-9_])|\$\{HOME\}")
_PWD_PREFIX = re.compile(r"\$PWD(?![A-Za-z0-9_])|\$\{PWD\}")


def _dynamic(word: str) -> bool:
    """Does ``word`` hold an expansion the hook cannot follow (``$DIR``, ``${X%/*}``, a brace,
    backticks)? ``~``, ``$HOME`` and ``$PWD`` at its start are followed."""
    m = _HOME_PREFIX.match(word) or _PWD_PREFIX.match(word)
    rest = word[m.end() :] if m else word
    return any(c in rest for c in "$`{")


def _expand(word: str, home: str, cwd: str | None) -> str | None:
    """The absolute normalised path ``word`` names from ``cwd`` (``~``, ``~user`` (taken as this
    home), ``$HOME``, ``${HOME}``, ``$PWD`` expanded), or None (relative with an unknown cwd, or an
    expansion that cannot be followed). A glob is returned as it is (normalised)."""
    m = _HOME_PREFIX.match(word)
    if m:
        word = home + word[m.end() :]
    elif word.startswith("/proc/"):
        word = _proc_self(word, cwd)
    else:
        m = _PWD_PREFIX.match(word)
        if m:
            if cwd is None:
                return None
            word = cwd + word[m.end() :]
    if _dynamic(word):
        return None
    if not word.startswith("/"):
        if cwd is None:
            return None
        word = cwd + "/" + word
    return _squeeze(word)


def _word_hits(word: str, ctx: _Context, cwds: list[str | None], home: str) -> str | None:
    """How ``word`` names a sensitive directory (from any of ``cwds``: the word, or the word and
    the path), or None."""
    if not word:
        return None
    anchored = word.startswith("/") or bool(_HOME_PREFIX.match(word))
    for cwd in cwds[:1] if anchored else cwds:
        path = _expand(word, home, cwd)
        if path is None:
            continue
        if _GLOB.search(path):
            if ctx.glob_hits(path):
                return word
        elif ctx.sensitive(path):
            return word if word.rstrip("/") == path.rstrip("/") else f"{word} ({path})"
    return None


def _working_dirs(commands: list[list[str]], home: str, cwd: str | None) -> list[str | None]:
    """The payload's cwd and every directory a ``cd``/``pushd`` in the command goes to, in order
    (None: unknown, e.g. ``cd "$DIR"``); a bare ``cd`` goes home."""
    out = [_squeeze(cwd) if cwd and cwd.startswith("/") else None]
    cur = out[0]
    for words in commands:
        out += [_expand(d, home, cur) for d in _wrapped(words)[1]]  # `env -C DIR cmd`
        name, args = _name(words)
        if name not in ("cd", "pushd"):
            continue
        target = next((a for a in args if not _is_option(a)), None)
        if target == "-":
            continue
        cur = home if target is None else _expand(target, home, cur)
        if cur is not None and _GLOB.search(cur):
            cur = None
        out.append(cur)
    return out


def _computes(name: str, args: list[str]) -> str:
    """What makes this simple command compute the names it opens (e.g. ``"`xargs`"``), or ``""``."""
    if name in COMPUTING:
        return f"`{name}`"
    if name == "find":
        found = next((a for a in args if a in _EXEC), "")
        return f"`find {found}`" if found else ""
    if name in ("source", "."):
        target = next((a for a in args if not _is_option(a)), "")
        if not target or _dynamic(target) or _GLOB.search(target) or target.startswith(("/dev/", "/proc/")):
            return f"`{name}` of a computed file"
        return ""
    if name in _PROGRAM_FIRST:
        return f"`{name}` with an inline program"
    if name in INTERPRETERS or name.startswith(_INTERPRETER_PREFIXES):
        operands = [a for a in args if not _is_option(a)]
        inline = any(
            a in ("--eval", "--print", "--command", "-Command", "-")
            or (a.startswith("-") and not a.startswith("--") and any(ch in a[1:] for ch in "ceErp"))
            for a in args
        )
        if inline or not operands or operands[0] == "eval":
            return f"`{name}` with an inline program"
    return ""


def _names_home(command: str, lexed: _Lexed, ctx: _Context, cwds: list[str | None], home: str) -> str:
    """``"and names …"`` when ``command`` names the home directory (``~``, ``$HOME``,
    ``expanduser``, ...) or a sensitive directory (a word such as ``..``, ``/``, the home
    directory spelled out, also inside an interpreter's strings), else ``""``."""
    if _HOME_TEXT.search(command):
        return "and names the home directory"
    words = [w for ws in lexed.commands for w in ws]
    tokens = [t for t in _TOKENS.findall(command) if t.strip("/")]  # `'/'` in code is not a path
    paths = [t for t in dict.fromkeys((*words, *tokens)) if t.startswith(("/", ".", "~", "$")) or ".." in t]
    if len(paths) > MAX_PATHS:
        return f"and names more than {MAX_PATHS} paths (too many to check)"
    for token in paths:
        hit = _word_hits(token, ctx, cwds, home)
        if hit:
            return f"and names {_shown(hit)}"
    return ""
