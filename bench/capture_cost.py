"""CPU per captured event (detached drainers included) and wall time until N back-to-back events are stored.

    python bench/capture_cost.py [--store embedded|deeplake|both] [--events 40] [--python PATH]

Sends ``--events`` UserPromptSubmit events (the recorded payload of
plugin/lakeloop/data/, one session, a distinct prompt each) back to back through
real ``hooks/run`` processes, each started when the previous hook has exited, as
Claude Code does within one session. Then it waits until all of them are stored
(rows counted in the store itself, not through lakeloop) and every process the
hooks left behind (drainers, workers) has exited.

Everything is measured from outside, so it works whatever the outbox and drainer
do inside: this process is made a child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``),
so detached processes whose parent exited are re-parented to it; it reaps them,
counts them ("detached processes" = drainers started, and anything they started)
and the CPU of every process of the run (user + system, from
``getrusage(RUSAGE_CHILDREN)`` deltas) is charged to the events. The service side (the
stand-in, which runs in this process, and PostgreSQL) is not counted.

Prints per store: events sent, events stored (distinct events found in the rows; rows beyond
them are duplicates), CPU ms per event (and the split between
hook processes and detached ones), wall seconds from the first hook until all are
stored and until the last detached process exited, detached processes, and the
hooks' wall p50/p90. Target (issue): at most 40 ms of CPU per event for 40
back-to-back events on either store. Exit code 1 when an event was lost.

State lives in fresh temporary directories (HOME, plugin data); the Deeplake store is
the tests' stand-in (a throwaway PostgreSQL behind it, no injected faults). Every wait
is bounded and ``--max-run-s`` bounds the whole run (processes of the run are killed,
the PostgreSQL cluster is stopped and temporary directories removed on the way out).
This module also holds the process accounting that bench/soak.py uses.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import re
import resource
import signal
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "hooks" / "run"
PAYLOADS = ROOT / "plugin" / "lakeloop" / "data" / "claude-code-2.1.330-hook-payloads.jsonl"
PR_SET_CHILD_SUBREAPER = 36
TAG = re.compile(r"capture cost event (\d+) of")


# -- process accounting ---------------------------------------------------------------


def set_child_subreaper(on: bool) -> None:
    """Make this process (or stop it being) a child subreaper: orphaned descendants are
    re-parented to it instead of to init. Raises OSError when the kernel refuses."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(errno)}")


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Exit(NamedTuple):
    """How a hook process ended: wall seconds from spawn to exit, wait status, its CPU seconds
    (with its reaped descendants), and whether it was killed for running too long."""

    wall_s: float
    status: int
    cpu_s: float
    killed: bool = False


def _proc_table() -> list[tuple[int, bytes, int]]:
    """``(pid, state, parent pid)`` of every process, from /proc (one pass)."""
    table = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1:
            table.append((int(entry), fields[0], int(fields[1])))
    return table


class Processes:
    """Starts the hook processes of a run and reaps every process of it, detached ones included.

    On :meth:`start` this process becomes a child subreaper and a reaper thread begins
    collecting exits with ``os.wait4(-1)``: hook processes (started by :meth:`spawn`) are
    matched to their waiters, anything else is a detached descendant re-parented to us (a
    drainer, a worker) and counted in :attr:`detached`. :meth:`cpu_s` is the CPU of every
    process reaped since :meth:`start` (``RUSAGE_CHILDREN`` delta). Start only after helper
    processes that must not be counted (the PostgreSQL server) are running, and :meth:`close`
    before stopping them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hooks: dict[int, tuple[float, threading.Event]] = {}
        self._exits: dict[int, Exit] = {}
        self._spawned = threading.Event()
        self._stop = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._cpu0 = 0.0
        self.detached = 0
        self.detached_cpu_s = 0.0
        self.hook_cpu_s = 0.0
        self.hooks_started = 0
        self.last_exit: float | None = None  # time.monotonic() when the last process of the run was reaped

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> Processes:
        """Become a child subreaper, note the CPU baseline and start the reaper thread."""
        set_child_subreaper(True)
        self._cpu0 = _children_cpu_s()
        self._thread = threading.Thread(target=self._reap, name="reaper", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Kill whatever of the run is still alive, reap it, stop the reaper, stop being a subreaper.
        No process can be started after this."""
        with self._lock:
            self._closed = True
        self.kill_all()
        self._stop = True
        self._spawned.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            set_child_subreaper(False)
        except OSError:
            pass

    def __enter__(self) -> Processes:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- hooks ----------------------------------------------------------------------------

    def spawn(self, argv: list[str], env: dict[str, str], stdin: bytes) -> int:
        """Start ``argv`` with ``stdin`` on a pipe (as Claude Code feeds a hook its payload) and
        stdout/stderr on /dev/null; returns its pid (wait for it with :meth:`wait`).
        Raises RuntimeError after :meth:`close`."""
        read, write = os.pipe()
        actions = [
            (os.POSIX_SPAWN_DUP2, read, 0),
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
        ]
        try:
            with self._lock:  # registered before the reaper can see its exit
                if self._closed:
                    raise RuntimeError("the run is over: no more processes")
                pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
                self._hooks[pid] = (time.perf_counter(), threading.Event())
                self.hooks_started += 1
            self._spawned.set()
        finally:
            os.close(read)
        try:
            view = memoryview(stdin)
            while view:
                view = view[os.write(write, view) :]
        except BrokenPipeError:
            pass
        finally:
            os.close(write)
        return pid

    def wait(self, pid: int, timeout: float) -> Exit:
        """Wait for hook ``pid`` to exit; after ``timeout`` seconds it is killed (SIGKILL) and
        the Exit says so."""
        with self._lock:
            started, done = self._hooks[pid]
        killed = not done.wait(timeout)
        if killed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            done.wait(10)
        with self._lock:
            self._hooks.pop(pid, None)
            end = self._exits.pop(pid, None)
        if end is None:
            return Exit(time.perf_counter() - started, -1, 0.0, True)
        return end._replace(killed=killed)

    def run_hook(self, event: str, payload: bytes, env: dict[str, str], timeout: float = 60.0) -> Exit:
        """``hooks/run <event>`` with ``payload`` on stdin, to its exit (killed after ``timeout``)."""
        return self.wait(self.spawn([str(RUN), event], env, payload), timeout)

    # -- the reaper -----------------------------------------------------------------------

    def _reap(self) -> None:
        while not self._stop:
            try:
                pid, status, usage = os.wait4(-1, 0)
            except ChildProcessError:  # no children at the moment
                self._spawned.wait(0.02)
                self._spawned.clear()
                continue
            except InterruptedError:
                continue
            now = time.perf_counter()
            cpu = usage.ru_utime + usage.ru_stime
            with self._lock:
                self.last_exit = time.monotonic()
                hook = self._hooks.get(pid)
                if hook is not None:
                    self.hook_cpu_s += cpu
                    self._exits[pid] = Exit(now - hook[0], status, cpu)
                    hook[1].set()
                else:
                    self.detached += 1
                    self.detached_cpu_s += cpu

    # -- state ------------------------------------------------------------------------------

    def children_exist(self) -> bool:
        """True while any process of the run exists (running, or exited and not reaped yet).
        Every descendant is a child of ours or has a living ancestor that is, since we are
        the subreaper, so having no child means the whole run has ended."""
        try:
            os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return False
        return True

    def wait_quiet(self, timeout: float) -> bool:
        """Wait until no process of the run is left (bounded); True when that happened."""
        deadline = time.monotonic() + timeout
        while self.children_exist():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        time.sleep(0.05)  # let the reaper thread account the last exit
        return not self.children_exist()

    def children(self) -> list[int]:
        """Pids whose parent is this process (from /proc)."""
        me = os.getpid()
        return [pid for pid, _state, ppid in _proc_table() if ppid == me]

    def descendants_alive(self) -> int:
        """How many processes below this one exist right now (from /proc; for sampling)."""
        parents = {pid: ppid for pid, state, ppid in _proc_table() if state != b"Z"}
        me, count = os.getpid(), 0
        for pid in parents:
            seen = 0
            while pid in parents and seen < 64:
                pid, seen = parents[pid], seen + 1
                if pid == me:
                    count += 1
                    break
        return count

    def kill_all(self, rounds: int = 50) -> int:
        """SIGKILL every process of the run still alive (children of ours, then whatever gets
        re-parented to us); returns how many were killed."""
        killed = 0
        for _ in range(rounds):
            pids = self.children()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        return killed

    def cpu_s(self) -> float:
        """CPU seconds (user + system) of every process of the run reaped so far."""
        return _children_cpu_s() - self._cpu0


# -- environment, payloads, stores ---------------------------------------------------------


def recorded_payload(event: str, tool: str | None = None) -> dict[str, Any]:
    """The first recorded payload of ``event`` (and ``tool``)."""
    for line in PAYLOADS.read_text().splitlines():
        payload = json.loads(line)
        if payload["hook_event_name"] == event and (tool is None or payload.get("tool_name") == tool):
            return payload
    raise SystemExit(f"no recorded {event} {tool or ''} payload")


def hook_env(tmp: str, python: str, standin: Any | None) -> tuple[dict[str, str], Path]:
    """(environment for the hooks, data dir) for an isolated run under ``tmp``: a temporary
    HOME decides the data and log dirs (platformdirs), as inside Claude Code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAKELOOP_", "XDG_", "PYTHON"))}
    env.update(
        HOME=f"{tmp}/home",
        CLAUDE_PLUGIN_DATA=f"{tmp}/plugin-data",
        LAKELOOP_PYTHON=python,
        LAKELOOP_CLAUDE_BIN="/nonexistent",
        LAKELOOP_USER="bench",
        LAKELOOP_DEEPLAKE_CREDENTIALS=f"{tmp}/no-credentials.json",
        # anything the hooks start with -m imports this checkout's plugin, like entry.py does
        PYTHONPATH=str(ROOT / "plugin"),
    )
    if standin is None:
        env["LAKELOOP_STORE"] = "embedded"
    else:
        env.update(
            LAKELOOP_STORE="deeplake",
            LAKELOOP_DEEPLAKE_TOKEN=standin.token,
            LAKELOOP_DEEPLAKE_ORG_ID=standin.org_id,
            LAKELOOP_DEEPLAKE_WORKSPACE=standin.workspace,
            LAKELOOP_DEEPLAKE_API_URL=standin.base_url,
        )
    data_dir = Path(tmp, "home", ".local", "share", "lakeloop")  # platformdirs' user data dir there
    data_dir.mkdir(parents=True)
    return env, data_dir


class StoreReader:
    """Reads the sessions table directly (SQLite file, or PostgreSQL behind the stand-in),
    never through lakeloop or the stand-in's HTTP API (which may be injecting faults)."""

    def __init__(self, data_dir: Path, dsn: str | None) -> None:
        self.data_dir = data_dir
        self.dsn = dsn
        self._pg: Any = None  # a psycopg connection once the Deeplake stand-in is read

    def _select(self, sql: str) -> list[tuple]:
        """Rows of ``sql`` on the sessions table; [] while there is no such table."""
        if self.dsn is None:
            path = self.data_dir / "store.sqlite3"
            if not path.exists():
                return []
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
            try:
                return db.execute(sql).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return []
                raise
            finally:
                db.close()
        import psycopg

        if self._pg is None or self._pg.closed:
            self._pg = psycopg.connect(
                self.dsn, connect_timeout=10, autocommit=True, options="-c statement_timeout=30000"
            )
        try:
            return self._pg.execute(sql).fetchall()
        except psycopg.errors.UndefinedTable:
            return []

    def rows(self) -> list[tuple[str, str]]:
        """``(row id, message as JSON text)`` of every sessions row."""
        cast = "message" if self.dsn is None else "message::text"
        return [(str(i), m or "") for i, m in self._select(f"SELECT id, {cast} FROM sessions")]

    def count(self) -> int:
        """Number of sessions rows (0 while there is no table)."""
        found = self._select("SELECT COUNT(*) FROM sessions")
        return found[0][0] if found else 0

    def close(self) -> None:
        """Close the PostgreSQL connection, if one is open."""
        if self._pg is not None:
            self._pg.close()
            self._pg = None


def outbox_left(data_dir: Path) -> tuple[int, int]:
    """(files left in ``<data dir>/outbox`` that are not locks or hidden temporaries, files in
    ``outbox/failed``), whatever the outbox's layout."""
    outbox = data_dir / "outbox"
    left = failed = 0
    if outbox.is_dir():
        for entry in outbox.iterdir():
            if entry.is_file() and not entry.name.startswith(".") and not entry.name.endswith(".lock"):
                left += 1
        if (outbox / "failed").is_dir():
            failed = sum(1 for e in (outbox / "failed").iterdir() if e.is_file())
    return left, failed


@contextlib.contextmanager
def deeplake_standin(**settings: Any) -> Iterator[tuple[Any, str]]:
    """A throwaway PostgreSQL cluster with the Deeplake stand-in in front: ``(standin, dsn)``."""
    sys.path.insert(0, str(ROOT))
    from tests.support.deeplake_standin import DeeplakeStandIn
    from tests.support.postgres import PostgresCluster

    with PostgresCluster() as cluster, DeeplakeStandIn(cluster.dsn, **settings) as standin:
        yield standin, cluster.dsn


class Deadline(Exception):
    """The run took longer than ``--max-run-s``."""


def install_deadline(seconds: float) -> None:
    """Raise Deadline in the main thread after ``seconds`` (0: none) and turn SIGTERM into
    KeyboardInterrupt, so the cleanup on the way out (processes killed, PostgreSQL stopped,
    temporary directories removed) always runs."""

    def expired(_sig, _frame):
        raise Deadline(f"run exceeded {seconds:.0f} s")

    def terminated(_sig, _frame):
        raise KeyboardInterrupt("SIGTERM")

    signal.signal(signal.SIGTERM, terminated)
    if seconds > 0:
        signal.signal(signal.SIGALRM, expired)
        signal.setitimer(signal.ITIMER_REAL, seconds)


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank; NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


# -- the benchmark ------------------------------------------------------------------------


def measure(store: str, events: int, python: str, stored_timeout: float, quiet_timeout: float) -> dict[str, Any]:
    """One run on ``store`` (embedded or deeplake); returns its figures."""
    with contextlib.ExitStack() as stack:
        standin, dsn = stack.enter_context(deeplake_standin()) if store == "deeplake" else (None, None)
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="lakeloop-cost-"))
        env, data_dir = hook_env(tmp, python, standin)
        reader = StoreReader(data_dir, dsn)
        stack.callback(reader.close)
        base = recorded_payload("UserPromptSubmit")
        payloads = [
            json.dumps({**base, "prompt": f"{base['prompt']} (capture cost event {i + 1} of {events})"}).encode()
            for i in range(events)
        ]
        procs = stack.enter_context(Processes())
        hook_walls: list[float] = []
        killed = 0
        done = threading.Event()
        started = time.monotonic()

        def send() -> None:
            nonlocal killed
            for payload in payloads:
                if done.is_set():
                    return
                end = procs.run_hook("UserPromptSubmit", payload, env)
                hook_walls.append(end.wall_s * 1000)
                killed += end.killed

        sender = threading.Thread(target=send, name="sender", daemon=True)
        sender.start()
        stored_s = None
        stored = 0
        deadline = started + stored_timeout
        while time.monotonic() < deadline:
            stored = reader.count()
            if stored >= events:
                stored_s = time.monotonic() - started
                break
            time.sleep(0.02)
        if stored_s is None:
            done.set()  # timed out: send no more
        sender.join(max(0.0, deadline - time.monotonic()) + 65)
        quiet = procs.wait_quiet(quiet_timeout)
        quiet_s = (procs.last_exit or time.monotonic()) - started
        leftover = procs.kill_all() if not quiet else 0
        procs.wait_quiet(10)
        rows = reader.rows()
        found = {m.group(1) for _id, message in rows for m in [TAG.search(message)] if m}
        stored = len(found)
        cpu = procs.cpu_s()
        left, failed = outbox_left(data_dir)
        figures = {
            "store": store,
            "events": events,
            "sent": len(hook_walls),
            "stored": stored,
            "rows": len(rows),
            "duplicates": len(rows) - stored,
            "cpu_ms_per_event": cpu * 1000 / events,
            "cpu_s": cpu,
            "hook_cpu_ms_per_event": procs.hook_cpu_s * 1000 / events,
            "detached_cpu_ms_per_event": procs.detached_cpu_s * 1000 / events,
            "stored_s": stored_s,
            "quiet_s": quiet_s if quiet else None,
            "detached": procs.detached,
            "hook_p50_ms": statistics.median(hook_walls) if hook_walls else float("nan"),
            "hook_p90_ms": percentile(hook_walls, 0.9),
            "hooks_killed": killed,
            "killed_at_end": leftover,
            "outbox_left": left,
            "outbox_failed": failed,
        }
        if standin is not None:
            figures.update(requests=len(standin.requests), max_in_flight=standin.max_in_flight)
        return figures


def report(f: dict[str, Any]) -> None:
    """Print one run's figures."""

    def secs(value: float | None) -> str:
        return "not reached" if value is None else f"{value:.2f} s"

    print(f"store: {f['store']}")
    print(f"  events sent              {f['sent']} of {f['events']}")
    print(
        f"  events stored            {f['stored']}"
        + ("" if f["stored"] == f["events"] else "  <-- LOST EVENTS")
        + f"  (rows {f['rows']}"
        + (f", {f['duplicates']} DUPLICATES)" if f["duplicates"] else ")")
    )
    print(
        f"  CPU per event            {f['cpu_ms_per_event']:.1f} ms  (hooks {f['hook_cpu_ms_per_event']:.1f}, "
        f"detached {f['detached_cpu_ms_per_event']:.1f}; total {f['cpu_s']:.2f} s)"
    )
    print(f"  wall until all stored    {secs(f['stored_s'])}")
    print(f"  wall until all exited    {secs(f['quiet_s'])}")
    print(f"  detached processes       {f['detached']}")
    print(f"  hook wall                p50 {f['hook_p50_ms']:.1f} ms  p90 {f['hook_p90_ms']:.1f} ms")
    if "requests" in f:
        print(f"  stand-in requests        {f['requests']} (peak in flight {f['max_in_flight']})")
    extra = [f"{k}={f[k]}" for k in ("hooks_killed", "killed_at_end", "outbox_left", "outbox_failed") if f[k]]
    if extra:
        print("  !! " + ", ".join(extra))


def main() -> int:
    """Run the benchmark; returns 1 when an event was lost."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", choices=("embedded", "deeplake", "both"), default="both")
    ap.add_argument("--events", type=int, default=40)
    ap.add_argument("--python", default=sys.executable, help="interpreter the hooks run on (LAKELOOP_PYTHON)")
    ap.add_argument("--stored-timeout-s", type=float, default=120.0, help="longest wait for all rows")
    ap.add_argument(
        "--quiet-timeout-s",
        type=float,
        default=60.0,
        help="longest wait for the detached processes to exit once the rows are there",
    )
    ap.add_argument("--max-run-s", type=float, default=600.0, help="bound on the whole run (0: none)")
    args = ap.parse_args()
    install_deadline(args.max_run_s)
    stores = ("embedded", "deeplake") if args.store == "both" else (args.store,)
    print(f"checkout: {ROOT}\npython: {args.python}\nevents: {args.events} UserPromptSubmit, back to back")
    lost = False
    for store in stores:
        figures = measure(store, args.events, args.python, args.stored_timeout_s, args.quiet_timeout_s)
        report(figures)
        lost |= figures["stored"] < figures["events"]
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
