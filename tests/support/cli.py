"""Running the ``lakeloop`` command line as a separate process.

* ``run_lakeloop(*argv, prelude="", **env)``: ``lakeloop ARGV`` in a new Python process through
  the real entry point (``lakeloop.cli.main.main``, whose return value becomes the exit status,
  as the console script does), with this test's isolated environment plus ``env`` and ``plugin/``
  first on ``PYTHONPATH``. ``prelude`` is Python run first in that process (e.g. to plant a
  failure in a command). Returns the ``CompletedProcess`` (text stdout and stderr).
* ``run_lakeloop_on_tty(*argv, **env)``: the same with stdout on a pseudo-terminal; returns its output.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.repo import PLUGIN_SRC


def run_lakeloop(*argv: str, prelude: str = "", timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    """``lakeloop ARGV`` in a new process (see the module docstring)."""
    code = f"import sys\n{prelude}\nfrom lakeloop.cli.main import main\nsys.exit(main(sys.argv[1:]))\n"
    environ = {**os.environ, **env}
    environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(PLUGIN_SRC), environ.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-c", code, *argv], env=environ, capture_output=True, text=True, timeout=timeout
    )


def run_lakeloop_on_tty(*argv: str, timeout: float = 60, **env: str) -> str:
    """``lakeloop ARGV`` as ``run_lakeloop`` runs it, but with stdout on a pseudo-terminal (as when a
    person runs it); returns what it printed there (the terminal's ``\\r\\n`` as ``\\n``). Asserts
    exit 0."""
    import pty

    code = "import sys\nfrom lakeloop.cli.main import main\nsys.exit(main(sys.argv[1:]))\n"
    environ = {**os.environ, **env}
    environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(PLUGIN_SRC), environ.get("PYTHONPATH", "")) if p)
    master, slave = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-c", code, *argv], env=environ, stdout=slave, timeout=timeout)
        os.close(slave)
        slave = -1
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other end is closed and everything was read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    assert proc.returncode == 0
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")
