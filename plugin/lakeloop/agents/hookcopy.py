"""The hook launcher copies the agents run: written once per install, pinned to one interpreter.

Two copies live in lakeloop's data directory, each with ``hooks/run`` pinned (its ``PINNED=''``
line names the interpreter of the installed lakeloop, ``sys.executable`` of ``lakeloop install``)
and a ``hooks/.lakeloop-stamp`` holding ``sources_digest`` of the files it was written from:

* ``plugin_copy_dir()`` (``<data dir>/claude-plugin``): Claude Code's whole plugin (``COPY_FILES``:
  the launcher, its wiring, the manifests, the slash commands), loaded by Claude Code in place;
* ``paths.agent_hooks_dir()`` (``<data dir>/agent-hooks``): only ``hooks/run`` and
  ``hooks/entry.py`` (``AGENT_COPY_FILES``), which Codex CLI and Gemini CLI hooks run by absolute
  path (``agent_launcher()``; they set no plugin root). It is separate from Claude's copy, so
  uninstalling one agent never breaks another.

``refresh_if_stale`` / ``refresh_agent_copy_if_stale`` rewrite a copy after the tool was upgraded
(SessionStart calls them), so upgrading lakeloop is the only step. The plugin files ship in the
wheel as ``lakeloop/claude_plugin/{hooks,manifest,commands}``; in a development checkout they are
read from the checkout itself.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .. import paths
from ..errors import LakeloopError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

#: What Claude Code's copy holds: directory in the copy -> the files taken from that part of the plugin.
COPY_FILES: dict[str, tuple[str, ...]] = {
    ".claude-plugin": ("plugin.json", "marketplace.json", "icon.png"),
    "hooks": ("run", "entry.py", "hooks.json"),
    "commands": ("*.md",),
}
#: What the agents' copy holds (Codex CLI, Gemini CLI): the launcher and its entry script.
AGENT_COPY_FILES: dict[str, tuple[str, ...]] = {"hooks": ("run", "entry.py")}
#: The launcher's line that names the pinned interpreter (empty in a checkout).
PINNED_LINE = "PINNED=''"
#: The copy's record of the plugin files it was written from (``sources_digest``), in ``hooks/``.
STAMP = ".lakeloop-stamp"
#: Longest wait for another process writing the same copy, seconds.
WRITE_LOCK_S = 10.0


class InstallError(LakeloopError):
    """Adding or removing lakeloop from an agent failed: the agent's CLI is missing or one of its
    commands failed, or the plugin's files are missing from this lakeloop. The message says which
    and what to do."""


def plugin_copy_dir() -> Path:
    """Where ``install claude`` writes the plugin copy Claude Code loads: ``<data dir>/claude-plugin``."""
    return paths.data_dir() / "claude-plugin"


def agent_launcher() -> Path:
    """The launcher Codex CLI and Gemini CLI hooks run: ``<data dir>/agent-hooks/hooks/run``."""
    return paths.agent_hooks_dir() / "hooks" / "run"


def plugin_sources() -> dict[str, Path]:
    """The plugin's files of this lakeloop: ``{".claude-plugin": dir, "hooks": dir, "commands": dir}``.

    From the installed package (``lakeloop/claude_plugin/``) when present, else from the
    development checkout holding the package. Raises InstallError when neither has them."""
    package = Path(__file__).resolve().parents[1]
    shipped = package / "claude_plugin"
    if (shipped / "hooks" / "run").is_file():
        return {".claude-plugin": shipped / "manifest", "hooks": shipped / "hooks", "commands": shipped / "commands"}
    checkout = package.parents[1]
    if (checkout / "hooks" / "run").is_file() and (checkout / ".claude-plugin" / "plugin.json").is_file():
        return {part: checkout / part for part in COPY_FILES}
    raise InstallError(f"the plugin's files are missing from this lakeloop ({package}): reinstall the package")


def pinned_launcher(text: str, interpreter: str) -> str:
    """The launcher ``text`` with its ``PINNED=''`` line naming ``interpreter`` (shell-quoted).
    Raises InstallError when the launcher has no such line (or more than one)."""
    import shlex

    lines = text.split("\n")
    at = [i for i, line in enumerate(lines) if line == PINNED_LINE]
    if len(at) != 1:
        raise InstallError(f"hooks/run has {len(at)} '{PINNED_LINE}' lines, expected one: reinstall the package")
    lines[at[0]] = f"PINNED={shlex.quote(interpreter)}"
    return "\n".join(lines)


def pinned_interpreter(launcher: Path) -> str | None:
    """The interpreter a written copy's launcher is pinned to, or None (missing, unpinned)."""
    import shlex

    try:
        lines = launcher.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        if line.startswith("PINNED=") and line != PINNED_LINE:
            try:
                words = shlex.split(line[len("PINNED=") :])
            except ValueError:
                return None
            return words[0] if len(words) == 1 else None
    return None


def plugin_files(copy_files: dict[str, tuple[str, ...]] = COPY_FILES) -> list[tuple[str, Path]]:
    """``(part, source file)`` for every file a copy of ``copy_files`` holds (over
    ``plugin_sources()``), in a stable order. Raises InstallError."""
    sources = plugin_sources()
    return [
        (part, src)
        for part, patterns in copy_files.items()
        for pattern in patterns
        for src in sorted(sources[part].glob(pattern))
    ]


def sources_digest(copy_files: dict[str, tuple[str, ...]] = COPY_FILES) -> str:
    """SHA-256 (hex) over the names and bytes of the plugin files this lakeloop ships for a copy
    of ``copy_files``: it changes when a release changes the hook wiring, the launcher, the
    manifests or the slash commands. Raises InstallError, OSError."""
    return _digest((part, src.name, src.read_bytes()) for part, src in plugin_files(copy_files))


def _digest(entries: Iterable[tuple[str, str, bytes]]) -> str:
    """SHA-256 (hex) over ``(part, file name, bytes)`` entries, in their order."""
    import hashlib

    digest = hashlib.sha256()
    for part, name, data in entries:
        digest.update(f"{part}/{name}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def write_copy(dest: Path, interpreter: str, copy_files: dict[str, tuple[str, ...]] = COPY_FILES) -> int:
    """Write the copy of ``copy_files`` at ``dest`` (replacing an older one whole), with
    ``hooks/run`` pinned to ``interpreter``, holding the lock ``<dest>.lock`` (one writer at a
    time). Returns its size in bytes. Raises InstallError (files missing), LockTimeout (another
    writer for ``WRITE_LOCK_S`` seconds), OSError."""
    from ..locks import hold

    paths.private_dir(dest.parent)
    # one writer at a time (an install and a SessionStart refresh after an upgrade may race)
    with hold(dest.with_name(dest.name + ".lock"), WRITE_LOCK_S):
        return _write_copy(dest, interpreter, copy_files)


def _write_copy(dest: Path, interpreter: str, copy_files: dict[str, tuple[str, ...]]) -> int:
    staging = dest.with_name(dest.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700)
    for part in copy_files:
        (staging / part).mkdir(mode=0o700)
    size = 0
    read: list[tuple[str, str, bytes]] = []  # for the stamp: sources_digest() of the bytes read here
    for part, src in plugin_files(copy_files):
        data = src.read_bytes()
        read.append((part, src.name, data))
        if part == "hooks" and src.name == "run":
            data = pinned_launcher(data.decode(), interpreter).encode()
        target = staging / part / src.name
        target.write_bytes(data)
        target.chmod(0o700 if part == "hooks" and src.name in ("run", "entry.py") else 0o600)  # private
        size += len(data)
    stamp = staging / "hooks" / STAMP
    stamp.write_text(_digest(read) + "\n", encoding="utf-8")
    stamp.chmod(0o600)
    old = dest.with_name(dest.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        dest.rename(old)
    staging.rename(dest)
    shutil.rmtree(old, ignore_errors=True)
    return size


def _same_dir(a: str, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _recorded_stamp(dest: Path) -> str | None:
    try:
        return (dest / "hooks" / STAMP).read_text(encoding="utf-8").strip()
    except OSError:
        return None


def refresh_if_stale(root: str, interpreter: str) -> bool:
    """Rewrite Claude Code's plugin copy when it is the one ``install claude`` wrote (``root`` is
    ``plugin_copy_dir()`` and holds a ``STAMP``) and this lakeloop ships other plugin files than
    the stamp records (the tool was upgraded): so upgrading the tool is the only step, and the
    new hook wiring and slash commands apply from the next session. Returns True when it
    rewrote the copy. A development checkout (no stamp) is never touched. Raises InstallError,
    OSError."""
    dest = plugin_copy_dir()
    if not root or not _same_dir(root, dest):
        return False
    recorded = _recorded_stamp(dest)
    if recorded is None or recorded == sources_digest():
        return False
    write_copy(dest, interpreter)
    return True


def ensure_agent_copy(interpreter: str) -> bool:
    """Write the agents' launcher copy (``paths.agent_hooks_dir()``) pinned to ``interpreter``
    unless it is already exactly that (same stamp, same pinned interpreter). Returns True when
    it wrote. Raises InstallError, LockTimeout, OSError."""
    dest = paths.agent_hooks_dir()
    if (
        _recorded_stamp(dest) == sources_digest(AGENT_COPY_FILES)
        and pinned_interpreter(agent_launcher()) == interpreter
    ):
        return False
    write_copy(dest, interpreter, AGENT_COPY_FILES)
    return True


def refresh_agent_copy_if_stale() -> bool:
    """Rewrite the agents' launcher copy when it exists (it holds a ``STAMP``) and this lakeloop
    ships another launcher or entry script than the stamp records (the tool was upgraded). It
    stays pinned to the interpreter it names (an upgrade keeps the tool where it is). Returns True
    when it rewrote. Raises InstallError, LockTimeout, OSError."""
    dest = paths.agent_hooks_dir()
    recorded = _recorded_stamp(dest)
    if recorded is None or recorded == sources_digest(AGENT_COPY_FILES):
        return False
    interpreter = pinned_interpreter(agent_launcher())
    if interpreter is None:
        return False
    write_copy(dest, interpreter, AGENT_COPY_FILES)
    return True


def remove_agent_copy() -> bool:
    """Delete the agents' launcher copy (when no agent uses it any more). Returns True when there
    was one. Raises OSError."""
    dest = paths.agent_hooks_dir()
    if not dest.exists():
        return False
    shutil.rmtree(dest)
    lock = dest.with_name(dest.name + ".lock")
    lock.unlink(missing_ok=True)
    return True
