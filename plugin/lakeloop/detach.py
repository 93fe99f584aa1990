"""Forking a detached child from a hook process.

The child gets its own process session (``setsid``), stdin/stdout/stderr on
/dev/null (Claude Code waits for a hook's pipes to close, so no inherited pipe
may stay open) and default SIGTERM handling; it runs ``fn`` and exits with
``os._exit`` so it can never return into the hook's code.

``worker_env()`` is the environment of the processes lakeloop starts for itself (the job runner
and its job processes, the judge's, proposer's and summariser's agent CLI): ours plus
``LAKELOOP_WORKER=1`` (``config.WORKER_ENV``: nothing such a process starts is captured or re-arms
a judgment window) and the lakeloop sources first on ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable


def fork_detached(fn: Callable[[], object], component: str = "detached") -> int | None:
    """Run ``fn`` in a detached child. Returns the child's pid in the parent, or None
    when this platform cannot fork (the caller then runs ``fn`` itself). An exception
    in ``fn`` is logged with its traceback under ``lakeloop.<component>``."""
    if not hasattr(os, "fork"):
        return None
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        os.setsid()
        import signal

        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        fn()
    except BaseException as exc:  # the child must never return into the hook
        code = 1
        try:
            from .log import setup

            setup(component).exception("hook crashed (exit 0, agent unaffected): %s", type(exc).__name__)
        except BaseException:
            pass
    finally:
        os._exit(code)


#: ``plugin/``: on ``PYTHONPATH`` of lakeloop's own processes so ``-m lakeloop...`` finds these sources.
_PLUGIN_SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def worker_env() -> dict[str, str]:
    """A copy of this process's environment with ``LAKELOOP_WORKER=1`` and ``plugin/`` first on
    ``PYTHONPATH`` (module docstring)."""
    from .config import WORKER_ENV

    env = dict(os.environ)
    env[WORKER_ENV] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PLUGIN_SRC, env.get("PYTHONPATH", "")) if p)
    return env


def pid_alive(pid: int) -> bool:
    """True when process ``pid`` exists on this machine (signal 0 probe)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_briefly(pid: int, wait_s: float) -> bool:
    """Wait up to ``wait_s`` seconds for child ``pid``; True when it ended in time.
    A child still running is left to finish on its own."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return True
        if done:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)
