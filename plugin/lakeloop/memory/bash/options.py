"""Per-command option parsing of the memory path's Bash parser (``lakeloop.memory.bash``).

``STAGES[name](args, ctx, first, has_stdin)`` turns the words (``lexer.Word``) after one of
``parser.COMMANDS`` into a ``syntax.Stage`` (options as documented there, operands as
virtual paths via ``ctx.path``), with GNU getopt_long's permutation (``_getopt``); unknown
flags and bad values raise ``syntax.CommandRefused`` through ``ctx.refuse``. ``echo_text`` is
what an ``echo`` writes. Imported by ``parser`` only, never on the cheap path (``scan``).
"""

from __future__ import annotations

import re

from .syntax import Stage, show

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .lexer import Word
    from .syntax import Ctx


def _getopt(
    args: list[Word],
    cmd: str,
    flags: str,
    with_arg: str,
    longs: dict[str, tuple[str, bool]],
    ctx: Ctx,
    digits: bool = False,
) -> tuple[list[tuple[str, str | None]], list[Word]]:
    """GNU getopt_long with argument permutation: ``(options, operands)``; ``options`` are
    ``(letter, value)``; a long option maps to its letter via ``longs`` (name -> (letter,
    takes value)); with ``digits``, ``-NUM`` gives ``("#", NUM)``. Unknown options: CommandRefused."""
    opts: list[tuple[str, str | None]] = []
    operands: list[Word] = []
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
                ctx.refuse(f"`{cmd} --{show(name, 40)}` is not supported", _flag_help(cmd, ctx))
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
            m = re.match(r"\d+", t[j:]) if digits else None  # not str.isdigit: "²" is a digit, not \d
            if m:
                opts.append(("#", m.group(0)))
                j += m.end()
                continue
            if c in flags:
                opts.append((c, None))
                j += 1
            elif c in with_arg:
                if j + 1 < len(t):
                    val = t[j + 1 :]
                elif k < len(args):
                    val = args[k].text
                    k += 1
                else:
                    ctx.refuse(f"`{cmd} -{c}` needs a value")
                opts.append((c, val))
                break
            else:
                ctx.refuse(f"`{cmd} -{show(c)}` is not supported", _flag_help(cmd, ctx))
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


def _flag_help(cmd: str, ctx: Ctx) -> str:
    return f"{_FLAG_HELP.get(cmd, '')} on the memory path; {ctx.hint}"


def _vpath(ctx: Ctx, text: str) -> str:
    """``ctx.path(text)``, typed as a ``Stage`` operand. A host path gives None and is recorded in
    ``ctx.host``; ``parser.parse`` then returns None or refuses, so no ``Stage`` holding a None
    operand ever leaves the parser."""
    return ctx.path(text)  # type: ignore[return-value]  # None only in a Stage parse() discards (see above)


def _operands(
    cmd: str, words: list[Word], ctx: Ctx, first: bool, has_stdin: bool, need: bool = True
) -> tuple[list[str], list[str]]:
    if words and not first:
        ctx.refuse(f"File operands for `{cmd}` after a pipe", "only the first command of a pipeline reads files")
    if not words and first and not has_stdin and need:
        ctx.refuse(f"`{cmd}` without a file would read the terminal", f"name a file under {ctx.root}")
    vpaths: list[str] = []
    display: list[str] = []
    for w in words:
        if w.text == "-":
            ctx.refuse(f"`{cmd} -` (standard input)", f"name a file under {ctx.root}")
        vpaths.append(_vpath(ctx, w.text))
        display.append(w.text)
    return vpaths, display


def _number(value: str | None, cmd: str, ctx: Ctx, pattern: str = r"\d+") -> re.Match[str]:
    m = re.fullmatch(pattern, value or "")
    if not m or len(value or "") > 18:
        ctx.refuse(f"`{cmd}` count {show(str(value), 20)!r} is not a plain number")
    return m


def _p_cat(args: list[Word], ctx: Ctx, first: bool, has_stdin: bool) -> Stage:
    opts, words = _getopt(args, "cat", "n", "", {"number": ("n", False)}, ctx)
    vpaths, display = _operands("cat", words, ctx, first, has_stdin)
    return Stage("cat", {"number": bool(opts)}, vpaths, display)


def _p_head(args: list[Word], ctx: Ctx, first: bool, has_stdin: bool, cmd: str = "head") -> Stage:
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


def _p_tail(args: list[Word], ctx: Ctx, first: bool, has_stdin: bool) -> Stage:
    return _p_head(args, ctx, first, has_stdin, "tail")


def _p_ls(args: list[Word], ctx: Ctx, first: bool, has_stdin: bool) -> Stage:
    opts, words = _getopt(args, "ls", "1aAlRh", "", {}, ctx)
    if not first:
        ctx.refuse("`ls` after a pipe", "ls reads no input; put it first")
    letters = {c for c, _ in opts}
    o = {
        "all": "a" in letters,
        "almost_all": "A" in letters,
        "long": "l" in letters,
        "recursive": "R" in letters,
        "implicit": not words,
    }
    if not words:
        return Stage("ls", o, [_vpath(ctx, ctx.cwd)], [""])
    vpaths, display = _operands("ls", words, ctx, first, has_stdin)
    return Stage("ls", o, vpaths, display)


def _p_wc(args: list[Word], ctx: Ctx, first: bool, has_stdin: bool) -> Stage:
    opts, words = _getopt(
        args,
        "wc",
        "lwcm",
        "",
        {"lines": ("l", False), "words": ("w", False), "bytes": ("c", False), "chars": ("m", False)},
        ctx,
    )
    letters = {c for c, _ in opts}
    if not letters:
        letters = {"l", "w", "c"}
    vpaths, display = _operands("wc", words, ctx, first, has_stdin)
    return Stage(
        "wc",
        {"lines": "l" in letters, "words": "w" in letters, "chars": "m" in letters, "bytes": "c" in letters},
        vpaths,
        display,
    )


def _echo_words(args: list[Word], ctx: Ctx) -> tuple[list[str], bool]:
    newline = True
    k = 0
    while k < len(args) and re.fullmatch(r"-[neE]+", args[k].text):
        if "e" in args[k].text:
            ctx.refuse("`echo -e`", "write the text literally, or use `cat > FILE <<'EOF'` for several lines")
        if "n" in args[k].text:
            newline = False
        k += 1
    return [w.text for w in args[k:]], newline


def echo_text(args: list[Word], ctx: Ctx) -> str:
    """What ``echo ARGS`` writes (``-n``: no newline at the end). Raises ``CommandRefused`` for
    ``-e`` (escapes are not interpreted on the memory path)."""
    words, newline = _echo_words(args, ctx)
    return " ".join(words) + ("\n" if newline else "")


def _p_echo(args: list[Word], ctx: Ctx, first: bool, has_stdin: bool) -> Stage:
    if not first:
        ctx.refuse("`echo` after a pipe", "echo reads no input; put it first")
    words, newline = _echo_words(args, ctx)
    return Stage("echo", {"newline": newline}, words, [])


_GREP_LONGS = {
    "extended-regexp": ("E", False),
    "fixed-strings": ("F", False),
    "basic-regexp": ("G", False),
    "regexp": ("e", True),
    "ignore-case": ("i", False),
    "no-ignore-case": ("I-", False),
    "word-regexp": ("w", False),
    "invert-match": ("v", False),
    "count": ("c", False),
    "files-with-matches": ("l", False),
    "line-number": ("n", False),
    "no-filename": ("h", False),
    "with-filename": ("H", False),
    "after-context": ("A", True),
    "before-context": ("B", True),
    "context": ("C", True),
    "recursive": ("r", False),
    "dereference-recursive": ("R", False),
    "no-messages": ("s", False),
    "quiet": ("q", False),
    "silent": ("q", False),
    "color": ("color", False),
    "colour": ("color", False),
}


def _p_grep(args: list[Word], ctx: Ctx, first: bool, has_stdin: bool) -> Stage:
    from ..grep import GrepOptions

    opts, words = _getopt(args, "grep", "rRinlcwvFEGhHsqy", "eABC", _GREP_LONGS, ctx, digits=True)
    patterns: list[str] = []
    mode = None
    flags: dict[str, Any] = {
        "i": False,
        "w": False,
        "v": False,
        "n": False,
        "c": False,
        "l": False,
        "r": False,
        "q": False,
        "s": False,
    }
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
        vpaths, display = [_vpath(ctx, ctx.cwd)], [""]
    if after < 0:
        after = max(context, 0)
    if before < 0:
        before = max(context, 0)
    g = GrepOptions(
        patterns=tuple(pats),
        mode=mode or "G",
        ignore_case=flags["i"],
        word=flags["w"],
        invert=flags["v"],
        line_number=flags["n"],
        count=flags["c"] and not flags["l"],
        files_with_matches=flags["l"],
        before=before,
        after=after,
        with_filename=bool(filename),
        context_given=any(c in ("A", "B", "C", "#") for c, _ in opts),
    )
    return Stage(
        "grep",
        {"grep": g, "filename": filename, "recursive": flags["r"], "quiet": flags["q"], "no_messages": flags["s"]},
        vpaths,
        display,
    )


_FIND_ACTIONS = {
    "-exec",
    "-execdir",
    "-ok",
    "-okdir",
    "-delete",
    "-fprint",
    "-fprint0",
    "-fprintf",
    "-fls",
    "-printf",
    "-print0",
    "-ls",
}


def _p_find(args: list[Word], ctx: Ctx, first: bool, has_stdin: bool) -> Stage:
    if not first:
        ctx.refuse("`find` after a pipe", "find reads no input; put it first")
    k = 0
    starts: list[Word] = []
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
            ctx.refuse(f"`find {show(t, 40)}` is not supported", _flag_help("find", ctx))
        if k >= len(args):
            ctx.refuse(f"`find {t}` needs a value")
        val = args[k].text
        k += 1
        if t == "-type":
            if val not in ("f", "d"):
                ctx.refuse(f"`find -type {show(val, 10)}`", "use -type f or -type d")
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
        vpaths, display = [_vpath(ctx, ctx.cwd)], ["."]
    return Stage("find", {"tests": tests, "maxdepth": maxdepth, "mindepth": mindepth}, vpaths, display)


#: Command name (``parser.COMMANDS``) -> its option parser ``(args, ctx, first, has_stdin) -> Stage``.
STAGES = {
    "cat": _p_cat,
    "head": _p_head,
    "tail": _p_tail,
    "ls": _p_ls,
    "grep": _p_grep,
    "wc": _p_wc,
    "find": _p_find,
    "echo": _p_echo,
}
