"""``LiteClient``: the Deeplake client of short hook answers, on the standard library.

A memory-path answer (``lakeloop.memory.answer``) sends one SQL statement and exits. With
httpx that process pays ~70 ms and ~15 MB to import it and ~50 ms to build its TLS
context (measured: ``bench/hook_latency.py --store deeplake --memory``), several times the
interpreter's own start-up; the issue's target for such an answer is under 10x that start-up.
``LiteClient`` sends the same request with :mod:`http.client`: the same endpoint, headers and
JSON body (docs/deeplake-store.md), the same status mapping (``lakeloop.deeplake.status.classify``),
the same retry rules for idempotent statements (transient statuses and network failures,
backoff of seed 003, ``Retry-After`` up to a cap), ``OutcomeUnknown`` for a non-idempotent
statement that may have been applied, optional request slots (``light_client`` takes none: see
there), one user notice on 402, and no token in any error. It opens one connection per request
(no pool to keep). Long-lived processes (the drainer, the worker, the CLI) keep using ``DeeplakeClient`` (httpx).

TLS: the system's default context, with certifi's CA bundle when it is installed (as httpx
uses it).
"""

from __future__ import annotations

import json
import random
import time

from .. import __version__
from ..errors import AlreadyExists, DeeplakeError, LakeloopError, NetworkError, PermanentError
from .status import backoff_s, classify, retry_wait_s, stop_or_retry

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .credentials import Credentials
    from .slots import Slots

#: Largest response body read (bytes); a bigger answer is a PermanentError.
MAX_BODY_BYTES = 64 * 1024 * 1024


class LiteClient:
    """Talks to one Deeplake workspace, one request per call, standard library only.

    Timeouts in seconds; ``max_retries`` retries after the first attempt; ``sleep`` and
    ``rand`` make backoff deterministic in tests; ``slots`` bounds requests in flight
    (``lakeloop.deeplake.slots``). Not thread-safe (hook processes are single-threaded).
    """

    def __init__(
        self,
        creds: Credentials,
        *,
        slots: Slots | None = None,
        connect_timeout_s: float = 3.0,
        read_timeout_s: float = 7.0,
        max_retries: int = 3,
        backoff_base_s: float = 0.5,
        backoff_factor: float = 2.0,
        jitter_s: float = 0.2,
        retry_after_cap_s: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        on_payment_required: Callable[[], None] | None = None,
    ) -> None:
        from urllib.parse import urlsplit

        self.creds = creds
        self.slots = slots
        self.max_retries = max_retries
        self.connect_timeout_s, self.read_timeout_s = connect_timeout_s, read_timeout_s
        self.backoff_base_s, self.backoff_factor, self.jitter_s = backoff_base_s, backoff_factor, jitter_s
        self.retry_after_cap_s = retry_after_cap_s
        self._sleep, self._rand = sleep, rand
        self._on_payment_required = on_payment_required
        url = urlsplit(creds.api_url.rstrip("/"))
        if url.scheme not in ("http", "https") or not url.hostname:
            raise PermanentError(f"Deeplake API URL must be http(s)://host, got {url.scheme or '?'}://...")
        self._https = url.scheme == "https"
        self._host, self._port = url.hostname, url.port or (443 if self._https else 80)
        if any(ord(c) < 32 or ord(c) == 127 for c in f"{creds.token}{creds.org_id}"):
            raise PermanentError(
                "Deeplake credentials hold control characters (token or org id): fix "
                "~/.deeplake/credentials.json or LAKELOOP_DEEPLAKE_TOKEN"
            )
        self._prefix = f"{url.path}/workspaces/{creds.workspace}"
        self.base = f"{creds.api_url.rstrip('/')}/workspaces/{creds.workspace}"

    # the DeeplakeClient surface the store uses -------------------------------------------------
    def query(
        self,
        sql: str,
        *,
        retry_auth: bool = False,
        on_retry: Callable[[int, DeeplakeError], None] | None = None,
        idempotent: bool = True,
    ) -> list[dict[str, Any]]:
        """Run one SQL statement; the rows as dicts. Raises like ``DeeplakeClient.query``:
        TransientError (after the retries), OutcomeUnknown, PermanentError and subclasses."""
        body = json.dumps({"query": sql}).encode("utf-8")
        data = self._send("POST", "/tables/query", body, retry_auth, on_retry, idempotent)
        if not isinstance(data, dict):
            return []
        columns, rows = data.get("columns") or [], data.get("rows") or []
        return [dict(zip(columns, row)) for row in rows if isinstance(row, list)]

    def pause(self, seconds: float) -> None:
        """Sleep ``seconds`` through the injected ``sleep``."""
        self._sleep(seconds)

    def backoff(self, attempt: int) -> None:
        """Sleep the retry backoff of ``attempt`` (seed 003)."""
        self._sleep(self._backoff_s(attempt))

    def _backoff_s(self, attempt: int) -> float:
        return backoff_s(attempt, self.backoff_base_s, self.backoff_factor, self.jitter_s, self._rand())

    def close(self) -> None:
        """Nothing to close: one connection per request."""

    # internals --------------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        return text.replace(self.creds.token, "***") if self.creds.token else text

    def _send(
        self,
        method: str,
        path: str,
        body: bytes | None,
        retry_auth: bool,
        on_retry: Callable[[int, DeeplakeError], None] | None,
        idempotent: bool,
    ) -> Any:
        attempt = 0
        while True:
            hinted = None
            try:
                status, text, ctype, hinted = self._attempt(method, path, body)
                error = classify(status, self._scrub(text), ctype, retry_auth)
                maybe_applied = status >= 500 and not isinstance(error, AlreadyExists)
            except _NotSent as exc:
                error, maybe_applied = NetworkError(f"Deeplake unreachable: {exc}"), False
            except _SentUnanswered as exc:
                error, maybe_applied = NetworkError(f"Deeplake unreachable: {exc}"), True
            if error is None:
                try:
                    return json.loads(text) if text.strip() else {}
                except ValueError:
                    raise PermanentError(
                        "Deeplake answered with a body that is not JSON", status, self._scrub(text[:2000])
                    ) from None
            stop_or_retry(
                error,
                attempt,
                self.max_retries,
                idempotent=idempotent,
                maybe_applied=maybe_applied,
                on_payment_required=self._on_payment_required,
            )
            attempt += 1
            delay = retry_wait_s(attempt, hinted, self.retry_after_cap_s, self._backoff_s)
            if on_retry is not None:
                on_retry(attempt, error)
            self._sleep(delay)

    def _attempt(self, method: str, path: str, body: bytes | None) -> tuple[int, str, str, str | None]:
        if self.slots is None:
            return self._request(method, path, body)
        with self.slots.hold():
            return self._request(method, path, body)

    def _request(self, method: str, path: str, body: bytes | None) -> tuple[int, str, str, str | None]:
        import http.client

        conn: http.client.HTTPConnection  # HTTPSConnection is a subclass
        if self._https:
            conn = http.client.HTTPSConnection(
                self._host, self._port, timeout=self.connect_timeout_s, context=_tls_context()
            )
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self.connect_timeout_s)
        try:
            try:
                conn.connect()
            except OSError as exc:
                raise _NotSent(type(exc).__name__) from None
            conn.sock.settimeout(self.read_timeout_s)
            headers = {
                "Authorization": f"Bearer {self.creds.token}",
                "X-Activeloop-Org-Id": self.creds.org_id,
                "User-Agent": f"lakeloop/{__version__}",
                "Accept": "application/json",
            }
            if body is not None:
                headers["Content-Type"] = "application/json"
            try:
                conn.request(method, self._prefix + path, body=body, headers=headers)
                response = conn.getresponse()
                raw = response.read(MAX_BODY_BYTES + 1)
            except (OSError, http.client.HTTPException) as exc:
                raise _SentUnanswered(type(exc).__name__) from None
            except ValueError as exc:  # http.client refused a header or URL: its text may hold the token
                raise PermanentError(f"Deeplake request refused before sending ({type(exc).__name__})") from None
            if len(raw) > MAX_BODY_BYTES:
                raise PermanentError(f"Deeplake answer over {MAX_BODY_BYTES} bytes", response.status)
            return (
                response.status,
                raw.decode("utf-8", "replace"),
                response.getheader("content-type", ""),
                response.getheader("retry-after"),
            )
        finally:
            conn.close()


class _NotSent(LakeloopError):
    """Internal to ``_send``: the connection failed before the request went out (safe to retry
    any statement). The message is the OS error's type name only."""


class _SentUnanswered(LakeloopError):
    """Internal to ``_send``: the connection failed after the request went out (the statement
    may have run). The message is the error's type name only."""


_context = None


def _tls_context():
    global _context
    if _context is None:
        import ssl

        try:
            import certifi

            _context = ssl.create_default_context(cafile=certifi.where())
        except ImportError:  # pragma: no cover - certifi comes with httpx
            _context = ssl.create_default_context()
    return _context


#: Bounds of ``light_client`` (a memory answer must end inside the PreToolUse hook's 5 s,
#: hooks.json): read timeout, connect timeout (seconds) and retries at most these (smaller
#: settings of the user are kept).
LIGHT_READ_TIMEOUT_S = 2.5
LIGHT_CONNECT_TIMEOUT_S = 1.5
LIGHT_RETRIES = 1


def light_client(creds: Credentials) -> LiteClient:
    """A ``LiteClient`` with the configured timeouts and retries, bounded by the ``LIGHT_*``
    values, and the 402 user notice.

    It takes no machine-wide request slot: a memory answer is one short read per tool call,
    made while the agent waits, and must not queue behind a drainer's batch. The slots bound
    the bursts of the drainers and workers (seed 003), which keep them."""
    from .. import config

    def payment_notice() -> None:
        from ..notices import post
        from .status import PAYMENT_NOTICE

        post("deeplake-payment-required", PAYMENT_NOTICE)

    return LiteClient(
        creds,
        connect_timeout_s=min(config.deeplake_connect_timeout_s(), LIGHT_CONNECT_TIMEOUT_S),
        read_timeout_s=min(config.deeplake_read_timeout_s(), LIGHT_READ_TIMEOUT_S),
        max_retries=min(config.deeplake_max_retries(), LIGHT_RETRIES),
        retry_after_cap_s=config.deeplake_retry_after_cap_s(),
        on_payment_required=payment_notice,
    )
