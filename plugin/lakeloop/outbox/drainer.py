"""The drainer: reactions first, then batched, idempotent stores, then a short linger.

One drainer per data dir holds the drain lock (``lock``). Each pass:

1. Lists the outbox (oldest first). Names that are not entries go to ``failed/``.
2. Runs the reaction of every UserPromptSubmit entry not yet marked ``r``, before
   any older capture is stored, and whether or not the store is up (a reaction
   needs only local state); marks the entry ``r``. A reaction is idempotent by
   event id (``Handlers.react``), so a crash between the two steps cannot run it
   twice.
3. Unless the store is pausing after a failure, takes a batch (at most
   ``BATCH_EVENTS`` entries and ``BATCH_BYTES`` bytes of entry files, at least one),
   builds its rows (row id = event id), marks the entries ``u`` (in flight), sends
   one batched insert, and deletes the entries. Entries already marked ``u`` make
   the store look their ids up first (Deeplake), so a re-sent event is never
   stored twice; the embedded store ignores a repeated id by itself.
   The rows of a stored batch are then handed to ``Handlers.stored`` (capture counts them
   towards a session's next summary), which can neither lose nor repeat an entry.
4. With nothing to do, waits for the outbox directory to change (a stat every
   ``POLL_S``), up to ``linger_s`` (``LAKELOOP_DRAIN_LINGER_S``, default 3 s)
   before exiting. It never polls the remote store while idle.

Failures: anything raised while reading, parsing or building one entry's row
(RecursionError, MemoryError, a bug) moves that entry to ``failed/`` with one log
line, and the drain goes on. A batch the store rejects for a reason that is not
the store's own state (a ``PermanentError`` other than 402/401/403, or a bug) is
split and retried entry by entry, so one bad row cannot hold the others back.
A transient store failure pauses storing for 2, 5, 10, then 20 s (reactions go
on meanwhile); then, and on a store-level permanent failure (402, auth, store
unavailable), the drainer gives up on the store, leaves the entries for a later
drainer, and writes ``.retry-after`` so capture hooks do not start a drainer
just to fail again for ``GIVE_UP_PAUSE_S``. A drainer lives at most
``MAX_LIFETIME_S``; a hard ``SIGALRM`` backstop (set by the caller) ends one
stuck in a system call, releasing the lock.

Memory: the drainer holds one batch at a time: at most ``BATCH_BYTES`` (4 MiB) of
entry files, or one entry of up to 32 MiB (the hook's stdin cap), parsed within
``lakeloop.boundedjson``'s bounds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import FAILED, outbox_dir
from .entries import REACTED, UNSURE, Entry, scan
from .spool import MAX_HEADER_BYTES, RETRY_AFTER, header_end

#: Most entries in one batched insert.
BATCH_EVENTS = 100
#: Most bytes of entry files in one batch (a larger single entry is a batch of its own).
BATCH_BYTES = 4 * 1024 * 1024
#: Pauses (seconds) before storing again after a transient store failure; then give up.
STORE_PAUSES_S = (2.0, 5.0, 10.0, 20.0)
#: After giving up on the store, capture hooks start no drainer for this long (seconds).
GIVE_UP_PAUSE_S = 30.0
#: How often an idle drainer looks at the outbox directory (seconds).
POLL_S = 0.05
#: A drainer stops taking new batches after this long (seconds).
MAX_LIFETIME_S = 600.0
#: How often the outbox's size is measured against its cap (seconds).
USAGE_EVERY_S = 2.0


@dataclass
class Handlers:
    """What the drainer calls, supplied by the layer above (``lakeloop.capture.drain.handlers``).

    * ``parse(payload_bytes, event, header) -> payload dict``: ``header`` is the entry's settings
      header line as the hook wrote it (``spool.parse_header``), ``b""`` for an entry without
      one; raises any exception for a bad entry.
    * ``react(payload, received_ns, event_id) -> None``: a UserPromptSubmit's reaction;
      must be idempotent by ``event_id``.
    * ``rows(payload, received_ns, event_id) -> list of rows``: the rows to store (empty:
      nothing to store, e.g. capture off); raises for a payload it cannot turn into rows.
    * ``open_store() -> Store``: opened on first need; raises StoreError.
    * ``stored(rows) -> None`` (optional): told the rows of each batch the store accepted, after
      its entries are deleted; whatever it raises is logged and changes nothing (no entry is lost
      or sent again because of it).
    """

    parse: Callable[[bytes, str, bytes], dict]
    react: Callable[[dict, int, str], Any]
    rows: Callable[[dict, int, str], Sequence[Any]]
    open_store: Callable[[], Any]
    stored: Callable[[list], Any] | None = None


@dataclass
class Result:
    """What one drain did: events ``stored``, entries moved to ``failed``, ``reacted``
    prompts, and ``left`` entries still waiting when it stopped (``gave_up`` says why)."""

    stored: int = 0
    failed: int = 0
    reacted: int = 0
    skipped: int = 0
    batches: int = 0
    left: int = 0
    gave_up: str = ""
    errors: list[str] = field(default_factory=list)


def move_aside(entry_path: str, name: str, log, reason: str) -> bool:
    """Move an entry to ``failed/`` (its mtime set to now, for pruning) with one log line.
    Returns False when it could not be moved (it then stays where it is)."""
    failed = os.path.join(os.path.dirname(entry_path), FAILED)
    try:
        os.makedirs(failed, mode=0o700, exist_ok=True)
        target = os.path.join(failed, name)
        os.replace(entry_path, target)
        try:
            os.utime(target, follow_symlinks=False)
        except (OSError, NotImplementedError):
            pass
    except OSError as exc:
        log.error("outbox: could not move %s to %s (%s): %s", name, failed, reason, exc)
        return False
    log.error("outbox: moved %s to %s (%s)", name, failed, reason)
    return True


#: Largest entry file read (bytes): the hooks' stdin cap (32 MiB) after the settings header.
MAX_ENTRY_BYTES = 32 * 1024 * 1024 + MAX_HEADER_BYTES


def read_entry(path: str) -> tuple[bytes, bytes]:
    """``(settings header line, payload bytes)`` of a regular entry file (the header ``b""``
    when there is none: ``spool.header_end``). The header is read first and the payload after it
    in one read of its known size, so the payload is held once in memory (never copied to split
    it off or to join chunks). Never follows a symlink, never blocks on a FIFO or device, reads
    at most ``MAX_ENTRY_BYTES``. Raises OSError (ValueError when too large, not a regular file,
    or its header has no end)."""
    import stat

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("not a regular file")
        if st.st_size > MAX_ENTRY_BYTES:
            raise ValueError(f"{st.st_size} bytes, over {MAX_ENTRY_BYTES}")
        head = os.pread(fd, min(st.st_size, MAX_HEADER_BYTES), 0)
        header = head[: header_end(head)] if head[:1] == b"\0" else b""
        del head
        chunks, offset, left = [], len(header), MAX_ENTRY_BYTES + 1 - len(header)
        want = max(st.st_size - offset + 1, 1)  # one byte more: a file that grew is seen
        while left > 0:
            chunk = os.pread(fd, min(left, want), offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
            left -= len(chunk)
            want = 1 << 20
    finally:
        os.close(fd)
    if offset > MAX_ENTRY_BYTES:
        raise ValueError(f"over {MAX_ENTRY_BYTES} bytes")
    return header, chunks[0] if len(chunks) == 1 else b"".join(chunks)


#: HTTP statuses that can be caused by the rows sent (bad SQL for a value, too large); any other
#: refusal is the store's or the configuration's and never sets a row aside.
ROW_LEVEL_STATUS = frozenset({400, 413, 422})


def _store_level(exc: BaseException) -> bool:
    """True for failures of the store itself (every row would fail), False for ones that
    may be caused by the rows sent."""
    from ..errors import AuthError, PaymentRequired, PermanentError, StoreError, StoreUnavailable, TransientError

    if isinstance(exc, (TransientError, PaymentRequired, AuthError, StoreUnavailable)):
        return True
    if isinstance(exc, PermanentError):
        return getattr(exc, "status", None) not in ROW_LEVEL_STATUS  # 404 workspace, ... : store-level
    return isinstance(exc, StoreError)  # embedded: locked, disk full, ...


class Drainer:
    """One drain of the outbox (the caller holds the drain lock). See the module docstring.

    ``clock`` (monotonic seconds) and ``sleep`` are injectable; ``linger_s`` is how long an
    idle drainer waits for new entries; ``max_bytes`` is the outbox cap.
    """

    def __init__(
        self,
        handlers: Handlers,
        log,
        *,
        linger_s: float = 3.0,
        max_bytes: int = 256 << 20,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        pauses: Sequence[float] = STORE_PAUSES_S,
        max_lifetime_s: float = MAX_LIFETIME_S,
    ) -> None:
        self.h = handlers
        self.log = log
        self.linger_s = linger_s
        self.max_bytes = max_bytes
        self.clock = clock
        self.sleep = sleep
        self.all_pauses = tuple(pauses)
        self.pauses = list(pauses)
        self.max_lifetime_s = max_lifetime_s
        self.directory = outbox_dir()
        self.result = Result()
        self.store: Any = None  # what ``Handlers.open_store`` returns, opened on first need
        self.store_ready_at = 0.0  # monotonic time before which no batch is sent
        self.store_dead = False  # gave up on the store for this drain
        self.accepted_any = False  # the store accepted a batch in this drain
        self._parsed: dict[str, dict] = {}  # stem -> payload parsed by this pass's reactions

    # -- the loop ---------------------------------------------------------------------
    def run(self) -> Result:
        """Drain until the outbox stays empty for ``linger_s`` (or the store is given up
        and every reaction has run). Returns the ``Result``."""
        from . import usage

        started = self.clock()
        usage.prune_failed(self.log)
        usage_at = -USAGE_EVERY_S
        idle_since = self.clock()
        stalled = 0
        try:
            while True:
                now = self.clock()
                if now - usage_at >= USAGE_EVERY_S:
                    usage.refresh(self.max_bytes)
                    usage_at = now
                self._parsed = {}  # payloads parsed by this pass's reactions (bounded to one pass)
                entries, bad = scan(self.directory)
                for name in bad:
                    move_aside(os.path.join(self.directory, name), name, self.log, "not an outbox entry name")
                self._react(entries)
                if entries and not self.store_dead and now - started < self.max_lifetime_s:
                    if now >= self.store_ready_at:
                        before = (self.result.stored, self.result.failed, self.result.skipped, len(self.result.errors))
                        self._store_batch(self._batch(entries))
                        after = (self.result.stored, self.result.failed, self.result.skipped, len(self.result.errors))
                        stalled = 0 if after != before else stalled + 1
                        if stalled >= 3:  # entries that can be neither stored nor failed: leave them
                            self.log.error(
                                "outbox: no progress on %d entries; leaving them for a later drain", len(entries)
                            )
                            self.result.left = len(entries)
                            self.result.gave_up = "no progress"
                            break
                        idle_since = self.clock()
                        continue
                    self._wait_change(self.store_ready_at - now)
                    continue
                if entries or self.clock() - idle_since >= self.linger_s:
                    self.result.left = len(entries)
                    break
                self._wait_change(self.linger_s - (self.clock() - idle_since))
        finally:
            if self.store is not None:
                try:
                    self.store.close()
                except Exception:  # closing must not lose the result
                    pass
            usage.refresh(self.max_bytes)
        return self.result

    def _wait_change(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` for the outbox directory to change (a new entry)."""
        deadline = self.clock() + max(0.0, timeout_s)
        try:
            before = os.stat(self.directory).st_mtime_ns
        except OSError:
            before = None
        while self.clock() < deadline:
            self.sleep(min(POLL_S, max(0.0, deadline - self.clock())))
            try:
                if os.stat(self.directory).st_mtime_ns != before:
                    return
            except OSError:
                return

    # -- reactions --------------------------------------------------------------------
    def _read(self, entry: Entry) -> dict | None:
        """The entry's payload, or None (entry gone, or moved to failed/ with the reason)."""
        try:
            header, data = read_entry(entry.path)
        except FileNotFoundError:
            return None
        except Exception as exc:  # an unreadable entry must not stop the queue
            self._fail(entry, f"unreadable: {type(exc).__name__}: {exc}")
            return None
        try:
            return self.h.parse(data, entry.event, header)
        except Exception as exc:  # RecursionError, MemoryError, ValueError, bugs
            self._fail(entry, f"{entry.event} hook payload refused: {type(exc).__name__}: {str(exc)[:200]}")
            return None

    def _fail(self, entry: Entry, reason: str) -> None:
        if move_aside(entry.path, entry.name, self.log, reason):
            self.result.failed += 1

    def _react(self, entries: list[Entry]) -> None:
        for entry in entries:
            if entry.event != "UserPromptSubmit" or entry.has(REACTED):
                continue
            payload = self._read(entry)
            if payload is None:
                continue
            self._parsed[entry.stem] = payload  # stored in this pass's batch without a second parse
            try:
                self.h.react(payload, entry.received_ns, entry.event_id)
                self.result.reacted += 1
            except Exception:  # a failed reaction never costs the capture
                self.log.exception("reaction failed for event %s; the prompt is still captured", entry.event_id)
            try:
                entry.set_flags(add=REACTED)
            except OSError as exc:
                self.log.warning("outbox: could not mark %s reacted: %s", entry.name, exc)

    # -- storing ----------------------------------------------------------------------
    def _batch(self, entries: list[Entry]) -> list[Entry]:
        batch: list[Entry] = []
        size = 0
        for entry in entries:
            try:
                entry_size = os.lstat(entry.path).st_size
            except OSError:
                continue
            if batch and (len(batch) >= BATCH_EVENTS or size + entry_size > BATCH_BYTES):
                break
            batch.append(entry)
            size += entry_size
        return batch

    def _store_batch(self, batch: list[Entry]) -> None:
        items: list[tuple[Entry, list]] = []
        for entry in batch:
            payload = self._parsed.pop(entry.stem, None) or self._read(entry)
            if payload is None:
                continue
            try:
                rows = list(self.h.rows(payload, entry.received_ns, entry.event_id))
            except Exception as exc:
                from ..errors import StoreError

                if isinstance(exc, StoreError):  # e.g. no credentials for the identity: not this entry's fault
                    self._store_failed(exc)
                    return
                self._fail(entry, f"could not build its row: {type(exc).__name__}: {str(exc)[:200]}")
                continue
            if not rows:
                self._done(entry)
                self.result.skipped += 1
                continue
            items.append((entry, rows))
        if items:
            self._send(items)

    def _done(self, entry: Entry) -> None:
        try:
            os.unlink(entry.path)
        except FileNotFoundError:
            pass

    def _send(self, items: list[tuple[Entry, list]], splitting: bool = False) -> bool:
        """Send one batch. Returns True when it was stored. A row-level refusal of a batch
        splits it; a single entry is set aside only once the store has accepted another row
        in this drain (proof that the store itself works), else the failure is the store's."""
        from ..errors import OutcomeUnknown

        unsure = any(entry.has(UNSURE) for entry, _ in items)
        marked = []
        for entry, _ in items:
            if not entry.has(UNSURE):
                if not entry.set_flags(add=UNSURE):
                    continue
                marked.append(entry)
        items = [(e, r) for e, r in items if e.has(UNSURE)]
        rows = [row for _, rs in items for row in rs]
        if not items:
            return False
        try:
            if self.store is None:
                try:
                    self.store = self.h.open_store()
                except Exception as exc:  # configuration (bad table name), credentials
                    from ..errors import StoreUnavailable

                    raise StoreUnavailable(f"cannot open the store: {type(exc).__name__}: {exc}") from exc
            self.store.append_session_rows(rows, unsure=unsure)
        except OutcomeUnknown as exc:  # entries stay marked u: looked up before the next send
            self._store_failed(exc)
            return False
        except Exception as exc:
            for entry in marked:  # known not applied: no lookup needed next time
                try:
                    entry.set_flags(remove=UNSURE)
                except OSError:
                    pass
            if _store_level(exc):
                self._store_failed(exc)
                return False
            if len(items) > 1:
                self.log.warning(
                    "outbox: a batch of %d was refused (%s: %s); storing its entries one by one",
                    len(items),
                    type(exc).__name__,
                    str(exc)[:200],
                )
                refused = []
                for item in items:
                    if self.store_dead:
                        break
                    if not self._send([item], splitting=True):
                        refused.append(item[0])
                if refused and not self.accepted_any:
                    self._store_failed(exc)  # nothing was accepted: the store, not the rows
                    return False
                for entry in refused:
                    self._fail(entry, f"the store refused its row: {type(exc).__name__}: {str(exc)[:200]}")
                return False
            if splitting:
                return False  # the caller decides once the split is done
            if self.accepted_any:
                self._fail(items[0][0], f"the store refused its row: {type(exc).__name__}: {str(exc)[:200]}")
            else:
                self._store_failed(exc)
            return False
        for entry, _ in items:
            self._done(entry)
        self.result.stored += len(items)
        self.result.batches += 1
        self.accepted_any = True
        self.pauses = list(self.all_pauses)  # a success resets the pause schedule
        for _, rs in items:
            row = rs[0]
            self.log.info(
                "captured %s session=%s bytes=%d",
                getattr(row, "type", "?"),
                str(getattr(row, "message", {}).get("session_id", ""))[:64],
                getattr(row, "size_bytes", 0),
            )
        if self.h.stored is not None:
            try:
                self.h.stored(rows)
            except Exception:  # the batch is stored and its entries gone: nothing to undo
                self.log.exception("outbox: the stored-rows handler failed (the rows are stored)")
        return True

    def _store_failed(self, exc: BaseException) -> None:
        from ..errors import TransientError

        if self.store_dead:
            return
        self.result.errors.append(f"{type(exc).__name__}: {exc}")
        if isinstance(exc, TransientError) and self.pauses:
            pause = self.pauses.pop(0)
            self.log.warning("outbox: store failed (%s); storing again in %.0f s (reactions go on)", exc, pause)
            self.store_ready_at = self.clock() + pause
            return
        self.store_dead = True
        self.result.gave_up = str(exc)
        self.log.error("outbox: store failed, entries wait for a later drainer: %s", exc)
        try:
            path = os.path.join(self.directory, RETRY_AFTER)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
            when = time.time() + GIVE_UP_PAUSE_S
            os.utime(path, (when, when))
        except OSError:
            pass


def _react_only(make: Callable[[], Drainer]) -> Callable[[], Drainer]:
    def build() -> Drainer:
        drainer = make()
        drainer.store_dead = True
        drainer.result.gave_up = "reactions only"
        return drainer

    return build


def run_locked(make: Callable[[], Drainer], lock_fd: int, log) -> Result:
    """Run drains while holding the drain lock; after releasing it, look once more and
    drain again if an entry arrived meanwhile and the lock is free (so an entry spooled
    by a hook that saw the lock held is never left behind). Returns the last ``Result``."""
    from .lock import try_lock, unlock

    fd: int | None = lock_fd
    total = Result()
    started = time.monotonic()
    rounds = 0
    while fd is not None:
        rounds += 1
        try:
            drainer = make()
            result = drainer.run()
        finally:
            unlock(fd)
        for name in ("stored", "failed", "reacted", "skipped", "batches"):
            setattr(total, name, getattr(total, name) + getattr(result, name))
        total.left, total.gave_up, total.errors = result.left, result.gave_up, total.errors + result.errors
        entries, _ = scan(outbox_dir())
        if result.gave_up:
            # The store is given up, but a prompt spooled meanwhile must still get its reaction.
            if not any(e.event == "UserPromptSubmit" and not e.has(REACTED) for e in entries):
                break
            make = _react_only(make)
        if not entries or time.monotonic() - started >= MAX_LIFETIME_S or (result.gave_up and rounds > 3):
            break
        fd = try_lock(outbox_dir())
    log.debug(
        "drain done: stored=%d failed=%d reacted=%d left=%d", total.stored, total.failed, total.reacted, total.left
    )
    return total
