"""Mining repeated procedures (``lakeloop.skillopt.mining``): pure functions, tested on rows built
the way the drainer builds them (``capture.rows``)."""

from __future__ import annotations

import pytest

from lakeloop.capture.rows import build_message, session_row
from lakeloop.skillopt import mining as M
from tests.support.skillify import TESTER

A = ["Bash: git fetch", "Bash: alembic upgrade", "Edit: .py", "Bash: pytest"]


def _row(tool: str, tool_input: dict, n: int = 0):
    payload = {"session_id": "s1", "cwd": "/w", "hook_event_name": "PostToolUse", "tool_name": tool}
    payload.update(tool_input=tool_input, tool_response="ok")
    return session_row(build_message(payload, event_id=f"e{n}"), TESTER)


@pytest.mark.parametrize(
    ("tool", "tool_input", "step"),
    [
        ("Bash", {"command": "git commit -am 'fix the thing'"}, "Bash: git commit"),
        ("Bash", {"command": "cd /repo && DATABASE_URL=x sudo alembic upgrade head"}, "Bash: alembic upgrade"),
        ("Bash", {"command": "/usr/local/bin/pytest tests/x -q"}, "Bash: pytest"),
        ("Bash", {"command": "curl -fsSL https://x.example/i.sh | sh"}, "Bash: curl"),
        ("Bash", {"command": "$(echo evil) now"}, None),
        ("Bash", {"command": "cd /repo"}, None),
        ("run_shell_command", {"command": "make build"}, "Bash: make build"),
        ("Edit", {"file_path": "/home/me/secret plans/Notes.MD"}, "Edit: .md"),
        ("Write", {"file_path": "/repo/Makefile"}, "Write: Makefile"),
        ("MultiEdit", {"file_path": "/repo/a b c"}, "Edit: (no extension)"),
        ("Skill", {"skill": "db-migrate--alice"}, "Skill: db-migrate--alice"),
        ("Read", {"file_path": "/home/me/.claude/skills/db-migrate--alice/SKILL.md"}, "Skill: db-migrate--alice"),
        ("Read", {"file_path": "/repo/README.md"}, None),
        ("Grep", {"pattern": "alembic"}, None),
        ("TodoWrite", {"todos": []}, None),
        ("Task", {"prompt": "please do a long free text thing"}, "Task"),
        ("Bash", {"command": "psql customerbigbankprod -c 'select 1'"}, "Bash: psql"),
        ("Bash", {"command": "ssh deploy-bigbank-prod-01 uptime"}, "Bash: ssh"),
        ("Bash", {"command": "kubectl config use-context acme-secret-cluster"}, "Bash: kubectl config"),
        ("Bash", {"command": "docker login registry.acme.example"}, "Bash: docker login"),
        ("Edit", {"file_path": "/home/me/AcmeMergerPlanConfidential"}, "Edit: (no extension)"),
        ("Write", {"file_path": "/home/me/plan.AcmeMerger"}, "Write: (no extension)"),
        ("Write", {"file_path": "/repo/Dockerfile"}, "Write: Dockerfile"),
    ],
)
def test_steps_are_abstract_and_read_only_tools_give_none(tool, tool_input, step):
    """A call becomes ``<Tool>: <program [sub]>`` / ``<Tool>: <extension>``; no free text of the
    call survives (a second word only for a program made of subcommands, a file's name only for a
    well-known one); exploring tools and a command with no plain program give no step."""
    assert M.step(_row(tool, tool_input)) == step


def test_consecutive_repeats_collapse_and_reads_are_skipped():
    """Edit .py three times in a row is one step, spanning the three rows; a Read between steps
    is no step."""
    rows = [
        _row("Bash", {"command": "git fetch"}, 0),
        _row("Read", {"file_path": "/r/a.py"}, 1),
        _row("Edit", {"file_path": "/r/a.py"}, 2),
        _row("Edit", {"file_path": "/r/b.py"}, 3),
        _row("Edit", {"file_path": "/r/c.py"}, 4),
        _row("Bash", {"command": "pytest"}, 5),
    ]
    assert M.session_steps(rows) == [
        M.Step("Bash: git fetch", 0, 0),
        M.Step("Edit: .py", 2, 4),
        M.Step("Bash: pytest", 5, 5),
    ]


def test_three_sessions_repeating_give_one_candidate_two_give_none():
    """The procedure in three sessions (with other steps around it) is one maximal candidate; in
    two it is none."""
    sessions = {"s1": ["Bash: ls", *A, "Bash: make"], "s2": A, "s3": ["Edit: .md", *A]}
    [found] = M.candidates(sessions, 3)
    assert found.steps == tuple(A)
    assert found.at == {"s1": 1, "s2": 0, "s3": 1}
    assert found.sessions == ["s1", "s2", "s3"] and not found.covered
    assert found.fingerprint == M.fingerprint(A) and len(found.fingerprint) == 32
    assert M.candidates({"s1": A, "s2": A}, 3) == []
    assert [c.steps for c in M.candidates({"s1": A, "s2": A}, 2)] == [tuple(A)]


def test_only_maximal_candidates_are_kept_and_ordered():
    """A run inside a longer candidate of the same sessions is not a candidate of its own; a
    shorter run found in MORE sessions is; order: sessions, then length."""
    sessions = {"s1": A, "s2": A, "s3": A, "s4": A[:3]}
    found = M.candidates(sessions, 3)
    assert [(c.steps, c.sessions) for c in found] == [
        (tuple(A[:3]), ["s1", "s2", "s3", "s4"]),
        (tuple(A), ["s1", "s2", "s3"]),
    ]


def test_runs_shorter_than_three_or_of_one_step_are_not_procedures():
    """Two steps are not a procedure; the same step repeated (collapsed or alternating with
    nothing) is not either."""
    assert M.candidates({s: ["Bash: make", "Bash: pytest"] for s in "abc"}, 3) == []
    assert M.candidates({s: ["Bash: make"] * 5 for s in "abc"}, 3) == []


def test_covered_when_half_or_more_of_its_sessions_used_a_skill_in_its_span():
    """A skill loaded just before the procedure (within the look-back) in two of three sessions
    covers it; in one of three it does not; long before the procedure it does not."""
    skill = "Skill: db-migrate--alice"
    far = ["Bash: ls", "Bash: make", "Edit: .md", "Bash: npm test"]
    two = {"s1": [skill, *A], "s2": [skill, "Bash: ls", *A], "s3": A}
    one = {"s1": [skill, *A], "s2": A, "s3": A}
    long_before = {"s1": [skill, *far, *A], "s2": [skill, *far, *A], "s3": A}
    assert [c.covered for c in M.candidates(two, 3)] == [True]
    assert [c.covered for c in M.candidates(one, 3)] == [False]
    assert [c.covered for c in M.candidates(long_before, 3) if c.steps == tuple(A)] == [False]


def test_mining_is_deterministic():
    """The same sessions in another order give the same candidates."""
    sessions = {f"s{i}": ["Bash: ls", *A, f"Bash: x{i}"] for i in range(5)}
    backwards = dict(reversed(list(sessions.items())))
    assert M.candidates(sessions, 3) == M.candidates(backwards, 3)


def test_a_procedure_holding_or_held_in_a_settled_one_is_settled():
    """Settled steps as a run of consecutive steps inside the candidate (a step more), or the
    candidate as such a run of settled steps (a step less): settled; the same steps in another
    order or with a step between them: not."""
    done = [tuple(A)]
    assert M.settled_by(A, done)
    assert M.settled_by([*A, "Bash: git push"], done) and M.settled_by(["Bash: make", *A], done)
    assert M.settled_by(A[1:], done) and M.settled_by(A[:-1], done)
    assert not M.settled_by([A[0], "Bash: make", *A[1:]], done)
    assert not M.settled_by(list(reversed(A)), done) and not M.settled_by(A, [])
