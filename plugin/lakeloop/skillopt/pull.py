"""Propagation: pull the latest team skills into every agent's skills dir (SessionStart).

The targets are ``lakeloop.agents.targets.skill_targets()``: Claude Code's skills root always,
plus the skills directory of each agent ``lakeloop install`` registered (Codex CLI's
``$CODEX_HOME/skills``, Gemini CLI's ``~/.gemini/skills``), each with its own manifest. One
``latest_skills`` read serves them all. Each current team skill ``(name, author)`` is written to
``<skills root>/<name>--<author>/SKILL.md`` as that agent's ``Agent.skill_text`` (Claude Code:
the body; Codex and Gemini: the front matter's ``name`` set to the ref, the name Gemini's
``activate_skill`` is called with) and recorded in that root's manifest
(``paths.manifest_file(agent)``): ``{"skills": {ref: {name, author, version, path,
sha256, pulled_at}}}``. A ref pinned on this machine (``skillopt.pins``) is
written at its pinned version instead, in every root (and the manifests record that version).
Files and manifests are written atomically, under one file lock
so concurrent SessionStarts do not interleave. A name or author that is not
one safe path component, or a path that would leave the skills root, is
refused and logged. A skill whose version and file are unchanged is not
rewritten.

A teammate's body is hostile text the agent will load: it is written through
``lakeloop.textsafe.escape`` (terminal controls, C1, DEL, CR and bidi characters become visible
escapes such as ``\\x1b``; tabs and newlines are kept). The manifest's ``sha256`` stays that of
the stored body, so versions are compared with the store, not with the escaped file.

Every skill written with a version or body other than the one pulled before
is reported as a ``Change`` (transparency): who published it and how
many lines were added and removed against the previously pulled body (the old
SKILL.md when it still holds that body, else that version's row in the store).
A ref is judged by the first root it is in (Claude Code's): one line per ref, and none when
only a newly registered agent's root catches up on a skill this machine already had.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import paths
from ..fsutil import atomic_write, atomic_write_json
from ..store.base import SkillRow, Store
from ..textsafe import escape
from .refs import is_valid_part, load_manifest, split_ref

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..agents.base import Agent

LOCK_TIMEOUT_S = 2.0


@dataclass
class Change:
    """One skill a pull wrote with a new version or body: ``ref``, ``version`` written,
    ``previous`` version pulled before (None for a skill new to this machine), ``publisher``
    (``versions.Publisher.label()``), ``added``/``removed`` lines against the previous body,
    ``lines`` of the new body, ``pinned`` when written at a pinned version."""

    ref: str
    version: int
    previous: int | None
    publisher: str
    added: int = 0
    removed: int = 0
    lines: int = 0
    pinned: bool = False

    def line(self) -> str:
        """One line for the user, e.g. ``db-migrate--alice v3 (lakeloop-skillopt, from bob's
        session): +2 -0 lines; lakeloop skills diff db-migrate--alice``."""
        head = f"{self.ref} v{self.version} ({self.publisher})"
        if self.previous is None:
            return f"{head}: new team skill, {self.lines} lines; lakeloop skills history {self.ref}"
        pin = f", pinned (was v{self.previous})" if self.pinned else ""
        hint = (
            f"lakeloop skills diff {self.ref}"
            if self.previous == self.version - 1 and not self.pinned
            else f"lakeloop skills diff {self.ref} {self.previous} {self.version}"
        )
        return f"{head}{pin}: +{self.added} -{self.removed} lines; {hint}"


@dataclass
class PullResult:
    """What a pull did: refs written (to at least one root), refs unchanged (in every root),
    refs refused (with reasons), and the ``changes`` to tell the user about (one per ref).
    Each list names a ref at most once."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def line_counts(old: str, new: str) -> tuple[int, int]:
    """``(added, removed)`` lines from ``old`` to ``new`` (difflib, as a unified diff counts them)."""
    a, b = old.splitlines(), new.splitlines()
    added = removed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag in ("replace", "delete"):
            removed += i2 - i1
        if tag in ("replace", "insert"):
            added += j2 - j1
    return added, removed


def skill_file(root: Path, row: SkillRow) -> Path | None:
    """``root/<name>--<author>/SKILL.md`` when it stays inside ``root``, else None."""
    if not (is_valid_part(row.name) and is_valid_part(row.author)) or split_ref(row.ref) != (row.name, row.author):
        return None
    target = (root / row.ref / "SKILL.md").resolve()
    try:
        target.relative_to(root.resolve())
    except ValueError:
        return None
    return target


def _pinned_rows(store: Store, rows: list[SkillRow], log: logging.Logger) -> tuple[list[SkillRow], set[str]]:
    """``rows`` with each pinned ref's row replaced by its pinned version's (one query per
    pinned ref), and the refs actually written at a pin. A pin whose version is not in the
    store is logged and the current version is pulled."""
    from . import pins
    from .versions import team_rows, version_row

    pinned = pins.load()
    if not pinned:
        return rows, set()
    out, used = [], set()
    for row in rows:
        want = pinned.get(row.ref)
        if want is not None and want != row.version:
            chosen = version_row(team_rows(store, row.name, row.author), want)
            if chosen is None:
                log.warning(
                    "pull: %s is pinned at v%d, which the store does not hold; pulling v%d", row.ref, want, row.version
                )
            else:
                row = chosen
        if want is not None and want == row.version:
            used.add(row.ref)
        out.append(row)
    return out, used


def _previous_body(store: Store, row: SkillRow, entry: dict, target: Path, log: logging.Logger) -> str | None:
    """The body pulled before ``row``: the old SKILL.md when its sha still matches the
    manifest entry, else that version's row in the store (one query); None when unknown."""
    try:
        text = target.read_text(encoding="utf-8")
        if _sha(text) == entry.get("sha256"):
            return text
    except (OSError, UnicodeDecodeError):
        pass
    version = entry.get("version")
    if not isinstance(version, int):
        return None
    from ..errors import StoreError
    from .versions import team_rows

    try:
        for old in team_rows(store, row.name, row.author):
            if old.version == version and _sha(old.body) == entry.get("sha256"):
                return old.body
    except StoreError as exc:
        log.info("pull: cannot read %s v%d to count its changes: %s", row.ref, version, exc)
    return None


def _change(store: Store, row: SkillRow, entry: object, target: Path, pinned: bool, log: logging.Logger) -> Change:
    from .versions import publisher

    label = publisher(row).label()
    lines = len(row.body.splitlines())
    if not isinstance(entry, dict):
        return Change(row.ref, row.version, None, label, lines=lines, pinned=pinned)
    previous = entry.get("version") if isinstance(entry.get("version"), int) else None
    old = _previous_body(store, row, entry, target, log)
    added, removed = line_counts(old, row.body) if old is not None else (lines, 0)
    return Change(row.ref, row.version, previous, label, added, removed, lines, pinned)


def pull(store: Store, log: logging.Logger, root: Path | None = None) -> PullResult:
    """Write every current team skill (a pinned ref: its pinned version) that differs from
    what a target's manifest records into each target (module docstring), and report each
    ``Change`` once. ``root``: write only there, as Claude Code's skills root with its manifest
    (``LAKELOOP_SKILLS_DIR`` and the registered agents are then ignored).

    Raises StoreError when the store cannot be read, LockTimeout when another pull holds
    the pull lock for ``LOCK_TIMEOUT_S`` seconds; filesystem errors on one skill are logged
    and that skill is skipped in that root.
    """
    from ..agents import get
    from ..agents.targets import skill_targets
    from ..locks import hold

    targets = skill_targets() if root is None else [(get("claude"), root, paths.manifest_file())]
    result = PullResult()
    rows, pinned = _pinned_rows(store, store.latest_skills(scope="team"), log)
    with hold(paths.data_dir() / "pull.lock", LOCK_TIMEOUT_S):
        done: set[Path] = set()
        for agent, target_root, manifest_path in targets:
            key = target_root.resolve()
            if key in done:
                log.warning("pull: %s's skills dir %s is another agent's too; written once", agent.display, target_root)
                continue
            done.add(key)
            _pull_root(store, log, rows, pinned, agent, target_root, manifest_path, result)
    result.unchanged = [r for r in dict.fromkeys(result.unchanged) if r not in result.written]
    return result


def _pull_root(
    store: Store,
    log: logging.Logger,
    rows: list[SkillRow],
    pinned: set[str],
    agent: Agent,
    root: Path,
    manifest_path: Path,
    result: PullResult,
) -> None:
    """The pull into one skills root (``pull``), adding to ``result``."""
    manifest = load_manifest(manifest_path)
    wrote = False
    for row in rows:
        target = skill_file(root, row)
        if target is None:
            log.warning(
                "pull: refused skill name=%r author=%r: not a safe path inside %s",
                row.name[:80],
                row.author[:80],
                root,
            )
            refused = f"{row.name[:80]}--{row.author[:80]}"
            if refused not in result.refused:
                result.refused.append(refused)
            continue
        sha = _sha(row.body)
        entry = manifest.get(row.ref)
        same = isinstance(entry, dict) and entry.get("version") == row.version and entry.get("sha256") == sha
        if same and target.is_file():
            result.unchanged.append(row.ref)
            continue
        seen = row.ref in result.written or row.ref in result.unchanged  # judged in an earlier root
        change = None if same or seen else _change(store, row, entry, target, row.ref in pinned, log)
        try:
            atomic_write(target, escape(agent.skill_text(row.ref, row.body)), mode=0o644)
        except OSError as exc:
            log.error("pull: cannot write %s: %s", target, exc)
            continue
        manifest[row.ref] = {
            "name": row.name,
            "author": row.author,
            "version": row.version,
            "path": str(target),
            "sha256": sha,
            "pulled_at": time.time(),
        }
        wrote = True
        if row.ref not in result.written:
            result.written.append(row.ref)
        if change is not None:
            result.changes.append(change)
        log.info("pull: wrote %s v%d to %s%s", row.ref, row.version, target, " (pinned)" if row.ref in pinned else "")
    if wrote:
        atomic_write_json(manifest_path, {"skills": manifest})
