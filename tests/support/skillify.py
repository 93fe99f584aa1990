"""skillify in tests: sessions repeating a procedure, a scripted drafter, and the job's context.

* ``PROCEDURE``: the tool calls of one repeated procedure (``("Bash", command)`` /
  ``("Edit", path)``); ``STEPS`` the steps mining makes of it.
* ``write_sessions(store, n, identity=TESTER, extra=None, procedure=PROCEDURE, prompt=..., first=0)``:
  ``n`` sessions of ``identity`` (numbered from ``first``) stored in ``store``, each the user's
  ``prompt``, some exploring calls (``Read``/``Grep``: no step), the procedure, and ``extra`` tool
  calls after it; rows dated a few minutes ago, one millisecond apart (``capture.rows``, as the
  drainer builds them). Returns the session ids.
* ``drafter(folder, name="db-release", copy_word=None, reply=None)``: a fake Claude Code CLI
  (``tests.support.fake_agent_cli``) that drafts a skill from the data line of its prompt: the
  steps as a numbered list (``Run `git fetch`.``); with ``copy_word``, every example line holding
  that word is copied into the body from the word on (a drafter that follows what a session told
  it); ``reply``: a fixed reply object instead. Its calls are in ``fake_agent_cli.calls(folder)``.
* ``context(attempt=1)``: a ``jobs.kinds.Context`` for calling a kind's function in process.
* ``job_payload(**extra)``: the payload ``skillify.maybe_enqueue`` queues for this test's user.
* ``draft_rows(store)``: the proposal rows whose JSON says ``new_skill``.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from lakeloop.capture.rows import build_message, session_row
from lakeloop.identity import Identity
from lakeloop.jobs.kinds import Context
from tests.support.fake_agent_cli import fake_cli

TESTER = Identity(user="tester")
LOG = logging.getLogger("lakeloop-tests")
CWD = "/work/shop"
PROCEDURE: list[tuple[str, str]] = [
    ("Bash", "git fetch origin"),
    ("Bash", "cd /work/shop && DATABASE_URL=sqlite:// alembic upgrade head"),
    ("Edit", "/work/shop/app/models.py"),
    ("Bash", "pytest -q tests/db"),
    ("Bash", "git commit -am 'migrate'"),
]
STEPS = ["Bash: git fetch", "Bash: alembic upgrade", "Edit: .py", "Bash: pytest", "Bash: git commit"]


def _call(tool: str, arg: str) -> dict[str, Any]:
    tool_input = {"command": arg} if tool == "Bash" else {"file_path": arg}
    if tool == "Grep":
        tool_input = {"pattern": arg}
    return {"hook_event_name": "PostToolUse", "tool_name": tool, "tool_input": tool_input, "tool_response": "ok"}


def write_sessions(
    store,
    n: int,
    identity: Identity = TESTER,
    extra: list[tuple[str, str]] | None = None,
    procedure: list[tuple[str, str]] = PROCEDURE,
    prompt: str = "migrate the database and commit",
    first: int = 0,
) -> list[str]:
    """Store ``n`` sessions repeating ``procedure`` (see the module docstring); returns their ids."""
    sids = []
    start_ns = time.time_ns() - 600 * 10**9
    for k in range(first, first + n):
        sid = f"5k1f7a00-0000-4000-8000-{k:012d}"
        events = [{"hook_event_name": "UserPromptSubmit", "prompt": prompt}]
        events += [_call("Read", f"/work/shop/README{k}.md"), _call("Grep", "alembic")]
        events += [_call(tool, arg) for tool, arg in [*procedure, *(extra or [])]]
        for i, event in enumerate(events):
            at_ns = start_ns + (k * 1000 + i) * 1_000_000
            message = build_message(
                {"session_id": sid, "cwd": CWD, **event}, received_at_ns=at_ns, event_id=f"{sid}-{i:04d}"
            )
            store.append_session_row(session_row(message, identity))
        sids.append(sid)
    return sids


_DRAFTER = r"""
lines = data.split("\n")
obj = {{}}
for i, line in enumerate(lines[:-1]):
    if line.startswith("DATA ("):
        obj = json.loads(lines[i + 1])
reply = {reply}
if reply is None:
    body = "# {name}\n\n## Steps\n"
    for k, step in enumerate(obj.get("steps", []), 1):
        tool, _, what = step.partition(": ")
        body += f"{{k}}. Run `{{what}}`.\n" if tool == "Bash" else f"{{k}}. {{tool}} the `{{what}}` file.\n"
    word = {copy_word!r}
    if word:
        for example in obj.get("examples", []):
            for line in example:
                if word in line:
                    body += "- " + line[line.index(word):] + "\n"
    reply = {{"name": {name!r}, "description": "Migrate the shop database and commit.", "body": body}}
print(json.dumps({{"type": "result", "is_error": False, "result": json.dumps(reply)}}))
"""


def drafter(folder: Path, name: str = "db-release", copy_word: str | None = None, reply: dict | None = None) -> Path:
    """A scripted drafter as a fake ``claude`` binary (see the module docstring); returns its path."""
    body = _DRAFTER.format(name=name, copy_word=copy_word, reply=repr(reply))
    return fake_cli(folder, "claude", body)


def context(attempt: int = 1) -> Context:
    """A ``Context`` for one in-process attempt of a job (deadline ten minutes ahead)."""
    return Context(job_id=1, key="skillify", attempt=attempt, max_attempts=2, log=LOG, deadline=time.time() + 600)


def job_payload(**extra: Any) -> dict[str, Any]:
    """The payload ``maybe_enqueue`` queues for this test's user (``LAKELOOP_USER=tester``)."""
    return {
        "user": "tester",
        "author_env": {"LAKELOOP_USER": "tester"},
        "agent": "claude_code",
        "exclude": [],
        "min_sessions": 3,
        "enqueued_at": time.time(),
        **extra,
    }


def draft_rows(store) -> list:
    """The proposal rows holding a new-skill draft."""
    out = []
    for row in store.skill_rows(scope="proposal"):
        try:
            meta = json.loads(row.description)
        except ValueError:
            continue
        if isinstance(meta, dict) and meta.get("kind") == "new_skill":
            out.append(row)
    return out
