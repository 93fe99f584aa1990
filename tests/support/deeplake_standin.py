"""Loopback stand-in for the Deeplake tables API, backed by a real PostgreSQL database.

Serves the wire contract of ``docs/deeplake-store.md``:

* ``POST /workspaces/{ws}/tables/query`` with ``{"query": SQL}`` runs the SQL and answers
  ``{"columns": [...], "rows": [[...]], "row_count": N}``; a statement without a result
  set answers ``{"row_count": N}``. ``CREATE TABLE ... USING deeplake`` is accepted (the
  clause is stripped). A PostgreSQL error answers 500 ``{"error": "<primary message>"}``,
  e.g. ``relation "sessions" already exists``.
* ``GET /workspaces/{ws}/tables`` answers ``{"tables": [{"table_name": ...}, ...]}``
  (schema ``public``).
* Every request needs ``Authorization: Bearer <token>`` and ``X-Activeloop-Org-Id:
  <org_id>`` (else 401); another workspace answers 404.

Values are JSON as psycopg loads them: jsonb as objects/arrays, integers and floats as
numbers, ``numeric`` as a float, arrays as lists, timestamps/dates as ISO-8601 strings
(``timestamptz`` in UTC with ``+00:00``), bytea as ``\\x<hex>``, anything else as ``str``.

Production misbehaviour is switched on with :meth:`DeeplakeStandIn.configure` (thread
safe, also while running; the settings are readable attributes), handled per request in
this order: ``latency_s`` delay; ``drop_sequence``/``drop_rate`` (close the connection
with a TCP reset and no response); ``fail_sequence``/``fail_rate`` (answer
``fail_status``, ``fail_body`` and, for 429/503, ``Retry-After: retry_after``);
authentication; ``payment_required`` (402); then the real answer. Each request consumes
one entry of each sequence that is set (a falsy entry means "answer normally"), and
random draws come from ``random.Random(seed)``.

Failures after the commit, for INSERT statements that succeeded only: the statement is
executed and committed (or, with ``visibility_lag_s``, committed after the lag as usual),
and then the answer is replaced. ``after_commit_drop_sequence``/``after_commit_drop_rate``
close the connection with a TCP reset and no response ("commit then drop");
``after_commit_fail_sequence``/``after_commit_fail_rate`` answer 500 ``{"error":
"injected after commit"}`` ("commit then 500"). Each successful INSERT consumes one entry
of each of these sequences that is set (drop checked first, it wins over fail); the rates
draw from the same seeded generator. A client that retries such an INSERT writes its row
twice.

``visibility_lag_s`` makes each INSERT run on its own connection in an open transaction
that is committed ``visibility_lag_s`` seconds after the 200 answer, so no reader sees the
row before then (and later statements that need the rows' locks wait for the commit).
:meth:`stop` commits whatever is pending.

Counters: :attr:`requests` (``Request(method, path, sql, status)`` tuples; status
``None`` for a dropped connection), :attr:`in_flight`, :attr:`max_in_flight`,
:attr:`connections` (TCP connections accepted), :attr:`inserts_committed` (INSERT
statements that succeeded, whatever answer then went out), :attr:`after_commit_failed`
and :attr:`after_commit_dropped` (answers replaced after a commit), :attr:`pending_commits`
(INSERTs still waiting out the visibility lag), :meth:`queries`. A client that goes away
before its answer is sent (it timed out) is counted like any other request, and no traceback
is printed for it.
"""

from __future__ import annotations

import datetime
import decimal
import json
import random
import re
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import psycopg

_USING_DEEPLAKE = re.compile(r"\s+USING\s+deeplake\b", re.IGNORECASE)
_CREATE_TABLE = re.compile(r"\s*CREATE\s+TABLE\b", re.IGNORECASE)
_INSERT = re.compile(r"\s*INSERT\b", re.IGNORECASE)
_PATH = re.compile(r"^/workspaces/([^/]+)/tables(/query)?/?$")

SETTINGS: dict[str, Any] = {
    "visibility_lag_s": 0.0,
    "latency_s": 0.0,
    "fail_rate": 0.0,
    "fail_status": 503,
    "fail_sequence": None,
    "fail_body": None,
    "retry_after": None,
    "payment_required": False,
    "drop_rate": 0.0,
    "drop_sequence": None,
    "after_commit_fail_rate": 0.0,
    "after_commit_fail_sequence": None,
    "after_commit_drop_rate": 0.0,
    "after_commit_drop_sequence": None,
}
AFTER_COMMIT_ERROR = {"error": "injected after commit"}
PAYMENT_REQUIRED = {"error": "Insufficient balance", "balance_cents": 0}


class Request(NamedTuple):
    """One request the stand-in received."""

    method: str
    path: str
    sql: str | None
    status: int | None  # None: the connection was dropped


class SQLError(Exception):
    """A statement failed; the message is what the 500 body carries."""


def to_json(value: Any) -> Any:
    """``json.dumps`` default for values psycopg loads that JSON has no type for."""
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (bytes, memoryview)):
        return "\\x" + bytes(value).hex()
    return str(value)


class _Pool:
    """Connections to the database, opened on demand, at most ``size`` at once."""

    def __init__(self, dsn: str, size: int) -> None:
        self.dsn = dsn
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[psycopg.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def get(self, timeout: float = 60.0) -> psycopg.Connection:
        if not self._slots.acquire(timeout=timeout):
            raise SQLError("stand-in connection pool exhausted")
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        try:
            return conn or psycopg.connect(self.dsn)
        except Exception:
            self._slots.release()
            raise

    def put(self, conn: psycopg.Connection, commit: bool) -> None:
        """End the connection's transaction (commit or roll back) and give it back."""
        try:
            if commit:
                conn.commit()
            else:
                conn.rollback()
        except psycopg.Error:
            conn.close()
        with self._lock:
            keep = not self._closed and not conn.closed and not conn.broken
            if keep:
                self._idle.append(conn)
        if not keep:
            conn.close()
        self._slots.release()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class DeeplakeStandIn:
    """The stand-in server; :meth:`start` it (or use it as a context manager).

    ``pool_size`` bounds the PostgreSQL connections (each INSERT waiting out the
    visibility lag holds one); ``seed`` seeds the random failure and drop draws.
    """

    def __init__(
        self,
        dsn: str,
        workspace: str = "default",
        token: str = "test-token",
        org_id: str = "test-org",
        *,
        pool_size: int = 200,
        seed: int = 0,
    ) -> None:
        self.dsn = dsn
        self.workspace = workspace
        self.token = token
        self.org_id = org_id
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._pool = _Pool(dsn, pool_size)
        self._pending: dict[psycopg.Connection, threading.Timer] = {}
        self._sockets: set[socket.socket] = set()
        self._server: ThreadingHTTPServer | None = None
        self.requests: list[Request] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.connections = 0
        self.inserts_committed = 0
        self.after_commit_failed = 0
        self.after_commit_dropped = 0
        for name, value in SETTINGS.items():
            setattr(self, name, value)

    # -- settings and counters ---------------------------------------------------

    def configure(self, **settings: Any) -> DeeplakeStandIn:
        """Change settings (names as in :data:`SETTINGS`, plus ``seed``); returns self."""
        unknown = set(settings) - set(SETTINGS) - {"seed"}
        if unknown:
            raise TypeError(f"unknown stand-in settings: {sorted(unknown)}")
        with self._lock:
            for name, value in settings.items():
                if name == "seed":
                    self._rng = random.Random(value)
                elif name.endswith("_sequence") and value is not None:
                    setattr(self, name, list(value))
                else:
                    setattr(self, name, value)
        return self

    def queries(self) -> list[str]:
        """The SQL texts received, in order (including those answered with a failure)."""
        with self._lock:
            return [r.sql for r in self.requests if r.sql is not None]

    def reset_counters(self) -> None:
        """Forget the recorded requests and the in-flight maximum; zero the INSERT counters."""
        with self._lock:
            self.requests = []
            self.max_in_flight = self.in_flight
            self.inserts_committed = self.after_commit_failed = self.after_commit_dropped = 0

    @property
    def pending_commits(self) -> int:
        """INSERTs executed but not committed yet (waiting out ``visibility_lag_s``)."""
        with self._lock:
            return len(self._pending)

    # -- lifecycle ------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``; the API paths go under it."""
        if self._server is None:
            raise RuntimeError("the stand-in is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> DeeplakeStandIn:
        """Listen on a free loopback port and serve from a background thread."""
        standin = self

        class Handler(_Handler):
            owner = standin

        self._server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name="deeplake-standin", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections, commit pending INSERTs, close the pool."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            with self._lock:
                sockets = list(self._sockets)
            for sock in sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._server = None
        with self._lock:
            pending = list(self._pending)
        for conn in pending:
            self._commit(conn)
        self._pool.close()

    def __enter__(self) -> DeeplakeStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- decisions (called by the handler) -----------------------------------------

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self, request: Request) -> None:
        with self._lock:
            self.in_flight -= 1
            self.requests.append(request)

    def _injected(self) -> tuple[bool, int | None]:
        """(drop the connection?, injected status or None), consuming the sequences."""
        with self._lock:
            drop = self.drop_sequence.pop(0) if self.drop_sequence else None
            if self.drop_rate and self._rng.random() < self.drop_rate:
                drop = True
            status = self.fail_sequence.pop(0) if self.fail_sequence else None
            if self.fail_rate and self._rng.random() < self.fail_rate:
                status = status or self.fail_status
            return bool(drop), status or None

    def _after_commit(self) -> str | None:
        """For an INSERT that succeeded: ``"drop"``, ``"fail"`` or None (answer normally),
        consuming the after-commit sequences and counting the outcome."""
        with self._lock:
            drop = self.after_commit_drop_sequence.pop(0) if self.after_commit_drop_sequence else None
            if self.after_commit_drop_rate and self._rng.random() < self.after_commit_drop_rate:
                drop = True
            fail = self.after_commit_fail_sequence.pop(0) if self.after_commit_fail_sequence else None
            if self.after_commit_fail_rate and self._rng.random() < self.after_commit_fail_rate:
                fail = True
            if drop:
                self.after_commit_dropped += 1
                return "drop"
            if fail:
                self.after_commit_failed += 1
                return "fail"
            return None

    # -- SQL --------------------------------------------------------------------------

    def execute(self, sql: str) -> dict[str, Any]:
        """Run one request's SQL; the response body. Raises SQLError for PostgreSQL errors.

        A successful INSERT counts in :attr:`inserts_committed` (committed now, or scheduled
        to commit after ``visibility_lag_s``)."""
        if _CREATE_TABLE.match(sql):
            sql = _USING_DEEPLAKE.sub("", sql)
        insert = bool(_INSERT.match(sql))
        lag = self.visibility_lag_s if insert else 0
        conn = self._pool.get()
        try:
            cur = conn.execute(sql)
            body: dict[str, Any] = {"row_count": max(cur.rowcount, 0)}
            if cur.description is not None:
                body["columns"] = [c.name for c in cur.description]
                body["rows"] = [list(row) for row in cur.fetchall()]
                body["row_count"] = len(body["rows"])
        except psycopg.Error as exc:
            self._pool.put(conn, commit=False)
            message = exc.diag.message_primary if exc.diag else None
            raise SQLError(message or str(exc)) from exc
        except BaseException:
            self._pool.put(conn, commit=False)
            raise
        if lag > 0:
            timer = threading.Timer(lag, self._commit, args=(conn,))
            timer.daemon = True
            with self._lock:
                self._pending[conn] = timer
                self.inserts_committed += 1
            timer.start()
        else:
            self._pool.put(conn, commit=True)
            if insert:
                with self._lock:
                    self.inserts_committed += 1
        return body

    def _commit(self, conn: psycopg.Connection) -> None:
        """Commit one lagging INSERT (once, whoever comes first: its timer or stop())."""
        with self._lock:
            timer = self._pending.pop(conn, None)
        if timer is None:
            return
        timer.cancel()
        self._pool.put(conn, commit=True)

    def tables(self) -> dict[str, Any]:
        """The ``GET .../tables`` body."""
        body = self.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name"
        )
        return {"tables": [{"table_name": row[0]} for row in body["rows"]]}


class _Server(ThreadingHTTPServer):
    """Threaded server with a listen backlog deep enough for bursts of new connections."""

    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when the client went away (it timed out, or gave up) before the answer
        went out; print anything else as usual."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """One HTTP/1.1 keep-alive connection to the stand-in."""

    protocol_version = "HTTP/1.1"
    owner: DeeplakeStandIn

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.owner._lock:
            self.owner._sockets.add(self.connection)
            self.owner.connections += 1

    def finish(self) -> None:
        with self.owner._lock:
            self.owner._sockets.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        """Answer one request; it is counted as done just before the answer goes out,
        so a client holding its response already sees it in the counters."""
        owner = self.owner
        owner._enter()
        path = urlsplit(self.path).path
        sql: str | None = None
        left = False

        def leave(status: int | None) -> None:
            nonlocal left
            left = True
            owner._leave(Request(self.command, path, sql, status))

        try:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.command == "POST":
                try:
                    sql = json.loads(raw)["query"]
                    if not isinstance(sql, str):
                        raise TypeError
                except (ValueError, KeyError, TypeError):
                    sql = None
            if owner.latency_s:
                time.sleep(owner.latency_s)
            drop, injected = owner._injected()
            if drop:
                leave(None)
                self._drop()
                return
            status, body, headers = self._answer(path, sql, injected)
            if status is None:  # committed, then the connection is dropped
                leave(None)
                self._drop()
                return
            leave(status)
            self._send(status, body, headers)
        finally:
            if not left:
                leave(None)

    def _answer(self, path: str, sql: str | None, injected: int | None) -> tuple[int | None, Any, dict[str, str]]:
        """(status, body, extra headers) for a request that is not dropped before it runs;
        status None: the statement ran and committed, drop the connection now."""
        owner = self.owner
        if injected is not None:
            headers = {}
            if injected in (429, 503) and owner.retry_after is not None:
                headers["Retry-After"] = str(owner.retry_after)
            body = owner.fail_body
            return injected, ({"error": f"injected {injected}"} if body is None else body), headers
        if (
            self.headers.get("Authorization") != f"Bearer {owner.token}"
            or self.headers.get("X-Activeloop-Org-Id") != owner.org_id
        ):
            return 401, {"error": "Unauthorized: missing or invalid token or org id"}, {}
        if owner.payment_required:
            return 402, PAYMENT_REQUIRED, {}
        match = _PATH.match(path)
        if not match or (self.command == "POST") != bool(match.group(2)):
            return 404, {"error": f"no route for {self.command} {path}"}, {}
        if match.group(1) != owner.workspace:
            return 404, {"error": f"workspace {match.group(1)!r} not found"}, {}
        try:
            if self.command == "GET":
                return 200, owner.tables(), {}
            if sql is None:
                return 400, {"error": 'body must be JSON {"query": "<SQL>"}'}, {}
            body = owner.execute(sql)
            after = owner._after_commit() if _INSERT.match(sql) else None
            if after == "drop":
                return None, None, {}
            if after == "fail":
                return 500, AFTER_COMMIT_ERROR, {}
            return 200, body, {}
        except SQLError as exc:
            return 500, {"error": str(exc)}, {}
        except Exception as exc:  # e.g. PostgreSQL unreachable
            return 500, {"error": f"{type(exc).__name__}: {exc}"}, {}

    def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
        if isinstance(body, (bytes, str)):
            data = body.encode() if isinstance(body, str) else body
            text = data.lstrip()[:1] == b"<"
            ctype = "text/html; charset=utf-8" if text else "text/plain; charset=utf-8"
        else:
            data = json.dumps(body, default=to_json).encode()
            ctype = "application/json"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _drop(self) -> None:
        """Close the connection with a TCP reset, sending nothing."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
