"""``lakeloop install|uninstall codex|gemini`` and ``lakeloop agents``, through the real command
line, against the pinned Codex CLI (trust is recorded and read back by ``codex app-server``) and
Gemini CLI.

The rules: others' hooks stay byte for byte and stay trusted; install then uninstall on an
untouched file gives back its bytes; a second install writes nothing; an edit of our hook makes it
untrusted and ``agents`` says so until the next install; uninstall re-records the trust of hooks
that move up; an invalid config is refused (exit 2) with nothing written anywhere.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lakeloop.agents import registry
from lakeloop.agents.codex_rpc import AppServer, trust_edit
from lakeloop.agents.gemini import BEFORE_TOOL_MATCHER, TIMEOUTS_MS
from tests.support.cli import run_lakeloop
from tests.support.npm import node_dir

#: another tool's hooks.json: odd indentation, two events
OTHERS_HOOKS = """{
   "hooks": {
        "PreToolUse": [
          {"matcher": "Bash", "hooks": [{"type": "command", "command": "other-tool guard", "timeout": 3}]}
        ],
        "SessionStart": [{"hooks": [{"type": "command", "command": "other-tool hello"}]}]
   }
}
"""
GEMINI_SETTINGS = """// my Gemini settings
{
  "security": {"auth": {"selectedType": "gemini-api-key"}}, /* sign-in */
  "hooks": {
    "notifications": true,
    "BeforeTool": [
      {"matcher": "replace", "hooks": [{"name": "g", "type": "command", "command": "g // keep", "timeout": 3000}]}
    ]
  },
  "general": {"enableAutoUpdate": false}
}
"""


def _env(codex_bin: str | None = None, gemini_bin: str | None = None) -> dict[str, str]:
    """The command's environment: node first on PATH (the CLIs are npm launchers), no claude."""
    env = {"PATH": os.pathsep.join([node_dir(), "/usr/bin", "/bin"])}
    if codex_bin:
        env["LAKELOOP_CODEX_BIN"] = codex_bin
    if gemini_bin:
        env["LAKELOOP_GEMINI_BIN"] = gemini_bin
    return env


def _lakeloop(*argv: str, rc: int = 0, **env: str):
    proc = run_lakeloop(*argv, timeout=120, **env)
    assert proc.returncode == rc, f"{argv}: rc {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc


def _codex_home() -> Path:
    return Path.home() / ".codex"


def _trust(codex_bin: str) -> dict[str, tuple[str, str, str]]:
    """``{key: (command, trustStatus, currentHash)}`` of every hook Codex sees, from its app-server."""
    env = {**os.environ, **_env()}
    with AppServer(codex_bin, env=env) as server:
        hooks = server.hooks_list(str(Path.home()))
    return {h["key"]: (h["command"], h["trustStatus"], h["currentHash"]) for h in hooks}


def _trust_by_hand(codex_bin: str, keys: list[str]) -> None:
    """Record hooks as trusted the way Codex's own hooks view does (config/batchWrite)."""
    env = {**os.environ, **_env()}
    with AppServer(codex_bin, env=env) as server:
        listed = {h["key"]: h["currentHash"] for h in server.hooks_list(str(Path.home()))}
        server.batch_write([trust_edit(k, listed[k]) for k in keys])


def _ours(command: str) -> bool:
    return command.endswith((" codex", " gemini")) and "/agent-hooks/hooks/run'" in command


def _agents_json(**env: str) -> dict[str, dict]:
    listed = json.loads(_lakeloop("agents", "--json", **env).stdout)
    assert isinstance(listed, list)
    return {a["agent"]: a for a in listed}


def _backups(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.lakeloop-backup-*"))


def test_codex_install_keeps_other_hooks_byte_for_byte_and_uninstall_restores_the_file(codex_bin):
    """Others' groups stay byte for byte and trusted; ours are appended and trusted; a backup is
    written; uninstall gives back both files exactly."""
    home = _codex_home()
    home.mkdir()
    (home / "hooks.json").write_text(OTHERS_HOOKS)
    other_keys = sorted(_trust(codex_bin))
    assert len(other_keys) == 2
    listed = _trust(codex_bin)
    toml = '# my Codex settings\nmodel = "o4"  # the model\n\n' + "".join(
        f'[hooks.state."{k}"]\ntrusted_hash = "{listed[k][2]}"  # trusted by me\n\n' for k in other_keys
    )
    (home / "config.toml").write_text(toml)
    assert {k: v[1] for k, v in _trust(codex_bin).items()} == dict.fromkeys(other_keys, "trusted")
    env = _env(codex_bin)

    out = _lakeloop("install", "codex", **env).stdout
    assert "codex: installed, trusted, active" in out
    new = (home / "hooks.json").read_text()
    for line in OTHERS_HOOKS.splitlines()[:4]:
        assert line in new
    assert '{"hooks": [{"type": "command", "command": "other-tool hello"}]}' in new
    assert (home / "config.toml").read_text().startswith(toml)
    after = _trust(codex_bin)
    assert {k: after[k][1] for k in other_keys} == dict.fromkeys(other_keys, "trusted")
    ours = {k: v for k, v in after.items() if _ours(v[0])}
    assert len(ours) == 6 and {v[1] for v in ours.values()} == {"trusted"}
    assert [p.name.split(".lakeloop-backup-")[0] for p in _backups(home)] == ["config.toml", "hooks.json"]
    assert (_backups(home)[1]).read_text() == OTHERS_HOOKS

    _lakeloop("uninstall", "codex", **env)
    assert (home / "hooks.json").read_text() == OTHERS_HOOKS
    assert (home / "config.toml").read_text() == toml
    assert {k: v[1] for k, v in _trust(codex_bin).items()} == dict.fromkeys(other_keys, "trusted")


def test_codex_reinstall_is_a_no_op_and_an_edit_is_reported_untrusted_until_reinstalled(codex_bin, tmp_path):
    """A second install writes nothing; an edited timeout of our hook: installed, not trusted; a
    new install trusts again; uninstall removes the files lakeloop created."""
    env = _env(codex_bin)
    _lakeloop("install", "codex", **env)
    home = _codex_home()
    files = [home / "hooks.json", home / "config.toml", tmp_path / "data" / "agents.json"]
    before = [(p.read_bytes(), p.stat().st_mtime_ns) for p in files]

    assert "already installed" in _lakeloop("install", "codex", **env).stdout
    assert [(p.read_bytes(), p.stat().st_mtime_ns) for p in files] == before
    assert _backups(home) == []

    text = (home / "hooks.json").read_text()
    assert text.count('"timeout": 5') == 2  # PreToolUse and SessionEnd
    (home / "hooks.json").write_text(text.replace('"timeout": 5', '"timeout": 7', 1))
    codex = _agents_json(**env)["codex"]
    assert (codex["installed"], codex["trusted"], codex["active"]) == (True, False, False)
    assert any("untrusted" in p for p in codex["problems"])
    local = json.loads(_lakeloop("status", "--json", **env).stdout)["agents"]
    assert [a["trusted"] for a in local if a["agent"] == "codex"] == [False]

    _lakeloop("install", "codex", **env)
    codex = _agents_json(**env)["codex"]
    assert (codex["installed"], codex["trusted"], codex["active"]) == (True, True, True)
    assert (home / "hooks.json").read_text() == text

    _lakeloop("uninstall", "codex", **env)
    assert not (home / "hooks.json").exists() and not (home / "config.toml").exists()
    assert not (tmp_path / "data" / "agent-hooks").exists()


def test_codex_uninstall_keeps_trust_of_hooks_appended_after_ours(codex_bin):
    """A tool that appended its (trusted) hook after ours keeps it trusted when ours go and its
    key moves up one group."""
    env = _env(codex_bin)
    _lakeloop("install", "codex", **env)
    path = _codex_home() / "hooks.json"
    doc = json.loads(path.read_text())
    doc["hooks"]["PreToolUse"].append({"matcher": "*", "hooks": [{"type": "command", "command": "late-tool"}]})
    path.write_text(json.dumps(doc, indent=2))
    late = [k for k, v in _trust(codex_bin).items() if v[0] == "late-tool"]
    assert late == [f"{path}:pre_tool_use:1:0"]
    _trust_by_hand(codex_bin, late)

    _lakeloop("uninstall", "codex", **env)
    assert json.loads(path.read_text()) == {
        "hooks": {"PreToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "late-tool"}]}]}
    }
    now = _trust(codex_bin)
    assert {k: v[:2] for k, v in now.items()} == {f"{path}:pre_tool_use:0:0": ("late-tool", "trusted")}
    assert ":pre_tool_use:1:0" not in (_codex_home() / "config.toml").read_text()


def test_gemini_install_merges_and_uninstall_restores_settings_byte_for_byte(gemini_bin):
    """settings.json with comments and another tool's hook: ours merged (ms timeouts, BeforeTool
    matcher), every other byte kept; a second install writes nothing; uninstall restores it."""
    path = Path.home() / ".gemini" / "settings.json"
    path.parent.mkdir()
    path.write_text(GEMINI_SETTINGS)
    env = _env(gemini_bin=gemini_bin)

    assert "gemini: installed, active" in _lakeloop("install", "gemini", **env).stdout
    new = path.read_text()
    for line in GEMINI_SETTINGS.splitlines()[:6]:
        assert line in new
    from lakeloop.agents.jsonedit import parse

    hooks = parse(new, comments=True)[0]["hooks"]
    assert hooks["notifications"] is True
    ours = {e: g for e, gs in hooks.items() if isinstance(gs, list) for g in gs if _ours(g["hooks"][0]["command"])}
    assert {e: g["hooks"][0]["timeout"] for e, g in ours.items()} == TIMEOUTS_MS
    assert ours["BeforeTool"]["matcher"] == BEFORE_TOOL_MATCHER
    assert {g["hooks"][0]["name"] for g in ours.values()} >= {"lakeloop-PreToolUse", "lakeloop-Stop"}
    gemini = _agents_json(**env)["gemini"]
    assert (gemini["installed"], gemini["trusted"], gemini["version"]) == (True, None, "0.61.0")

    stamp = path.stat().st_mtime_ns
    assert "already installed" in _lakeloop("install", "gemini", **env).stdout
    assert path.stat().st_mtime_ns == stamp and len(_backups(path.parent)) == 1

    disabled = new.replace('"general"', '"hooksConfig": {"disabled": ["lakeloop-PostToolUse"]},\n  "general"')
    path.write_text(disabled)
    gemini = _agents_json(**env)["gemini"]
    assert (gemini["installed"], gemini["active"]) == (True, False)
    assert gemini["problems"] == ["disabled in settings.json (hooksConfig.disabled): lakeloop-PostToolUse"]
    path.write_text(new)

    _lakeloop("uninstall", "gemini", **env)
    assert path.read_text() == GEMINI_SETTINGS


FAKE_CODEX = '#!/bin/sh\necho ran >> "$HOME/fake-codex-ran"\nexit 1\n'


@pytest.mark.parametrize(
    ("agent", "name", "text"),
    [
        ("codex", "hooks.json", '{"hooks": {"PreToolUse": [}'),
        ("codex", "hooks.json", '{"hooks": ["not", "an", "object"]}'),
        ("codex", "config.toml", 'model = "a"\nmodel = = 2\n'),
        ("gemini", "settings.json", '// ok\n{"ui": {}, }'),
        ("gemini", "settings.json", '{"hooks": {"BeforeTool": {"matcher": "x"}}}'),
    ],
)
def test_invalid_config_is_refused_and_left_untouched(agent, name, text, tmp_path):
    """Exit 2, a message naming the file; the files, the data directory (no backup, no hook copy,
    no registry entry) untouched; the agent's binary never run. Uninstall refuses the same way."""
    fake = tmp_path / "fake-bin"
    fake.write_text(FAKE_CODEX)
    fake.chmod(0o755)
    folder = Path.home() / (".codex" if agent == "codex" else ".gemini")
    folder.mkdir()
    (folder / name).write_text(text)
    env = _env(**{f"{agent}_bin": str(fake)})

    for verb in ("install", "uninstall"):
        proc = _lakeloop(verb, agent, rc=2, **env)
        assert f"~/{folder.name}/{name}" in proc.stderr and "nothing was changed" in proc.stderr
        assert f"lakeloop {verb} {agent}" in proc.stderr
    assert sorted(p.name for p in folder.iterdir()) == [name]
    assert (folder / name).read_text() == text
    assert not (tmp_path / "data").exists() or sorted(p.name for p in (tmp_path / "data").iterdir()) == []
    assert not (Path.home() / "fake-codex-ran").exists()


def test_agents_json_lists_path_version_installed_trusted(codex_bin, gemini_bin):
    """Every known agent, found or not, with the issue's keys; Codex's trust from its app-server."""
    env = _env(codex_bin, gemini_bin)
    listed = _agents_json(**env)
    assert list(listed) == ["claude", "codex", "gemini"]
    for row in listed.values():
        assert {"agent", "path", "version", "installed", "trusted", "active", "problems"} <= set(row)
    assert (listed["claude"]["path"], listed["claude"]["installed"]) == (None, False)
    assert (listed["codex"]["path"], listed["codex"]["version"], listed["codex"]["installed"]) == (
        codex_bin,
        "0.169.0",
        False,
    )
    assert (listed["gemini"]["path"], listed["gemini"]["version"]) == (gemini_bin, "0.61.0")

    _lakeloop("install", "codex", **env)
    codex = _agents_json(**env)["codex"]
    assert (codex["installed"], codex["trusted"], codex["active"], codex["problems"]) == (True, True, True, [])
    assert codex["config"] == str(_codex_home() / "hooks.json")
    assert codex["skills_dir"] == str(_codex_home() / "skills")
    table = _lakeloop("agents", **env).stdout.splitlines()
    assert table[0].split()[:5] == ["AGENT", "VERSION", "INSTALLED", "TRUSTED", "ACTIVE"]
    assert table[2].split()[:5] == ["codex", "0.169.0", "yes", "yes", "yes"]


def test_purge_waits_for_the_last_agent(codex_bin, gemini_bin, tmp_path):
    """``uninstall codex --purge`` while Gemini still uses lakeloop purges nothing and says why;
    the last agent's ``--purge`` deletes the data and the team skills pulled into Codex's skills
    directory (its manifest's), never a skill lakeloop did not pull."""
    env = _env(codex_bin, gemini_bin)
    _lakeloop("install", "codex", **env)
    _lakeloop("install", "gemini", **env)
    pulled, own = _codex_home() / "skills" / "team-ref", _codex_home() / "skills" / "my-own"
    for folder in (pulled, own):
        folder.mkdir(parents=True)
        (folder / "SKILL.md").write_text("---\nname: x\n---\n")
    manifest = {"skills": {"team-ref": {"path": str(pulled / "SKILL.md"), "version": 1}}}
    (tmp_path / "data" / "pulled-skills-codex.json").write_text(json.dumps(manifest))

    out = _lakeloop("uninstall", "codex", "--purge", "--yes", **env).stdout
    assert "still used by gemini" in out
    assert (tmp_path / "data" / "agent-hooks" / "hooks" / "run").exists() and pulled.exists()
    _lakeloop("uninstall", "gemini", "--purge", "--yes", **env)
    assert not (tmp_path / "data").exists()
    assert not pulled.exists() and (own / "SKILL.md").exists()


def test_the_agents_hook_copy_is_rewritten_after_an_upgrade_and_keeps_its_interpreter(tmp_path):
    """``hookcopy.ensure_agent_copy`` writes the launcher pinned to the interpreter once (a second
    call writes nothing); after an upgrade (the stamp no longer matches what this lakeloop ships)
    ``refresh_agent_copy_if_stale`` (SessionStart's refresh) rewrites it, still pinned to the
    interpreter it named; without a copy it does nothing."""
    from lakeloop.agents import hookcopy

    assert hookcopy.refresh_agent_copy_if_stale() is False
    interpreter = str(tmp_path / "some python")
    assert hookcopy.ensure_agent_copy(interpreter) is True
    assert hookcopy.ensure_agent_copy(interpreter) is False
    launcher = hookcopy.agent_launcher()
    assert hookcopy.pinned_interpreter(launcher) == interpreter
    assert sorted(p.name for p in launcher.parent.iterdir()) == [".lakeloop-stamp", "entry.py", "run"]
    (launcher.parent / hookcopy.STAMP).write_text("an older release\n")
    launcher.write_text(launcher.read_text().replace("exit 0", "exit 0 # old"))
    assert hookcopy.refresh_agent_copy_if_stale() is True
    assert hookcopy.pinned_interpreter(launcher) == interpreter and "# old" not in launcher.read_text()
    assert hookcopy.refresh_agent_copy_if_stale() is False


def test_without_a_toml_parser_codex_itself_refuses_an_invalid_config_toml(codex_bin):
    """Python 3.10 without ``tomli`` (simulated: neither module importable): ``config.toml`` is
    checked by Codex's own loader (an empty ``config/batchWrite``), still before anything is
    written; a valid file installs as usual."""
    home = _codex_home()
    home.mkdir()
    (home / "config.toml").write_text("model = = 1\n")
    no_parser = "sys.modules['tomllib'] = None\nsys.modules['tomli'] = None"
    proc = run_lakeloop("install", "codex", prelude=no_parser, timeout=120, **_env(codex_bin))
    assert proc.returncode == 2 and "~/.codex/config.toml is not valid TOML" in proc.stderr, proc.stderr
    assert sorted(p.name for p in home.iterdir() if p.suffix in (".json", ".toml") or "backup" in p.name) == [
        "config.toml"
    ]
    (home / "config.toml").write_text('model = "o4"\n')
    proc = run_lakeloop("install", "codex", prelude=no_parser, timeout=120, **_env(codex_bin))
    assert proc.returncode == 0 and "codex: installed, trusted, active" in proc.stdout, proc.stderr


FAKE_CLAUDE = """#!/bin/sh
echo "$*" >> "$HOME/claude-argv"
case "$*" in *--json*) echo '[]' ;; esac
exit 0
"""


def test_install_and_uninstall_without_an_agent_are_claude_code(tmp_path):
    """``lakeloop install`` with no agent is ``lakeloop install claude`` (the plugin copy and
    Claude Code's marketplace flow, as before); so is ``uninstall``; nothing touches Codex or
    Gemini, and an agent that was never installed uninstalls as a no-op."""
    fake = tmp_path / "claude"
    fake.write_text(FAKE_CLAUDE)
    fake.chmod(0o755)
    env = {**_env(), "LAKELOOP_CLAUDE_BIN": str(fake)}
    _lakeloop("install", **env)
    copy = tmp_path / "data" / "claude-plugin"
    assert (Path.home() / "claude-argv").read_text().splitlines() == [
        "plugin marketplace list --json",
        f"plugin marketplace add {copy}",
        "plugin list --json",
        "plugin install lakeloop@lakeloop",
    ]
    _lakeloop("uninstall", **env)
    assert not copy.exists()
    out = _lakeloop("uninstall", "gemini", **_env(gemini_bin=str(fake))).stdout
    assert "were not installed" in out
    assert not (Path.home() / ".codex").exists() and not (Path.home() / ".gemini").exists()


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('{"hooks": {}, "x": 1}', 'top-level member(s) "x" that Codex does not accept'),
        ('{"description": 5, "hooks": {}}', '"description" that is not a string'),
        ('{"hooks": {"Stop": [{"hooks": "x"}]}}', "cannot be read by Codex, which loads none of its hooks"),
    ],
)
def test_codex_install_refuses_a_hooks_file_codex_would_not_load(codex_bin, text, said):
    """Codex skips a whole hooks.json it cannot parse (an unknown top-level member, a wrong type
    anywhere): install refuses it (exit 2), says why, and writes nothing."""
    home = _codex_home()
    home.mkdir()
    (home / "hooks.json").write_text(text)
    proc = _lakeloop("install", "codex", rc=2, **_env(codex_bin))
    assert said in proc.stderr and "~/.codex/hooks.json" in proc.stderr and "nothing was changed" in proc.stderr
    assert (home / "hooks.json").read_text() == text
    assert _backups(home) == [] and not (home / "config.toml").exists()  # (Codex keeps its own state files there)
    assert "codex" not in registry.installed()


def test_codex_install_says_when_codex_cannot_read_the_file_it_wrote(codex_bin):
    """Should Codex fail to parse the file after lakeloop wrote it (here: the check before writing
    is switched off), the error says Codex could not read it, not that the hooks await trust."""
    home = _codex_home()
    home.mkdir()
    (home / "hooks.json").write_text('{"hooks": {"Stop": [{"hooks": "x"}]}}')
    prelude = "import lakeloop.agents.codex_install as ci\nci._codex_loads = lambda *args: None"
    proc = run_lakeloop("install", "codex", prelude=prelude, timeout=120, **_env(codex_bin))
    assert proc.returncode != 0
    assert "Codex could not read ~/.codex/hooks.json" in proc.stderr and "trust them" not in proc.stderr


def test_codex_accepts_a_description_beside_the_hooks(codex_bin):
    home = _codex_home()
    home.mkdir()
    (home / "hooks.json").write_text('{"description": "my hooks", "hooks": {}}')
    assert "codex: installed, trusted, active" in _lakeloop("install", "codex", **_env(codex_bin)).stdout
