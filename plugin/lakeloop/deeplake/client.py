"""``DeeplakeClient``: the one HTTP client every hook and the worker use for Deeplake.

Wire contract (docs/deeplake-store.md): ``POST {api}/workspaces/{ws}/tables/query`` with
``{"query": sql}`` answering ``{"columns", "rows", "row_count"}``, and
``GET {api}/workspaces/{ws}/tables``; headers ``Authorization: Bearer``,
``X-Activeloop-Org-Id``, ``Content-Type: application/json``, ``User-Agent``.

Behaviour, with its sources:

* One ``httpx.Client`` per process (``shared_client``), keep-alive, connect
  timeout 3 s + read timeout 7 s (10 s in all, the reference client's).
* Retries (seed 003): 429, 500, 502, 503, 504 and network-level failures, 3
  retries, exponential backoff 0.5 s x 2^n plus up to 0.2 s jitter; a
  ``Retry-After`` header is honoured up to a cap (5 s). A 500 saying something
  "already exists" is deterministic and not retried. 402 is not retried, raises
  ``PaymentRequired`` and leaves one notice for the user. A 401, or a 403 with an
  empty or HTML body, is retried when the call is a session insert
  (``retry_auth=True``): transient in practice (CDN, token refresh).
* A non-idempotent request (``idempotent=False``: a sessions INSERT) is never
  retried once it may have been applied: a 5xx, or a connection that fails after
  the request went out (a read timeout, a reset, a closed connection), raises
  ``OutcomeUnknown`` at once so the caller can look up what was applied
  (exactly once). 429, 401/403 on session inserts, and failures to
  connect (nothing was sent) are retried as usual.
* ``on_retry(attempt, error)`` runs, and finishes, before the next attempt starts.
* Concurrency (seed 003): at most 5 requests in flight per process and a
  machine-wide bound across processes (``Slots``).
* Connection repair (seed 004): after a network-level failure the connection
  pool is rebuilt before the retry; the new pool replaces the old one only once
  it exists, and a failed rebuild leaves the old client in place for the next attempt;
  the old pool is closed once no other thread's request is still running on it.

Errors are the ``lakeloop.errors.DeeplakeError`` family; none carries the token
(response bodies are scrubbed of it before they become errors).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from .. import __version__
from ..errors import AlreadyExists, DeeplakeError, NetworkError, PermanentError
from .credentials import Credentials
from .slots import Slots
from .status import PAYMENT_NOTICE, backoff_s, classify, retry_wait_s, stop_or_retry
from .status import RETRYABLE_STATUS as RETRYABLE_STATUS  # re-exported: still importable from here
from .status import retry_after_s as retry_after_s  # re-exported: still importable from here

BACKOFF_BASE_S = 0.5
BACKOFF_FACTOR = 2.0
JITTER_S = 0.2

log = logging.getLogger("lakeloop.deeplake")
OnRetry = Callable[[int, DeeplakeError], None]


class DeeplakeClient:
    """Talks to one Deeplake workspace. Thread-safe.

    ``transport`` (an ``httpx.BaseTransport``) and ``client_factory`` are for tests;
    ``sleep`` (seconds) and ``rand`` (returns [0, 1)) make backoff deterministic;
    ``on_payment_required`` is called once per 402 (default: post the user notice).
    """

    def __init__(
        self,
        creds: Credentials,
        *,
        slots: Slots | None = None,
        connect_timeout_s: float = 3.0,
        read_timeout_s: float = 7.0,
        max_retries: int = 3,
        backoff_base_s: float = BACKOFF_BASE_S,
        backoff_factor: float = BACKOFF_FACTOR,
        jitter_s: float = JITTER_S,
        retry_after_cap_s: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        transport: httpx.BaseTransport | None = None,
        client_factory: Callable[[], httpx.Client] | None = None,
        on_payment_required: Callable[[], None] | None = None,
    ) -> None:
        self.creds = creds
        self.slots = slots
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_factor = backoff_factor
        self.jitter_s = jitter_s
        self.retry_after_cap_s = retry_after_cap_s
        self._sleep = sleep
        self._rand = rand
        self._timeout = httpx.Timeout(read_timeout_s, connect=connect_timeout_s)
        self._transport = transport
        self._factory = client_factory or self._new_http
        self._on_payment_required = on_payment_required or _post_payment_notice
        self._lock = threading.Lock()
        self._http = self._factory()
        self._in_flight: dict[httpx.Client, int] = {}  # requests running on each pool
        self.pool_rebuilds = 0
        self.base = f"{creds.api_url.rstrip('/')}/workspaces/{creds.workspace}"

    def _new_http(self) -> httpx.Client:
        return httpx.Client(
            timeout=self._timeout,
            transport=self._transport,
            limits=httpx.Limits(max_connections=10, max_keepalive_connections=5),
            headers={
                "Authorization": f"Bearer {self.creds.token}",
                "X-Activeloop-Org-Id": self.creds.org_id,
                "User-Agent": f"lakeloop/{__version__}",
            },
        )

    # public -----------------------------------------------------------------
    def query(
        self, sql: str, *, retry_auth: bool = False, on_retry: OnRetry | None = None, idempotent: bool = True
    ) -> list[dict[str, Any]]:
        """Run one SQL statement; returns the rows as dicts (``[]`` for a statement with no
        result set). ``retry_auth`` marks a session insert (401 / empty-or-HTML 403 retried).
        ``idempotent=False`` (an INSERT) raises ``OutcomeUnknown`` instead of retrying once
        the statement may have been applied.

        Raises TransientError (after the retries), OutcomeUnknown, PermanentError and their
        subclasses.
        """
        data = self._json(self._send("POST", "/tables/query", {"query": sql}, retry_auth, on_retry, idempotent))
        if not isinstance(data, dict):
            return []
        columns, rows = data.get("columns") or [], data.get("rows") or []
        return [dict(zip(columns, row)) for row in rows if isinstance(row, list)]

    def list_tables(self) -> list[str]:
        """Names of the workspace's tables. Raises as ``query``."""
        data = self._json(self._send("GET", "/tables", None, False, None))
        tables = data.get("tables", []) if isinstance(data, dict) else []
        return [t["table_name"] for t in tables if isinstance(t, dict) and "table_name" in t]

    def pause(self, seconds: float) -> None:
        """Sleep ``seconds`` through the injected ``sleep`` (tests run it in no time)."""
        self._sleep(seconds)

    def backoff(self, attempt: int) -> None:
        """Sleep the retry backoff of ``attempt`` (``_backoff_s``) through the injected ``sleep``."""
        self._sleep(self._backoff_s(attempt))

    def _backoff_s(self, attempt: int) -> float:
        """Backoff before retry ``attempt`` (1-based), seconds: 0.5 s x 2^(attempt-1) plus up to
        0.2 s jitter (seed 003; ``status.backoff_s``)."""
        return backoff_s(attempt, self.backoff_base_s, self.backoff_factor, self.jitter_s, self._rand())

    def close(self) -> None:
        """Close the connection pool."""
        with self._lock:
            self._http.close()

    # internals --------------------------------------------------------------
    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise PermanentError(
                "Deeplake answered with a body that is not JSON", response.status_code, self._scrub(response.text)
            ) from None

    def _scrub(self, text: str) -> str:
        """``text`` without the token, however the server echoed it (redact() only knows its shapes)."""
        return text.replace(self.creds.token, "***") if self.creds.token else text

    def _send(
        self, method: str, path: str, body: Any, retry_auth: bool, on_retry: OnRetry | None, idempotent: bool = True
    ) -> httpx.Response:
        attempt = 0
        while True:
            response: httpx.Response | None = None
            maybe_applied = False
            try:
                response = self._attempt(method, path, body)
                error = classify(
                    response.status_code,
                    self._scrub(response.text),
                    response.headers.get("content-type", ""),
                    retry_auth,
                )
                maybe_applied = response.status_code >= 500 and not isinstance(error, AlreadyExists)
            except httpx.TransportError as exc:  # connect, read, write, pool, protocol, timeouts
                error = NetworkError(f"Deeplake unreachable: {type(exc).__name__}")
                maybe_applied = not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
                self._rebuild_pool()
            if error is None:
                assert response is not None  # classify() ran: the request was answered
                return response
            stop_or_retry(
                error,
                attempt,
                self.max_retries,
                idempotent=idempotent,
                maybe_applied=maybe_applied,
                on_payment_required=self._on_payment_required,
                log=log,
                what=f"{method} {path}",
            )
            attempt += 1
            delay = retry_wait_s(
                attempt,
                response.headers.get("retry-after") if response is not None else None,
                self.retry_after_cap_s,
                self._backoff_s,
            )
            log.info("deeplake %s: %s; retry %d/%d in %.2f s", path, error, attempt, self.max_retries, delay)
            if on_retry is not None:
                on_retry(attempt, error)  # completes before the next attempt starts
            self._sleep(delay)

    def _attempt(self, method: str, path: str, body: Any) -> httpx.Response:
        if self.slots is None:
            return self._request(method, path, body)
        with self.slots.hold():
            return self._request(method, path, body)

    def _request(self, method: str, path: str, body: Any) -> httpx.Response:
        """One request on the current pool, counted, so a rebuild by another thread does not close
        the pool under it: a replaced pool is closed by whoever finishes last on it."""
        with self._lock:
            http = self._http
            self._in_flight[http] = self._in_flight.get(http, 0) + 1
        try:
            return http.request(method, self.base + path, json=body)
        finally:
            with self._lock:
                left = self._in_flight.pop(http) - 1
                if left:
                    self._in_flight[http] = left
                retired = not left and http is not self._http
            if retired:
                _close_quietly(http)

    def _rebuild_pool(self) -> None:
        """Replace the connection pool after a connection-level failure (seed 004)."""
        try:
            fresh = self._factory()
        except Exception as exc:  # a failed rebuild keeps the old client usable
            log.warning("deeplake: connection pool rebuild failed, keeping the old one: %s", type(exc).__name__)
            return
        with self._lock:
            old, self._http = self._http, fresh
            self.pool_rebuilds += 1
            busy = old in self._in_flight  # closed by its last request instead (_request)
        if not busy:
            _close_quietly(old)


def _close_quietly(http: httpx.Client) -> None:
    try:
        http.close()
    except Exception:  # pragma: no cover - closing a broken pool
        pass


def _post_payment_notice() -> None:
    from ..notices import post

    if post("deeplake-payment-required", PAYMENT_NOTICE):
        log.warning("deeplake: HTTP 402, organisation out of credits; the user is told at the next session start")


_shared: DeeplakeClient | None = None
_shared_lock = threading.Lock()


def shared_client(creds: Credentials) -> DeeplakeClient:
    """The process's one client for ``creds`` (created on first use with the configured
    timeouts, retries and slots)."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared.creds != creds:
            from .. import config
            from .slots import default_slots

            _shared = DeeplakeClient(
                creds,
                slots=default_slots(),
                connect_timeout_s=config.deeplake_connect_timeout_s(),
                read_timeout_s=config.deeplake_read_timeout_s(),
                max_retries=config.deeplake_max_retries(),
                retry_after_cap_s=config.deeplake_retry_after_cap_s(),
            )
        return _shared
