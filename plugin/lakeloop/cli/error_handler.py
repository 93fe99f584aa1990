"""The one error handler of the ``lakeloop`` commands: ``cli.main`` runs every command through
``run_command``, so no command prints its own error.

What a command raises becomes ONE line on stderr and an exit code; a traceback never reaches
the terminal:

* a ``LakeloopError``: ``lakeloop: <its message>`` (our text, never a secret), and for a
  ``StoreError`` what the command could not do (``STORE_FAILURE``), why in plain words
  (``cli.doctor.explain``) and what to run; exit ``exc.exit_code`` (1, or 2 for a
  ``RequestRefused``: bad input or a refused action);
* ``KeyboardInterrupt``: exit 130, nothing printed;
* ``BrokenPipeError`` (the reader of stdout went away, ``lakeloop search x | head``): exit 1,
  nothing printed;
* anything else (a bug, or a failure nobody foresaw): ``lakeloop: unexpected <ExceptionType>
  in <command>; the traceback is in <log file>`` and the full traceback goes to the log file
  (``lakeloop.log``, redacted there); exit 1. The exception's own text is never printed: a
  third-party message may quote a URL, a header or a file's content.

The line has control characters shown as escapes and line breaks as ``\\n``
(``textsafe.escape_line``), so a message quoting stored text cannot drive the terminal or forge
a second line. With ``--json`` the same message is also printed on stdout as
``{"error": "<message>"}``, so a script reading stdout still gets one JSON document.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED_EXIT = 130

#: What a store failure stopped, per command (``command`` or ``command subcommand``); other
#: commands say ``DEFAULT_STORE_FAILURE``.
STORE_FAILURE = {
    "search": "cannot search the store",
    "sessions": "cannot read the store",
    "forget": "the store failed, nothing (more) deleted",
    "skills list": "cannot read the store",
    "skills push": "cannot write the store",
}
DEFAULT_STORE_FAILURE = "the store failed"


def command_name(args: Any) -> str:
    """``args.command`` with its sub-command when it has one (``skills push``); ``skills`` alone
    is ``skills list``, its default."""
    command = str(getattr(args, "command", "") or "")
    if command == "skills":
        return f"skills {getattr(args, 'skills_command', None) or 'list'}"
    return command


def known_message(exc: Exception, command: str) -> str:
    """The message of a ``LakeloopError`` ``exc`` raised by ``command`` (without the
    ``lakeloop:`` prefix): its own text, and for a ``StoreError`` what stopped, why and what
    to run (``lakeloop doctor``)."""
    from ..errors import StoreError

    if not isinstance(exc, StoreError):
        return str(exc)
    from .doctor import explain

    why = explain(exc, "the store").rstrip()
    if not why.endswith("."):
        why += "."
    return f"{STORE_FAILURE.get(command, DEFAULT_STORE_FAILURE)}: {why} `lakeloop doctor` checks the store."


def _log_crash(exc: BaseException, command: str) -> str:
    """Write ``exc``'s traceback to the log file; returns where the terminal line says it is."""
    from .. import paths
    from ..log import setup

    where = paths.log_file()
    before = _state(where)
    log = setup("cli")
    log.error("lakeloop %s: unexpected %s", command, type(exc).__name__, exc_info=exc)  # flushed per record
    after = _state(where)
    # a regular file that took the record: it grew, or it was rotated and the new one holds it
    if after is not None and after[1] > 0 and (before is None or after[0] != before[0] or after[1] > before[1]):
        return f"the traceback is in {where}"
    import os

    folder = paths.log_dir()
    if not (folder.is_dir() and os.access(folder, os.W_OK)):
        return f"it could not be logged ({folder} is not writable)"
    return f"it could not be logged ({where} is not a writable file)"


def _state(path: Path) -> tuple[int, int] | None:
    """``(inode, size in bytes)`` of the regular file at ``path``; None when it is missing, not a
    regular file (a directory, a device such as /dev/full) or cannot be read."""
    import os
    import stat

    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size) if stat.S_ISREG(st.st_mode) else None


def _say(message: str, as_json: bool) -> None:
    from ..textsafe import escape_line

    line = escape_line(message)
    if as_json:
        from ._output import emit_json

        emit_json({"error": line})
    print(f"lakeloop: {line}", file=sys.stderr, flush=True)


def run_command(run: Callable[[Any], int], args: Any) -> int:
    """``run(args)``, the command; returns its exit code, or the one the module docstring gives
    for what it raised (after printing the one line). Never raises an ``Exception``
    (``SystemExit`` passes through)."""
    from ..errors import LakeloopError

    as_json = bool(getattr(args, "json", False))
    command = command_name(args)
    try:
        return run(args)
    except KeyboardInterrupt:
        return INTERRUPTED_EXIT
    except BrokenPipeError:
        _quiet_stdout()
        return 1
    except LakeloopError as exc:
        _say(known_message(exc, command), as_json)
        return exc.exit_code
    except Exception as exc:
        _say(f"unexpected {type(exc).__name__} in `lakeloop {command}`; {_log_crash(exc, command)}", as_json)
        return 1


def _quiet_stdout() -> None:
    """Point stdout at /dev/null: the reader is gone, and Python's flush at exit must not fail
    again (the standard library's advice for SIGPIPE)."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
