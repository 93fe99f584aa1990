"""SessionStart never holds a session up on a hanging store: through ``hooks/run`` as a real
subprocess, against a Deeplake address that accepts connections and never answers, the hook
exits 0 after its bounded wait (``PULL_WAIT_S``), long before the pull's own 60 s read timeout,
and logs that the pull goes on in the background."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from lakeloop import paths
from lakeloop.hooks.session_start import PULL_WAIT_S
from tests.support.hooks import run_hook
from tests.support.payloads import first_payload
from tests.support.waiting import wait_until

HANG_S = 60.0  # the pull's read timeout: how long one request of it would hang


class SilentServer:
    """A loopback TCP server that accepts every connection, reads nothing and never answers."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections.append(conn)

    def close(self) -> None:
        """Stop accepting and reset every connection (a hanging request then fails at once)."""
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()
        for conn in self.connections:
            conn.close()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


def test_session_start_returns_within_its_bound_while_the_pull_hangs(silent_server):
    """hooks/run SessionStart with Deeplake credentials pointing at a server that never answers:
    exit 0 within PULL_WAIT_S plus start-up, far below the 60 s the hanging request would take,
    nothing printed to the agent, and a log line saying the pull is still running."""
    env = {
        "LAKELOOP_DEEPLAKE_TOKEN": "tok-hang-0123456789",
        "LAKELOOP_DEEPLAKE_ORG_ID": "org-hang",
        "LAKELOOP_DEEPLAKE_READ_TIMEOUT_S": str(HANG_S),
        "LAKELOOP_DEEPLAKE_API_URL": f"http://127.0.0.1:{silent_server.port}",
    }
    started = time.monotonic()
    proc = run_hook("SessionStart", first_payload("SessionStart"), timeout=HANG_S - 5, text=True, **env)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0 and proc.stderr == "", proc.stdout + proc.stderr
    assert "systemMessage" not in proc.stdout  # only the memory path's additionalContext
    assert elapsed < PULL_WAIT_S + 6 < HANG_S / 4, f"SessionStart took {elapsed:.1f} s"
    assert silent_server.connections, "the pull reached the hanging store"
    log = paths.log_file().read_text()
    assert f"pull still running after {PULL_WAIT_S:.1f} s; it finishes in the background" in log
    # The detached pull is still waiting on the server; resetting its connection ends it (so no
    # process outlives the test): it logs the store failure and exits.
    silent_server.close()
    wait_until(lambda: "hook crashed" in paths.log_file().read_text(), 30, "the detached pull to end")
