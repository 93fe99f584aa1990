"""Running the ``lakeloop`` command line as a separate process.

* ``run_lakeloop(*argv, prelude="", **env)``: ``lakeloop ARGV`` in a new Python process through
  the real entry point (``lakeloop.cli.main.main``, whose return value becomes the exit status,
  as the console script does), with this test's isolated environment plus ``env`` and ``plugin/``
  first on ``PYTHONPATH``. ``prelude`` is Python run first in that process (e.g. to plant a
  failure in a command). Returns the ``CompletedProcess`` (text stdout and stderr).
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
