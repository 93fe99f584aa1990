"""What the dashboard's two session queries cost on the embedded store: ``Store.activity`` (the
overview's table) and ``Store.session_list`` (the sessions page), at 100,000 captured events.

    python bench/ui_queries.py [--events 100000] [--sessions 500] [--runs 5]

In a fresh temporary data dir it stores ``--events`` sessions rows, built the way the drainer
builds them (``capture.rows.build_message`` + ``session_row``), in batches of 1,000
(``append_session_rows``): ``--sessions`` sessions of equal length, each a rotation of prompt,
tool call (about 2 KB of output) and answer, by 5 users on 3 agents in 10 projects, their starts
spread over the 30 days before now. Then it times, in milliseconds, median and maximum of
``--runs`` runs, each on a store opened once (as the dashboard's store thread keeps it):

* **activity (week)**: ``activity(<7 days ago>, <today's UTC midnight>)``;
* **session_list first page**: ``session_list(SessionListQuery())`` (50 newest, no filter);
* **session_list user, 7 days**: one user's sessions of the last 7 days;
* **session_list page 5**: the fifth page of 50, no filter;
* **session_list project + agent, 30 days**: two equality filters and a date range.

The dashboard's goal is a page under 300 ms; each query here should be a small part of it. It
also prints the store file's size and the seeding time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time

from common import setup

USERS = ("alice", "bob", "carol", "dave", "erin")
AGENTS = ("claude_code", "codex", "gemini")
OUTPUT = "".join(f"line {i:04d} of the tool's output, padded to look like a build log\n" for i in range(32))[:2048]


def rows(events: int, sessions: int, now_ns: int):
    """Yield the seeded ``SessionRow``s, session by session."""
    from lakeloop.capture.rows import build_message, session_row
    from lakeloop.identity import Identity

    per = max(1, events // sessions)
    span_ns = 30 * 86_400 * 10**9
    for s in range(sessions):
        user, agent = USERS[s % len(USERS)], AGENTS[s % len(AGENTS)]
        start = now_ns - span_ns + s * (span_ns // sessions)
        cwd = f"/work/project-{s % 10}"
        for i in range(per):
            payload: dict = {"session_id": f"session-{s:04d}", "cwd": cwd}
            kind = i % 3
            if kind == 0:
                payload.update(hook_event_name="UserPromptSubmit", prompt=f"prompt {i} of session {s}")
            elif kind == 1:
                payload.update(
                    hook_event_name="PostToolUse",
                    tool_name="Bash",
                    tool_input={"command": "make"},
                    tool_response=OUTPUT,
                )
            else:
                payload.update(hook_event_name="Stop", last_assistant_message=f"answer {i} of session {s}")
            message = build_message(payload, received_at_ns=start + i * 20 * 10**9, event_id=f"e{s:04d}-{i:05d}")
            yield session_row(message, Identity(user), agent=agent)


def seed(events: int, sessions: int, now_ns: int) -> float:
    """Store the rows in batches of 1,000; returns the seconds it took."""
    from lakeloop.store import open_store

    began = time.perf_counter()
    batch: list = []
    with open_store() as store:
        for row in rows(events, sessions, now_ns):
            batch.append(row)
            if len(batch) == 1000:
                store.append_session_rows(batch)
                batch = []
        store.append_session_rows(batch)
    return time.perf_counter() - began


def timed(fn, runs: int) -> tuple[float, float, int]:
    """(median ms, max ms, size of the answer) of ``runs`` calls of ``fn``."""
    times, size = [], 0
    for _ in range(runs):
        began = time.perf_counter()
        size = len(fn())
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), max(times), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lakeloop-bench-ui-") as tmp:
        setup(tmp)
        from lakeloop import paths
        from lakeloop.identity import utc_from_ns
        from lakeloop.store import open_store
        from lakeloop.store.base import SessionListQuery

        now_ns = time.time_ns()
        seconds = seed(args.events, args.sessions, now_ns)
        midnight = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        today = midnight.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        week, month = utc_from_ns(now_ns - 7 * 86_400 * 10**9), utc_from_ns(now_ns - 30 * 86_400 * 10**9)
        cases = [
            ("activity (week)", lambda s: s.activity(week, today)),
            ("session_list first page", lambda s: s.session_list(SessionListQuery())),
            ("session_list user, 7 days", lambda s: s.session_list(SessionListQuery(user="bob", since=week))),
            ("session_list page 5", lambda s: s.session_list(SessionListQuery(offset=200))),
            (
                "session_list project + agent, 30 days",
                lambda s: s.session_list(SessionListQuery(project="project-3", agent="codex", since=month)),
            ),
        ]
        size_mb = paths.store_file().stat().st_size / 1e6
        print(f"{args.events:,} events, {args.sessions} sessions; seeded in {seconds:.1f} s; store {size_mb:.0f} MB")
        print(f"{'query':<40} {'median ms':>10} {'max ms':>8} {'answer':>7}")
        with open_store() as store:
            for name, fn in cases:
                median, worst, size = timed(lambda fn=fn: fn(store), args.runs)
                print(f"{name:<40} {median:>10.1f} {worst:>8.1f} {size:>7}")


if __name__ == "__main__":
    main()
