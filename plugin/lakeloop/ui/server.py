"""Run the dashboard: bind 127.0.0.1 (never another address), print the URL with a fresh token,
open the browser, serve with uvicorn until Ctrl-C.

``serve(port, open_browser)`` creates the listening socket itself (``bind_loopback``), so the
port printed is the port bound (port 0: the kernel picks a free one, no find-then-bind race).
uvicorn runs with its access log off, no logging configuration of its own, no ``Server`` or
``Date`` header, no proxy headers, and lifespan off; ``security.install_token_filter`` keeps the
token and the session value out of every log record. Ctrl-C (SIGINT) or SIGTERM stops it
gracefully; ``serve`` then prints ``lakeloop ui stopped`` and returns 0.
"""

from __future__ import annotations

import errno
import signal
import socket
import sys
from collections.abc import Callable

from ..errors import RequestRefused

#: The only address the dashboard listens on.
LOOPBACK = "127.0.0.1"


def bind_loopback(port: int) -> socket.socket:
    """A TCP socket bound to ``127.0.0.1:port`` (0: a free port) and listening. Raises
    RequestRefused when the port is in use or cannot be bound (one line)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, port))
        sock.listen(64)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise RequestRefused(f"port {port} is in use on {LOOPBACK}; try --port 0") from None
        raise RequestRefused(f"cannot listen on {LOOPBACK}:{port}: {exc.strerror or exc}") from None
    return sock


def _open_browser(url: str) -> None:
    import webbrowser

    webbrowser.open(url)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve(port: int = 0, open_browser: bool = True, opener: Callable[[str], object] | None = None) -> int:
    """Serve the dashboard on ``127.0.0.1:port`` until stopped; returns the exit code (0).
    The URL is printed, and ``opener`` (default ``webbrowser.open``) called once with it (token
    included) unless ``open_browser`` is False, from a thread once uvicorn serves. Raises RequestRefused when
    the port cannot be bound."""
    import threading

    import uvicorn

    from .. import log
    from .app import create_app
    from .security import UiState, install_token_filter

    sock = bind_loopback(port)
    state = UiState(port=sock.getsockname()[1])
    install_token_filter(state)
    logger = log.setup("ui")
    app = create_app(state)
    url = f"http://{state.host}/?token={state.token}"
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        log_level="warning",
        lifespan="off",
        server_header=False,
        date_header=False,
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    done = threading.Event()

    def announce() -> None:
        """Print the URL (and open the browser) once uvicorn serves, its signal handlers set."""
        while not server.started and not done.wait(0.01):
            pass
        if server.started:
            print(f"lakeloop ui: {url}", flush=True)
            print("Ctrl-C stops it.", flush=True)
            logger.info("ui: serving on %s", state.host)
            if open_browser:
                (opener or _open_browser)(url)

    previous = None
    if threading.current_thread() is threading.main_thread():
        # SIGTERM stops it like Ctrl-C: before uvicorn runs, and when uvicorn (which shuts down
        # on it) raises it again under this handler once it has stopped. Restored on return.
        previous = signal.signal(signal.SIGTERM, _interrupt)
    announcer = threading.Thread(target=announce, name="lakeloop-ui-announce", daemon=True)
    try:
        announcer.start()
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # before uvicorn ran, or raised again by it once it has shut down
        pass
    finally:
        done.set()
        announcer.join(2.0)
        app.state.runner.close()
        sock.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    logger.info("ui: stopped")
    print("lakeloop ui stopped", flush=True)
    sys.stdout.flush()
    return 0
