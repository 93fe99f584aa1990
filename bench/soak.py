"""Soak: many concurrent sessions through real hook processes, with faults; nothing may be lost or duplicated.

    python bench/soak.py [--store deeplake|embedded|both] [--sessions N] [--events N]
                         [--outage-s 30] [--fault-rate 0.02] [--seed 1]

Each session is a thread that sends its events one after the other through real
``hooks/run`` processes (each started when the previous one exited): a repeating
UserPromptSubmit, PostToolUse, PostToolUse, Stop, with a session id of its own
and a unique marker (``lkmk-<32 hex>``) in every event (the prompt, the tool call's
``tool_use_id`` and command, the assistant message). Lost and duplicated events
are computed exactly from the store's contents, whatever ids lakeloop assigns:
lost = markers sent but found in no row, duplicates = rows beyond the first that
carry the same marker (rows whose message id repeats are counted as well).

deeplake (default 100 sessions x 20 events): the tests' stand-in in front of a
throwaway PostgreSQL, with, per request, injected 503 and 429 (``Retry-After: 1``)
and dropped connections, and per successful INSERT "commit then 500" and "commit
then drop", each at ``--fault-rate``; ``--latency-s`` added to every request and a
``--lag-s`` visibility lag on INSERTs. When half of the events have been sent, the
service goes down for ``--outage-s``: connections are reset for the first half of
it, every request answers 503 for the second half. embedded (default 50 sessions
x 20 events): the SQLite store, no faults, 50 concurrent writers.

After sending, it waits (at most ``--drain-timeout-s``) until every process the hooks
left behind (drainers, workers) has exited, then reads the store directly. CPU is
counted for every process of the run, detached ones included (this process is their
child subreaper; see bench/capture_cost.py). Prints per store: sent, stored,
duplicates, lost, peak requests in flight at the stand-in, peak processes alive, hook
wall p50/p95, detached (drainer) processes started, CPU seconds per event, what is
left in the outbox, and the stand-in's fault counters. ``--keep-dir DIR`` keeps each
run's data and log directories (outbox, failed entries, lakeloop.log) for a look. Exit code 1 when any run lost
or duplicated an event (goal: 0 and 0 in every run).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from capture_cost import (
    ROOT,
    Processes,
    StoreReader,
    deeplake_standin,
    hook_env,
    install_deadline,
    outbox_left,
    percentile,
    recorded_payload,
)

MARKER = re.compile(r"lkmk-[0-9a-f]{32}")
CYCLE = ("UserPromptSubmit", "PostToolUse", "PostToolUse", "Stop")


def session_events(index: int, events: int, run_id: str) -> tuple[str, list[tuple[str, bytes, str]]]:
    """(session id, ``[(hook event, payload bytes, marker), ...]``) for session ``index``."""
    session_id = f"soak-{run_id}-{index:04d}"
    prompt = recorded_payload("UserPromptSubmit")
    tool = recorded_payload("PostToolUse", "Bash")
    stop = recorded_payload("Stop")
    out = []
    for j in range(events):
        event = CYCLE[j % len(CYCLE)]
        marker = f"lkmk-{uuid.uuid4().hex}"
        if event == "UserPromptSubmit":
            payload = {**prompt, "prompt": f"soak session {index} event {j}: {marker}"}
        elif event == "PostToolUse":
            payload = {
                **tool,
                "tool_use_id": marker,
                "tool_input": {**tool.get("tool_input", {}), "command": f"echo {marker}"},
            }
        else:
            payload = {**stop, "last_assistant_message": f"done with event {j} of session {index}: {marker}"}
        payload["session_id"] = session_id
        out.append((event, json.dumps(payload).encode(), marker))
    return session_id, out


class Outage:
    """Takes the stand-in down once ``half`` events were sent: connection resets for the first
    half of ``seconds``, 503 on every request for the second half, then the normal faults again."""

    def __init__(self, standin: Any, seconds: float, normal: dict[str, Any]) -> None:
        self.standin = standin
        self.seconds = seconds
        self.normal = normal
        self.started: float | None = None
        self.ended: float | None = None
        self._thread: threading.Thread | None = None

    def trigger(self, t0: float) -> None:
        """Start the outage in the background (once)."""
        if self._thread is not None or self.seconds <= 0:
            return
        self._thread = threading.Thread(target=self._run, args=(t0,), name="outage", daemon=True)
        self._thread.start()

    def _run(self, t0: float) -> None:
        self.started = time.monotonic() - t0
        self.standin.configure(drop_rate=1.0)
        time.sleep(self.seconds / 2)
        self.standin.configure(drop_rate=self.normal["drop_rate"], fail_rate=1.0, fail_status=503)
        time.sleep(self.seconds / 2)
        self.standin.configure(**self.normal)
        self.ended = time.monotonic() - t0

    def join(self, timeout: float) -> None:
        """Wait (bounded) for the outage to be over, restoring the normal faults in any case."""
        if self._thread is not None:
            self._thread.join(timeout)
        self.standin.configure(**self.normal)


def soak(store: str, args: argparse.Namespace) -> dict[str, Any]:
    """One soak run on ``store``; returns its figures."""
    sessions = args.sessions or (100 if store == "deeplake" else 50)
    events = args.events
    run_id = f"{args.seed}-{uuid.uuid4().hex[:6]}"
    rng = random.Random(args.seed)
    plan = [session_events(i, events, run_id) for i in range(sessions)]
    total = sessions * events
    with contextlib.ExitStack() as stack:
        standin = dsn = outage = None
        if store == "deeplake":
            standin, dsn = stack.enter_context(deeplake_standin(seed=args.seed))
            r = args.fault_rate
            faults = rng.choices([None, 503, 429], weights=[1 - 2 * r, r, r], k=200_000)
            normal = dict(
                fail_rate=0.0,
                drop_rate=r,
                after_commit_fail_rate=r,
                after_commit_drop_rate=r,
                latency_s=args.latency_s,
                visibility_lag_s=args.lag_s,
            )
            standin.configure(fail_sequence=faults, retry_after="1", **normal)
            outage = Outage(standin, args.outage_s, normal)
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="lakeloop-soak-"))
        env, data_dir = hook_env(tmp, args.python, standin)
        reader = StoreReader(data_dir, dsn)
        stack.callback(reader.close)
        if args.keep_dir:  # after the processes are gone, before tmp is removed
            stack.callback(
                shutil.copytree,
                Path(tmp, "home", ".local"),
                Path(args.keep_dir, store),
                dirs_exist_ok=True,
                ignore_dangling_symlinks=True,
            )
        procs = stack.enter_context(Processes())

        lock = threading.Lock()
        walls: list[float] = []
        sent: list[str] = []
        killed = 0
        stop_sending = threading.Event()
        t0 = time.monotonic()
        peak_alive = 0
        sampling = threading.Event()

        def sample() -> None:
            nonlocal peak_alive
            while not sampling.wait(0.25):
                peak_alive = max(peak_alive, procs.descendants_alive())

        def run_session(events_of: list[tuple[str, bytes, str]], delay: float) -> None:
            nonlocal killed
            time.sleep(delay)
            for event, payload, marker in events_of:
                if stop_sending.is_set():
                    return
                end = procs.run_hook(event, payload, env, timeout=args.hook_timeout_s)
                with lock:
                    walls.append(end.wall_s * 1000)
                    sent.append(marker)
                    killed += end.killed
                    if outage is not None and len(sent) >= total // 2:
                        outage.trigger(t0)

        sampler = threading.Thread(target=sample, name="sampler", daemon=True)
        sampler.start()
        threads = [
            threading.Thread(
                target=run_session, args=(evs, rng.uniform(0, args.stagger_s)), name=f"session-{i}", daemon=True
            )
            for i, (_sid, evs) in enumerate(plan)
        ]
        for thread in threads:
            thread.start()
        send_deadline = t0 + args.send_timeout_s
        for thread in threads:
            thread.join(max(0.0, send_deadline - time.monotonic()))
        if any(t.is_alive() for t in threads):
            stop_sending.set()
            for thread in threads:
                thread.join(args.hook_timeout_s + 15)
        sent_s = time.monotonic() - t0
        if outage is not None:
            outage.join(args.outage_s + 5)
        quiet = procs.wait_quiet(args.drain_timeout_s)
        quiet_s = (procs.last_exit or time.monotonic()) - t0
        sampling.set()
        sampler.join(5)
        killed_at_end = procs.kill_all() if not quiet else 0
        procs.wait_quiet(10)
        if standin is not None:
            deadline = time.monotonic() + args.lag_s + 15
            while standin.pending_commits and time.monotonic() < deadline:
                time.sleep(0.05)
        cpu = procs.cpu_s()
        rows = reader.rows()
        left, failed = outbox_left(data_dir)

        with lock:
            sent_markers = list(sent)
        per_marker: collections.Counter[str] = collections.Counter()
        per_id: collections.Counter[str] = collections.Counter()
        foreign = 0
        for _row_id, message in rows:
            found = set(MARKER.findall(message))
            if len(found) != 1:
                foreign += 1
            per_marker.update(found)
            try:
                per_id[str(json.loads(message).get("id"))] += 1
            except (ValueError, AttributeError):
                pass
        sent_set = set(sent_markers)
        figures: dict[str, Any] = {
            "store": store,
            "sessions": sessions,
            "events_per_session": events,
            "planned": total,
            "sent": len(sent_markers),
            "rows": len(rows),
            "stored": sum(1 for m in sent_set if per_marker[m]),
            "duplicates": sum(c - 1 for c in per_marker.values() if c > 1),
            "repeated_ids": sum(c - 1 for c in per_id.values() if c > 1),
            "lost": sum(1 for m in sent_set if not per_marker[m]),
            "foreign_rows": foreign,
            "hook_p50_ms": statistics.median(walls) if walls else float("nan"),
            "hook_p95_ms": percentile(walls, 0.95),
            "hook_max_ms": max(walls, default=float("nan")),
            "detached": procs.detached,
            "cpu_s": cpu,
            "cpu_s_per_event": cpu / max(1, len(sent_markers)),
            "hook_cpu_s": procs.hook_cpu_s,
            "detached_cpu_s": procs.detached_cpu_s,
            "sent_s": sent_s,
            "quiet_s": quiet_s if quiet else None,
            "peak_alive": peak_alive,
            "hooks_killed": killed,
            "killed_at_end": killed_at_end,
            "outbox_left": left,
            "outbox_failed": failed,
        }
        if standin is not None:
            statuses = collections.Counter(r.status for r in standin.requests)
            figures.update(
                requests=len(standin.requests),
                max_in_flight=standin.max_in_flight,
                statuses=dict(sorted(statuses.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))),
                inserts_committed=standin.inserts_committed,
                after_commit_failed=standin.after_commit_failed,
                after_commit_dropped=standin.after_commit_dropped,
                outage=(outage.started, outage.ended) if outage else None,
            )
        return figures


def report(f: dict[str, Any]) -> None:
    """Print one run's figures."""

    def secs(value: float | None) -> str:
        return "not reached" if value is None else f"{value:.1f} s"

    bad = f["lost"] or f["duplicates"] or f["repeated_ids"]
    print(f"store: {f['store']}  ({f['sessions']} sessions x {f['events_per_session']} events)")
    print(f"  sent                     {f['sent']} of {f['planned']}")
    print(
        f"  stored                   {f['stored']}  (rows {f['rows']}, rows without exactly one marker "
        f"{f['foreign_rows']})"
    )
    print(f"  duplicates               {f['duplicates']}  (repeated message ids {f['repeated_ids']})")
    print(
        f"  lost                     {f['lost']}  (outbox left {f['outbox_left']}, outbox/failed {f['outbox_failed']})"
    )
    if "max_in_flight" in f:
        print(f"  peak requests in flight  {f['max_in_flight']}")
    print(f"  peak processes alive     {f['peak_alive']}")
    print(
        f"  hook wall                p50 {f['hook_p50_ms']:.0f} ms  p95 {f['hook_p95_ms']:.0f} ms  "
        f"max {f['hook_max_ms']:.0f} ms"
    )
    print(f"  drainer processes        {f['detached']}  (detached processes reaped)")
    print(
        f"  CPU per event            {f['cpu_s_per_event']:.3f} s  (total {f['cpu_s']:.1f} s: hooks "
        f"{f['hook_cpu_s']:.1f}, detached {f['detached_cpu_s']:.1f})"
    )
    print(f"  wall                     sending {f['sent_s']:.1f} s, until all exited {secs(f['quiet_s'])}")
    if "requests" in f:
        started, ended = f["outage"] or (None, None)
        when = "none" if started is None else f"{started:.1f} s .. {ended if ended is None else round(ended, 1)} s"
        print(
            f"  stand-in                 {f['requests']} requests, statuses {f['statuses']}, "
            f"INSERTs committed {f['inserts_committed']}, commit-then-500 {f['after_commit_failed']}, "
            f"commit-then-drop {f['after_commit_dropped']}, outage {when}"
        )
    extra = [f"{k}={f[k]}" for k in ("hooks_killed", "killed_at_end") if f[k]]
    if extra:
        print("  !! " + ", ".join(extra))
    print("  RESULT: " + ("FAIL (lost or duplicated events)" if bad else "ok: 0 lost, 0 duplicates"))


def main() -> int:
    """Run the soak; returns 1 when a run lost or duplicated an event."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", choices=("deeplake", "embedded", "both"), default="both")
    ap.add_argument(
        "--sessions", type=int, default=0, help="concurrent sessions (default: 100 on deeplake, 50 on embedded)"
    )
    ap.add_argument("--events", type=int, default=20, help="events per session")
    ap.add_argument("--outage-s", type=float, default=30.0, help="outage in the middle (deeplake; 0: none)")
    ap.add_argument(
        "--fault-rate",
        type=float,
        default=0.02,
        help="rate of each injected fault: 503, 429, dropped connection (per request), "
        "commit-then-500, commit-then-drop (per successful INSERT)",
    )
    ap.add_argument("--latency-s", type=float, default=0.05, help="added to every stand-in request")
    ap.add_argument("--lag-s", type=float, default=1.0, help="visibility lag of INSERTs at the stand-in")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stagger-s", type=float, default=1.0, help="sessions start within this many seconds")
    ap.add_argument("--python", default=sys.executable, help="interpreter the hooks run on (LAKELOOP_PYTHON)")
    ap.add_argument("--hook-timeout-s", type=float, default=60.0, help="a hook running longer is killed")
    ap.add_argument("--send-timeout-s", type=float, default=300.0, help="sessions stop sending after this")
    ap.add_argument(
        "--drain-timeout-s",
        type=float,
        default=180.0,
        help="longest wait after sending for every detached process to exit",
    )
    ap.add_argument("--keep-dir", help="copy each store's data and log dirs to DIR/<store> at the end")
    ap.add_argument("--max-run-s", type=float, default=1500.0, help="bound on the whole run (0: none)")
    args = ap.parse_args()
    if not 0 <= args.fault_rate <= 0.5:
        ap.error("--fault-rate must be between 0 and 0.5")
    install_deadline(args.max_run_s)
    stores = ("deeplake", "embedded") if args.store == "both" else (args.store,)
    print(f"checkout: {ROOT}\npython: {args.python}\nseed: {args.seed}")
    failed = False
    for store in stores:
        figures = soak(store, args)
        report(figures)
        sys.stdout.flush()
        failed |= bool(figures["lost"] or figures["duplicates"] or figures["repeated_ids"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
