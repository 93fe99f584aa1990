"""Running the dashboard (``lakeloop ui``) for tests.

* ``start_ui(*extra_args, **env) -> Ui``: ``lakeloop ui --no-browser --port 0`` in a new process
  (the real entry point, this test's isolated environment plus ``env``, ``plugin/`` first on
  ``PYTHONPATH``, ``LAKELOOP_UI_CACHE_S=0`` unless ``env`` sets it, ``prelude`` run first); waits (at most 20 s) for the
  printed ``lakeloop ui: http://127.0.0.1:<port>/?token=<token>`` line. Returns a ``Ui``.
* ``DEBUG_ROUTES``: a ``prelude`` for ``start_ui`` that adds ``create_app``'s test-only routes.
* ``running_ui_fixture()``: body of the ``running_ui`` fixture (tests/ui/conftest.py): a started
  ``Ui`` in the test's isolated environment, killed by its own pid when the test ends (a test that
  wants the graceful stop calls ``Ui.stop``). A module-scoped server: call ``start_ui(**env)`` with
  that module's own data directories.
* ``Ui``: ``url`` (with the token), ``base`` (``http://127.0.0.1:<port>``), ``token``, ``port``,
  ``proc`` (the ``Popen``, unbuffered byte pipes), ``signed_in()`` (a context manager giving an ``httpx.Client`` on
  ``base`` holding the session cookie), ``stop(timeout=5.0)`` (SIGINT, wait; returns ``(exit code, stdout rest,
  stderr)``).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx

from tests.support.repo import PLUGIN_SRC

#: A ``start_ui`` prelude that adds ``create_app``'s test-only routes (``/_debug/boom``, ``/_debug/form``).
DEBUG_ROUTES = "import lakeloop.ui.app as _app\n_app.create_app.__defaults__ = (None, True)"

URL_LINE = re.compile(r"^lakeloop ui: (http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]+))$")


@dataclass
class Ui:
    """A running ``lakeloop ui`` process (see the module docstring)."""

    url: str
    token: str
    port: int
    proc: subprocess.Popen
    first_line: str
    _stopped: tuple[int, str, str] | None = field(default=None, repr=False)

    @property
    def base(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def cookie_name(self) -> str:
        """The session cookie's name."""
        return f"lakeloop_ui_{self.port}"

    def client(self, **kwargs) -> httpx.Client:
        """An ``httpx.Client`` on ``base`` without the cookie (the caller closes it)."""
        return httpx.Client(base_url=self.base, timeout=10, **kwargs)

    @contextlib.contextmanager
    def signed_in(self) -> Iterator[httpx.Client]:
        """A context manager: an ``httpx.Client`` on ``base`` that opened the token URL and holds
        the session cookie, closed at the end."""
        with self.client() as client:
            answer = client.get(self.url)
            assert answer.status_code == 200, answer.text
            assert client.cookies.get(self.cookie_name), answer.headers
            yield client

    def stop(self, timeout: float = 5.0) -> tuple[int, str, str]:
        """SIGINT, wait up to ``timeout`` s; ``(exit code, rest of stdout, stderr)``. Kills (SIGKILL)
        and fails when it does not stop in time. Idempotent."""
        if self._stopped is None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)
            try:
                out, err = self.proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                out, err = self.proc.communicate()
                self._stopped = (-9, out.decode(errors="replace"), err.decode(errors="replace"))
                raise AssertionError(f"lakeloop ui did not stop within {timeout} s after SIGINT") from None
            self._stopped = (self.proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))
        return self._stopped


def _read_first_line(proc: subprocess.Popen, timeout: float) -> str:
    """The first stdout line, read one byte at a time from the unbuffered pipe (so nothing after
    it is held in a buffer ``communicate`` would not see); "" when none came within ``timeout``."""
    line = bytearray()
    fd = proc.stdout.fileno()  # type: ignore[union-attr]

    def read() -> None:
        while not line.endswith(b"\n"):
            byte = os.read(fd, 1)
            if not byte:
                return
            line.extend(byte)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    return bytes(line).decode("utf-8", "replace").rstrip("\n")


def start_ui(*extra_args: str, timeout: float = 20.0, prelude: str = "", **env: str) -> Ui:
    """Start ``lakeloop ui --no-browser --port 0 EXTRA_ARGS`` and wait for its URL line (module
    docstring); ``prelude``: Python run first in that process (e.g. ``DEBUG_ROUTES``)."""
    code = f"import sys\n{prelude}\nfrom lakeloop.cli.main import main\nsys.exit(main(sys.argv[1:]))\n"
    environ = {**os.environ, "LAKELOOP_UI_CACHE_S": "0", **env}
    environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(PLUGIN_SRC), environ.get("PYTHONPATH", "")) if p)
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "ui", "--no-browser", "--port", "0", *extra_args],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    first = _read_first_line(proc, timeout)
    match = URL_LINE.match(first)
    if match is None:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"lakeloop ui printed no URL line: {first!r} {out!r} {err!r}")
    return Ui(url=match.group(1), port=int(match.group(2)), token=match.group(3), proc=proc, first_line=first)


def running_ui_fixture(**env: str) -> Iterator[Ui]:
    """Body of the ``running_ui`` fixture (tests/ui/conftest.py) and of any fixture that serves a
    seeded store (``yield from running_ui_fixture(LAKELOOP_STORE="embedded")``): a started ``Ui``
    in the test's environment plus ``env``, killed by its own pid when the test ends."""
    ui = start_ui(**env)
    try:
        yield ui
    finally:
        if ui.proc.poll() is None:
            ui.proc.kill()
        ui.proc.communicate()
