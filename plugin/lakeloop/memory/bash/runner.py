"""The runner of the memory path's Bash parser: runs a parsed ``syntax.Script`` on the virtual
tree, GNU style, like a tiny shell.

``plan(script)`` is the ONE store query the script needs; ``run(script, tree, root=)``
executes it on the ``Tree`` built from that query's answer and returns the text the agent
sees (stdout and error messages in one stream, as a terminal shows them, with control and
bidi characters shown as escapes by ``lakeloop.textsafe.escape`` once the last stage ran),
the exit status and, for a write, the note to store (its text as written, unescaped).
Nothing in a ``ShellResult`` is ever executed: the hook only prints it.

Output formats (GNU coreutils 9.1 / grep 3.8 / findutils 4.9, LC_ALL=C.UTF-8, stdout not a
terminal): file names are printed as the shell passes them (``~`` expanded: real absolute
paths under the root); ``ls`` prints one name per line; ``ls -l`` prints
``-r--r--r-- 1 lakeloop lakeloop SIZE DATE NAME`` (``dr-xr-xr-x`` for directories; SIZE in
bytes and DATE ``YYYY-MM-DD HH:MM`` when the tree has them, else ``?``; no ``total`` line);
``find`` and ``grep -r`` walk directories in sorted order (GNU uses directory order);
error messages use each tool's GNU wording and quoting, interleaved with output in operand
order; a pipeline's earlier stages' errors come first. Differences from GNU: ``cat``/``head``/
``tail``/``wc``/``grep`` (without ``-r``) on ``/sessions/<user>`` or ``/skills/<name>``
report ``Is a directory`` even when no such directory exists (the query does not list it).
Output is capped at ``max_bytes`` characters including a last line
``[lakeloop: output capped at N bytes; M more lines left out]``.
"""

from __future__ import annotations

import re

from ...records import dataclass
from ...textsafe import escape
from ..tree import LINE_LIMIT  # most session lines one grep reads from the store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ...store.memory_types import MemoryQuery
    from ..tree import Tree
    from .syntax import Script, Stage

#: Room kept under the cap for the cap line itself.
_CAP_LINE_ROOM = 100
_WC_SEP = frozenset(" \t\n\r\f\v\u2060")


@dataclass
class ShellResult:
    """``stdout``: the text printed (errors included); ``status``: exit status of the last
    stage (GNU values); ``note``: ``(vpath, full new text)`` to store for a write, else None."""

    stdout: str
    status: int
    note: tuple[str, str] | None = None


# the query -------------------------------------------------------------------------------------
def _content_prefixes(vpaths: list[str]) -> list[str]:
    """Prefixes for tools that read files: a file operand exactly; fixed and shape-known
    directories not at all (they are reported as directories); other paths also as a
    directory prefix, to tell a note directory from a missing file."""
    out: list[str] = []
    for p in vpaths:
        if _dir_shaped(p):
            continue
        out.append(p)
        if not (p.startswith("/sessions/") or p.startswith("/skills/") or p == "/index.md"):
            out.append(p + "/")
    return out


def _tree_prefixes(vpaths: list[str]) -> list[str]:
    out: list[str] = []
    for p in vpaths:
        out += ["/"] if p == "/" else [p, p + "/"]
    return out


def _uniq(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def plan(script: Script) -> MemoryQuery:
    """The one ``MemoryQuery`` (``lakeloop.store.memory_types``) ``script`` needs: from its
    first stage (later stages read stdin). ls/find: a listing of the operands; cat/head/
    tail/wc: their content; grep: content narrowed by ``narrowing_literals`` (not with
    ``-v``) with ``context=(B, A)`` lines around candidates, plus a listing when files
    without candidate lines must still be known (named operands, ``-c``); ``>>``: the
    content of the target (and under it, to tell a directory); ``>``, echo and heredocs:
    nothing (``query.empty``: a ``>`` onto a note directory is not detected). ``index``
    is set when ``/`` or ``/index.md`` is an operand."""
    from ...store.memory_types import MemoryQuery

    if script.write is not None:
        if script.write.op == ">>":
            vpath = script.write.vpath
            return MemoryQuery(prefixes=(vpath, vpath + "/"), content=True)
        return MemoryQuery()
    st = script.stages[0]
    if st.name == "echo" or not st.operands:
        return MemoryQuery()
    ops = st.operands
    index = any(p in ("/", "/index.md") for p in ops)
    if st.name in ("ls", "find"):
        return MemoryQuery(prefixes=_uniq(_tree_prefixes(ops)), listing=True, index=index)
    if st.name != "grep":
        return MemoryQuery(prefixes=_uniq(_content_prefixes(ops)), content=True, index=index)
    from ..grep import PatternError, compile_matcher, narrowing_literals

    g = st.options["grep"]
    try:
        matcher: Callable[[str], bool] | None = compile_matcher(g)
    except PatternError:
        return MemoryQuery()
    prefixes = _uniq(_tree_prefixes(ops) if st.options["recursive"] else _content_prefixes(ops))
    literals = None if g.invert else narrowing_literals(g)
    if literals is not None:
        matcher = None  # the index narrows; no need to run Python inside the store
    context = (0, 0)
    if not (g.count or g.files_with_matches or st.options["quiet"]):
        context = (g.before, g.after)
    listing = g.count or any(p != "/" for p in ops)
    return MemoryQuery(
        prefixes=prefixes,
        listing=listing,
        content=True,
        literals=literals,
        case_sensitive=not g.ignore_case,
        context=context,
        index=index,
        matcher=matcher,
        limit=LINE_LIMIT,
    )


# running ---------------------------------------------------------------------------------------
class _Out:
    """One stage's output: chunks of stdout (``False``) and stderr (``True``) in order."""

    def __init__(self) -> None:
        self.chunks: list[tuple[bool, str]] = []
        self.status = 0
        self.left = 0  # output lines a stage did not produce because of the cap

    def put(self, text: str) -> None:
        if text:
            self.chunks.append((False, text))

    def err(self, text: str, status: int = 1) -> None:
        self.chunks.append((True, text))
        self.status = max(self.status, status)

    def stdout(self) -> str:
        return "".join(t for e, t in self.chunks if not e)

    def stderr(self) -> str:
        return "".join(t for e, t in self.chunks if e)

    def text(self) -> str:
        return "".join(t for _, t in self.chunks)


def run(script: Script, tree: Tree, *, root: str, max_bytes: int = 30000) -> ShellResult:
    """Run ``script`` on ``tree`` (built from ``plan(script)``'s answer). ``root``: the memory
    root (absolute, as the agent wrote it after ``~`` expansion). Returns the capped output
    (at most ``max_bytes`` characters), the last stage's exit status and, for a write, the
    note ``(vpath, new full text)`` (``>>`` appends to the current content)."""
    if script.write is not None:
        w = script.write
        kind = tree.kind(w.vpath)
        if kind == "dir":
            return ShellResult(escape(f"bash: {w.display}: Is a directory\n"), 1, None)
        old = tree.text(w.vpath) if (w.op == ">>" and kind == "file") else ""
        return ShellResult("", 0, (w.vpath, old + w.text))
    data = script.stdin
    errors: list[str] = []
    out = _Out()
    last = len(script.stages) - 1
    for k, st in enumerate(script.stages):
        out = _Out()
        limit = max_bytes + 1 if k == last else None
        _RUNNERS[st.name](st, tree, data, out, limit)
        if k < last:
            data = out.stdout()
            errors.append(out.stderr())
    # stored text is shown, never obeyed: controls become visible escapes (lakeloop.textsafe), after
    # every stage ran on the raw text (wc counts, grep matches) and before the cap (it may lengthen)
    text = escape("".join(errors) + out.text())
    return ShellResult(_cap(text, max_bytes, out.left), out.status, None)


def _cap(text: str, max_bytes: int, extra_lines: int = 0) -> str:
    if len(text) <= max_bytes and not extra_lines:
        return text
    budget = max(max_bytes - _CAP_LINE_ROOM, 1)
    pieces = _lines(text)
    used = 0
    keep: list[str] = []
    for piece in pieces:
        if used + len(piece) > budget:
            break
        keep.append(piece)
        used += len(piece)
    left = len(pieces) - len(keep) + extra_lines
    if not keep and pieces:
        keep = [pieces[0][:budget]]
    body = "".join(keep)
    if body and not body.endswith("\n"):
        body += "\n"
    return body + f"[lakeloop: output capped at {max_bytes} bytes; {left} more lines left out]\n"


# helpers ---------------------------------------------------------------------------------------
def _lines(text: str) -> list[str]:
    """``text`` split after each ``\\n`` (only ``\\n``); the last piece may lack it."""
    if not text:
        return []
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def _dir_shaped(vpath: str) -> bool:
    """Fixed directories and ``/sessions/<user>``, ``/skills/<name>``."""
    parts = [p for p in vpath.split("/") if p]
    return not parts or (parts[0] in ("sessions", "skills") and len(parts) <= 2)


def _kind(tree: Tree, vpath: str) -> str | None:
    kind = tree.kind(vpath)
    if kind is None and _dir_shaped(vpath):
        return "dir"
    return kind


_SHELL_SPECIAL = frozenset(" \t\n!\"$&'()*;<=>?[\\^`|:")


def _needs_quote(name: str) -> bool:
    return (
        not name
        or name[0] in "#~"
        or any(c in _SHELL_SPECIAL for c in name)
        or any(ord(c) < 32 or ord(c) == 127 for c in name)
    )


def _shell_quote(name: str) -> str:
    """gnulib's shell-escape quoting: ``'name'``, ``"it's"``, ``'a'\\''b"c'``, ``'a'$'\\t''b'``."""
    if "'" in name and not any(c in name for c in '"$`\\!') and not any(ord(c) < 32 for c in name):
        return '"' + name + '"'
    out = ["'"]
    for c in name:
        if c == "'":
            out.append("'\\''")
        elif ord(c) < 32 or ord(c) == 127:
            esc = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}.get(c, f"\\{ord(c):03o}")
            out.append(f"'$'{esc}''")
        else:
            out.append(c)
    out.append("'")
    return "".join(out)


def _q_maybe(name: str) -> str:
    """cat and wc: quote only when the name needs it."""
    return _shell_quote(name) if _needs_quote(name) else name


def _trailing_slash_file(tree: Tree, vpath: str, shown: str) -> bool:
    return shown.endswith("/") and tree.kind(vpath) == "file"


# commands --------------------------------------------------------------------------------------
def _run_echo(st: Stage, tree: Tree, data: str | None, out: _Out, limit: int | None) -> None:
    out.put(" ".join(st.operands) + ("\n" if st.options["newline"] else ""))


def _inputs(st: Stage, tree: Tree, data: str | None, out: _Out, tool: str):
    """Yield ``(shown name, text)`` of each readable operand (stdin when there are none),
    reporting missing files and directories in ``tool``'s GNU words."""
    if not st.operands:
        yield None, data or ""
        return
    for vpath, shown in zip(st.operands, st.display):
        kind = _kind(tree, vpath)
        if kind is None or _trailing_slash_file(tree, vpath, shown):
            why = "No such file or directory" if kind is None else "Not a directory"
            if tool in ("cat", "wc"):
                out.err(f"{tool}: {_q_maybe(shown)}: {why}\n")
            else:
                out.err(f"{tool}: cannot open {_shell_quote(shown)} for reading: {why}\n")
            continue
        yield shown, (None if kind == "dir" else tree.text(vpath))


def _run_cat(st: Stage, tree: Tree, data: str | None, out: _Out, limit: int | None) -> None:
    number = st.options["number"]
    count, at_start = 0, True
    for shown, text in _inputs(st, tree, data, out, "cat"):
        if text is None:
            out.err(f"cat: {_q_maybe(shown)}: Is a directory\n")
            continue
        if not number:
            out.put(text)
            continue
        parts: list[str] = []
        for piece in _lines(text):
            if at_start:
                count += 1
                parts.append(f"{count:6d}\t")
            parts.append(piece)
            at_start = piece.endswith("\n")
        out.put("".join(parts))


def _run_head_tail(st: Stage, tree: Tree, data: str | None, out: _Out, limit: int | None) -> None:
    tool, n = st.name, st.options["lines"]
    if tool == "tail" and n == 0 and not st.options["from_start"]:
        return  # GNU tail -n 0 opens nothing and prints nothing
    headers = len(st.operands) > 1
    first = True
    for shown, text in _inputs(st, tree, data, out, tool):
        if headers:
            out.put(("" if first else "\n") + f"==> {shown} <==\n")
            first = False
        if text is None:
            out.err(f"{tool}: error reading {_shell_quote(shown)}: Is a directory\n")
            continue
        lines = _lines(text)
        if tool == "head":
            lines = lines[: max(len(lines) - n, 0)] if st.options["all_but"] else lines[:n]
        elif st.options["from_start"]:
            lines = lines[max(n - 1, 0) :]
        else:
            lines = lines[max(len(lines) - n, 0) :]
        out.put("".join(lines))


def _wc_counts(text: str) -> tuple[int, int, int, int]:
    """(lines, words, characters, bytes) as GNU wc counts them in a UTF-8 locale: a word
    is a run of printable characters between white space (ASCII white space, Unicode space
    separators, no-break spaces); non-printable characters neither start nor end words."""
    words = 0
    if text.isascii():
        words = len(re.findall(r"[\x21-\x7e][\x00-\x08\x0e-\x1f\x21-\x7f]*", text))
    else:
        import unicodedata

        in_word = False
        for ch in text:
            if ch in _WC_SEP or unicodedata.category(ch) == "Zs" or ch in "\u00a0\u2007\u202f":
                words += in_word
                in_word = False
            elif unicodedata.category(ch) not in ("Cc", "Cn", "Cs", "Zl", "Zp"):
                in_word = True
        words += in_word
    return text.count("\n"), words, len(text), len(text.encode("utf-8", "surrogatepass"))


def _run_wc(st: Stage, tree: Tree, data: str | None, out: _Out, limit: int | None) -> None:
    o = st.options
    flags = (o["lines"], o["words"], o["chars"], o["bytes"])
    nfiles = max(len(st.operands), 1)
    if nfiles == 1 and sum(flags) == 1:
        width = 1
    else:
        total, minimum = 0, 1
        if not st.operands:
            minimum = 7
        for vpath, shown in zip(st.operands, st.display):
            kind = _kind(tree, vpath)
            if _trailing_slash_file(tree, vpath, shown):
                continue  # stat fails: Not a directory
            if kind == "file":
                total += tree.size(vpath)
            elif kind == "dir":
                minimum = 7
        width = max(len(str(total)), minimum)

    def line(counts: tuple[int, ...], name: str | None) -> str:
        nums = [f"{c:>{width}}" for c, on in zip(counts, flags) if on]
        return " ".join(nums) + (f" {name}" if name is not None else "") + "\n"

    sums = [0, 0, 0, 0]
    for shown, text in _inputs(st, tree, data, out, "wc"):
        if text is None:
            out.err(f"wc: {_q_maybe(shown)}: Is a directory\n")
            counts = (0, 0, 0, 0)
        else:
            counts = _wc_counts(text)
        sums = [a + b for a, b in zip(sums, counts)]
        out.put(line(counts, shown))
    if len(st.operands) > 1:
        out.put(line(tuple(sums), "total"))


def _long(tree: Tree, vpath: str, name: str) -> str:
    if tree.kind(vpath) == "dir":
        return f"dr-xr-xr-x 2 lakeloop lakeloop ? ? {name}\n"
    meta = tree.meta.get(vpath)
    has = bool(tree.lines(vpath)) or meta is not None
    size = str(tree.size(vpath)) if has else "?"
    date = meta.date[:16].replace("T", " ") if meta is not None and meta.date else "?"
    return f"-r--r--r-- 1 lakeloop lakeloop {size} {date} {name}\n"


def _run_ls(st: Stage, tree: Tree, data: str | None, out: _Out, limit: int | None) -> None:
    o = st.options
    files: list[tuple[str, str]] = []
    dirs: list[tuple[str, str]] = []
    for vpath, shown in zip(st.operands, st.display):
        shown = shown or "."
        kind = tree.kind(vpath)
        if kind is None or _trailing_slash_file(tree, vpath, shown):
            why = "No such file or directory" if kind is None else "Not a directory"
            out.err(f"ls: cannot access {_shell_quote(shown)}: {why}\n", 2)
        elif kind == "dir":
            dirs.append((shown, vpath))
        else:
            files.append((shown, vpath))
    printed = False
    for shown, vpath in sorted(files):
        out.put(_long(tree, vpath, shown) if o["long"] else shown + "\n")
        printed = True
    header = len(st.operands) > 1 or o["recursive"]

    def listing(vpath: str, shown: str) -> None:
        nonlocal printed
        names = tree.listdir(vpath)
        if not (o["all"] or o["almost_all"]):
            names = [n for n in names if not n.startswith(".")]
        shown_names = sorted(names + [".", ".."]) if o["all"] else names
        text = ("\n" if printed else "") + (f"{shown}:\n" if header else "")
        base = "" if vpath == "/" else vpath
        for n in shown_names:
            text += _long(tree, base + "/" + n if n not in (".", "..") else vpath, n) if o["long"] else n + "\n"
        out.put(text)
        printed = True
        if o["recursive"]:
            for n in names:
                child = base + "/" + n
                if tree.kind(child) == "dir":
                    listing(child, shown.rstrip("/") + "/" + n if shown.rstrip("/") else "/" + n)

    for shown, vpath in sorted(dirs):
        listing(vpath, shown)


def _fnmatch_re(pattern: str, icase: bool) -> re.Pattern[str]:
    """GNU fnmatch (no FNM_PERIOD, backslash escapes, ``[!...]``/``[^...]``, ``[:class:]``)."""
    classes = {
        "alpha": "a-zA-Z",
        "digit": "0-9",
        "alnum": "a-zA-Z0-9",
        "upper": "A-Z",
        "lower": "a-z",
        "space": " \\t\\n\\r\\f\\v",
        "xdigit": "0-9a-fA-F",
        "blank": " \\t",
        "punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    }
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        i += 1
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "\\" and i < n:
            out.append(re.escape(pattern[i]))
            i += 1
        elif c == "[":
            j = i
            neg = j < n and pattern[j] in "!^"
            j += neg
            items: list[str] = []
            first = True
            ok = False
            while j < n:
                ch = pattern[j]
                if ch == "]" and not first:
                    ok = True
                    break
                first = False
                if ch == "[" and pattern.startswith("[:", j):
                    end = pattern.find(":]", j + 2)
                    if end > 0 and pattern[j + 2 : end] in classes:
                        items.append(classes[pattern[j + 2 : end]])
                        j = end + 2
                        continue
                if ch == "\\" and j + 1 < n:
                    j += 1
                    ch = pattern[j]
                if j + 2 < n and pattern[j + 1] == "-" and pattern[j + 2] != "]":
                    hi = pattern[j + 2]
                    items.append(re.escape(ch) + "-" + re.escape(hi))
                    j += 3
                    continue
                items.append(re.escape(ch))
                j += 1
            if ok:
                out.append("[" + ("^" if neg else "") + "".join(items) + "]")
                i = j + 1
            else:
                out.append(re.escape("["))
        else:
            out.append(re.escape(c))
    return re.compile("".join(out), re.S | (re.I if icase else 0))


def _run_find(st: Stage, tree: Tree, data: str | None, out: _Out, limit: int | None) -> None:
    o = st.options
    tests = [(t, v if t == "type" else _fnmatch_re(v, t == "iname")) for t, v in o["tests"]]
    maxdepth, mindepth = o["maxdepth"], o["mindepth"]
    lines: list[str] = []

    def ok(name: str, kind: str) -> bool:
        for t, v in tests:
            if t == "type":
                if (v == "d") != (kind == "dir"):
                    return False
            elif not v.fullmatch(name):
                return False
        return True

    def walk(vpath: str, shown: str, name: str, kind: str, depth: int) -> None:
        if depth >= mindepth and ok(name, kind):
            lines.append(shown + "\n")
        if kind == "dir" and (maxdepth is None or depth < maxdepth):
            base = "" if vpath == "/" else vpath
            for child in tree.listdir(vpath):
                cv = base + "/" + child
                walk(
                    cv,
                    (shown if shown.endswith("/") else shown + "/") + child,
                    child,
                    tree.kind(cv) or "file",
                    depth + 1,
                )

    for vpath, shown in zip(st.operands, st.display):
        kind = tree.kind(vpath)
        if kind is None:
            out.put("".join(lines))
            lines = []
            out.err(f"find: \u2018{shown}\u2019: No such file or directory\n")
            continue
        stripped = shown.rstrip("/")
        walk(vpath, shown, stripped.rsplit("/", 1)[-1] if stripped else "/", kind, 0)
    out.put("".join(lines))


def _run_grep(st: Stage, tree: Tree, data: str | None, out: _Out, limit: int | None) -> None:
    from ...records import replace
    from ..grep import PatternError, compile_matcher, grep

    o = st.options
    g = o["grep"]
    try:
        compile_matcher(g)
    except PatternError as exc:
        out.err(f"{exc}\n", 2)  # GNU's message, "grep: ..." already
        return
    groups: list[Any] = []  # str (an error message) or a list of (name, lines)
    error = traversed = False
    if not st.operands:
        groups.append([("(standard input)", [(i, ln.rstrip("\n")) for i, ln in enumerate(_lines(data or ""), 1)])])
    for vpath, shown in zip(st.operands, st.display):
        kind = tree.kind(vpath) if o["recursive"] else _kind(tree, vpath)  # -r plans a listing
        why = None
        if kind is None or _trailing_slash_file(tree, vpath, shown):
            why = "No such file or directory" if kind is None else "Not a directory"
        elif kind == "dir" and not o["recursive"]:
            why = "Is a directory"
        if why:
            error = True
            if not o["no_messages"]:
                groups.append(f"grep: {shown}: {why}\n")
            if why == "Is a directory" and g.count and not g.files_with_matches:
                groups.append([(shown, [])])  # GNU still prints the directory's count, 0
            continue
        if not groups or isinstance(groups[-1], str):
            groups.append([])
        if kind == "dir":
            traversed = True
            base = shown.rstrip("/")
            cut = 1 if vpath == "/" else len(vpath) + 1
            for f in tree.files_under(vpath):
                name = (base + "/" + f[cut:]) if shown else f[cut:]
                groups[-1].append((name, tree.lines(f)))
        else:
            groups[-1].append((shown, tree.lines(vpath)))
    filename = o["filename"]
    if filename is None:
        filename = len(st.operands) > 1 or (o["recursive"] and traversed)
    g = replace(g, with_filename=filename)
    separators = (g.context_given or g.before > 0 or g.after > 0) and not (g.count or g.files_with_matches)
    matched = False
    printed = False
    produced = 0
    for group in groups:
        if isinstance(group, str):
            out.err(group, 2)
            continue
        if o["quiet"]:
            res = grep(replace(g, files_with_matches=True, count=False), group, max_lines=1)
            if res.status == 0:
                matched = True
                break
            continue
        room = None if limit is None else max(limit - produced, 0)
        res = grep(g, group, max_lines=room)
        if res.status == 0:
            matched = True
        if res.lines:
            sep = "--\n" if separators and printed else ""
            out.put(sep + "".join(ln + "\n" for ln in res.lines))
            printed = True
            produced += len(res.lines)
        out.left += max(res.total_lines - len(res.lines), 0)
    if o["quiet"] and matched:
        out.status = 0
        return
    out.status = 2 if error else (0 if matched else 1)


_RUNNERS = {
    "echo": _run_echo,
    "cat": _run_cat,
    "head": _run_head_tail,
    "tail": _run_head_tail,
    "wc": _run_wc,
    "ls": _run_ls,
    "find": _run_find,
    "grep": _run_grep,
}
