"""The capture outbox: hooks spool events durably, a detached drainer stores them.

Claude Code 2.1.330 SIGTERMs async hooks still running when a ``-p`` turn ends
(async Stop hooks within ~10 ms), so a hook must not hold an event only in
memory. A capture hook therefore does the least work that makes the event
durable: one atomic write of ``{event, received_at_ns, payload}`` to
``<data dir>/outbox/<received_at_ns>-<pid>-<rand>.json``, then forks a drainer
in its own process session (stdin/stdout/stderr on /dev/null, so Claude Code
never waits on it) and exits. The drainer takes ``outbox.lock`` and stores
every pending entry oldest first, deleting each once stored. An entry whose
store write fails stays for the next drain (nothing lost); one that cannot
be processed at all moves to ``outbox/failed/`` with a log line.
"""

from __future__ import annotations

import json
import os
import time

#: How long a drainer waits for another one to finish (seconds).
DRAIN_LOCK_TIMEOUT_S = 30.0


def outbox_dir() -> str:
    """``<data dir>/outbox`` as a string."""
    from . import paths

    return os.path.join(str(paths.data_dir()), "outbox")


def put(event: str, payload: dict) -> str:
    """Spool one event atomically; returns the entry's path. Raises OSError."""
    directory = outbox_dir()
    os.makedirs(directory, exist_ok=True)
    now = time.time_ns()
    name = f"{now:020d}-{os.getpid()}-{os.urandom(4).hex()}"
    tmp = os.path.join(directory, f".{name}.tmp")
    data = json.dumps({"event": event, "received_at_ns": now, "payload": payload}, ensure_ascii=False)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data.encode("utf-8", "surrogatepass"))  # no fsync: durable across process
        # crashes and kills, the case hooks face; an OS crash may lose the last events
    finally:
        os.close(fd)
    final = os.path.join(directory, f"{name}.json")
    os.replace(tmp, final)
    return final


def spawn_drainer() -> bool:
    """Fork a detached drainer and return in the parent at once.

    Returns False when this platform cannot fork (the caller then drains inline).
    """
    if not hasattr(os, "fork"):
        return False
    pid = os.fork()
    if pid:
        return True
    # child: own session, no inherited pipes, default signals, drain, exit
    code = 0
    try:
        os.setsid()
        import signal

        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        from .log import setup

        drain(setup("drain"))
    except BaseException:  # noqa: BLE001 - the child must never return into the hook
        code = 1
    finally:
        os._exit(code)


def drain(log) -> int:
    """Store every spooled entry, oldest first, under ``outbox.lock``. Returns how many
    were stored. A store failure stops the drain and keeps the entry."""
    from filelock import FileLock, Timeout

    from .errors import StoreError

    directory = outbox_dir()
    stored = 0
    try:
        lock = FileLock(os.path.join(directory, "outbox.lock"), timeout=DRAIN_LOCK_TIMEOUT_S)
        lock.acquire()
    except Timeout:
        log.warning("outbox: another drainer held the lock for %.0f s; leaving entries for it", DRAIN_LOCK_TIMEOUT_S)
        return 0
    try:
        store = None
        while True:
            names = sorted(n for n in os.listdir(directory) if n.endswith(".json"))
            if not names:
                break
            for name in names:
                path = os.path.join(directory, name)
                try:
                    with open(path, encoding="utf-8", errors="surrogatepass") as fh:  # as put() wrote it
                        entry = json.load(fh)
                except FileNotFoundError:
                    continue
                except (OSError, ValueError) as exc:
                    _move_aside(directory, name, log, f"unreadable entry: {exc}")
                    continue
                try:
                    if store is None:
                        from .store import open_store

                        store = open_store()
                    process(entry, store, log, path)
                except StoreError as exc:
                    log.error("outbox: store failed, %d entries wait for the next drain: %s", len(names), exc)
                    return stored
                except Exception:
                    log.exception("outbox: entry %s could not be processed", name)
                    _move_aside(directory, name, log, "processing failed")
                    continue
                os.unlink(path)
                stored += 1
        if store is not None:
            store.close()
    finally:
        lock.release()
    return stored


def process(entry: dict, store, log, path: str | None = None) -> None:
    """Handle one spooled entry: for UserPromptSubmit, react first (once: the entry is
    marked ``reacted`` if the store write then fails), then store its row.

    Raises StoreError when the store write fails (the entry stays for the next drain).
    """
    from .errors import StoreError

    payload = entry.get("payload")
    if not isinstance(payload, dict):
        raise ValueError("entry has no payload object")
    received = int(entry.get("received_at_ns") or time.time_ns())
    reacted_now = False
    if entry.get("event") == "UserPromptSubmit" and not entry.get("reacted"):
        from .hooks.user_prompt_submit import react

        react(payload, log)
        reacted_now = True
    from .hooks.capture import store_event

    try:
        store_event(payload, received, store, log)
    except StoreError:
        if reacted_now and path:
            from pathlib import Path

            from .fsutil import atomic_write_json

            atomic_write_json(Path(path), {**entry, "reacted": True})
        raise


def _move_aside(directory: str, name: str, log, reason: str) -> None:
    failed = os.path.join(directory, "failed")
    os.makedirs(failed, exist_ok=True)
    try:
        os.replace(os.path.join(directory, name), os.path.join(failed, name))
    except OSError:
        pass
    log.error("outbox: moved %s to %s (%s)", name, failed, reason)
