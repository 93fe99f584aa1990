"""Store access for the dashboard: one thread owns one ``Store`` (SQLite connections stay on the
thread that made them) and a time-to-live cache answers a repeated query without the store.

``StoreRunner.call(key, fn)`` (awaitable) runs ``fn(store)`` on that thread and returns its
value, or the cached value for ``key`` when it is younger than ``config.ui_cache_s()`` seconds;
``StoreRunner.section`` is the same call answering a store failure as a one-line error.
Each page section is one ``call``, so on Deeplake a page sends at most one query per section and
a reload within the TTL sends none. Pages read a store opened read-only (``open_store(read_only=
True)``: the embedded file is never created, narrowed or migrated, and no table is created on
Deeplake); only ``StoreRunner.write`` (the review actions) opens a writable store, for that one
call. Errors: whatever ``fn`` raises (``StoreError`` and its kinds), and ``NoStoreYet`` when the
embedded store file does not exist (the dashboard never creates it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..errors import StoreUnavailable


class NoStoreYet(StoreUnavailable):
    """The embedded store's file does not exist yet (nothing was captured on this machine)."""


#: Most answers a ``TtlCache`` keeps (the oldest goes first): every distinct search, filter and
#: page is a key, so without a bound a long-lived dashboard would keep each answer it ever gave.
CACHE_ITEMS = 64


class TtlCache:
    """Values by key for ``ttl_s`` seconds (monotonic clock); ``ttl_s <= 0`` keeps nothing. At most
    ``max_items`` values: a ``put`` first drops the expired ones, then the oldest beyond the bound."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic, max_items: int = CACHE_ITEMS) -> None:
        self.ttl_s = ttl_s
        self.max_items = max_items
        self._clock = clock
        self._items: dict[Hashable, tuple[float, Any]] = {}

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> tuple[bool, Any]:
        """``(True, value)`` when ``key`` holds a fresh value, else ``(False, None)``."""
        hit = self._items.get(key)
        if hit is None or self._clock() - hit[0] >= self.ttl_s:
            return False, None
        return True, hit[1]

    def put(self, key: Hashable, value: Any) -> None:
        """Remember ``value`` for ``key`` (nothing when the TTL is 0)."""
        if self.ttl_s <= 0:
            return
        now = self._clock()
        for old in [k for k, (at, _) in self._items.items() if now - at >= self.ttl_s]:
            del self._items[old]
        self._items.pop(key, None)
        self._items[key] = (now, value)
        while len(self._items) > self.max_items:  # insertion order: the oldest first
            del self._items[next(iter(self._items))]

    def clear(self) -> None:
        """Forget every value."""
        self._items.clear()


def store_is_embedded() -> bool:
    """True when ``open_store()`` would open the embedded store (``LAKELOOP_STORE=embedded``, or
    no Deeplake credentials and no ``LAKELOOP_STORE=deeplake``)."""
    from .. import config

    kind = config.store_kind()
    if kind in ("embedded", "deeplake"):
        return kind == "embedded"
    from ..deeplake.credentials import load

    return load() is None


class StoreRunner:
    """One worker thread, one read-only store (opened by the first call, closed by ``close``), one
    cache; ``write`` opens a writable store for one call on the same thread."""

    def __init__(self, ttl_s: float | None = None) -> None:
        from .. import config

        self.cache = TtlCache(config.ui_cache_s() if ttl_s is None else ttl_s)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lakeloop-ui-store")
        self._store: Any = None

    async def call(self, key: Hashable, fn: Callable[[Any], Any]) -> Any:
        """``fn(store)`` on the store thread, or the fresh cached answer for ``key``."""
        hit, value = self.cache.get(key)
        if hit:
            return value
        value = await asyncio.get_running_loop().run_in_executor(self._pool, self._run, fn)
        self.cache.put(key, value)
        return value

    async def section(
        self, key: Hashable, fn: Callable[[Any], Any], errors: tuple[type[Exception], ...] = ()
    ) -> tuple[Any, str | None]:
        """One page section: ``(call(key, fn), None)``, or ``(None, the error as one escaped
        line)`` when it raises ``StoreError`` (``NoStoreYet`` included) or one of ``errors``."""
        from ..errors import StoreError
        from ..textsafe import escape_line

        caught: tuple[type[Exception], ...] = (StoreError, *errors)
        try:
            return await self.call(key, fn), None
        except caught as exc:
            return None, escape_line(str(exc))

    async def write(self, fn: Callable[[Any], Any]) -> Any:
        """``fn(store)`` on the store thread with a store opened for writing (closed after), then
        every cached answer forgotten (also when ``fn`` raises). Never answered from the cache."""
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, self._run_write, fn)
        finally:
            self.cache.clear()

    @staticmethod
    def _check_exists() -> None:
        from .. import paths

        if store_is_embedded() and not paths.store_file().exists():
            raise NoStoreYet(f"no store yet: {paths.store_file()} does not exist (nothing captured here)")

    def _run(self, fn: Callable[[Any], Any]) -> Any:
        if self._store is None:
            from ..store import open_store

            self._check_exists()
            self._store = open_store(read_only=True)
        return fn(self._store)

    def _run_write(self, fn: Callable[[Any], Any]) -> Any:
        from ..store import open_store

        self._check_exists()
        with open_store() as store:
            return fn(store)

    def interrupt(self) -> None:
        """Abort the store statement a page is waiting for (the embedded store's
        ``interrupt``; nothing on Deeplake, whose requests end within the client's timeout), so
        that a stop never waits for a long query. Called from the server's thread; never raises."""
        stop = getattr(self._store, "interrupt", None)
        if stop is not None:
            stop()

    def close(self) -> None:
        """Close the store on its own thread and stop the thread. Never raises."""

        def closing() -> None:
            if self._store is not None:
                self._store.close()

        try:
            self._pool.submit(closing).result(timeout=5)
        except Exception:
            pass
        self._pool.shutdown(wait=False)
