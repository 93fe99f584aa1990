"""The drainer's entry points and the capture ``Handlers`` it runs with.

``drainer_child`` is the body of the detached drainer a capture hook or SessionStart forks
(``lakeloop.outbox.spool.start_drainer``); ``drain`` drains in the calling process
(``lakeloop flush``, platforms without fork, tests). Both run the generic loop
(``lakeloop.outbox.drainer``) with ``handlers``: ``parse``, ``react``, ``rows`` of this package
and ``lakeloop.store.open_store``.

Import-light at module level (``lakeloop.config`` only): SessionStart imports this module in
the hook process to hand ``drainer_child`` to ``start_drainer``; the pipeline is imported in
the drainer.
"""

from __future__ import annotations

from .. import config

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook start-up time)
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable
    from typing import Any

    from ..identity import Identity
    from ..outbox.drainer import Handlers, Result

#: Hard backstop on a detached drainer's life (seconds): SIGALRM ends one stuck in a system
#: call, which releases the drain lock (its in-flight entries are then looked up, not lost).
DRAINER_ALARM_S = 900
#: Most rows whose session settings are kept between building and storing them (a batch is at
#: most ``outbox.drainer.BATCH_EVENTS`` entries; rows set aside are forgotten past this).
MAX_PENDING_SETTINGS = 10_000


def drainer_child(lock_fd: int) -> None:
    """Body of the detached drainer: runs in the forked child holding the drain lock through
    ``lock_fd`` (released when the drain ends), with a ``DRAINER_ALARM_S`` alarm and the
    ``drain`` log. Returns when the outbox stays empty for ``LAKELOOP_DRAIN_LINGER_S`` seconds or
    the drainer gives up; an exception propagates to the fork wrapper
    (``lakeloop.detach.fork_detached``), which logs it.

    After the drain, with the drain lock released, ``after_drain`` queues job files an older
    lakeloop left and starts the job runner when a job's retry time has come: every capture
    event starts or finds a drainer, so a failed job is retried at the first event after its
    deadline."""
    import signal

    signal.alarm(DRAINER_ALARM_S)
    from ..log import setup

    log = setup("drain")
    from ..outbox.drainer import Drainer, run_locked

    try:
        run_locked(
            lambda: Drainer(
                handlers(log), log, linger_s=config.drain_linger_s(), max_bytes=config.outbox_max_mb() << 20
            ),
            lock_fd,
            log,
        )
    finally:
        after_drain(log)


def after_drain(log: logging.Logger) -> None:
    """The drainer child's last step: adopt leftover worker job files of an older lakeloop
    (``skillopt.job.adopt_leftovers``), the outcome sweep (``skillopt.outcomes.sweep``, stale
    windows included), then ``jobs.wake.kick_if_due`` (one stat; starts the job runner when a
    retry deadline has passed). Never raises: a failure is one log line."""
    try:
        from ..skillopt.job import adopt_leftovers

        adopt_leftovers(log)
    except Exception as exc:
        log.warning("drain: leftover worker job files not adopted: %s: %s", type(exc).__name__, exc)
    try:  # windows armed over 12 h ago with no reaction, and any spool a crash left unsubmitted
        from ..skillopt.outcomes import sweep

        sweep(log, stale=True)
    except Exception as exc:  # sweep never raises; an import error still must not
        log.warning("drain: outcome sweep failed: %s: %s", type(exc).__name__, exc)
    try:
        from ..jobs.wake import kick_if_due

        kick_if_due(log)
    except Exception as exc:  # kick_if_due never raises; an import error still must not
        log.warning("drain: the job runner kick failed: %s: %s", type(exc).__name__, exc)


def drain_waiting(log: logging.Logger, why: str) -> int:
    """Start a detached drainer when entries wait in the outbox and none runs (one directory
    listing otherwise): what SessionStart does for an earlier session's leftovers and SessionEnd
    for the session's last events. ``why`` names the caller in the log line. Returns how many
    entries waited. Raises OSError when the drain lock cannot be opened."""
    from .. import outbox

    waiting = len(outbox.pending())
    if not waiting:
        return 0
    from ..outbox.spool import start_drainer

    if start_drainer(drainer_child) == "started":
        log.info("%s: started a drainer for %d waiting event(s)", why, waiting)
    return waiting


def drain(
    log: logging.Logger, linger_s: float = 0.0, wait_s: float = 0.0, sleep: Callable[[float], None] | None = None
) -> Result | None:
    """Drain the outbox in this process (``lakeloop flush``, platforms without fork, tests).
    Waits up to ``wait_s`` seconds for a running drainer to finish first, then lingers
    ``linger_s`` seconds for new entries; ``sleep`` (seconds -> None) replaces the loop's pauses
    (tests). Returns the drainer's ``Result``, or None when another drainer still holds the
    lock. Raises OSError when the lock file cannot be opened."""
    import time

    from ..outbox import outbox_dir
    from ..outbox.drainer import Drainer, run_locked
    from ..outbox.lock import wait_lock

    fd = wait_lock(outbox_dir(), wait_s)
    if fd is None:
        return None
    pause = time.sleep if sleep is None else sleep
    return run_locked(
        lambda: Drainer(handlers(log), log, linger_s=linger_s, max_bytes=config.outbox_max_mb() << 20, sleep=pause),
        fd,
        log,
    )


def handlers(log: logging.Logger) -> Handlers:
    """The drainer's callbacks for capture (see ``lakeloop.outbox.drainer.Handlers``):
    ``parse.parse``, ``react.react_to_entry``, ``rows.event_rows``, ``store.open_store`` and
    ``summaries.trigger.note_stored`` (stored rows count towards a session's next summary),
    logging to ``log``. Each row is filed under the identity of the session that captured it
    (``EntrySettings.author_env``), resolved once per distinct author per drain, on first need
    (``store.current_identity``, which raises StoreUnavailable)."""
    from ..outbox.drainer import Handlers
    from .parse import parse, settings_of
    from .react import react_to_entry
    from .rows import event_rows

    identities: dict[tuple[tuple[str, str], ...] | None, Identity] = {}
    # row id -> the capturing session's recorded settings, from building a row to its storing
    # (the summary trigger reads a session's settings, never the drainer's own)
    row_settings: dict[str, dict[str, str]] = {}

    def rows(payload: dict[str, Any], received_ns: int, event_id: str) -> list:
        settings = settings_of(payload)
        env = settings.author_env
        key = None if env is None else tuple(sorted(env.items()))
        identity = identities.get(key)
        if identity is None:
            from ..store import current_identity

            identity = identities[key] = current_identity(env)
        built = event_rows(payload, received_ns, event_id, identity, log)
        if len(row_settings) > MAX_PENDING_SETTINGS:  # rows never stored (set aside): forget them
            row_settings.clear()
        for row in built:
            row_settings[row.id] = settings.env
        return built

    def parse_entry(data: bytes, event: str, header: bytes | None = None) -> dict[str, Any]:
        return parse(data, event, header, log)

    def react(payload: dict[str, Any], received_ns: int, event_id: str) -> None:
        react_to_entry(payload, received_ns, event_id, log)

    def open_store():
        from ..store import open_store as open_default

        return open_default()

    def stored(stored_rows: list) -> None:
        settings = {row.id: row_settings.pop(row.id, {}) for row in stored_rows}
        try:
            from ..summaries.trigger import note_stored
        except ImportError as exc:  # a partial install: capture goes on without summaries
            log.warning("drain: summaries unavailable, stored rows not counted: %s", exc)
            return
        note_stored(stored_rows, log, settings)

    return Handlers(parse=parse_entry, react=react, rows=rows, open_store=open_store, stored=stored)
