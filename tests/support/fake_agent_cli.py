"""Fake agent CLIs (``claude``, ``codex``, ``gemini``) for the tool-less model calls.

``fake_cli(folder, agent, body)`` writes an executable Python script that records each run to
``folder/calls.jsonl`` (argv, stdin, working directory and its mode, ``LAKELOOP_WORKER``, its
process group, and the
text and mode of the files the call hands over: Codex's ``model_instructions_file``, Gemini's
``GEMINI_SYSTEM_MD``, ``GEMINI_CLI_SYSTEM_SETTINGS_PATH`` and ``--policy`` file), then runs
``body``. ``REPLY[agent]`` is a body answering "REPLY" the way that agent's CLI does (Claude
Code: JSON ``result``; Codex: the ``-o`` file; Gemini: JSON ``response``). ``calls(folder)``
reads the records back.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

REPLY = {
    "claude": 'print(json.dumps({"type": "result", "is_error": False, "result": "REPLY"}))',
    "codex": 'open(argv[argv.index("-o") + 1], "w").write("REPLY")',
    "gemini": 'print(json.dumps({"session_id": "s", "response": "REPLY", "stats": {}}))',
}

_SCRIPT = """#!/usr/bin/env python3
import json, os, stat, sys
argv = sys.argv[1:]
data = sys.stdin.read()

def handed(path):
    try:
        return {{"text": open(path).read(), "mode": stat.S_IMODE(os.stat(path).st_mode)}}
    except (OSError, TypeError):
        return None

files = {{}}
for arg in argv:
    if arg.startswith("model_instructions_file="):
        files["instructions"] = handed(json.loads(arg.split("=", 1)[1]))
if "--policy" in argv:
    files["policy"] = handed(argv[argv.index("--policy") + 1])
for name in ("GEMINI_SYSTEM_MD", "GEMINI_CLI_SYSTEM_SETTINGS_PATH"):
    if name in os.environ:
        files[name] = handed(os.environ[name])
record = {{
    "argv": argv,
    "stdin": data,
    "cwd": os.getcwd(),
    "cwd_mode": stat.S_IMODE(os.stat(os.getcwd()).st_mode),
    "worker": os.environ.get("LAKELOOP_WORKER"),
    "pgid": os.getpgrp(),
    "files": files,
}}
with open({record!r}, "a") as fh:
    fh.write(json.dumps(record) + "\\n")
{body}
"""


def fake_cli(folder: Path, agent: str, body: str | None = None) -> Path:
    """An executable fake of ``agent``'s CLI in ``folder`` running ``body`` (default
    ``REPLY[agent]``) after recording the call; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / f"fake-{agent}"
    script.write_text(_SCRIPT.format(record=str(folder / "calls.jsonl"), body=body or REPLY[agent]))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def calls(folder: Path) -> list[dict[str, Any]]:
    """The recorded runs of the fakes in ``folder``, in order."""
    path = folder / "calls.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
