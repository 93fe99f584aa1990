"""Racing Python processes against each other.

* ``run_together(code, arg_lists, timeout=60)``: run ``python -c code ARGS`` once per argument list,
  released at the same moment, and return their stdouts (a list of str, in ``arg_lists`` order);
  asserts every child exits 0 (its stderr is the message). Raises ``subprocess.TimeoutExpired``
  when a child outlives ``timeout`` seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.repo import PLUGIN_SRC


def run_together(code: str, arg_lists: list[list[str]], timeout: float = 60) -> list[str]:
    """Run ``python -c code <args>`` once per arg list, all at the same moment, and return
    their stdouts (asserting exit 0). The child's ``sys.path`` has ``plugin/`` first and its
    environment is this test's (isolated) one; ``code`` should wait for one stdin line
    (``sys.stdin.readline()``) before the racy part: every child is started first, then
    all are released together."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PLUGIN_SRC), env.get("PYTHONPATH", "")) if p)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for args in arg_lists
    ]
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, err
        outs.append(out)
    return outs
