"""Where the memory path lives, and how a tool's path maps into the virtual tree.

The root is ``LAKELOOP_MEMORY_PATH`` (``~`` expanded, made absolute), else
``~/.deeplake/memory``, the path other Deeplake clients use. It does not exist on
disk: nothing here touches the file system under it.

``virtual(path, cwd)`` maps an agent-supplied path to a virtual path (``/``,
``/sessions/alice/x.jsonl``) or None when it is outside the root. A ``..`` segment,
a NUL or control character, or a path over ``MAX_PATH_CHARS`` raises ``PathRefused``:
the tree is virtual, so ``..`` tricks are refused, never resolved.

Next to the root lie files no tool call may read on the host: ``guarded()`` names them
(``~/.deeplake``, Deeplake's own directory holding the default credentials file, and the
credentials file lakeloop is configured with), ``guard_reason(path)`` says whether a path is
one of them or inside one, and ``search_reaches(base, glob)`` whether a recursive search
(the Grep and Glob tools) from ``base`` could select the credentials file. ``on_disk()``
tells whether the root exists on disk, which it never should: lakeloop then refuses to
answer (``lakeloop.memory.answer``).
"""

from __future__ import annotations

import os

from ..errors import MemoryRefused

DEFAULT_ROOT = "~/.deeplake/memory"
#: Longest path (characters) the memory path accepts from a tool call.
MAX_PATH_CHARS = 4096


class PathRefused(MemoryRefused):
    """A tool's path that lands inside the memory path but cannot be accepted (``..``, control
    characters, over ``MAX_PATH_CHARS``); ``str()`` says why, without the path itself."""


def root() -> str:
    """The memory root: an absolute path without a trailing ``/``."""
    raw = os.environ.get("LAKELOOP_MEMORY_PATH", "").strip() or DEFAULT_ROOT
    return os.path.normpath(os.path.abspath(os.path.expanduser(raw)))


def virtual(path: str, cwd: str | None = None, memory_root: str | None = None) -> str | None:
    """The virtual path of ``path`` (``~`` expanded; relative paths joined to ``cwd``), or
    None when it lies outside the memory root. Raises PathRefused for ``..`` segments, control
    characters or an over-long path that would otherwise land inside the root."""
    r = memory_root or root()
    if not isinstance(path, str) or not path:
        return None
    if path.startswith("~"):
        path = os.path.expanduser(path)
    if not path.startswith("/"):
        if not cwd:
            return None
        path = cwd.rstrip("/") + "/" + path
    inside = path == r or path.startswith(r + "/")
    squeezed = "/" + "/".join(p for p in path.split("/") if p and p != ".")
    inside = inside or squeezed == r or squeezed.startswith(r + "/")
    if not inside:
        if ".." in path.split("/") and (r in path or _resolves_inside(path, r)):
            raise PathRefused(f"'..' is not allowed in a memory path ({root_hint(r)})")
        return None
    if len(path) > MAX_PATH_CHARS:
        raise PathRefused(f"memory path longer than {MAX_PATH_CHARS} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        raise PathRefused("control characters are not allowed in a memory path")
    parts = [p for p in squeezed[len(r) :].split("/") if p]
    if ".." in parts:
        raise PathRefused(f"'..' is not allowed in a memory path ({root_hint(r)})")
    return "/" + "/".join(parts)


def _resolves_inside(path: str, r: str) -> bool:
    norm = os.path.normpath(path)
    return norm == r or norm.startswith(r + "/")


def real(vpath: str, memory_root: str | None = None) -> str:
    """The path the agent sees for virtual path ``vpath`` (root joined with it)."""
    r = memory_root or root()
    return r if vpath in ("", "/") else r + "/" + vpath.strip("/")


def root_hint(memory_root: str | None = None) -> str:
    """A short reminder of what can be done on the memory path (for deny reasons)."""
    r = memory_root or root()
    return f"read {r}/index.md, or search with Grep on {r} or `grep -rn TERM {r}`"


# what no tool call may read on the host -------------------------------------------------------
#: Deeplake's own directory (the default credentials file and the default memory root's parent).
DEEPLAKE_DIR = "~/.deeplake"


def squeeze(path: str) -> str:
    """``os.path.normpath`` of ``path`` with a leading ``//`` read as ``/`` (POSIX lets a system
    give ``//`` a meaning of its own; Linux and macOS do not): ``/home/u/.``, ``/home/u//``,
    ``//home/u`` and ``/./home/u`` are all ``/home/u``."""
    norm = os.path.normpath(path)
    return "/" + norm.lstrip("/") if norm.startswith("//") else norm


def host_path(raw: str, cwd: str | None) -> str | None:
    """The absolute path a tool's path argument names: ``~`` expanded, a relative path joined to
    ``cwd``, ``/proc/self/cwd`` read as ``cwd`` (``proc_self``), otherwise as spelled (``with_real``
    gives its normalised form and its real path, which follows a symlink before a ``..`` as the
    system does); None for a relative path without a cwd."""
    path = os.path.expanduser(raw) if raw.startswith("~") else proc_self(raw, cwd)
    if not path.startswith("/"):
        if not cwd:
            return None
        path = os.path.join(cwd, path)
    return path


def proc_self(path: str, cwd: str | None) -> str:
    """``path`` with a leading ``/proc/self/cwd`` (also ``thread-self`` or a process number) read
    as ``cwd`` (the tool runs in the payload's working directory; the hook process may not) and
    ``/proc/self/root`` as ``/``; other paths unchanged."""
    if not path.startswith("/proc/"):
        return path
    parts = path.split("/", 4)  # ['', 'proc', 'self', 'cwd', rest]
    if len(parts) < 4 or not (parts[2] in ("self", "thread-self") or parts[2].isdigit()):
        return path
    rest = "/" + parts[4] if len(parts) > 4 else ""
    if parts[3] == "root":
        return rest or "/"
    if parts[3] == "cwd" and cwd:
        return cwd.rstrip("/") + rest
    return path


def with_real(path: str) -> tuple[str, ...]:
    """``(squeeze(path),)``, or with the real path of absolute ``path`` too (``os.path.realpath``:
    symlinks followed, ``..`` taken after them) when it differs."""
    norm = squeeze(path)
    try:
        real = os.path.realpath(path)
    except (OSError, ValueError):
        return (norm,)
    return (norm,) if real == norm else (norm, real)


def _norm(path: str) -> str:
    return squeeze(os.path.abspath(os.path.expanduser(path)))


def credentials_path() -> str:
    """The credentials file lakeloop is configured with, absolute and normalised
    (``lakeloop.deeplake.credentials.credentials_file``: ``LAKELOOP_DEEPLAKE_CREDENTIALS``, else
    ``~/.deeplake/credentials.json``)."""
    override = os.environ.get("LAKELOOP_DEEPLAKE_CREDENTIALS", "").strip()
    return _norm(override or DEEPLAKE_DIR + "/credentials.json")


def guarded() -> tuple[str, ...]:
    """Absolute paths that no tool call may reach on the host, at or under them (except the
    memory root, answered virtually): ``~/.deeplake``, the default credentials file in it and the
    configured credentials file (each file named too, so its name can be looked for).
    Their ancestors are guarded too where a recursive read would reach them (``search_reaches``,
    ``lakeloop.memory.bash.scan.touches_memory``)."""
    return tuple(dict.fromkeys((_norm(DEEPLAKE_DIR), _norm(DEEPLAKE_DIR + "/credentials.json"), credentials_path())))


def _under(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def guard_reason(path: str, memory_root: str | None = None) -> str | None:
    """A one-line deny reason when absolute ``path`` (normalised, and its real path when it
    exists: a symlink to the credentials counts) is a guarded path or under one, else None."""
    r = memory_root or root()
    candidates = set(with_real(path))
    for top in guarded():
        tops = set(with_real(top))
        if any(_under(c, t) for c in candidates for t in tops) and not _under(squeeze(path), r):
            return (
                f"{path} is lakeloop's Deeplake directory or credentials file ({top}): tool calls may not "
                f"read or change it. Team memory is at {r}: {root_hint(r)}"
            )
    return None


def search_reaches(base: str, glob: str | None, memory_root: str | None = None) -> str | None:
    """A one-line deny reason when a recursive search from absolute directory ``base`` (the
    Grep or Glob tool) could select the credentials file or read the memory root's directory,
    else None. ``glob``: the tool's file pattern (None: every file); its leading literal
    segments (``/``, ``~``, ``..``, plain names) are folded into ``base`` first. Reaching is
    decided conservatively: ``*`` and ``?`` may match a leading dot, a glob without ``/``
    matches the file name at any depth, case is ignored, a ``..`` after a wildcard reaches
    anything, and an ancestor of the root strictly under the home directory (``~/.deeplake``)
    is refused like Bash's ``grep -r`` on it. ``base`` is taken as spelled (``squeeze``d) and, when a
    symlink on the way leads elsewhere, as its real path too: either reaching is enough."""
    r = memory_root or root()
    home = os.path.expanduser("~").rstrip("/")
    if glob:
        segs = glob.split("/")
        if glob.startswith("/"):
            base, segs = "/", segs[1:]
        elif segs[0] == "~":
            base, segs = home, segs[1:]
        k = 0
        while k < len(segs) - 1 and not any(ch in segs[k] for ch in "*?[]{}\\!"):
            k += 1
        base, glob = os.path.join(base, *segs[:k]) if k else base, "/".join(segs[k:])
        if ".." in segs[k:]:
            return (
                f"A glob with `..` after a wildcard ({glob}) may reach lakeloop's credentials; "
                "name the directory literally."
            )
    for each in with_real(base):
        why = _search_reason(each, glob, r, home)
        if why:
            return why
    return None


def _search_reason(base: str, glob: str | None, r: str, home: str) -> str | None:
    if _under(base, r):
        return f"Search the memory path with its root as the path ({r}) and a relative pattern; {root_hint(r)}."
    reason = guard_reason(base, r)
    if reason:
        return reason
    inside = base.rstrip("/") + "/"
    if r.startswith(inside) and base.startswith(home + "/"):
        return (
            f"A search of {base} would read the memory root's directory; search {r} itself "
            f"(answered from team memory) or a project path. {root_hint(r).capitalize()}."
        )
    for target in sorted({credentials_path(), _norm(DEEPLAKE_DIR + "/credentials.json")}):
        if target.startswith(inside) and (not glob or glob_selects(glob, target[len(inside) :])):
            return (
                f"A search of {base}{' for ' + glob if glob else ''} would read lakeloop's credentials "
                f"file ({target}); narrow the path or the glob to leave it out."
            )
    return None


def glob_selects(pattern: str, rel: str) -> bool:
    """Conservatively: could glob ``pattern`` (ripgrep/Claude Code style: ``*``, ``**``, ``?``,
    ``[...]``, ``{a,b}``, a leading ``!`` negates) select the file at relative path ``rel``?
    Patterns that cannot be read are taken to select it."""
    import re

    neg = pattern.startswith("!")
    body = pattern[1:] if neg else pattern
    if not body:
        return True
    anchored = "/" in body.strip("/")
    body = body.lstrip("/") if anchored else body
    out, i, depth = [], 0, 0
    while i < len(body):
        c = body[i]
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if body.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = body.find("]", i + 2)
            if j < 0:
                return True
            inner = body[i + 1 : j]
            if inner.startswith("!"):
                inner = "^" + inner[1:]
            out.append("[" + re.sub(r"([\\\[&~|])", r"\\\1", inner) + "]")
            i = j
        elif c == "{":
            out.append("(?:")
            depth += 1
        elif c == "}" and depth:
            out.append(")")
            depth -= 1
        elif c == "," and depth:
            out.append("|")
        elif c == "\\" and i + 1 < len(body):
            out.append(re.escape(body[i + 1]))
            i += 1
        else:
            out.append(re.escape(c))
        i += 1
    if depth:
        return True
    try:
        regex = re.compile("".join(out), re.IGNORECASE | re.DOTALL)
    except re.error:
        return True
    name = rel.rsplit("/", 1)[-1]
    hit = bool(regex.fullmatch(rel) if anchored else (regex.fullmatch(name) or regex.fullmatch(rel)))
    return not hit if neg else hit


def on_disk(memory_root: str | None = None) -> str | None:
    """``"directory"``, ``"symlink"`` or ``"file"`` when the memory root exists on disk (it
    never should: the tree is virtual), else None. One ``lstat``."""
    import stat

    try:
        mode = os.lstat(memory_root or root()).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISLNK(mode):
        return "symlink"
    return "directory" if stat.S_ISDIR(mode) else "file"
