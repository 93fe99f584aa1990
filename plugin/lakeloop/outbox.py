"""The capture outbox: hooks spool events durably, a detached drainer stores them.

Claude Code 2.1.330 SIGTERMs async hooks still running when a ``-p`` turn ends
(async Stop hooks within ~10 ms), so a hook must not hold an event only in
memory. A capture hook therefore does the least work that makes the event
durable: one atomic write of ``{event, received_at_ns, payload}`` to
``<data dir>/outbox/<received_at_ns>-<pid>-<rand>.json``, then forks a drainer
in its own process session (stdin/stdout/stderr on /dev/null, so Claude Code
never waits on it) and exits. Drainers claim entries one at a time by an
atomic rename (so several can run at once, bounded by the store's own request
slots) and store them oldest first, deleting each once stored. An entry whose
store write fails goes back for the next drain (nothing lost); one claimed by
a drainer that died is put back; one that cannot be processed at all moves to
``outbox/failed/`` with a log line.
"""

from __future__ import annotations

import json
import os
import time

#: A claimed entry whose drainer has held it this long (seconds) is put back.
STALE_CLAIM_S = 600.0


def outbox_dir() -> str:
    """``<data dir>/outbox`` as a string."""
    from . import paths

    return os.path.join(str(paths.data_dir()), "outbox")


def pending() -> list[str]:
    """Names of entries not stored yet: waiting (``.json``) or claimed by a drainer (``.work``)."""
    try:
        names = os.listdir(outbox_dir())
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n.endswith((".json", ".work")) and not n.startswith("."))


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
    from .detach import fork_detached

    def run() -> None:
        from .log import setup

        drain(setup("drain"))

    return fork_detached(run, "drain") is not None


def _claim(directory: str, name: str) -> str | None:
    """Atomically claim entry ``name`` for this process (rename to ``.<pid>.work``)."""
    claimed = os.path.join(directory, f"{name}.{os.getpid()}.work")
    try:
        os.rename(os.path.join(directory, name), claimed)
    except FileNotFoundError:
        return None  # another drainer claimed it first
    return claimed


def _release_stale_claims(directory: str, log) -> None:
    """Put back entries claimed by drainers that died (pid gone) or stalled (> STALE_CLAIM_S)."""
    from .detach import pid_alive

    now = time.time()
    for name in os.listdir(directory):
        if not name.endswith(".work"):
            continue
        base, _, rest = name.rpartition(".json.")
        pid_text = rest[: -len(".work")]
        path = os.path.join(directory, name)
        try:
            alive = pid_text.isdigit() and pid_alive(int(pid_text))
            if alive and now - os.path.getmtime(path) < STALE_CLAIM_S:
                continue
            os.rename(path, os.path.join(directory, base + ".json"))
            log.warning("outbox: released entry %s.json from drainer %s (gone or stalled)", base, pid_text)
        except OSError:
            continue


def drain(log) -> int:
    """Store every spooled entry, oldest first. Several drainers may run at once: each
    entry is claimed by an atomic rename, so it is stored by exactly one of them.
    Returns how many this drainer stored. A store failure puts the entry back and stops."""
    from .errors import StoreError

    directory = outbox_dir()
    stored = 0
    store = None
    try:
        _release_stale_claims(directory, log)
        while True:
            names = sorted(n for n in os.listdir(directory) if n.endswith(".json"))
            progressed = False
            for name in names:
                claimed = _claim(directory, name)
                if claimed is None:
                    continue
                progressed = True
                try:
                    with open(claimed, encoding="utf-8", errors="surrogatepass") as fh:  # as put() wrote it
                        entry = json.load(fh)
                except (OSError, ValueError) as exc:
                    _move_aside(directory, claimed, name, log, f"unreadable entry: {exc}")
                    continue
                try:
                    if store is None:
                        from .store import open_store

                        store = open_store()
                    process(entry, store, log, claimed)
                except StoreError as exc:
                    os.rename(claimed, os.path.join(directory, name))
                    log.error("outbox: store failed, entries wait for the next drain: %s", exc)
                    return stored
                except Exception:
                    log.exception("outbox: entry %s could not be processed", name)
                    _move_aside(directory, claimed, name, log, "processing failed")
                    continue
                os.unlink(claimed)
                stored += 1
            if not progressed:
                break
    finally:
        if store is not None:
            store.close()
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

        react(payload, log, received)
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


def _move_aside(directory: str, current: str, name: str, log, reason: str) -> None:
    failed = os.path.join(directory, "failed")
    os.makedirs(failed, exist_ok=True)
    try:
        os.replace(current, os.path.join(failed, name))
    except OSError:
        pass
    log.error("outbox: moved %s to %s (%s)", name, failed, reason)
