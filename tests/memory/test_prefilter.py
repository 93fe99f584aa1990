"""The PreToolUse byte prefilter (``lakeloop.memory.prefilter.is_candidate``): every payload that may touch
the memory path, or reach lakeloop's credentials without naming them, is parsed and checked in
full; a Bash call whose command has no memory-path spelling, no expansion that could reach a hidden
directory, and does not both walk or compute names and name the home directory or above is done with
before JSON parsing. Tool paths are compared squeezed (``~/.``, ``//``) and through symlinks."""

from __future__ import annotations

import json

import pytest

from lakeloop.memory.prefilter import is_candidate as _memory_candidate
from tests.support.credential_attacks import UNNAMED_READS, UNNAMED_ROOT, UNNAMED_WRITES


def _bash(command: str) -> bytes:
    return json.dumps(
        {
            "session_id": "s",
            "transcript_path": "/home/u/.claude/projects/p/s.jsonl",
            "cwd": "/home/u/.config/proj",
            "permission_mode": "default",
            "hook_event_name": "PreToolUse",
            "tool_name": "Bash",
            "tool_input": {"command": command, "description": "d"},
            "tool_use_id": "t",
        }
    ).encode()


@pytest.mark.parametrize(
    "command",
    [
        "cat ~/.deeplake/memory/index.md",
        "cat ~/.deep''lake/memory/x",
        "cat ~/.deep\\lake/memory/x",
        "cat ~/.dee*/memory/index.md",
        "cat ~/.deep?ake/memory/x",
        "cat ~/.[d]eeplake/memory/x",
        "cat ~/.*/memory/index.md",
        "ls ~/.d*/m*",
        "cd; cat .dee*/memory/index.md",
        "cat ~/.deep$(echo l)ake/memory/index.md",
        "cat ~/.dee{p,}lake/memory/index.md",
        "cd ~ && cat {.,x}dee*/memory",
        "cat `echo ~/.deeplake`/memory/x",
        "grep -r x ~/.deep*",
    ],
)
def test_payloads_that_may_touch_the_memory_path_are_checked(command):
    assert _memory_candidate("PreToolUse", _bash(command))


@pytest.mark.parametrize(
    "command",
    ["ls -la", "git status", "ls *.py $HOME | head", "echo $PATH", "grep -rn TODO src/ | head", "cat ./README.md"],
)
def test_ordinary_bash_calls_skip_the_check_even_with_dots_in_the_transcript_path(command):
    assert not _memory_candidate("PreToolUse", _bash(command))


def test_other_events_are_never_candidates():
    assert not _memory_candidate("PostToolUse", _bash("cat ~/.deeplake/memory/index.md"))


def test_an_overridden_root_is_looked_for_by_its_last_component(monkeypatch):
    monkeypatch.setenv("LAKELOOP_MEMORY_PATH", "/srv/team-mem")
    assert _memory_candidate("PreToolUse", _bash("cat /srv/team-mem/index.md"))
    assert not _memory_candidate("PreToolUse", _bash("cat ~/.config/other.txt"))
    # ~/.deeplake (the default credentials file's directory) stays guarded whatever the memory root
    assert _memory_candidate("PreToolUse", _bash("cat ~/.deeplake/credentials.json"))
    assert _memory_candidate("PreToolUse", _bash("cat ~/.deeplake/other.txt"))
    assert _memory_candidate("PreToolUse", _bash("cat x/memory-answers/a.txt"))
    monkeypatch.setenv("LAKELOOP_MEMORY_PATH", "~/.deeplake/other")
    assert _memory_candidate("PreToolUse", _bash("ls ~/.deeplake"))


def test_a_configured_credentials_path_without_deeplake_in_it_is_checked(monkeypatch):
    """LAKELOOP_DEEPLAKE_CREDENTIALS names a file whose path does not say "deeplake": a payload
    naming it (or its directory, or reaching it with a glob) still gets the full check."""
    monkeypatch.setenv("HOME", "/home/u")
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_CREDENTIALS", "/srv/secrets/team.json")
    for command in ("cat /srv/secrets/team.json", "cat /srv/secrets/*", "cat /srv/*/team.json", "cat /srv/*/*"):
        assert _memory_candidate("PreToolUse", _bash(command)), command
    assert not _memory_candidate("PreToolUse", _bash("ls *.py $HOME | head"))
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_CREDENTIALS", "~/work/keys/dl.json")
    for command in ("head ~/work/keys/dl.json", "grep -r x ~/work", "ls ~/work/*/d*"):
        assert _memory_candidate("PreToolUse", _bash(command)), command


def _tool(tool: str, tool_input: dict, cwd: str = "/home/u/proj") -> bytes:
    return json.dumps(
        {
            "session_id": "s",
            "transcript_path": "/home/u/.claude/projects/p/s.jsonl",
            "cwd": cwd,
            "hook_event_name": "PreToolUse",
            "tool_name": tool,
            "tool_input": tool_input,
            "tool_use_id": "t",
        }
    ).encode()


def test_searches_from_above_the_credentials_are_checked(monkeypatch):
    """A Grep or Glob whose path (or cwd) is a directory above ~/.deeplake, or whose pattern is
    absolute or climbs, gets the full check; one in the project does not."""
    monkeypatch.setenv("HOME", "/home/u")
    for tool, ti, cwd in [
        ("Grep", {"pattern": "x", "path": "/home/u"}, "/home/u/proj"),
        ("Grep", {"pattern": "x", "path": "/home/u/"}, "/home/u/proj"),
        ("Grep", {"pattern": "x"}, "/home/u"),
        ("Grep", {"pattern": "x", "path": "/"}, "/home/u/proj"),
        ("Grep", {"pattern": "x", "path": "~"}, "/home/u/proj"),
        ("Glob", {"pattern": "**/*.json", "path": "/home"}, "/home/u/proj"),
        ("Glob", {"pattern": "/home/u/*/*.json"}, "/home/u/proj"),
        ("Glob", {"pattern": "../../*/*.json"}, "/home/u/proj"),
    ]:
        assert _memory_candidate("PreToolUse", _tool(tool, ti, cwd)), (tool, ti, cwd)
    for tool, ti in [
        ("Grep", {"pattern": "x", "path": "/home/u/proj/src"}),
        ("Grep", {"pattern": "x"}),
        ("Glob", {"pattern": "**/*.py"}),
        ("Glob", {"pattern": "*.md", "path": "/home/u/proj"}),
    ]:
        assert not _memory_candidate("PreToolUse", _tool(tool, ti)), (tool, ti)


@pytest.mark.parametrize(
    "command",
    [
        "python3 -c \"open(__import__('os').path.expanduser('~/.deep' + 'lake/credentials.json'))\"",
        "cat ~/.deep'la'ke/x",
        "A=dee; B=plake; cat ~/.$A$B/x",
    ],
)
def test_pieces_that_join_into_deeplake_are_checked(command):
    assert _memory_candidate("PreToolUse", _bash(command))


def test_a_bash_payload_that_says_grep_is_still_checked_as_bash():
    """The tool's name is looked for as a JSON string anywhere: a Bash call whose description is
    "Grep" still gets the Bash checks."""
    payload = json.dumps(
        {
            "cwd": "/home/u/proj",
            "hook_event_name": "PreToolUse",
            "tool_name": "Bash",
            "tool_input": {"command": "cat ~/.dee*/cred*", "description": "Grep"},
        }
    ).encode()
    assert _memory_candidate("PreToolUse", payload)


# ------------------------------------------------- reaching the credentials without naming them


def _at(command: str, cwd: str = "/home/u/proj") -> bytes:
    payload = json.loads(_bash(command))
    payload["cwd"] = cwd
    return json.dumps(payload).encode()


@pytest.mark.parametrize("command", UNNAMED_READS + UNNAMED_ROOT + UNNAMED_WRITES)
def test_commands_reaching_the_credentials_unnamed_get_the_full_check(monkeypatch, command):
    """Every Bash command of the credentials guard's corpus that reaches ~/.deeplake without naming it
    (a walk from home or above, names computed next to home) is sent to the full check."""
    monkeypatch.setenv("HOME", "/home/u")
    command = command.replace("{home}", "/home/u").replace("{tmp}", "/home")
    assert _memory_candidate("PreToolUse", _at(command))


@pytest.mark.parametrize("command", ["ls | xargs cat", "grep -r token .", "find . -exec cat {} +", "python3 -"])
@pytest.mark.parametrize("cwd", ["/home/u", "/home/u/", "/home", "/"])
def test_a_cwd_at_or_above_home_sends_walks_and_computed_names_to_the_full_check(monkeypatch, command, cwd):
    monkeypatch.setenv("HOME", "/home/u")
    assert _memory_candidate("PreToolUse", _at(command, cwd))


@pytest.mark.parametrize(
    "command",
    [
        "grep -rn foo src/",
        'python3 -c "print(1)"',
        "git ls-files | xargs wc -l",
        "cd src && grep -rn foo .",
        "rg foo",
        "du -sh src",
        "tar czf out.tgz src",
        "cp -r src backup",
        "cd /home/u/proj && python -m pytest -x",
        "npm test",
        "ls -la ~",
        "cat ~/.bashrc | head",
        "git log --oneline -5",
        "echo ~",
        "grep -rn foo /home/u/proj/src",
    ],
)
def test_ordinary_walks_and_computed_names_stay_on_the_cheap_path(monkeypatch, command):
    """Walks and computed names in a project, and commands naming home without walking or computing
    anything, are done with before JSON parsing."""
    monkeypatch.setenv("HOME", "/home/u")
    assert not _memory_candidate("PreToolUse", _at(command))


def test_a_configured_credentials_paths_parents_are_looked_for(monkeypatch):
    monkeypatch.setenv("HOME", "/home/u")
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_CREDENTIALS", "/srv/team/cfg/dl.json")
    for command in (
        "grep -r token /srv/team",
        "grep -r token /srv",
        "find /srv/team/ -name 'd*' | xargs cat",
        "grep -r token /srv/./team",
    ):
        assert _memory_candidate("PreToolUse", _at(command)), command
    assert _memory_candidate("PreToolUse", _at("ls | xargs cat", "/srv/team"))
    assert not _memory_candidate("PreToolUse", _at("grep -r token /srv/other/src"))


@pytest.mark.parametrize(
    "tool,tool_input,cwd",
    [
        ("Grep", {"pattern": "x", "path": "/home/u/."}, "/home/u/proj"),
        ("Grep", {"pattern": "x", "path": "/home/u//"}, "/home/u/proj"),
        ("Grep", {"pattern": "x", "path": "//home/u"}, "/home/u/proj"),
        ("Grep", {"pattern": "x", "path": "//"}, "/home/u/proj"),
        ("Grep", {"pattern": "x", "path": "/./"}, "/home/u/proj"),
        ("Grep", {"pattern": "x", "path": "/home/./u"}, "/home/u/proj"),
        ("Grep", {"pattern": "x", "path": "~/."}, "/home/u/proj"),
        ("Grep", {"pattern": "x", "path": "."}, "/home/u"),
        ("Grep", {"pattern": "x", "path": ".."}, "/home/u/proj"),
        ("Glob", {"pattern": "**/*.json", "path": "/home/u/."}, "/home/u/proj"),
        ("Read", {"file_path": "/home/u/.deeplake/./credentials.json"}, "/home/u/proj"),
        ("Grep", {"pattern": "x", "path": "/home/u/proj", "glob": "../*.json"}, "/home/u/proj"),
    ],
)
def test_tool_paths_are_squeezed_before_they_are_compared(monkeypatch, tool, tool_input, cwd):
    monkeypatch.setenv("HOME", "/home/u")
    assert _memory_candidate("PreToolUse", _tool(tool, tool_input, cwd))


def test_tool_paths_through_a_symlink_are_followed(tmp_path, monkeypatch):
    """A symlink into ~/.deeplake, to the credentials, or to the home directory, under any name."""
    home = tmp_path / "home"
    (home / ".deeplake").mkdir(parents=True)
    (home / ".deeplake" / "credentials.json").write_text("{}")
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.setenv("HOME", str(home))
    (project / "dl").symlink_to(home / ".deeplake")
    (project / "c.txt").symlink_to(home / ".deeplake" / "credentials.json")
    (project / "h").symlink_to(home)
    for tool, ti in [
        ("Read", {"file_path": "c.txt"}),
        ("Read", {"file_path": str(project / "dl" / "x")}),
        ("Grep", {"pattern": "x", "path": "h"}),
        ("Glob", {"pattern": "*", "path": "dl/"}),
        ("Grep", {"pattern": "x", "path": str(project), "glob": "h/**/*.json"}),
    ]:
        assert _memory_candidate("PreToolUse", _tool(tool, ti, str(project))), (tool, ti)
    assert not _memory_candidate("PreToolUse", _tool("Read", {"file_path": "README.md"}, str(project)))


# -- Gemini CLI's tool names (``hooks/run PreToolUse gemini``) -----------------------------------


def _gemini(tool: str, tool_input: dict, cwd: str = "/home/u/proj") -> bytes:
    """A raw Gemini CLI BeforeTool payload (its own tool names; no tool_use_id)."""
    return json.dumps(
        {
            "session_id": "s",
            "transcript_path": "/home/u/.gemini/tmp/p/chats/s.json",
            "cwd": cwd,
            "hook_event_name": "BeforeTool",
            "timestamp": "2026-12-07T00:52:04.295Z",
            "tool_name": tool,
            "tool_input": tool_input,
        }
    ).encode()


@pytest.mark.parametrize("command", ["cat ~/.dee*/memory/index.md", "cd; cat .dee*/memory/x", "grep -r x ~"])
def test_gemini_shell_commands_get_the_bash_rules(monkeypatch, command):
    monkeypatch.setenv("HOME", "/home/u")
    assert _memory_candidate("PreToolUse", _gemini("run_shell_command", {"command": command}), "gemini")
    # the same bytes under Claude Code's rules: a run_shell_command is no Bash call there
    assert not _memory_candidate("PreToolUse", _gemini("run_shell_command", {"command": command}))


def test_gemini_shell_dir_path_is_read_as_the_commands_directory(monkeypatch):
    monkeypatch.setenv("HOME", "/home/u")
    walk = {"command": "grep -r x .", "dir_path": "/home/u"}
    assert _memory_candidate("PreToolUse", _gemini("run_shell_command", walk), "gemini")
    assert not _memory_candidate(
        "PreToolUse", _gemini("run_shell_command", {"command": "grep -r x .", "dir_path": "src"}), "gemini"
    )


@pytest.mark.parametrize(
    ("tool", "tool_input", "cwd"),
    [
        ("glob", {"pattern": ".dee*/**"}, "/home/u"),
        ("glob", {"pattern": "/home/u/.d*/memory/*", "dir_path": "src"}, "/home/u/proj"),
        ("grep_search", {"pattern": "x", "dir_path": "/home/u"}, "/home/u/proj"),
        ("grep_search", {"pattern": "x", "include_pattern": "../../**"}, "/home/u/proj"),
        ("list_directory", {"dir_path": "/home/u"}, "/home/u/proj"),
        ("read_many_files", {"include": ["notes/*.md"]}, "/home/u/proj"),
    ],
)
def test_gemini_file_tools_reaching_the_guarded_paths_are_checked(monkeypatch, tool, tool_input, cwd):
    monkeypatch.setenv("HOME", "/home/u")
    assert _memory_candidate("PreToolUse", _gemini(tool, tool_input, cwd), "gemini")


@pytest.mark.parametrize(
    ("tool", "tool_input"),
    [
        ("run_shell_command", {"command": "ls -la", "description": "list"}),
        ("run_shell_command", {"command": "grep -rn TODO src/ | head", "dir_path": "src"}),
        ("glob", {"pattern": "src/**/*.py"}),
        ("grep_search", {"pattern": "TODO", "dir_path": "src", "include_pattern": "*.py"}),
        ("read_file", {"file_path": "/home/u/proj/README.md"}),
        ("list_directory", {"dir_path": "src"}),
    ],
)
def test_ordinary_gemini_calls_stay_on_the_cheap_path(monkeypatch, tool, tool_input):
    monkeypatch.setenv("HOME", "/home/u")
    assert not _memory_candidate("PreToolUse", _gemini(tool, tool_input), "gemini")
