"""Store access for the dashboard: one thread owns one ``Store`` (SQLite connections stay on the
thread that made them) and a time-to-live cache answers a repeated query without the store.

``StoreRunner.call(key, fn)`` (awaitable) runs ``fn(store)`` on that thread and returns its
value, or the cached value for ``key`` when it is younger than ``config.ui_cache_s()`` seconds.
Each page section is one ``call``, so on Deeplake a page sends at most one query per section and
a reload within the TTL sends none. Errors: whatever ``fn`` raises (``StoreError`` and its kinds),
and ``NoStoreYet`` when the embedded store file does not exist (the dashboard never creates it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..errors import StoreUnavailable


class NoStoreYet(StoreUnavailable):
    """The embedded store's file does not exist yet (nothing was captured on this machine)."""


class TtlCache:
    """Values by key for ``ttl_s`` seconds (monotonic clock); ``ttl_s <= 0`` keeps nothing."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._items: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable) -> tuple[bool, Any]:
        """``(True, value)`` when ``key`` holds a fresh value, else ``(False, None)``."""
        hit = self._items.get(key)
        if hit is None or self._clock() - hit[0] >= self.ttl_s:
            return False, None
        return True, hit[1]

    def put(self, key: Hashable, value: Any) -> None:
        """Remember ``value`` for ``key`` (nothing when the TTL is 0)."""
        if self.ttl_s > 0:
            self._items[key] = (self._clock(), value)

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
    """One worker thread, one store (opened by the first call, closed by ``close``), one cache."""

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

    def _run(self, fn: Callable[[Any], Any]) -> Any:
        if self._store is None:
            from .. import paths
            from ..store import open_store

            if store_is_embedded() and not paths.store_file().exists():
                raise NoStoreYet(f"no store yet: {paths.store_file()} does not exist (nothing captured here)")
            self._store = open_store()
        return fn(self._store)

    def clear(self) -> None:
        """Forget every cached answer (after a write)."""
        self.cache.clear()

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
