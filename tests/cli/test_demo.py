"""``lakeloop demo`` leads into the tool: with ``--keep`` it ends with the exact commands that look
around in the kept state (one ``export`` line, then ``lakeloop ...``), and those commands work;
without it, it prints no path of the directory it deletes."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from tests.support.repo import REPO


def _demo(tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    """Run ``lakeloop demo --scripted EXTRA`` as a user would: none of the test's lakeloop settings,
    its temporary directory under ``tmp_path/tmp``. Returns the finished process and its env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKELOOP_")}
    env["PYTHONPATH"] = str(REPO / "plugin")
    env["TMPDIR"] = str(tmp_path / "tmp")
    (tmp_path / "tmp").mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "lakeloop.cli.main", "demo", "--scripted", *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc, env


def test_demo_keep_ends_with_commands_that_look_around_in_the_kept_state(tmp_path):
    """The printed ``export`` line alone points sessions, skills, search and logs at the kept state,
    even for a user whose shell sets other lakeloop directories (the demo says to unset them)."""
    proc, env = _demo(tmp_path, "--keep")
    lines = proc.stdout.splitlines()
    start = lines.index("look around in the kept state (one line points every lakeloop directory at it):")
    commands = [line.strip() for line in lines[start + 1 :]]
    export = next(c for c in commands if c.startswith("export "))
    settings = dict(word.split("=", 1) for word in shlex.split(export)[1:])
    kept = Path(settings["LAKELOOP_HOME"])
    assert kept.parent == tmp_path / "tmp" and (kept / "data" / "store.sqlite3").exists()
    assert settings["LAKELOOP_STORE"] == "embedded"

    shell_env = {**env, **settings}  # a fresh shell after the export line, with nothing else set
    outputs = {}
    for command in commands:
        if command.startswith(("export ", "unset ")):
            continue
        argv = shlex.split(command)
        out = subprocess.run(argv, env=shell_env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, (command, out.stdout, out.stderr)
        outputs[argv[-1] if argv[-1] != "migration" else "search"] = out.stdout
    assert {"sessions", "skills", "search", "logs"} <= set(outputs), commands
    assert "db-migrate" in outputs["skills"]
    assert "migration" in outputs["search"].lower()
    assert "worker outcome=published" in outputs["logs"]
    assert "no sessions" not in outputs["sessions"].lower() and outputs["sessions"].strip()


def test_demo_keep_says_to_unset_directories_that_would_win(tmp_path):
    """A shell that sets ``LAKELOOP_DATA_DIR`` would keep the CLI off the kept state: the demo
    names it in an ``unset`` line before the export."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKELOOP_")}
    env.update(PYTHONPATH=str(REPO / "plugin"), LAKELOOP_DATA_DIR=str(tmp_path / "mine"))
    proc = subprocess.run(
        [sys.executable, "-m", "lakeloop.cli.main", "demo", "--scripted", "--dir", str(tmp_path / "demo")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "  unset LAKELOOP_DATA_DIR   #" in proc.stdout
    assert f"export LAKELOOP_HOME={tmp_path / 'demo'} LAKELOOP_STORE=embedded" in proc.stdout
    assert not (tmp_path / "mine").exists()  # the demo itself never used the user's directory


def test_demo_without_keep_prints_no_path_it_deletes(tmp_path):
    """Without ``--keep`` the demo's directory is gone at the end and no line names it."""
    proc, _env = _demo(tmp_path)
    assert "RESULT: version 2 published and pulled" in proc.stdout
    assert list((tmp_path / "tmp").iterdir()) == []
    assert str(tmp_path / "tmp") not in proc.stdout + proc.stderr
    assert "lakeloop-demo-" not in proc.stdout and "export LAKELOOP_HOME" not in proc.stdout
