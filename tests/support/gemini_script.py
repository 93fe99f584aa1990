"""Scripted model answers for Gemini CLI runs offline (``--fake-responses-non-strict FILE``).

Gemini CLI 0.61.0 replays a JSONL file instead of calling the API: each line is
``{"method": M, "response": R}``. In non-strict mode each call takes the first unused line of its
method, so every method is a queue of its own:

* ``generateContentStream``: one line per model turn of the main agent (or of a ``gemini -p``
  judge run), ``R`` being the list of streamed chunks; a turn is either a ``functionCall`` (the
  tool runs, then the next turn is taken) or text (the turn ends).
* ``generateContent``: the model router's side calls (a JSON choosing a model); spare lines are
  harmless, a missing one fails the run ("No more mock responses").
* ``countTokens``: the same, for token counting.

The file is read once per process and replayed from its start, so every ``gemini`` process needs a
file of its own. ``FakeQueue`` gives the ``gemini`` calls lakeloop's worker makes (judge, proposer)
one file each: ``LAKELOOP_GEMINI_BIN`` points to a ``sh`` wrapper that takes the next file of a
queue directory (in name order), keeps the call's argv and stdin, and execs the real CLI with
``--fake-responses-non-strict <that file>`` appended.

The fake mode never shows what the model was sent: a test observes hook payloads (``HookProbe``:
another tool's hook logging the raw payloads it gets) and stored rows. ``gemini_env`` and
``gemini_settings`` build the environment and ``settings.json`` of an offline run; ``run_gemini``
runs one ``gemini -p`` turn.

Example::

    script = Turns().shell("echo hi").text("done")
    script.write(tmp_path / "turns.jsonl")
    run_gemini(gemini_bin, "run it", tmp_path / "turns.jsonl", env, project)
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.npm import node_env

__all__ = ["FakeQueue", "HookProbe", "Turns", "gemini_env", "gemini_settings", "run_gemini"]

#: spare router (``generateContent``) and ``countTokens`` lines written with every file
SPARE_LINES = 12
_ROUTE = json.dumps({"reasoning": "scripted", "model_choice": "flash", "next_speaker": "user"})
_USAGE = {"promptTokenCount": 5, "candidatesTokenCount": 3, "totalTokenCount": 8}


def _candidate(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": _USAGE,
    }


class Turns:
    """The main agent's model turns, in order; :meth:`write` makes the fake-responses file."""

    def __init__(self) -> None:
        self.turns: list[list[dict[str, Any]]] = []

    def call(self, name: str, args: dict[str, Any]) -> Turns:
        """A turn calling tool ``name`` with ``args`` (``run_shell_command``, ``activate_skill``...)."""
        self.turns.append([{"functionCall": {"name": name, "args": args}}])
        return self

    def shell(self, command: str) -> Turns:
        """A turn running ``command`` with ``run_shell_command``."""
        return self.call("run_shell_command", {"command": command, "description": "scripted"})

    def text(self, text: str) -> Turns:
        """A turn answering ``text`` (ends the agent's turn)."""
        self.turns.append([{"text": text}])
        return self

    def lines(self) -> list[dict[str, Any]]:
        """The fake-responses lines: one ``generateContentStream`` per turn, then spare router and
        ``countTokens`` lines."""
        out: list[dict[str, Any]] = [
            {"method": "generateContentStream", "response": [_candidate(parts)]} for parts in self.turns
        ]
        out += [{"method": "generateContent", "response": _candidate([{"text": _ROUTE}])}] * SPARE_LINES
        out += [{"method": "countTokens", "response": {"totalTokens": 5}}] * SPARE_LINES
        return out

    def write(self, path: Path) -> Path:
        """Write the file (JSONL) at ``path``; returns ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(line) + "\n" for line in self.lines()))
        return path


class FakeQueue:
    """A queue of fake-responses files and the ``sh`` wrapper handing them out, one per process.

    A call without ``-p``/``--prompt`` (``--version``) runs the real CLI as it is. Otherwise
    ``root/queue/NNN.jsonl`` wait; the wrapper renames the first one into ``root/used/`` (a rename,
    so two processes never take the same file), saves the call's argv (``NNN.argv``, one argument
    per line) and stdin (``NNN.stdin``) there, and execs ``gemini ARGS --fake-responses-non-strict
    FILE`` with ``node`` first on PATH. An empty queue: exit 3 with "no scripted gemini reply left".
    """

    def __init__(self, root: Path, gemini_bin: str) -> None:
        self.root = root
        self.queue = root / "queue"
        self.used = root / "used"
        self.queue.mkdir(parents=True, exist_ok=True)
        self.used.mkdir(exist_ok=True)
        self._count = 0
        self.wrapper = root / "gemini-wrapper"
        node_path = node_env()["PATH"]
        gemini = shlex.quote(gemini_bin)
        self.wrapper.write_text(
            "#!/bin/sh\n"
            f"queue={shlex.quote(str(self.queue))}; used={shlex.quote(str(self.used))}\n"
            f"PATH={shlex.quote(node_path)}; export PATH\n"
            'case " $* " in *" -p "*|*" --prompt "*|*" --prompt="*) ;; *) exec ' + gemini + ' "$@" ;; esac\n'
            'for f in "$queue"/*.jsonl; do\n'
            '  [ -e "$f" ] || break\n'
            '  name=$(basename "$f" .jsonl)\n'
            '  if mv "$f" "$used/$name.jsonl" 2>/dev/null; then\n'
            '    printf "%s\\n" "$@" > "$used/$name.argv"\n'
            '    cat > "$used/$name.stdin"\n'
            f'    exec {gemini} "$@" --fake-responses-non-strict "$used/$name.jsonl" '
            '< "$used/$name.stdin"\n'
            "  fi\n"
            "done\n"
            'echo "no scripted gemini reply left in $queue" >&2\n'
            "exit 3\n"
        )
        self.wrapper.chmod(0o755)

    def add(self, turns: Turns) -> Path:
        """Queue one process's file (after those already queued); returns its path in the queue."""
        self._count += 1
        return turns.write(self.queue / f"{self._count:03d}.jsonl")

    def calls(self) -> list[tuple[list[str], str]]:
        """``(argv, stdin)`` of every call that took a file, in queue order."""
        out = []
        for argv_file in sorted(self.used.glob("*.argv")):
            stdin = argv_file.with_suffix(".stdin")
            out.append((argv_file.read_text().splitlines(), stdin.read_text() if stdin.exists() else ""))
        return out

    def left(self) -> int:
        """How many files still wait."""
        return len(list(self.queue.glob("*.jsonl")))


_PROBE = """import json, sys
data = sys.stdin.read()
with open(sys.argv[1], "a") as fh:
    fh.write(json.dumps({"event": sys.argv[2], "payload": json.loads(data or "{}")}) + "\\n")
"""


class HookProbe:
    """Another tool's hook, as a user may have one: a Python script appending each payload it gets
    to ``log`` (JSONL ``{"event", "payload"}``) and printing nothing. ``group(event)`` is a
    ``settings.json`` hook group running it, to put in the settings before lakeloop is installed."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.script = root / "probe_hook.py"
        self.script.write_text(_PROBE)
        self.log = root / "probe.jsonl"

    def group(self, event: str, matcher: str = "") -> dict[str, Any]:
        """A hook group for ``event`` (with ``matcher``) running the probe."""
        command = f"{shlex.quote(sys.executable)} {shlex.quote(str(self.script))} {shlex.quote(str(self.log))} {event}"
        hook = {"name": f"probe-{event}", "type": "command", "command": command, "timeout": 10000}
        return {"matcher": matcher, "hooks": [hook]}

    def payloads(self, event: str) -> list[dict[str, Any]]:
        """The payloads the probe got for ``event``, in order."""
        if not self.log.exists():
            return []
        entries = [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]
        return [e["payload"] for e in entries if e["event"] == event]


def gemini_settings(**extra: Any) -> dict[str, Any]:
    """A ``settings.json`` for an offline run: API-key auth (the key is ``gemini_env``'s), no usage
    statistics, no auto update; ``extra`` members are added at the top level."""
    settings: dict[str, Any] = {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "privacy": {"usageStatisticsEnabled": False},
        "general": {"enableAutoUpdate": False},
    }
    settings.update(extra)
    return settings


def gemini_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of an offline Gemini CLI run: this process's without ``GEMINI*``,
    ``GOOGLE*`` and ``LAKELOOP_SKILLS_DIR`` (Claude Code's skills directory), with ``HOME=home``,
    a test API key, ``node`` first on PATH and the hooks run by this interpreter
    (``LAKELOOP_PYTHON``); ``extra`` is added last."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI", "GOOGLE", "LAKELOOP_SKILLS_DIR"))}
    env = node_env(env)
    env.update(HOME=str(home), GEMINI_API_KEY="test-key", LAKELOOP_PYTHON=sys.executable, NO_COLOR="1")
    env.update(extra)
    return env


def run_gemini(
    gemini_bin: str, prompt: str, responses: Path, env: dict[str, str], cwd: Path, *extra: str, timeout: float = 120
) -> dict[str, Any]:
    """One ``gemini -p PROMPT --yolo --skip-trust -o json --fake-responses-non-strict RESPONSES``
    turn (``extra`` arguments before ``-p``, e.g. ``--resume ID``); asserts exit 0; returns the
    output JSON (``session_id``, ``response``...)."""
    proc = subprocess.run(
        [gemini_bin, *extra, "-p", prompt, "--yolo", "--skip-trust", "-o", "json"]
        + ["--fake-responses-non-strict", str(responses)],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    out: dict[str, Any] = json.loads(proc.stdout)
    return out
