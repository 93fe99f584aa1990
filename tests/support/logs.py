"""Reading lakeloop's log file as a test sees it.

* ``log_text()``: the whole text of this test's (isolated) log file, ``lakeloop.paths.log_file()``,
  or ``""`` while it does not exist. Handlers of the in-process ``lakeloop`` logger are flushed
  first, so lines this process wrote are in it; lines of hook and drainer processes are there once
  those wrote them (await them with ``tests.support.waiting.wait_until``).
"""

from __future__ import annotations

import logging


def log_text() -> str:
    """The log file's text (UTF-8), ``""`` when there is none yet."""
    from lakeloop import paths

    for handler in logging.getLogger("lakeloop").handlers:
        handler.flush()
    try:
        return paths.log_file().read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
