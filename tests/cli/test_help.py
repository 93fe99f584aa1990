"""The CLI stays easy to find one's way in: ``lakeloop --help`` lists only
user-facing commands, one line each (the internal ``worker`` never shows, nor ``==SUPPRESS==``);
``lakeloop skills --help`` lists every skills subcommand, one line each. Run as the user runs
it (a subprocess) with a narrow terminal, so a help text that wraps is caught."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from lakeloop.cli.main import _parser
from tests.support.repo import REPO

SKILLS_SUBCOMMANDS = [
    "list",
    "push",
    "history",
    "stats",
    "diff",
    "rollback",
    "pin",
    "unpin",
    "proposals",
    "accept",
    "reject",
]
HIDDEN = {"worker"}


def _help(*argv: str, columns: int = 70) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO / "plugin"), "COLUMNS": str(columns)}
    proc = subprocess.run(
        [sys.executable, "-m", "lakeloop.cli.main", *argv, "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _listed(text: str, section: str) -> dict[str, str]:
    """``{command: help}`` of the lines under ``section:``'s metavar line; asserts each listed
    command has its help on its own line (no wrapped continuation lines)."""
    lines = text.split(f"\n{section}:\n", 1)[1].splitlines()[1:]  # skip the COMMAND metavar line
    listed = {}
    for line in lines:
        if not line.strip():
            break
        match = re.fullmatch(r" {4}(\S+) {2,}(\S.*)", line)
        assert match, f"not a one-line command entry: {line!r}\n{text}"
        listed[match.group(1)] = match.group(2)
    return listed


def _choices(parser, *path: str) -> list[str]:
    for name in path:
        parser = next(a for a in parser._actions if getattr(a, "choices", None) and name in a.choices).choices[name]
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return list(action.choices)


def test_top_level_help_lists_user_facing_commands_one_line_each():
    """Every command but the internal worker is listed once with a one-line help; the worker and
    argparse's ``==SUPPRESS==`` marker appear nowhere (usage line included)."""
    text = _help()
    assert "SUPPRESS" not in text
    assert "worker" not in text
    listed = _listed(text, "commands")
    expected = [c for c in _choices(_parser()) if c not in HIDDEN]
    assert list(listed) == expected
    assert {"logs", "status", "sessions", "skills", "login", "doctor", "flush", "demo"} <= set(listed)
    assert all(len(h) > 10 for h in listed.values()), listed


def test_worker_stays_runnable_while_hidden():
    """Hiding the worker from the help does not remove it: the optimizer still starts it."""
    args = _parser().parse_args(["worker", "/tmp/job.json"])
    assert (args.command, args.job_file) == ("worker", "/tmp/job.json")


def test_skills_help_lists_its_subcommands_one_line_each():
    """``lakeloop skills --help`` lists list (the default), push, history, stats, diff, rollback,
    pin, unpin, proposals, accept and reject, each on one line."""
    text = _help("skills")
    listed = _listed(text, "subcommands")
    assert list(listed) == SKILLS_SUBCOMMANDS == _choices(_parser(), "skills")
    assert "default" in listed["list"]


def test_every_skills_subcommand_has_its_own_help():
    """``lakeloop skills <sub> --help`` works for each subcommand and names its arguments."""
    for sub, words in {
        "history": "ref",
        "stats": "ref",
        "diff": "ref",
        "rollback": "--to",
        "pin": "version",
        "unpin": "ref",
        "push": "--as-contributor",
        "accept": "ID",
        "reject": "ID",
    }.items():
        assert words in _help("skills", sub), sub
