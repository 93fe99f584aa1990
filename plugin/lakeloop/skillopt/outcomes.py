"""Skill outcomes: one team-visible memory row per judgment of one use of a team skill
(docs/skill-loop.md, "Outcomes and ``skills stats``").

A *use* is one arming of a judgment window (``skillopt.pending.arm``); its id is minted there
(``use_id_of``). The worker's ``record`` (``record_judged``, in the ``skill-improve`` job process)
writes each judgment as a 0600 spool file ``<data dir>/outcomes/spool/<row id>.json`` and submits
the ``outcomes`` job; that job (``run``) writes every spool file as one memory row through
``Store.put_memory_doc`` and unlinks it. Nothing here writes to the store from a hook process.

Row (``outcome_row``): path ``/outcomes/<ref>/<use id>.json``; id
``uuid5(OUTCOME_NAMESPACE, "<use id>:<source>")`` (``source`` the reaction's event id, or
``closed`` for ``no_pushback``), so a replayed reaction or a retried write stores it once;
description ``lakeloop-outcome v=<version or -> verdict=<verdict>``; a JSON summary holding the
redacted one-line reason and no session text.

The use id itself is minted by ``pending.use_id_of`` (re-exported here), so the PreToolUse hook
never imports this module.
"""

from __future__ import annotations

from .pending import use_id_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

    from ..jobs.kinds import Context, Kind
    from ..store.memory_types import NoteRow
    from .parse import Verdict
    from .worker import Job

__all__ = ["use_id_of"]

#: The kind's name in the queue, and the one key every ``outcomes`` job is queued under.
KIND = "outcomes"
#: Memory-table prefix of outcome rows (``store.memory_sql.OUTCOMES_DIR``).
PREFIX = "/outcomes/"
#: The four verdicts an outcome row records.
VERDICTS = ("failure", "success", "unclear", "no_pushback")
#: Namespace of outcome row ids (a fixed literal: ids are stable across machines and runs).
OUTCOME_NAMESPACE = "2b9f4c8e-7d1a-4f3b-9e26-5a0c1d8e4f70"
#: Longest reason stored (characters, after redaction and joining to one line).
REASON_CHARS = 300
#: Attempts of one ``outcomes`` job (a store error is retried with the queue's backoff).
MAX_ATTEMPTS = 5
#: Wall-clock bound of one run, seconds.
TIMEOUT_S = 180.0


def outcome_path(ref: str, use_id: str) -> str:
    """``/outcomes/<ref>/<use id>.json`` (a ref holds only ``[A-Za-z0-9._-]``)."""
    return f"{PREFIX}{ref}/{use_id}.json"


def row_id(use_id: str, source: str, namespace: str = OUTCOME_NAMESPACE) -> str:
    """The idempotency key of one judgment: ``uuid5(namespace, "<use id>:<source>")`` as text."""
    import uuid

    return str(uuid.uuid5(uuid.UUID(namespace), f"{use_id}:{source}"))


def description(version: int | None, verdict: str) -> str:
    """``lakeloop-outcome v=<version or -> verdict=<verdict>`` (what the stores' query parses)."""
    return f"lakeloop-outcome v={'-' if version is None else version} verdict={verdict}"


def clean_reason(reason: str) -> str:
    """The judge's reason as stored: one line, secrets redacted, at most ``REASON_CHARS``."""
    from ..redact import redact_text

    return redact_text(" ".join(str(reason).split()))[0][:REASON_CHARS]


def outcome_row(
    ref: str,
    version: int | None,
    verdict: str,
    use_id: str,
    used_at: str,
    source: str,
    user: str,
    agent: str,
    session: str = "",
    confidence: float | None = None,
    reason: str = "",
    judged_at: str | None = None,
    namespace: str = OUTCOME_NAMESPACE,
) -> NoteRow:
    """The memory row of one judgment (``source``: the reaction's event id, ``closed`` for
    ``no_pushback``) of use ``use_id`` of ``ref``. ``used_at``/``judged_at``: ISO-8601 UTC;
    ``reason`` is stored as given (``clean_reason`` it first). Raises ValueError for a verdict
    not in ``VERDICTS``."""
    import json

    from ..store.memory_types import NoteRow

    if verdict not in VERDICTS:
        raise ValueError(f"not an outcome verdict: {verdict!r}")
    summary = {
        "schema": 1,
        "ref": ref,
        "version": version,
        "use": use_id,
        "event": "" if verdict == "no_pushback" else source,
        "session": session,
        "user": user,
        "agent": agent,
        "verdict": verdict,
        "confidence": confidence,
        "reason": reason,
        "used_at": used_at,
        "judged_at": judged_at or used_at,
    }
    return NoteRow(
        id=row_id(use_id, source, namespace),
        path=outcome_path(ref, use_id),
        text=json.dumps(summary, sort_keys=True),
        author=user,
        project="",
        date=used_at,
        agent=agent,
        description=description(version, verdict),
    )


def spool_dir() -> Path:
    """``<data dir>/outcomes/spool``: outcome rows waiting for the ``outcomes`` job."""
    from .. import paths

    return paths.data_dir() / "outcomes" / "spool"


def _iso(epoch_s: float | None) -> str:
    import datetime as dt

    from ..identity import utc_now, utc_text

    if epoch_s is None:
        return utc_now()
    return utc_text(dt.datetime.fromtimestamp(epoch_s, dt.timezone.utc))


def record_judged(job: Job, verdict: Verdict, log: logging.Logger, submit_job: bool = True) -> str:
    """Spool one judgment of ``job``'s use (label ``verdict.label``, ``unclear`` when empty) as
    ``<spool dir>/<row id>.json`` (0600, atomic) and, with ``submit_job``, submit the ``outcomes``
    job (the ``skill-improve`` job passes False and submits once its run is over, so the rollback
    decision sees what the run published). Returns the row id. Raises OSError (spool) or
    JobsUnavailable (queue); the worker logs either."""
    from ..fsutil import atomic_write_json
    from ..identity import utc_now

    use_id = job.use_id or use_id_of(
        {"session_id": job.session_id, "tool_use_id": job.tool_use_id or job.event_id, "armed_at": job.armed_at}
    )
    source = job.event_id or "judged"
    row = outcome_row(
        job.skill,
        job.armed_version,
        verdict.label or "unclear",
        use_id,
        _iso(job.armed_at if job.armed_at is not None else job.reacted_at),
        source,
        job.user,
        job.agent,
        session=job.session_id[:128],
        confidence=verdict.confidence if verdict.parsed else None,
        reason=clean_reason(verdict.reason),
        judged_at=utc_now(),
    )
    atomic_write_json(spool_dir() / f"{row.id}.json", _as_dict(row))
    log.info("outcome spooled skill=%s use=%s verdict=%s", job.skill, use_id, verdict.label or "unclear")
    if submit_job:
        submit([job.skill], log)
    return row.id


def _as_dict(row: NoteRow) -> dict[str, Any]:
    from ..records import fields

    return {name: getattr(row, name) for name in fields(row)}


def _merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Two submits of the ``outcomes`` job: the union of their refs."""
    parts = [part for part in (old.get("refs"), new.get("refs")) if isinstance(part, list)]
    refs = [r for part in parts for r in part if isinstance(r, str)]
    return {"refs": sorted(set(refs))}


def submit(refs: list[str], log: logging.Logger) -> str:
    """Queue the ``outcomes`` job for ``refs`` (merged with a queued one). Returns
    ``jobs.submit``'s outcome; raises JobsUnavailable when the queue cannot be written."""
    from .. import jobs

    return jobs.submit(KIND, KIND, {"refs": sorted(set(refs))}, log=log, merge=_merge)


def run(payload: dict[str, Any], ctx: Context, sleep: Callable[[float], None] | None = None) -> str:
    """One ``outcomes`` job: the write phase, then the decision phase (``skillopt.rollback``).

    Write phase: turn closed windows into spool files (``sweep``), then write every spool file as
    one memory row (``put_memory_doc`` with ``unsure``: stored once by id), unlinking each after
    its write. A malformed spool file is logged and removed; a StoreError propagates (the attempt
    fails, the queue retries; the rows already written are not written twice: their ids are fixed).
    Before writing, one store probe (``skillopt.store_wait.probe_store``, shared with the
    ``skill-improve`` job): a store that is down raises ``RetryLater`` while the oldest spooled
    outcome is younger than ``STORE_WAIT_S``; past it the run ends ``store_error`` and the spool
    waits on disk for the next run.

    Decision phase: ``rollback.decide_all`` for the payload's refs and the refs just written
    (``sleep``: seconds, ``time.sleep`` by default); a skill whose lease another process holds is
    ``deferred`` to the run that process queues when it releases it.

    Returns ``written:<n>``, then `` <status>:<ref>`` for each skill whose decision was not
    ``no_rollback``/``off`` (e.g. ``written:12 rolled_back:db-migrate--alice``), or ``store_error``."""
    import json
    import time

    from ..store import open_store
    from ..store.memory_types import NoteRow
    from .refs import split_ref
    from .rollback import decide_all
    from .store_wait import probe_store

    sweep(ctx.log, submit_after=False)
    try:
        files = sorted(spool_dir().glob("*.json"))
    except OSError:
        files = []
    given = payload.get("refs")
    refs = [r for r in given if isinstance(r, str) and split_ref(r)] if isinstance(given, list) else []
    rows: list[tuple[Path, NoteRow]] = []
    for path in files:
        try:
            row = NoteRow(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            ctx.log.warning("outcome spool file %s dropped: %s", path.name, type(exc).__name__)
            path.unlink(missing_ok=True)
            continue
        rows.append((path, row))
        ref = row.path.split("/")[2] if row.path.startswith(PREFIX) else ""
        if split_ref(ref) and ref not in refs:
            refs.append(ref)
    if not rows and not refs:
        return "written:0"
    oldest = _oldest_mtime([p for p, _ in rows])
    probe_ref = split_ref(refs[0]) if refs else None
    store = probe_store(
        open_store,
        lambda st: st.current_skill(*probe_ref) if probe_ref else None,
        oldest,
        ctx.log,
        time.time(),
        who="outcomes",
    )
    if store is None:
        return "store_error"
    written = 0
    with store:
        for path, row in rows:
            # unsure always: a spool file outlives its row when the process dies between the
            # write and the unlink, and a fresh job must not store that row twice (one id look-up
            # per outcome on Deeplake; SQLite ignores a stored id anyway).
            store.put_memory_doc(row, unsure=True)
            path.unlink(missing_ok=True)
            written += 1
        if written:
            ctx.log.info("outcomes outcome=written rows=%d", written)
        results = decide_all(store, refs, written > 0, ctx.log, sleep or time.sleep)
    said = [f"{r.status}:{r.ref}" for r in results if r.status not in ("no_rollback", "off")]
    return " ".join([f"written:{written}", *said])


def _oldest_mtime(files: list[Path]) -> float | None:
    """Modification time (epoch seconds) of the oldest of ``files``; None when none can be read."""
    times = []
    for path in files:
        try:
            times.append(path.stat().st_mtime)
        except OSError:
            continue
    return min(times) if times else None


#: A window armed longer ago than this (seconds) with no prompt is closed by the drainer's sweep
#: (a session that never sent SessionEnd).
WINDOW_MAX_AGE_S = 12 * 3600.0


def session_closed(session_id: str, log: logging.Logger) -> bool:
    """SessionEnd: copy the session's window to ``pending.closed_dir()`` when no prompt spent it.
    That one small file write is all the hook does; the next drainer's end (``sweep``) or the next
    ``outcomes`` run turns it into a ``no_pushback`` row. Returns whether a window was closed.
    Never raises: a failure is one log line."""
    from . import pending

    try:
        closed = pending.close_unspent(session_id)
    except Exception as exc:
        log.warning("outcome: window not closed: %s: %s", type(exc).__name__, str(exc)[:200])
        return False
    if closed:
        log.info("outcome: window of session %s closed with no reaction", session_id[:64])
    return closed


def _no_pushback_row(window: Any) -> NoteRow:
    """The ``no_pushback`` row of a closed window. Raises ValueError for a window that is not one
    (not a JSON object, no ref or use id, an arming time that is not a time)."""
    from .. import config
    from .refs import split_ref

    if not isinstance(window, dict):
        raise ValueError("not a JSON object")
    ref, use_id = window.get("skill"), window.get("use_id")
    if not isinstance(ref, str) or split_ref(ref) is None or not isinstance(use_id, str) or not use_id.isalnum():
        raise ValueError("not a judgment window")
    version = window.get("version")
    armed_at = window.get("armed_at")
    try:
        used_at = _iso(float(armed_at) if isinstance(armed_at, (int, float)) else None)
    except (OverflowError, OSError, ValueError) as exc:  # nan, 1e300: not a time
        raise ValueError("arming time is not a time") from exc
    return outcome_row(
        ref,
        version if isinstance(version, int) and not isinstance(version, bool) else None,
        "no_pushback",
        use_id,
        used_at,
        "closed",
        str(window.get("user") or "") or config.user_name(),
        str(window.get("agent") or "claude_code"),
        session=str(window.get("session_id") or "")[:128],
    )


def _json_files(folder: Path) -> list[Path]:
    """The regular ``*.json`` files of ``folder`` ([] when it cannot be listed)."""
    import os
    from pathlib import Path

    try:
        with os.scandir(folder) as it:
            return [Path(e.path) for e in it if e.name.endswith(".json") and e.is_file(follow_symlinks=False)]
    except OSError:
        return []


def sweep(log: logging.Logger, stale: bool = False, now: float | None = None, submit_after: bool = True) -> int:
    """Turn every closed window (``pending.closed_dir()``) into a ``no_pushback`` spool file
    (no model call) and remove it; with ``stale`` (the drainer's end) first close the open windows
    armed more than ``WINDOW_MAX_AGE_S`` ago. With ``submit_after`` (not from the job itself), submits
    the ``outcomes`` job when spool files wait.
    Returns how many windows were turned into spool files. Never raises: failures are logged."""
    import time

    from .. import paths
    from ..fsutil import atomic_write_json, read_json
    from . import pending

    if stale:
        before = (time.time() if now is None else now) - WINDOW_MAX_AGE_S
        for path in _json_files(paths.pending_dir()):
            window = read_json(path)
            if not isinstance(window, dict):
                continue
            try:
                if pending.close_stale(str(window.get("session_id") or ""), before):
                    log.info("outcome: stale window %s closed with no reaction", path.name)
            except OSError as exc:
                log.warning("outcome: stale window not closed: %s", type(exc).__name__)
    made, refs = 0, set()
    for path in _json_files(pending.closed_dir()):
        try:
            row = _no_pushback_row(read_json(path))
            atomic_write_json(spool_dir() / f"{row.id}.json", _as_dict(row))
            refs.add(row.path.split("/")[2])
            made += 1
        except ValueError:
            log.warning("outcome: closed window %s is not a window; dropped", path.name)
        except OSError as exc:
            log.warning("outcome: closed window %s not spooled: %s", path.name, type(exc).__name__)
            continue
        path.unlink(missing_ok=True)
    try:
        if submit_after and (made or (stale and any(spool_dir().glob("*.json")))):
            submit(sorted(refs), log)
    except Exception as exc:  # the spool waits on disk for the next sweep
        log.warning("outcome: outcomes job not queued: %s: %s", type(exc).__name__, str(exc)[:200])
    return made


def kind() -> Kind:
    """The ``outcomes`` kind (``max_attempts`` 5, ``timeout_s`` 180) for the table of kinds."""
    from ..jobs.kinds import Kind

    return Kind(KIND, run, max_attempts=MAX_ATTEMPTS, timeout_s=TIMEOUT_S)
