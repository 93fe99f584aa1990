"""``lakeloop demo``: the main job, end to end on the embedded store.

Replays the real recorded Claude Code session (``data/claude-code-2.1.330-
hook-payloads.jsonl``: a Skill use of ``db-migrate--alice``, Bash, Read, Grep,
then a resumed turn whose prompt is a negative reaction) through the real hook
entry point ``hooks/run`` as subprocesses, in order, with all state in a
fresh directory. Before the replay the team skill ``db-migrate--alice`` v1 is
pushed to the store. The reaction starts the detached worker, which judges and
publishes version 2; a new session's SessionStart then pulls version 2.

The judge and proposer run through the agent CLI found by the usual rules;
when none is installed (or with ``--scripted``) a scripted stand-in is used and
the output says so.

All state lives under one directory, set for the hooks as ``LAKELOOP_HOME``. With ``--keep`` or
``--dir`` the demo ends with the commands that look around in it (one ``export`` line, then
``lakeloop sessions``...); without them the directory is deleted at the end and its path is never
printed (unless the demo fails: then it is kept, and named, for a look).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lakeloop

PLUGIN_ROOT = Path(lakeloop.__file__).resolve().parents[2]
PAYLOADS = Path(lakeloop.__file__).resolve().parent / "data" / "claude-code-2.1.330-hook-payloads.jsonl"
WAIT_S = 120.0

SKILL_V1 = """---
name: db-migrate--alice
description: Run the project's database migrations with alembic.
---
# db-migrate

Run the project's pending database migrations.

1. Run `alembic upgrade head`.
2. Tell the user the migration ran.

<!-- SLOW_UPDATE_START -->
Team policy (edited by people only): migrations run against the dev database first.
<!-- SLOW_UPDATE_END -->
"""


def _say(text: str) -> None:
    print(text, flush=True)


def _hook(event: str, payload: dict, env: dict) -> float:
    started = time.monotonic()
    subprocess.run(
        [str(PLUGIN_ROOT / "hooks" / "run"), event],
        input=json.dumps(payload).encode(),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
        timeout=60,
    )
    return (time.monotonic() - started) * 1000


#: The per-directory settings that would win over ``LAKELOOP_HOME`` (``lakeloop.paths``).
DIR_SETTINGS = ("LAKELOOP_DATA_DIR", "LAKELOOP_LOG_DIR", "LAKELOOP_SKILLS_DIR")


def _command() -> str:
    """How to run the lakeloop command that runs this demo: ``lakeloop`` when that is on PATH,
    else the one beside this interpreter, else ``python -m lakeloop.cli.main``."""
    beside = Path(sys.executable).parent / "lakeloop"
    found = shutil.which("lakeloop")
    if found and (not beside.exists() or Path(found).resolve() == beside.resolve()):
        return "lakeloop"
    if beside.exists():
        return shlex.quote(str(beside))
    return f"{shlex.quote(sys.executable)} -m lakeloop.cli.main"


def _look_around(base: Path, shadowing: list[str]) -> None:
    """Print the commands that point the CLI at the kept state ``base`` and look around in it;
    ``shadowing``: the ``DIR_SETTINGS`` the user's shell sets (each would win over ``LAKELOOP_HOME``)."""
    _say("look around in the kept state (one line points every lakeloop directory at it):")
    if shadowing:
        _say(f"  unset {' '.join(shadowing)}   # set in your shell; each would win over LAKELOOP_HOME")
    _say(f"  export LAKELOOP_HOME={shlex.quote(str(base))} LAKELOOP_STORE=embedded")
    lakeloop = _command()
    for argv in ("sessions", "skills", "search migration", "skills history db-migrate--alice", "logs"):
        _say(f"  {lakeloop} {argv}")


def _scripted_agent(directory: Path) -> Path:
    script = directory / "scripted-agent-cli"
    script.write_text(
        f'#!/bin/sh\nPYTHONPATH={str(PLUGIN_ROOT / "plugin")!r} exec {sys.executable!r} -m lakeloop.demo_agent "$@"\n'
    )
    script.chmod(0o755)
    return script


def run(args) -> int:
    """Run the demo; exit 0 when version 2 was published and pulled, else 1."""
    if not (PLUGIN_ROOT / "hooks" / "run").exists():
        print(
            f"lakeloop demo needs the plugin checkout (hooks/run not found under {PLUGIN_ROOT}); "
            "install with `pip install -e .` from the repository"
        )
        return 1
    base = Path(args.dir).resolve() if args.dir else Path(tempfile.mkdtemp(prefix="lakeloop-demo-"))
    base.mkdir(parents=True, exist_ok=True)
    kept = bool(args.dir or args.keep)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKELOOP_")}
    env.update(
        LAKELOOP_HOME=str(base),  # data/, log/ and skills/ under base (lakeloop.paths)
        LAKELOOP_USER="dev",
        LAKELOOP_PYTHON=sys.executable,
        LAKELOOP_INVOCATION_BACKOFF_S="0.5",
        LAKELOOP_STORE="embedded",
    )  # the demo never touches a team's Deeplake, even with credentials
    os.environ.update({k: v for k, v in env.items() if k.startswith("LAKELOOP_")})
    shadowing = [name for name in DIR_SETTINGS if os.environ.get(name, "").strip()]
    for name in DIR_SETTINGS:  # this process opens the store too: LAKELOOP_HOME must decide
        os.environ.pop(name, None)

    from ..skillopt.agent import find_claude

    real = None if getattr(args, "scripted", False) else find_claude()
    if real:
        env["LAKELOOP_CLAUDE_BIN"] = real
        agent_label = f"agent CLI: {real} (real model calls)"
    else:
        env["LAKELOOP_CLAUDE_BIN"] = str(_scripted_agent(base))
        agent_label = "agent CLI: SCRIPTED STAND-IN (no agent CLI installed; no model is called)"
    os.environ["LAKELOOP_CLAUDE_BIN"] = env["LAKELOOP_CLAUDE_BIN"]

    if kept:
        _say(f"lakeloop demo: embedded store under {base}")
    else:
        _say("lakeloop demo: embedded store in a temporary directory, deleted at the end (--keep keeps it)")
    _say(agent_label)
    skill_dir = base / "authoring" / "db-migrate"
    skill_dir.mkdir(parents=True, exist_ok=True)
    (skill_dir / "SKILL.md").write_text(SKILL_V1)
    from ..skillopt.publish import push

    row = push(skill_dir, name="db-migrate", author="alice")
    _say(f"1. alice shares her skill: {row.ref} v{row.version} in the store")

    payloads = [json.loads(line) for line in PAYLOADS.read_text().splitlines() if line.strip()]
    _say(f"2. replaying {len(payloads)} recorded hook events through hooks/run:")
    for payload in payloads:
        event = payload["hook_event_name"]
        ms = _hook(event, payload, env)
        what = payload.get("tool_name") or payload.get("prompt") or payload.get("source") or payload.get("reason") or ""
        _say(f"   {event:<17} {str(what)[:60]:<60} {ms:6.0f} ms")

    from ..store import open_store

    deadline = time.monotonic() + WAIT_S
    version = None
    while time.monotonic() < deadline:
        with open_store() as store:
            current = store.current_skill("db-migrate", "alice")
        version = current.version if current else None
        if version and version >= 2:
            break
        time.sleep(0.2)
    outcomes = [
        line.split("pid=", 1)[-1]
        for line in (base / "log" / "lakeloop.log").read_text().splitlines()
        if "worker outcome=" in line or "judge:" in line
    ]
    for line in outcomes:
        _say(f"3. worker: {line.split(' ', 1)[-1]}")
    if not version or version < 2:
        _say(f"FAILED: no version 2 published within {WAIT_S:.0f} s; kept for a look: {base / 'log' / 'lakeloop.log'}")
        return 1

    new_session = {
        "session_id": "demo-next-session",
        "transcript_path": "",
        "cwd": str(base),
        "hook_event_name": "SessionStart",
        "source": "startup",
    }
    _hook("SessionStart", new_session, env)
    pulled = base / "skills" / "db-migrate--alice" / "SKILL.md"
    manifest = json.loads((base / "data" / "pulled-skills.json").read_text())
    pulled_version = manifest["skills"]["db-migrate--alice"]["version"]
    shown = pulled if kept else pulled.relative_to(base)
    _say(f"4. a teammate's next session pulls {shown} (v{pulled_version}):")
    for line in pulled.read_text().splitlines():
        marker = "+" if line not in SKILL_V1.splitlines() else " "
        _say(f"   {marker} {line}")
    ok = pulled_version >= 2
    _say("RESULT: version 2 published and pulled" if ok else "FAILED: version 2 not pulled")
    if kept or not ok:
        _say(f"log file: {base / 'log' / 'lakeloop.log'}")
        _look_around(base, shadowing)
    else:
        shutil.rmtree(base, ignore_errors=True)
    return 0 if ok else 1
