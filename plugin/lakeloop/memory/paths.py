"""Where the memory path lives, and how a tool's path maps into the virtual tree.

The root is ``LAKELOOP_MEMORY_PATH`` (``~`` expanded, made absolute), else
``~/.deeplake/memory``, the path other Deeplake clients use. It does not exist on
disk: nothing here touches the file system under it.

``virtual(path, cwd)`` maps an agent-supplied path to a virtual path (``/``,
``/sessions/alice/x.jsonl``) or None when it is outside the root. A ``..`` segment,
a NUL or control character, or a path over ``MAX_PATH_CHARS`` raises ``PathRefused``:
the tree is virtual, so ``..`` tricks are refused, never resolved.
"""

from __future__ import annotations

import os

DEFAULT_ROOT = "~/.deeplake/memory"
#: Longest path (characters) the memory path accepts from a tool call.
MAX_PATH_CHARS = 4096


class PathRefused(ValueError):
    """A path that touches the memory path but cannot be accepted; ``str()`` says why."""


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
    parts = [p for p in squeezed[len(r):].split("/") if p]
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
