"""Propagation: pulling team skills into the skills dir (skillopt/pull.py, SessionStart).

Rules under test (docs/skill-loop.md "Org skills" and "Pull (SessionStart)"): the current version of
every team skill is written to ``<skills root>/<name>--<author>/SKILL.md`` and recorded in
the pull manifest; an unchanged skill is not rewritten; a newer version is; a name or author
that is not one safe path component is refused and nothing is written outside the root;
arming then recognises exactly the skills the manifest lists.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from pathlib import Path

import pytest

from lakeloop import paths
from lakeloop.hooks import pre_tool_use, session_start
from lakeloop.skillopt import pending
from lakeloop.skillopt.pull import pull, skill_file
from lakeloop.skillopt.refs import load_manifest, org_skill
from lakeloop.store.base import SkillRow
from lakeloop.store.embedded import EmbeddedStore
from tests.support.payloads import first_payload

LOG = logging.getLogger("lakeloop-tests")


@pytest.fixture
def store():
    s = EmbeddedStore(paths.store_file())
    yield s
    s.close()


def add(store, name="db-migrate", author="alice", version=1, body=None, scope="team"):
    body = body if body is not None else f"# {name} v{version}\n"
    store.insert_skill(
        SkillRow(
            id=f"{name}-{author}-{version}",
            name=name,
            author=author,
            body=body,
            version=version,
            scope=scope,
            created_at=f"2026-01-01T00:00:0{version}.000000Z",
        )
    )


def all_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def test_pull_writes_skill_md_and_the_manifest(store):
    """Each team skill lands at ``<root>/<name>--<author>/SKILL.md``; the manifest records name,
    author, version, path and the body's sha256."""
    add(store, body="# DB migrate\nRun alembic.\n")
    add(store, name="deploy", author="bob", version=3)
    result = pull(store, LOG)
    root = paths.skills_root()
    assert sorted(result.written) == ["db-migrate--alice", "deploy--bob"]
    target = root / "db-migrate--alice" / "SKILL.md"
    assert target.read_text() == "# DB migrate\nRun alembic.\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert (root / "deploy--bob" / "SKILL.md").read_text() == "# deploy v3\n"
    manifest = load_manifest()
    entry = manifest["db-migrate--alice"]
    assert {k: entry[k] for k in ("name", "author", "version", "path", "sha256")} == {
        "name": "db-migrate",
        "author": "alice",
        "version": 1,
        "path": str(target.resolve()),
        "sha256": hashlib.sha256(b"# DB migrate\nRun alembic.\n").hexdigest(),
    }
    assert manifest["deploy--bob"]["version"] == 3
    assert all_files(root) == {"db-migrate--alice/SKILL.md", "deploy--bob/SKILL.md"}


def test_only_team_skills_are_pulled(store):
    """Private (scope ``me``) skills are not pulled and not in the manifest."""
    add(store, name="private", scope="me")
    result = pull(store, LOG)
    assert result.written == []
    assert not paths.skills_root().exists() or all_files(paths.skills_root()) == set()
    assert load_manifest() == {}


def test_pull_writes_the_current_version(store):
    """Of several versions, the highest is written."""
    for v in (1, 3, 2):
        add(store, version=v)
    pull(store, LOG)
    assert (paths.skills_root() / "db-migrate--alice" / "SKILL.md").read_text() == "# db-migrate v3\n"
    assert load_manifest()["db-migrate--alice"]["version"] == 3


def test_unchanged_version_is_not_rewritten(store):
    """A second pull with nothing new touches neither the skill file nor the manifest."""
    add(store)
    pull(store, LOG)
    target = paths.skills_root() / "db-migrate--alice" / "SKILL.md"
    before = target.stat()
    manifest_before = paths.manifest_file().stat()
    result = pull(store, LOG)
    assert result.written == [] and result.unchanged == ["db-migrate--alice"]
    after = target.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    m_after = paths.manifest_file().stat()
    assert (m_after.st_ino, m_after.st_mtime_ns) == (manifest_before.st_ino, manifest_before.st_mtime_ns)


def test_newer_version_is_rewritten(store):
    """A new version in the store replaces the local file and the manifest entry."""
    add(store, body="old\n")
    pull(store, LOG)
    target = paths.skills_root() / "db-migrate--alice" / "SKILL.md"
    inode = target.stat().st_ino
    add(store, version=2, body="new\n")
    result = pull(store, LOG)
    assert result.written == ["db-migrate--alice"]
    assert target.read_text() == "new\n"
    assert target.stat().st_ino != inode  # replaced atomically (a new file renamed in)
    assert load_manifest()["db-migrate--alice"]["version"] == 2
    assert not [p for p in target.parent.iterdir() if p.name != "SKILL.md"]  # no temp file left


def test_deleted_local_file_is_written_again(store):
    """A pulled file removed locally is written again even though the version is unchanged."""
    add(store)
    pull(store, LOG)
    target = paths.skills_root() / "db-migrate--alice" / "SKILL.md"
    target.unlink()
    assert pull(store, LOG).written == ["db-migrate--alice"]
    assert target.is_file()


@pytest.mark.parametrize(
    "name, author",
    [
        ("../evil", "alice"),
        ("db-migrate", "../evil"),
        ("..", "alice"),
        ("db-migrate", ".."),
        ("a/b", "alice"),
        ("db-migrate", "a/b"),
        ("/etc/cron.d/x", "alice"),
        ("db-migrate", "/tmp/x"),
        ("a\\..\\..\\b", "alice"),
        ("x:y", "alice"),
        ("", "alice"),
        ("db-migrate", ""),
        (".hidden", "alice"),
        ("name\x00", "alice"),
        ("ok", "evil--x"),
        ("db-", "alice"),
        ("n" * 101, "alice"),
    ],
)
def test_unsafe_names_are_refused_and_nothing_escapes(tmp_path, store, name, author):
    """A name or author that is not one safe path component is refused; a safe skill in the same
    pull is still written; no file appears outside the skills root (or the data dir)."""
    add(store, name=name, author=author)
    add(store, name="good", author="carol")
    outside_before = all_files(tmp_path)
    result = pull(store, LOG)
    assert result.written == ["good--carol"]
    assert len(result.refused) == 1
    new_files = all_files(tmp_path) - outside_before
    assert new_files <= {"skills/good--carol/SKILL.md", "data/pulled-skills.json", "data/pull.lock"}
    assert list(load_manifest()) == ["good--carol"]


def test_symlinked_skill_dir_pointing_outside_is_refused(tmp_path, store):
    """If ``<root>/<ref>`` is a symlink leading out of the root, the pull does not write through it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    root = paths.skills_root()
    root.mkdir(parents=True)
    os.symlink(outside, root / "db-migrate--alice")
    add(store)
    result = pull(store, LOG)
    assert result.refused == ["db-migrate--alice"]
    assert list(outside.iterdir()) == []


def test_skill_file_stays_inside_root(tmp_path):
    """``skill_file`` gives the resolved path inside the root, or None for an unsafe name."""
    root = tmp_path / "root"
    ok = SkillRow(id="1", name="db-migrate", author="alice", body="")
    assert skill_file(root, ok) == (root / "db-migrate--alice" / "SKILL.md").resolve()
    assert skill_file(root, SkillRow(id="2", name="..", author="x", body="")) is None


def test_explicit_root_argument(tmp_path, store):
    """``pull(root=...)`` writes under that root instead of LAKELOOP_SKILLS_DIR."""
    add(store)
    other = tmp_path / "elsewhere"
    pull(store, LOG, root=other)
    assert (other / "db-migrate--alice" / "SKILL.md").is_file()


def test_arming_uses_the_pulled_manifest(store, monkeypatch):
    """After a pull, using a pulled team skill arms a window carrying its version; a skill that
    was not pulled (private) does not arm, however it looks."""
    add(store, version=1)
    add(store, version=2)
    add(store, name="private", scope="me")
    pull(store, LOG)
    assert org_skill("db-migrate--alice")["version"] == 2
    payload = first_payload("PreToolUse", "Skill")
    pre_tool_use.handle(payload, LOG)
    window = pending.peek(payload["session_id"])
    assert (window["skill"], window["version"], window["budget"]) == ("db-migrate--alice", 2, 3)

    payload.update(session_id="another-session", tool_input={"skill": "private--alice"})
    pre_tool_use.handle(payload, LOG)
    assert pending.peek("another-session") is None


def test_session_start_hook_pulls(store):
    """The SessionStart handler pulls into LAKELOOP_SKILLS_DIR from the store in the data dir."""
    add(store)
    session_start.handle(first_payload("SessionStart"), LOG)
    assert (paths.skills_root() / "db-migrate--alice" / "SKILL.md").read_text() == "# db-migrate v1\n"


def test_session_start_in_the_worker_pulls_nothing(store, monkeypatch):
    """SessionStart of the optimizer's own agent session pulls nothing."""
    monkeypatch.setenv("LAKELOOP_WORKER", "1")
    add(store)
    session_start.handle(first_payload("SessionStart"), LOG)
    assert not paths.skills_root().exists()


#: A teammate's skill body and description with terminal and bidi controls: OSC 0 (title), CSI 2J
#: (clear), OSC 52 (clipboard write), C1 CSI and NEL, CR, DEL, RLO.
HOSTILE_BODY = (
    "---\nname: okskill\ndescription: d\x1b]0;X\x07\n---\n"
    "Run it.\x1b]0;PWNED-TITLE\x07\x1b[2J\x1b]52;c;Y3VybCBldmlsfHNo\x07\n"
    "\x9b31m red\x85 next\r over\x7f del \u202eright-to-left\u202c\n\tindented\n"
)


def test_a_pulled_skill_reaches_the_agent_with_its_controls_escaped(store):
    """SessionStart (``hooks/run``, as Claude Code runs it) pulls a teammate's skill whose body holds
    raw terminal and bidi controls: the SKILL.md the agent loads holds them as visible escapes
    (``lakeloop.textsafe.escape``), tabs and newlines kept; the manifest records the stored body."""
    from lakeloop.textsafe import UNSAFE, escape
    from tests.support.hooks import run_hook

    add(store, name="okskill", author="bob", body=HOSTILE_BODY)
    proc = run_hook("SessionStart", first_payload("SessionStart"), text=True, LAKELOOP_DRAIN_LINGER_S="0")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    written = (paths.skills_root() / "okskill--bob" / "SKILL.md").read_bytes().decode("utf-8")
    assert UNSAFE.search(written) is None, repr(written)
    assert written == escape(HOSTILE_BODY)
    assert "description: d\\x1b]0;X\\x07\n" in written and "\\x1b]52;c;Y3VybCBldmlsfHNo\\x07" in written
    assert "\\x9b31m red\\x85 next\\x0d over\\x7f del \\u202eright-to-left\\u202c\n\tindented\n" in written
    assert load_manifest()["okskill--bob"]["sha256"] == hashlib.sha256(HOSTILE_BODY.encode()).hexdigest()
    # the next start finds it unchanged (the manifest compares the stored body, not the escaped file)
    assert pull(store, LOG).unchanged == ["okskill--bob"]
