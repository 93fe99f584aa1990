"""The team token stays out of the agent's reach, and nothing is created under the memory root on
the host: played through the REAL hook (``hooks/run PreToolUse``, ``tests.support.hooks``).

Each hostile tool call is acted on as Claude Code 2.1.330 acts on the hook's answer: a deny runs
nothing; an allow runs ``updatedInput.command`` (Bash); no output (pass through) runs the ORIGINAL
Bash command in the payload's cwd, which is a failure by itself for these calls. Afterwards the
credentials file's marker token may appear nowhere (hook output, command output, any file under
the test's tmp dir but the credentials file itself), and the memory root may not exist on disk.

Two configurations: the default credentials file ``~/.deeplake/credentials.json``, and
``LAKELOOP_DEEPLAKE_CREDENTIALS`` naming a file whose path does not say "deeplake". Ordinary calls
(``ls``, ``git status``, ``grep -r foo src/``, a Grep in the project, a project's own
``credentials.json``) still pass through untouched.

Commands that reach the credentials without naming them are refused too (``lakeloop.memory.reach``):
a tree walk from the home directory or above, however spelled (``~``, ``$HOME``, ``..``, ``//``, after
a bare ``cd``), and names computed at run time (``xargs``, ``-exec``, substitutions, interpreters)
at or naming the home directory; Read, Grep and Glob paths are read as what they name (``~/.``,
``//``, ``/./``, symlinks). Walks and computed names in a project still pass through untouched.

A memory root that exists on disk is refused: every memory answer is denied with a one-line
reason, the log says why, and the next SessionStart shows the user a notice (``systemMessage``,
never the model's ``additionalContext``).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from lakeloop import paths
from tests.support.credential_attacks import UNNAMED_READS, UNNAMED_ROOT, UNNAMED_WRITES
from tests.support.hooks import files_holding, pretooluse_payload, run_hook, run_pretooluse

TOKEN = "dl-team-token-6b1f0e9d2c7a4e55"
M = "~/.deeplake/memory"


@dataclass
class World:
    """HOME with the credentials file (``creds``), a project (cwd of the calls, with ``src/`` and a
    project file of its own named ``credentials.json``), the memory root (absent on disk)."""

    tmp: Path
    home: Path
    project: Path
    creds: Path
    root: Path


def _world(tmp_path: Path, creds: Path) -> World:
    home = tmp_path / "home"
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "app.py").write_text("foo = 1\n")
    (project / "credentials.json").write_text('{"project": "its own file"}\n')
    (project / "README.md").write_text("readme foo\n")
    creds.parent.mkdir(parents=True, exist_ok=True)
    creds.write_text(json.dumps({"token": TOKEN, "orgId": "acme"}))
    (home / ".deeplake").mkdir(parents=True, exist_ok=True)
    return World(tmp_path, home, project, creds, home / ".deeplake" / "memory")


@pytest.fixture
def world(tmp_path, monkeypatch) -> World:
    """The default configuration: the credentials at ``~/.deeplake/credentials.json`` (the store
    kept embedded: the fake token must never reach a network)."""
    monkeypatch.delenv("LAKELOOP_DEEPLAKE_CREDENTIALS", raising=False)
    monkeypatch.setenv("LAKELOOP_STORE", "embedded")
    return _world(tmp_path, tmp_path / "home" / ".deeplake" / "credentials.json")


@pytest.fixture
def vault(tmp_path, monkeypatch) -> World:
    """``LAKELOOP_DEEPLAKE_CREDENTIALS`` names ``<tmp>/vault/team-token.json`` (no "deeplake")."""
    creds = tmp_path / "vault" / "team-token.json"
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_CREDENTIALS", str(creds))
    monkeypatch.setenv("LAKELOOP_STORE", "embedded")
    world = _world(tmp_path, creds)
    (world.home / ".deeplake" / "credentials.json").write_text('{"token": "another-tool-token"}')
    return world


def bash(world: World, command: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, HOME=str(world.home))
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, timeout=30, stdin=subprocess.DEVNULL
    )


def leaks(world: World) -> list[str]:
    """Files under the tmp dir (symlinks not followed) other than the credentials holding TOKEN."""
    return files_holding(world.tmp, TOKEN, besides=world.creds)


def play(world: World, tool: str, tool_input: dict, cwd: Path | None = None, act: bool = True):
    """Send the call through the hook and act on the answer as Claude Code does; returns
    ``(decision, reason, printed)``. ``act=False``: a pass-through is not run (it would leave
    the test's HOME)."""
    cwd = cwd or world.project
    decision, out, proc = run_pretooluse(pretooluse_payload(tool, tool_input, cwd))
    assert proc.stderr == b"", proc.stderr[-2000:]
    assert TOKEN.encode() not in proc.stdout
    printed = b""
    if tool == "Bash" and decision != "deny" and (decision == "allow" or act):
        command = out["hookSpecificOutput"]["updatedInput"]["command"] if decision == "allow" else tool_input["command"]
        ran = bash(world, command, cwd)
        printed = ran.stdout + ran.stderr
    assert TOKEN.encode() not in printed
    assert leaks(world) == []
    reason = out["hookSpecificOutput"].get("permissionDecisionReason", "") if out else ""
    return decision, reason, printed


def assert_denied(decision: str, reason: str) -> None:
    assert decision == "deny", (decision, reason)
    assert reason.strip() and "\n" not in reason and TOKEN not in reason


# --------------------------------------------------------------------------------------------- reads
#: Bash commands that would print the default credentials file (or its directory).
READS = [
    # from the report
    "cat ~/.deeplake/credentials.json",
    "grep -v -e ~/.deeplake/memory ~/.deeplake/credentials.json",
    "grep -r x ~/.deeplake",
    # other readers
    "head ~/.deeplake/credentials.json",
    "tail -c 200 ~/.deeplake/credentials.json",
    "less ~/.deeplake/credentials.json",
    "xxd ~/.deeplake/credentials.json",
    "base64 ~/.deeplake/credentials.json",
    "awk 1 ~/.deeplake/credentials.json",
    "sed -n p ~/.deeplake/credentials.json",
    "dd if=$HOME/.deeplake/credentials.json status=none",
    "python3 -c \"print(open(__import__('os').path.expanduser('~/.deeplake/credentials.json')).read())\"",
    "cat < ~/.deeplake/credentials.json",
    'while read l; do echo "$l"; done < ~/.deeplake/credentials.json',
    "tar cf - ~/.deeplake 2>/dev/null | tar xOf -",
    # listing and copying the directory
    "find ~/.deeplake",
    "find ~/.deeplake -name '*.json' -exec cat {} +",
    "ls -la ~/.deeplake",
    "cp ~/.deeplake/credentials.json ./copied.json && cat copied.json",
    "ln -s ~/.deeplake/credentials.json innocent.txt && cat innocent.txt",
    # spellings
    "cat ~/.deeplake/cred*",
    'cat ~/.deep"lake"/cred*',
    "cat ~/.deep'lake'/credentials.json",
    "cat ~/.dee*/credentials.json",
    "cat ~/.deeplake/./credentials.json",
    "cat ~/.deeplake//credentials.json",
    "cat $HOME/.deeplake/credentials.json",
    "cat ${HOME}/.deeplake/credentials.json",
    'cat "$HOME"/.deeplake/credentials.json',
    "cat ~/.DEEPLAKE/credentials.json",
    "D=~/.deep; cat ${D}lake/credentials.json",
    "A=~/.deep; B=lake/cred; cat $A$B*",
    "cat $(echo ~/.deeplake)/credentials.json",
    "cat `echo ~/.deeplake`/credentials.json",
    "cd ~/.deeplake && cat credentials.json",
    "cd ~/.deeplake; cat *.json",
    "cd ~ && cat .deeplake/credentials.json",
    "cd; cd .dee*; cat c*",
    "find ~ -name credentials.json -exec cat {} \\;",
    "grep -r token ~ --include=credentials.json",
    "cat src/../../home/.deeplake/credentials.json",
    # shell options that let a glob match a leading dot
    "shopt -s dotglob; cat ~/*/cred*",
    "shopt -s globstar dotglob; cat ~/**/*.json",
    "GLOBIGNORE=x; cat ~/*/credentials.json",
    "shopt -s extglob\ncat ~/@(.d|x)eeplake/credentials.json",
]


@pytest.mark.parametrize("command", READS)
def test_bash_cannot_read_the_credentials(world, command):
    decision, reason, _ = play(world, "Bash", {"command": command, "description": "look"})
    assert_denied(decision, reason)


def test_tilde_user_is_any_home(world):
    """``~root/...`` (or any ``~user``) may be this user's home: refused. Never acted on: a pass-through
    would read a real home."""
    for command in (
        "cat ~root/.deeplake/credentials.json",
        f"cat ~{os.environ.get('USER', 'me')}/.deeplake/cred*",
        "cat ~root/.dee*/cred*",
    ):
        decision, reason, _ = play(world, "Bash", {"command": command}, act=False)
        assert_denied(decision, reason)


def test_there_are_enough_attacks():
    assert len(READS) >= 40 and len(set(READS)) == len(READS)
    assert len(WRITES) >= 15 and len(set(WRITES)) == len(WRITES)
    assert len(TOOL_READS) >= 15


#: (tool, tool input, cwd relative to the tmp dir or None for the project) that would read it.
TOOL_READS = [
    ("Read", {"file_path": "{home}/.deeplake/credentials.json"}, None),
    ("Read", {"file_path": "~/.deeplake/credentials.json"}, None),
    ("Read", {"file_path": "credentials.json"}, "home/.deeplake"),
    ("Read", {"file_path": "./.deeplake/credentials.json"}, "home"),
    ("Read", {"file_path": "{tmp}/project/../home/.deeplake/credentials.json"}, None),
    ("Grep", {"pattern": "token", "path": "{home}/.deeplake"}, None),
    ("Grep", {"pattern": "token", "path": "{home}/.deeplake/credentials.json", "output_mode": "content"}, None),
    ("Grep", {"pattern": "token", "path": "{home}", "glob": "*.json", "output_mode": "content"}, None),
    ("Grep", {"pattern": "token", "path": "{home}"}, None),
    ("Grep", {"pattern": "token"}, "home"),
    ("Grep", {"pattern": "token", "path": "/", "glob": "**/credentials.json"}, None),
    ("Grep", {"pattern": "token", "path": "{home}", "glob": "!*.py"}, None),
    ("Grep", {"pattern": "token", "path": "{home}", "glob": "*.{json,yaml}"}, None),
    ("Grep", {"pattern": "token", "path": "{home}", "glob": ".deep*/*"}, None),
    ("Glob", {"pattern": "**/credentials.json", "path": "{home}"}, None),
    ("Glob", {"pattern": "*", "path": "{home}/.deeplake"}, None),
    ("Glob", {"pattern": ".deeplake/*.json"}, "home"),
    ("Glob", {"pattern": "{home}/.deeplake/*"}, None),
    ("Glob", {"pattern": "../home/.deeplake/*"}, None),
    ("Glob", {"pattern": "**/*.json", "path": "{home}"}, None),
    ("Write", {"file_path": "{home}/.deeplake/credentials.json", "content": "{}"}, None),
    ("Edit", {"file_path": "{home}/.deeplake/credentials.json", "old_string": "a", "new_string": "b"}, None),
]


def _fill(value, world: World):
    if isinstance(value, str):
        return value.replace("{home}", str(world.home)).replace("{tmp}", str(world.tmp))
    return value


@pytest.mark.parametrize(
    "tool,tool_input,cwd", TOOL_READS, ids=[f"{t}-{json.dumps(i)[:60]}-{c}" for t, i, c in TOOL_READS]
)
def test_read_grep_glob_and_write_tools_cannot_reach_the_credentials(world, tool, tool_input, cwd):
    ti = {k: _fill(v, world) for k, v in tool_input.items()}
    decision, reason, _ = play(world, tool, ti, world.tmp / cwd if cwd else None)
    assert_denied(decision, reason)


def test_a_symlink_named_like_the_credentials_is_resolved(world):
    """A symlink elsewhere whose name says ``credentials.json`` is followed to the real file."""
    link = world.tmp / "elsewhere" / "credentials.json"
    link.parent.mkdir()
    link.symlink_to(world.creds)
    for tool, ti in (("Read", {"file_path": str(link)}), ("Grep", {"pattern": "x", "path": str(link)})):
        decision, reason, _ = play(world, tool, ti)
        assert_denied(decision, reason)


def test_the_grep_tool_on_the_memory_roots_parent_is_refused_like_bash_grep_r(world):
    """Bash ``grep -r x ~/.deeplake`` and the Grep tool on ``~/.deeplake`` get the same answer: deny."""
    bash_decision, _, _ = play(world, "Bash", {"command": "grep -r x ~/.deeplake"})
    grep_decision, reason, _ = play(world, "Grep", {"pattern": "x", "path": str(world.home / ".deeplake")})
    assert bash_decision == grep_decision == "deny", reason


# --------------------------------------------------------------------------------------------- writes
#: Bash commands that would create or write something under the memory root on the host.
WRITES = [
    "A=~/.deep; B=lake/mem; C=ory/notes; mkdir -p $A$B$C",  # from the report
    "mkdir -p ~/.deeplake/memory",
    "mkdir -p $(echo ~/.deeplake)/memory",
    "mkdir -p `echo ~/.deep`lake/memory",
    "cd ~/.deeplake && mkdir memory",
    "cd ~/.deeplake; mkdir memory",
    "cd; mkdir -p .deeplake/memory",
    "cd ~ && cd .deeplake && mkdir memory",
    "touch ~/.deeplake/memory",
    "echo x | tee ~/.deeplake/memory",
    "cp -r src ~/.deeplake/memory",
    "mv src ~/.deeplake/memory",
    "ln -s /tmp ~/.deeplake/memory",
    "install -d ~/.deeplake/memory",
    "python3 -c \"import os; os.makedirs(os.path.expanduser('~/.deeplake/memory/notes'))\"",
    "python -c \"import os; os.makedirs(os.path.expanduser('~/.deep' + 'lake/memory'))\"",
    "echo x > ~/.deeplake/memory",
    "printf x >> ~/.deeplake/memory",
    "mkdir ~/.deep\"\"lake/mem''ory",
    "D=$HOME/.deeplake/mem; mkdir -p ${D}ory",
    "cd ~/.deeplake && ln -s . memory",
    "X=memory; cd ~/.deeplake && mkdir $X",
    "rsync -a src/ ~/.deeplake/memory/",
    "tar -C ~/.deeplake -xf /dev/null; mkdir ~/.deeplake/memory",
]


@pytest.mark.parametrize("command", WRITES)
def test_bash_cannot_create_the_memory_root(world, command):
    decision, reason, _ = play(world, "Bash", {"command": command, "description": "set up"})
    assert_denied(decision, reason)
    assert not os.path.lexists(world.root)


# ----------------------------------------------------------------------------------- configured path
VAULT_CALLS = [
    ("Bash", {"command": "cat {creds}"}),
    ("Bash", {"command": "cat {dir}/*"}),
    ("Bash", {"command": "grep -r token {dir}"}),
    ("Bash", {"command": "ls {dir}"}),
    ("Bash", {"command": "head -c 100 {creds}"}),
    ("Bash", {"command": "cat {tmp}/*/team-token.json"}),
    ("Bash", {"command": "cat ~/.deeplake/credentials.json"}),  # the default file stays guarded too
    ("Read", {"file_path": "{creds}"}),
    ("Grep", {"pattern": "token", "path": "{dir}"}),
    ("Grep", {"pattern": "token", "path": "{tmp}", "glob": "*.json"}),
    ("Glob", {"pattern": "**/*.json", "path": "{tmp}"}),
    ("Glob", {"pattern": "*", "path": "{dir}"}),
]


@pytest.mark.parametrize("tool,tool_input", VAULT_CALLS, ids=[json.dumps(i)[:50] for _, i in VAULT_CALLS])
def test_a_configured_credentials_path_without_deeplake_is_guarded(vault, tool, tool_input):
    ti = {k: v.format(creds=vault.creds, dir=vault.creds.parent, tmp=vault.tmp) for k, v in tool_input.items()}
    decision, reason, printed = play(vault, tool, ti)
    assert_denied(decision, reason)
    assert b"another-tool-token" not in printed


# --------------------------------------------------------------------------------------------- ordinary
ORDINARY = [
    ("Bash", {"command": "ls", "description": "List"}),
    ("Bash", {"command": "ls -la", "description": "List"}),
    ("Bash", {"command": "git status", "description": "Status"}),
    ("Bash", {"command": "grep -r foo src/", "description": "Search"}),
    ("Bash", {"command": "cat README.md | head", "description": "Read"}),
    ("Bash", {"command": "ls *.py $HOME | head", "description": "List"}),
    ("Bash", {"command": "echo $PATH", "description": "Path"}),
    ("Bash", {"command": "cat credentials.json", "description": "the project's own file"}),
    ("Bash", {"command": "find . -name '*.json'", "description": "Find"}),
    ("Grep", {"pattern": "foo", "path": "{project}"}),
    ("Grep", {"pattern": "foo"}),
    ("Grep", {"pattern": "foo", "path": "{project}", "glob": "*.json"}),
    ("Grep", {"pattern": "foo", "path": "{home}", "glob": "*.py"}),
    ("Glob", {"pattern": "**/*.py", "path": "{project}"}),
    ("Glob", {"pattern": "**/*.py", "path": "{home}"}),
    ("Read", {"file_path": "{project}/README.md"}),
    ("Read", {"file_path": "{project}/credentials.json"}),
]


@pytest.mark.parametrize("tool,tool_input", ORDINARY, ids=[json.dumps(i)[:50] for _, i in ORDINARY])
def test_ordinary_calls_pass_through_untouched(world, tool, tool_input):
    ti = {k: v.format(project=world.project, home=world.home) for k, v in tool_input.items()}
    decision, out, proc = run_pretooluse(pretooluse_payload(tool, ti, world.project))
    assert decision == "pass" and proc.stdout == b"" and proc.stderr == b"", out


# ---------------------------------------------------------------------------------- root on disk
@pytest.mark.parametrize("kind", ["directory", "file", "symlink"])
def test_a_memory_root_on_disk_is_refused_logged_and_shown_to_the_user(world, kind):
    """Created behind lakeloop's back: every memory answer is denied with a one-line reason, the
    log says why, and the next SessionStart tells the user (systemMessage), not the model."""
    if kind == "directory":
        (world.root / "notes").mkdir(parents=True)
        (world.root / "notes" / "planted.md").write_text("planted\n")
    elif kind == "file":
        world.root.write_text("planted\n")
    else:
        world.root.symlink_to(world.creds)
    for tool, ti in (
        ("Bash", {"command": f"cat {M}/index.md"}),
        ("Read", {"file_path": str(world.root / "index.md")}),
        ("Grep", {"pattern": "planted", "path": str(world.root)}),
        ("Glob", {"pattern": "**/*", "path": str(world.root)}),
    ):
        decision, reason, _ = play(world, tool, ti)
        assert_denied(decision, reason)
        assert "exists on disk" in reason, reason
    log = paths.log_file().read_text()
    assert f"memory root {world.root} exists on disk (a {kind})" in log
    proc = run_hook(
        "SessionStart",
        {"session_id": "next", "hook_event_name": "SessionStart", "source": "startup", "cwd": str(world.project)},
        LAKELOOP_DRAIN_LINGER_S="0",
    )
    out = json.loads(proc.stdout)
    assert f"{world.root} exists on disk" in out["systemMessage"] and "remove" in out["systemMessage"]
    assert "exists on disk" not in out.get("hookSpecificOutput", {}).get("additionalContext", "")


def test_session_start_reports_a_root_on_disk_even_before_any_memory_call(world):
    world.root.mkdir()
    proc = run_hook(
        "SessionStart",
        {"session_id": "s", "hook_event_name": "SessionStart", "source": "startup", "cwd": str(world.project)},
        LAKELOOP_DRAIN_LINGER_S="0",
    )
    assert f"{world.root} exists on disk (a directory)" in json.loads(proc.stdout)["systemMessage"]
    # shown once, not at every start
    proc = run_hook(
        "SessionStart",
        {"session_id": "s2", "hook_event_name": "SessionStart", "source": "startup", "cwd": str(world.project)},
        LAKELOOP_DRAIN_LINGER_S="0",
    )
    assert "exists on disk" not in json.loads(proc.stdout or b"{}").get("systemMessage", "")


# ------------------------------------------------------------------ reaching the credentials unnamed
# The commands (UNNAMED_READS, UNNAMED_ROOT, UNNAMED_WRITES) are in tests/support/credential_attacks.py.


@pytest.mark.parametrize("command", UNNAMED_READS)
def test_bash_cannot_reach_the_credentials_without_naming_them(world, command):
    decision, reason, _ = play(world, "Bash", {"command": _fill(command, world)})
    assert_denied(decision, reason)
    assert "credentials" in reason


@pytest.mark.parametrize("command", UNNAMED_ROOT)
def test_bash_walks_from_the_root_directory_are_refused(world, command):
    decision, reason, _ = play(world, "Bash", {"command": command}, act=False)
    assert_denied(decision, reason)


#: Commands that walk `.` or compute names there: refused when the cwd is the home directory or above.
AT_HOME = [
    "cd && ls | xargs cat",
    "grep -r token .",
    "find . -name 'c*s.json' -exec cat {} +",
    "python3 -c \"print(open('.'+chr(100)+'eeplake/credentials.json').read())\"",
    "tar cf - . | tar xOf - --wildcards '*cred*'",
]


@pytest.mark.parametrize("command", AT_HOME)
@pytest.mark.parametrize("where", ["home", "tmp"])
def test_bash_from_the_home_directory_or_above_computing_names_is_refused(world, command, where):
    """The payload's cwd is the home directory or above it: a walk of `.` or computed names there."""
    cwd = world.home if where == "home" else world.tmp
    decision, reason, _ = play(world, "Bash", {"command": command}, cwd=cwd)
    assert_denied(decision, reason)


@pytest.mark.parametrize("command", UNNAMED_WRITES)
def test_bash_cannot_create_the_memory_root_through_computed_names(world, command):
    decision, reason, _ = play(world, "Bash", {"command": command})
    assert_denied(decision, reason)
    assert not os.path.lexists(world.root)


VAULT_UNNAMED = [
    "grep -r token {tmp}",
    "grep -r token {tmp}/",
    "grep -r token {tmp}//",
    "cd {tmp} && grep -r token .",
    "find {tmp} -name 't*' | xargs cat",
    "find {tmp} -name 'team*' -exec cat {} +",
    "cd {tmp}; ls -d v* | xargs -I@ cat @/team-token.json",
]


@pytest.mark.parametrize("command", VAULT_UNNAMED)
def test_a_configured_credentials_path_is_not_reached_from_above_either(vault, command):
    """LAKELOOP_DEEPLAKE_CREDENTIALS at ``<tmp>/vault/team-token.json``: a walk from ``<tmp>`` (its
    parent's parent), or names computed there, are refused like those from the home directory."""
    decision, reason, printed = play(vault, "Bash", {"command": _fill(command, vault)})
    assert_denied(decision, reason)
    assert b"another-tool-token" not in printed


#: (tool, tool input, cwd) spelling the home directory or a path above it otherwise, or going through a
#: symlink (made by the test: ``{project}/dl`` -> ~/.deeplake, ``{project}/c.txt`` -> the credentials,
#: ``{project}/h`` -> the home directory).
TOOL_SPELLINGS = [
    ("Grep", {"pattern": "token", "path": "{home}/."}, None),
    ("Grep", {"pattern": "token", "path": "{home}//"}, None),
    ("Grep", {"pattern": "token", "path": "/{home}"}, None),
    ("Grep", {"pattern": "token", "path": "~/."}, None),
    ("Grep", {"pattern": "token", "path": "~//"}, None),
    ("Grep", {"pattern": "token", "path": "//"}, None),
    ("Grep", {"pattern": "token", "path": "/./"}, None),
    ("Grep", {"pattern": "token", "path": "/{tmp}"}, None),
    ("Grep", {"pattern": "token", "path": "{tmp}/./home"}, None),
    ("Grep", {"pattern": "token", "path": "{tmp}//home"}, None),
    ("Grep", {"pattern": "token", "path": "{tmp}/./"}, None),
    ("Grep", {"pattern": "token", "path": "{home}/.", "glob": "**/*.json", "output_mode": "content"}, None),
    ("Grep", {"pattern": "token", "path": ".."}, None),
    ("Grep", {"pattern": "token", "path": "dl"}, None),
    ("Grep", {"pattern": "token", "path": "dl/"}, None),
    ("Grep", {"pattern": "token", "path": "{project}/dl"}, None),
    ("Grep", {"pattern": "token", "path": "c.txt", "output_mode": "content"}, None),
    ("Grep", {"pattern": "token", "path": "h"}, None),
    ("Grep", {"pattern": "token", "path": "{project}", "glob": "h/**/*.json"}, None),
    ("Glob", {"pattern": "**/*.json", "path": "{home}/."}, None),
    ("Glob", {"pattern": "**/*.json", "path": "//{home}//"}, None),
    ("Glob", {"pattern": "*", "path": "dl"}, None),
    ("Glob", {"pattern": "**/*.json", "path": "h"}, None),
    ("Read", {"file_path": "c.txt"}, None),
    ("Read", {"file_path": "{project}/c.txt"}, None),
    ("Read", {"file_path": "dl/credentials.json"}, None),
    ("Read", {"file_path": "//{home}//.deeplake//credentials.json"}, None),
    ("Read", {"file_path": "h/../home/.deeplake/credentials.json"}, None),  # `..` after a symlink
    ("Grep", {"pattern": "token", "path": "h/.."}, None),
    ("Grep", {"pattern": "token", "path": "/proc/self/cwd/.."}, None),  # the tool's cwd, not the hook's
    ("Read", {"file_path": "/proc/self/cwd/../home/.deeplake/credentials.json"}, None),
    ("Edit", {"file_path": "c.txt", "old_string": "a", "new_string": "b"}, None),
    ("Write", {"file_path": "{project}/c.txt", "content": "{}"}, None),
]


@pytest.mark.parametrize(
    "tool,tool_input,cwd", TOOL_SPELLINGS, ids=[f"{t}-{json.dumps(i)[:60]}" for t, i, _c in TOOL_SPELLINGS]
)
def test_tool_paths_are_read_as_what_they_name(world, tool, tool_input, cwd):
    """``~/.``, ``//``, ``/./`` and symlinks are read as the directory they name: a Grep, Glob or
    Read that would reach the credentials this way is refused like one that spells them."""
    (world.project / "dl").symlink_to(world.home / ".deeplake")
    (world.project / "c.txt").symlink_to(world.creds)
    (world.project / "h").symlink_to(world.home)
    ti = {k: _fill(v, world).replace("{project}", str(world.project)) for k, v in tool_input.items()}
    decision, reason, _ = play(world, tool, ti, cwd)
    assert_denied(decision, reason)


#: Ordinary commands and calls in a project: they pass through untouched (no output at all).
ORDINARY_UNNAMED = [
    ("Bash", {"command": "grep -rn foo src/"}),
    ("Bash", {"command": "find . -name '*.py'"}),
    ("Bash", {"command": "cat $(git rev-parse --show-toplevel)/README.md"}),
    ("Bash", {"command": 'python3 -c "print(1)"'}),
    ("Bash", {"command": "python3 -c \"print('a/b'.split('/'))\""}),
    ("Bash", {"command": "git ls-files | xargs wc -l"}),
    ("Bash", {"command": "find . -name '*.py' | xargs grep -n foo"}),
    ("Bash", {"command": "find . -name '*.pyc' -exec rm {} +"}),
    ("Bash", {"command": "cd src && grep -rn foo ."}),
    ("Bash", {"command": 'cd "$(git rev-parse --show-toplevel)" && grep -rn foo .'}),
    ("Bash", {"command": "rg foo"}),
    ("Bash", {"command": "du -sh src"}),
    ("Bash", {"command": "ls -lart ~"}),
    ("Bash", {"command": "cat ~/.bashrc"}),
    ("Bash", {"command": 'echo "built $(date)" >> build.log'}),
    ("Bash", {"command": "tar czf out.tgz src"}),
    ("Bash", {"command": "cp -r src backup"}),
    ("Grep", {"pattern": "foo", "path": "."}),
    ("Grep", {"pattern": "foo", "path": "{project}/./src"}),
    ("Glob", {"pattern": "**/*.json", "path": "{project}/."}),
    ("Read", {"file_path": "{project}/./README.md"}),
]


@pytest.mark.parametrize("tool,tool_input", ORDINARY_UNNAMED, ids=[json.dumps(i)[:60] for _, i in ORDINARY_UNNAMED])
def test_ordinary_walks_and_computed_names_in_a_project_pass_through_untouched(world, tool, tool_input):
    ti = {k: v.replace("{project}", str(world.project)) for k, v in tool_input.items()}
    decision, out, proc = run_pretooluse(pretooluse_payload(tool, ti, world.project))
    assert decision == "pass" and proc.stdout == b"" and proc.stderr == b"", out


@pytest.mark.parametrize(
    "command",
    [
        "cat > ~/.deeplake/memory/notes/howto.md <<'EOF'\ncd\nfind ~ -name '*.py' | xargs grep -n TODO\nEOF",
        "echo 'run: cd && grep -r TODO . | xargs -n1 $(which cat)' >> ~/.deeplake/memory/notes/howto.md",
        "grep -rn TODO ~/.deeplake/memory | head -20",
        "find ~/.deeplake/memory -name '*.md'",
    ],
)
def test_memory_commands_quoting_walks_and_computed_names_are_still_answered(world, command):
    """A note whose text shows such commands (quoted, or a heredoc's body), and walks of the memory
    root itself, are answered from team memory, not refused."""
    decision, reason, _ = play(world, "Bash", {"command": command})
    assert decision == "allow", reason
