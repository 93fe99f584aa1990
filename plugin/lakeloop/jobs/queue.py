"""The queue's operations on ``jobs/queue.db`` (``jobs.db``): one row per ``(kind, key)``.

States and transitions (every write is one ``BEGIN IMMEDIATE`` transaction; ``finish``,
``retry_later``, ``fail`` and ``renew`` only act while the caller's lease token still holds the
row, so a runner that lost its lease cannot overwrite the new holder's outcome)::

    queued --claim (attempts + 1, lease)--> running --finish--> done
    running --retry_later(after_s)--> queued (attempts - 1, next_run_at = now + after_s)
    running --fail, attempts < max--> queued (next_run_at = now + backoff, last_error)
    running --fail at max attempts, or permanent--> failed (last_error)
    running --lease lapsed (reap)--> queued, or failed at max attempts ("runner died")
    running, enqueued again with a merge (rerun): done/failed above become queued, attempts 0
    failed|queued --retry--> queued now, attempts 0
    queued|done|failed --drop--> deleted (a running job is refused)

``enqueue`` on an existing key: without ``merge`` nothing changes in any state (``"exists"``: a
replayed reaction never runs twice); with ``merge(old payload, new payload) -> payload``: queued
→ merged (``"merged"``), running → merged and marked to run again after (``"rerun"``), done →
queued with the new payload, failed → queued with the merged payload (``"new"``, attempts 0).

The queue's next deadline (the earliest ``next_run_at`` of a queued job or ``lease_until`` of a
running one) is kept as the mtime of ``jobs/.due`` (written inside each write transaction, so
writers never reorder it; removed when nothing is queued or running): ``jobs.wake.kick_if_due``
learns from one ``stat`` whether a runner is needed. Times are epoch seconds (wall clock, so a
deadline survives a reboot). A done job's payload is cleared (it may hold the user's text).

Errors: JobsUnavailable (the database), ValueError (a malformed kind, key or payload at
enqueue), JobRefused (``retry``/``drop`` of an unknown job or in a state that forbids it).
"""

from __future__ import annotations

import json
import os
import time

from ..errors import RequestRefused
from ..records import dataclass
from . import db
from .base import DONE, FAILED, QUEUED, RUNNING

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable, Collection, Iterable
    from typing import Any

    Merge = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]

#: Longest dedupe key (characters).
MAX_KEY_CHARS = 200
#: Largest payload (bytes of its JSON text).
MAX_PAYLOAD_BYTES = 64 * 1024
#: Longest ``last_error`` kept (characters, after the secret filter: ``error_text``).
MAX_ERROR_CHARS = 300
#: Longest text ``scrub`` reads (characters); the rest is cut before the secret filter runs.
MAX_SCRUB_CHARS = 64 * 1024
#: What ``scrub`` gives when the secret filter itself failed: never the text.
WITHHELD = "(text withheld: the secret filter failed)"
#: The latest deadline ``.due`` records (epoch s, 2100-01-01): a later or unusable one is kept as this.
FAR_FUTURE = 4_102_444_800.0
#: Done jobs are deleted this long after they ended (seconds), failed ones after ``FAILED_KEPT_S``.
DONE_KEPT_S = 7 * 86400.0
FAILED_KEPT_S = 30 * 86400.0
#: ``listing`` shows done jobs that ended within this many seconds.
RECENT_DONE_S = 86400.0
#: Each backoff pause is scaled by a random factor in ``1 ± JITTER``.
JITTER = 0.10
#: ``last_error`` of a job whose runner died holding it.
RUNNER_DIED = "its runner died (lease lapsed)"

_COLUMNS = (
    "id, kind, key, payload, state, attempts, next_run_at, lease_until, lease_owner, rerun, "
    "last_error, outcome, created_at, updated_at, finished_at"
)
_KIND_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


class JobRefused(RequestRefused):
    """``lakeloop jobs retry|drop ID`` refused: no such job, or its state forbids it (a running
    job cannot be dropped, a done one needs no retry). The message says which (exit 2)."""


@dataclass(frozen=True)
class Job:
    """One row of the queue. Times are epoch seconds; ``payload`` is the JSON text;
    ``lease_owner`` is the token of the attempt holding a running job (else ``""``)."""

    id: int
    kind: str
    key: str
    payload: str
    state: str
    attempts: int
    next_run_at: float
    lease_until: float | None
    lease_owner: str
    rerun: bool
    last_error: str
    outcome: str
    created_at: float
    updated_at: float
    finished_at: float | None

    def payload_dict(self) -> dict[str, Any]:
        """The payload as a dict. Raises ValueError when it is not a JSON object."""
        value = json.loads(self.payload)
        if not isinstance(value, dict):
            raise ValueError("the payload is not a JSON object")
        return value


def _job(row: tuple) -> Job:
    values = list(row)
    values[9] = bool(values[9])  # rerun
    return Job(*values)


def check_kind(kind: str) -> str:
    """``kind`` when it is a kind name (``[a-z][a-z0-9-]{0,39}``); else ValueError."""
    if not (0 < len(kind) <= 40 and kind[0].isalpha() and set(kind) <= _KIND_CHARS):
        raise ValueError(f"not a job kind name: {kind!r}")
    return kind


def _payload_text(payload: dict[str, Any]) -> str:
    if not isinstance(payload, dict):
        raise ValueError("a job payload must be a dict")
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True)
    if len(text.encode("utf-8", "surrogatepass")) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"a job payload is limited to {MAX_PAYLOAD_BYTES} bytes of JSON")
    return text


def _loads(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def scrub(text: str) -> str:
    """``text`` (its first ``MAX_SCRUB_CHARS`` characters) with every secret the project's
    redaction finds (``lakeloop.redact.redact_text``: cloud keys, tokens, passwords, credentials in
    URLs, ...) replaced by ``[REDACTED:<kind>]``, then the log's filter (``log.redact``): the one
    place the queue and the runner clean a text they keep or log (an exception's message, a
    traceback, a job's stderr). The redaction rules load on first use, never on the enqueue path.
    ``WITHHELD`` when the filter itself fails. Never raises."""
    try:
        from ..log import redact
        from ..redact import redact_text

        return redact(redact_text(str(text)[:MAX_SCRUB_CHARS])[0])
    except Exception:
        return WITHHELD


def error_text(error: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``error`` as kept in ``last_error`` and written in log lines: ``scrub``-bed, made one line,
    at most ``limit`` characters (an ending ``…`` marks a cut). Never raises."""
    from ..textsafe import cut

    return cut(" ".join(scrub(error).split()), limit)


def enqueue(
    kind: str,
    key: str,
    payload: dict[str, Any],
    *,
    delay_s: float = 0.0,
    merge: Merge | None = None,
    now: float | None = None,
    conn: sqlite3.Connection | None = None,
) -> str:
    """Queue job ``(kind, key)`` with ``payload`` (a JSON-able dict, at most
    ``MAX_PAYLOAD_BYTES``), due ``delay_s`` seconds after ``now`` (epoch s, default the clock).
    Returns ``"new"``, ``"merged"``, ``"rerun"`` or ``"exists"`` (module docstring). ``conn``:
    an open ``db.connect()`` (default: one opened and closed here). Raises JobsUnavailable,
    ValueError for a bad kind, key or payload; what ``merge`` raises propagates (nothing written)."""
    check_kind(kind)
    if not key or len(key) > MAX_KEY_CHARS:
        raise ValueError(f"a job key has 1 to {MAX_KEY_CHARS} characters")
    text = _payload_text(payload)
    now = time.time() if now is None else now
    due = now + max(0.0, float(delay_s))
    own = conn is None
    conn = db.connect() if conn is None else conn
    try:
        with db.write(conn):
            row = conn.execute(
                "SELECT id, state, payload, next_run_at FROM jobs WHERE kind = ? AND key = ?", (kind, key)
            ).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO jobs (kind, key, payload, state, next_run_at, created_at, updated_at) "
                    "VALUES (?, ?, ?, 'queued', ?, ?, ?)",
                    (kind, key, text, due, now, now),
                )
                outcome = "new"
            elif merge is None:
                return "exists"
            else:
                job_id, state, old_text, old_due = row
                merged = text if state == DONE else _payload_text(merge(_loads(old_text), dict(payload)))
                if state == QUEUED:
                    conn.execute(
                        "UPDATE jobs SET payload = ?, next_run_at = ?, updated_at = ? WHERE id = ?",
                        (merged, min(old_due, due), now, job_id),
                    )
                    outcome = "merged"
                elif state == RUNNING:
                    conn.execute(
                        "UPDATE jobs SET payload = ?, rerun = 1, updated_at = ? WHERE id = ?", (merged, now, job_id)
                    )
                    outcome = "rerun"
                else:
                    conn.execute(
                        "UPDATE jobs SET payload = ?, state = 'queued', attempts = 0, next_run_at = ?, rerun = 0, "
                        "lease_until = NULL, lease_owner = '', created_at = ?, updated_at = ?, finished_at = NULL "
                        "WHERE id = ?",
                        (merged, due, now, now, job_id),
                    )
                    outcome = "new"
            sync_due(conn)
        return outcome
    finally:
        if own:
            conn.close()


def claim(
    conn: sqlite3.Connection, token: str, lease_until: float, now: float, *, exclude_kinds: Collection[str] = ()
) -> Job | None:
    """Take the first due queued job (by ``next_run_at``, then id) whose kind is not in
    ``exclude_kinds``: it becomes running, held by ``token`` until ``lease_until``, with one more
    attempt counted (so a job that kills its process still ends failed). None when nothing is
    due. Raises JobsUnavailable."""
    skip = sorted(exclude_kinds)
    with db.write(conn):
        row = conn.execute(
            f"SELECT id FROM jobs WHERE state = 'queued' AND next_run_at <= ? AND kind NOT IN ({_marks(skip)}) "
            "ORDER BY next_run_at, id LIMIT 1",
            (now, *skip),
        ).fetchone()
        if row is None:
            return None
        conn.execute(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, lease_until = ?, "
            "updated_at = ? WHERE id = ?",
            (token, lease_until, now, row[0]),
        )
        sync_due(conn)
        return _job(conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (row[0],)).fetchone())


def renew(conn: sqlite3.Connection, job_id: int, token: str, lease_until: float, now: float) -> bool:
    """Extend the lease of running job ``job_id`` held by ``token`` to ``lease_until``. False
    when ``token`` no longer holds it. Raises JobsUnavailable."""
    with db.write(conn):
        changed = conn.execute(
            "UPDATE jobs SET lease_until = ?, updated_at = ? WHERE id = ? AND state = 'running' AND lease_owner = ?",
            (lease_until, now, job_id, token),
        ).rowcount
        if changed:
            sync_due(conn)
    return bool(changed)


def _held(conn: sqlite3.Connection, job_id: int, token: str) -> tuple[int, bool] | None:
    """``(attempts, rerun)`` of job ``job_id`` while ``token`` holds it, else None."""
    row = conn.execute(
        "SELECT attempts, rerun FROM jobs WHERE id = ? AND state = 'running' AND lease_owner = ?", (job_id, token)
    ).fetchone()
    return None if row is None else (int(row[0]), bool(row[1]))


def _release(
    conn: sqlite3.Connection,
    job_id: int,
    now: float,
    *,
    state: str,
    next_run_at: float | None = None,
    attempts_delta: int = 0,
    last_error: str | None = None,
    outcome: str | None = None,
    rerun: bool = False,
) -> str:
    """End the running attempt of ``job_id``: to ``state`` (queued at ``next_run_at``, done or
    failed). A job enqueued again while it ran (``rerun``) is queued again now with fresh
    attempts instead of ending done or failed. Returns the state written."""
    attempts = "attempts + ?"
    if rerun and state in (DONE, FAILED):
        state, next_run_at, attempts = QUEUED, now, "0 * ?"
    sets = [
        "state = ?",
        "lease_owner = ''",
        "lease_until = NULL",
        "rerun = 0",
        "updated_at = ?",
        f"attempts = {attempts}",
    ]
    args: list[Any] = [state, now, attempts_delta]
    if state == QUEUED:
        sets += ["next_run_at = ?", "finished_at = NULL"]
        args.append(now if next_run_at is None else next_run_at)
    else:
        sets.append("finished_at = ?")
        args.append(now)
    if state == DONE:
        sets += ["payload = '{}'", "last_error = ''"]
    if last_error is not None:
        sets.append("last_error = ?")
        args.append(error_text(last_error))
    if outcome is not None:
        sets.append("outcome = ?")
        args.append(error_text(outcome, 40))
    conn.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?", (*args, job_id))
    return state


def finish(conn: sqlite3.Connection, job_id: int, token: str, outcome: str, now: float) -> str | None:
    """The attempt held by ``token`` succeeded with ``outcome`` (a word): done (or queued again
    when it was enqueued again meanwhile). Returns the state written, or None when ``token`` no
    longer holds the job. Raises JobsUnavailable."""
    with db.write(conn):
        held = _held(conn, job_id, token)
        if held is None:
            return None
        state = _release(conn, job_id, now, state=DONE, outcome=outcome, rerun=held[1])
        sync_due(conn)
        return state


def retry_later(
    conn: sqlite3.Connection, job_id: int, token: str, after_s: float, reason: str, now: float
) -> str | None:
    """The attempt held by ``token`` could not run yet: queued again ``after_s`` seconds from
    ``now``, its attempt given back, ``reason`` kept as ``last_error``. Returns ``"queued"``, or
    None when ``token`` no longer holds the job. Raises JobsUnavailable."""
    with db.write(conn):
        if _held(conn, job_id, token) is None:
            return None
        state = _release(
            conn,
            job_id,
            now,
            state=QUEUED,
            next_run_at=now + max(0.0, after_s),
            attempts_delta=-1,
            last_error=f"waiting: {reason}",
        )
        sync_due(conn)
        return state


def backoff_s(attempt: int, schedule: tuple[float, ...], rand: Callable[[], float] | None = None) -> float:
    """The pause (seconds) after failed attempt number ``attempt`` (1-based): ``schedule``'s
    entry for it (the last repeats), scaled by a random factor in ``1 ± JITTER``; ``rand``
    returns a float in [0, 1) (default ``random.random``)."""
    if rand is None:
        import random

        rand = random.random
    base = schedule[min(max(attempt, 1), len(schedule)) - 1]
    return base * (1.0 + JITTER * (2.0 * rand() - 1.0))


def fail(
    conn: sqlite3.Connection,
    job_id: int,
    token: str,
    error: str,
    now: float,
    *,
    max_attempts: int,
    schedule: tuple[float, ...],
    permanent: bool = False,
    rand: Callable[[], float] | None = None,
) -> str | None:
    """The attempt held by ``token`` failed with ``error`` (kept as ``last_error``, see
    ``error_text``): queued again after ``backoff_s(attempts, schedule)`` while attempts are
    below ``max_attempts``, else (or when ``permanent``) failed. Returns the state written, or
    None when ``token`` no longer holds the job. Raises JobsUnavailable."""
    with db.write(conn):
        held = _held(conn, job_id, token)
        if held is None:
            return None
        attempts, rerun = held
        if permanent or attempts >= max_attempts:
            state = _release(conn, job_id, now, state=FAILED, last_error=error, rerun=rerun)
        else:
            pause = backoff_s(attempts, schedule, rand)
            state = _release(conn, job_id, now, state=QUEUED, next_run_at=now + pause, last_error=error)
        sync_due(conn)
        return state


def reap(conn: sqlite3.Connection, now: float, max_attempts: Callable[[str], int]) -> list[tuple[Job, str]]:
    """Running jobs whose lease lapsed (``lease_until <= now``: their runner died) are queued
    again now, or failed when ``max_attempts(kind)`` attempts were used, with ``RUNNER_DIED``.
    A held lease (``lease_until > now``) is never touched. Returns ``[(job before, new state)]``.
    Raises JobsUnavailable."""
    out = []
    with db.write(conn):
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM jobs WHERE state = 'running' AND lease_until <= ? ORDER BY id", (now,)
        ).fetchall()
        for job in map(_job, rows):
            end = FAILED if job.attempts >= max_attempts(job.kind) else QUEUED
            out.append((job, _release(conn, job.id, now, state=end, last_error=RUNNER_DIED, rerun=job.rerun)))
        if out:
            sync_due(conn)
    return out


def _marks(values: Collection[Any]) -> str:
    return ",".join("?" * len(values))


def _next_due_sql(queued: bool, exclude_kinds: Collection[str], exclude_ids: Collection[int]) -> tuple[str, list[Any]]:
    parts: list[str] = []
    args: list[Any] = []
    if queued:
        kinds = sorted(exclude_kinds)
        parts.append(f"SELECT min(next_run_at) AS t FROM jobs WHERE state = 'queued' AND kind NOT IN ({_marks(kinds)})")
        args += kinds
    ids = sorted(exclude_ids)
    parts.append(f"SELECT min(lease_until) AS t FROM jobs WHERE state = 'running' AND id NOT IN ({_marks(ids)})")
    args += ids
    return f"SELECT min(t) FROM ({' UNION ALL '.join(parts)})", args


def next_due(
    conn: sqlite3.Connection,
    *,
    queued: bool = True,
    exclude_kinds: Collection[str] = (),
    exclude_ids: Collection[int] = (),
) -> float | None:
    """The queue's next deadline (epoch s): the earliest ``next_run_at`` of a queued job (when
    ``queued``; kinds in ``exclude_kinds`` left out) and ``lease_until`` of a running job (ids in
    ``exclude_ids``, the caller's own, left out); None when there is none. Raises JobsUnavailable."""
    sql, args = _next_due_sql(queued, exclude_kinds, exclude_ids)
    with db.reading(conn):
        value = conn.execute(sql, args).fetchone()[0]
    return None if value is None else float(value)


def sync_due(conn: sqlite3.Connection) -> float | None:
    """Write the queue's next deadline (``next_due``) as the mtime of ``.due`` next to the
    database (remove it when there is none); call it inside the write transaction that changed
    the queue. A deadline past ``FAR_FUTURE`` (or not a number) is written as ``FAR_FUTURE``, one
    before the epoch as 0. Returns the deadline. A file error is ignored (the next write tries
    again)."""
    sql, args = _next_due_sql(True, (), ())
    value = conn.execute(sql, args).fetchone()[0]
    path = db.due_file(getattr(conn, "path", "") or "")
    try:
        if value is None:
            os.unlink(path)
        else:
            when = 0.0 if value < 0 else value if value <= FAR_FUTURE else FAR_FUTURE
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600))
            os.utime(path, (when, when), follow_symlinks=False)
    except (OSError, OverflowError, ValueError):
        pass
    return None if value is None else float(value)


def resync_due(conn: sqlite3.Connection) -> float | None:
    """``sync_due`` in a write transaction of its own: the runner calls it when it starts and
    when it exits, so a ``.due`` left stale (touched, or kept from a queue set aside) costs one
    idle runner at most. Returns the deadline. Raises JobsUnavailable."""
    with db.write(conn):
        return sync_due(conn)


def get(conn: sqlite3.Connection, job_id: int) -> Job | None:
    """Job ``job_id``, or None. Raises JobsUnavailable."""
    with db.reading(conn):
        row = conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return None if row is None else _job(row)


def jobs(conn: sqlite3.Connection, states: Iterable[str] = (QUEUED, RUNNING, DONE, FAILED)) -> list[Job]:
    """Every job in ``states``, by id. Raises JobsUnavailable."""
    wanted = sorted(states)
    with db.reading(conn):
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM jobs WHERE state IN ({_marks(wanted)}) ORDER BY id", wanted
        ).fetchall()
    return [_job(r) for r in rows]


def prune(conn: sqlite3.Connection, now: float) -> int:
    """Delete done jobs that ended more than ``DONE_KEPT_S`` ago and failed ones more than
    ``FAILED_KEPT_S`` ago, and bring ``.due`` up to date (``sync_due``). Returns how many. Raises
    JobsUnavailable."""
    with db.write(conn):
        deleted = conn.execute(
            "DELETE FROM jobs WHERE (state = 'done' AND finished_at < ?) OR (state = 'failed' AND finished_at < ?)",
            (now - DONE_KEPT_S, now - FAILED_KEPT_S),
        ).rowcount
        sync_due(conn)
        return deleted


#: The order ``listing`` shows states in.
_STATE_ORDER = {RUNNING: 0, QUEUED: 1, FAILED: 2, DONE: 3}


def listing(conn: sqlite3.Connection, now: float | None = None) -> list[dict[str, Any]]:
    """What ``lakeloop jobs --json`` prints: queued, running and failed jobs, and done jobs that
    ended within ``RECENT_DONE_S``; running first, then queued, failed, done, each by id. Each is
    ``{"id", "kind", "key", "state", "attempts", "age_s", "last_error"}``; ``age_s`` (int) is
    the seconds since the job was (last) enqueued as new. Raises JobsUnavailable."""
    now = time.time() if now is None else now
    shown = [j for j in jobs(conn) if j.state != DONE or (j.finished_at or 0.0) >= now - RECENT_DONE_S]
    shown.sort(key=lambda j: (_STATE_ORDER[j.state], j.id))
    return [
        {
            "id": j.id,
            "kind": j.kind,
            "key": j.key,
            "state": j.state,
            "attempts": j.attempts,
            "age_s": max(0, int(now - j.created_at)),
            "last_error": j.last_error,
        }
        for j in shown
    ]


def _refuse_unknown(job: Job | None, job_id: int) -> Job:
    if job is None:
        raise JobRefused(f"no job {job_id} (`lakeloop jobs` lists them)")
    return job


def _held_message(job: Job, action: str) -> str:
    until = time.strftime("%H:%M:%S", time.localtime(job.lease_until or 0.0))
    return f"job {job.id} is running (held until {until}); {action}"


def retry(conn: sqlite3.Connection, job_id: int, now: float | None = None) -> Job:
    """Queue failed or queued job ``job_id`` again, due now, with its attempts reset to 0.
    Returns the job as it was. Raises JobRefused (unknown, running or done), JobsUnavailable."""
    now = time.time() if now is None else now
    with db.write(conn):
        job = _refuse_unknown(get(conn, job_id), job_id)
        if job.state == RUNNING:
            raise JobRefused(_held_message(job, "it is being run now"))
        if job.state == DONE:
            raise JobRefused(f"job {job_id} is done; nothing to retry")
        conn.execute(
            "UPDATE jobs SET state = 'queued', attempts = 0, next_run_at = ?, updated_at = ?, finished_at = NULL "
            "WHERE id = ?",
            (now, now, job_id),
        )
        sync_due(conn)
    return job


def drop(conn: sqlite3.Connection, job_id: int) -> Job:
    """Delete job ``job_id`` (queued, done or failed). Returns it. Raises JobRefused (unknown,
    or running: its lease holds it), JobsUnavailable."""
    with db.write(conn):
        job = _refuse_unknown(get(conn, job_id), job_id)
        if job.state == RUNNING:
            raise JobRefused(_held_message(job, "drop it once it has ended"))
        conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        sync_due(conn)
    return job


def drop_queued(conn: sqlite3.Connection, kind: str, keys: Collection[str]) -> int:
    """Delete the queued jobs of ``kind`` whose key is in ``keys`` (a job already running is left
    to end: its lease holds it). Returns how many were deleted. ``lakeloop forget`` uses it so a
    forgotten session's pending summary never runs. Raises JobsUnavailable."""
    wanted = [k for k in keys if k]
    if not wanted:
        return 0
    with db.write(conn):
        cur = conn.execute(
            f"DELETE FROM jobs WHERE kind = ? AND state = ? AND key IN ({_marks(wanted)})",
            (kind, QUEUED, *wanted),
        )
        sync_due(conn)
    return int(cur.rowcount or 0)
