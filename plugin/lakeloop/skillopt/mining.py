"""Finding a procedure repeated across sessions (skillify's mining step): pure and deterministic.

A session is reduced to its *steps*, abstracted tool calls that hold no free text
(``step``): ``Bash: git commit``, ``Edit: .py``, ``Skill: db-migrate--alice``. Read-only and
bookkeeping tools give no step (exploring is not a procedure). Consecutive repeats of one
step collapse into one (``session_steps``).

A *candidate* (``candidates``) is a run of ``MIN_STEPS``..``MAX_STEPS`` consecutive steps with at
least two distinct steps that occurs in at least ``min_sessions`` sessions, kept only when it is
maximal: no longer candidate found in the same sessions contains it. Candidates come ordered
by sessions (most first), then length (longest first), then text. Its ``fingerprint`` (32 hex
digits of the sha256 of its steps) names the procedure for good: rejections and open drafts are
matched on it; a procedure holding a settled (rejected or accepted) one, or held in one, as a run
of consecutive steps is settled too (``settled_by``).

A candidate is *covered* when, in at least half of its sessions, a team skill was used
(a ``Skill:`` step) inside its first occurrence or in the ``COVER_LOOKBACK`` steps before it:
the team already has a skill for that work.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..store.base import SessionRow

#: Shortest and longest run of steps mined (steps).
MIN_STEPS = 3
MAX_STEPS = 8
#: Steps kept per session (its last ones): bounds the mining work (sessions x steps x lengths).
MAX_SESSION_STEPS = 400
#: Steps before an occurrence in which a skill use still covers it.
COVER_LOOKBACK = 3

#: Tools whose calls are not steps: reading and searching (exploration), and bookkeeping.
IGNORED_TOOLS = frozenset(
    {
        "Read",
        "Grep",
        "Glob",
        "LS",
        "View",
        "NotebookRead",
        "WebFetch",
        "WebSearch",
        "TodoWrite",
        "TodoRead",
        "read_file",
        "read_many_files",
        "glob",
        "grep_search",
        "list_directory",
        "google_web_search",
        "web_fetch",
    }
)
#: Native tool names of other agents, as their rows store them, mapped to Claude Code's.
SAME_AS = {
    "run_shell_command": "Bash",
    "shell": "Bash",
    "local_shell": "Bash",
    "exec_command": "Bash",
    "write_file": "Write",
    "replace": "Edit",
    "apply_patch": "Edit",
    "NotebookEdit": "Edit",
    "MultiEdit": "Edit",
    "activate_skill": "Skill",
}
#: Well-known programs made of subcommands: only theirs keep a second word (``git commit``). Any
#: other program's words are its own free text (a database, a host, a file): never kept.
SUBCOMMANDS = frozenset(
    {"git", "npm", "yarn", "pnpm", "cargo", "go", "docker", "kubectl", "pip", "pip3", "uv", "poetry"}
    | {"make", "gh", "helm", "terraform", "alembic", "dotnet", "bundle"}
)
#: File names kept as they are by an ``Edit``/``Write`` step that has no extension; any other
#: such file is ``NO_EXTENSION``.
KNOWN_FILES = frozenset({"Makefile", "Dockerfile", "Containerfile", "Gemfile", "Procfile", "Justfile"})
NO_EXTENSION = "(no extension)"
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,39}")
_SUB = re.compile(r"[a-z][a-z0-9-]{0,19}")
_EXT = re.compile(r"\.[A-Za-z0-9]{1,6}")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=\S*")
_SEPARATORS = re.compile(r"&&|\|\||[;|\n]")
#: Words that only prefix the command that matters (``sudo make install`` is ``make install``).
_PREFIXES = frozenset({"sudo", "env", "time", "nohup", "exec", "command", "builtin", "nice"})
#: Commands that only move around (``cd repo && make`` is ``make``).
_MOVES = frozenset({"cd", "pushd", "popd"})


def _input(raw: object) -> dict:
    """A row's ``tool_input`` (JSON text, or already a dict) as a dict; ``{}`` otherwise."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    return raw if isinstance(raw, dict) else {}


def shell_step(command: str) -> str | None:
    """``<program> [<subcommand>]`` of a shell command line: the first simple command that is not
    only a move (``cd``), past ``VAR=x`` assignments and prefixes (``sudo``, ``env``); the program's
    base name, and, for a program of ``SUBCOMMANDS`` only, the second word when it looks like a
    subcommand (``git commit``, ``alembic upgrade``; never ``psql <database>`` or ``ssh <host>``:
    ``psql``, ``ssh``). None when no command is found or the program is not a plain name."""
    for part in _SEPARATORS.split(command):
        words = part.split()
        while words and (_ASSIGNMENT.fullmatch(words[0]) or words[0] in _PREFIXES):
            words = words[1:]
        if not words or words[0] in _MOVES:
            continue
        prog = posixpath.basename(words[0])
        if not _WORD.fullmatch(prog):
            return None
        sub = words[1] if prog in SUBCOMMANDS and len(words) > 1 and _SUB.fullmatch(words[1]) else ""
        return f"{prog} {sub}".strip()
    return None


def _file_kind(path: object) -> str:
    """A file as a step shows it: its extension (``.py``), else its base name when it is one of
    ``KNOWN_FILES`` (``Makefile``), else ``NO_EXTENSION``: a file's own name is never kept."""
    name = posixpath.basename(str(path or "").rstrip("/"))
    ext = posixpath.splitext(name)[1]
    if _EXT.fullmatch(ext):
        return ext.lower()
    return name if name in KNOWN_FILES else NO_EXTENSION


def step(row: SessionRow) -> str | None:
    """The step a ``tool_call`` row stands for, or None (another row type, an ignored tool, a
    command that names no plain program). ``Bash: <shell_step>``; ``Edit: <ext>`` / ``Write:
    <ext>``; ``Skill: <ref>`` for a skill loaded by the ``Skill`` tool or by reading its
    ``SKILL.md``; any other tool by its name. No free text of the call is kept."""
    if row.type != "tool_call":
        return None
    message = row.message
    tool = str(message.get("tool_name") or "")
    data = _input(message.get("tool_input"))
    from .refs import ref_from_tool

    ref = ref_from_tool(tool, data)
    if isinstance(ref, str) and _WORD.fullmatch(ref.replace("--", "-")):
        return f"Skill: {ref}"
    if tool in IGNORED_TOOLS:
        return None
    tool = SAME_AS.get(tool, tool)
    if tool == "Bash":
        command = data.get("command")
        if isinstance(command, list):  # Codex's argv form
            command = " ".join(str(c) for c in command)
        found = shell_step(command) if isinstance(command, str) else None
        return f"Bash: {found}" if found else None
    if tool in ("Edit", "Write"):
        return f"{tool}: {_file_kind(data.get('file_path') or data.get('path') or data.get('notebook_path'))}"
    return tool if _WORD.fullmatch(tool) else None


@dataclass(frozen=True)
class Step:
    """One step of a session: ``text`` (``step``'s) and ``first``/``last``, the indexes in the
    session's rows of the first and last call it stands for (consecutive repeats collapse)."""

    text: str
    first: int
    last: int


def session_steps(rows: Sequence[SessionRow]) -> list[Step]:
    """The steps of a session's rows (oldest first), consecutive repeats collapsed, the last
    ``MAX_SESSION_STEPS`` kept."""
    out: list[Step] = []
    for i, row in enumerate(rows):
        text = step(row)
        if text is None:
            continue
        if out and out[-1].text == text:
            out[-1] = Step(text, out[-1].first, i)
        else:
            out.append(Step(text, i, i))
    return out[-MAX_SESSION_STEPS:]


def fingerprint(steps: Sequence[str]) -> str:
    """The procedure's name for good: the first 32 hex digits of sha256 of its steps, one a line."""
    return hashlib.sha256("\n".join(steps).encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Candidate:
    """A procedure repeated across sessions: ``steps``; ``at``: ``{session: index of its first
    occurrence in that session's step list}`` (every session it occurs in); ``covered``: whether
    a team skill covers it (module docstring)."""

    steps: tuple[str, ...]
    at: Mapping[str, int] = field(default_factory=dict)
    covered: bool = False

    @property
    def sessions(self) -> list[str]:
        """The sessions it occurs in, sorted."""
        return sorted(self.at)

    @property
    def fingerprint(self) -> str:
        """``fingerprint(steps)``."""
        return fingerprint(self.steps)


def _inside(part: Sequence[str], whole: Sequence[str]) -> bool:
    """Whether ``part`` occurs in ``whole`` as a run of consecutive steps."""
    n = len(part)
    return 0 < n <= len(whole) and any(tuple(whole[i : i + n]) == tuple(part) for i in range(len(whole) - n + 1))


def settled_by(steps: Sequence[str], settled: Sequence[Sequence[str]]) -> bool:
    """Whether procedure ``steps`` is one of the ``settled`` procedures (rejected or accepted, each
    its steps): it holds one as a run of consecutive steps (the same work with a step more), or
    is such a run of one (the same work with a step less)."""
    return any(_inside(done, steps) or _inside(steps, done) for done in settled)


def _first_at(texts: Sequence[str], run: tuple[str, ...]) -> int:
    n = len(run)
    return next(i for i in range(len(texts) - n + 1) if tuple(texts[i : i + n]) == run)


def _covered(texts: Sequence[str], start: int, length: int) -> bool:
    return any(t.startswith("Skill: ") for t in texts[max(0, start - COVER_LOOKBACK) : start + length])


def candidates(steps_by_session: Mapping[str, Sequence[str]], min_sessions: int) -> list[Candidate]:
    """The maximal repeated procedures of ``steps_by_session`` (``{session: step texts}``, as
    ``session_steps`` gives them) found in at least ``min_sessions`` sessions, in the module
    docstring's order. Pure: the same input gives the same list."""
    where: dict[tuple[str, ...], set[str]] = {}
    for session, texts in steps_by_session.items():
        seen: set[tuple[str, ...]] = set()
        for n in range(MIN_STEPS, MAX_STEPS + 1):
            for i in range(len(texts) - n + 1):
                run = tuple(texts[i : i + n])
                if run not in seen and len(set(run)) >= 2:
                    seen.add(run)
                    where.setdefault(run, set()).add(session)
    found = {run: frozenset(s) for run, s in where.items() if len(s) >= min_sessions}
    # A run inside a longer candidate of the same sessions is inside a one-step-longer one of
    # the same sessions (the runs between them occur in those sessions and no fewer).
    dominated = {part for run in found for part in (run[:-1], run[1:]) if found.get(part) == found[run]}
    kept = [run for run in found if run not in dominated]
    out = []
    for run in kept:
        at = {s: _first_at(steps_by_session[s], run) for s in sorted(found[run])}
        hits = sum(1 for s, i in at.items() if _covered(steps_by_session[s], i, len(run)))
        out.append(Candidate(run, at, covered=2 * hits >= len(at)))
    return sorted(out, key=lambda c: (-len(c.at), -len(c.steps), "\n".join(c.steps)))
