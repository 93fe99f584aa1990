"""Org skill references and the pull manifests.

An org skill ref is ``<name>--<author>``: both parts ``[A-Za-z0-9][A-Za-z0-9._-]*``
(no ``..``), at most 200 characters. Refs with ``:`` (plugin-namespaced), ``/``,
``\\`` or ``..`` are never org skills, and a ref only counts when a pull
manifest records it (docs/skill-loop.md, "Org skills"). There is one manifest per skills
directory the pull writes (``lakeloop.agents.targets.skill_targets``: Claude Code's, and each
installed agent's), and a ref counts when any of them records it: a Codex session reading
``$CODEX_HOME/skills/<ref>/SKILL.md`` and a Gemini session activating skill ``<ref>`` arm
the same window as Claude Code's ``Skill`` tool.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

_PART = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_PART_RE = re.compile(_PART)
MAX_REF = 200
# A skill loaded by path: .../skills/<ref>/SKILL.md (Read's file_path, or a shell command).
_SKILL_PATH = re.compile(r"skills/([^/\s'\"`;|&<>]+)/SKILL\.md")


def is_valid_part(part: str) -> bool:
    """True for a safe skill name or author (one path component, no ``..``, ``--`` allowed
    only inside the name)."""
    return bool(part) and len(part) <= 100 and bool(_PART_RE.fullmatch(part)) and ".." not in part


def split_ref(ref: str) -> tuple[str, str] | None:
    """``(name, author)`` of a well-formed ref (split at the last ``--``), else None."""
    if not isinstance(ref, str) or len(ref) > MAX_REF or any(c in ref for c in ":/\\") or ".." in ref:
        return None
    name, sep, author = ref.rpartition("--")
    if not sep or not is_valid_part(name) or not is_valid_part(author) or "--" in author:
        return None
    if name.endswith("-") or author.startswith("-"):
        return None
    return name, author


def ref_from_tool(tool_name: str, tool_input: Any) -> str | None:
    """The skill ref a tool call loads, if any.

    * ``Skill`` with ``{"skill": ref}`` (Claude Code; Gemini's ``activate_skill{name}`` as the
      hook sees it), or Gemini's ``activate_skill`` with ``{"name": ref}`` (as its rows store it);
    * a read tool whose ``file_path``/``path`` is ``.../skills/<ref>/SKILL.md``;
    * a shell command that names ``skills/<ref>/SKILL.md`` (Claude Code's and Codex's ``Bash``,
      Gemini's ``run_shell_command``).
    Returns the raw ref (not yet checked against the manifest).
    """
    if not isinstance(tool_input, dict):
        return None
    if tool_name in ("Skill", "activate_skill"):
        ref = tool_input.get("skill" if tool_name == "Skill" else "name")
        return ref if isinstance(ref, str) else None
    candidates: list[str] = []
    if tool_name in ("Read", "View", "read_file"):
        candidates = [v for k in ("file_path", "path") if isinstance(v := tool_input.get(k), str)]
    elif tool_name in ("Bash", "Shell", "shell", "run_shell_command"):
        cmd = tool_input.get("command")
        candidates = [cmd] if isinstance(cmd, str) else []
    for text in candidates:
        match = _SKILL_PATH.search(text.replace("\\", "/"))
        if match:
            return match.group(1)
    return None


def load_manifest(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The skills of the pull manifest at ``path`` (default: Claude Code's,
    ``paths.manifest_file()``), ``{ref: {name, author, version, path, sha256}}`` (empty when
    missing or malformed)."""
    from .. import paths
    from ..fsutil import read_json

    data = read_json(path or paths.manifest_file())
    skills = data.get("skills") if isinstance(data, dict) else None
    return skills if isinstance(skills, dict) else {}


def load_manifests() -> dict[str, dict[str, Any]]:
    """The union of every pull target's manifest (``agents.targets.skill_targets``), ``{ref:
    entry}``; for a ref several manifests record, the first target's entry (Claude Code's)."""
    from ..agents.targets import skill_targets

    union: dict[str, dict[str, Any]] = {}
    for _agent, _root, manifest in skill_targets():
        for ref, entry in load_manifest(manifest).items():
            union.setdefault(ref, entry)
    return union


def org_skill(ref: str | None) -> dict[str, Any] | None:
    """The manifest entry when ``ref`` is a well-formed org skill this machine pulled into any
    agent's skills directory (``load_manifests``), else None."""
    if not ref or split_ref(ref) is None:
        return None
    entry = load_manifests().get(ref)
    return entry if isinstance(entry, dict) else None
