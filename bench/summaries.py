"""CPU and wall time of one summary job without the model's time, and its requests to the store.

    python bench/summaries.py [--store embedded|deeplake|both] [--events 100,2000,20000] [--refresh 50]

For each store and each session size, a session of that many events (a user prompt, a tool call
and an answer in turn, ~200 characters each, as the drainer builds the rows) is stored, then the
``summarize`` job (``lakeloop.summaries.job.summarize``, the function the job kind runs) makes
its summary with a model stub that answers at once: the figures are lakeloop's own work (the
read, the bounded input with its redaction, the prompt, the answer's check, the write and the
local bookkeeping), not the model's. A refresh follows (``--refresh`` new events, then the job
again: the previous summary plus only the new rows).

Prints, per run: events read, input characters sent, CPU ms (``time.process_time`` of this
process: the stand-in serving the Deeplake case runs in its threads, so its CPU is included
there, PostgreSQL's is not), wall ms, and the store requests the job made (the stand-in's request
log on Deeplake, the store methods called on the embedded store: goal one read for the rows and
one write; a refresh adds the DELETE of the superseded version). A small session is summarised
first and not reported: it loads the modules a job process loads once. State lives in fresh
temporary directories; the Deeplake store is the tests' stand-in in front of a throwaway
PostgreSQL.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BATCH = 500


def isolate(tmp: str) -> None:
    """This process's lakeloop state under ``tmp`` (set before any lakeloop import reads it)."""
    for name in [n for n in os.environ if n.startswith("LAKELOOP_")]:
        del os.environ[name]
    os.environ.update(
        HOME=f"{tmp}/home",
        LAKELOOP_DATA_DIR=f"{tmp}/data",
        LAKELOOP_LOG_DIR=f"{tmp}/log",
        LAKELOOP_USER="bench",
        LAKELOOP_DEEPLAKE_CREDENTIALS=f"{tmp}/no-credentials.json",
    )
    Path(tmp, "home").mkdir()


@contextlib.contextmanager
def configured(store: str) -> Iterator[Any]:
    """``LAKELOOP_STORE`` set to ``store``; for ``deeplake`` a stand-in in front of a throwaway
    PostgreSQL (yielded; None for the embedded store)."""
    if store == "embedded":
        os.environ["LAKELOOP_STORE"] = "embedded"
        yield None
        return
    from tests.support.deeplake_standin import DeeplakeStandIn
    from tests.support.postgres import PostgresCluster

    with PostgresCluster() as cluster, DeeplakeStandIn(cluster.dsn) as standin:
        os.environ.update(
            LAKELOOP_STORE="deeplake",
            LAKELOOP_DEEPLAKE_TOKEN=standin.token,
            LAKELOOP_DEEPLAKE_ORG_ID=standin.org_id,
            LAKELOOP_DEEPLAKE_WORKSPACE=standin.workspace,
            LAKELOOP_DEEPLAKE_API_URL=standin.base_url,
        )
        yield standin


def session_rows(session: str, events: int, start: int = 0) -> list:
    """``events`` sessions rows of ``session``: prompt, Bash call, answer in turn, 1 ms apart."""
    from lakeloop.capture.rows import build_message, session_row
    from lakeloop.identity import Identity

    who = Identity("bench", "acme", "default")
    base_ns = 1_772_359_200 * 10**9
    out = []
    for i in range(start, start + events):
        payload: dict[str, Any] = {"session_id": session, "cwd": "/work/shop"}
        words = f"step {i}: make the checkout retry the payment call and log the provider's answer " * 2
        if i % 3 == 0:
            payload.update(hook_event_name="UserPromptSubmit", prompt=f"Please {words}")
        elif i % 3 == 1:
            payload.update(
                hook_event_name="PostToolUse",
                tool_name="Bash",
                tool_input={"command": f"pytest tests/test_checkout.py -k retry_{i} -q"},
                tool_response={"stdout": "1 passed", "stderr": ""},
            )
        else:
            payload.update(hook_event_name="Stop", last_assistant_message=f"Done: {words}")
        message = build_message(payload, received_at_ns=base_ns + i * 1_000_000, event_id=f"{session}-{i:07d}")
        out.append(session_row(message, who))
    return out


def answer() -> str:
    """A well-formed summary answer (what the model stub returns)."""
    from lakeloop.summaries import HEADINGS

    return "\n\n".join(f"## {h}\n- {h.lower()}: one short line." for h in HEADINGS) + "\n"


class Counted:
    """``store`` with every method call counted by name (``calls``): the job's store requests on
    the embedded store, where there is no request log."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.store, name)
        if not callable(value):
            return value

        def counted(*args: Any, **kw: Any) -> Any:
            self.calls.append(name)
            return value(*args, **kw)

        return counted


def run_job(store: Any, standin: Any, payload: dict[str, Any], state: Any) -> dict[str, Any]:
    """One ``summarize`` run: its outcome, CPU and wall ms, characters sent, store requests (the
    stand-in's request log on Deeplake, the store methods called on the embedded store)."""
    from lakeloop.summaries.job import SummaryDeps, summarize

    reply = answer()
    sent: list[int] = []

    def model(prompt: str, system: str) -> str:
        sent.append(len(prompt) + len(system))
        return reply

    counted = Counted(store)
    deps = SummaryDeps(
        open_store=lambda: counted,
        model=model,
        state=state,
        log=logging.getLogger("bench"),
        draining=lambda: False,
        max_per_day=10**6,
    )
    if standin is not None:
        standin.reset_counters()
    cpu, wall = time.process_time(), time.perf_counter()
    outcome = summarize(payload, deps)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if standin is not None:
        kinds = [q.split(None, 1)[0].upper() for q in standin.queries()]
    else:
        kinds = counted.calls
    return {
        "outcome": outcome,
        "cpu_ms": cpu * 1000,
        "wall_ms": wall * 1000,
        "chars_sent": sum(sent),
        "requests": len(kinds),
        "kinds": kinds,
    }


def measure(store_name: str, sizes: list[int], refresh: int) -> list[dict[str, Any]]:
    """The runs of one store (see the module docstring)."""
    from lakeloop.store import open_store
    from lakeloop.summaries.state import State

    results = []
    with configured(store_name) as standin:
        store = open_store()
        if standin is not None:
            store.ensure_tables()
        state = State.open()
        try:
            for n in [10, *sizes]:  # the first, small session loads the modules: not reported
                sid = f"bench-{store_name}-{n}"
                rows = session_rows(sid, n)
                for i in range(0, n, BATCH):
                    store.append_session_rows(rows[i : i + BATCH])
                payload = {
                    "session_id": sid,
                    "final": False,
                    "path": rows[0].path,
                    "user": rows[0].author,
                    "project": "shop",
                    "cwd": "/work/shop",
                    "min_prompts": 2,
                    "exclude": [],
                }
                state.add_rows({sid: (n, (n + 2) // 3)}, time.time())
                first = run_job(store, standin, payload, state)
                more = session_rows(sid, refresh, start=n)
                store.append_session_rows(more)
                state.add_rows({sid: (refresh, (refresh + 2) // 3)}, time.time())
                again = run_job(store, standin, {**payload, "final": True}, state)
                if n in sizes:
                    results.append({"store": store_name, "events": n, "run": "first", **first})
                    results.append({"store": store_name, "events": n, "run": f"refresh +{refresh}", **again})
        finally:
            state.close()
            store.close()
    return results


def main() -> int:
    """Run the benchmark and print its table; 1 when a run did not write its summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", choices=("embedded", "deeplake", "both"), default="both")
    ap.add_argument("--events", default="100,2000,20000", help="session sizes, comma-separated")
    ap.add_argument("--refresh", type=int, default=50, help="events added before the refresh run")
    args = ap.parse_args()
    sizes = [int(s) for s in args.events.split(",") if s.strip()]
    stores = ("embedded", "deeplake") if args.store == "both" else (args.store,)
    with tempfile.TemporaryDirectory(prefix="lakeloop-bench-summaries-") as tmp:
        isolate(tmp)
        sys.path[:0] = [str(ROOT / "plugin"), str(ROOT)]
        results = [r for store in stores for r in measure(store, sizes, args.refresh)]
    print("| store | events | run | CPU ms | wall ms | characters sent | store requests |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(
            f"| {r['store']} | {r['events']:,} | {r['run']} | {r['cpu_ms']:.0f} | {r['wall_ms']:.0f} | "
            f"{r['chars_sent']:,} | {r['requests']} ({', '.join(r['kinds'])}) |"
        )
    return 0 if all(r["outcome"] == "written" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
