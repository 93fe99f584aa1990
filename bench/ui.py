"""How fast the dashboard's pages answer (``lakeloop ui``, embedded store, 100,000 captured events).

    python bench/ui.py [--events 100000] [--sessions 500] [--runs 5]

In a fresh temporary HOME and data directory (``common.setup``: every ``LAKELOOP_*`` and
``DEEPLAKE_*`` variable cleared, the embedded store) it seeds:

* ``--events`` captured events in ``--sessions`` sessions (``ui_queries.seed``: 5 users, 3 agents,
  10 projects, starts spread over the last 30 days; 200 events a session by default), and a
  summary (a memory row at ``summaries.path_for(user, session id)``) for every third session;
* team skill ``db-migrate--alice`` with ``VERSIONS`` versions pushed as a person does (bodies of
  about 200 lines, each version changing a few of them) and ``OUTCOMES`` outcome rows
  (``skill_outcomes.seed``); ``OTHER_SKILLS`` other team skills of one to three versions;
* two proposals: an optimizer edit of ``db-migrate--alice`` held for review and a drafted new skill.

Then it starts the real server as a person does (``lakeloop ui --no-browser --port 0`` as a
subprocess, ``LAKELOOP_UI_CACHE_S=0`` so that every request reaches the store), signs in with the
printed token (``tests.support.ui``), and times each page of ``pages()`` over HTTP (httpx, one
client, a new request each time): one warm-up request, then ``--runs`` requests; it prints the
median and the maximum in milliseconds, the answer's size and status, and whether both are under
``GOAL_MS`` (the product's goal: a page in under 300 ms with 100,000 events on the embedded
store). Exit code 0 when every page met it, 1 otherwise.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from common import ROOT, setup

#: A page must answer within this many milliseconds (median and maximum).
GOAL_MS = 300.0
#: The big skill: its ref, versions and outcome rows.
REF = "db-migrate--alice"
VERSIONS = 6
OUTCOMES = 10_000
#: Team skills besides ``REF``.
OTHER_SKILLS = 20
#: Lines of the big skill's body.
BODY_LINES = 200
#: A word of every seeded answer, for the search page.
SEARCH_WORD = "answer"


def skill_body(version: int) -> str:
    """``SKILL.md`` of version ``version`` of the big skill: ``BODY_LINES`` numbered steps, of
    which every 25th names the version (so consecutive versions differ in a few places)."""
    steps = "".join(
        f"{i}. Step {i} of the migration{f' (changed in v{version})' if i % 25 == 0 else ''}: check, then run.\n"
        for i in range(1, BODY_LINES + 1)
    )
    return f"---\nname: db-migrate\ndescription: Run the project's database migrations.\n---\n# db-migrate\n{steps}"


def seed_summaries(sessions: int) -> None:
    """A summary memory row for every third seeded session (``ui_queries.rows``' ids and users)."""
    from ui_queries import USERS

    from lakeloop.identity import utc_now
    from lakeloop.store import open_store
    from lakeloop.store.memory_types import NoteRow
    from lakeloop.summaries import path_for

    with open_store() as store:
        for s in range(0, sessions, 3):
            user, sid = USERS[s % len(USERS)], f"session-{s:04d}"
            text = f"# Session {sid}\n\n## What happened\nThe agent ran the build of session {s}. It passed.\n"
            where = path_for(user, sid)
            store.put_memory_doc(
                NoteRow(f"summary-{s:04d}", where, text, user, f"project-{s % 10}", utc_now(), description="summary")
            )


def seed_skills() -> tuple[str, str]:
    """``OTHER_SKILLS`` team skills and the two proposals; returns ``(edit id, draft id)``."""
    from lakeloop.identity import Identity, utc_now
    from lakeloop.skillopt import review
    from lakeloop.skillopt.drafts import Draft, draft_row
    from lakeloop.skillopt.parse import Edit
    from lakeloop.store import open_store
    from lakeloop.store.base import SkillRow

    with open_store() as store:
        for k in range(OTHER_SKILLS):
            for v in range(1, 2 + k % 3):
                body = f"---\nname: skill-{k}\n---\n" + "".join(f"{i}. Do step {i} (v{v}).\n" for i in range(40))
                store.insert_skill(
                    SkillRow(
                        id=f"skill-{k}-v{v}",
                        name=f"skill-{k}",
                        author="bob",
                        body=body,
                        version=v,
                        created_at=utc_now(),
                    )
                )
        base = store.current_skill("db-migrate", "alice")
        assert base is not None
        edit = Edit("insert_after", "# db-migrate", "0. Back up the database first.")
        body = base.body.replace("# db-migrate\n", "# db-migrate\n0. Back up the database first.\n")
        held = review.proposal_row(base, body, [edit], "it forgot the backup", ["adds a step"], "alice", "s-42")
        store.insert_skill(held)
        draft = Draft(
            name="db-release",
            description="Release the database.",
            body="---\nname: db-release\ndescription: Release the database.\n---\n# db-release\n1. Tag it.\n",
        )
        paths = [Identity("alice").session_path(f"session-{i:04d}") for i in (0, 5, 10)]
        row = draft_row(draft, "f" * 32, ["git tag", "git push"], paths, ["a", "b", "c"], [], "alice")
        store.insert_skill(row)
    return held.id, row.id


def pages(edit_id: str, session: int) -> list[tuple[str, str]]:
    """``(name, path)`` of every page timed; ``session``: the index of the seeded session shown."""
    from ui_queries import USERS

    from lakeloop.identity import Identity

    confirm = urllib.parse.urlencode({"ref": REF, "id": edit_id, "action": "accept"})
    view = urllib.parse.urlencode(
        {"path": Identity(USERS[session % len(USERS)]).session_path(f"session-{session:04d}")}
    )
    return [
        ("overview", "/"),
        ("sessions", "/sessions"),
        ("sessions, bob, this week", "/sessions?user=bob&since=week"),
        ("sessions, project-3 + codex", "/sessions?project=project-3&agent=codex"),
        ("sessions, page 5", "/sessions?page=5"),
        (f"sessions, search {SEARCH_WORD!r}", f"/sessions?q={SEARCH_WORD}"),
        ("one session", f"/sessions/view?{view}"),
        ("skills", "/skills"),
        (f"skill ({OUTCOMES:,} outcomes)", f"/skills/{REF}"),
        ("skill, diff v1..v6", f"/skills/{REF}?a=1&b={VERSIONS}"),
        ("proposals", "/proposals"),
        ("proposal confirmation", f"/proposals/confirm?{confirm}"),
    ]


def timed(client, path: str, runs: int) -> tuple[float, float, bytes, int]:
    """``(median ms, max ms, body, status)`` of ``runs`` GETs of ``path`` after one warm-up (the
    last answer's body and status)."""
    answer = client.get(path)
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), max(times), answer.content, answer.status_code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--save", type=Path, help="write each page's last answer to this directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lakeloop-bench-ui-") as tmp:
        setup(tmp, {"LAKELOOP_USER": "alice"}, sys_path=[ROOT])
        import skill_outcomes
        import ui_queries

        began = time.perf_counter()
        ui_queries.seed(args.events, args.sessions, time.time_ns())
        seed_summaries(args.sessions)
        skill_outcomes.seed(tmp, OUTCOMES, VERSIONS, body=skill_body)
        edit_id, _draft_id = seed_skills()
        seconds = time.perf_counter() - began
        print(f"{args.events:,} events in {args.sessions} sessions, {OUTCOMES:,} outcomes; seeded in {seconds:.0f} s")

        from tests.support.ui import start_ui

        ui = start_ui(timeout=60.0, LAKELOOP_UI_CACHE_S="0")
        failed = 0
        try:
            with ui.signed_in() as client:
                print(
                    f"{'page':<34} {'median ms':>10} {'max ms':>8} {'bytes':>8} {'status':>6}  under {GOAL_MS:.0f} ms"
                )
                for n, (name, path) in enumerate(pages(edit_id, args.sessions // 2)):
                    median, worst, body, status = timed(client, path, args.runs)
                    if args.save:
                        args.save.mkdir(parents=True, exist_ok=True)
                        (args.save / f"{n:02d}.html").write_bytes(body)
                    ok = status == 200 and median < GOAL_MS and worst < GOAL_MS
                    failed += not ok
                    print(
                        f"{name:<34} {median:>10.1f} {worst:>8.1f} {len(body):>8} {status:>6}  {'yes' if ok else 'NO'}"
                    )
        finally:
            code, _out, err = ui.stop(timeout=10)
            if code != 0:
                print(f"lakeloop ui exited {code}: {err.strip()[-500:]}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
