"""The cheap, conservative test of the memory path's Bash parser: may a command touch the memory
root or a guarded path beside it?

``touches_memory(command, root, home, cwd=None, guards=())`` runs on every Bash call the
PreToolUse byte prefilter (``lakeloop.memory.prefilter``) lets through; only when it is true does
``parser.parse`` run. ``guards`` are paths beside the root that no command may read or write on
the host (lakeloop's credentials file and ``~/.deeplake``: ``lakeloop.memory.paths.guarded``): a
command that may reach one is parsed like a memory command, so it is either a form answered from
the virtual tree or refused.

A few substring tests and regexes on the command text, no lexing: imports ``syntax`` only (and
``fnmatch``, ``posixpath``, ``unicodedata`` lazily, when a command needs them).
"""

from __future__ import annotations

import re

from .syntax import LOOSE, MAX_COMMAND_CHARS, holds_home, is_ancestor, norm_root

_STRIP = str.maketrans("", "", "'\"\\")
_WORDSPLIT = re.compile(r"[\s|&;<>()]+")
_DYNAMIC = frozenset("*?[{$`")
#: Shell options under which a glob may match a leading dot (``dotglob``; a non-empty
#: ``GLOBIGNORE`` turns it on) or take forms this scan does not model (``extglob``'s ``@(...)``).
_GLOB_OPTIONS = ("dotglob", "globignore", "extglob")
_SUBST = re.compile(r"\$\([^)]*\)?|`[^`]*`?")
_DOTSEGS = re.compile(r"/(?:\.?/)+")


def _PARENT_WORD(name: str):
    """A regex finding ``name`` (the root's parent) as a whole path component."""
    return re.compile(r"(?:^|[/\s=~])" + re.escape(name) + r"(?:$|[/\s;&|)])")


def touches_memory(command: str, root: str, home: str, cwd: str | None = None, guards: tuple[str, ...] = ()) -> bool:
    """True when ``command`` may touch the memory ``root`` (absolute) or one of ``guards``
    (absolute paths no command may reach on the host at or under them: lakeloop's credentials
    file, ``~/.deeplake``; ``lakeloop.memory.paths.guarded``) and must not reach the host shell
    unparsed.

    Conservative and cheap (a few substring tests; words with glob or ``$`` characters are
    matched against the targets): with quotes and backslashes removed and case folded, the
    command contains the root's last two components (``.deeplake/memory``), also with the
    separator or any non-ASCII, control, quote or punctuation characters in between
    (``~/.deep''lake/mem"ory"``, look-alike slashes), or a guard's path below the home
    directory (``.deeplake``, ``.deeplake/credentials.json``); or a word whose glob, brace,
    ``$VAR``, ``~user`` or substitution parts could expand to a target or a path under it; or a
    path word that resolves (``~``, ``$HOME``, ``cwd``, ``..``) to a target, a path under one,
    or an ancestor of one strictly below the home directory (a recursive read reaches the
    target); or, when the command has an expansion that could join pieces (``$``, backticks),
    a word that spells the start of a target beyond the home directory (``A=~/.deep``); or a
    guard's file name (``credentials.json``) next to a word naming one of its ancestors
    (``find ~ -name credentials.json``); or ``cwd`` is inside a target; or the command names a
    shell option under which a glob may match a leading dot (``_GLOB_OPTIONS``) and holds a glob."""
    if len(command) > MAX_COMMAND_CHARS:
        return True  # too long to check cheaply: parse refuses it
    root = norm_root(root)
    comps = [c for c in root.lower().split("/") if c]
    targets = [root] + [norm_root(g) for g in guards if g]
    if cwd:
        c = norm_root(cwd)
        if any(c == t or c.startswith(t + "/") for t in targets):
            return True
    text = command.translate(_STRIP)
    low = text.lower()
    if any(o in low for o in _GLOB_OPTIONS) and any(ch in low for ch in "*?[("):
        return True  # a glob may match `.deeplake` here: parse refuses what it cannot check
    if "/." in low or "//" in low:  # `~/.deeplake/./memory`, `.deeplake//memory`: one path to a shell
        low = _DOTSEGS.sub("/", low)
    key = "/".join(comps[-2:]) if len(comps) >= 2 else root.lower()
    if key in low or root.lower() in low:
        return True
    if len(comps) >= 2 and comps[-2].startswith(".") and _PARENT_WORD(comps[-2]).search(low):
        return True  # the root's hidden parent (`~/.deeplake`): `grep -r x ~/.deeplake` reads the root too
    home_l = (home or "").lower().rstrip("/")
    tails = [_tail(t.lower(), home_l) for t in targets[1:]]
    if any(_tail_in(tail, low) for tail in tails):
        return True
    if not command.isascii():
        import unicodedata

        low = unicodedata.normalize("NFKC", low).lower()
        if key in low or any(_tail_in(tail, low) for tail in tails):
            return True
    loose = "".join(comps[-2:])
    squeezed = LOOSE.sub("", low)
    if len(loose) >= 8 and loose in squeezed:
        return True
    if any(len(t) >= 8 and t in squeezed for t in (LOOSE.sub("", tail) for tail in tails)):
        return True  # `'~/.deep' + 'lake/credentials.json'`: pieces joined by an interpreter
    lows = [t.lower() for t in targets]
    need_paths = bool(cwd and any(is_ancestor(norm_root(cwd), t) for t in targets))
    if "~" in low:  # `~user`, `~+`, `~-` may be any directory (`~root/.deeplake` when run as root)
        low = _TILDE_OTHER.sub(r"\1$x", low)
    if not (need_paths or "/" in low or "~" in low or any(ch in low for ch in _DYNAMIC)):
        return False
    cwd_l = norm_root(cwd).lower() if cwd else None
    if ("$" in low or "`" in low) and _spells_a_start(low, lows, home_l, cwd_l):
        return True
    if "$(" in low or "`" in low:
        # A substitution may print anything, so it is an unknown piece of a path (`$x`), unless it is
        # plain (`cat $(git rev-parse --show-toplevel)/README.md`): see _plain.
        low = _SUBST.sub("x" if _plain(text, low, comps[-2:], need_paths) else "$x", low)
    words = [w for w in _WORDSPLIT.split(low) if w]
    cd_comps = comps[-2:] + [t.rsplit("/", 1)[-1] for t in lows[1:] if t.rsplit("/", 1)[-1].startswith(".")]
    if any(w in ("cd", "pushd") for w in words) and _after_cd_hits(words, cd_comps):
        return True
    # ancestors a recursive read reaches the targets through: those strictly below home, a guard's
    # own directory, and for a guard's file name mentioned in the command (`find ~ -name
    # credentials.json`) all of them
    ancestors = {a for t in lows for a in _ancestors(t) if a.startswith(home_l + "/")}
    reach = set(ancestors)
    ancestors.update(d for d in (t.rsplit("/", 1)[0] for t in lows[1:]) if d and not holds_home(d, home_l))
    for t in lows[1:]:
        name = t.rsplit("/", 1)[-1]
        if not name.startswith(".") and _PARENT_WORD(name).search(low):
            ancestors.update(_ancestors(t))
    for word in words:
        if any(ch in word for ch in _DYNAMIC):
            if any(_dynamic_hits(word, t, home_l, cwd_l) for t in (*lows, *reach)):
                return True  # `~/.dee*`: a glob of the root's hidden parent reaches the root too
        elif "/" in word or need_paths or word in _HOME_WORDS:
            n = _resolve(word, home_l, cwd_l, need_paths)
            if n is not None and (n in ancestors or any(n == t or n.startswith(t + "/") for t in lows)):
                return True
    return False


def _plain(text: str, low: str, comps: list[str], need_paths: bool) -> bool:
    """Is a command substitution in this command plain, i.e. not an unknown piece of a memory
    path: the command runs below the targets (not ``need_paths``), has no ``cd``, and names
    neither the home directory, a hidden directory, nor (as a whole path component, globs
    read) one of the root's last two ``comps``? A name computed elsewhere is a residual risk
    (docs/memory-security.md); names computed next to the home directory are refused by
    ``lakeloop.memory.reach``."""
    if need_paths or _HOME_OR_HIDDEN.search(text) or any(c in low for c in comps):
        return False
    import fnmatch

    words = [w for w in _WORDSPLIT.split(low) if w]
    return not any(w in ("cd", "pushd") for w in words) and not any(
        fnmatch.fnmatchcase(c, part) for w in words for part in w.split("/") if part for c in comps
    )


_HOME_WORDS = frozenset(("~", "$home", "${home}"))
#: `~` or `$HOME` starting a word, or a path component starting with a dot (`.deeplake`, `.d*`).
_HOME_OR_HIDDEN = re.compile(r"(?:^|[\s=:;&|(<>`,])~|\$\{?HOME\b|(?:^|[\s/=:;&|(<>`,$])\.[^\s/.]")
_TILDE_OTHER = re.compile(r"(^|[\s=:])~(?![/\s]|$)[^/\s]*")


def _tail(target: str, home: str) -> str:
    """``target`` below ``home`` (``.deeplake/credentials.json``), else ``target`` itself."""
    return target[len(home) + 1 :] if home and target.startswith(home + "/") else target


def _tail_in(tail: str, low: str) -> bool:
    """Is ``tail`` in ``low``: as a substring when it has a ``/``, else as a whole path component."""
    if "/" in tail:
        return tail in low
    return bool(tail) and tail in low and _PARENT_WORD(tail).search(low) is not None


def _ancestors(path: str) -> list[str]:
    """``/a/b/c`` -> ``["/a/b", "/a", "/"]``."""
    out = []
    while path not in ("/", ""):
        path = path.rsplit("/", 1)[0] or "/"
        out.append(path)
    return out


def _resolve(word: str, home: str, cwd: str | None, need_paths: bool) -> str | None:
    """The normalised path a word (quotes removed, lower case) names, or None (relative and no
    reason to anchor it)."""
    if word.startswith("-") and "=" in word:
        word = word.split("=", 1)[1]
    w = _expand_start(word, home)
    if not w.startswith("/"):
        if not cwd or not (need_paths or ".." in w):
            return None
        w = cwd + "/" + w
    import posixpath

    return posixpath.normpath(w)


def _spells_a_start(low: str, targets: list[str], home: str, cwd: str | None) -> bool:
    """With an expansion in the command that can join pieces (``$A$B``), a word or assignment
    value that spells the start of a target past the home directory (``A=~/.deep``,
    ``D=/srv/team-m``) counts: ``mkdir -p $A$B$C`` may then build the target."""
    for piece in _PIECES.split(low):
        if not piece or piece[0] not in "~/$." or piece.startswith("$("):
            continue
        w = _expand_start(piece, home)
        if not w.startswith("/"):
            if not cwd or w.startswith("$"):
                continue
            w = cwd + "/" + w
        if "/." in w:
            import posixpath

            w = posixpath.normpath(w)  # `.` is the directory itself, not the start of `.deeplake`
        for t in targets:
            anchor = home + "/" if t.startswith(home + "/") else t.rsplit("/", 1)[0] + "/"
            if len(w) > len(anchor) and t.startswith(w) and w != t:
                return True
    return False


_PIECES = re.compile(r"[\s|&;<>()=:`\"']+")


def _after_cd_hits(words: list[str], comps: list[str]) -> bool:
    """With a ``cd`` in the command the working directory is unknown: a relative word whose
    first component may be one of the root's last two components (``memory/x``, ``mem*``)
    counts."""
    import fnmatch

    for w in words:
        if w[0] in "/~$-":
            continue
        while w.startswith("./"):
            w = w[2:]
        first = w.split("/", 1)[0]
        if first and any(fnmatch.fnmatchcase(c, first) for c in comps):
            return True
    return False


def _expand_start(word: str, home: str) -> str:
    for pre in ("~", "$home", "${home}"):
        if word == pre or word.startswith(pre + "/"):
            return home + word[len(pre) :]
    return word


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

        if w.count("/..") > 16:
            return True  # conservative, and bounded: each `/..` below adds a candidate
        candidates.add(posixpath.normpath(w))
        # `x*/..` lands wherever `x*` matched: each prefix before a `..` is a candidate too
        candidates.update(w[:k] for k in range(len(w)) if w.startswith("/..", k))
    return any(_atoms_reach(c, root) for c in candidates)


def _atoms_reach(w: str, root: str) -> bool:
    atoms: list[str] = []  # single chars; "?" one non-slash; "*" non-slash run; "ANY" anything
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
        return False  # relative, and no cwd to anchor it
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
        return False  # a bare `$VAR` or `*`: nothing ties it to the root
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
