"""The job runner (``lakeloop jobs run``, started by ``jobs.wake.ensure_running``) and one job's
process (``lakeloop jobs exec ID TOKEN``).

The runner holds the runner lock for its whole life and loops:

1. collect job processes that ended (one that ended without recording an outcome fails its
   attempt: "exited with status N"), kill those past their kind's ``timeout_s`` ("timed out"),
   renew the leases of the others every third of ``config.jobs_lease_s()``;
2. ``queue.reap`` jobs whose lease lapsed (their runner died), never one still held;
3. ``queue.claim`` due jobs while fewer than ``CONCURRENCY`` run, at most one per kind, each
   run in its own process (``execute``, below) in its own process group;
4. wait in ``select`` on the wake FIFO and the job processes' status and stderr pipes, with the
   timeout ``min(linger end, next due job or lease lapse, next renewal, next job deadline)``: no
   stat loop, no store request.

A job process's stdout goes to /dev/null; of its stderr the runner keeps the last
``STDERR_TAIL_BYTES`` and logs one line of its end when the job ends. Every error text the runner
or a job process keeps or logs (an exception's message, a cause, that stderr) goes through the
secret filter (``queue.error_text``, ``queue.scrub``) and fits one line; a job's traceback is
logged only at DEBUG level (``LAKELOOP_DEBUG=1``), filtered too.

With no job running and nothing due for ``config.jobs_linger_s()`` it releases the lock, looks
at the queue once more and takes the lock again when a job became due meanwhile (an enqueuer
that found the lock held wrote to the FIFO, which may have come too late to be read); otherwise
it exits, and the next enqueue or kick (``wake.kick_if_due``, from hooks) starts a new one. After
``MAX_LIFETIME_S``, or as soon as its lock descriptor no longer holds the lock file at its path
(the file was removed or replaced), it stops claiming, lets its jobs end and exits (starting its
successor when a job is due). It prunes old done and failed jobs at its start; at its start and
its exit it re-syncs ``jobs/.due`` with the queue, so a stale deadline costs one idle runner.

A job's process (``execute``) re-reads its row, checks that its token still holds it, runs the
kind's function and records the outcome itself, fenced by the token. A watchdog thread reads its
stdin, a pipe from the runner: end of file means the runner died, and the process kills its own
process group (with whatever the kind started, a ``claude -p`` included), so a job never
outlives its runner and a lapsed lease never meets a live job. The runner kills a finished job's
process group too (leftover grandchildren).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

from .. import config, locks, paths
from ..detach import worker_env
from . import db, queue
from .base import RUNNING, JobFailed, JobsUnavailable, RetryLater
from .kinds import Context
from .wake import ensure_running

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Mapping

    from .kinds import Kind
    from .queue import Job

#: Job processes running at once, and at most one per kind (2-core machines; a long skill job
#: never delays a summary).
CONCURRENCY = 2
#: After this long (seconds) a runner stops claiming, lets its jobs end and exits.
MAX_LIFETIME_S = 1800.0
#: How long the runner waits for a job process whose status pipe closed to become reapable (s).
EXIT_WAIT_S = 2.0
#: Margin (seconds) of the runner's hard alarm past its lifetime and its longest job.
ALARM_MARGIN_S = 120
#: Longest wait in one ``select`` (seconds): the loop recomputes its deadlines after it.
MAX_WAIT_S = 3600.0
#: Longest error text in a log line (characters, after the secret filter).
SHORT_CHARS = 160
#: How much of a job process's stderr the runner keeps (its last bytes) and logs when it ends.
STDERR_TAIL_BYTES = 4096


def new_token() -> str:
    """A lease token for one attempt: ``<host>:<pid>:<16 hex>``."""
    import secrets
    import socket

    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(8)}"


class _Child:
    """One job's process as the runner supervises it (times in epoch seconds). Its stderr is a
    non-blocking pipe (``err_fd``, -1 once closed) of which the runner keeps the last
    ``STDERR_TAIL_BYTES`` (``err_tail``) and the byte count (``err_bytes``)."""

    def __init__(self, job: Job, kind: Kind, token: str, proc: subprocess.Popen, status_fd: int, now: float) -> None:
        self.job, self.kind, self.token, self.proc, self.status_fd = job, kind, token, proc, status_fd
        self.started = now
        self.deadline = now + kind.timeout_s
        self.renew_at = now
        self.eof = False
        self.killed = ""  # why the runner killed it ("timed out after 2 s"), else ""
        self.err_fd = proc.stderr.fileno() if proc.stderr is not None else -1
        self.err_tail = b""
        self.err_bytes = 0
        if self.err_fd >= 0:
            os.set_blocking(self.err_fd, False)

    def read_stderr(self, reads: int = 16) -> None:
        """Read what the process wrote to stderr so far (at most ``reads`` reads of 64 KiB, so a
        writer faster than the runner cannot hold it), keeping only its tail; close the pipe at
        its end."""
        for _ in range(reads):
            if self.err_fd < 0:
                return
            try:
                data = os.read(self.err_fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self.close_stderr()
                return
            self.err_bytes += len(data)
            self.err_tail = (self.err_tail + data)[-STDERR_TAIL_BYTES:]

    def close_stderr(self) -> None:
        """Close the stderr pipe (a grandchild still writing to it gets EPIPE)."""
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        self.err_fd = -1


class Runner:
    """The scheduler loop (module docstring). ``kinds``: ``{name: Kind}``; ``lock_fd``: the
    descriptor holding the runner lock (inherited); ``log``: the ``jobs`` logger; ``clock``:
    epoch seconds. ``lease_s``, ``linger_s`` and ``schedule`` default to the settings
    (``config.jobs_lease_s``, ``jobs_linger_s``, ``jobs_backoff_s``)."""

    def __init__(
        self,
        kinds: Mapping[str, Kind],
        lock_fd: int,
        log: logging.Logger,
        *,
        clock: Callable[[], float] = time.time,
        lease_s: float | None = None,
        linger_s: float | None = None,
        schedule: tuple[float, ...] | None = None,
        concurrency: int = CONCURRENCY,
        max_lifetime_s: float = MAX_LIFETIME_S,
    ) -> None:
        self.kinds = dict(kinds)
        self.lock_fd: int | None = lock_fd
        self.log = log
        self.clock = clock
        self.lease_s = config.jobs_lease_s() if lease_s is None else lease_s
        self.linger_s = config.jobs_linger_s() if linger_s is None else linger_s
        self.schedule = config.jobs_backoff_s() if schedule is None else schedule
        self.concurrency = concurrency
        self.max_lifetime_s = max_lifetime_s
        self.children: dict[int, _Child] = {}
        self.fifo: int | None = None
        self._keeper: int | None = None
        self.started = self.idle_since = clock()
        self.conn: db.Connection | None = None
        self.retiring = ""  # why the runner stopped claiming ("past its lifetime"), else ""

    # -- life -------------------------------------------------------------------------------

    def run(self) -> int:
        """Run until idle (module docstring). Returns 0, or 1 when the lock descriptor does not
        hold the runner lock (nothing is run). Raises JobsUnavailable when the queue cannot be
        opened."""
        if self.lock_fd is None or not locks.holds(self.lock_fd, paths.jobs_runner_lock()):
            self.log.error("jobs: runner started without the runner lock; exiting")
            return 1
        longest = max((k.timeout_s for k in self.kinds.values()), default=0.0)
        signal.alarm(int(self.max_lifetime_s + longest + ALARM_MARGIN_S))
        self.conn = db.connect(check=True)
        try:
            pruned = queue.prune(self.conn, self.clock())  # also re-syncs .due with the queue
            self.log.info("jobs: runner start kinds=%s pruned=%d", ",".join(sorted(self.kinds)), pruned)
            self.fifo = self._open_fifo()
            while True:
                wait = self._tick()
                if wait is not None:
                    self._wait(wait)
                elif not self._hand_over():
                    break
        finally:
            self._close()
        return 0

    def _tick(self) -> float | None:
        """One pass over the children and the queue; the seconds to wait next, or None when the
        runner should stop (idle past its linger, or past its lifetime with no job left)."""
        assert self.conn is not None
        now = self.clock()
        self._collect(now)
        self._supervise(now)
        for job, state in queue.reap(self.conn, now, self._max_attempts):
            self.log.warning("jobs: job %d kind=%s lease lapsed (runner died): %s", job.id, job.kind, state)
        retiring = self._retiring(now)
        if not retiring:
            self._claim(now)
        if self.children:
            self.idle_since = now
        elif retiring or now >= self.idle_since + self.linger_s:
            return None
        return self._timeout(now, retiring)

    def _retiring(self, now: float) -> bool:
        """True once the runner must stop claiming: past its lifetime, or its lock descriptor no
        longer holds the lock file at its path (removed or replaced: another runner may hold the
        new one). Checked at each tick; once retiring, always retiring."""
        if not self.retiring:
            if now - self.started >= self.max_lifetime_s:
                self.retiring = "past its lifetime"
            elif self.lock_fd is None or not locks.holds(self.lock_fd, paths.jobs_runner_lock()):
                self.retiring = "its lock file was removed or replaced"
                self.log.warning("jobs: the runner lock file was removed or replaced: claiming nothing more")
        return bool(self.retiring)

    def _hand_over(self) -> bool:
        """Release the lock; True when a job became due meanwhile and the lock was taken again
        (the loop goes on), False when the runner exits. A retiring runner (past its lifetime,
        or its lock lost) starts its successor instead of going on."""
        assert self.conn is not None
        self._retiring(self.clock())
        if self.lock_fd is not None:
            locks.unlock(self.lock_fd)
            self.lock_fd = None
        now = self.clock()
        due = queue.next_due(self.conn)
        if due is None or due > now:
            self.log.info("jobs: runner idle, exiting")
            return False
        if self.retiring:
            self.log.info("jobs: runner %s, handing over: %s", self.retiring, ensure_running(self.log))
            return False
        fd = locks.try_lock(paths.jobs_runner_lock())
        if fd is None:
            self.log.info("jobs: another runner took over")
            return False
        self.lock_fd = fd
        self.idle_since = now
        self.log.info("jobs: a job arrived as the runner was leaving; going on")
        return True

    def _close(self) -> None:
        if self.conn is not None:
            try:
                queue.resync_due(self.conn)  # whatever touched .due meanwhile, it leaves it right
            except JobsUnavailable as exc:
                self.log.warning("jobs: could not re-sync the queue's deadline file: %s", exc)
        for fd in (self.fifo, self._keeper, self.lock_fd):
            if fd is not None:
                locks.unlock(fd)  # closes it
        self.fifo = self._keeper = self.lock_fd = None
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    # -- jobs -------------------------------------------------------------------------------

    def _max_attempts(self, kind: str) -> int:
        known = self.kinds.get(kind)
        return max(1, known.max_attempts) if known else 1

    def _claim(self, now: float) -> None:
        assert self.conn is not None
        while len(self.children) < self.concurrency:
            token = new_token()
            busy = {c.job.kind for c in self.children.values()}
            job = queue.claim(self.conn, token, now + self.lease_s, now, exclude_kinds=busy)
            if job is None:
                return
            kind = self.kinds.get(job.kind)
            if kind is None:
                queue.fail(
                    self.conn,
                    job.id,
                    token,
                    f"unknown job kind {job.kind}",
                    now,
                    max_attempts=1,
                    schedule=self.schedule,
                )
                self.log.error("jobs: job %d has an unknown kind %r: failed", job.id, job.kind)
                continue
            try:
                self._spawn(job, kind, token, now)
            except OSError as exc:
                state = queue.fail(
                    self.conn,
                    job.id,
                    token,
                    f"could not start its process: {exc}",
                    now,
                    max_attempts=kind.max_attempts,
                    schedule=self.schedule,
                )
                self.log.error(
                    "jobs: job %d kind=%s could not start: %s (%s)",
                    job.id,
                    job.kind,
                    queue.error_text(str(exc), SHORT_CHARS),
                    state,
                )
                return

    def _spawn(self, job: Job, kind: Kind, token: str, now: float) -> None:
        read_end, write_end = os.pipe()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "lakeloop.cli.main", "jobs", "exec", str(job.id), token],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,  # a job reports through its outcome and the log, never stdout
                stderr=subprocess.PIPE,  # read by the runner, bounded, and logged through the secret filter
                pass_fds=(write_end,),
                close_fds=True,
                start_new_session=True,
                env=worker_env(),
                cwd=paths.data_dir_str(),
            )
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        child = _Child(job, kind, token, proc, read_end, now)
        child.renew_at = now + self.lease_s / 3
        self.children[job.id] = child
        self.log.info(
            "jobs: job %d kind=%s attempt=%d/%d started pid=%d",
            job.id,
            job.kind,
            job.attempts,
            kind.max_attempts,
            proc.pid,
        )

    def _collect(self, now: float) -> None:
        """Reap job processes that ended; fail the attempt of one that recorded no outcome."""
        assert self.conn is not None
        for job_id, child in list(self.children.items()):
            code = child.proc.poll()
            if code is None:
                continue
            del self.children[job_id]
            os.close(child.status_fd)
            if child.proc.stdin is not None:
                child.proc.stdin.close()
            _kill_group(child.proc.pid)  # whatever the job left running
            self._log_stderr(job_id, child)
            row = queue.get(self.conn, job_id)
            if row is None or row.state != RUNNING or row.lease_owner != child.token:
                self.log.info(
                    "jobs: job %d kind=%s ended: %s%s",
                    job_id,
                    child.job.kind,
                    row.state if row else "dropped",
                    f" ({row.outcome})" if row and row.outcome and row.state != "failed" else "",
                )
                continue
            cause = child.killed or (f"killed by signal {-code}" if code < 0 else f"exited with status {code}")
            state = queue.fail(
                self.conn,
                job_id,
                child.token,
                cause,
                now,
                max_attempts=child.kind.max_attempts,
                schedule=self.schedule,
            )
            self.log.error("jobs: job %d kind=%s %s without an outcome: %s", job_id, child.job.kind, cause, state)

    def _log_stderr(self, job_id: int, child: _Child) -> None:
        """Read the rest of an ended job's stderr, close it, and log its ending (one line through
        the secret filter, its last ``queue.MAX_ERROR_CHARS`` characters) when it wrote anything."""
        child.read_stderr()
        child.close_stderr()
        if child.err_bytes:
            line = " ".join(queue.scrub(child.err_tail.decode("utf-8", "replace")).split())
            self.log.warning(
                "jobs: job %d kind=%s wrote %d bytes to stderr, ending: %s",
                job_id,
                child.job.kind,
                child.err_bytes,
                line[-queue.MAX_ERROR_CHARS :],
            )

    def _supervise(self, now: float) -> None:
        """Kill job processes past their deadline; renew the leases that are due."""
        assert self.conn is not None
        for job_id, child in self.children.items():
            if child.killed:
                continue
            if now >= child.deadline:
                child.killed = f"timed out after {child.kind.timeout_s:g} s"
                _kill_group(child.proc.pid)
                continue
            if now < child.renew_at:
                continue
            child.renew_at = now + self.lease_s / 3
            if queue.renew(self.conn, job_id, child.token, now + self.lease_s, now):
                continue
            row = queue.get(self.conn, job_id)
            if row is not None and row.state == RUNNING and row.lease_owner != child.token:
                child.killed = "its lease was taken over"
                _kill_group(child.proc.pid)
                self.log.error("jobs: job %d lost its lease to another runner: process killed", job_id)

    def _timeout(self, now: float, retiring: bool) -> float:
        assert self.conn is not None
        times = []
        for child in self.children.values():
            times.append(child.renew_at)
            if not child.killed:
                times.append(child.deadline)
        if not self.children:
            times.append(self.idle_since + self.linger_s)
        can_claim = not retiring and len(self.children) < self.concurrency
        due = queue.next_due(
            self.conn,
            queued=can_claim,
            exclude_kinds={c.job.kind for c in self.children.values()},
            exclude_ids=set(self.children),
        )
        if due is not None:
            times.append(due)
        return max(0.0, min(times) - now) if times else 0.0

    # -- waiting ----------------------------------------------------------------------------

    def _open_fifo(self) -> int | None:
        """The wake FIFO's read end (non-blocking), with a write end kept open so ``select`` never
        sees end of file; None when no FIFO can be used (then wakes wait for the linger's end)."""
        import stat

        path = paths.jobs_wake_fifo()
        try:
            try:
                os.mkfifo(path, 0o600)
            except FileExistsError:
                pass
            st = os.lstat(path)
            if not stat.S_ISFIFO(st.st_mode) or st.st_uid != os.geteuid():
                self.log.warning("jobs: %s is not our FIFO: the runner is not woken early", path)
                return None
            read_end = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
            self._keeper = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
            return read_end
        except OSError as exc:
            self.log.warning("jobs: no wake FIFO (%s): the runner is not woken early", exc)
            return None

    def _wait(self, timeout: float) -> None:
        """Block until a wake, a job process's end or ``timeout`` seconds."""
        watched = [c.status_fd for c in self.children.values() if not c.eof]
        watched += [c.err_fd for c in self.children.values() if c.err_fd >= 0]
        if self.fifo is not None:
            watched.append(self.fifo)
        ready, _, _ = select.select(watched, [], [], min(max(0.0, timeout), MAX_WAIT_S))
        for fd in ready:
            if fd == self.fifo:
                _drain(fd)
                continue
            for child in self.children.values():
                if child.err_fd == fd:
                    child.read_stderr()
                elif child.status_fd == fd and not os.read(fd, 512):
                    child.eof = True  # the process is exiting: reap it now, not at the next renewal
                    try:
                        child.proc.wait(timeout=EXIT_WAIT_S)
                    except subprocess.TimeoutExpired:
                        pass


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except OSError:  # EAGAIN: nothing more
        pass


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:  # gone already
        pass


# -- one job's process ------------------------------------------------------------------------


def _watch_runner() -> None:
    """Kill this process group when stdin (a pipe from the runner) reaches end of file."""
    import threading

    def watch() -> None:
        try:
            while os.read(0, 512):
                pass
        except OSError:
            pass
        os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, name="jobs-watchdog", daemon=True).start()


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _debug_traceback(log: logging.Logger, job_id: int, exc: BaseException) -> None:
    """At DEBUG level (``LAKELOOP_DEBUG=1``) only, the traceback of what job ``job_id`` raised,
    through the secret filter (``queue.scrub``); the log carries no traceback otherwise."""
    import logging

    if log.isEnabledFor(logging.DEBUG):
        import traceback

        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        log.debug("jobs: job %d traceback: %s", job_id, queue.scrub(text))


def execute(
    job_id: int,
    token: str,
    kinds: Mapping[str, Kind],
    log: logging.Logger,
    *,
    clock: Callable[[], float] = time.time,
    watchdog: bool = True,
) -> int:
    """Run job ``job_id`` whose lease ``token`` holds, with its kind from ``kinds``, and record
    how it ended (fenced by ``token``). ``watchdog``: kill this process group when stdin ends
    (the runner died). Returns 0 (an outcome was recorded, or the job is no longer ours).
    Raises JobsUnavailable when the queue cannot be read or written."""
    if watchdog:
        _watch_runner()
    conn = db.connect()
    try:
        job = queue.get(conn, job_id)
        if job is None or job.state != RUNNING or job.lease_owner != token:
            log.warning("jobs: job %d is not held by this attempt: not run", job_id)
            return 0
        kind = kinds.get(job.kind)
        schedule = config.jobs_backoff_s()
        if kind is None:
            queue.fail(conn, job_id, token, f"unknown job kind {job.kind}", clock(), max_attempts=1, schedule=schedule)
            return 0
        import logging

        level = logging.INFO
        started = clock()
        ctx = Context(job.id, job.key, job.attempts, kind.max_attempts, log, started + kind.timeout_s)
        try:
            try:
                payload = job.payload_dict()
            except ValueError as exc:
                raise JobFailed(f"unreadable payload: {exc}") from exc
            outcome = str(kind.run(payload, ctx))
        except RetryLater as exc:
            state = queue.retry_later(conn, job_id, token, exc.after_s, exc.reason, clock())
            how = f"retry in {exc.after_s:g} s: {queue.error_text(exc.reason, SHORT_CHARS)}"
        except JobFailed as exc:
            how = f"failed: {queue.error_text(exc.reason, SHORT_CHARS)}"
            state = queue.fail(
                conn,
                job_id,
                token,
                exc.reason,
                clock(),
                max_attempts=kind.max_attempts,
                schedule=schedule,
                permanent=True,
            )
        except BaseException as exc:  # a poison job: one failed attempt, whatever it raised
            how, level = f"raised {queue.error_text(_describe(exc), SHORT_CHARS)}", logging.ERROR
            state = queue.fail(
                conn, job_id, token, _describe(exc), clock(), max_attempts=kind.max_attempts, schedule=schedule
            )
            _debug_traceback(log, job_id, exc)
        else:
            how = f"outcome={queue.error_text(outcome, 40)}"
            state = queue.finish(conn, job_id, token, outcome, clock())
        log.log(
            level,
            "jobs: job %d kind=%s attempt=%d %s -> %s ms=%d",
            job_id,
            job.kind,
            job.attempts,
            how,
            state or "lease lost, not recorded",
            int((clock() - started) * 1000),
        )
        return 0
    finally:
        conn.close()
