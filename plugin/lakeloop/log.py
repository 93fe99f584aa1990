"""Logging to one rotating file shared by every hook process and the worker.

``setup(component)`` is idempotent and never raises: when the log directory is
not writable, records go nowhere rather than into the agent's terminal. The
file is ``paths.log_file()``; it rotates at 5 MiB keeping 3 old files. The log directory
is 0700 and every log file 0600.
``LAKELOOP_DEBUG=1`` lowers the level to DEBUG.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import time

from . import config, paths

MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 3
_FORMAT = "%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s pid=%(process)d %(message)s"
_configured = False

_SECRET_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r'(?i)("?(?:token|api[_-]?key|authorization)"?\s*[:=]\s*"?)[^"\s,}]+'),
)


def redact(text: str) -> str:
    """Replace anything shaped like a bearer token or ``token=...`` with ``***``."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1***", text)
    return text


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A ``RotatingFileHandler`` whose files (the log and, after rotation, each new one) are
    created 0600 whatever the umask; rotated files keep that mode (a rename)."""

    def _open(self):
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, paths.PRIVATE_FILE_MODE)
        return open(fd, self.mode, encoding=self.encoding, errors=self.errors)


class _RedactingFormatter(logging.Formatter):
    converter = staticmethod(time.gmtime)  # UTC; staticmethod: called unbound, as formatTime does

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup(component: str) -> logging.Logger:
    """Configure the ``lakeloop`` logger once per process and return ``lakeloop.<component>``."""
    global _configured
    logger = logging.getLogger("lakeloop")
    if not _configured:
        _configured = True
        logging.raiseExceptions = False  # a logging failure must never reach the agent
        logger.setLevel(logging.DEBUG if config.debug() else logging.INFO)
        logger.propagate = False
        try:
            paths.private_dir(paths.log_dir())
            paths.private_file(paths.log_file())  # a log from an older lakeloop may be 0644
            handler: logging.Handler = _PrivateRotatingFileHandler(
                paths.log_file(), maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
            )
        except OSError:
            handler = logging.NullHandler()
        handler.setFormatter(_RedactingFormatter(_FORMAT, "%Y-%m-%dT%H:%M:%S"))
        logger.addHandler(handler)
    return logging.getLogger(f"lakeloop.{component}")


def short(value: object, limit: int = 120) -> str:
    """A one-line, length-bounded rendering of untrusted text for log lines: newlines, controls
    (ESC included) and bidi characters as visible escapes (``textsafe.escape_line``), cut to
    ``limit`` characters saying how many more there were."""
    from .textsafe import escape_line

    text = escape_line(repr(value) if not isinstance(value, str) else value)
    return text if len(text) <= limit else text[:limit] + f"...(+{len(text) - limit} chars)"


def env_summary() -> str:
    """Which LAKELOOP_* variables are set (names only, never values)."""
    names = sorted(k for k in os.environ if k.startswith("LAKELOOP_"))
    return ",".join(names) or "-"
