"""Org skill refs (skillopt/refs.py) and judgment windows (skillopt/pending.py).

Rules under test (docs/skill-loop.md, "Org skills" and "Arming"):
* an org skill ref is ``<name>--<author>``; refs with ``:``, ``/``, ``\\`` or ``..`` are not;
  a ref only counts when the pull manifest records it;
* a skill is used through ``Skill`` ``{"skill": ref}``, a read of ``.../skills/<ref>/SKILL.md``
  or a shell command that cats it;
* a window ``{skill, budget: K, tool_use_id}`` opens with K = LAKELOOP_JUDGE_WINDOW (3);
  the newest arming replaces the pending one; each reaction spends one unit and the window
  closes at 0; the state is one file per session, written atomically, so concurrent
  sessions never clobber each other.
"""

from __future__ import annotations

import json
import logging
import os
import stat

import pytest

from lakeloop import config, fsutil, paths
from lakeloop.hooks import pre_tool_use
from lakeloop.skillopt import pending
from lakeloop.skillopt.refs import load_manifest, org_skill, ref_from_tool, split_ref
from tests.support.payloads import first_payload
from tests.support.processes import run_together
from tests.support.skills import write_manifest

LOG = logging.getLogger("lakeloop-tests")


# -- refs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref, parts",
    [
        ("db-migrate--alice", ("db-migrate", "alice")),
        ("a--b", ("a", "b")),
        ("deploy--bob.smith", ("deploy", "bob.smith")),
        ("multi--part--carol", ("multi--part", "carol")),
        ("v1.2_tool--x9", ("v1.2_tool", "x9")),
    ],
)
def test_split_ref_accepts_name_and_author(ref, parts):
    """``<name>--<author>`` splits at the last ``--``."""
    assert split_ref(ref) == parts


@pytest.mark.parametrize(
    "ref",
    [
        "plugin:skill--alice",  # plugin-namespaced
        "db-migrate--alice:x",
        "a/b--alice",
        "db-migrate--al/ice",
        "../x--alice",
        "a\\b--alice",
        "db-migrate--ali\\ce",
        "a..b--alice",
        "db-migrate--..",
        "..--alice",
        "db-migrate--a..b",
        "db-migrate",
        "--alice",
        "db-migrate--",
        "",
        "-x--alice",
        "db---alice",
        "db migrate--alice",
        "db-migrate--al ice",
        "db\x00--alice",
        "n" * 150 + "--" + "a" * 60,  # over 200 characters
    ],
)
def test_split_ref_rejects_non_org_refs(ref):
    """Namespaced, path-like, ``..`` and malformed refs are not org skills."""
    assert split_ref(ref) is None


@pytest.mark.parametrize("value", [None, 3, ["a--b"], {"a": "b"}])
def test_split_ref_rejects_non_strings(value):
    """A ref that is not a string is never an org skill."""
    assert split_ref(value) is None


def test_org_skill_requires_the_pull_manifest():
    """A well-formed ``x--y`` is an org skill only when the manifest lists it."""
    assert org_skill("db-migrate--alice") is None  # no manifest at all
    write_manifest("deploy--bob")
    assert org_skill("db-migrate--alice") is None  # looks like one, not pulled
    write_manifest("db-migrate--alice", version=4)
    entry = org_skill("db-migrate--alice")
    assert entry["version"] == 4 and entry["author"] == "alice"
    assert org_skill(None) is None and org_skill("") is None


def test_org_skill_rejects_a_bad_ref_even_if_the_manifest_lists_it():
    """The manifest cannot make a path-like or namespaced ref an org skill."""
    fsutil.atomic_write_json(
        paths.manifest_file(),
        {"skills": {"../evil--x": {"version": 1}, "plug:in--x": {"version": 1}, "a/b--c": {"version": 1}}},
    )
    for ref in ("../evil--x", "plug:in--x", "a/b--c"):
        assert org_skill(ref) is None


@pytest.mark.parametrize("content", ["", "not json", "[1, 2]", '{"skills": []}', '{"skills": "x"}'])
def test_malformed_manifest_means_no_org_skills(content):
    """A missing, corrupt or oddly shaped manifest lists nothing (and never raises)."""
    paths.manifest_file().parent.mkdir(parents=True, exist_ok=True)
    paths.manifest_file().write_text(content)
    assert load_manifest() == {}
    assert org_skill("db-migrate--alice") is None


def test_manifest_entry_that_is_not_an_object_is_ignored():
    """A manifest entry must be an object to make its ref an org skill."""
    fsutil.atomic_write_json(paths.manifest_file(), {"skills": {"db-migrate--alice": "yes"}})
    assert org_skill("db-migrate--alice") is None


@pytest.mark.parametrize(
    "tool, tool_input, ref",
    [
        ("Skill", {"skill": "db-migrate--alice"}, "db-migrate--alice"),
        ("Skill", {"skill": "plugin:thing"}, "plugin:thing"),  # raw; the manifest check rejects it later
        ("Read", {"file_path": "/home/dev/.claude/skills/db-migrate--alice/SKILL.md"}, "db-migrate--alice"),
        ("Read", {"file_path": "C:\\Users\\dev\\.claude\\skills\\db-migrate--alice\\SKILL.md"}, "db-migrate--alice"),
        ("View", {"path": "/repo/.agents/skills/deploy--bob/SKILL.md"}, "deploy--bob"),
        ("read_file", {"path": "skills/deploy--bob/SKILL.md"}, "deploy--bob"),
        ("Bash", {"command": "cat ~/.claude/skills/db-migrate--alice/SKILL.md"}, "db-migrate--alice"),
        ("Bash", {"command": 'cat "$HOME/.claude/skills/db-migrate--alice/SKILL.md" | head -50'}, "db-migrate--alice"),
        ("Shell", {"command": "less skills/deploy--bob/SKILL.md; echo done"}, "deploy--bob"),
        ("shell", {"command": "cat 'skills/deploy--bob/SKILL.md'"}, "deploy--bob"),
    ],
)
def test_ref_from_tool_finds_the_skill_loaded(tool, tool_input, ref):
    """Skill's ``skill``, a read tool's ``file_path``/``path`` and a shell command naming
    ``skills/<ref>/SKILL.md`` all give the ref."""
    assert ref_from_tool(tool, tool_input) == ref


@pytest.mark.parametrize(
    "tool, tool_input",
    [
        ("Read", {"file_path": "/home/dev/project/notes.txt"}),
        ("Read", {"file_path": "/home/dev/.claude/skills/db-migrate--alice/README.md"}),
        ("Bash", {"command": "ls -la"}),
        ("Bash", {"command": "cat ~/.claude/skills/SKILL.md"}),
        ("Grep", {"pattern": "x", "path": "/home/dev/.claude/skills/db-migrate--alice/SKILL.md"}),
        ("Write", {"file_path": "/home/dev/.claude/skills/db-migrate--alice/SKILL.md", "content": "x"}),
        ("Skill", {"skill": 42}),
        ("Skill", {}),
        ("Skill", "db-migrate--alice"),
        ("Read", None),
        ("Bash", {"command": ["cat", "skills/a--b/SKILL.md"]}),
    ],
)
def test_ref_from_tool_ignores_calls_that_load_no_skill(tool, tool_input):
    """Other files, other tools, writes and malformed inputs name no skill."""
    assert ref_from_tool(tool, tool_input) is None


def test_recorded_payloads_name_only_the_skill_invocation():
    """Of the recorded PreToolUse calls only the Skill call names a skill."""
    from tests.support.payloads import recorded_payloads

    refs = [
        ref_from_tool(p["tool_name"], p["tool_input"])
        for p in recorded_payloads()
        if p["hook_event_name"] == "PreToolUse"
    ]
    assert refs == ["db-migrate--alice", None, None, None]


# -- judgment windows --------------------------------------------------------------------------


def test_arm_writes_a_window_with_budget_from_judge_window(monkeypatch):
    """The window holds skill, budget K = LAKELOOP_JUDGE_WINDOW, tool_use_id and version."""
    assert config.judge_window() == 3
    monkeypatch.setenv("LAKELOOP_JUDGE_WINDOW", "5")
    pending.arm("s1", "db-migrate--alice", "toolu_1", config.judge_window(), 2)
    window = pending.peek("s1")
    assert {k: window[k] for k in ("session_id", "skill", "budget", "tool_use_id", "version")} == {
        "session_id": "s1",
        "skill": "db-migrate--alice",
        "budget": 5,
        "tool_use_id": "toolu_1",
        "version": 2,
    }


@pytest.mark.parametrize("raw, budget", [("", 3), ("1", 1), ("7", 7), ("0", 1), ("-4", 3), ("many", 3)])
def test_judge_window_setting(monkeypatch, raw, budget):
    """K defaults to 3, is at least 1, and a non-number or a negative number falls back to the
    default (config's one parsing rule)."""
    monkeypatch.setenv("LAKELOOP_JUDGE_WINDOW", raw)
    assert config.judge_window() == budget


def test_pre_tool_use_arms_with_k_only_for_a_manifest_skill(monkeypatch):
    """The PreToolUse handler arms with K from the environment, only for a pulled org skill."""
    monkeypatch.setenv("LAKELOOP_JUDGE_WINDOW", "2")
    payload = first_payload("PreToolUse", "Skill")
    pre_tool_use.handle(payload, LOG)
    assert pending.peek(payload["session_id"]) is None
    write_manifest("db-migrate--alice", version=3)
    pre_tool_use.handle(payload, LOG)
    window = pending.peek(payload["session_id"])
    assert (window["skill"], window["budget"], window["tool_use_id"], window["version"]) == (
        "db-migrate--alice",
        2,
        "toolu_0001_Skill",
        3,
    )


def test_newest_arming_replaces_the_pending_window():
    """A second org-skill use in the session replaces the window (skill, tool_use_id, full budget)."""
    pending.arm("s1", "db-migrate--alice", "toolu_1", 3)
    assert pending.spend("s1")["budget"] == 3
    pending.arm("s1", "deploy--bob", "toolu_2", 3)
    window = pending.peek("s1")
    assert (window["skill"], window["tool_use_id"], window["budget"]) == ("deploy--bob", "toolu_2", 3)


def test_spend_decrements_and_closes_at_zero():
    """Each spend returns the window as it was and takes one unit; at 0 the file is gone."""
    pending.arm("s1", "db-migrate--alice", "toolu_1", 3)
    budgets = []
    while (w := pending.spend("s1")) is not None:
        budgets.append(w["budget"])
        assert len(budgets) <= 3
    assert budgets == [3, 2, 1]
    assert pending.peek("s1") is None
    assert not list(paths.pending_dir().glob("*.json"))


def test_spend_without_a_window_is_none():
    """Spending a session that has no open window does nothing and says so (None)."""
    assert pending.spend("never-armed") is None


def test_windows_are_per_session():
    """Spending one session's window leaves another's untouched."""
    pending.arm("s1", "db-migrate--alice", "t1", 1)
    pending.arm("s2", "deploy--bob", "t2", 3)
    assert pending.spend("s1")["skill"] == "db-migrate--alice"
    assert pending.peek("s1") is None
    assert pending.peek("s2")["budget"] == 3


def test_window_file_is_private_hashed_and_leaves_no_temp_file():
    """One 0600 file per session, named by a hash (the id is never a path), no temp file left."""
    sid = "../../../../tmp/evil\x00/x"
    pending.arm(sid, "db-migrate--alice", "t", 3)
    files = sorted(p.name for p in paths.pending_dir().iterdir())
    key = fsutil.safe_key(sid)
    assert files == [f"{key}.json", f"{key}.lock"]
    data = paths.pending_dir() / f"{key}.json"
    assert stat.S_IMODE(data.stat().st_mode) == 0o600
    assert json.loads(data.read_text())["session_id"] == sid
    assert pending.spend(sid)["session_id"] == sid


def test_failed_write_keeps_the_previous_window(monkeypatch):
    """The write is atomic (temp file + rename): if the rename fails, the previous window is intact
    and no partial or temp file remains."""
    pending.arm("s1", "db-migrate--alice", "t1", 3)

    def broken_replace(src, dst):
        raise OSError("disk full")

    with monkeypatch.context() as patched:
        patched.setattr(os, "replace", broken_replace)
        with pytest.raises(OSError, match="disk full"):
            pending.arm("s1", "deploy--bob", "t2", 3)
    assert pending.peek("s1")["skill"] == "db-migrate--alice"
    assert [p.name for p in paths.pending_dir().iterdir() if p.name.endswith(".tmp")] == []


def test_corrupt_window_file_is_not_a_window():
    """A garbled window file reads as no window and is discarded on spend."""
    pending.arm("s1", "db-migrate--alice", "t1", 3)
    data = paths.pending_dir() / f"{fsutil.safe_key('s1')}.json"
    data.write_text("{garbage")
    assert pending.peek("s1") is None
    assert pending.spend("s1") is None
    assert not data.exists()


_ARM = """
import sys
from lakeloop.skillopt import pending
sid, skill = sys.argv[1], sys.argv[2]
sys.stdin.readline()
for i in range(20):
    pending.arm(sid, skill, f"toolu-{i}", 3)
print("armed")
"""


def test_concurrent_sessions_arming_keep_both_windows():
    """Two sessions arming at the same moment from separate processes: both windows survive."""
    outs = run_together(_ARM, [["session-A", "db-migrate--alice"], ["session-B", "deploy--bob"]])
    assert outs == ["armed\n", "armed\n"]
    a, b = pending.peek("session-A"), pending.peek("session-B")
    assert (a["skill"], a["budget"], a["tool_use_id"]) == ("db-migrate--alice", 3, "toolu-19")
    assert (b["skill"], b["budget"], b["tool_use_id"]) == ("deploy--bob", 3, "toolu-19")


_SPEND = """
import sys
from lakeloop.skillopt import pending
sys.stdin.readline()
w = pending.spend(sys.argv[1])
print("none" if w is None else w["budget"])
"""


def test_concurrent_reactions_never_spend_a_unit_twice():
    """Six processes reacting at once on a K=3 window: exactly three get it, with budgets 3, 2, 1."""
    pending.arm("s1", "db-migrate--alice", "t1", 3)
    outs = [o.strip() for o in run_together(_SPEND, [["s1"]] * 6)]
    assert sorted(o for o in outs if o != "none") == ["1", "2", "3"]
    assert outs.count("none") == 3
    assert pending.peek("s1") is None
