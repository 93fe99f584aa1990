"""The capture outbox: hooks spool events durably, a detached drainer stores them.

Claude Code 2.1.330 SIGTERMs async hooks still running when a ``-p`` turn ends
(async Stop hooks within ~10 ms), so a hook must not hold an event only in
memory. A capture hook therefore does the least work that makes the event
durable: one atomic write of the raw payload bytes, unparsed, to
``<data dir>/outbox/<received_at_ns>-<pid>-<rand>-<HookEvent>.json``, then forks a drainer
in its own process session (stdin/stdout/stderr on /dev/null, so Claude Code
never waits on it) and exits. Drainers claim entries one at a time by an
atomic rename (so several can run at once, bounded by the store's own request
slots) and store them oldest first, deleting each once stored. An entry whose
store write fails goes back for the next drain (nothing lost); one claimed by
a drainer that died is put back; one that is not a JSON object or cannot be
processed at all moves to ``outbox/failed/`` with one log line saying why.
"""

from __future__ import annotations

import os
import time

#: A claimed entry whose drainer has held it this long (seconds) is put back.
STALE_CLAIM_S = 600.0
#: Pauses (seconds) before a drainer tries again after a transient store failure.
DRAIN_BACKOFF_S = (2.0, 5.0, 10.0, 20.0)


def outbox_dir() -> str:
    """``<data dir>/outbox`` as a string (no pathlib: this runs in every capture hook)."""
    from . import paths

    return os.path.join(paths.data_dir_str(), "outbox")


def pending() -> list[str]:
    """Names of entries not stored yet: waiting (``.json``) or claimed by a drainer (``.work``)."""
    try:
        names = os.listdir(outbox_dir())
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n.endswith((".json", ".work")) and not n.startswith("."))


def put_raw(event: str, data: bytes, received_at_ns: int | None = None) -> str:
    """Spool one event's raw payload atomically; returns the entry's path. Raises OSError."""
    directory = outbox_dir()
    os.makedirs(directory, exist_ok=True)
    now = received_at_ns or time.time_ns()
    name = f"{now:020d}-{os.getpid()}-{os.urandom(4).hex()}-{event}"
    tmp = os.path.join(directory, f".{name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)  # no fsync: durable across process crashes and kills, the case hooks
        # face; an OS crash may lose the last events
    finally:
        os.close(fd)
    final = os.path.join(directory, f"{name}.json")
    os.replace(tmp, final)
    return final


def parse_name(name: str) -> tuple[int, str]:
    """``(received_at_ns, event)`` from an entry's file name. Raises ValueError."""
    stamp, _pid, _rand, event = name[: -len(".json")].split("-", 3)
    return int(stamp), event


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


def drain(log, sleep=time.sleep) -> int:
    """Store every spooled entry, oldest first. Several drainers may run at once: each
    entry is claimed by an atomic rename, so it is stored by exactly one of them.
    Returns how many this drainer stored. A store failure puts the entry back; a
    transient one (the store's own retries exhausted) is tried again after
    ``DRAIN_BACKOFF_S`` (the drainer is detached: nobody waits on it), a permanent
    one (e.g. 402) stops the drain until the next hook starts one."""
    from .errors import StoreError, TransientError

    directory = outbox_dir()
    stored = 0
    store = identity = None
    pauses = list(DRAIN_BACKOFF_S)
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
                    with open(claimed, "rb") as fh:
                        data = fh.read()
                    received, event = parse_name(name)
                except (OSError, ValueError) as exc:
                    _move_aside(directory, claimed, name, log, f"unreadable entry: {exc}")
                    continue
                from .hooks.main import parse_payload

                payload, why = parse_payload(data)
                if payload is None:
                    _move_aside(directory, claimed, name, log, f"{event} hook: {why}")
                    continue
                entry = {"event": event, "received_at_ns": received, "payload": payload}
                try:
                    if store is None:
                        from .store import current_identity, open_store

                        store, identity = open_store(), current_identity()
                    process(entry, store, identity, log, claimed)
                except StoreError as exc:
                    os.rename(claimed, os.path.join(directory, name))
                    if isinstance(exc, TransientError) and pauses:
                        pause = pauses.pop(0)
                        log.warning("outbox: store failed (%s); this drainer tries again in %.0f s", exc, pause)
                        sleep(pause)
                        break  # list the entries again
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


def process(entry: dict, store, identity, log, path: str | None = None) -> None:
    """Handle one spooled entry: for UserPromptSubmit, react first (once: the entry is
    marked ``reacted`` if the store write then fails), then store its row.

    Raises StoreError when the store write fails (the entry stays for the next drain).
    """
    from .errors import StoreError

    payload = dict(entry["payload"])
    named = payload.get("hook_event_name")
    if named != entry["event"]:
        if named:
            log.warning("payload says hook_event_name=%r, launched as %s: handled as %s",
                        str(named)[:60], entry["event"], entry["event"])
        payload["hook_event_name"] = entry["event"]  # the launcher's event argument wins
    already_reacted = payload.pop("_lakeloop_reacted", False)
    received = int(entry.get("received_at_ns") or time.time_ns())
    reacted_now = False
    if entry.get("event") == "UserPromptSubmit" and not already_reacted:
        from .hooks.user_prompt_submit import react

        try:
            react(payload, log, received)
        except Exception:  # a failed reaction never costs the capture
            log.exception("reaction failed; the prompt is still captured")
        reacted_now = True
    from .hooks.capture import store_event

    try:
        store_event(payload, received, store, identity, log)
    except StoreError:
        if reacted_now and path:
            import json
            from pathlib import Path

            from .fsutil import atomic_write

            marked = {**entry["payload"], "_lakeloop_reacted": True}
            atomic_write(Path(path), json.dumps(marked, ensure_ascii=False).encode("utf-8", "surrogatepass"))
        raise


def _move_aside(directory: str, current: str, name: str, log, reason: str) -> None:
    failed = os.path.join(directory, "failed")
    os.makedirs(failed, exist_ok=True)
    try:
        os.replace(current, os.path.join(failed, name))
    except OSError:
        pass
    log.error("outbox: moved %s to %s (%s)", name, failed, reason)
