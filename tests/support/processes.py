"""Racing Python processes against each other.

* ``run_together(code, arg_lists, timeout=60)``: run ``python -c code ARGS`` once per argument list,
  released at the same moment, and return their stdouts (a list of str, in ``arg_lists`` order);
  asserts every child exits 0 (its stderr is the message). Raises ``subprocess.TimeoutExpired``
  when a child outlives ``timeout`` seconds.
* ``kill_leftovers(data_dir)``: SIGKILL every process still running for one test's data directory
  (detached drainers, job runners, job processes, agent CLIs they started), found by
  ``LAKELOOP_DATA_DIR=<data_dir>`` in ``/proc/<pid>/environ``; returns their pids.
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


def kill_leftovers(data_dir: os.PathLike[str] | str) -> list[int]:
    """SIGKILL the processes whose environment names ``data_dir`` as ``LAKELOOP_DATA_DIR`` (never
    this process nor a PostgreSQL server). Returns the pids signalled. Linux only (``/proc``);
    elsewhere returns []. A test's detached processes must not outlive it and act on later tests."""
    import signal

    mark = f"LAKELOOP_DATA_DIR={os.fspath(data_dir)}".encode()
    killed = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for name in entries:
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as fh:
                environ = fh.read().split(b"\0")
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                argv0 = fh.read().split(b"\0", 1)[0]
        except OSError:
            continue
        if mark not in environ or b"postgres" in argv0:
            continue
        try:
            os.kill(int(name), signal.SIGKILL)
            killed.append(int(name))
        except OSError:
            pass
    return killed
