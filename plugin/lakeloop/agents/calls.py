"""The judge's, proposer's and summariser's model calls: one tool-less, non-interactive turn
through the agent CLI that produced the session.

Rules shared by every agent (the transcript in the prompt is untrusted text):

* the prompt goes on **stdin**, never in argv (argv is visible to every user of the machine);
* the child's environment is the caller's ``env`` (``detach.worker_env()``: ``LAKELOOP_WORKER=1``,
  so lakeloop's own hooks in the child capture nothing);
* its working directory is a fresh 0700 folder ``<data dir>/agent-runs/<random>`` (no project
  instructions file, no repository), which also holds the 0600 files the call needs (system
  prompt, settings, reply) and is removed afterwards;
* the run is bounded by ``timeout_s`` seconds of wall clock; on expiry the child and all its
  descendants are killed (the npm launchers of Codex and Gemini start the real binary as a
  child). The child stays in the caller's process group, so the job runner's kill of a job's
  group reaches it too;
* any failure (binary missing, timeout, non-zero exit, no reply) raises
  ``lakeloop.errors.AgentError`` whose message holds at most 200 characters of the output.

The three command lines:

* **Claude Code**: ``claude -p --model M --system-prompt S --tools "" --strict-mcp-config
  --no-session-persistence --output-format json``; the reply is the JSON's ``result``.
* **Codex CLI**: ``codex exec --ephemeral --skip-git-repo-check`` with the ``hooks``, shell
  (``shell_tool``, ``unified_exec``) and every other tool-bearing feature disabled, a read-only
  sandbox, ``request_user_input``/``update_plan``/web search off, no skills, apps or environment
  instructions, each MCP server of ``$CODEX_HOME/config.toml`` disabled by name, the system
  prompt as ``model_instructions_file`` (it replaces Codex's base instructions), ``-o`` the reply
  file, ``-`` (prompt from stdin). Checked with Codex 0.169.0 against a loopback Responses API:
  the request offers **no tool at all** and no hook fires.
* **Gemini CLI**: ``gemini -p "" -o json --skip-trust --policy <deny every tool>
  --allowed-mcp-server-names <none> -e none`` with ``GEMINI_SYSTEM_MD`` (the system prompt
  replaces Gemini's own) and ``GEMINI_CLI_SYSTEM_SETTINGS_PATH`` (the machine's system settings,
  if any, plus hooks off, ``tools.core`` empty, no MCP servers); the reply is the JSON's
  ``response``. Checked with Gemini 0.61.0 against a loopback Gemini API: the request's
  ``functionDeclarations`` is empty and no hook fires. Gemini skips a system settings file whose
  folder or any parent folder is writable by group or others (a data dir under ``/tmp``); the
  deny-all policy still removes every tool then, but the user's own Gemini hooks run (lakeloop's
  hooks see ``LAKELOOP_WORKER=1`` and do nothing); that case is logged as a warning. Gemini's
  chat record of the run (``~/.gemini/tmp/<project>/``) is removed afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from contextlib import contextmanager
from pathlib import Path

from ..errors import AgentError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

#: characters of a child's output an error message may carry
MAX_ERROR_CHARS = 200
#: seconds to wait for a killed child's pipes to close
KILL_WAIT_S = 5.0

#: Codex features turned off for a model call (hooks, the shell, and every tool-bearing feature)
CODEX_DISABLED_FEATURES = (
    "hooks",
    "shell_tool",
    "unified_exec",
    "multi_agent",
    "goals",
    "view_image",
    "apps",
    "plugins",
)
#: Codex settings for a model call (TOML values): no remaining tool, no extra instructions
CODEX_SETTINGS = (
    'web_search="disabled"',
    "tools.experimental_request_user_input.enabled=false",
    "tools.update_plan.enabled=false",
    "skills.include_instructions=false",
    "include_environment_context=false",
    "include_apps_instructions=false",
)
#: Gemini policy denying every tool, built-in or MCP (denied tools are not offered to the model)
GEMINI_DENY_ALL = """[[rule]]
toolName = "*"
decision = "deny"
priority = 999

[[rule]]
toolName = "*"
mcpName = "*"
decision = "deny"
priority = 999
"""
#: a name no MCP server has: ``--allowed-mcp-server-names`` with it starts none
GEMINI_NO_MCP = "lakeloop-no-mcp-server"
#: Gemini's system settings file when ``GEMINI_CLI_SYSTEM_SETTINGS_PATH`` is unset (Linux)
GEMINI_SYSTEM_SETTINGS = "/etc/gemini-cli/settings.json"


@contextmanager
def run_dir() -> Iterator[Path]:
    """A fresh 0700 folder ``<data dir>/agent-runs/<random hex>``, removed (with everything in
    it) on exit. Raises AgentError when it cannot be made."""
    import secrets
    import shutil

    from ..paths import data_dir

    parent = data_dir() / "agent-runs"
    path = parent / secrets.token_hex(8)
    try:
        parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.mkdir(mode=0o700)
    except OSError as exc:
        raise AgentError(f"cannot make the agent run folder: {exc}") from None
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def private_file(folder: Path, name: str, text: str) -> Path:
    """Write ``text`` to ``folder/name`` with mode 0600 (created new). Raises AgentError."""
    path = folder / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise AgentError(f"cannot write {name} for the agent CLI: {exc}") from None
    return path


def run_cli(argv: list[str], prompt: str, env: Mapping[str, str], timeout_s: float, cwd: Path) -> tuple[str, str]:
    """Run ``argv`` with ``prompt`` on stdin in ``cwd``; returns ``(stdout, stderr)`` (UTF-8,
    undecodable bytes replaced). Raises AgentError when it cannot start, runs longer than
    ``timeout_s`` seconds (it and its descendants are killed), or exits non-zero."""
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=str(cwd),
            encoding="utf-8",
            errors="replace",
        )
    except OSError as exc:
        raise AgentError(f"agent CLI could not start: {exc}") from None
    try:
        out, err = proc.communicate(prompt, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_tree(proc)
        raise AgentError(f"agent CLI timed out after {timeout_s:.0f} s") from None
    except BaseException:
        _kill_tree(proc)
        raise
    if proc.returncode != 0:
        raise AgentError(f"agent CLI exited {proc.returncode}: {(err or out)[-MAX_ERROR_CHARS:]!r}")
    return out, err


def _kill_tree(proc: subprocess.Popen[str]) -> None:
    """SIGKILL ``proc`` and every descendant found when it is called, then reap ``proc``."""
    for pid in [proc.pid, *descendants(proc.pid)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:  # gone already
            pass
    try:
        proc.communicate(timeout=KILL_WAIT_S)
    except (subprocess.TimeoutExpired, OSError, ValueError):
        pass


def descendants(pid: int) -> list[int]:
    """Pids of the processes descending from ``pid`` (children first), from ``/proc`` where there
    is one, else ``ps -A -o pid=,ppid=`` (bounded to 5 s); ``[]`` when neither can be read."""
    parents: dict[int, int] = {}
    if os.path.isdir("/proc/self"):
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat", "rb") as fh:
                        parents[int(entry)] = int(fh.read().rsplit(b")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    pass
    else:
        try:
            out = subprocess.run(["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True, timeout=5).stdout
        except (OSError, subprocess.SubprocessError):
            return []
        for line in out.splitlines():
            fields = line.split()
            if len(fields) == 2 and fields[0].isdigit() and fields[1].isdigit():
                parents[int(fields[0])] = int(fields[1])
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(0), []):
            if child not in found:
                found.append(child)
                todo.append(child)
    return found


def _json_reply(out: str, key: str) -> str:
    """The string at ``key`` of the JSON object printed on ``out``. Raises AgentError."""
    try:
        data = json.loads(out)
    except ValueError:
        start = out.find("{")
        try:
            data = json.loads(out[start:]) if start >= 0 else None
        except ValueError:
            data = None
        if data is None:
            raise AgentError(f"agent CLI printed no JSON: {out[:MAX_ERROR_CHARS]!r}") from None
    if not isinstance(data, dict) or data.get("is_error") or data.get("error") or not isinstance(data.get(key), str):
        raise AgentError(f"agent CLI reported an error: {str(data)[:MAX_ERROR_CHARS]!r}")
    return data[key]


# -- Claude Code ---------------------------------------------------------------------------------


def claude_argv(binary: str, system: str, model: str) -> list[str]:
    """``claude -p`` with no tools, no MCP servers, no session file and JSON output."""
    return [
        binary,
        "-p",
        "--model",
        model,
        "--system-prompt",
        system,
        "--tools",
        "",
        "--strict-mcp-config",
        "--no-session-persistence",
        "--output-format",
        "json",
    ]


def claude_call(binary: str, prompt: str, system: str, model: str, timeout_s: float, env: Mapping[str, str]) -> str:
    """One tool-less ``claude -p`` turn (module docstring); returns the JSON's ``result``.
    Raises AgentError."""
    with run_dir() as folder:
        out, _ = run_cli(claude_argv(binary, system, model), prompt, env, timeout_s, folder)
    return _json_reply(out, "result")


# -- Codex CLI -----------------------------------------------------------------------------------


def codex_mcp_servers(config_toml: Path) -> list[str]:
    """Names of the MCP servers ``config_toml`` (Codex's ``config.toml``) declares, each a
    ``[A-Za-z0-9_-]+`` name (Codex allows no other); ``[]`` when the file is missing or has none.
    A file the TOML reader cannot parse is scanned for ``[mcp_servers.<name>...]`` headers."""
    import re

    try:
        text = config_toml.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    names: list[str] = []
    try:
        try:
            import tomllib  # type: ignore[import-not-found,unused-ignore]
        except ImportError:  # Python 3.10
            import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]
        servers = tomllib.loads(text).get("mcp_servers")
        names = list(servers) if isinstance(servers, dict) else []
    except Exception:  # no TOML reader, or a file Codex itself would refuse: scan the headers
        names = re.findall(r'(?m)^\s*\[\s*mcp_servers\s*\.\s*"?([A-Za-z0-9_-]+)"?\s*[].]', text)
    return sorted({n for n in names if re.fullmatch(r"[A-Za-z0-9_-]+", n)})


def codex_argv(binary: str, instructions: Path, reply: Path, model: str, mcp_servers: list[str]) -> list[str]:
    """``codex exec`` with hooks, shell and every tool off, ``instructions`` as the system prompt
    file, ``reply`` as the last-message file and the prompt read from stdin (``-``)."""
    argv = [binary, "exec", "--ephemeral", "--skip-git-repo-check", "-s", "read-only"]
    for feature in CODEX_DISABLED_FEATURES:
        argv += ["--disable", feature]
    for setting in CODEX_SETTINGS:
        argv += ["-c", setting]
    for name in mcp_servers:
        argv += ["-c", f"mcp_servers.{name}.enabled=false"]
    argv += ["-c", f"model_instructions_file={json.dumps(str(instructions))}"]
    if model:
        argv += ["-m", model]
    return [*argv, "-o", str(reply), "-"]


def codex_call(binary: str, prompt: str, system: str, model: str, timeout_s: float, env: Mapping[str, str]) -> str:
    """One tool-less ``codex exec`` turn (module docstring); returns the last message's text.
    ``model`` empty: Codex's configured model. Raises AgentError."""
    home = env.get("CODEX_HOME", "").strip() or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".codex")
    servers = codex_mcp_servers(Path(os.path.expanduser(home)) / "config.toml")
    with run_dir() as folder:
        instructions = private_file(folder, "instructions.md", system)
        reply = private_file(folder, "reply.txt", "")
        run_cli(codex_argv(binary, instructions, reply, model, servers), prompt, env, timeout_s, folder)
        try:
            text = reply.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise AgentError(f"agent CLI left no reply: {exc}") from None
    if not text.strip():
        raise AgentError("agent CLI printed no reply")
    return text


# -- Gemini CLI ----------------------------------------------------------------------------------


def gemini_argv(binary: str, policy: Path, model: str) -> list[str]:
    """``gemini -p ""`` (the prompt comes on stdin) with JSON output, every tool denied by
    ``policy``, no MCP server and no extension."""
    argv = [binary, "-p", "", "-o", "json", "--skip-trust", "--policy", str(policy)]
    argv += ["--allowed-mcp-server-names", GEMINI_NO_MCP, "-e", "none"]
    return [*argv, "-m", model] if model else argv


def gemini_system_settings(env: Mapping[str, str]) -> dict:
    """The machine's Gemini system settings (``GEMINI_CLI_SYSTEM_SETTINGS_PATH``, else
    ``/etc/gemini-cli/settings.json``; ``{}`` when missing or not a JSON object) with lakeloop's
    overrides for a model call: hooks off, no built-in tool, no MCP server."""
    from ..fsutil import read_json

    base = read_json(Path(env.get("GEMINI_CLI_SYSTEM_SETTINGS_PATH") or GEMINI_SYSTEM_SETTINGS))
    settings = dict(base) if isinstance(base, dict) else {}
    hooks_config = settings.get("hooksConfig")
    settings["hooksConfig"] = {**(hooks_config if isinstance(hooks_config, dict) else {}), "enabled": False}
    tools = settings.get("tools")
    settings["tools"] = {**(tools if isinstance(tools, dict) else {}), "core": []}
    settings["mcpServers"] = {}
    return settings


def gemini_call(binary: str, prompt: str, system: str, model: str, timeout_s: float, env: Mapping[str, str]) -> str:
    """One tool-less ``gemini -p`` turn (module docstring); returns the JSON's ``response``.
    ``model`` empty: Gemini's configured model. Raises AgentError."""
    with run_dir() as folder:
        child = dict(env)
        child["GEMINI_SYSTEM_MD"] = str(private_file(folder, "system.md", system))
        settings = json.dumps(gemini_system_settings(env))
        child["GEMINI_CLI_SYSTEM_SETTINGS_PATH"] = str(private_file(folder, "system-settings.json", settings))
        open_folder = writable_by_others(folder)
        if open_folder is not None:
            import logging

            logging.getLogger("lakeloop.agents").warning(
                "gemini model call: %s is writable by group or others, so Gemini CLI ignores lakeloop's "
                "system settings (hooks off); every tool stays denied by policy, but the user's own "
                "Gemini hooks run during this call",
                open_folder,
            )
        policy = private_file(folder, "deny-all-tools.toml", GEMINI_DENY_ALL)
        try:
            out, _ = run_cli(gemini_argv(binary, policy, model), prompt, child, timeout_s, folder)
        finally:
            gemini_forget_run(env, folder)
    return _json_reply(out, "response")


def writable_by_others(folder: Path) -> Path | None:
    """The first of ``folder`` and its parents that its group or other users may write to (Gemini
    CLI then refuses a settings file below it), or None."""
    for path in [folder, *folder.parents]:
        try:
            if os.stat(path).st_mode & 0o022:
                return path
        except OSError:
            return path
    return None


def gemini_forget_run(env: Mapping[str, str], cwd: Path) -> None:
    """Remove the record Gemini CLI keeps of a run in ``cwd`` (the chat file under
    ``~/.gemini/tmp/<slug>/`` and ``~/.gemini/history/<slug>/``, where ``projects.json`` maps
    ``cwd`` to ``slug``): a model call's transcript is not kept, as ``claude -p
    --no-session-persistence`` and ``codex exec --ephemeral`` keep none. ``projects.json`` itself
    is left as it is (other Gemini processes write it). Never raises."""
    import shutil

    from ..fsutil import read_json

    home = Path(env.get("GEMINI_CLI_HOME") or env.get("HOME") or os.path.expanduser("~")) / ".gemini"
    data = read_json(home / "projects.json")
    projects = data.get("projects") if isinstance(data, dict) else None
    if not isinstance(projects, dict):
        return
    for key in {str(cwd), os.path.realpath(cwd)}:
        slug = projects.get(key)
        if isinstance(slug, str) and slug not in ("", ".", "..") and "/" not in slug and "\\" not in slug:
            for part in ("tmp", "history"):
                shutil.rmtree(home / part / slug, ignore_errors=True)
