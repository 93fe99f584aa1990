"""Run the dashboard: bind 127.0.0.1 (never another address), print the URL with a fresh token,
open the browser (on a 0600 page that refreshes to the URL: ``launch_page``), serve with uvicorn
until Ctrl-C.

``serve(port, open_browser)`` creates the listening socket itself (``bind_loopback``), so the
port printed is the port bound (port 0: the kernel picks a free one, no find-then-bind race).
uvicorn runs with its access log off, no logging configuration of its own, no ``Server`` or
``Date`` header, no proxy headers, and lifespan off; ``security.install_token_filter`` keeps the
token and the session value out of every log record. Ctrl-C (SIGINT) or SIGTERM stops it
gracefully: a running store statement is interrupted, open connections get ``SHUTDOWN_S``
seconds; ``serve`` then prints ``lakeloop ui stopped`` and returns 0.
"""

from __future__ import annotations

import errno
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from ..errors import RequestRefused

#: The only address the dashboard listens on.
LOOPBACK = "127.0.0.1"
#: Longest wait, in seconds, for open requests and connections once Ctrl-C (or SIGTERM) arrived.
SHUTDOWN_S = 3


def bind_loopback(port: int) -> socket.socket:
    """A TCP socket bound to ``127.0.0.1:port`` (0: a free port) and listening. Raises
    RequestRefused when the port is in use or cannot be bound (one line)."""
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets whose protocol says TCP; without
    # it every answer's body waited for the browser's delayed ACK (about 40 ms a page).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
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


def launch_page(url: str, port: int) -> Path:
    """Write ``<data dir>/ui/open-<port>.html`` (mode 0600, its directory 0700): a page that
    refreshes to ``url`` (token included). The browser is opened on this file, so the token never
    reaches a process's argv (``ps`` shows every user the browser's command line). Returns its
    path; ``serve`` deletes it when it stops. Raises OSError when it cannot be written."""
    import os
    from html import escape

    from .. import paths

    directory = Path(paths.data_dir()) / "ui"
    if directory.is_symlink():  # never narrow, or write the token into, a directory it points to
        raise OSError(f"{directory} is a symbolic link")
    paths.private_dir(directory)
    page = directory / f"open-{port}.html"
    target = escape(url, quote=True)
    text = (
        '<!doctype html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">'
        f'<meta http-equiv="refresh" content="0; url={target}"><title>lakeloop ui</title></head>'
        f'<body><p><a href="{target}">Open the lakeloop dashboard</a></p></body></html>'
    )
    try:
        page.unlink()  # a leftover of a run that was killed: never write through an old file or link
    except FileNotFoundError:
        pass
    fd = os.open(page, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), paths.PRIVATE_FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    return page


def _open_browser(where: str) -> None:
    import webbrowser

    webbrowser.open(where)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve(port: int = 0, open_browser: bool = True, opener: Callable[[str], object] | None = None) -> int:
    """Serve the dashboard on ``127.0.0.1:port`` until stopped; returns the exit code (0).
    The URL is printed, and unless ``open_browser`` is False ``opener`` (default
    ``webbrowser.open``) is called once, from a thread once uvicorn serves, with the ``file://``
    URI of ``launch_page`` (the token stays out of the browser's argv; the page is deleted on
    stop). Raises RequestRefused when the port cannot be bound."""
    import threading

    import uvicorn

    from .. import log
    from .app import create_app
    from .security import UiState, install_token_filter

    sock = bind_loopback(port)
    state = UiState(port=sock.getsockname()[1])
    logger = log.setup("ui")  # first: the filter goes on the log file's handler too
    install_token_filter(state)
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
        # Ctrl-C with a browser's keep-alive or a slow page open: stop after this many seconds.
        timeout_graceful_shutdown=SHUTDOWN_S,
    )
    runner = app.state.runner

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            runner.interrupt()  # a page waiting on a long store query answers at once
            await super().shutdown(sockets=sockets)

    server = Server(config)
    done = threading.Event()
    launched: list[Path] = []

    def announce() -> None:
        """Print the URL (and open the browser) once uvicorn serves, its signal handlers set."""
        while not server.started and not done.wait(0.01):
            pass
        if server.started:
            print(f"lakeloop ui: {url}", flush=True)
            print("Ctrl-C stops it.", flush=True)
            logger.info("ui: serving on %s", state.host)
            if open_browser:
                try:
                    launched.append(launch_page(url, state.port))
                except OSError as exc:
                    logger.warning("ui: cannot write the page that opens the browser: %s", exc)
                    print("Open the URL above in your browser.", flush=True)
                    return
                (opener or _open_browser)(launched[-1].as_uri())

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
        for page in launched:
            page.unlink(missing_ok=True)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    logger.info("ui: stopped")
    print("lakeloop ui stopped", flush=True)
    sys.stdout.flush()
    return 0
