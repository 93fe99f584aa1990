"""Helpers for tests that run the optimizer's worker logic (``skillopt.worker.improve``) in
process: a session writer, scripted judge/proposer callables, a skill seeder and Deps/Job
builders. They work with any ``Store`` (the embedded one or the Deeplake stand-in's)."""

from __future__ import annotations

import json
import logging
from typing import Any

from lakeloop.capture.rows import build_message, session_row
from lakeloop.identity import Identity
from lakeloop.skillopt.worker import Deps, Job
from lakeloop.store.base import SkillRow

SID = "e8f2d602-bc51-4170-b4d4-df65e830a9f4"
NAME, AUTHOR = "db-migrate", "alice"
REF = f"{NAME}--{AUTHOR}"
ME = Identity(user="tester")
FRONT = "---\nname: db-migrate\ndescription: Run the project's database migrations with alembic.\n---\n"
BODY_V1 = FRONT + "# db-migrate\n\n## Steps\n1. Run `alembic upgrade head`.\n2. Tell the user the migration ran.\n"
REASON = "the migration dropped a table"
FAIL = json.dumps({"success": 0, "confidence": 0.9, "reason": REASON})
REACTION = "that's wrong, the migration failed and dropped my table"
LOG = logging.getLogger("lakeloop-tests")


def edits_reply(*edits: dict[str, str]) -> str:
    """A proposer reply holding ``edits``."""
    return json.dumps({"edits": list(edits)})


PLAIN_EDIT = {"op": "insert_after", "target": "## Steps", "text": "0. Back up the database first."}
PLAIN = edits_reply(PLAIN_EDIT)


class Session:
    """Writes one session's rows to ``store`` with strictly increasing timestamps."""

    def __init__(self, store, sid: str = SID, identity: Identity = ME):
        self.store, self.sid, self.identity, self.n = store, sid, identity, 0

    def _add(self, payload: dict[str, Any]) -> Session:
        self.n += 1
        msg = build_message({"session_id": self.sid, "cwd": "/home/dev/project", **payload})
        msg["timestamp"] = f"2026-06-08T04:28:{self.n // 1000:02d}.{self.n % 1000:03d}000Z"
        self.store.append_session_row(session_row(msg, self.identity))
        return self

    def user(self, text: str) -> Session:
        return self._add({"hook_event_name": "UserPromptSubmit", "prompt": text})

    def assistant(self, text: str) -> Session:
        return self._add({"hook_event_name": "Stop", "last_assistant_message": text})

    def skill(self, ref: str = REF, tool_use_id: str = "toolu_arm") -> Session:
        return self._add(
            {
                "hook_event_name": "PostToolUse",
                "tool_name": "Skill",
                "tool_input": {"skill": ref},
                "tool_response": {"success": True},
                "tool_use_id": tool_use_id,
            }
        )

    def standard(self) -> Session:
        """Prompt, skill invocation, answer, then the reaction captured."""
        return self.user("migrate the db").skill().assistant("I ran alembic upgrade head.").user(REACTION)


class Agent:
    """A fake judge or proposer: records ``(prompt, system)`` and returns scripted replies
    (the last one again once they run out)."""

    def __init__(self, *replies: str):
        self.replies = list(replies)
        self.calls: list[tuple[str, str]] = []

    def __call__(self, prompt: str, system: str) -> str:
        self.calls.append((prompt, system))
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


def seed_skill(store, version: int = 1, body: str = BODY_V1, created_at: str | None = None, **extra: Any) -> SkillRow:
    """Insert one team version of db-migrate--alice."""
    row = SkillRow(
        id=extra.pop("id", f"skill-v{version}"),
        name=NAME,
        author=AUTHOR,
        body=body,
        version=version,
        scope="team",
        contributors=extra.pop("contributors", ["alice"]),
        source_sessions=extra.pop("source_sessions", ["origin-session"]),
        description="Run the project's database migrations",
        trigger_text="migrate the db",
        created_at=created_at or f"2026-01-0{version}T00:00:00.000000Z",
        **extra,
    )
    store.insert_skill(row)
    return row


def make_deps(store, judge=None, propose=None, sleeps: list | None = None, **kw: Any) -> Deps:
    """Deps with scripted agents, a recording sleep (no real waiting) and no invocation retries."""
    sleeps = [] if sleeps is None else sleeps
    kw.setdefault("retries", 0)
    return Deps(
        store=store,
        identity=ME,
        judge=judge or Agent(FAIL),
        propose=propose or Agent(PLAIN),
        sleep=sleeps.append,
        log=LOG,
        **kw,
    )


def job(**kw: Any) -> Job:
    """The reaction job of the standard session."""
    return Job(
        **{
            "session_id": SID,
            "skill": REF,
            "reaction": REACTION,
            "tool_use_id": "toolu_arm",
            "user": "bob",
            "armed_version": None,
            **kw,
        }
    )


def team_versions(store) -> list[int]:
    """Versions of every team row of db-migrate--alice, in order."""
    return [r.version for r in store.skill_rows(NAME, AUTHOR) if r.scope != "proposal"]


def proposals(store) -> list[SkillRow]:
    """The proposal rows of db-migrate--alice."""
    return store.skill_rows(NAME, AUTHOR, scope="proposal")
