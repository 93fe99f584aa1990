"""A synthetic team memory for ``bench/hook_latency.py --memory``: N captured events.

``fill(store, events, seed)`` writes ``events`` session rows through the store's own
``append_session_rows`` (so the embedded store's FTS5 index is kept in step exactly as in
use) in batches of 1000: 5 users, sessions of 200 events, a third each user prompts, tool
calls (Bash/Read/Grep with tool_input and a tool_response of 0.2-2 KB) and assistant
answers, words drawn from a 20,000-word vocabulary. One prompt holds ``MARKER`` (the word
the benchmark searches for); ``MARKER_COMMON`` is in about 1 % of events (in a tool call's
``tool_response``, where the whole text is kept).
"""

from __future__ import annotations

import json
import random
import string
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugin"))

from lakeloop.capture.rows import session_row  # noqa: E402 - importable once plugin/ is on sys.path
from lakeloop.identity import Identity  # noqa: E402 - importable once plugin/ is on sys.path

MARKER = "zebracorn"
MARKER_COMMON = "migration"
USERS = ("alice", "bob", "carol", "dave", "erin")


def _words(rng: random.Random, n: int) -> list[str]:
    return ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 10))) for _ in range(n)]


def rows(events: int, seed: int = 7):
    """Yield ``events`` SessionRow objects (oldest first within each session)."""
    rng = random.Random(seed)
    vocab = _words(rng, 20_000)
    marker_at = (events // 2) // 3 * 3  # a user prompt (i % 3 == 0)
    for i in range(events):
        session = i // 200
        user = USERS[session % len(USERS)]
        ident = Identity(user=user, org_name="acme", workspace="default")
        text = " ".join(rng.choices(vocab, k=rng.randint(8, 40)))
        if i == marker_at:
            text += f" {MARKER} "
        if rng.random() < 0.01:
            text += f" {MARKER_COMMON} "
        kind = ("user_message", "tool_call", "assistant_message")[i % 3]
        msg = {
            "id": f"00000000-0000-4000-8000-{i:012d}",
            "session_id": f"bench-{session:05d}",
            "transcript_path": f"/home/{user}/.claude/projects/p/bench-{session:05d}.jsonl",
            "cwd": f"/home/{user}/src/project{session % 7}",
            "permission_mode": "default",
            "hook_event_name": {
                "user_message": "UserPromptSubmit",
                "tool_call": "PostToolUse",
                "assistant_message": "Stop",
            }[kind],
            "timestamp": f"2026-11-{1 + session % 20:02d}T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}"
            f":{i % 60:02d}.{i % 1000:03d}Z",
            "type": kind,
        }
        if kind == "tool_call":
            tool = rng.choice(("Bash", "Read", "Grep"))
            msg.update(
                tool_name=tool,
                tool_use_id=f"toolu_{i:010d}",
                tool_input=json.dumps({"command": text[:120]}),
                tool_response=json.dumps({"stdout": text + " " + " ".join(rng.choices(vocab, k=rng.randint(30, 300)))}),
            )
        else:
            msg["content"] = text
        yield session_row(msg, ident)


def fill(store, events: int, seed: int = 7, batch: int = 1000) -> None:
    """Write ``events`` rows to ``store`` in batches of ``batch``."""
    buf = []
    for row in rows(events, seed):
        buf.append(row)
        if len(buf) >= batch:
            store.append_session_rows(buf)
            buf = []
    if buf:
        store.append_session_rows(buf)
