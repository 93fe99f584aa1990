"""Prepare the plugin's virtualenv without blocking the session (standard library only).

``bootstrap.py VENV EVENT [AGENT]``: run by ``hooks/run`` with the system python3 while VENV is not
ready. It must cost a hook no more than a normal capture does (tens of milliseconds), so it
imports only what it uses, and the log line about the build is written by the build itself:

1. A capture event (UserPromptSubmit, PostToolUse, Stop, SubagentStop) is spooled to the
   outbox (``lakeloop.outbox.spool`` needs only the standard library), so no event is lost
   while the plugin installs itself, with the agent named by AGENT (``lakeloop.agents``;
   absent: Claude Code) recorded in the entry. Other events, and an AGENT that is unknown or
   does not install EVENT, are logged, at INFO, as not handled.
2. One build at a time, by one process: the hook takes the build lock (``VENV.lock``, through
   ``lakeloop.locks``, which is standard-library only and works on this python3) without
   waiting. Held: a build runs, the hook returns. Free: the hook forks the detached build,
   which inherits the locked descriptor (``lakeloop.detach.fork_detached``), so there is no
   moment between "no build runs" and "the build holds the lock" in which another hook could
   start a second one. The kernel releases the lock when the build ends or dies: nothing
   stale is ever left to clean up.
3. The build (``python3 -m venv VENV``, then ``pip install -r hooks/requirements.txt``; the
   ready marker, a copy of the requirements file, is written last) records its state in the
   lock file, one line read by ``lakeloop status`` (``lakeloop.cli.status.plugin_env_state``)::

       building <pid> <started, epoch seconds>
       ready <epoch seconds>
       failed <epoch seconds> <reason>

   and the virtualenv's path in ``lakeloop.paths.plugin_venv_record()``, so ``lakeloop status``
   finds it outside Claude Code too. When the virtualenv is ready the build lets go of the lock,
   then drains the outbox with the new virtualenv's python (``lakeloop flush``): the events
   spooled meanwhile are stored without waiting for another hook.

``EVENT`` ``cli`` (``hooks/run cli ARGS``, the plugin's slash commands) prints that the
environment is being prepared. Exits 0 always.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLUGIN_SRC = os.path.join(ROOT, "plugin")
REQUIREMENTS = os.path.join(ROOT, "hooks", "requirements.txt")
MAX_PAYLOAD = 32 * 1024 * 1024
CAPTURE_EVENTS = ("UserPromptSubmit", "PostToolUse", "Stop", "SubagentStop")
#: Bounds of the build's steps, seconds: creating the virtualenv, pip, the drain after it.
VENV_TIMEOUT_S = 300
PIP_TIMEOUT_S = 900
DRAIN_TIMEOUT_S = 300


def _log(message, level="info"):
    try:
        from lakeloop import log

        getattr(log.setup("bootstrap"), level)(message)
    except Exception:  # nothing else to do without a log
        pass


def _served(event, agent):
    """True when ``agent`` is a known agent that installs ``event`` (Claude Code: always)."""
    if agent == "claude":
        return True
    try:
        from lakeloop import agents

        served = agents.get(agent) if agent in agents.NAMES else None
    except Exception:
        return False
    return served is not None and event not in served.ignored_events and event in served.events.values()


def _spool(event, data, agent="claude"):
    """Spool a capture event to the outbox for ``agent``; returns what happened (for a log
    line), or None when it was spooled."""
    if len(data) > MAX_PAYLOAD:
        return "payload too large, dropped"
    if not data.strip():
        return "empty stdin, nothing to spool"
    # Spooled unparsed, like a capture hook: the drainer checks the payload
    # (lakeloop.capture.parse, bounded) and keeps a bad one in outbox/failed/.
    # put_raw records this session's capture settings in the entry (the drainer applies
    # those, not its own environment's).
    try:
        from lakeloop.outbox import spool

        spool.put_raw(event, data, agent=agent)
    except Exception as exc:
        return f"could not spool ({exc})"
    return None


def _is_ready(venv):
    try:
        with open(os.path.join(venv, ".lakeloop-ready"), "rb") as got, open(REQUIREMENTS, "rb") as want:
            return os.access(os.path.join(venv, "bin", "python"), os.X_OK) and got.read() == want.read()
    except OSError:
        return False


def _record(fd, line):
    """Replace the lock file's state line (``fd`` holds the lock)."""
    os.ftruncate(fd, 0)
    os.pwrite(fd, (line + "\n").encode("utf-8", "replace"), 0)


def _build(venv, fd, first_event):
    """The detached build, holding the build lock through ``fd`` until the virtualenv is ready
    or the build failed; then it drains the outbox from the new virtualenv."""
    import subprocess
    import time

    from lakeloop import paths

    started = time.time()
    _record(fd, f"building {os.getpid()} {started:.0f}")
    try:
        record = paths.plugin_venv_record()
        paths.private_dir(os.path.dirname(record))
        with open(record + ".tmp", "w", encoding="utf-8") as fh:
            fh.write(venv + "\n")
        os.replace(record + ".tmp", record)
    except OSError:
        pass  # status then finds the virtualenv only through CLAUDE_PLUGIN_DATA
    if not _is_ready(venv):  # ready already: a hook raced the end of the previous build
        _log(
            f"{first_event}: building the plugin's virtualenv at {venv} in the background (pid {os.getpid()}); "
            "capture events are spooled to the outbox until it is ready"
        )
        marker = os.path.join(venv, ".lakeloop-ready")
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
        try:
            subprocess.run([sys.executable, "-m", "venv", venv], check=True, timeout=VENV_TIMEOUT_S, **quiet)
            pip = [os.path.join(venv, "bin", "python"), "-m", "pip", "install", "--quiet"]
            pip += ["--disable-pip-version-check", "-r", REQUIREMENTS]
            subprocess.run(pip, check=True, timeout=PIP_TIMEOUT_S, **quiet)
            with open(REQUIREMENTS, "rb") as src, open(marker + ".tmp", "wb") as dst:
                dst.write(src.read())
            os.replace(marker + ".tmp", marker)
        except (OSError, subprocess.SubprocessError) as exc:
            tail = getattr(exc, "stderr", None) or b""
            reason = f"{type(exc).__name__}: {tail.decode('utf-8', 'replace').strip()[-300:] or exc}"
            reason = " ".join(reason.split())
            _record(fd, f"failed {time.time():.0f} {reason}")
            _log(f"plugin virtualenv build failed ({reason}); the next hook tries again", "warning")
            return
        _log(f"plugin virtualenv ready at {venv} after {time.time() - started:.0f} s; hooks run from it now")
    _record(fd, f"ready {time.time():.0f}")
    os.close(fd)  # let go of the build lock before the drain: the environment is ready
    _drain(venv)


def _drain(venv):
    """Store what waited in the outbox, with the new virtualenv's python (``lakeloop flush``)."""
    import json
    import subprocess

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PLUGIN_SRC, env.get("PYTHONPATH", "")) if p)
    argv = [os.path.join(venv, "bin", "python"), "-m", "lakeloop.cli.main", "flush", "--json", "--wait", "60"]
    try:
        proc = subprocess.run(
            argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=DRAIN_TIMEOUT_S, check=False
        )
        info = json.loads(proc.stdout)
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        _log(f"draining the outbox after the build failed ({type(exc).__name__}); the next hook drains it", "warning")
        return
    stored, left = info.get("stored", 0), info.get("outbox", {}).get("pending")
    level = "info" if info.get("ok") else "warning"
    _log(f"outbox drained after the build: {stored} waiting event(s) stored, {left} still waiting", level)


def _start_build(venv, event):
    """Fork the build unless one runs. Returns the build's pid, or None when one already runs.
    Raises OSError when the lock file cannot be opened."""
    from lakeloop import locks, paths
    from lakeloop.detach import fork_detached

    fd = locks.try_lock(paths.plugin_venv_lock(venv))
    if fd is None:
        return None
    try:
        return fork_detached(lambda: _build(venv, fd, event), "bootstrap")
    finally:
        locks.unlock(fd)  # the build holds the lock through its own copy of the descriptor


def main(argv):
    """``bootstrap.py VENV EVENT [AGENT | ARGS...]`` with the hook payload on stdin."""
    os.umask(0o077)  # what the hook and its build create (spooled events, the state files) is private
    venv = argv[0] if argv else ""
    event = argv[1] if len(argv) > 1 else "?"
    agent = argv[2] if len(argv) > 2 and event != "cli" else "claude"
    data = b"" if event == "cli" else sys.stdin.buffer.read(MAX_PAYLOAD + 1)  # never block Claude Code's pipe
    sys.path.insert(0, PLUGIN_SRC)
    if sys.version_info < (3, 10):  # noqa: UP036 - run by the system python3, which may be older
        _log(
            f"{event}: python3 is {sys.version.split()[0]}, lakeloop needs >= 3.10; hook inactive "
            "(set LAKELOOP_PYTHON to a newer interpreter)",
            "warning",
        )
        return
    if not venv:
        return
    problem = "not handled" if event not in CAPTURE_EVENTS or os.environ.get("LAKELOOP_WORKER") == "1" else None
    if problem is None and not _served(event, agent):
        problem = "not handled"
    if problem is None:
        problem = _spool(event, data, agent)
    try:
        _start_build(venv, event)
    except OSError as exc:
        _log(f"{event}: {problem or 'spooled'}; cannot prepare a virtualenv at {venv}: {exc}", "warning")
        return
    if event == "cli":
        print("lakeloop: the plugin's environment is being prepared (a minute or two); try again then.")
    elif problem == "not handled":
        _log(f"{event}: not handled until the plugin's virtualenv at {venv} is ready")
    elif problem:
        _log(f"{event}: {problem}", "warning")
    # A spooled event is not logged: the build logs its start, and the drain what it stored.


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except Exception:
        pass
    sys.exit(0)
