"""Prepare the plugin's virtualenv without blocking the session (standard library only).

``bootstrap.py VENV EVENT``: run by ``hooks/run`` with the system python3 while
VENV is not ready. A capture event (UserPromptSubmit, PostToolUse, Stop,
SubagentStop) is spooled to the outbox (``lakeloop.outbox`` needs only the
standard library), so the first hook that runs from the ready virtualenv stores
it: no event is lost while the plugin installs itself. Other events are logged
as not handled. It then starts one detached build (``python3 -m venv VENV`` then
``pip install -r hooks/requirements.txt``; the ready marker, a copy of the requirements file,
is written last) unless one
is already running, and returns at once. ``bootstrap.py --build VENV`` is the
build itself. Exits 0 always.
"""

import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQUIREMENTS = os.path.join(ROOT, "hooks", "requirements.txt")
BUILD_STALE_S = 900
MAX_PAYLOAD = 32 * 1024 * 1024
CAPTURE_EVENTS = ("UserPromptSubmit", "PostToolUse", "Stop", "SubagentStop")


def _log(message):
    sys.path.insert(0, os.path.join(ROOT, "plugin"))
    try:
        from lakeloop import log

        log.setup("bootstrap").warning(message)
    except Exception:  # nothing else to do without a log
        pass


def _spool(event, data):
    """Spool a capture event to the outbox; returns what happened, for the log line."""
    if event not in CAPTURE_EVENTS or os.environ.get("LAKELOOP_WORKER") == "1":
        return "not handled"
    if len(data) > MAX_PAYLOAD:
        return "payload too large, dropped"
    if not data.strip():
        return "empty stdin, nothing to spool"
    # Spooled unparsed, like a capture hook: the drainer checks the payload
    # (lakeloop.capture.parse, bounded) and keeps a bad one in outbox/failed/.
    # put_raw records this session's capture settings in the entry (the drainer applies
    # those, not its own environment's).
    sys.path.insert(0, os.path.join(ROOT, "plugin"))
    try:
        from lakeloop.outbox import spool

        spool.put_raw(event, data)
    except Exception as exc:
        return f"could not spool ({exc})"
    return "spooled to the outbox, stored once the virtualenv is ready"


def _build(venv):
    marker = os.path.join(venv, ".lakeloop-ready")
    try:
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run(
            [
                os.path.join(venv, "bin", "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                REQUIREMENTS,
            ],
            check=True,
        )
        with open(REQUIREMENTS, "rb") as src, open(marker + ".tmp", "wb") as dst:
            dst.write(src.read())
        os.replace(marker + ".tmp", marker)
        _log(f"virtualenv ready at {venv}; hooks run from now on")
    except (OSError, subprocess.CalledProcessError) as exc:
        _log(f"virtualenv build failed ({exc}); hooks stay inactive until it succeeds")
    finally:
        try:
            os.unlink(venv + ".building")
        except OSError:
            pass


def main(argv):
    if len(argv) >= 2 and argv[0] == "--build":
        _build(argv[1])
        return
    venv = argv[0] if argv else ""
    event = argv[1] if len(argv) > 1 else "?"
    data = sys.stdin.buffer.read(MAX_PAYLOAD + 1)  # read the payload so Claude Code never blocks on the pipe
    if sys.version_info < (3, 10):  # noqa: UP036 - run by the system python3, which may be older
        _log(
            f"{event}: python3 is {sys.version.split()[0]}, lakeloop needs >= 3.10; hook inactive "
            "(set LAKELOOP_PYTHON to a newer interpreter)"
        )
        return
    if not venv:
        return
    spooled = _spool(event, data)
    flag = venv + ".building"
    try:
        if os.path.exists(flag) and time.time() - os.path.getmtime(flag) > BUILD_STALE_S:
            os.unlink(flag)
        os.makedirs(os.path.dirname(flag), exist_ok=True)
        fd = os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
    except FileExistsError:
        _log(f"{event}: {spooled}; the plugin's virtualenv is still being built at {venv}")
        return
    except OSError as exc:
        _log(f"{event}: not handled, cannot prepare a virtualenv at {venv}: {exc}")
        return
    with open(os.devnull, "rb") as null, open(os.devnull, "wb") as out:
        subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--build", venv],
            stdin=null,
            stdout=out,
            stderr=out,
            close_fds=True,
            start_new_session=True,
        )
    _log(f"{event}: {spooled}; building the plugin's virtualenv at {venv} in the background")


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except Exception:
        pass
    sys.exit(0)
