"""Where team skills are pulled: one skills directory and one manifest per agent.

Claude Code's root (``lakeloop.paths.skills_root()``, manifest ``pulled-skills.json``) is always a
target; every other agent is one only once ``lakeloop install <agent>`` registered it
(``lakeloop.agents.registry``), so a machine without Codex or Gemini gets no ``~/.codex`` or
``~/.gemini`` folder from a pull.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from pathlib import Path

    from .base import Agent


def skill_targets() -> list[tuple[Agent, Path, Path]]:
    """``[(agent, skills dir, manifest file), ...]``: Claude Code first (``paths.skills_root()``,
    ``paths.manifest_file()``), then each registered agent in ``lakeloop.agents.NAMES`` order with
    the skills directory recorded at install (else ``agent.skills_dir()``) and
    ``paths.manifest_file(name)``. Registry entries naming an unknown agent are skipped. Never
    raises on a missing or malformed registry (it reads as empty)."""
    from pathlib import Path

    from ..paths import manifest_file, skills_root
    from . import NAMES, get
    from .registry import installed

    targets: list[tuple[Agent, Path, Path]] = [(get("claude"), skills_root(), manifest_file())]
    registered = installed()
    for name in NAMES:
        if name == "claude" or name not in registered:
            continue
        agent = get(name)
        recorded = registered[name].get("skills_dir")
        root = Path(recorded).expanduser() if isinstance(recorded, str) and recorded.strip() else agent.skills_dir()
        targets.append((agent, root, manifest_file(name)))
    return targets


#: A front-matter line holding a ``name`` key at any indentation, quoted or not (``name:``,
#: ``  name :``, ``"name":``, ``'name':``), as a regular expression matched at the line's start:
#: Gemini CLI's fallback front-matter parser (used when the YAML does not parse) takes the last
#: line matching ``^\s*name:`` at any depth, and a second top-level ``name`` key, quoted or not,
#: makes its YAML parser fail over to that fallback
NAME_KEY = r"""[ \t]*(["']?)name\1[ \t]*:"""


def named_skill_text(ref: str, body: str, max_name: int | None = None) -> str:
    """``body`` (a ``SKILL.md`` text) with its YAML front matter's top-level ``name`` set to ``ref``
    (its first ``max_name`` characters when given: Codex refuses to load a skill whose name is
    longer than 64), for agents that find a skill by that name (Gemini's ``activate_skill{name}``,
    Codex's skills list). A body without front matter (no ``---`` first line closed by a later ``---`` line)
    gets one. Every other line of the front matter holding a ``name`` key (``NAME_KEY``: at any
    indentation, quoted or not), with its continuation lines (more indented, or blank), is
    dropped, so the only ``name`` any parser can find there is ours; a front matter without a
    top-level ``description`` gets one made from the body's first non-empty line (both agents
    skip a skill lacking either); every other line is kept as written. ``ref`` is an org skill
    ref (``[A-Za-z0-9._-]`` only), so it needs no quoting."""
    import json
    import re

    name_key = re.compile(NAME_KEY)
    name = ref[:max_name] if max_name else ref
    lines = body.splitlines(keepends=True)
    close = next((i for i in range(1, len(lines)) if lines[i].rstrip("\r\n") == "---"), None)
    if not lines or lines[0].rstrip("\r\n") != "---" or close is None:
        first = next((s.strip().lstrip("#").strip() for s in lines if s.strip()), "") or ref
        head = f"---\nname: {name}\ndescription: {json.dumps(first[:200], ensure_ascii=False)}\n---\n"
        return head + ("\n" if body else "") + body
    if not any(line.startswith("description:") for line in lines[1:close]):
        first = next((s.strip().lstrip("#").strip() for s in lines[close + 1 :] if s.strip()), "") or ref
        lines.insert(1, f"description: {json.dumps(first[:200], ensure_ascii=False)}\n")
        close += 1
    block: list[str] = []
    dropped_at = -1  # indentation of the name line being dropped, -1 when none is
    for line in lines[1:close]:
        indent = len(line) - len(line.lstrip(" \t"))
        if dropped_at >= 0 and (not line.strip() or indent > dropped_at):
            continue  # a continuation line of the dropped name (a block scalar, a nested map)
        dropped_at = indent if name_key.match(line) else -1
        if dropped_at < 0:
            block.append(line)
    return "".join([lines[0], f"name: {name}\n", *block, *lines[close:]])
